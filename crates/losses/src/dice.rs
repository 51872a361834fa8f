//! The soft Dice loss of the EchoONE spec, over the whole batch.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{LossError, same_shape};

/// Configuration of [`SoftDice`].
#[derive(Config, Debug)]
pub struct SoftDiceConfig {
    /// Added to numerator and denominator.
    #[config(default = 1e-5)]
    pub smooth: f64,
}

impl SoftDiceConfig {
    /// Builds the loss.
    pub fn init(&self) -> SoftDice {
        SoftDice {
            smooth: self.smooth,
        }
    }
}

/// `1 - (2 sum(p t) + smooth) / (sum(p^2) + sum(t^2) + smooth)` with `p = sigmoid(logits)`,
/// the sums running over every element of the batch (batch-global, squared denominators).
#[derive(Module, Debug, Clone)]
pub struct SoftDice {
    /// Added to numerator and denominator.
    pub smooth: f64,
}

impl SoftDice {
    /// The loss of `logits` against `targets` of the same shape.
    pub fn forward<B: Backend, const D: usize>(
        &self,
        logits: Tensor<B, D>,
        targets: Tensor<B, D>,
    ) -> Result<Tensor<B, 1>, LossError> {
        same_shape("targets", targets.dims().to_vec(), logits.dims().to_vec())?;
        Ok(self.forward_probabilities(sigmoid(logits), targets))
    }

    /// The loss of probabilities `p` (already in [0, 1]) against `targets` of the same shape.
    pub fn forward_probabilities<B: Backend, const D: usize>(
        &self,
        p: Tensor<B, D>,
        targets: Tensor<B, D>,
    ) -> Tensor<B, 1> {
        let intersection = (p.clone() * targets.clone()).sum();
        let denominator = p.square().sum() + targets.square().sum();
        let ratio = intersection.mul_scalar(2.0).add_scalar(self.smooth)
            / denominator.add_scalar(self.smooth);
        ratio.neg().add_scalar(1.0)
    }
}
