//! `echoone train`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use echoone_run::TrainConfig;
use echoone_train::{RunOptions, train_on};

use crate::backend::{Devices, Job};
use crate::processes;

/// Examples shown under `echoone train --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone train                                  the small model on the built-in synthetic echoes
  echoone train --dataset camus:/data/CAMUS --variant vit_b --sam-weights sam_vit_b_01ec64.pth \\
      --backend cuda --out runs/camus
  echoone train --resume --out runs/camus --epochs 100   continue a run, with more epochs";

/// Arguments of `echoone train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training configuration (JSON, as the `config.json` of a run). Default: the small model
    /// on synthetic data (CPU-sized), or the authors' recipe with `--variant vit_b`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Model preset when no --config is given: small or vit_b.
    #[arg(long)]
    pub variant: Option<String>,
    /// Dataset(s): synthetic[:cases=N,seed=S], camus:/path, echonet:/path, hmcqu:/path,
    /// png:/path. Repeat to train on several.
    #[arg(long = "dataset")]
    pub datasets: Vec<String>,
    /// Official SAM checkpoint (.pth or .safetensors) to start from.
    #[arg(long)]
    pub sam_weights: Option<PathBuf>,
    /// Experiment folder (default: runs/train-DATE-TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out (default: the newest runs/train-* folder) from its latest
    /// checkpoint (at the next step when it was written mid-epoch); its saved configuration is
    /// used, only --epochs and --checkpoint-every may change.
    #[arg(long)]
    pub resume: bool,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Base learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of the weights, item order, augmentation and clicks.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of cases drawn for validation where a dataset has no official split
    /// [default: 0.1].
    #[arg(long)]
    pub val: Option<f64>,
    /// Fraction of cases drawn for test where a dataset has no official split [default: 0.2].
    #[arg(long)]
    pub test: Option<f64>,
    /// Seed of the drawn split (apart from --seed, so that one split serves several training
    /// seeds) [default: 1234]. The run records every case's split in `splits.json`, which wins
    /// ever after.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Threads preparing samples.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Model replicas each batch is split across on the CPU when --devices is not given.
    #[arg(long)]
    pub replicas: Option<usize>,
    /// Limit on steps per epoch (0: all).
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Also save the latest checkpoint every N optimiser steps inside an epoch (0: at the end
    /// of each epoch only), so that a crash costs at most N steps; --resume continues at the
    /// next step, with the same result as an uninterrupted run.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Data-parallel training on several devices, comma-separated indices (`0,1`), instead of
    /// --device: GPUs with tch and cuda; with flex and ndarray, worker threads sharing the one
    /// CPU device (as the configuration's `replicas` does when --devices is not given). Each
    /// batch of --batch-size items is split across them (the effective batch stays
    /// --batch-size); the first holds the model.
    #[arg(long, value_delimiter = ',')]
    pub devices: Vec<usize>,
    /// Stop after this many epochs, as if killed (for testing resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// EVENT or EVENT:N: wait right after the N-th (default 1st) EVENT this process writes to
    /// the run log, for the first Ctrl-C or SIGTERM, or to be killed once a stop was asked for
    /// (for killing or stopping at an exact moment in resume tests).
    #[arg(long, hide = true, value_name = "EVENT[:N]")]
    pub pause_at: Option<String>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// A status line instead of burn-train's terminal dashboard (shown when stdout and stderr
    /// are terminals).
    #[arg(long)]
    pub no_dashboard: bool,
}

/// The configuration the arguments ask for.
pub fn resolve_config(args: &TrainArgs) -> Result<TrainConfig> {
    let saved = args.out.as_ref().map(|o| o.join("config.json"));
    let mut config = match (&args.config, saved.filter(|p| args.resume && p.is_file())) {
        (_, Some(saved)) => TrainConfig::load_json(&saved)?,
        (Some(path), None) => TrainConfig::load_json(path)?,
        (None, None) => match args.variant.as_deref() {
            None | Some("small") => TrainConfig::cpu_default(),
            Some("vit_b") => TrainConfig::authors(),
            Some(other) => bail!("--variant {other}: expected small or vit_b"),
        },
    };
    if let Some(v) = args.checkpoint_every {
        config.checkpoint_every = v;
    }
    if args.resume {
        if let Some(e) = args.epochs {
            config.epochs = e;
        }
        return Ok(config);
    }
    if !args.datasets.is_empty() {
        config.datasets = args.datasets.clone();
    }
    if let Some(v) = args.epochs {
        config.epochs = v;
    }
    if let Some(v) = args.batch_size {
        config.batch_size = v;
    }
    if let Some(v) = args.lr {
        config.lr = v;
    }
    if let Some(v) = args.seed {
        config.seed = v;
    }
    if let Some(v) = args.val {
        config.split.val = v;
    }
    if let Some(v) = args.test {
        config.split.test = v;
    }
    if let Some(v) = args.split_seed {
        config.split.seed = v;
    }
    if let Some(v) = args.workers {
        config.workers = v;
    }
    if let Some(v) = args.replicas {
        config.replicas = v;
    }
    if let Some(v) = args.steps_per_epoch {
        config.steps_per_epoch = v;
    }
    config.validate()?;
    Ok(config)
}

