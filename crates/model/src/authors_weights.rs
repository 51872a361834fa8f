//! Loading a state dict saved by the authors' PyTorch code (`torch.save(model.state_dict())`)
//! with no conversion, and recognising its architecture from the tensor shapes.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::backend::Backend;
use burn_store::pytorch::PytorchReader;
use echoone_sam::inspect::parameters;
use echoone_sam::official_weights::check_zip_entries;
use echoone_sam::{LoadOptions, LoadReport, load_checkpoint};

use crate::config::EchoOneConfig;
use crate::error::{EchoOneError, Result};
use crate::keys::authors_key_remap;
use crate::model::EchoOne;

/// Checkpoint tensors that have no counterpart in burn and are skipped: PyTorch's BatchNorm
/// step counters.
fn tolerated(key: &str) -> bool {
    key.ends_with("num_batches_tracked")
}

fn checkpoint_error(path: &Path, message: String) -> EchoOneError {
    EchoOneError::Checkpoint {
        path: path.to_path_buf(),
        message,
    }
}

impl<B: Backend> EchoOne<B> {
    /// Loads a checkpoint of the authors' EchoONE (their key names, mapped with
    /// [`authors_key_remap`]) into this model. Every model tensor must be present and every
    /// checkpoint tensor used, except PyTorch's `num_batches_tracked` counters; mis-shaped,
    /// missing or unexpected tensors are an error that lists them.
    pub fn load_authors_checkpoint(
        mut self,
        config: &EchoOneConfig,
        path: &Path,
    ) -> Result<(Self, LoadReport)> {
        let options = LoadOptions {
            allow_partial: true,
            extra_remap: authors_key_remap(config),
        };
        let mut report = load_checkpoint(&mut self, path, &options)?;
        report.unexpected.retain(|k| !tolerated(k));
        if !report.missing.is_empty() || !report.unexpected.is_empty() {
            let list = |title: &str, items: &[String]| {
                if items.is_empty() {
                    String::new()
                } else {
                    format!("{title} ({}):\n  {}\n", items.len(), items.join("\n  "))
                }
            };
            return Err(checkpoint_error(
                path,
                format!(
                    "not an EchoONE checkpoint of this configuration\n{}{}",
                    list("missing from the checkpoint", &report.missing),
                    list("unexpected in the checkpoint", &report.unexpected)
                ),
            ));
        }
        Ok((self, report))
    }
}

/// The name and shape of every tensor of a PyTorch checkpoint, read without loading the data.
pub fn checkpoint_shapes(path: &Path) -> Result<BTreeMap<String, Vec<usize>>> {
    // Entry sizes the file cannot hold are refused before the zip reader allocates them.
    check_zip_entries(path)?;
    let reader = PytorchReader::new(path)
        .map_err(|e| checkpoint_error(path, format!("not a readable PyTorch state dict: {e}")))?;
    Ok(reader
        .tensors()
        .iter()
        .map(|(key, tensor)| (key.clone(), tensor.shape.to_vec()))
        .collect())
}

/// Applies the `(regex, replacement)` pairs of [`authors_key_remap`] to one key, in order.
fn remap_key(pairs: &[(regex::Regex, String)], key: &str) -> String {
    pairs.iter().fold(key.to_string(), |k, (re, to)| {
        re.replace_all(&k, to.as_str()).into_owned()
    })
}

/// The differences between a checkpoint's shapes (authors' names) and the model `config`
/// builds (parameters are not materialised); empty when the checkpoint fits.
pub fn shape_mismatches<B: Backend>(
    config: &EchoOneConfig,
    shapes: &BTreeMap<String, Vec<usize>>,
    device: &B::Device,
) -> Result<Vec<String>> {
    let model = config.init::<B>(device)?;
    let mut ours: BTreeMap<String, Vec<usize>> = parameters(&model)
        .into_iter()
        .map(|p| {
            let shape = p.torch_shape();
            (p.path, shape)
        })
        .collect();
    let pairs = authors_key_remap(config)
        .into_iter()
        .map(|(from, to)| {
            regex::Regex::new(&from)
                .map(|re| (re, to))
                .map_err(|e| EchoOneError::Config(format!("key remapping `{from}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut problems = Vec::new();
    for (key, shape) in shapes.iter().filter(|(k, _)| !tolerated(k)) {
        match ours.remove(&remap_key(&pairs, key)) {
            None => problems.push(format!("unexpected {key} {shape:?}")),
            Some(expected) if &expected != shape => {
                problems.push(format!("{key}: {shape:?}, the model has {expected:?}"))
            }
            Some(_) => {}
        }
    }
    problems.extend(ours.keys().map(|k| format!("missing {k}")));
    Ok(problems)
}

/// Recognises which preset (`vit_b` or `small`, with the toggles the keys reveal: PC-Mask,
/// residual CNN branch, fusion, decoder depth) a checkpoint of the authors' names is.
pub fn recognise_config<B: Backend>(
    shapes: &BTreeMap<String, Vec<usize>>,
    device: &B::Device,
) -> Result<(String, EchoOneConfig)> {
    let has = |part: &str| shapes.keys().any(|k| k.contains(part));
    let depth = shapes
        .keys()
        .filter_map(|k| k.strip_prefix("mask_decoder.transformer.layers."))
        .filter_map(|rest| rest.split('.').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |i| i + 1);
    let mut tried = Vec::new();
    for (name, preset) in [
        ("vit_b", EchoOneConfig::vit_b()),
        ("small", EchoOneConfig::small()),
    ] {
        let config = preset
            .with_pc_mask(has("cls_sim_avg_label"))
            .with_residual_cnn(has("cnn_embed.inc.residual"))
            .with_fusion(has("neck_down_sample"))
            .with_decoder_depth(depth);
        if config.validate().is_err() {
            continue;
        }
        let problems = shape_mismatches::<B>(&config, shapes, device)?;
        if problems.is_empty() {
            return Ok((name.to_string(), config));
        }
        let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
        tried.push(format!(
            "{name}: {} differences, e.g. {}",
            problems.len(),
            shown.join("; ")
        ));
    }
    Err(EchoOneError::Config(format!(
        "the checkpoint matches no preset (give --variant or --config):\n  {}",
        tried.join("\n  ")
    )))
}
