//! Training across processes. With the `mpi` feature (`cargo test -p echoone-cli --features mpi
//! --test mpi`, Open MPI installed), two processes of one replica each under `mpirun`:
//! - train exactly as one process with two replicas (every loss, the validation, every weight and
//!   BatchNorm statistic bit for bit), and only process 0 writes the run;
//! - stopped after an epoch, resume under `mpirun` to that same end;
//! - when one is killed, the job ends within 30 s with `mpirun` naming it, epoch 1's checkpoint
//!   stays intact, and the run resumes to that same end;
//! - asked to stop (SIGINT) each at its own moment, all stop after the same step, saved once,
//!   and the run resumes to that same end.
//!
//! Without the feature: a process started as one of several refuses to train alone.

mod common;

use std::process::Command;
#[cfg(feature = "mpi")]
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::OnceLock,
};

use common::*;

/// Sets what Open MPI needs on a machine where tests run as root, in containers with fewer
/// cores than processes.
#[cfg(feature = "mpi")]
fn mpirun(processes: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-n", &processes.to_string()])
        .arg(env!("CARGO_BIN_EXE_echoone"));
    cmd
}

/// The run every test compares with: `tiny_run(2)` as one process with two replicas, trained
/// once for the tests of this file (in cargo's test scratch space), with its configuration.
#[cfg(feature = "mpi")]
fn single() -> &'static (PathBuf, PathBuf) {
    static SINGLE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SINGLE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("mpi-single-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a scratch folder")
            .keep();
        let config = write_config(&dir, "config.json", &tiny_run(2));
        let run = dir.join("one");
        ok(&echoone(&[
            "train",
            "--quiet",
            "--config",
            config.to_str().unwrap(),
            "--replicas",
            "2",
            "--out",
            run.to_str().unwrap(),
        ]));
        (config, run)
    })
}

/// Asserts that the run in `two` has [`single`]'s history (losses, validation) and final
/// weights and BatchNorm statistics, bit for bit.
#[cfg(feature = "mpi")]
fn assert_same_as_single(two: &Path) {
    let one = &single().1;
    let (a, b) = (history(one), history(two));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss, "epoch {}", x.epoch);
        assert_eq!(x.train_terms, y.train_terms, "epoch {}", x.epoch);
        assert_eq!(x.val_loss, y.val_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_dice, y.val_dice, "epoch {}", x.epoch);
    }
    let model = tiny_run(2).model;
    let (wa, wb) = (latest_weights(&model, one), latest_weights(&model, two));
    assert_eq!(wa.keys().collect::<Vec<_>>(), wb.keys().collect::<Vec<_>>());
    assert!(wa.keys().any(|k| k.ends_with("running_var")), "BatchNorm");
    for (name, values) in &wa {
        let same = values
            .iter()
            .zip(&wb[name])
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs");
    }
}

/// `echoone train` as two processes of one replica each into `out`, with `extra` flags.
#[cfg(feature = "mpi")]
fn two_processes(out: &Path, extra: &[&str]) -> Command {
    let mut cmd = mpirun(2);
    cmd.args(["train", "--no-dashboard", "--replicas", "1", "--out"])
        .arg(out)
        .args(extra);
    cmd
}

#[cfg(feature = "mpi")]
#[test]
fn two_processes_train_as_one_process_with_two_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two");
    let config = single().0.to_str().unwrap();
    let out = two_processes(&two, &["--config", config])
        .output()
        .expect("run mpirun (Open MPI's openmpi-bin)");
    let printed = ok(&out) + &String::from_utf8_lossy(&out.stderr);
    for line in ["backend flex, device cpu", "data parallel over 2 processes"] {
        let times = printed.matches(line).count();
        assert_eq!(times, 1, "process 0 alone prints {line:?}:\n{printed}");
    }
    assert_same_as_single(&two);
    // Process 0 alone writes the run log and the step log.
    let log = events(&two);
    let pids: BTreeSet<u64> = log.iter().map(|e| num(e, "pid")).collect();
    assert_eq!(pids.len(), 1, "one process logs");
    assert_eq!(num(first(&log, "started"), "processes"), 2);
    let steps = std::fs::read_to_string(two.join("steps.csv")).unwrap();
    assert_eq!(steps.lines().count(), 1 + 12, "a header and 12 steps, once");
}

