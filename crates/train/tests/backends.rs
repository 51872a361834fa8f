//! Backends that agree: every backend starts a run from the same weights (drawn on burn-flex
//! from the run's seed), and one training step from those weights on the same batch gives the
//! same loss terms and updated weights on every backend compiled into this test (flex and
//! ndarray here; `--features tch` and `--features cuda` add theirs where they can run).

mod common;

use std::collections::BTreeMap;

use burn::module::Module;
use burn::optim::{AdamConfig, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn_autodiff::Autodiff;
use echoone_infer::items::batch_with_prior;
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::EchoOneLossConfig;
use echoone_model::EchoOneConfig;
use echoone_train::model_setup::init_seeded;
use echoone_train::{LossTerms, train_step};

type Flex = Autodiff<burn_flex::Flex>;
type NdArray = Autodiff<burn_ndarray::NdArray>;

const LR: f64 = 1e-3;

/// One Adam step (the run's epsilon), or a plain SGD step (its update is the gradient), of the
/// tiny model, PC-Mask on, from seed 5 on a batch of 4 items: the loss terms, and every parameter
/// before and after.
fn one_step<B: AutodiffBackend>(device: &B::Device, sgd: bool) -> (LossTerms, Weights, Weights) {
    let config: EchoOneConfig = EchoOneConfig::tiny();
    let model = init_seeded::<B>(&config, 5, device).unwrap();
    let (latents, fitted) = common::made_up_prior(&config);
    let prior = BatchPrior {
        fitted: &fitted,
        latents: &latents,
    };
    let (batch, prior) = batch_with_prior::<B>(common::items(4), Some(&prior), 0, device).unwrap();
    let before = common::values(&model);
    let loss = EchoOneLossConfig::new().init();
    let (after, terms) = if sgd {
        let mut optim = SgdConfig::new().init();
        train_step(model, &mut optim, batch, prior, &loss, LR, &[]).unwrap()
    } else {
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        train_step(model, &mut optim, batch, prior, &loss, LR, &[]).unwrap()
    };
    (terms, before, common::values(&after))
}

type Weights = BTreeMap<String, Vec<f32>>;

/// The relative L2 distance between two sets of per-parameter vectors.
fn relative(a: &Weights, b: &Weights, minus: Option<(&Weights, &Weights)>) -> f64 {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same parameters"
    );
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (k, x) in a {
        for (i, (&p, &q)) in x.iter().zip(&b[k]).enumerate() {
            let (p0, q0) = minus.map_or((0.0, 0.0), |(pa, pb)| (pa[k][i], pb[k][i]));
            let (dp, dq) = (f64::from(p - p0), f64::from(q - q0));
            diff += (dp - dq).powi(2);
            norm += dp.powi(2);
        }
    }
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

/// Asserts that `other`'s step agrees with flex's.
fn agrees_with_flex<B: AutodiffBackend>(name: &str, device: &B::Device) {
    let (flex_terms, flex_before, flex_after) = one_step::<Flex>(&Default::default(), false);
    let (terms, before, after) = one_step::<B>(device, false);
    assert_eq!(
        before, flex_before,
        "{name}: the same initial weights, bit for bit"
    );
    for ((term, f), (_, v)) in flex_terms.iter().zip(&terms) {
        assert!(
            (f - v).abs() <= 1e-5 * f.abs().max(1.0),
            "{name}: {term} {v} where flex has {f}"
        );
    }
    // Adam's first step moves each weight by about lr * sign(gradient): a gradient within
    // rounding of zero may take either sign, so the updates are compared as a whole, and no
    // weight may differ by more than two such moves.
    let update = relative(&flex_after, &after, Some((&flex_before, &before)));
    assert!(
        update < 1e-2,
        "{name}: update differs from flex's by {update:.2e} (relative L2); the parameters whose \
         SGD step (their gradient) differs most: {:?}",
        worst_gradients::<B>(device)
    );
    let worst = flex_after
        .iter()
        .flat_map(|(k, x)| x.iter().zip(&after[k]).map(|(p, q)| (p - q).abs()))
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 2.0 * LR as f32 + 1e-5,
        "{name}: a weight differs by {worst}"
    );
}

/// Every backend's checks in one test: burn-flex's random generator is one per process, and a
/// test drawing from it beside another would change what the other draws.
/// The 4 parameters whose gradient on `B` differs most from flex's (relative L2 of an SGD
/// step), with the norm of flex's gradient: what to look at when a backend's step differs.
fn worst_gradients<B: AutodiffBackend>(device: &B::Device) -> Vec<String> {
    let (_, flex_before, flex_sgd) = one_step::<Flex>(&Default::default(), true);
    let (_, before, sgd) = one_step::<B>(device, true);
    let mut worst: Vec<(f64, String)> = flex_sgd
        .keys()
        .map(|k| {
            let one = |m: &Weights| -> Weights { [(k.clone(), m[k].clone())].into() };
            let (flex_step, step) = (one(&flex_sgd), one(&sgd));
            let diff = relative(&flex_step, &step, Some((&one(&flex_before), &one(&before))));
            let norm = flex_sgd[k]
                .iter()
                .zip(&flex_before[k])
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                .sqrt()
                / LR;
            (diff, format!("{k}: {diff:.2e} (|gradient| {norm:.2e})"))
        })
        .collect();
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    worst.into_iter().take(4).map(|(_, text)| text).collect()
}

#[test]
fn backends_start_from_the_same_weights_and_take_the_same_step() {
    seeded_initialisation_is_the_same_on_every_backend_and_as_flex_draws_it();
    agrees_with_flex::<NdArray>("ndarray", &Default::default());
    #[cfg(feature = "tch")]
    agrees_with_flex::<Autodiff<burn_tch::LibTorch>>("tch", &Default::default());
}

fn seeded_initialisation_is_the_same_on_every_backend_and_as_flex_draws_it() {
    let config = EchoOneConfig::tiny();
    let flex = init_seeded::<Flex>(&config, 9, &Default::default()).unwrap();
    let ndarray = init_seeded::<NdArray>(&config, 9, &Default::default()).unwrap();
    let flex_values = common::values(&flex);
    let ndarray_values = common::values(&ndarray);
    let differ: Vec<&String> = flex_values
        .iter()
        .filter(|(k, v)| ndarray_values.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        differ.is_empty(),
        "initial weights differ on ndarray: {differ:?}"
    );
    // What flex draws by itself from the seed, parameters materialised in module order (as
    // runs did before this initialisation): the CPU runs' figures stay as measured.
    let device = Default::default();
    Flex::seed(&device, 9);
    let own = config.init::<Flex>(&device).unwrap().fork(&device);
    assert!(
        common::values(&own) == flex_values,
        "flex's own draw differs"
    );
    let other = init_seeded::<NdArray>(&config, 10, &Default::default()).unwrap();
    assert!(common::values(&other) != flex_values, "the seed matters");
}
