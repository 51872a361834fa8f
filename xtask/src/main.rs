//! `cargo xtask`: the project's workflows, each forwarded to the workspace binary that owns it.
//!
//! Every command is a thin wrapper: it builds the owning package in release mode and runs its
//! binary with the remaining arguments, so `cargo xtask sam --help` shows the real flags.
//! `train`, `ablate`, `eval` and `predict` run the `echoone` binary of echoone-train, built with
//! the cargo feature of the backend named by `--backend` (flex by default).

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// A workflow: the command word, the package and binary that implement it, and a summary.
struct Workflow {
    name: &'static str,
    package: &'static str,
    binary: &'static str,
    about: &'static str,
}

/// The workflows forwarded to workspace binaries.
const WORKFLOWS: &[Workflow] = &[
    Workflow {
        name: "sam",
        package: "echoone-sam",
        binary: "sam",
        about: "run official SAM on one image with point/box prompts",
    },
    Workflow {
        name: "metrics",
        package: "echoone-metrics",
        binary: "metrics",
        about: "Dice, IoU, HD95, HD, ASSD between two folders of label maps",
    },
    Workflow {
        name: "data",
        package: "echoone-data",
        binary: "data",
        about: "synthesise, inspect and export echo datasets",
    },
    Workflow {
        name: "model",
        package: "echoone",
        binary: "model",
        about: "EchoONE parameter summary, or a checkpoint run on one image",
    },
];

/// The commands of the `echoone` binary (echoone-train), built per backend.
const TRAIN_COMMANDS: &[(&str, &str)] = &[
    (
        "train",
        "train EchoONE (no arguments: small model, synthetic echoes, CPU)",
    ),
    (
        "ablate",
        "train and compare the LFFA x PC-Mask grid (or any toggles)",
    ),
    (
        "eval",
        "metrics of a checkpoint per structure, plane and centre",
    ),
    (
        "predict",
        "segment images, NIfTI or videos with a checkpoint",
    ),
];

/// Backends the `echoone` binary can be built with (one cargo feature each).
const BACKENDS: &[&str] = &["flex", "ndarray", "tch", "cuda"];

/// Crates with criterion benchmarks, run by `cargo xtask bench NAME`.
const BENCHES: &[(&str, &str)] = &[
    ("sam", "echoone-sam"),
    ("metrics", "echoone-metrics"),
    ("data", "echoone-data"),
    ("lffa", "echoone-lffa"),
    ("model", "echoone"),
    ("train", "echoone-train"),
];

fn usage() -> String {
    let mut text = String::from("usage: cargo xtask <command> [args...]\n\ncommands:\n");
    for (name, about) in TRAIN_COMMANDS {
        text.push_str(&format!("  {name:<10} {about}\n"));
    }
    for w in WORKFLOWS {
        text.push_str(&format!("  {:<10} {}\n", w.name, w.about));
    }
    let names: Vec<&str> = BENCHES.iter().map(|(n, _)| *n).collect();
    text.push_str(&format!(
        "  {:<10} criterion benchmarks: bench [{}] [--features LIST] [criterion args]\n",
        "bench",
        names.join("|")
    ));
    text
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut cmd: Command) -> Result<ExitCode> {
    let status = cmd.status().context("failed to start cargo")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// `cargo bench` of the selected crates' criterion benches. Only the bench targets are built
/// and run (`--bench '*'`), so criterion flags never reach a library's libtest harness, which
/// rejects them. A leading `--features LIST` (or `--features=LIST`) goes to cargo, the rest to
/// criterion: `cargo xtask bench train --features tch --warm-up-time 2`.
fn bench(args: &[String]) -> Result<ExitCode> {
    let mut cmd = cargo();
    cmd.arg("bench");
    let (selected, mut rest): (Vec<&(&str, &str)>, &[String]) = match args.first() {
        Some(name) if !name.starts_with('-') => {
            let Some(entry) = BENCHES.iter().find(|(n, _)| n == name) else {
                bail!("unknown benchmark group `{name}`\n\n{}", usage());
            };
            (vec![entry], &args[1..])
        }
        _ => (BENCHES.iter().collect(), args),
    };
    for (_, package) in selected {
        cmd.args(["--package", package]);
    }
    cmd.args(["--bench", "*"]);
    loop {
        match rest {
            [flag, list, tail @ ..] if flag == "--features" => {
                cmd.args(["--features", list]);
                rest = tail;
            }
            [flag, tail @ ..] if flag.starts_with("--features=") => {
                cmd.arg(flag);
                rest = tail;
            }
            _ => break,
        }
    }
    if !rest.is_empty() {
        cmd.arg("--").args(rest);
    }
    run(cmd)
}

/// The value of `--backend` in `args` (`--backend X` or `--backend=X`), flex by default.
fn backend(args: &[String]) -> Result<&str> {
    let mut value = "flex";
    for (i, a) in args.iter().enumerate() {
        if let Some(v) = a.strip_prefix("--backend=") {
            value = v;
        } else if a == "--backend" {
            value = args.get(i + 1).map(String::as_str).unwrap_or("");
        }
    }
    if !BACKENDS.contains(&value) {
        bail!(
            "--backend {value:?}: expected one of {}",
            BACKENDS.join(", ")
        );
    }
    Ok(value)
}

/// `cargo run` of the `echoone` binary with the backend's feature, then the command.
fn train_command(args: &[String]) -> Result<ExitCode> {
    let backend = backend(args)?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "echoone-train"])
        .args([
            "--bin",
            "echoone",
            "--no-default-features",
            "--features",
            backend,
            "--",
        ])
        .args(args);
    run(cmd)
}

fn main() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{}", usage());
        return Ok(ExitCode::from(2));
    };
    if command == "bench" {
        return bench(&args[1..]);
    }
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    }
    if TRAIN_COMMANDS.iter().any(|(n, _)| n == command) {
        return train_command(&args);
    }
    let Some(workflow) = WORKFLOWS.iter().find(|w| w.name == command) else {
        bail!("unknown command `{command}`\n\n{}", usage());
    };
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", workflow.package])
        .args(["--bin", workflow.binary, "--"])
        .args(&args[1..]);
    run(cmd)
}