#[cfg(feature = "mpi")]
#[test]
fn two_processes_stopped_after_an_epoch_resume_to_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two");
    let config = single().0.to_str().unwrap();
    ok(
        &two_processes(&two, &["--config", config, "--stop-after", "1"])
            .output()
            .unwrap(),
    );
    assert_eq!(history(&two).len(), 1, "stopped after epoch 1");
    ok(&two_processes(&two, &["--resume"]).output().unwrap());
    assert_same_as_single(&two);
}

#[cfg(feature = "mpi")]
#[test]
fn a_killed_process_ends_the_job_and_the_run_resumes_to_the_same_end() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two");
    let config = single().0.to_str().unwrap();
    // Every process pauses after its ninth step (epoch 2, step 3): epoch 1 is saved by then.
    let mut job = paused_job(&two, config, "step_done:9");
    let killed = Instant::now();
    signal(&job, 1, "KILL");
    let status = job.wait().unwrap();
    let took = killed.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(job.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "the job must fail");
    assert!(
        took < Duration::from_secs(30),
        "ended {took:?} after the kill"
    );
    assert!(stderr.contains("rank 1"), "names the process:\n{stderr}");
    assert_eq!(history(&two).len(), 1, "epoch 1's checkpoint intact");
    ok(&two_processes(&two, &["--resume"]).output().unwrap());
    assert_same_as_single(&two);
}

#[cfg(feature = "mpi")]
#[test]
fn a_stop_asked_of_each_process_at_its_own_moment_stops_all_after_one_step_saved_once() {
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two");
    let config = single().0.to_str().unwrap();
    // Every process pauses after its fourth step until it gets its own SIGINT (as `scancel` or
    // a terminal's Ctrl-C would send), one after the other.
    let mut job = paused_job(&two, config, "step_done:4");
    for rank in [1, 0] {
        signal(&job, rank, "INT");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    job.wait().unwrap();
    let log = events(&two);
    let stopped: Vec<&Event> = log.iter().filter(|e| name(e) == "stopped").collect();
    assert_eq!(stopped.len(), 1, "one stop, saved once: {log:?}");
    // Both asked during step 5's sums at the latest: all stop after step 5.
    assert_eq!(num(stopped[0], "epoch_step"), 5);
    assert_eq!(latest_state(&two)["position"]["steps"], 5);
    ok(&two_processes(&two, &["--resume"]).output().unwrap());
    assert_same_as_single(&two);
}

/// Two processes training [`single`]'s configuration into `two`, started and waited for until
/// process 0 pauses after the event `at` (`--pause-at`; every process pauses there); stderr
/// piped.
#[cfg(feature = "mpi")]
fn paused_job(two: &Path, config: &str, at: &str) -> Child {
    use std::time::{Duration, Instant};

    let job = two_processes(two, &["--config", config, "--pause-at", at])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !events_if_any(two).iter().any(|e| name(e) == "paused") {
        assert!(started.elapsed() < Duration::from_secs(300), "no pause");
        std::thread::sleep(Duration::from_millis(100));
    }
    job
}

/// Sends `signal` (`KILL`, `INT`) to process `rank` of the job `mpirun` runs as `job`.
#[cfg(feature = "mpi")]
fn signal(job: &Child, rank: usize, signal: &str) {
    let pid = rank_process(job.id(), rank).expect("a process of the job");
    let sent = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// The run log of `run`, empty while it does not exist.
#[cfg(feature = "mpi")]
fn events_if_any(run: &Path) -> Vec<Event> {
    echoone_train::monitor::events::read(&run.join("events.jsonl")).unwrap_or_default()
}

/// The process id of MPI rank `rank` among the children of `launcher` (mpirun starts the
/// processes of a job on this machine itself), from their environment.
#[cfg(feature = "mpi")]
fn rank_process(launcher: u32, rank: usize) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|pid| pid.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|var| var == format!("OMPI_COMM_WORLD_RANK={rank}").as_bytes())
            })
        })
}

#[cfg(not(feature = "mpi"))]
#[test]
fn a_process_started_as_one_of_several_refuses_to_train_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .args(["train", "--quiet", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let err = fails(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("without the `mpi` feature"), "{err}");
    assert!(!dir.path().join("run").exists(), "nothing written");
}
