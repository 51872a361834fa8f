//! Learning rate per step: constant (the authors'), or linear warm-up then polynomial decay.

use echoone_run::config::{Schedule, TrainConfig};

/// The learning rate of step `step` (from 0) of `total` steps, `per_epoch` steps an epoch.
pub fn learning_rate(config: &TrainConfig, step: usize, total: usize, per_epoch: usize) -> f64 {
    match config.schedule {
        Schedule::Constant => config.lr,
        Schedule::WarmupPoly {
            warmup_epochs,
            power,
        } => {
            let warmup = (warmup_epochs * per_epoch as f64).round() as usize;
            if step < warmup {
                return config.lr * (step + 1) as f64 / warmup as f64;
            }
            let span = total.saturating_sub(warmup).max(1) as f64;
            let t = ((step - warmup) as f64 / span).min(1.0);
            config.lr * (1.0 - t).powf(power)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echoone_model::EchoOneConfig;

    #[test]
    fn warmup_rises_linearly_then_decays_to_zero() {
        let config = TrainConfig::new(EchoOneConfig::small())
            .with_lr(1.0)
            .with_schedule(Schedule::WarmupPoly {
                warmup_epochs: 1.0,
                power: 1.0,
            });
        let lr = |s| learning_rate(&config, s, 40, 10);
        assert_eq!(lr(0), 0.1);
        assert_eq!(lr(9), 1.0);
        assert_eq!(lr(10), 1.0);
        assert!((lr(25) - 0.5).abs() < 1e-12);
        assert!(lr(39) > 0.0 && lr(39) < 0.04);
        let constant = TrainConfig::new(EchoOneConfig::small()).with_lr(0.5);
        assert_eq!(learning_rate(&constant, 7, 40, 10), 0.5);
    }
}
