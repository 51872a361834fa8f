//! The EchoONE composite loss: BCE + Dice on the main logits, plus on the coarse logits.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use crate::bce::{BceWithLogits, BceWithLogitsConfig};
use crate::dice::{SoftDice, SoftDiceConfig};
use crate::error::{LossError, same_shape};

/// Configuration of [`EchoOneLoss`]; the defaults are the authors'.
#[derive(Config, Debug)]
pub struct EchoOneLossConfig {
    /// Weight of BCE on the main logits.
    #[config(default = 0.2)]
    pub main_bce: f64,
    /// Weight of Dice on the main logits.
    #[config(default = 0.8)]
    pub main_dice: f64,
    /// Weight of BCE on the coarse logits.
    #[config(default = 0.1)]
    pub coarse_bce: f64,
    /// Weight of Dice on the coarse logits.
    #[config(default = 0.4)]
    pub coarse_dice: f64,
    /// BCE positive-class weight.
    #[config(default = 2.0)]
    pub pos_weight: f64,
    /// Dice smoothing constant.
    #[config(default = 1e-5)]
    pub smooth: f64,
}

impl EchoOneLossConfig {
    /// Builds the loss.
    pub fn init(&self) -> EchoOneLoss {
        EchoOneLoss {
            main_bce: self.main_bce,
            main_dice: self.main_dice,
            coarse_bce: self.coarse_bce,
            coarse_dice: self.coarse_dice,
            bce: BceWithLogitsConfig::new()
                .with_pos_weight(self.pos_weight)
                .init(),
            dice: SoftDiceConfig::new().with_smooth(self.smooth).init(),
        }
    }
}

/// `main_bce BCE(main) + main_dice Dice(main) [+ coarse_bce BCE(coarse) + coarse_dice
/// Dice(coarse)]`, all against the same targets (resized by the caller, nearest).
#[derive(Module, Debug, Clone)]
pub struct EchoOneLoss {
    /// Weight of BCE on the main logits.
    pub main_bce: f64,
    /// Weight of Dice on the main logits.
    pub main_dice: f64,
    /// Weight of BCE on the coarse logits.
    pub coarse_bce: f64,
    /// Weight of Dice on the coarse logits.
    pub coarse_dice: f64,
    /// The BCE term.
    pub bce: BceWithLogits,
    /// The Dice term.
    pub dice: SoftDice,
}

/// The composite loss and its four terms (unweighted; the coarse ones absent without coarse
/// logits), for logging.
#[derive(Debug, Clone)]
pub struct EchoOneLossOutput<B: Backend> {
    /// The weighted sum: what to differentiate.
    pub total: Tensor<B, 1>,
    /// BCE on the main logits.
    pub main_bce: Tensor<B, 1>,
    /// Dice on the main logits.
    pub main_dice: Tensor<B, 1>,
    /// BCE on the coarse logits.
    pub coarse_bce: Option<Tensor<B, 1>>,
    /// Dice on the coarse logits.
    pub coarse_dice: Option<Tensor<B, 1>>,
}

impl EchoOneLoss {
    /// The loss of `main` (and optionally `coarse`) logits against `targets`, all one shape.
    pub fn forward<B: Backend, const D: usize>(
        &self,
        main: Tensor<B, D>,
        coarse: Option<Tensor<B, D>>,
        targets: Tensor<B, D>,
    ) -> Result<EchoOneLossOutput<B>, LossError> {
        let main_bce = self.bce.forward(main.clone(), targets.clone())?;
        let main_dice = self.dice.forward(main, targets.clone())?;
        let mut total = main_bce.clone().mul_scalar(self.main_bce)
            + main_dice.clone().mul_scalar(self.main_dice);
        let (mut coarse_bce, mut coarse_dice) = (None, None);
        if let Some(coarse) = coarse {
            same_shape(
                "coarse logits",
                coarse.dims().to_vec(),
                targets.dims().to_vec(),
            )?;
            let b = self.bce.forward(coarse.clone(), targets.clone())?;
            let d = self.dice.forward(coarse, targets)?;
            total = total
                + b.clone().mul_scalar(self.coarse_bce)
                + d.clone().mul_scalar(self.coarse_dice);
            coarse_bce = Some(b);
            coarse_dice = Some(d);
        }
        Ok(EchoOneLossOutput {
            total,
            main_bce,
            main_dice,
            coarse_bce,
            coarse_dice,
        })
    }
}
