//! Data parallelism on the CPU: two or three flex devices (worker threads sharing the one CPU
//! device) take one step on a batch of 5 split unevenly as one device does on the whole batch,
//! while a wrongly split batch does not; `echoone train --devices 0,1` trains and resumes
//! exactly, and bad `--devices` get a clear error.

mod common;

use burn::module::Module;
use burn::optim::{AdamConfig, Optimizer, SgdConfig};
use burn::tensor::backend::Backend;
use echoone_infer::items::batch_with_prior;
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::{EchoOneLoss, EchoOneLossConfig};
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_pc_mask::FittedPrior;
use echoone_run::TrainConfig;
use echoone_train::{Share, parallel_step, rank_shares, shares, train_step};

type Ad = burn_autodiff::Autodiff<burn_flex::Flex>;

/// The loss without its Dice terms, which are computed over a share's pixels, not per item.
fn bce_only() -> EchoOneLoss {
    EchoOneLossConfig::new()
        .with_main_dice(0.0)
        .with_coarse_dice(0.0)
        .init()
}

/// How a step is split across devices.
struct Split {
    /// Items in the batch (at most 5).
    items: usize,
    /// Devices it is split across.
    devices: usize,
    /// Applied to the shares before the step: the identity, or a deliberate mistake that the
    /// comparison must catch.
    tamper: fn(&mut Vec<Share<Ad>>),
}

/// The shares as [`shares`] makes them.
fn untouched(_: &mut Vec<Share<Ad>>) {}

/// A seeded model of `config` (its lazy parameters drawn once), made-up latents of the
/// synthetic samples in three clusters, and the prior fitted on them when PC-Mask is on.
fn start(config: &EchoOneConfig) -> (EchoOne<Ad>, Vec<Vec<f32>>, Option<FittedPrior>) {
    let device = burn_flex::FlexDevice;
    Ad::seed(&device, 5);
    // Forking initialises the lazy parameters, which each clone would otherwise draw anew.
    let initial = config.init::<Ad>(&device).unwrap().fork(&device);
    let (latents, fitted) = common::made_up_prior(config);
    (initial, latents, config.pc_mask.then_some(fitted))
}

