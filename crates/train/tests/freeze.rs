//! A training step through `train` changes the trainable parameters and leaves every frozen
//! one bit for bit as it was (authors' split).

mod common;

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_sam::inspect::parameters;
use echoone_train::{FreezePolicy, RunOptions, checkpoint, model, train};

type Flex = burn_flex::Flex;
type Ad = burn_autodiff::Autodiff<Flex>;

/// Every float parameter's values by path.
#[derive(Default)]
struct Values {
    stack: Vec<String>,
    out: BTreeMap<String, Vec<f32>>,
}

impl<B: Backend> ModuleVisitor<B> for Values {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let values = param.val().into_data().iter::<f32>().collect();
        self.out.insert(self.stack.join("."), values);
    }
}

fn values<B: Backend, M: Module<B>>(m: &M) -> BTreeMap<String, Vec<f32>> {
    let mut v = Values::default();
    m.visit(&mut v);
    v.out
}

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
