//! `TrainConfig`: everything a training run depends on, saved as the experiment's `config.json`.

use std::path::Path;

use burn::config::Config;
use echoone_data::SplitPlan;
use echoone_data::augment::AugmentConfig;
use echoone_model::EchoOneConfig;
use echoone_pc_mask::PriorMode;
use serde::{Deserialize, Serialize};

use crate::error::{self, RunError};

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam without weight decay (the authors').
    Adam,
    /// AdamW with decoupled weight decay.
    AdamW,
}

/// The learning-rate schedule over steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The base rate throughout (the authors').
    Constant,
    /// Linear warm-up over `warmup_epochs`, then polynomial decay `(1 - t)^power` to zero.
    WarmupPoly {
        /// Epochs of linear warm-up.
        warmup_epochs: f64,
        /// Exponent of the decay.
        power: f64,
    },
}

/// How an epoch orders the (image, structure) items before cutting them into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemOrder {
    /// Every item shuffled on its own (the authors').
    Shuffled,
    /// The images shuffled, and each image's structures (shuffled) next to one another: a batch
    /// holds few images, each encoded once for all its structures, as SAM decodes several
    /// prompts per image embedding. Same items per epoch, fewer encoder passes per step.
    ByImage,
}

/// Which parameters train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FreezePolicy {
    /// The authors' split (SAM's pre-trained parts frozen) when SAM weights are loaded, every
    /// parameter otherwise (freezing random weights would only cripple the model).
    Auto,
    /// Always the authors' split.
    Authors,
    /// Every parameter trains.
    None,
}

/// How PC-Mask's latent vectors are extracted for fitting the prior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtractorChoice {
    /// The frozen official SAM encoder when `--sam-weights` is given, a thumbnail otherwise.
    Auto,
    /// The frozen, unmodified official SAM image encoder (needs SAM weights).
    SamEncoder,
    /// The image average-pooled to `side x side` (cheap; for CPU runs and tests).
    Thumbnail {
        /// Side of the thumbnail.
        side: usize,
    },
}

/// A learning-rate multiplier for one top-level module of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleLr {
    /// `image_encoder`, `prompt_encoder`, `mask_decoder`, `prior_unet` or `fusion`.
    pub module: String,
    /// Factor on the base learning rate.
    pub factor: f64,
}

/// Module names that accept a learning-rate multiplier.
pub const LR_MODULES: [&str; 5] = [
    "image_encoder",
    "prompt_encoder",
    "mask_decoder",
    "prior_unet",
    "fusion",
];

/// A training run: model, data, optimisation and reporting.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// The model, with its ablation toggles.
    pub model: EchoOneConfig,
    /// Datasets as `DatasetSpec` strings (`synthetic:cases=N`, `camus:/path`, ...).
    #[config(default = "vec![\"synthetic\".to_string()]")]
    pub datasets: Vec<String>,
    /// Patient-level split for data without an official one.
    #[config(default = "SplitPlan::default()")]
    pub split: SplitPlan,
    /// Training augmentation (the four of the spec, p 0.5 each).
    #[config(default = "AugmentConfig::default()")]
    pub augment: AugmentConfig,
    /// The optimiser.
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    #[config(default = 1e-4)]
    pub lr: f64,
    /// Weight decay (AdamW only).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Learning-rate schedule.
    #[config(default = "Schedule::Constant")]
    pub schedule: Schedule,
    /// Per-module learning-rate factors.
    #[config(default = "Vec::new()")]
    pub module_lr: Vec<ModuleLr>,
    /// Order of the items in an epoch.
    #[config(default = "ItemOrder::Shuffled")]
    pub order: ItemOrder,
    /// Samples per step.
    #[config(default = 16)]
    pub batch_size: usize,
    /// Epochs.
    #[config(default = 100)]
    pub epochs: usize,
    /// Seed of initialisation, shuffling, augmentation and clicks.
    #[config(default = 1234)]
    pub seed: u64,
    /// Threads preparing samples.
    #[config(default = 2)]
    pub workers: usize,
    /// On a CPU backend without `--devices`: model replicas each batch is split across, each
    /// running its share's forward and backward on its own thread, gradients summed as with
    /// `--devices`. Two keep both cores of a laptop busy through the serial parts of each op.
    #[config(default = 1)]
    pub replicas: usize,
    /// Which parameters train.
    #[config(default = "FreezePolicy::Auto")]
    pub freeze: FreezePolicy,
    /// PC-Mask latent extractor.
    #[config(default = "ExtractorChoice::Auto")]
    pub extractor: ExtractorChoice,
    /// PC-Mask centre masks per structure or class-agnostic.
    #[config(default = "PriorMode::PerStructure")]
    pub prior_mode: PriorMode,
    /// Validation overlays written per epoch.
    #[config(default = 8)]
    pub overlays: usize,
    /// Limit on training steps per epoch (0: the whole training split).
    #[config(default = 0)]
    pub steps_per_epoch: usize,
    /// Also write the `latest` checkpoint every this many optimiser steps inside an epoch, with
    /// the exact place in the epoch, so that `--resume` continues at the next step (0: at the
    /// end of each epoch only). Changes no result; may change on `--resume`.
    #[config(default = 0)]
    pub checkpoint_every: usize,
}

impl TrainConfig {
    /// The authors' recipe on EchoONE ViT-B (Adam 1e-4, batch 16, 100 epochs, seed 1234).
    pub fn authors() -> Self {
        Self::new(EchoOneConfig::vit_b())
    }

