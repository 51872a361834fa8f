//! `model`: EchoONE's parameter counts, and one image through a checkpoint of the authors'
//! EchoONE (wrapped by `cargo xtask model`).

mod arch;
mod output;
mod run;
mod summary;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// EchoONE: parameter summary, or a checkpoint run on one image.
#[derive(Parser, Debug)]
#[command(name = "model", version)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Parameter counts per module: trainable, frozen and total (the authors' split).
    Summary(summary::SummaryArgs),
    /// Run a checkpoint on one image with a point prompt and a prior.
    Run(Box<run::RunArgs>),
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `command`.
fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Summary(args) => summary::summary(&args),
        Command::Run(args) => run::run(&args),
    }
}
