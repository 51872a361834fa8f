//! Parity against the authors' PyTorch classes: each module loads the state dict that
//! `tests/fixtures/generate.py` writes with the authors' own modules (imported from their
//! checkout) through burn-store with [`LFFA_KEY_REMAP`] and reproduces their outputs.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use burn_flex::Flex;
use burn_store::{ModuleSnapshot, PytorchStore};
use echoone_lffa::{
    AdapterConfig, CnnBranchConfig, FusionConvConfig, LFFA_KEY_REMAP, LayerNorm2dConfig,
    PosEmbedReducerConfig, RefineAdapterConfig, SpaceAdapterConfig,
};
use ndarray::ArrayD;

/// Largest absolute difference tolerated between burn and PyTorch.
const TOL: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn npy(name: &str) -> ArrayD<f32> {
    let path = fixture(name);
    ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tensor<const D: usize>(name: &str) -> Tensor<Flex, D> {
    let array = npy(name);
    let shape = array.shape().to_vec();
    let values: Vec<f32> = array.iter().copied().collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// Loads `<case>.pth`, whose keys sit under the authors' attribute `holder`, into `module`,
/// and checks that every tensor on both sides was used.
fn load<M: Module<Flex> + ModuleSnapshot<Flex>>(mut module: M, case: &str, holder: &str) -> M {
    let mut store = PytorchStore::from_file(fixture(&format!("{case}.pth")))
        .map_indices_contiguous(false)
        .allow_partial(false);
    for (from, to) in LFFA_KEY_REMAP {
        store = store.with_key_remapping(*from, *to);
    }
    store = store.with_key_remapping(format!(r"^{holder}\."), "");
    let result = module
        .load_from(&mut store)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(result.errors.is_empty(), "{case}: {:?}", result.errors);
    assert!(
        result.missing.is_empty(),
        "{case}: missing {:?}",
        result.missing
    );
    assert!(
        result.unused.is_empty(),
        "{case}: unused {:?}",
        result.unused
    );
    assert!(!result.applied.is_empty(), "{case}: nothing applied");
    module
}

fn assert_close<const D: usize>(actual: Tensor<Flex, D>, case: &str) {
    let expected = npy(&format!("{case}_output.npy"));
    assert_eq!(actual.dims().to_vec(), expected.shape(), "{case}: shape");
    let values = actual.into_data().to_vec::<f32>().expect("f32 output");
    let diff = values
        .iter()
        .zip(expected.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff <= TOL, "{case}: max abs diff {diff:e} > {TOL:e}");
}

fn input<const D: usize>(case: &str) -> Tensor<Flex, D> {
    tensor(&format!("{case}_input.npy"))
}

#[test]
fn layer_norm2d_matches_pytorch() {
    let norm = load(
        LayerNorm2dConfig::new(8).init::<Flex>(&Default::default()),
        "layer_norm2d",
        "norm",
    );
    assert_close(norm.forward(input("layer_norm2d")), "layer_norm2d");
}

#[test]
fn residual_cnn_branch_matches_pytorch() {
    let config = CnnBranchConfig::new()
        .with_base_channels(4)
        .with_embed_dim(12);
    let branch = load(
        config.init::<Flex>(&Default::default()),
        "cnn_residual",
        "cnn_embed",
    );
    assert_close(branch.forward(input("cnn_residual")), "cnn_residual");
}

#[test]
fn plain_samus_cnn_branch_matches_pytorch() {
    let config = CnnBranchConfig::samus()
        .with_base_channels(4)
        .with_embed_dim(12);
    let branch = load(
        config.init::<Flex>(&Default::default()),
        "cnn_plain",
        "cnn_embed",
    );
    assert_close(branch.forward(input("cnn_plain")), "cnn_plain");
}

#[test]
fn space_adapter_matches_pytorch() {
    let adapter = SpaceAdapterConfig::new(24)
        .with_num_heads(4)
        .init::<Flex>(&Default::default())
        .expect("valid config");
    let adapter = load(adapter, "space_adapter", "Space_Adapter");
    let out = adapter.forward(input("space_adapter"), tensor("space_adapter_context.npy"));
    assert_close(out, "space_adapter");
}

#[test]
fn refine_adapter_matches_pytorch() {
    let adapter = load(
        RefineAdapterConfig::new(8).init::<Flex>(&Default::default()),
        "refine_adapter",
        "refine_Adapter",
    );
    assert_close(adapter.forward(input("refine_adapter")), "refine_adapter");
}

#[test]
fn input_and_mlp_adapters_match_pytorch() {
    for (case, holder, config) in [
        ("input_adapter", "input_Adapter", AdapterConfig::input(16)),
        ("mlp_adapter", "MLP_Adapter", AdapterConfig::mlp(16)),
    ] {
        let adapter = load(config.init::<Flex>(&Default::default()), case, holder);
        assert_close(adapter.forward(input::<4>(case)), case);
    }
}

#[test]
fn position_embedding_reducer_matches_pytorch() {
    let config = PosEmbedReducerConfig::new()
        .with_embed_dim(8)
        .with_source_size(16)
        .with_target_size(4);
    let reducer = config
        .init::<Flex>(&Default::default())
        .expect("valid config");
    let reducer = load(reducer, "post_pos_embed", "post_pos_embed");
    assert_close(reducer.forward(input("post_pos_embed")), "post_pos_embed");
}

#[test]
fn fusion_convolutions_match_pytorch() {
    // Taken from the authors' `TwoWayTransformer`, whose fusion convolutions are hard-coded
    // 512 -> 256: these two fixtures are full width.
    for (case, norm) in [("neck_down_sample1", true), ("neck_down_sample4", false)] {
        let config = FusionConvConfig::new()
            .with_in_channels(512)
            .with_out_channels(256)
            .with_norm(norm);
        let fusion = load(config.init::<Flex>(&Default::default()), case, case);
        assert_close(fusion.forward(input(case)), case);
    }
}
