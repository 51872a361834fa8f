//! Resuming `echoone train`: a stopped run, a run killed at chosen moments (steps, checkpoint
//! writes, between a checkpoint's renames) and a run killed after a mid-epoch checkpoint, each
//! resumed, equal the uninterrupted run bit for bit; the run log (`events.jsonl`) proves that
//! every kill landed while the run was going and that each resumed process ran only the steps
//! after its checkpoint. A two-device run killed mid-epoch resumes to the uninterrupted two-device
//! run. Ctrl-C (SIGINT) stops a run at the next step after saving it, and that run resumes to the
//! uninterrupted one; a second Ctrl-C ends the process at once and leaves the saved checkpoint.
//! Bad checkpoints give a clear error naming the file and are kept.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// One line of `events.jsonl`.
/// Steps of `tiny_run(2)`: 2 epochs of 6.
const TOTAL_STEPS: u64 = 12;

/// The uninterrupted run of `tiny_run(2)`, trained once for every test of this file (in a folder
/// of cargo's test scratch space).
fn whole() -> &'static Path {
    static WHOLE: OnceLock<PathBuf> = OnceLock::new();
    WHOLE.get_or_init(|| {
        // The folders of earlier test runs (kept: a static is never dropped), once surely done.
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in fs::read_dir(scratch).into_iter().flatten().flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .is_some_and(|t| {
                    t.elapsed()
                        .is_ok_and(|age| age > Duration::from_secs(6 * 3600))
                });
            if old
                && entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("resume-whole-")
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("resume-whole-")
            .tempdir_in(scratch)
            .expect("a scratch folder")
            .keep();
        let config = write_config(&dir, "config.json", &tiny_run(2));
        let run = dir.join("run");
        ok(&echoone(&[
            "train",
            "--quiet",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]));
        run
    })
}

/// Asserts that a run of `tiny_run(2)` has the uninterrupted run's history (losses, Dice),
/// final weights, `metrics.csv` (but its timings), summary, split and prior.
fn assert_same_run(parts: &Path) {
    let whole = whole();
    let (a, b) = (history(whole), history(parts));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss, "epoch {}", x.epoch);
        assert_eq!(x.train_terms, y.train_terms, "epoch {}", x.epoch);
        assert_eq!(x.lr, y.lr, "epoch {}", x.epoch);
        assert_eq!(x.val_loss, y.val_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_dice, y.val_dice, "epoch {}", x.epoch);
        assert_eq!(x.val_dice_structure, y.val_dice_structure);
    }
    let config = tiny_run(2).model;
    assert!(
        latest_weights(&config, whole) == latest_weights(&config, parts),
        "final weights differ"
    );
    let untimed = |d: &Path| {
        let text = fs::read_to_string(d.join("metrics.csv")).unwrap();
        let cut = |l: &str| l.rsplitn(3, ',').nth(2).unwrap_or_default().to_string();
        text.lines().map(cut).collect::<Vec<_>>()
    };
    assert_eq!(untimed(whole), untimed(parts), "metrics.csv");
    for file in [
        "summary.json",
        "summary.md",
        "splits.json",
        "prior/prior.json",
    ] {
        let read = |d: &Path| fs::read(d.join(file)).unwrap();
        assert!(read(whole) == read(parts), "{file} differs");
    }
}

/// What one process did, read from the run log.
#[derive(Debug)]
struct Process {
    pid: u64,
    /// The optimiser steps done when it started (its checkpoint's).
    from_step: u64,
    /// The global steps it started, in order.
    steps: Vec<u64>,
    /// Its `finished` event.
    finished: Option<Event>,
    /// Its last event.
    last: String,
}

