//! Joining the parameters' autodiff graphs before the forward pass (what every training step
//! does, for speed) changes no gradient: the same parameters get a gradient, bit for bit the
//! same, as without the join.

mod common;

use std::collections::BTreeMap;

use burn::module::Module;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn_autodiff::Autodiff;
use echoone_infer::items::batch_with_prior;
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::EchoOneLossConfig;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_train::model_setup::init_seeded;
use echoone_train::param_graph::join_parameter_graphs;

type B = Autodiff<burn_flex::Flex>;

/// How many parameters got a gradient, and the weights after one plain SGD step at learning
/// rate 1 (each weight minus its gradient), of a fresh fork of `model` on a batch of 4 items
/// with the PC-Mask prior, the parameters' graphs joined first or not.
fn stepped(
    model: &EchoOne<B>,
    config: &EchoOneConfig,
    join: bool,
) -> (usize, BTreeMap<String, Vec<f32>>) {
    let device = Default::default();
    let model = model.clone().fork(&device);
    let (latents, fitted) = common::made_up_prior(config);
    let prior = BatchPrior {
        fitted: &fitted,
        latents: &latents,
    };
    let (batch, prior) = batch_with_prior::<B>(common::items(4), Some(&prior), 0, &device).unwrap();
    if join {
        join_parameter_graphs(&model);
    }
    let out = model
        .forward_shared(
            batch.images,
            &batch.image_of,
            batch.points,
            batch.point_labels,
            prior,
        )
        .unwrap();
    let loss = EchoOneLossConfig::new()
        .init()
        .forward(out.logits, out.coarse_logits, batch.low_res_targets)
        .unwrap();
    let grads = GradientsParams::from_grads(loss.total.backward(), &model);
    let count = grads.len();
    let mut optim = SgdConfig::new().init();
    (count, common::values(&optim.step(1.0, model, grads)))
}

#[test]
fn joined_parameter_graphs_give_the_same_gradients() {
    let config = EchoOneConfig::tiny();
    let model = init_seeded::<B>(&config, 5, &Default::default()).unwrap();
    let before = common::values(&model);
    let (plain_count, plain) = stepped(&model, &config, false);
    let (joined_count, joined) = stepped(&model, &config, true);
    assert_eq!(plain_count, joined_count, "parameters with a gradient");
    assert_eq!(plain.len(), before.len());
    let moved = plain.iter().filter(|(k, v)| before[*k] != **v).count();
    assert!(moved > plain.len() / 2, "{moved} of {} moved", plain.len());
    // BatchNorm's running statistics are not trained but updated by each forward pass, in
    // state the clones share: the second pass starts from the first's.
    let trained = plain.iter().filter(|(k, _)| !k.contains(".running_"));
    for (name, values) in trained {
        let other = &joined[name];
        let same = values
            .iter()
            .zip(other)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{name}: the join changed its gradient");
    }
}
