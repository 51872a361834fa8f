//! `cargo xtask`: the project's workflows, each forwarded to the `echoone` binary.
//!
//! Every command is a thin wrapper: it builds the `echoone` binary (echoone-cli) in release mode
//! and runs it with the same arguments, so `cargo xtask sam --help` shows the real flags.
//! `train`, `ablate`, `eval`, `predict` and `ef` build it with the cargo feature of the backend
//! named by `--backend`, else of the one the run they work on recorded, else flex; the CPU
//! tools (`data`, `sam`, `metrics`, `model`, `completions`, `man`) with the default, flex.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod bench_compare;
mod parity;
mod processes;
mod run_backend;

/// The commands of the `echoone` binary (echoone-cli): the word, whether it runs EchoONE on a
/// backend (built with that backend's feature) or is a CPU tool, and a summary.
const COMMANDS: &[(&str, bool, &str)] = &[
    (
        "train",
        true,
        "train EchoONE (no arguments: small model, synthetic echoes, CPU; --processes N: N processes under mpirun)",
    ),
    (
        "ablate",
        true,
        "train and compare the LFFA x PC-Mask grid (or any toggles)",
    ),
    (
        "eval",
        true,
        "metrics of a run's checkpoint per structure, plane and centre",
    ),
    (
        "predict",
        true,
        "segment images, NIfTI or videos with a run's checkpoint",
    ),
    (
        "ef",
        true,
        "LV volumes and EF per case: reference, masks, predictions",
    ),
    (
        "data",
        false,
        "synthesise, inspect and export echo datasets",
    ),
    (
        "sam",
        false,
        "run official SAM on one image with point/box prompts",
    ),
    (
        "metrics",
        false,
        "Dice, IoU, HD95, HD, ASSD between two folders of label maps",
    ),
    (
        "model",
        false,
        "EchoONE parameter summary, or an authors' checkpoint run on one image",
    ),
    (
        "completions",
        false,
        "the shell completion script (bash, zsh, fish, elvish, powershell)",
    ),
    ("man", false, "write the manual pages into --out DIR"),
];

/// Backends the `echoone` binary can be built with, and the cargo feature of each.
const BACKENDS: &[(&str, &str)] = &[
    ("flex", "flex"),
    ("ndarray", "ndarray"),
    ("tch", "tch"),
    ("cuda", "cuda"),
    ("cuda-unfused", "cuda"),
];

/// Crates with criterion benchmarks, run by `cargo xtask bench NAME`.
const BENCHES: &[(&str, &str)] = &[
    ("sam", "echoone-sam"),
    ("metrics", "echoone-metrics"),
    ("data", "echoone-data"),
    ("lffa", "echoone-lffa"),
    ("model", "echoone-model"),
    ("train", "echoone-train"),
];

fn usage() -> String {
    let mut text = String::from("usage: cargo xtask <command> [args...]\n\ncommands:\n");
    for (name, _, about) in COMMANDS {
        text.push_str(&format!("  {name:<11} {about}\n"));
    }
    let names: Vec<&str> = BENCHES.iter().map(|(n, _)| *n).collect();
    text.push_str(&format!(
        "  {:<11} criterion benchmarks: bench [{}] [--features LIST] [criterion args]; bench compare --python PY --authors-checkout DIR: burn-flex beside PyTorch, training and inference (bench compare --help)\n",
        "bench",
        names.join("|")
    ));
    text.push_str(&format!(
        "  {:<11} full-size parity with PyTorch (needs torch): parity sam [--arch A] [--python PY] | parity authors --authors-checkout DIR [--variant V] [--python PY] (parity --help: all options)\n",
        "parity"
    ));
    text
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cmd` (a cargo command) as this process. On unix the process becomes cargo, and `cargo
/// run` becomes the binary in turn, so Ctrl-C and SIGTERM reach the binary alone, as if it had
/// been started directly: `train` then stops at a step after saving it instead of the wrapper
/// dying and leaving it behind.
#[cfg(unix)]
fn run(mut cmd: Command) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    Err(cmd.exec()).context("failed to start cargo")
}

/// Runs `cmd` (a cargo command) and exits with its status.
#[cfg(not(unix))]
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
    if args.first().is_some_and(|a| a == "compare") {
        return bench_compare::compare(&args[1..]);
    }
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
    let mut features = Vec::new();
    loop {
        match rest {
            [flag, list, tail @ ..] if flag == "--features" => {
                features.push(list.clone());
                rest = tail;
            }
            [flag, tail @ ..] if flag.starts_with("--features=") => {
                features.push(flag["--features=".len()..].to_string());
                rest = tail;
            }
            _ => break,
        }
    }
    for list in &features {
        for feature in list.split([',', ' ']).filter(|f| !f.is_empty()) {
            prepare_build(feature, &mut cmd)?;
        }
        cmd.args(["--features", list]);
    }
    if !rest.is_empty() {
        cmd.arg("--").args(rest);
    }
    run(cmd)
}

