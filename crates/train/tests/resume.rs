//! Resuming `echoone train`: a stopped run and a run killed at any moment, resumed, equal the
//! uninterrupted run bit for bit.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;

#[test]
fn a_killed_and_resumed_run_equals_the_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, whole) = uninterrupted(tmp.path());
    let c = config.to_str().unwrap();
    let parts = tmp.path().join("parts");
    let p = parts.to_str().unwrap();
    ok(&echoone(&[
        "train",
        "--quiet",
        "--config",
        c,
        "--out",
        p,
        "--stop-after",
        "1",
    ]));
    assert_eq!(history(&parts).len(), 1);
    ok(&echoone(&["train", "--quiet", "--out", p, "--resume"]));
    assert_same_run(&whole, &parts);
}

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (config, whole) = uninterrupted(tmp.path());
    let span = started.elapsed();
    let c = config.to_str().unwrap();
    // Named as a default run folder, so that the last `--resume` can find it without --out.
    let parts = tmp.path().join("runs/train-20261201-000000");
    let args = ["train", "--quiet", "--config", c, "--out"];
    let args = [&args[..], &[parts.to_str().unwrap(), "--resume"]].concat();
    // SIGKILL at spread fractions of an uninterrupted run's time. Each process starts over from
    // the last checkpoint, so the kills land in start-up, prior fitting, steps, validation and
    // checkpoint writing, differently on every machine: whatever they hit must not matter.
    for fraction in [0.1, 0.3, 0.5, 0.7, 0.9] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_echoone"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start echoone train");
        std::thread::sleep(span.mul_f64(fraction));
        // The process may have finished already; either way it is gone afterwards.
        let _ = child.kill();
        child.wait().expect("reap echoone train");
    }
    let last = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(["train", "--quiet", "--resume"])
        .current_dir(tmp.path())
        .output()
        .expect("run echoone train --resume");
    ok(&last);
    assert_same_run(&whole, &parts);
    let untimed = |d: &Path| {
        let text = fs::read_to_string(d.join("metrics.csv")).unwrap();
        let cut = |l: &str| l.rsplitn(3, ',').nth(2).unwrap_or_default().to_string();
        text.lines().map(cut).collect::<Vec<_>>()
    };
    assert_eq!(untimed(&whole), untimed(&parts), "metrics.csv");
    for file in [
        "summary.json",
        "summary.md",
        "splits.json",
        "prior/prior.json",
    ] {
        let read = |d: &Path| fs::read(d.join(file)).unwrap();
        assert!(read(&whole) == read(&parts), "{file} differs");
    }
}

/// Writes `tiny_run(2)` into `dir` and trains it without interruption: (config, run folder).
fn uninterrupted(dir: &Path) -> (PathBuf, PathBuf) {
    let config = write_config(dir, "config.json", &tiny_run(2));
    let whole = dir.join("whole");
    ok(&echoone(&[
        "train",
        "--quiet",
        "--config",
        config.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
    ]));
    (config, whole)
}

/// Asserts that two runs of `tiny_run(2)` have the same history and final weights.
fn assert_same_run(whole: &Path, parts: &Path) {
    let (a, b) = (history(whole), history(parts));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_loss, y.val_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_dice, y.val_dice, "epoch {}", x.epoch);
    }
    let config = tiny_run(2).model;
    assert!(
        latest_weights(&config, whole) == latest_weights(&config, parts),
        "final weights differ"
    );
}
