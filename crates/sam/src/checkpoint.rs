//! Loading official SAM checkpoints (PyTorch `.pth` state dicts or safetensors) into burn modules.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn_store::{
    ApplyResult, KeyRemapper, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore,
};

use crate::error::{Result, SamError};

/// Regex key remappings from the official checkpoint names to this crate's field names: the
/// `nn.Sequential` stacks whose numeric children cannot be Rust field names, and burn's
/// `LayerNorm` parameters (`gamma`, `beta`). Prefix-agnostic, so models that embed SAM's modules
/// (EchoONE) reuse them as they are.
pub const SAM_KEY_REMAP: &[(&str, &str)] = &[
    (r"\.(norm[1-4]|norm_final_attn)\.weight$", ".${1}.gamma"),
    (r"\.(norm[1-4]|norm_final_attn)\.bias$", ".${1}.beta"),
    (r"(^|\.)neck\.0\.", "${1}neck.conv1."),
    (r"(^|\.)neck\.1\.", "${1}neck.ln1."),
    (r"(^|\.)neck\.2\.", "${1}neck.conv2."),
    (r"(^|\.)neck\.3\.", "${1}neck.ln2."),
    (
        r"(^|\.)mask_downscaling\.0\.",
        "${1}mask_downscaling.conv1.",
    ),
    (r"(^|\.)mask_downscaling\.1\.", "${1}mask_downscaling.ln1."),
    (
        r"(^|\.)mask_downscaling\.3\.",
        "${1}mask_downscaling.conv2.",
    ),
    (r"(^|\.)mask_downscaling\.4\.", "${1}mask_downscaling.ln2."),
    (
        r"(^|\.)mask_downscaling\.6\.",
        "${1}mask_downscaling.conv3.",
    ),
    (
        r"(^|\.)output_upscaling\.0\.",
        "${1}output_upscaling.deconv1.",
    ),
    (r"(^|\.)output_upscaling\.1\.", "${1}output_upscaling.ln."),
    (
        r"(^|\.)output_upscaling\.3\.",
        "${1}output_upscaling.deconv2.",
    ),
];

/// How strictly a checkpoint must match the model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Accept missing and unexpected tensors (they are still reported); mis-shaped tensors
    /// are always an error.
    pub allow_partial: bool,
    /// Extra `(regex, replacement)` key remappings applied after [`SAM_KEY_REMAP`].
    pub extra_remap: Vec<(String, String)>,
}

/// What a load did: tensors applied, and those missing from or unexpected in the checkpoint.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Model tensors loaded from the checkpoint.
    pub applied: Vec<String>,
    /// Model tensors the checkpoint lacks (kept at their initial values).
    pub missing: Vec<String>,
    /// Checkpoint tensors the model has no place for.
    pub unexpected: Vec<String>,
}

/// The formats a checkpoint file can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckpointFormat {
    /// `torch.save` output (zip archive or legacy pickle).
    Pytorch,
    /// A safetensors file.
    Safetensors,
}

fn sniff_format(path: &Path) -> Result<CheckpointFormat> {
    let io = |source| SamError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = [0u8; 9];
    let mut file = File::open(path).map_err(io)?;
    let read = file.read(&mut head).map_err(io)?;
    let bad = |message: &str| SamError::CheckpointFormat {
        path: path.to_path_buf(),
        message: message.into(),
    };
    if read < 9 {
        return Err(bad("the file is too short to be a checkpoint"));
    }
    if head.starts_with(b"PK\x03\x04") || head[0] == 0x80 {
        return Ok(CheckpointFormat::Pytorch);
    }
    if head[8] == b'{' {
        return Ok(CheckpointFormat::Safetensors);
    }
    Err(bad(
        "neither a PyTorch state dict (zip or pickle) nor a safetensors file",
    ))
}

fn remapper(options: &LoadOptions, path: &Path) -> Result<KeyRemapper> {
    let pairs = SAM_KEY_REMAP
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .chain(options.extra_remap.iter().cloned());
    let mut remapper = KeyRemapper::new();
    for (from, to) in pairs {
        remapper = remapper
            .add_pattern(&from, to)
            .map_err(|e| SamError::CheckpointFormat {
                path: path.to_path_buf(),
                message: format!("invalid key remapping `{from}`: {e}"),
            })?;
    }
    Ok(remapper)
}

/// Loads the tensors of a SAM-format checkpoint into `module`, mapping the official names with
/// [`SAM_KEY_REMAP`] (and `options.extra_remap`). Missing, unexpected or mis-shaped tensors are
/// an error that lists them all, unless `options.allow_partial` (mis-shaped ones always are).
pub fn load_checkpoint<B: Backend, M: Module<B> + ModuleSnapshot<B>>(
    module: &mut M,
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<LoadReport> {
    let path = path.as_ref();
    let format = sniff_format(path)?;
    let remapper = remapper(options, path)?;
    let result = match format {
        CheckpointFormat::Pytorch => apply(
            module,
            PytorchStore::from_file(path)
                .remap(remapper)
                .map_indices_contiguous(false)
                .validate(false)
                .allow_partial(true),
            path,
        )?,
        CheckpointFormat::Safetensors => apply(
            module,
            SafetensorsStore::from_file(path)
                .with_from_adapter(PyTorchToBurnAdapter)
                .remap(remapper)
                .map_indices_contiguous(false)
                .validate(false)
                .allow_partial(true),
            path,
        )?,
    };
    report(result, path.to_path_buf(), options.allow_partial)
}

fn apply<B: Backend, M: ModuleSnapshot<B>, S: ModuleStore>(
    module: &mut M,
    mut store: S,
    path: &Path,
) -> Result<ApplyResult>
where
    S::Error: std::fmt::Display,
{
    module
        .load_from(&mut store)
        .map_err(|e| SamError::CheckpointFormat {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn report(result: ApplyResult, path: PathBuf, allow_partial: bool) -> Result<LoadReport> {
    let mut missing: Vec<String> = result.missing.into_iter().map(|(p, _)| p).collect();
    missing.sort();
    let mut unexpected = result.unused;
    unexpected.sort();
    let mismatched: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
    let strict_fail = !allow_partial && (!missing.is_empty() || !unexpected.is_empty());
    if strict_fail || !mismatched.is_empty() {
        let mut text = String::new();
        let mut section = |title: &str, items: &[String]| {
            if !items.is_empty() {
                text.push_str(&format!("{title} ({}):\n", items.len()));
                for item in items {
                    text.push_str(&format!("  {item}\n"));
                }
            }
        };
        section("mis-shaped or unreadable tensors", &mismatched);
        if !allow_partial {
            section("missing from the checkpoint", &missing);
            section("unexpected in the checkpoint", &unexpected);
        }
        return Err(SamError::CheckpointMismatch { path, report: text });
    }
    Ok(LoadReport {
        applied: result.applied,
        missing,
        unexpected,
    })
}
