//! `echoone`: one command for EchoONE. Train, evaluate, predict, measure EF and ablate on the
//! backend chosen at build time (cargo feature); synthesise, inspect and export datasets, run
//! official SAM, score label maps and inspect EchoONE checkpoints on the CPU.

mod backend;
mod commands;
#[cfg(feature = "cuda")]
mod cuda_setup;
mod processes;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::{CommandFactory, Parser};
use echoone_run::RunBackend;
use echoone_train::stop;

use crate::backend::{Devices, Job};
use crate::commands::{BackendCommand, Command, train};

/// EchoONE: multi-plane echocardiography segmentation.
#[derive(Parser, Debug)]
#[command(name = "echoone", version, about, after_help = commands::EXAMPLES)]
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

impl BackendCommand {
    /// The run whose recorded backend the command takes by default: the checkpoint of eval,
    /// predict and ef, the run that train or ablate `--resume` continue (the newest one when
    /// `--out` is not given, which this settles).
    fn run_folder(&mut self) -> Result<Option<PathBuf>> {
        let resumed = |out: &mut Option<PathBuf>, prefix| -> Result<Option<PathBuf>> {
            if out.is_none() {
                *out = Some(train::newest_out(prefix)?);
            }
            Ok(out.clone())
        };
        match self {
            BackendCommand::Train(args) if args.resume => resumed(&mut args.out, "train"),
            BackendCommand::Ablate(args) if args.train.resume => {
                resumed(&mut args.train.out, "ablate")
            }
            BackendCommand::Train(_) | BackendCommand::Ablate(_) => Ok(None),
            BackendCommand::Eval(args) => Ok(Some(args.run.clone())),
            BackendCommand::Predict(args) => Ok(Some(args.run.clone())),
            BackendCommand::Ef(args) => Ok(args.run.clone()),
        }
    }

    /// Whether the command was asked to print nothing but errors.
    fn quiet(&self) -> bool {
        match self {
            BackendCommand::Train(args) => args.quiet,
            BackendCommand::Ablate(args) => args.train.quiet,
            BackendCommand::Eval(_) | BackendCommand::Predict(_) | BackendCommand::Ef(_) => false,
        }
    }

    /// The `--devices` of the training commands (empty for the others).
    fn devices(&self) -> Vec<usize> {
        match self {
            BackendCommand::Train(args) => args.devices.clone(),
            BackendCommand::Ablate(args) => args.train.devices.clone(),
            BackendCommand::Eval(_) | BackendCommand::Predict(_) | BackendCommand::Ef(_) => {
                Vec::new()
            }
        }
    }
}

/// A command with where its backend came from, said when it starts (unless quiet).
struct Chosen {
    command: BackendCommand,
    why: String,
}

impl Job for Chosen {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let quiet = self.command.quiet() || processes::follower();
        if let Some(named) = devices.named.as_ref().filter(|_| !quiet) {
            println!(
                "backend {}, device {} ({})",
                named.backend, named.device, self.why
            );
        }
        match self.command {
            BackendCommand::Train(args) => args.run::<B>(devices),
            BackendCommand::Eval(args) => args.run::<B>(devices),
            BackendCommand::Ablate(args) => args.run::<B>(devices),
            BackendCommand::Predict(args) => args.run::<B>(devices),
            BackendCommand::Ef(args) => args.run::<B>(devices),
        }
    }
}

/// The backend and device to run on, and where they come from: `--backend` (with `--device`)
/// when given; else the backend and device the run recorded (`backend.json`), which must be
/// compiled in; else the default backend.
fn choose_backend(
    cli: &Flags,
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
    // Before any thread starts: freed tensors are reused in place (docs/benchmarks.md), unless
    // ECHOONE_HEAP=default asks for glibc's default (memory given back after every peak).
    echoone_kernels::heap::keep_freed_memory_unless_opted_out();
    match run() {
        Ok(code) => {
            processes::finish();
            code
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            // With other processes, end them too: they would wait for this one forever.
            processes::abort(1);
            ExitCode::FAILURE
        }
    }
}

/// The global flags: where the EchoONE commands run.
struct Flags {
    backend: Option<String>,
    device: Option<String>,
}

/// Parses the command line and runs the command: the tools at once on the CPU, the EchoONE
/// commands on their backend.
fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let flags = Flags {
        backend: cli.backend,
        device: cli.device,
    };
    let tool = |name: &str| -> Result<()> {
        if flags.backend.is_some() || flags.device.is_some() {
            bail!(
                "`echoone {name}` runs on the CPU (burn-flex): it takes no --backend or --device"
            );
        }
        Ok(())
    };
    let command = match cli.command {
        Command::Backend(command) => command,
        Command::Data(args) => {
            return tool("data")
                .and_then(|()| args.run())
                .map(|()| ExitCode::SUCCESS);
        }
        Command::Sam(args) => {
            return tool("sam")
                .and_then(|()| commands::sam::run(args))
                .map(|()| ExitCode::SUCCESS);
        }
        Command::Metrics(args) => {
            return tool("metrics")
                .and_then(|()| commands::metrics::run(args))
                .map(|()| ExitCode::SUCCESS);
        }
        Command::Model(args) => {
            return tool("model")
                .and_then(|()| args.run())
                .map(|()| ExitCode::SUCCESS);
        }
        Command::Completions(args) => {
            commands::manual::completions(&args, Cli::command());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man(args) => {
            return commands::manual::man(&args, Cli::command()).map(|()| ExitCode::SUCCESS);
        }
    };
    on_backend(command, &flags)
}

/// Runs one of the EchoONE commands on the backend it is given or its run recorded.
fn on_backend(mut command: BackendCommand, flags: &Flags) -> Result<ExitCode> {
    let devices = command.devices();
    // Training stops at a step boundary on Ctrl-C or SIGTERM, saving that step; the other
    // commands keep the signals' usual meaning.
    let training = matches!(
        command,
        BackendCommand::Train(_) | BackendCommand::Ablate(_)
    );
    if training {
        stop::on_signals().map_err(|e| anyhow::anyhow!("cannot catch Ctrl-C and SIGTERM: {e}"))?;
    }
    processes::start()?;
    if processes::world().is_some() && !matches!(command, BackendCommand::Train(_)) {
        bail!(
            "only `echoone train` runs across processes so far: run this command as one process              (docs/distributed.md)"
        );
    }
    let run = command.run_folder()?;
    let (name, device, why) = choose_backend(flags, run.as_deref(), &devices)?;
    let chosen = Chosen { command, why };
    backend::dispatch(&name, device.as_deref(), &devices, chosen)?;
    Ok(if stop::requested_by_signal() {
        ExitCode::from(stop::EXIT_STATUS)
    } else {
        ExitCode::SUCCESS
    })
}