    /// The embedded default: the small model at 128x128 input (16x16 tokens, 8x8 windows,
    /// 64x64 logits) on 100 built-in synthetic cases, sized to reach a mean validation Dice of
    /// 0.80 in under 15 minutes on a 2-core CPU: batches of 6 items holding 2 images with their
    /// 3 structures each, every image encoded once (`ItemOrder::ByImage`), split over 2 CPU
    /// replicas; Adam 5e-4 with half an epoch of warm-up and linear decay; 8 epochs of 84
    /// steps; no augmentation (the synthetic generator already varies anatomy, pose, gain and
    /// speckle per case; real datasets keep the spec's four augmentations).
    pub fn cpu_default() -> Self {
        let model = EchoOneConfig::small()
            .with_input_size(128)
            .with_encoder_input_size(136)
            .with_window_size(8);
        Self::new(model)
            .with_datasets(vec!["synthetic:cases=100".into()])
            .with_augment(AugmentConfig::none())
            .with_order(ItemOrder::ByImage)
            .with_replicas(2)
            .with_lr(5e-4)
            .with_schedule(Schedule::WarmupPoly {
                warmup_epochs: 0.5,
                power: 1.0,
            })
            .with_batch_size(6)
            .with_epochs(8)
            .with_steps_per_epoch(84)
    }

    /// Reads a configuration written by [`save_json`](Self::save_json) (or by hand). Fields a
    /// file lacks (written by hand, or before the field existed) take their default; `model`
    /// is required.
    pub fn load_json(path: &Path) -> error::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RunError::file(path, e))?;
        let bad = |e: serde_json::Error| {
            RunError::file(path, format!("not a training configuration: {e}"))
        };
        let mut value: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
        if let Some(fields) = value.as_object_mut()
            && let Some(model) = fields.get("model")
        {
            let model: EchoOneConfig = serde_json::from_value(model.clone()).map_err(bad)?;
            if let serde_json::Value::Object(defaults) = serde_json::to_value(Self::new(model))
                .map_err(|e| RunError::file(path, format!("cannot encode: {e}")))?
            {
                for (name, default) in defaults {
                    fields.entry(name).or_insert(default);
                }
            }
        }
        let config: Self = serde_json::from_value(value).map_err(bad)?;
        config
            .validate()
            .map_err(|e| RunError::file(path, e.to_string()))?;
        Ok(config)
    }

    /// Writes the configuration as pretty JSON, atomically.
    pub fn save_json(&self, path: &Path) -> error::Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| RunError::file(path, format!("cannot encode: {e}")))?;
        Ok(echoone_data::png_io::write_atomic(path, text.as_bytes())?)
    }

    /// Whether `other` describes the same model and data (what a resumed run must keep).
    pub fn same_run(&self, other: &Self) -> bool {
        let json = |c: &Self| serde_json::to_value((&c.model, &c.datasets)).ok();
        json(self) == json(other)
    }

    /// Checks ranges and the model configuration.
    pub fn validate(&self) -> error::Result<()> {
        self.model.validate()?;
        let bad = |m: String| Err(RunError::Config(m));
        if self.batch_size == 0 || self.epochs == 0 || self.replicas == 0 {
            return bad("batch_size, epochs and replicas must be positive".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) || self.weight_decay < 0.0 {
            return bad(format!(
                "learning rate {} must be positive and weight decay {} not negative",
                self.lr, self.weight_decay
            ));
        }
        if self.datasets.is_empty() {
            return bad("at least one dataset is needed".into());
        }
        self.split.validate()?;
        if let Some(m) = self
            .module_lr
            .iter()
            .find(|m| !LR_MODULES.contains(&m.module.as_str()) || m.factor < 0.0)
        {
            return bad(format!(
                "module_lr {:?} x {}: the module must be one of {LR_MODULES:?} and the factor \
                 not negative",
                m.module, m.factor
            ));
        }
        if let Schedule::WarmupPoly {
            warmup_epochs,
            power,
        } = self.schedule
            && (warmup_epochs < 0.0 || power <= 0.0)
        {
            return bad("warm-up epochs must not be negative and the power positive".into());
        }
        if let ExtractorChoice::Thumbnail { side: 0 } = self.extractor {
            return bad("the thumbnail side must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_their_defaults_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("echoone-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        let full = TrainConfig::cpu_default();
        full.save_json(&path).unwrap();
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        value.as_object_mut().unwrap().remove("order");
        value.as_object_mut().unwrap().remove("checkpoint_every");
        std::fs::write(&path, value.to_string()).unwrap();
        let loaded = TrainConfig::load_json(&path).unwrap();
        assert_eq!(loaded.order, ItemOrder::Shuffled, "an older file's default");
        assert_eq!(loaded.checkpoint_every, 0, "an older file's default");
        assert_eq!(loaded.batch_size, full.batch_size);

        let model = serde_json::to_value(&full.model).unwrap();
        std::fs::write(&path, serde_json::json!({ "model": model }).to_string()).unwrap();
        let minimal = TrainConfig::load_json(&path).unwrap();
        assert_eq!(minimal.batch_size, 16);
        assert_eq!(minimal.model.input_size, 128);

        std::fs::write(&path, r#"{"batch_size": 4}"#).unwrap();
        let err = TrainConfig::load_json(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("model"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