/// The largest parameter difference after one step on the whole batch and after one step
/// split across devices as `split` says (fresh optimisers from `optim`), the largest update of
/// the whole-batch step, and the loss terms both ways (name, whole, split).
fn one_step_both_ways<O: Optimizer<EchoOne<Ad>, Ad>>(
    model: EchoOneConfig,
    loss: &EchoOneLoss,
    lr: f64,
    optim: impl Fn() -> O,
    split: Split,
) -> (f32, f32, Vec<(&'static str, f64, f64)>) {
    let device = burn_flex::FlexDevice;
    let (initial, latents, fitted) = start(&model);
    let prior = fitted.as_ref().map(|fitted| BatchPrior {
        fitted,
        latents: &latents,
    });
    let items = || common::items(split.items);
    let (b, p) = batch_with_prior::<Ad>(items(), prior.as_ref(), 0, &device).unwrap();
    let (whole, whole_terms) =
        train_step(initial.clone(), &mut optim(), b, p, loss, lr, &[]).unwrap();
    let mut parts = shares::<Ad>(items(), prior.as_ref(), &vec![device; split.devices]).unwrap();
    (split.tamper)(&mut parts);
    let (split, split_terms, _) = parallel_step(
        initial.clone(),
        &mut optim(),
        parts,
        &device,
        loss,
        lr,
        &[],
        None,
    )
    .unwrap();
    let terms = whole_terms
        .iter()
        .zip(&split_terms)
        .map(|((name, w), (_, s))| (*name, *w, *s))
        .collect();
    (
        common::max_diff(&whole, &split),
        common::max_diff(&whole, &initial),
        terms,
    )
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
    // Process 1 of 2 with 2 devices each: shares 3 and 4 of 4 over 5 items (2, 1, 1, 1).
    let rank = rank_shares::<Ad>(common::items(5), None, &[device, device], 1, 2).unwrap();
    let sizes: Vec<(usize, f64)> = rank
        .iter()
        .map(|s| (s.batch.image_of.len(), s.weight))
        .collect();
    assert_eq!(sizes, vec![(1, 0.2), (1, 0.2)]);
    let first = rank_shares::<Ad>(common::items(5), None, &[device, device], 0, 2).unwrap();
    let sizes: Vec<usize> = first.iter().map(|s| s.batch.image_of.len()).collect();
    assert_eq!(sizes, vec![2, 1]);
    // Process 2 of 3 over 2 items, one device each: nothing for it.
    assert!(
        rank_shares::<Ad>(common::items(2), None, &[device], 2, 3)
            .unwrap()
            .is_empty()
    );
}

/// Gradients of a batch split unevenly equal the whole batch's within `TIGHT`.
const TIGHT: f32 = 1e-6;

#[test]
fn an_uneven_split_steps_as_the_whole_batch_and_a_wrong_split_does_not() {
    // Without PC-Mask (whose prior U-Net has BatchNorm) and without the Dice terms, the loss is
    // a mean over items, so the gradient of a split batch is the whole batch's up to rounding.
    // Plain SGD at lr 1: the update is the summed gradient itself. Five items split 3 + 2 and
    // 2 + 2 + 1, so shares weighted by the device count instead of their size would show.
    let model = EchoOneConfig::tiny().with_pc_mask(false);
    let sgd = || SgdConfig::new().init();
    let step = |split| one_step_both_ways(model.clone(), &bce_only(), 1.0, sgd, split);
    for devices in [2, 3] {
        let (diff, update, terms) = step(Split {
            items: 5,
            devices,
            tamper: untouched,
        });
        assert!(update > 1e-2, "the step moved nothing: {update}");
        assert!(
            diff < TIGHT,
            "{devices} devices: gradients differ by {diff} (update {update})"
        );
        for (name, whole, split) in terms {
            if name != "main_dice" {
                assert!((whole - split).abs() < 1e-6, "{name}: {whole} vs {split}");
            }
        }
    }
    // The comparison catches the mistakes a split can make: equal weights for unequal shares, a
    // share left out, one share's items counted twice.
    let equal_weights: fn(&mut Vec<Share<Ad>>) = |parts| {
        let n = parts.len() as f64;
        parts.iter_mut().for_each(|p| p.weight = 1.0 / n);
    };
    let dropped: fn(&mut Vec<Share<Ad>>) = |parts| {
        parts.pop();
    };
    let doubled: fn(&mut Vec<Share<Ad>>) = |parts| {
        let first = &parts[0];
        let copy = Share {
            device: first.device,
            batch: first.batch.clone(),
            prior: first.prior.clone(),
            weight: parts[1].weight,
        };
        parts[1] = copy;
    };
    for (mistake, tamper) in [
        ("equal weights", equal_weights),
        ("a share dropped", dropped),
        ("a share doubled", doubled),
    ] {
        let (diff, update, _) = step(Split {
            items: 5,
            devices: 2,
            tamper,
        });
        assert!(
            diff > 1e3 * TIGHT,
            "{mistake}: differs by only {diff} (update {update})"
        );
    }
    // Adam as training runs it, at the tiny run's learning rate: it divides by the gradient's
    // size, so rounding in a near-zero gradient moves a weight by up to a percent of lr.
    let adam = || AdamConfig::new().with_epsilon(1e-8).init();
    let (diff, _, _) = one_step_both_ways(
        model,
        &bce_only(),
        2e-3,
        adam,
        Split {
            items: 5,
            devices: 2,
            tamper: untouched,
        },
    );
    assert!(diff < 1e-2 * 2e-3, "Adam steps differ by {diff}");
}

#[test]
fn a_step_on_three_devices_gives_the_same_weights_every_time() {
    // With three or more devices burn averages the shares' BatchNorm running statistics in
    // hash-map order, so those buffers may differ in their last bit from run to run; the
    // weights, summed from the shares' gradients, must not.
    let config = EchoOneConfig::tiny();
    let (initial, latents, fitted) = start(&config);
    let prior = fitted.as_ref().map(|fitted| BatchPrior {
        fitted,
        latents: &latents,
    });
    let device = burn_flex::FlexDevice;
    let loss = EchoOneLossConfig::new().init();
    let step = || {
        let parts = shares::<Ad>(common::items(5), prior.as_ref(), &[device; 3]).unwrap();
        let mut adam = AdamConfig::new().with_epsilon(1e-8).init();
        let (model, _, _) = parallel_step(
            initial.clone(),
            &mut adam,
            parts,
            &device,
            &loss,
            2e-3,
            &[],
            None,
        )
        .unwrap();
        common::values(&model)
    };
    let first = step();
    assert!(first != common::values(&initial), "the step moved nothing");
    for _ in 0..3 {
        let again = step();
        for (path, values) in &first {
            if !path.contains(".running_") {
                assert!(again[path] == *values, "{path} differs between two runs");
            }
        }
    }
}

#[test]
fn with_dice_and_batchnorm_a_split_step_differs_a_little() {
    // The training loss (Dice over a share's pixels) and PC-Mask (BatchNorm statistics over a
    // share): the summed gradient is not the whole batch's, by design, but stays near it.
    let sgd = || SgdConfig::new().init();
    let full = EchoOneLossConfig::new().init();
    let (diff, update, _) = one_step_both_ways(
        EchoOneConfig::tiny(),
        &full,
        1.0,
        sgd,
        Split {
            items: 4,
            devices: 2,
            tamper: untouched,
        },
    );
    assert!(diff > 1e2 * TIGHT, "no per-share terms showed: {diff}");
    assert!(
        diff < 0.05 * update,
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

    // Without --devices, the configuration's `replicas` splits batches on the CPU the same way,
    // and splitting is not a no-op: one device computes the Dice terms over the whole batch and
    // ends elsewhere (so the equality above says the two devices were used).
    let run_with = |name: &str, config: &TrainConfig| {
        let file = common::write_config(tmp.path(), &format!("{name}.json"), config);
        let out = tmp.path().join(name);
        common::ok(&common::echoone(&[
            "train",
            "--quiet",
            "--config",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]));
        out
    };
    let copies = run_with("copies", &run.clone().with_replicas(2));
    let single = run_with("single", &run);
    let losses = |d: &std::path::Path| -> Vec<f64> {
        common::history(d).iter().map(|r| r.train_loss).collect()
    };
    assert_eq!(
        losses(&copies),
        losses(&whole),
        "replicas differ from --devices"
    );
    assert!(
        weights(&whole) == weights(&copies),
        "replicas differ from --devices"
    );
    assert_ne!(
        losses(&single),
        losses(&whole),
        "two devices trained as one"
    );
    assert!(
        weights(&whole) != weights(&single),
        "two devices trained as one"
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