/// `EVENT[:N]` of `--pause-at`: the event and its occurrence (from 1).
fn parse_pause(spec: &str) -> Result<(&str, usize)> {
    match spec.split_once(':') {
        None => Ok((spec, 1)),
        Some((event, n)) => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok((event, n)),
            _ => bail!("--pause-at {spec}: expected EVENT or EVENT:N with N from 1"),
        },
    }
}

/// What to say when a run (or an ablation, in `dir`) stopped before its last epoch, with
/// `epochs_done` epochs complete (its latest checkpoint may hold steps of the next).
pub fn stopped_note(dir: &Path, epochs_done: usize) -> String {
    format!(
        "stopped (epochs complete: {epochs_done}); continue from the latest checkpoint with \
         --resume --out {}",
        dir.display()
    )
}

/// The newest experiment folder [`default_out`] made with `prefix`: what `--resume` without
/// `--out` continues.
pub fn newest_out(prefix: &str) -> Result<PathBuf> {
    let runs = Path::new("runs");
    let newest = std::fs::read_dir(runs)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| is_stamped(n, prefix)))
        .max();
    let Some(dir) = newest else {
        bail!(
            "--resume without --out continues the newest {}/{prefix}-* folder, and there is none: \
             give --out DIR, the folder of the run to continue",
            runs.display()
        );
    };
    eprintln!("resuming {}", dir.display());
    Ok(dir)
}

/// Whether `name` is `<prefix>-YYYYMMDD-HHMMSS`, as [`default_out`] names folders.
fn is_stamped(name: &std::ffi::OsStr, prefix: &str) -> bool {
    let stamp = name
        .to_str()
        .and_then(|n| n.strip_prefix(prefix)?.strip_prefix('-'));
    stamp.is_some_and(|s| {
        s.len() == 15
            && s.char_indices()
                .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
    })
}

/// The default experiment folder: `runs/train-YYYYMMDD-HHMMSS` (UTC).
pub fn default_out(prefix: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    PathBuf::from("runs").join(format!(
        "{prefix}-{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    ))
}

impl Job for TrainArgs {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let mut args = self;
        if args.resume && args.out.is_none() {
            args.out = Some(newest_out("train")?);
        }
        let config = resolve_config(&args)?;
        if let Some(spec) = &args.pause_at {
            let (event, nth) = parse_pause(spec)?;
            echoone_train::monitor::events::pause_at(event, nth);
        }
        let out = args.out.clone().unwrap_or_else(|| default_out("train"));
        let collective = processes::world();
        // Every process trains into process 0's folder (a default name has the time in it).
        let out = match &collective {
            Some(world) => {
                let Some(text) = out.to_str() else {
                    bail!("{}: under MPI, --out must be valid UTF-8", out.display());
                };
                PathBuf::from(world.agree(text))
            }
            None => out,
        };
        let options = RunOptions {
            out: out.clone(),
            sam_weights: args.sam_weights.clone(),
            resume: args.resume,
            stop_after: args.stop_after,
            quiet: args.quiet,
            dashboard: !args.no_dashboard,
            fixed_shapes: devices.fixed_shapes,
            kernels: devices.kernels,
            backend: devices.named.clone(),
            collective,
        };
        let on = devices.training(config.replicas);
        let summary = train_on::<B>(config, &options, &on)
            .with_context(|| format!("training into {}", out.display()))?;
        if processes::follower() {
            return Ok(());
        }
        if !summary.complete {
            println!("{}", stopped_note(&summary.dir, summary.history.len()));
        } else if let Some((dice, epoch)) = summary.best {
            println!(
                "best mean validation Dice {dice:.4} (epoch {epoch}) in {:.0} s; artefacts in {}",
                summary.seconds,
                summary.dir.display()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{is_stamped, parse_pause};

    #[test]
    fn pause_names_an_event_and_its_occurrence() {
        assert_eq!(parse_pause("step_done").unwrap(), ("step_done", 1));
        assert_eq!(
            parse_pause("checkpoint_swapping:3").unwrap(),
            ("checkpoint_swapping", 3)
        );
        assert!(parse_pause("step_done:0").is_err());
        assert!(parse_pause("step_done:x").is_err());
    }

    #[test]
    fn resume_looks_only_at_default_folder_names() {
        let stamped = |name: &str, prefix| is_stamped(name.as_ref(), prefix);
        assert!(stamped("train-20261201-000000", "train"));
        assert!(stamped("ablate-20261201-235959", "ablate"));
        assert!(!stamped("train-mine", "train"));
        assert!(!stamped("train-20261201_000000", "train"));
        assert!(!stamped("ablate-20261201-000000", "train"));
        assert!(!stamped("train-20261201-0000001", "train"));
    }
}
