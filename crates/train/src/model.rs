//! Building the model of a run: initialisation by seed, official SAM weights when given, and the
//! trainable/frozen split.

use std::path::Path;

use burn::tensor::backend::Backend;
use echoone::EchoOne;

use crate::config::{FreezePolicy, TrainConfig};
use crate::error::Result;

/// Whether the authors' frozen split applies under `policy` (SAM weights loaded or not).
pub fn freezes(policy: FreezePolicy, sam_loaded: bool) -> bool {
    match policy {
        FreezePolicy::Auto => sam_loaded,
        FreezePolicy::Authors => true,
        FreezePolicy::None => false,
    }
}

/// Initialises the model of `config` (seeded), loads SAM weights from `sam` when given, and
/// freezes per the configuration. Returns the model and a line saying what was done.
pub fn build<B: Backend>(
    config: &TrainConfig,
    sam: Option<&Path>,
    device: &B::Device,
) -> Result<(EchoOne<B>, String)> {
    B::seed(device, config.seed);
    let mut model = config.model.init::<B>(device)?;
    let mut note = String::from("random initialisation");
    if let Some(path) = sam {
        let (loaded, report) = model.load_sam_checkpoint(&config.model, path)?;
        model = loaded;
        note = format!(
            "SAM weights from {} ({} tensors)",
            path.display(),
            report.applied.len()
        );
    }
    Ok((freeze(model, config.freeze, sam.is_some(), &mut note), note))
}

/// Applies the frozen split of `policy` to `model`, noting it.
pub fn freeze<B: Backend>(
    model: EchoOne<B>,
    policy: FreezePolicy,
    sam_loaded: bool,
    note: &mut String,
) -> EchoOne<B> {
    if freezes(policy, sam_loaded) {
        note.push_str("; SAM's pre-trained parts frozen (authors' split)");
        model.freeze_as_authors()
    } else {
        note.push_str("; every parameter trains");
        model
    }
}
