//! Every subcommand of `echoone`, one module each. Those that run EchoONE (train, ablate, eval,
//! predict, ef) run on the backend compiled in and chosen by `--backend`; the tools (data, sam,
//! metrics, model) run on the CPU (burn-flex) and take no backend; completions and man write
//! the shell completion script and the manual pages.

pub mod ablate;
pub mod data;
pub mod ef;
pub mod eval;
pub mod manual;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod sam;
pub mod train;

use clap::Subcommand;

/// Examples shown under `echoone --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone train                                   the small model on the built-in synthetic echoes
  echoone train --dataset camus:/data/CAMUS --variant vit_b --sam-weights sam_vit_b_01ec64.pth
  echoone eval --run runs/camus --split test      Dice, IoU, HD95 of the run's test cases
  echoone predict --run runs/camus --prompts auto image.png --out pred
  echoone ef --run runs/camus --out ef            LV volumes and EF from the run's masks
  echoone ablate --grid lffa,pc_mask              the paper's ablation grid
  echoone completions bash > ~/.local/share/bash-completion/completions/echoone";

/// The subcommands.
// Parsed once per process: the size of the training arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The commands that run EchoONE on a backend.
    #[command(flatten)]
    Backend(BackendCommand),
    /// Synthesise, inspect and export echocardiography datasets.
    #[command(
        after_help = "Examples:\n  echoone data synth --out synth --cases 40\n  echoone data inspect camus:/data/CAMUS --sheet camus.png\n  echoone data export hmcqu:/data/HMC-QU --out hmcqu_png\n  echoone data cine --out cines --cases 4 --plane 4CH"
    )]
    Data(data::DataArgs),
    /// Segment an image with official SAM weights and point or box prompts.
    #[command(
        after_help = "Examples:\n  echoone sam --weights sam_vit_b_01ec64.pth --image echo.png --point 120,140 --out sam_out\n  echoone sam --weights sam_vit_h_4b8939.pth --arch vit_h --image echo.png --box 40,40,200,220 --multimask --out sam_out"
    )]
    Sam(sam::SamArgs),
    /// Dice, IoU, HD95, HD and ASSD of predicted label maps against references, MONAI-exact.
    #[command(
        after_help = "Example:\n  echoone metrics --pred pred/ --gt gt/ --labels 1,2,3 --spacing 0.3,0.3 --out scores"
    )]
    Metrics(metrics::MetricsArgs),
    /// EchoONE's parameter counts, or a checkpoint of the authors' EchoONE run on one image.
    #[command(
        after_help = "Examples:\n  echoone model summary --variant vit_b\n  echoone model run --weights echoone.pth --image echo.png --point 120,140,1 --out model_out"
    )]
    Model(model::ModelArgs),
    /// Print the completion script of a shell (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(
        after_help = "Example:\n  echoone completions bash > ~/.local/share/bash-completion/completions/echoone\n  echoone completions zsh > ~/.zfunc/_echoone"
    )]
    Completions(manual::CompletionsArgs),
    /// Write the manual pages (`echoone.1`, `echoone-train.1`, ...) into a folder.
    #[command(after_help = "Example:\n  echoone man --out man && man -l man/echoone-train.1")]
    Man(manual::ManArgs),
}

/// The commands that run EchoONE on the backend chosen by `--backend` (or recorded by the run).
#[derive(Subcommand, Debug)]
pub enum BackendCommand {
    /// Train a model (no arguments: the small model on the built-in synthetic echoes).
    #[command(after_help = train::EXAMPLES)]
    Train(train::TrainArgs),
    /// Train and compare module ablations (default: the paper's LFFA x PC-Mask grid).
    #[command(after_help = ablate::EXAMPLES)]
    Ablate(ablate::AblateArgs),
    /// Evaluate a run's checkpoint: Dice, IoU, HD95 per structure, plane and centre.
    #[command(after_help = eval::EXAMPLES)]
    Eval(eval::EvalArgs),
    /// Segment images, NIfTI volumes or videos with a run's checkpoint.
    #[command(after_help = predict::EXAMPLES)]
    Predict(predict::PredictArgs),
    /// LV volumes and ejection fraction per case: stated, from the masks, from predictions.
    #[command(after_help = ef::EXAMPLES)]
    Ef(ef::EfArgs),
}