/// Reads every process of a run log and checks each against the checkpoints written before it
/// started: it resumed from the last `latest` checkpoint written (where it was in the epoch
/// too), or started afresh when none was; it started exactly the steps after that one, one
/// after another; and a finished process ran every step it started, to the end when complete.
fn processes(events: &[Event]) -> Vec<Process> {
    let mut out = Vec::new();
    for (k, start) in events.iter().enumerate() {
        if name(start) != "started" {
            continue;
        }
        let pid = num(start, "pid");
        let mine: Vec<&Event> = events[k..]
            .iter()
            .filter(|e| num(e, "pid") == pid)
            .collect();
        let checkpoint = events[..k]
            .iter()
            .rfind(|e| name(e) == "checkpoint_written" && e["kind"] == "latest");
        let resumed = mine.iter().find(|e| name(e) == "resumed");
        let from_step = match (checkpoint, resumed) {
            (None, None) => 0,
            (Some(c), Some(r)) => {
                for (field, of) in [
                    ("step", "global_step"),
                    ("epoch", "epoch"),
                    ("epoch_step", "epoch_step"),
                ] {
                    assert_eq!(
                        num(r, field),
                        num(c, of),
                        "process {pid} resumed {r:?}, the last checkpoint written was {c:?}"
                    );
                }
                num(r, "step")
            }
            (c, r) => panic!("process {pid}: checkpoint {c:?} but resumed {r:?}"),
        };
        let steps: Vec<u64> = mine
            .iter()
            .filter(|e| name(e) == "step_started")
            .map(|e| num(e, "global_step"))
            .collect();
        let expected: Vec<u64> = (from_step + 1..).take(steps.len()).collect();
        assert_eq!(
            steps, expected,
            "process {pid} should start the steps after {from_step}"
        );
        let finished = mine
            .iter()
            .find(|e| name(e) == "finished")
            .map(|e| (*e).clone());
        if let Some(f) = &finished {
            let done = mine.iter().filter(|e| name(e) == "step_done").count() as u64;
            assert_eq!(num(f, "steps"), done, "{f:?}");
            assert_eq!(done, steps.len() as u64, "process {pid}");
            if f["complete"] == true {
                let total = num(start, "total_steps");
                assert_eq!(from_step + done, total, "process {pid}: {f:?}");
            }
        }
        let last = mine.last().map(|e| name(e).to_string()).unwrap_or_default();
        out.push(Process {
            pid,
            from_step,
            steps,
            finished,
            last,
        });
    }
    out
}

/// Starts `echoone` with `args` in `cwd`, its stderr into `stderr`.
fn spawn(args: &[&str], cwd: &Path, stderr: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(fs::File::create(stderr).expect("a stderr file"))
        .spawn()
        .expect("start echoone train")
}

/// Starts `echoone train --config C --out TMP/run ARGS` on `tiny_run(2)` (written to C in `tmp`),
/// its stderr into `tmp/stderr.txt`; returns the process, the run folder and the stderr file.
fn start_tiny(tmp: &Path, args: &[&str]) -> (Child, PathBuf, PathBuf) {
    let config = write_config(tmp, "config.json", &tiny_run(2));
    let (run, err) = (tmp.join("run"), tmp.join("stderr.txt"));
    let mut all = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let child = spawn(&all, tmp, &err);
    (child, run, err)
}

