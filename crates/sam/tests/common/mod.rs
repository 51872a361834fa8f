//! Helpers shared by the parity tests: fixture paths, the reduced configuration, comparisons.

#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData, backend::Backend};
use echoone_sam::mask_decoder::transformer::TwoWayTransformerConfig;
use echoone_sam::npy::{NpyArray, read_npy};
use echoone_sam::{ImageEncoderConfig, MaskDecoderConfig, PromptEncoderConfig, SamConfig};

/// The CPU default backend.
pub type Cpu = burn_flex::Flex;

/// The fixtures folder beside this file (also when crates/cli's tests include it).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sam/tests/fixtures")
}

/// Reads a fixture `.npy` by its path under the fixtures folder.
pub fn npy(rel: &str) -> NpyArray {
    let path = fixtures().join(rel);
    read_npy(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A fixture as a tensor of rank `D`.
pub fn tensor<const D: usize>(rel: &str) -> Tensor<Cpu, D> {
    let a = npy(rel);
    Tensor::from_data(TensorData::new(a.data, a.shape), &Default::default())
}

/// The reduced configuration `generate.py` builds with official SAM modules.
pub fn tiny_config() -> SamConfig {
    let encoder = ImageEncoderConfig::new()
        .with_img_size(128)
        .with_embed_dim(64)
        .with_depth(4)
        .with_num_heads(4)
        .with_window_size(3)
        .with_global_attn_indexes(vec![1, 3])
        .with_out_chans(32);
    let prompt = PromptEncoderConfig::new()
        .with_embed_dim(32)
        .with_image_embedding_size(8)
        .with_input_image_size(128);
    let decoder = MaskDecoderConfig::new()
        .with_transformer_dim(32)
        .with_transformer(
            TwoWayTransformerConfig::new()
                .with_embedding_dim(32)
                .with_num_heads(4)
                .with_mlp_dim(64),
        )
        .with_iou_head_hidden_dim(32);
    SamConfig::new(encoder, prompt, decoder)
}

/// Largest absolute difference between `actual` and the fixture `expected`; panics on a shape
/// mismatch.
pub fn max_abs_diff<B: Backend, const D: usize>(actual: Tensor<B, D>, expected: &NpyArray) -> f32 {
    assert_eq!(
        actual.dims().to_vec(),
        expected.shape,
        "shape differs from the fixture"
    );
    let data = actual.into_data().convert::<f32>();
    let values = data.as_slice::<f32>().expect("f32 data");
    values
        .iter()
        .zip(&expected.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Asserts that `actual` matches the fixture `rel` within `tol` absolute.
pub fn assert_close<B: Backend, const D: usize>(actual: Tensor<B, D>, rel: &str, tol: f32) {
    let expected = npy(rel);
    let diff = max_abs_diff(actual, &expected);
    assert!(diff <= tol, "{rel}: max abs diff {diff:e} > {tol:e}");
}
