//! The run's data: datasets loaded from their specs, split by patient (official splits first,
//! then `splits.json`), and the pipeline datasets of each split.

use std::path::Path;

use echoone_data::split::SplitFile;
use echoone_data::{DatasetSpec, Mode, PipelineConfig, Sample, SegmentationDataset, Split};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};

/// Loads every dataset of `specs` and gives each case a split: the one recorded in `splits` when
/// it exists, else drawn; a drawn split comes back as the record to write into `splits` once the
/// run is accepted (nothing is written here).
pub fn load_samples(
    specs: &[String],
    config: &TrainConfig,
    splits: &Path,
) -> Result<(Vec<Sample>, Option<SplitFile>)> {
    let mut samples = Vec::new();
    for spec in specs {
        let loaded = DatasetSpec::parse(spec)?.load()?;
        if loaded.is_empty() {
            return Err(TrainError::Config(format!(
                "dataset {spec} holds no sample"
            )));
        }
        samples.extend(loaded);
    }
    let saved = splits.exists().then_some(splits);
    let record = echoone_data::split::assign(&mut samples, &config.split, saved)?;
    Ok((samples, saved.is_none().then_some(record)))
}

/// The samples of one split.
pub fn of_split(samples: &[Sample], split: Split) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| s.info.split == Some(split))
        .cloned()
        .collect()
}

/// The pipeline configuration of a run (model sizes and augmentation).
pub fn pipeline(config: &TrainConfig) -> PipelineConfig {
    PipelineConfig {
        image_size: config.model.input_size,
        low_res_size: config.model.low_res_size(),
        augment: config.augment,
    }
}

/// The training and validation datasets; an error naming the split when one is empty.
pub fn train_and_val(
    samples: &[Sample],
    config: &TrainConfig,
) -> Result<(Vec<Sample>, Vec<Sample>)> {
    let train = of_split(samples, Split::Train);
    let val = of_split(samples, Split::Val);
    for (name, part) in [("training", &train), ("validation", &val)] {
        if part.is_empty() {
            return Err(TrainError::Config(format!(
                "the {name} split is empty ({} samples in all): use more cases or other split \
                 fractions (val {}, test {})",
                samples.len(),
                config.split.val,
                config.split.test
            )));
        }
    }
    Ok((train, val))
}

/// The pipeline dataset of `samples` in `mode`.
pub fn dataset(samples: &[Sample], config: &TrainConfig, mode: Mode) -> SegmentationDataset {
    SegmentationDataset::new(samples, pipeline(config), mode, config.seed)
}
