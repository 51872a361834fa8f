//! Data parallelism on the CPU: two flex devices (worker threads sharing the one CPU device)
//! take one step on a batch of 4 split 2 + 2 as one device does on the whole batch, `echoone
//! train --devices 0,1` trains and resumes exactly, and bad `--devices` get a clear error.

mod common;

use std::collections::BTreeMap;

use burn::module::Module;
use burn::optim::{AdamConfig, Optimizer, SgdConfig};
use burn::tensor::backend::Backend;
use echoone_losses::{EchoOneLoss, EchoOneLossConfig};
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_train::batches::batch_with_prior;
use echoone_train::prior::BatchPrior;
use echoone_train::{parallel_step, shares, train_step};

type Ad = burn_autodiff::Autodiff<burn_flex::Flex>;

/// The loss without its Dice terms, which are computed over a share's pixels, not per item.
fn bce_only() -> EchoOneLoss {
    EchoOneLossConfig::new()
        .with_main_dice(0.0)
        .with_coarse_dice(0.0)
        .init()
}

/// The largest difference between two models' parameters.
fn max_diff(a: &EchoOne<Ad>, b: &EchoOne<Ad>) -> f32 {
    let (a, b): (BTreeMap<_, _>, BTreeMap<_, _>) = (common::values(a), common::values(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .flat_map(|(k, x)| x.iter().zip(&b[k]).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

/// The largest parameter difference after one step on the whole batch of 4 and after one
/// step split 2 + 2 across two devices (fresh optimisers from `optim`), and the loss terms both
/// ways (name, whole, split).
fn one_step_both_ways<O: Optimizer<EchoOne<Ad>, Ad>>(
    model: EchoOneConfig,
    loss: &EchoOneLoss,
    lr: f64,
    optim: impl Fn() -> O,
) -> (f32, f32, Vec<(&'static str, f64, f64)>) {
    let device = burn_flex::FlexDevice;
    Ad::seed(&device, 5);
    // Forking initialises the lazy parameters, which each clone would otherwise draw anew.
    let initial = model.init::<Ad>(&device).unwrap().fork(&device);
    let samples = common::synthetic();
    let latents: Vec<Vec<f32>> = (0..samples.len())
        .map(|i| vec![(i % 3) as f32, 1.0])
        .collect();
    let fitted = model
        .pc_mask
        .then(|| common::fitted_prior(&samples, &latents, &model));
    let prior = fitted.as_ref().map(|fitted| BatchPrior {
        fitted,
        latents: &latents,
    });
    let (b, p) = batch_with_prior::<Ad>(common::items(4), prior.as_ref(), 0, &device).unwrap();
    let (whole, whole_terms) =
        train_step(initial.clone(), &mut optim(), b, p, loss, lr, &[]).unwrap();
    let parts = shares::<Ad>(common::items(4), prior.as_ref(), &[device, device]).unwrap();
    let (split, split_terms) =
        parallel_step(initial.clone(), &mut optim(), parts, &device, loss, lr, &[]).unwrap();
    let terms = whole_terms
        .iter()
        .zip(&split_terms)
        .map(|((name, w), (_, s))| (*name, *w, *s))
        .collect();
    (max_diff(&whole, &split), max_diff(&whole, &initial), terms)
}

#[test]
fn shares_split_a_batch_in_order_weighted_by_size() {
    let device = burn_flex::FlexDevice;
    let five = shares::<Ad>(common::items(5), None, &[device, device]).unwrap();
    let sizes: Vec<(usize, f64)> = five
        .iter()
        .map(|s| (s.batch.image_of.len(), s.weight))
        .collect();
    assert_eq!(sizes, vec![(3, 0.6), (2, 0.4)]);
    let one = shares::<Ad>(common::items(1), None, &[device, device, device]).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].weight, 1.0);
    assert!(shares::<Ad>(common::items(1), None, &[]).is_err());
}

#[test]
fn a_batch_split_across_two_devices_steps_as_the_whole_batch() {
    // Without PC-Mask (whose prior U-Net has BatchNorm) and without the Dice terms, the loss is
    // a mean over items and the split is exact up to rounding.
    let model = common::tiny_model().with_pc_mask(false);
    let sgd = || SgdConfig::new().init();
    // Plain SGD at lr 1: the update is the summed gradient itself.
    let (diff, update, terms) = one_step_both_ways(model.clone(), &bce_only(), 1.0, sgd);
    assert!(update > 1e-2, "the step moved nothing: {update}");
    assert!(diff < 1e-6, "gradients differ by {diff} (update {update})");
    for (name, whole, split) in terms {
        if name != "main_dice" {
            assert!((whole - split).abs() < 1e-6, "{name}: {whole} vs {split}");
        }
    }
    // Adam as training runs it, at the tiny run's learning rate.
    let adam = || AdamConfig::new().with_epsilon(1e-8).init();
    let (diff, _, _) = one_step_both_ways(model, &bce_only(), 2e-3, adam);
    assert!(diff < 1e-5, "Adam steps differ by {diff}");
}

#[test]
fn with_dice_and_batchnorm_a_split_step_is_close_not_equal() {
    // The training loss (Dice over a share's pixels) and PC-Mask (BatchNorm statistics over a
    // share): the summed gradient differs from the whole batch's by a little (about 2% of the
    // largest update here).
    let sgd = || SgdConfig::new().init();
    let full = EchoOneLossConfig::new().init();
    let (diff, update, _) = one_step_both_ways(common::tiny_model(), &full, 1.0, sgd);
    assert!(
        diff < 0.1 * update,
        "differ by {diff} for an update of {update}"
    );
}

#[test]
fn train_on_two_devices_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::tiny_run(2)
        .with_steps_per_epoch(2)
        .with_batch_size(4);
    let config = common::write_config(tmp.path(), "config.json", &run);
    let c = config.to_str().unwrap();
    let whole = tmp.path().join("whole");
    let said = common::ok(&common::echoone(&[
        "train",
        "--config",
        c,
        "--devices",
        "0,1",
        "--out",
        whole.to_str().unwrap(),
    ]));
    assert!(said.contains("best mean validation Dice"), "{said}");
    let parts = tmp.path().join("parts");
    let p = parts.to_str().unwrap();
    let args = ["train", "--quiet", "--devices", "0,1", "--out", p];
    common::ok(&common::echoone(
        &[&args[..], &["--config", c, "--stop-after", "1"]].concat(),
    ));
    common::ok(&common::echoone(&[&args[..], &["--resume"]].concat()));
    let (a, b) = (common::history(&whole), common::history(&parts));
    assert_eq!((a.len(), b.len()), (2, 2));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_dice, y.val_dice, "epoch {}", x.epoch);
    }
    let weights = |d: &std::path::Path| common::latest_weights(&run.model, d);
    assert!(weights(&whole) == weights(&parts), "final weights differ");

    // Without --devices, the configuration's `replicas` splits batches on the CPU the same way.
    let replicated =
        common::write_config(tmp.path(), "replicas.json", &run.clone().with_replicas(2));
    let copies = tmp.path().join("copies");
    common::ok(&common::echoone(&[
        "train",
        "--quiet",
        "--config",
        replicated.to_str().unwrap(),
        "--out",
        copies.to_str().unwrap(),
    ]));
    for (x, y) in a.iter().zip(&common::history(&copies)) {
        assert_eq!((x.train_loss, x.val_dice), (y.train_loss, y.val_dice));
    }
    assert!(
        weights(&whole) == weights(&copies),
        "replicas differ from --devices"
    );
}

#[test]
fn bad_devices_get_a_clear_error() {
    let err = common::fails(&common::echoone(&["train", "--devices", "0,x"]));
    assert!(err.contains("--devices") && err.contains("'x'"), "{err}");
    let err = common::fails(&common::echoone(&["train", "--devices", "0,0"]));
    assert!(err.contains("device 0 is listed twice"), "{err}");
    let err = common::fails(&common::echoone(&[
        "train",
        "--device",
        "cuda:1",
        "--devices",
        "0,1",
    ]));
    assert!(err.contains("--device cuda:1 and --devices 0,1"), "{err}");
    let err = common::fails(&common::echoone(&["eval", "--devices", "0,1"]));
    assert!(err.contains("--devices"), "{err}");
    let err = common::fails(&common::echoone(&[
        "train",
        "--backend",
        "cuda",
        "--devices",
        "0,1",
    ]));
    assert!(err.contains("not compiled into this binary"), "{err}");
}
