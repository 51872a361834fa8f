//! Which EchoONE architecture: a preset, a configuration file, or recognised from a checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::config::Config;
use burn_flex::Flex;
use clap::Args;
use echoone_model::{EchoOneConfig, checkpoint_shapes, recognise_config};

/// `--variant` or `--config`.
#[derive(Args, Debug)]
pub struct ArchArgs {
    /// A preset: `vit_b` (the paper's model) or `small` (tests and CPU runs).
    #[arg(long, conflicts_with = "config")]
    pub variant: Option<String>,
    /// An `EchoOneConfig` JSON file.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The preset of a `--variant` name.
fn preset(name: &str) -> Result<EchoOneConfig> {
    match name {
        "vit_b" => Ok(EchoOneConfig::vit_b()),
        "small" => Ok(EchoOneConfig::small()),
        other => bail!("--variant `{other}`: expected vit_b or small"),
    }
}

impl ArchArgs {
    /// The configuration asked for; with neither flag, `fallback` decides.
    pub fn resolve(
        &self,
        fallback: impl FnOnce() -> Result<EchoOneConfig>,
    ) -> Result<EchoOneConfig> {
        let config = match (&self.variant, &self.config) {
            (_, Some(path)) => EchoOneConfig::load(path).map_err(|e| {
                anyhow::anyhow!("{}: not an EchoONE configuration: {e}", path.display())
            })?,
            (Some(name), None) => preset(name)?,
            (None, None) => fallback()?,
        };
        config.validate()?;
        Ok(config)
    }
}

/// The preset a checkpoint's tensor shapes match (PyTorch state dicts only).
pub fn recognise(checkpoint: &Path) -> Result<EchoOneConfig> {
    let shapes = checkpoint_shapes(checkpoint)?;
    let (name, config) = recognise_config::<Flex>(&shapes, &Default::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", checkpoint.display()))?;
    eprintln!(
        "{}: recognised as {name} (PC-Mask {}, decoder depth {})",
        checkpoint.display(),
        if config.pc_mask { "on" } else { "off" },
        config.decoder_depth
    );
    Ok(config)
}
