//! `cargo xtask train --processes N`: the run as N processes on this machine under Open MPI's
//! `mpirun`, one replica each (the same run as N local replicas in one process), with the
//! `echoone` binary built with the `mpi` feature.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// Takes `--processes N` (or `--processes=N`) out of `args`: `N`, if given.
pub fn take(args: &mut Vec<String>) -> Result<Option<usize>> {
    let Some(i) = args
        .iter()
        .position(|a| a == "--processes" || a.starts_with("--processes="))
    else {
        return Ok(None);
    };
    let flag = args.remove(i);
    let value = match flag.strip_prefix("--processes=") {
        Some(v) => v.to_string(),
        None if i < args.len() => args.remove(i),
        None => bail!("--processes needs a number of processes"),
    };
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => bail!("--processes {value:?}: expected a number of processes, 1 or more"),
    }
}

/// The `echoone` command line under `mpirun` for `processes` processes: every process one
/// replica unless `args` say otherwise; root and more processes than cores allowed (CI and
/// containers run as root, and a laptop may have fewer cores than processes).
pub fn mpirun(binary: PathBuf, processes: usize, args: &[String]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-n", &processes.to_string()])
        .arg(binary)
        .args(args);
    if !args.iter().any(|a| a.starts_with("--replicas")) {
        cmd.args(["--replicas", "1"]);
    }
    cmd
}

/// Builds `echoone` with `feature` and `mpi`, then runs `args` as `processes` processes.
pub fn run(
    mut build: Command,
    feature: &str,
    processes: usize,
    args: &[String],
) -> Result<ExitCode> {
    let status = build
        .args([
            "build",
            "--release",
            "--package",
            "echoone-cli",
            "--bin",
            "echoone",
        ])
        .args([
            "--no-default-features",
            "--features",
            &format!("{feature},mpi"),
        ])
        .status()
        .context("failed to start cargo")?;
    if !status.success() {
        bail!(
            "building echoone with the `mpi` feature failed: it needs an MPI and libclang \
             (Debian: apt-get install libopenmpi-dev openmpi-bin libclang-dev)"
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("release").join("echoone");
    let status = mpirun(binary, processes, args).status().map_err(|e| {
        anyhow::anyhow!(
            "cannot start mpirun ({e}): install Open MPI (Debian: apt-get install openmpi-bin \
             libopenmpi-dev libclang-dev)"
        )
    })?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn processes_are_taken_out_of_the_arguments() {
        let mut a = args(&["train", "--processes", "2", "--epochs", "1"]);
        assert_eq!(take(&mut a).unwrap(), Some(2));
        assert_eq!(a, args(&["train", "--epochs", "1"]));
        let mut b = args(&["train", "--processes=4"]);
        assert_eq!(take(&mut b).unwrap(), Some(4));
        assert_eq!(b, args(&["train"]));
        assert_eq!(take(&mut args(&["train"])).unwrap(), None);
        assert!(take(&mut args(&["train", "--processes"])).is_err());
        assert!(take(&mut args(&["train", "--processes", "0"])).is_err());
        assert!(take(&mut args(&["train", "--processes", "two"])).is_err());
    }

    #[test]
    fn each_process_gets_one_replica_unless_asked_otherwise() {
        let words = |cmd: &Command| -> Vec<String> {
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let one = mpirun("echoone".into(), 2, &args(&["train"]));
        assert_eq!(
            words(&one),
            args(&[
                "--oversubscribe",
                "-n",
                "2",
                "echoone",
                "train",
                "--replicas",
                "1"
            ])
        );
        let two = mpirun("echoone".into(), 3, &args(&["train", "--replicas", "2"]));
        assert_eq!(words(&two).last().map(String::as_str), Some("2"));
    }
}
