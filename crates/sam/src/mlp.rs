//! SAM's two multi-layer perceptrons: `MLPBlock` (lin1, lin2) and the decoder's `MLP` (layers).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{gelu, linear};

/// The activation between the two layers of an [`MlpBlock`].
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact (erf) GELU, as the image encoder uses.
    Gelu,
    /// ReLU, as the two-way transformer uses.
    Relu,
}

/// Configuration of [`MlpBlock`].
#[derive(Config, Debug)]
pub struct MlpBlockConfig {
    /// Input and output width.
    pub embedding_dim: usize,
    /// Hidden width.
    pub mlp_dim: usize,
    /// Activation between the layers.
    pub activation: Activation,
}

/// `lin2(act(lin1(x)))`, SAM's `MLPBlock`.
#[derive(Module, Debug)]
pub struct MlpBlock<B: Backend> {
    /// First layer, to the hidden width.
    pub lin1: Linear<B>,
    /// Second layer, back to the input width.
    pub lin2: Linear<B>,
    /// Whether the activation is GELU (else ReLU).
    pub gelu: bool,
}

impl MlpBlockConfig {
    /// Builds the block.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MlpBlock<B> {
        MlpBlock {
            lin1: LinearConfig::new(self.embedding_dim, self.mlp_dim).init(device),
            lin2: LinearConfig::new(self.mlp_dim, self.embedding_dim).init(device),
            gelu: self.activation == Activation::Gelu,
        }
    }
}

impl<B: Backend> MlpBlock<B> {
    /// Applies the block on the last axis.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let h = linear(&self.lin1, x);
        let h = if self.gelu { gelu(h) } else { relu(h) };
        linear(&self.lin2, h)
    }
}

/// Configuration of [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input width.
    pub input_dim: usize,
    /// Width of the hidden layers.
    pub hidden_dim: usize,
    /// Output width.
    pub output_dim: usize,
    /// Number of linear layers.
    pub num_layers: usize,
    /// Whether a sigmoid follows the last layer.
    #[config(default = false)]
    pub sigmoid_output: bool,
}

/// The mask decoder's `MLP`: `num_layers` linears with ReLU between them.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// The linear layers, in order.
    pub layers: Vec<Linear<B>>,
    /// Whether a sigmoid follows the last layer.
    pub sigmoid_output: bool,
}

impl MlpConfig {
    /// Builds the perceptron.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mlp<B> {
        let layers = (0..self.num_layers)
            .map(|i| {
                let input = if i == 0 {
                    self.input_dim
                } else {
                    self.hidden_dim
                };
                let output = if i + 1 == self.num_layers {
                    self.output_dim
                } else {
                    self.hidden_dim
                };
                LinearConfig::new(input, output).init(device)
            })
            .collect();
        Mlp {
            layers,
            sigmoid_output: self.sigmoid_output,
        }
    }
}

impl<B: Backend> Mlp<B> {
    /// Applies the perceptron on the last axis.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let last = self.layers.len().saturating_sub(1);
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        if self.sigmoid_output { sigmoid(x) } else { x }
    }
}
