//! A training step through `train` changes the trainable parameters and leaves every frozen
//! one bit for bit as it was (authors' split); `Auto` freezes as the authors only when SAM's
//! weights were loaded.

mod common;

use std::collections::BTreeMap;

use common::values;
use echoone_run::FreezePolicy;
use echoone_run::checkpoint;
use echoone_sam::inspect::parameters;
use echoone_train::{RunOptions, model_setup, train};

type Flex = burn_flex::Flex;
type Ad = burn_autodiff::Autodiff<Flex>;

#[test]
fn a_step_moves_trainable_parameters_only() {
    let tmp = tempfile::tempdir().unwrap();
    let config = common::tiny_run(1)
        .with_freeze(FreezePolicy::Authors)
        .with_steps_per_epoch(1);
    let device = Default::default();
    let (initial, note) = model_setup::build::<Ad>(&config, None, &device).unwrap();
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

#[test]
fn auto_freezes_as_the_authors_only_when_sam_weights_were_loaded() {
    let device = Default::default();
    let config = common::tiny_run(1);
    assert_eq!(config.freeze, FreezePolicy::Auto);
    // Without --sam-weights, Auto trains every parameter: all but the buffers (SAM's
    // Fourier matrix, BatchNorm statistics), which never train.
    let (unfrozen, note) = model_setup::build::<Ad>(&config, None, &device).unwrap();
    assert!(note.contains("every parameter trains"), "{note}");
    let trainable = |policy, sam_loaded| -> Vec<bool> {
        let model = model_setup::freeze(unfrozen.clone(), policy, sam_loaded, &mut String::new());
        parameters(&model)
            .into_iter()
            .map(|p| p.trainable)
            .collect()
    };
    let trains_or_buffer: Vec<bool> = parameters(&unfrozen)
        .into_iter()
        .map(|p| p.trainable || p.path.contains(".running_") || p.path.contains("gaussian"))
        .collect();
    assert!(
        trains_or_buffer.iter().all(|&t| t),
        "a parameter other than a buffer is frozen"
    );
    let unfrozen_flags = trainable(FreezePolicy::Auto, false);
    assert_eq!(trainable(FreezePolicy::None, true), unfrozen_flags);
    // With SAM's weights loaded, Auto freezes exactly what the authors freeze: more.
    let authors = trainable(FreezePolicy::Authors, false);
    let count = |flags: &[bool]| flags.iter().filter(|&&t| t).count();
    assert!(count(&authors) < count(&unfrozen_flags) / 2);
    assert_eq!(trainable(FreezePolicy::Auto, true), authors);
}