/// Waits until `child` logs an event in `run` that `when` accepts (asserting it is still running
/// then: it neither exited nor finished its run) and returns its pid.
fn wait_for(child: &mut Child, run: &Path, stderr: &Path, when: impl Fn(&Event) -> bool) -> u64 {
    let pid = u64::from(child.id());
    // Not a timed assertion: only a guard against waiting forever for an event that never comes.
    let give_up = Instant::now() + Duration::from_secs(600);
    loop {
        let seen = run.join("events.jsonl").is_file()
            && events(run).iter().any(|e| num(e, "pid") == pid && when(e));
        if seen {
            break;
        }
        if let Some(status) = child.try_wait().expect("poll echoone train") {
            panic!(
                "echoone train exited ({status}) before the event waited for:\n{}",
                fs::read_to_string(stderr).unwrap_or_default()
            );
        }
        assert!(Instant::now() < give_up, "no such event in 10 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().expect("poll echoone train").is_none(),
        "the process must still be running"
    );
    pid
}

/// Waits until `child` logs an event in `run` that `when` accepts, kills it with SIGKILL there
/// (asserting it was still running: it neither exited nor finished its run), and returns its
/// pid.
fn kill_at(mut child: Child, run: &Path, stderr: &Path, when: impl Fn(&Event) -> bool) -> u64 {
    let pid = wait_for(&mut child, run, stderr, when);
    child.kill().expect("SIGKILL echoone train");
    child.wait().expect("reap echoone train");
    let log = events(run);
    assert!(
        !log.iter()
            .any(|e| num(e, "pid") == pid && name(e) == "finished"),
        "process {pid} finished before the kill"
    );
    pid
}

#[test]
fn a_stopped_run_resumes_with_only_the_remaining_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), "config.json", &tiny_run(2));
    let c = config.to_str().unwrap();
    let parts = tmp.path().join("parts");
    let p = parts.to_str().unwrap();
    let said = ok(&echoone(&[
        "train",
        "--quiet",
        "--config",
        c,
        "--out",
        p,
        "--stop-after",
        "1",
    ]));
    assert!(said.contains("--resume"), "{said}");
    assert_eq!(history(&parts).len(), 1);
    ok(&echoone(&["train", "--quiet", "--out", p, "--resume"]));
    let log = events(&parts);
    let runs = processes(&log);
    assert_eq!(runs.len(), 2, "{log:?}");
    let (first, second) = (&runs[0], &runs[1]);
    assert_eq!((first.from_step, first.steps.len()), (0, 6));
    let stopped = first.finished.as_ref().expect("the stopped run finished");
    assert_eq!(stopped["complete"], false);
    // The resumed process ran only the second epoch.
    assert_eq!(second.from_step, 6);
    assert_eq!(second.steps, (7..=12).collect::<Vec<_>>());
    let done = second.finished.as_ref().expect("the resumed run finished");
    assert_eq!(
        (num(done, "steps"), &done["complete"]),
        (6, &Value::Bool(true))
    );
    assert_same_run(&parts);
}

#[test]
fn a_run_killed_at_chosen_moments_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    // Mid-epoch checkpoints every 2 steps (steps 2 and 4 of each epoch; the epoch's end writes
    // its own): they must change nothing in the result.
    let config = write_config(
        tmp.path(),
        "config.json",
        &tiny_run(2).with_checkpoint_every(2),
    );
    let c = config.to_str().unwrap();
    // Named as a default run folder, so that the last `--resume` finds it without --out.
    let run = tmp.path().join("runs/train-20261201-000000");
    let o = run.to_str().unwrap();
    let err = tmp.path().join("stderr.txt");
    let train = |extra: &[&str]| {
        let args = [
            &["train", "--quiet", "--config", c, "--out", o, "--resume"],
            extra,
        ]
        .concat();
        spawn(&args, tmp.path(), &err)
    };
    let global = |e: &Event| e.get("global_step").and_then(Value::as_u64);
    let mut killed = Vec::new();

    // 1. During the first step, two steps before the first checkpoint.
    killed.push(kill_at(train(&[]), &run, &err, |e| {
        name(e) == "step_started" && global(e) == Some(1)
    }));
    // 2. Between the renames of its second checkpoint (after step 4): `latest` moved aside,
    //    the new one not yet in place.
    killed.push(kill_at(
        train(&["--pause-at", "checkpoint_swapping:2"]),
        &run,
        &err,
        |e| name(e) == "paused",
    ));
    let latest = run.join("checkpoints/latest");
    assert!(!latest.exists(), "killed between the renames");
    assert!(run.join("checkpoints/.latest.old/state.json").is_file());
    // 3. Resumed from the checkpoint left aside (step 2): killed between the renames of its
    //    first checkpoint (step 4). The one left aside was put back before being moved aside
    //    again, so it is still there.
    killed.push(kill_at(
        train(&["--pause-at", "checkpoint_swapping:1"]),
        &run,
        &err,
        |e| name(e) == "paused",
    ));
    assert!(!latest.exists(), "killed between the renames");
    assert!(run.join("checkpoints/.latest.old/state.json").is_file());
    // 4. Resumed from step 2 again: killed while writing the epoch's `latest` checkpoint (its
    //    third: step 4, `best` of epoch 1, then this one).
    killed.push(kill_at(
        train(&["--pause-at", "checkpoint_staged:3"]),
        &run,
        &err,
        |e| name(e) == "paused",
    ));
    assert!(run.join("checkpoints/.latest.staging/state.json").is_file());
    // 5. Resumed mid-epoch 1 (step 4): killed during the third step of epoch 2, after the
    //    mid-epoch checkpoint of step 2 (global step 8) landed.
    killed.push(kill_at(train(&[]), &run, &err, |e| {
        name(e) == "step_started" && global(e) == Some(9)
    }));
    // 6. The rest, with `--resume` alone.
    let last = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(["train", "--quiet", "--resume"])
        .current_dir(tmp.path())
        .output()
        .expect("run echoone train --resume");
    ok(&last);

    let log = events(&run);
    let runs = processes(&log);
    assert_eq!(runs.len(), 6, "{log:?}");
    for (p, pid) in runs.iter().zip(&killed) {
        assert_eq!(p.pid, *pid);
        assert!(p.finished.is_none(), "killed process {pid} finished");
    }
    // Where each kill landed (1 and 5: at least at the step they waited for).
    assert!(runs[0].steps.contains(&1), "{:?}", runs[0]);
    for p in &runs[1..4] {
        assert_eq!(p.last, "paused", "{p:?}");
    }
    assert!(runs[4].steps.contains(&9), "{:?}", runs[4]);
    // Where each resumed: afresh twice (no checkpoint yet), then from the mid-epoch
    // checkpoints of step 2 (twice) and 4 of epoch 1, and 2 (or later) of epoch 2.
    let from: Vec<u64> = runs.iter().map(|p| p.from_step).collect();
    assert_eq!(&from[..5], &[0, 0, 2, 2, 4], "{log:?}");
    assert!(from[5] >= 8, "{log:?}");
    let done = runs[5]
        .finished
        .as_ref()
        .expect("the last process finished");
    assert_eq!(done["complete"], true);
    assert_eq!(num(done, "steps"), TOTAL_STEPS - from[5]);
    assert_same_run(&run);
}

