//! `echoone`: train, evaluate, predict and ablate EchoONE on the backend chosen at build time.

mod ablate_cmd;
mod backend;
#[cfg(feature = "cuda")]
mod cuda_setup;
mod ef_cmd;
mod eval_cmd;
mod predict_cmd;
mod train_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::{Parser, Subcommand};
use echoone_train::{RunBackend, stop};

use crate::backend::{Devices, Job};

/// EchoONE: multi-plane echocardiography segmentation.
#[derive(Parser, Debug)]
#[command(name = "echoone", version, about)]
struct Cli {
    /// Backend (compiled in with the cargo feature of the same name): flex, ndarray, tch, cuda
    /// (cuda-unfused: cuda without kernel fusion, for comparison). Default: the one the run
    /// recorded (eval, predict, ef, and train or ablate with --resume), else the first compiled
    /// in (flex in a default build).
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Device: cpu, cuda:N or N (GPU backends; tch defaults to cpu). Default: the run's (with
    /// its backend), else cpu.
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model (no arguments: the small model on the built-in synthetic echoes).
    Train(train_cmd::TrainArgs),
    /// Train and compare module ablations (default: the paper's LFFA x PC-Mask grid).
    Ablate(ablate_cmd::AblateArgs),
    /// Evaluate a checkpoint: Dice, IoU, HD95 per structure, plane and centre.
    Eval(eval_cmd::EvalArgs),
    /// Segment images, NIfTI volumes or videos with a checkpoint.
    Predict(predict_cmd::PredictArgs),
    /// LV volumes and ejection fraction per case: stated, from the masks, from predictions.
    Ef(ef_cmd::EfArgs),
}

impl Command {
    /// The run whose recorded backend the command takes by default: the checkpoint of eval,
    /// predict and ef, the run that train or ablate `--resume` continue (the newest one when
    /// `--out` is not given, which this settles).
    fn run_folder(&mut self) -> Result<Option<PathBuf>> {
        let resumed = |out: &mut Option<PathBuf>, prefix| -> Result<Option<PathBuf>> {
            if out.is_none() {
                *out = Some(train_cmd::newest_out(prefix)?);
            }
            Ok(out.clone())
        };
        match self {
            Command::Train(args) if args.resume => resumed(&mut args.out, "train"),
            Command::Ablate(args) if args.train.resume => resumed(&mut args.train.out, "ablate"),
            Command::Train(_) | Command::Ablate(_) => Ok(None),
            Command::Eval(args) => Ok(Some(args.checkpoint.clone())),
            Command::Predict(args) => Ok(Some(args.checkpoint.clone())),
            Command::Ef(args) => Ok(args.checkpoint.clone()),
        }
    }

    /// Whether the command was asked to print nothing but errors.
    fn quiet(&self) -> bool {
        match self {
            Command::Train(args) => args.quiet,
            Command::Ablate(args) => args.train.quiet,
            Command::Eval(_) | Command::Predict(_) | Command::Ef(_) => false,
        }
    }

    /// The `--devices` of the training commands (empty for the others).
    fn devices(&self) -> Vec<usize> {
        match self {
            Command::Train(args) => args.devices.clone(),
            Command::Ablate(args) => args.train.devices.clone(),
            Command::Eval(_) | Command::Predict(_) | Command::Ef(_) => Vec::new(),
        }
    }
}

/// A command with where its backend came from, said when it starts (unless quiet).
struct Chosen {
    command: Command,
    why: String,
}

impl Job for Chosen {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        if let Some(named) = devices.named.as_ref().filter(|_| !self.command.quiet()) {
            println!(
                "backend {}, device {} ({})",
                named.backend, named.device, self.why
            );
        }
        match self.command {
            Command::Train(args) => args.run::<B>(devices),
            Command::Eval(args) => args.run::<B>(devices),
            Command::Ablate(args) => args.run::<B>(devices),
            Command::Predict(args) => args.run::<B>(devices),
            Command::Ef(args) => args.run::<B>(devices),
        }
    }
}

/// The backend and device to run on, and where they come from: `--backend` (with `--device`)
/// when given; else the backend and device the run recorded (`backend.json`), which must be
/// compiled in; else the default backend.
fn choose_backend(
    cli: &Cli,
    run: Option<&Path>,
    devices: &[usize],
) -> Result<(String, Option<String>, String)> {
    if let Some(name) = &cli.backend {
        return Ok((name.clone(), cli.device.clone(), "--backend".into()));
    }
    let recorded = match run {
        Some(run) => RunBackend::of_run(run)?.map(|r| (run, r)),
        None => None,
    };
    let Some((run, recorded)) = recorded else {
        return Ok((
            backend::DEFAULT.into(),
            cli.device.clone(),
            "default".into(),
        ));
    };
    if !backend::compiled().contains(&recorded.backend.as_str()) {
        let feature = recorded.backend.trim_end_matches("-unfused");
        bail!(
            "{} was trained with --backend {}, which this binary lacks (compiled: {}): run it \
             through `cargo xtask`, which builds with --features {feature}, or pass --backend {} \
             to use this one",
            run.display(),
            recorded.backend,
            backend::compiled().join(", "),
            backend::DEFAULT
        );
    }
    // The run's main device unless another is named (`--devices` lists every one).
    let device = match (&cli.device, devices) {
        (Some(d), _) => Some(d.clone()),
        (None, []) => Some(recorded.device.clone()),
        (None, _) => None,
    };
    let why = format!("recorded by {}", run.display());
    Ok((recorded.backend, device, why))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the command on its backend.
fn run() -> Result<ExitCode> {
    let mut cli = Cli::parse();
    let devices = cli.command.devices();
    // Training stops at a step boundary on Ctrl-C or SIGTERM, saving that step; the other
    // commands keep the signals' usual meaning.
    let training = matches!(cli.command, Command::Train(_) | Command::Ablate(_));
    if training {
        stop::on_signals().map_err(|e| anyhow::anyhow!("cannot catch Ctrl-C and SIGTERM: {e}"))?;
    }
    let run = cli.command.run_folder()?;
    let (name, device, why) = choose_backend(&cli, run.as_deref(), &devices)?;
    let chosen = Chosen {
        command: cli.command,
        why,
    };
    backend::dispatch(&name, device.as_deref(), &devices, chosen)?;
    Ok(if stop::requested_by_signal() {
        ExitCode::from(stop::EXIT_STATUS)
    } else {
        ExitCode::SUCCESS
    })
}
