//! `model`: EchoONE's parameter counts, and one image through a checkpoint of the authors'
//! EchoONE (wrapped by `cargo xtask model`).

mod arch;
mod output;
mod run;
mod summary;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Arguments of `echoone model`: a parameter summary, or a checkpoint run on one image.
#[derive(Args, Debug)]
pub struct ModelArgs {
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

impl ModelArgs {
    /// Runs the model subcommand.
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Summary(args) => summary::summary(&args),
            Command::Run(args) => run::run(&args),
        }
    }
}
