//! A training step through `train` changes the trainable parameters and leaves every frozen
//! one bit for bit as it was (authors' split).

mod common;

use std::collections::BTreeMap;

use common::values;
use echoone_sam::inspect::parameters;
use echoone_train::{FreezePolicy, RunOptions, checkpoint, model, train};

type Flex = burn_flex::Flex;
type Ad = burn_autodiff::Autodiff<Flex>;

#[test]
fn a_step_moves_trainable_parameters_only() {
    let tmp = tempfile::tempdir().unwrap();
    let config = common::tiny_run(1)
        .with_freeze(FreezePolicy::Authors)
        .with_steps_per_epoch(1);
    let device = Default::default();
    let (initial, note) = model::build::<Ad>(&config, None, &device).unwrap();
    assert!(note.contains("frozen"), "{note}");
    let trainable: BTreeMap<String, bool> = parameters(&initial)
        .into_iter()
        .map(|p| (p.path, p.trainable))
        .collect();
    let before = values(&initial);
    let options = RunOptions {
        out: tmp.path().join("run"),
        quiet: true,
        ..Default::default()
    };
    train::<Ad>(config.clone(), &options, &device).unwrap();
    let after_model = checkpoint::load_model::<Flex>(
        &config.model,
        &tmp.path().join("run/checkpoints/latest"),
        &device,
    )
    .unwrap();
    let after = values(&after_model);
    assert_eq!(before.len(), after.len());
    let (mut frozen, mut moved) = (0, 0);
    for (path, old) in &before {
        let new = &after[path];
        if path.ends_with("running_mean") || path.ends_with("running_var") {
            // BatchNorm statistics are buffers: they follow the data, not the optimiser.
            continue;
        }
        if trainable[path] {
            moved += usize::from(old != new);
        } else {
            assert_eq!(old, new, "frozen parameter {path} changed");
            frozen += 1;
        }
    }
    assert!(frozen > 50, "only {frozen} frozen tensors");
    let n_trainable = trainable.values().filter(|t| **t).count();
    // Adam moves every parameter that got a gradient; a few (e.g. unused rel-pos rows) may not.
    assert!(
        moved * 10 >= n_trainable * 9,
        "{moved} of {n_trainable} trainable tensors moved"
    );
}