/// The cargo feature of the backend for `args`: `--backend X` (or `--backend=X`); else the
/// backend the run it works on recorded ([`run_backend::recorded`]); else flex.
fn backend(args: &[String]) -> Result<&'static str> {
    let value = match run_backend::flag_value(args, "--backend") {
        Some(v) => v.to_string(),
        None => run_backend::recorded(args, std::path::Path::new("runs"))?
            .unwrap_or_else(|| "flex".into()),
    };
    match BACKENDS.iter().find(|(name, _)| *name == value) {
        Some((_, feature)) => Ok(feature),
        None => bail!(
            "--backend {value:?}: expected one of {}",
            BACKENDS
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks the build environment a backend needs, and sets what can be defaulted.
fn prepare_build(feature: &str, cmd: &mut Command) -> Result<()> {
    prepare_build_in(feature, cmd, &|name| std::env::var_os(name))
}

/// [`prepare_build`] in the environment `env` gives (its variables, PATH among them).
fn prepare_build_in(
    feature: &str,
    cmd: &mut Command,
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<()> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    match feature {
        // torch-sys downloads a CPU-only libtorch when neither is set: never do that silently.
        "tch" if !set("LIBTORCH") && !set("LIBTORCH_USE_PYTORCH") => bail!(
            "--backend tch needs libtorch: set LIBTORCH_USE_PYTORCH=1 in a Python environment \
             with PyTorch 2.9 (pip install torch==2.9.0), or LIBTORCH=/path/to/libtorch; see \
             docs/training.md#backends"
        ),
        // cudarc takes the CUDA version from nvcc; without one, build for CUDA 13 (the driver
        // is loaded at run time).
        "cuda" if !set("CUDARC_CUDA_VERSION") && !on_path(env("PATH"), "nvcc") => {
            eprintln!(
                "note: no nvcc and no CUDARC_CUDA_VERSION: building for CUDA 13 \
                 (CUDARC_CUDA_VERSION=13000; set 12080 for a CUDA 12 driver)"
            );
            cmd.env("CUDARC_CUDA_VERSION", "13000");
        }
        _ => {}
    }
    Ok(())
}

/// Whether `program` is an executable file in a folder of `path` (a PATH value).
fn on_path(path: Option<std::ffi::OsString>, program: &str) -> bool {
    path.is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `cargo run` of the `echoone` binary, then the command: built with the backend's feature for
/// the commands that run EchoONE, with the default (flex) for the CPU tools, so a default build
/// serves both.
fn echoone(args: &[String], on_backend: bool) -> Result<ExitCode> {
    let backend = if on_backend { backend(args)? } else { "flex" };
    let mut cmd = cargo();
    prepare_build(backend, &mut cmd)?;
    cmd.args(["run", "--release", "--package", "echoone-cli"])
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
    let Some(command) = args.first().cloned() else {
        eprint!("{}", usage());
        return Ok(ExitCode::from(2));
    };
    if command == "bench" {
        return bench(&args[1..]);
    }
    if command == "parity" {
        return parity::parity(&args[1..]);
    }
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    }
    let Some((_, on_backend, _)) = COMMANDS.iter().find(|(n, _, _)| *n == command) else {
        bail!("unknown command `{command}`\n\n{}", usage());
    };
    let mut args = args;
    if command == "train"
        && let Some(n) = processes::take(&mut args)?
    {
        let feature = backend(&args)?;
        let mut build = cargo();
        prepare_build(feature, &mut build)?;
        return processes::run(build, feature, n, &args);
    }
    echoone(&args, *on_backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn backends_map_to_their_cargo_feature() {
        assert_eq!(backend(&args(&["train"])).unwrap(), "flex");
        assert_eq!(
            backend(&args(&["train", "--backend", "cuda-unfused"])).unwrap(),
            "cuda"
        );
        assert_eq!(backend(&args(&["eval", "--backend=tch"])).unwrap(), "tch");
        let err = backend(&args(&["train", "--backend", "gpu"])).unwrap_err();
        assert!(err.to_string().contains("cuda-unfused"), "{err}");
    }

    #[test]
    fn tch_without_libtorch_is_refused_before_cargo_runs() {
        if ["LIBTORCH", "LIBTORCH_USE_PYTORCH"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
        {
            eprintln!("skipped: libtorch is configured in this environment");
            return;
        }
        let err = prepare_build("tch", &mut cargo()).unwrap_err().to_string();
        assert!(err.contains("LIBTORCH_USE_PYTORCH=1"), "{err}");
        assert!(prepare_build("flex", &mut cargo()).is_ok());
    }

    /// The CUDARC_CUDA_VERSION that `prepare_build_in` gives the cargo command for cuda.
    fn cuda_version(env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Option<String> {
        let mut cmd = cargo();
        prepare_build_in("cuda", &mut cmd, env).unwrap();
        cmd.get_envs()
            .find(|(k, _)| *k == "CUDARC_CUDA_VERSION")
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn cuda_builds_for_cuda_13_only_without_nvcc_and_without_a_version() {
        let bin = tempfile_dir();
        let nothing = |_: &str| None;
        assert_eq!(cuda_version(&nothing).as_deref(), Some("13000"));
        // A version the user set is theirs.
        let version = |name: &str| (name == "CUDARC_CUDA_VERSION").then(|| "12080".into());
        assert_eq!(cuda_version(&version), None);
        // An nvcc on PATH tells cudarc the version itself.
        std::fs::write(bin.join("nvcc"), b"").unwrap();
        let path = bin.clone().into_os_string();
        let with_nvcc = |name: &str| (name == "PATH").then(|| path.clone());
        assert_eq!(cuda_version(&with_nvcc), None);
        std::fs::remove_dir_all(&bin).unwrap();
    }

    /// A new empty folder under the system's temporary folder.
    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-nvcc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