#[test]
fn a_run_killed_after_a_mid_epoch_checkpoint_continues_at_the_next_step() {
    let tmp = tempfile::tempdir().unwrap();
    // Checkpoints every 4 steps, asked for on the command line; killed as step 5 of epoch 1
    // begins, after the checkpoint of step 4 landed.
    let (child, run, err) = start_tiny(
        tmp.path(),
        &[
            "--quiet",
            "--checkpoint-every",
            "4",
            "--pause-at",
            "step_started:5",
        ],
    );
    let o = run.to_str().unwrap();
    kill_at(child, &run, &err, |e| name(e) == "paused");
    let state = latest_state(&run);
    assert_eq!(state["epoch"], 0, "{state}");
    assert_eq!(state["step"], 4, "{state}");
    assert_eq!(state["position"]["epoch"], 1, "{state}");
    assert_eq!(state["position"]["steps"], 4, "{state}");
    let saved = echoone_run::TrainConfig::load_json(&run.join("config.json")).unwrap();
    assert_eq!(saved.checkpoint_every, 4);

    ok(&echoone(&["train", "--quiet", "--out", o, "--resume"]));
    let log = events(&run);
    let runs = processes(&log);
    assert_eq!(runs.len(), 2, "{log:?}");
    assert_eq!(runs[0].steps, [1, 2, 3, 4, 5]);
    let resumed = first(&log, "resumed");
    assert_eq!(
        (
            num(resumed, "epoch"),
            num(resumed, "step"),
            num(resumed, "epoch_step")
        ),
        (0, 4, 4)
    );
    assert_eq!(runs[1].steps, (5..=12).collect::<Vec<_>>());
    let done = runs[1].finished.as_ref().expect("the resumed run finished");
    assert_eq!(num(done, "steps"), 8);
    // The epoch the kill cut through was validated once, by the resumed process, with all 6
    // steps counted in it.
    let epoch_one: Vec<&Event> = log
        .iter()
        .filter(|e| name(e) == "epoch_done" && num(e, "epoch") == 1)
        .collect();
    assert_eq!(epoch_one.len(), 1, "{log:?}");
    assert_eq!(num(epoch_one[0], "pid"), runs[1].pid);
    assert_eq!(num(epoch_one[0], "steps"), 2);
    assert_same_run(&run);
}

