//! Shared helpers: a tiny model and run configuration, tiny training items and a prior for them,
//! and parameter values. The tests of the `echoone` binary (crates/cli/tests) share them too.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_data::{Mode, Sample, SegItem, SyntheticConfig};
use echoone_infer::items::load_items;
use echoone_model::EchoOneConfig;
use echoone_pc_mask::{FittedPrior, LatentExtractor, PriorConfig};
use echoone_run::{TrainConfig, samples};

/// A run of the tiny model ([`EchoOneConfig::tiny`]) on tiny synthetic echoes.
pub fn tiny_run(epochs: usize) -> TrainConfig {
    TrainConfig::new(EchoOneConfig::tiny())
        .with_datasets(vec!["synthetic:cases=10,size=64x64,seed=7".into()])
        .with_lr(2e-3)
        .with_batch_size(8)
        .with_epochs(epochs)
        .with_steps_per_epoch(6)
        .with_overlays(2)
        .with_seed(42)
}

/// Writes `config` as JSON into `dir/name`.
pub fn write_config(dir: &Path, name: &str, config: &TrainConfig) -> std::path::PathBuf {
    let path = dir.join(name);
    config
        .save_json(&path)
        .expect("write the test configuration");
    path
}

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

pub fn values<B: Backend, M: Module<B>>(m: &M) -> BTreeMap<String, Vec<f32>> {
    let mut v = Values::default();
    m.visit(&mut v);
    v.out
}

/// The largest difference between two modules' parameters (of the same shapes).
pub fn max_diff<B: Backend, M: Module<B>>(a: &M, b: &M) -> f32 {
    let (a, b) = (values(a), values(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .flat_map(|(k, x)| x.iter().zip(&b[k]).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

/// Tiny synthetic echoes.
pub fn synthetic() -> Vec<Sample> {
    SyntheticConfig {
        cases: 2,
        width: 64,
        height: 64,
        ..Default::default()
    }
    .generate(3)
    .unwrap()
}

/// The first `n` of five training items of the tiny run's pipeline.
pub fn items(n: usize) -> Vec<SegItem> {
    let ds = samples::dataset(&synthetic(), &tiny_run(1), Mode::Train);
    load_items(&ds, &[0, 3, 6, 9, 12][..n], 1).unwrap()
}

/// Made-up latents of the [`synthetic`] samples, in three clusters, and a PC-Mask prior of
/// `model`'s shape fitted on them.
pub fn made_up_prior(model: &EchoOneConfig) -> (Vec<Vec<f32>>, FittedPrior) {
    let samples = synthetic();
    let latents: Vec<Vec<f32>> = (0..samples.len())
        .map(|i| vec![(i % 3) as f32, 1.0])
        .collect();
    let config = PriorConfig::new()
        .with_k(model.prior_k)
        .with_side(model.low_res_size())
        .with_extractor(LatentExtractor::Thumbnail { side: 2 });
    let fitted = echoone_train::prior_fit::fit(&samples, &latents, &config).unwrap();
    (latents, fitted)
}
