//! Binary cross-entropy on logits with a positive-class weight, numerically stable.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{LossError, same_shape};

/// Configuration of [`BceWithLogits`].
#[derive(Config, Debug)]
pub struct BceWithLogitsConfig {
    /// Weight of the positive class (PyTorch's `pos_weight`); the EchoONE authors use 2.
    #[config(default = 1.0)]
    pub pos_weight: f64,
}

impl BceWithLogitsConfig {
    /// Builds the loss.
    pub fn init(&self) -> BceWithLogits {
        BceWithLogits {
            pos_weight: self.pos_weight,
        }
    }
}

/// Mean binary cross-entropy on logits, as `torch.nn.BCEWithLogitsLoss(pos_weight=w)`:
/// `(1 - t) x + (1 + (w - 1) t) (-log sigmoid(x))`, averaged over every element.
#[derive(Module, Debug, Clone)]
pub struct BceWithLogits {
    /// Weight of the positive class.
    pub pos_weight: f64,
}

impl BceWithLogits {
    /// The mean loss of `logits` against binary `targets` of the same shape.
    pub fn forward<B: Backend, const D: usize>(
        &self,
        logits: Tensor<B, D>,
        targets: Tensor<B, D>,
    ) -> Result<Tensor<B, 1>, LossError> {
        same_shape("targets", targets.dims().to_vec(), logits.dims().to_vec())?;
        let weight = targets
            .clone()
            .mul_scalar(self.pos_weight - 1.0)
            .add_scalar(1.0);
        let loss = targets.neg().add_scalar(1.0).mul(logits.clone()) - weight * log_sigmoid(logits);
        Ok(loss.mean())
    }
}