/// The exit status of `child` once it ends, and what it printed on stderr.
#[cfg(target_os = "linux")]
fn ended(mut child: Child, stderr: &Path) -> (Option<i32>, String) {
    let status = child.wait().expect("reap echoone train");
    (
        status.code(),
        fs::read_to_string(stderr).unwrap_or_default(),
    )
}

#[test]
#[cfg(target_os = "linux")]
fn ctrl_c_saves_the_step_it_stopped_at_and_the_resumed_run_ends_like_the_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    // No mid-epoch checkpoints asked for: only the stop can write one. Ctrl-C comes while the
    // run waits after step 2 of epoch 1.
    let (mut child, run, err) = start_tiny(tmp.path(), &["--pause-at", "step_done:2"]);
    let o = run.to_str().unwrap();
    wait_for(&mut child, &run, &err, |e| name(e) == "paused");
    interrupt(&child);
    let (code, said) = ended(child, &err);
    assert_eq!(code, Some(130), "{said}");
    assert!(
        said.contains(echoone_train::stop::NOTICE)
            && said.contains("stopped by a signal (Ctrl-C or SIGTERM) during epoch 1")
            && said.contains("after step 2 of epoch 1"),
        "{said}"
    );
    let log = events(&run);
    let stopped = first(&log, "stopped");
    assert_eq!(
        (
            num(stopped, "epoch"),
            num(stopped, "epoch_step"),
            num(stopped, "global_step")
        ),
        (0, 2, 2)
    );
    let saved = log
        .iter()
        .rfind(|e| name(e) == "checkpoint_written")
        .expect("the stop's checkpoint");
    assert_eq!(saved["mid_epoch"], true, "{saved:?}");
    assert_eq!(num(saved, "epoch_step"), 2, "{saved:?}");
    let state = latest_state(&run);
    assert_eq!(state["position"]["steps"], 2, "{state}");

    ok(&echoone(&["train", "--quiet", "--out", o, "--resume"]));
    let log = events(&run);
    let runs = processes(&log);
    assert_eq!(runs.len(), 2, "{log:?}");
    assert_eq!(runs[0].steps, [1, 2]);
    let first = runs[0].finished.as_ref().expect("the stopped run finished");
    assert_eq!(
        (num(first, "steps"), &first["complete"]),
        (2, &Value::Bool(false))
    );
    assert_eq!(runs[1].steps, (3..=12).collect::<Vec<_>>());
    assert_same_run(&run);
}

#[test]
#[cfg(target_os = "linux")]
fn a_second_ctrl_c_ends_the_process_at_once_and_the_saved_checkpoint_stays() {
    let tmp = tempfile::tempdir().unwrap();
    // The first Ctrl-C comes once a step is done: the run stops at the next step boundary (or
    // at the end of its epoch), saves, and waits after its `stopped` event for the second.
    let (mut child, run, err) = start_tiny(tmp.path(), &["--quiet", "--pause-at", "stopped"]);
    let o = run.to_str().unwrap();
    wait_for(&mut child, &run, &err, |e| name(e) == "step_done");
    interrupt(&child);
    wait_for(&mut child, &run, &err, |e| {
        name(e) == "paused" && e.get("until").is_some_and(|u| u == "killed")
    });
    interrupt(&child);
    let (code, said) = ended(child, &err);
    assert_eq!(code, Some(130), "{said}");
    let log = events(&run);
    assert!(
        !log.iter().any(|e| name(e) == "finished"),
        "the second Ctrl-C must end the process before its run finishes: {log:?}"
    );
    let stopped = first(&log, "stopped");
    let state = latest_state(&run);
    assert_eq!(state["step"], stopped["global_step"], "{state} {stopped:?}");
    ok(&echoone(&["train", "--quiet", "--out", o, "--resume"]));
    let runs = processes(&events(&run));
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].from_step, num(stopped, "global_step"));
    assert_same_run(&run);
}

