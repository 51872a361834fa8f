//! EchoONE training losses in burn, generic over the backend: numerically stable
//! BCE-with-logits with `pos_weight`, the spec's batch-global soft Dice, and the composite
//! loss (0.2 BCE + 0.8 Dice on the main logits, 0.1 BCE + 0.4 Dice on the coarse logits).

mod bce;
mod dice;
mod echoone;
mod error;

pub use bce::{BceWithLogits, BceWithLogitsConfig};
pub use dice::{SoftDice, SoftDiceConfig};
pub use echoone::{EchoOneLoss, EchoOneLossConfig, EchoOneLossOutput};
pub use error::LossError;
