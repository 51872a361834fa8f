//! Random inputs and comparisons shared by the tests.

use burn::tensor::{Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

/// A small deterministic generator (xorshift64*), so the tests need no `rand`.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` values uniform in [-amplitude, amplitude) shifted by `offset`.
    pub fn vec(&mut self, n: usize, amplitude: f32, offset: f32) -> Vec<f32> {
        (0..n)
            .map(|_| self.uniform() * amplitude + offset)
            .collect()
    }
}

/// A Flex f32 primitive of `shape` holding `values`.
pub fn prim(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// A random Flex f32 primitive of `shape`.
pub fn random_prim(rng: &mut Rng, shape: &[usize], amplitude: f32, offset: f32) -> FlexTensor {
    let n = shape.iter().product();
    prim(rng.vec(n, amplitude, offset), shape)
}

/// The f32 elements of a Flex primitive.
pub fn values(t: FlexTensor) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("an f32 tensor")
}

/// The f32 elements of a tensor.
pub fn tensor_values<B: burn::tensor::backend::Backend, const D: usize>(
    t: Tensor<B, D>,
) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("an f32 tensor")
}

/// Asserts `|a - b| <= abs + rel * |b|` element-wise, naming the first offender.
pub fn assert_close(what: &str, a: &[f32], b: &[f32], abs: f32, rel: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let err = (x - y).abs();
        assert!(
            err <= abs + rel * y.abs(),
            "{what}: element {i}: fused {x} vs reference {y} (|diff| {err})"
        );
    }
}

/// Asserts two buffers are bit-identical.
pub fn assert_bits_eq(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: element {i}: {x} vs {y}");
    }
}

/// Flex under autodiff.
pub type Ad = burn_autodiff::Autodiff<Flex>;
