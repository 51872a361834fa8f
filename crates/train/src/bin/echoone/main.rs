//! `echoone`: train, evaluate, predict and ablate EchoONE on the backend chosen at build time.

mod ablate_cmd;
mod backend;
#[cfg(feature = "cuda")]
mod cuda_setup;
mod ef_cmd;
mod eval_cmd;
mod predict_cmd;
mod train_cmd;

use std::process::ExitCode;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::{Parser, Subcommand};
use echoone_train::stop;

use crate::backend::{Devices, Job};

/// EchoONE: multi-plane echocardiography segmentation.
#[derive(Parser, Debug)]
#[command(name = "echoone", version, about)]
struct Cli {
    /// Backend (compiled in with the cargo feature of the same name): flex, ndarray, tch, cuda
    /// (cuda-unfused: cuda without kernel fusion, for comparison).
    #[arg(long, global = true, default_value = backend::DEFAULT)]
    backend: String,
    /// Device: cpu, cuda:N or N (GPU backends; tch defaults to cpu) [default: cpu].
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
    /// The `--devices` of the training commands (empty for the others).
    fn devices(&self) -> Vec<usize> {
        match self {
            Command::Train(args) => args.devices.clone(),
            Command::Ablate(args) => args.train.devices.clone(),
            Command::Eval(_) | Command::Predict(_) | Command::Ef(_) => Vec::new(),
        }
    }
}

impl Job for Command {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        match self {
            Command::Train(args) => args.run::<B>(devices),
            Command::Eval(args) => args.run::<B>(devices),
            Command::Ablate(args) => args.run::<B>(devices),
            Command::Predict(args) => args.run::<B>(devices),
            Command::Ef(args) => args.run::<B>(devices),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let devices = cli.command.devices();
    // Training stops at a step boundary on Ctrl-C or SIGTERM, saving that step; the other
    // commands keep the signals' usual meaning.
    let training = matches!(cli.command, Command::Train(_) | Command::Ablate(_));
    if training && let Err(e) = stop::on_signals() {
        eprintln!("error: cannot catch Ctrl-C and SIGTERM: {e}");
        return ExitCode::FAILURE;
    }
    match backend::dispatch(&cli.backend, cli.device.as_deref(), &devices, cli.command) {
        Ok(()) if stop::requested_by_signal() => ExitCode::from(stop::EXIT_STATUS),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
