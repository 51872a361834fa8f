//! Loading official SAM checkpoints (PyTorch `.pth` state dicts or safetensors) into burn modules.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
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

/// How much larger than its compressed bytes a deflated zip entry can be (deflate's limit).
const DEFLATE_RATIO: u64 = 1032;

/// The central directory may not be larger than this (a checkpoint has a few thousand entries).
const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;

fn le16(b: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as u64)
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Checks that every entry of a zip checkpoint (`torch.save`'s format) claims sizes the file can
/// hold, reading only its central directory: the zip reader allocates an entry's claimed size
/// before reading it, so a flipped size field would ask for gigabytes. Stored entries must be
/// as large as their bytes, deflated ones at most 1032 times larger, and every entry must lie
/// inside the file. Files that are not zips are left to their reader.
pub fn check_zip_entries(path: &Path) -> Result<()> {
    let io = |source| SamError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bad = |message: String| SamError::CheckpointFormat {
        path: path.to_path_buf(),
        message,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 4];
    if len < 22 || file.read_exact(&mut head).is_err() || head != *b"PK\x03\x04" {
        return Ok(());
    }
    let mut read_at = |at: u64, size: u64| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; size as usize];
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    };
    // The end of central directory record: in the last 64 KiB + 22 bytes (its comment).
    let tail_len = len.min(65_557);
    let tail = read_at(len - tail_len, tail_len)?;
    let Some(end) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Err(bad("a zip without its end of central directory".into()));
    };
    let eocd = &tail[end..];
    let mut cd_end = len - tail_len + end as u64;
    let (count, mut cd_size, mut cd_offset) = (
        le16(eocd, 10).unwrap_or(0),
        le32(eocd, 12).unwrap_or(u64::MAX),
        le32(eocd, 16).unwrap_or(u64::MAX),
    );
    // Zip64: the locator just before the record points at the zip64 end record.
    if (count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF) && end >= 20 {
        let locator = &tail[end - 20..end];
        if locator.starts_with(b"PK\x06\x07") {
            let at = le64(locator, 8).unwrap_or(u64::MAX);
            if at.checked_add(56).is_none_or(|e| e > cd_end) {
                return Err(bad(format!(
                    "the zip64 end record at {at} lies outside the file"
                )));
            }
            let record = read_at(at, 56)?;
            cd_size = le64(&record, 40).unwrap_or(u64::MAX);
            cd_offset = le64(&record, 48).unwrap_or(u64::MAX);
            cd_end = at;
        }
    }
    // The central directory starts at its recorded offset or, as the zip reader also accepts
    // (bytes before the archive), its recorded size before its end; it runs to the end record.
    // Like the zip reader, the end record's entry count and size are not trusted further.
    let mut starts_at = |at: u64| -> Result<bool> {
        Ok(at.checked_add(4).is_some_and(|e| e <= cd_end) && read_at(at, 4)? == b"PK\x01\x02")
    };
    let start = if starts_at(cd_offset)? {
        cd_offset
    } else if let Some(at) = cd_end.checked_sub(cd_size)
        && starts_at(at)?
    {
        at
    } else if cd_offset == cd_end {
        return Ok(());
    } else {
        return Err(bad(format!(
            "the zip's central directory is not where its end record says ({cd_size} bytes at {cd_offset})"
        )));
    };
    if cd_end - start > MAX_CENTRAL_DIRECTORY {
        return Err(bad(format!(
            "the zip's central directory is {} bytes",
            cd_end - start
        )));
    }
    let cd = read_at(start, cd_end - start)?;
    let mut at = 0usize;
    while cd.get(at..).is_some_and(|r| r.starts_with(b"PK\x01\x02")) {
        let field = |off: usize, f: fn(&[u8], usize) -> Option<u64>| f(&cd, at + off);
        let header = (|| {
            Some((
                field(10, le16)?,
                field(20, le32)?,
                field(24, le32)?,
                field(28, le16)? as usize,
                field(30, le16)? as usize,
                field(32, le16)? as usize,
                field(42, le32)?,
            ))
        })();
        let Some((method, mut packed, mut size, name_len, extra_len, comment_len, mut offset)) =
            header
        else {
            return Err(bad(format!(
                "the zip's central directory is cut at byte {at}"
            )));
        };
        let name_at = at + 46;
        let extra_at = name_at + name_len;
        let next = extra_at + extra_len + comment_len;
        let Some(name) = cd.get(name_at..extra_at) else {
            return Err(bad(format!(
                "the zip's central directory is cut at byte {at}"
            )));
        };
        let name = String::from_utf8_lossy(name).into_owned();
        // Zip64 sizes and offset, in this order, for the fields that hold 0xFFFFFFFF.
        let mut extra = cd
            .get(extra_at..(extra_at + extra_len).min(cd.len()))
            .unwrap_or(&[]);
        while extra.len() >= 4 {
            let (id, n) = (
                le16(extra, 0).unwrap_or(0),
                le16(extra, 2).unwrap_or(0) as usize,
            );
            let body = extra.get(4..4 + n).unwrap_or(&[]);
            if id == 1 {
                let mut k = 0;
                for value in [&mut size, &mut packed, &mut offset] {
                    if *value == 0xFFFF_FFFF {
                        *value = le64(body, k).unwrap_or(u64::MAX);
                        k += 8;
                    }
                }
            }
            extra = extra.get(4 + n..).unwrap_or(&[]);
        }
        let limit = if method == 0 {
            packed
        } else {
            packed.saturating_mul(DEFLATE_RATIO)
        };
        if packed > len || offset > len || size > limit {
            return Err(bad(format!(
                "zip entry `{name}` claims {size} bytes ({packed} stored at {offset}) in a file of {len} bytes"
            )));
        }
        at = next;
    }
    Ok(())
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
    if format == CheckpointFormat::Pytorch {
        check_zip_entries(path)?;
    }
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