#[test]
fn a_two_device_run_killed_mid_epoch_resumes_to_the_uninterrupted_result() {
    // Data parallel (two CPU devices), a checkpoint after every step, killed as the second step
    // begins: the resumed process runs steps 2 to 4 on both devices and ends where the
    // uninterrupted two-device run does.
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(2).with_steps_per_epoch(2).with_batch_size(4);
    let config = write_config(tmp.path(), "config.json", &run);
    let c = config.to_str().unwrap();
    let on_two = ["train", "--quiet", "--devices", "0,1"];
    let whole = tmp.path().join("whole");
    let w = whole.to_str().unwrap();
    ok(&echoone(
        &[&on_two[..], &["--config", c, "--out", w]].concat(),
    ));
    let parts = tmp.path().join("parts");
    let p = parts.to_str().unwrap();
    let err = tmp.path().join("stderr.txt");
    let child = spawn(
        &[
            &on_two[..],
            &[
                "--config",
                c,
                "--out",
                p,
                "--checkpoint-every",
                "1",
                "--pause-at",
                "step_started:2",
            ],
        ]
        .concat(),
        tmp.path(),
        &err,
    );
    kill_at(child, &parts, &err, |e| name(e) == "paused");
    ok(&echoone(&[&on_two[..], &["--out", p, "--resume"]].concat()));
    let runs = processes(&events(&parts));
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].steps, [1, 2]);
    assert_eq!(runs[1].steps, [2, 3, 4]);
    let (a, b) = (history(&whole), history(&parts));
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.train_loss, x.val_dice),
            (y.train_loss, y.val_dice),
            "epoch {}",
            x.epoch
        );
    }
    assert!(
        latest_weights(&run.model, &whole) == latest_weights(&run.model, &parts),
        "final weights differ"
    );
}

/// Copies the folder `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_bad_checkpoint_is_a_clear_error_naming_its_file_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    copy_dir(whole(), &run);
    let o = run.to_str().unwrap();
    let latest = run.join("checkpoints/latest");
    let resume = || {
        let out = echoone(&["train", "--quiet", "--out", o, "--resume", "--epochs", "3"]);
        let err = fails(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    // Each file spoilt in turn, then put back.
    let spoil = |file: &str, bad: &[u8], says: &[&str]| {
        let path = latest.join(file);
        let good = fs::read(&path).unwrap();
        fs::write(&path, bad).unwrap();
        let err = resume();
        assert!(err.contains(&format!("latest/{file}")), "{file}: {err}");
        for s in says {
            assert!(err.contains(s), "{file}: {err}");
        }
        assert_eq!(fs::read(&path).unwrap(), bad, "{file} was changed");
        fs::write(&path, good).unwrap();
    };
    spoil("state.json", b"{ not json", &["not a training state"]);
    let half = |file: &str| {
        let good = fs::read(latest.join(file)).unwrap();
        good[..good.len() / 2].to_vec()
    };
    spoil("model.mpk", b"\x92\x01", &["cannot load these weights"]);
    spoil(
        "model.mpk",
        &half("model.mpk"),
        &["cannot load these weights"],
    );
    spoil(
        "optimizer.mpk",
        &[0u8; 7],
        &["cannot load this optimiser state"],
    );
    spoil("optimizer.mpk", &half("optimizer.mpk"), &["UnexpectedEof"]);
    let config = fs::read_to_string(latest.join("config.json")).unwrap();
    let other = config.replace("cases=10", "cases=11");
    assert_ne!(config, other);
    spoil("config.json", other.as_bytes(), &["differ"]);
    // A mid-epoch place the run cannot continue (epoch 7 of a run with 2 done).
    let mut state: Value =
        serde_json::from_slice(&fs::read(latest.join("state.json")).unwrap()).unwrap();
    state["position"] = serde_json::json!({
        "epoch": 7, "steps": 1, "seed": 42, "lr": 0.002, "seen": 8, "sums": {},
        "train_seconds": 1.0
    });
    spoil(
        "state.json",
        state.to_string().as_bytes(),
        &["inside epoch 7"],
    );
    // Put back, the run resumes.
    assert_eq!(history(&run).len(), 2);
}
