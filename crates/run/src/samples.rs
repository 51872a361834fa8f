//! The run's samples and the split of each case. Training loads its datasets and draws the
//! split once (official splits first, then `splits.json`); the commands that use a checkpoint
//! (`eval`, `ef`, `ablate`) give each case the split the run recorded, whatever data they are
//! given, and a case the run never saw is [`Split::External`], never one of the run's splits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use echoone_data::split::SplitFile;
use echoone_data::{DatasetSpec, Mode, PipelineConfig, Sample, SegmentationDataset, Split};

use crate::checkpoint::Checkpoint;
use crate::config::TrainConfig;
use crate::error::{Result, RunError};

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
            return Err(RunError::Config(format!("dataset {spec} holds no sample")));
        }
        samples.extend(loaded);
    }
    let saved = splits.exists().then_some(splits);
    let record = echoone_data::split::assign(&mut samples, &config.split, saved)?;
    Ok((samples, saved.is_none().then_some(record)))
}

/// The samples of one split.
pub fn in_split(samples: &[Sample], split: Split) -> Vec<Sample> {
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

/// The pipeline dataset of `samples` in `mode`.
pub fn dataset(samples: &[Sample], config: &TrainConfig, mode: Mode) -> SegmentationDataset {
    SegmentationDataset::new(samples, pipeline(config), mode, config.seed)
}

/// Loads the samples of `specs`, or the run's own datasets when `specs` is empty, each with
/// the split the checkpoint's run gave its case ([`Split::External`] for a case the run never
/// saw). The run's record is its `splits.json`; a file of the first version (drawn cases only)
/// is completed from the run's own data, and a checkpoint outside its run folder gets the split
/// its configuration draws over its own data, as training drew it.
pub fn run_samples(ckpt: &Checkpoint, specs: &[String]) -> Result<Vec<Sample>> {
    let own = specs.is_empty();
    let specs = if own { &ckpt.config.datasets } else { specs };
    let mut samples = load(specs)?;
    let (record, path) = run_record(ckpt, own.then_some(samples.as_slice()))?;
    record.apply(&mut samples, &path)?;
    Ok(samples)
}

/// The samples of `split` (all of them for `None`); an error that says how the given cases
/// fall into the run's splits when none is in `split`, so that a case the run trained on is
/// never scored as test.
pub fn of_split(samples: Vec<Sample>, split: Option<Split>) -> Result<Vec<Sample>> {
    let Some(split) = split else {
        return Ok(samples);
    };
    let counts = describe(samples.iter().map(|s| s.info.split));
    let kept: Vec<Sample> = samples
        .into_iter()
        .filter(|s| s.info.split == Some(split))
        .collect();
    if kept.is_empty() {
        return Err(RunError::Config(format!(
            "none of the images given is in the run's {split} split ({counts})"
        )));
    }
    Ok(kept)
}

/// The samples to evaluate: [`run_samples`] of `specs`, then those of `split`
/// ([`of_split`]).
pub fn select_samples(
    ckpt: &Checkpoint,
    specs: &[String],
    split: Option<Split>,
) -> Result<Vec<Sample>> {
    of_split(run_samples(ckpt, specs)?, split)
}

/// How many images there are per split, from each image's split: `3 train, 2 external`.
pub fn describe(splits: impl IntoIterator<Item = Option<Split>>) -> String {
    let mut counts: BTreeMap<Option<Split>, usize> = BTreeMap::new();
    for split in splits {
        *counts.entry(split).or_insert(0) += 1;
    }
    if counts.is_empty() {
        return "no image".into();
    }
    counts
        .iter()
        .map(|(split, n)| format!("{n} {}", split.map_or("unassigned", |s| s.name())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run's complete record of its cases and the file it stands for. `own` is the run's own
/// data when the caller has loaded it already.
fn run_record(ckpt: &Checkpoint, own: Option<&[Sample]>) -> Result<(SplitFile, PathBuf)> {
    let config = &ckpt.config;
    let own_data = || -> Result<Vec<Sample>> {
        match own {
            Some(samples) => Ok(samples.to_vec()),
            None => load(&config.datasets),
        }
    };
    match experiment_of(&ckpt.dir).map(|e| e.join("splits.json")) {
        Some(path) if path.is_file() => {
            let file = SplitFile::read(&path)?;
            let file = if file.is_complete() {
                file
            } else {
                file.completed(&own_data()?, &path)?
            };
            Ok((file, path))
        }
        _ => {
            // No record beside the checkpoint: the draw is a pure function of the plan and the
            // cases, so drawing over the run's own data gives the split training used.
            let mut samples = own_data()?;
            let file = echoone_data::split::assign(&mut samples, &config.split, None)?;
            Ok((file, ckpt.dir.join("config.json")))
        }
    }
}

/// Every sample of `specs`.
fn load(specs: &[String]) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for spec in specs {
        samples.extend(DatasetSpec::parse(spec)?.load()?);
    }
    Ok(samples)
}

/// The experiment folder holding checkpoint folder `dir` (`EXP/checkpoints/NAME`).
fn experiment_of(dir: &Path) -> Option<PathBuf> {
    let exp = dir.parent()?.parent()?;
    exp.join("config.json").is_file().then(|| exp.to_path_buf())
}
