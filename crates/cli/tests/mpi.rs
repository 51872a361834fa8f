//! Training across processes. With the `mpi` feature (`cargo test -p echoone-cli --features mpi
//! --test mpi`, Open MPI installed): two processes of one replica each under `mpirun` train
//! exactly as one process with two replicas (every loss, the validation, every weight and
//! BatchNorm statistic bit for bit), and only process 0 writes the run. Without the feature: a
//! process started as one of several refuses to train alone.

mod common;

use std::process::Command;

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

#[cfg(feature = "mpi")]
#[test]
fn two_processes_train_as_one_process_with_two_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "config.json", &tiny_run(2));
    let config = config.to_str().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    ok(&echoone(&[
        "train",
        "--quiet",
        "--config",
        config,
        "--replicas",
        "2",
        "--out",
        one.to_str().unwrap(),
    ]));
    let out = mpirun(2)
        .args(["train", "--no-dashboard", "--config", config])
        .args(["--replicas", "1", "--out", two.to_str().unwrap()])
        .output()
        .expect("run mpirun (Open MPI's openmpi-bin)");
    let printed = ok(&out) + &String::from_utf8_lossy(&out.stderr);
    for line in ["backend flex, device cpu", "data parallel over 2 processes"] {
        let times = printed.matches(line).count();
        assert_eq!(times, 1, "process 0 alone prints {line:?}:\n{printed}");
    }
    let (a, b) = (history(&one), history(&two));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss, "epoch {}", x.epoch);
        assert_eq!(x.train_terms, y.train_terms, "epoch {}", x.epoch);
        assert_eq!(x.val_loss, y.val_loss, "epoch {}", x.epoch);
        assert_eq!(x.val_dice, y.val_dice, "epoch {}", x.epoch);
    }
    let model = tiny_run(2).model;
    let (wa, wb) = (latest_weights(&model, &one), latest_weights(&model, &two));
    assert_eq!(wa.keys().collect::<Vec<_>>(), wb.keys().collect::<Vec<_>>());
    assert!(wa.keys().any(|k| k.ends_with("running_var")), "BatchNorm");
    for (name, values) in &wa {
        let same = values
            .iter()
            .zip(&wb[name])
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs");
    }
    // Process 0 alone writes the run log and the step log.
    let log = events(&two);
    let pids: std::collections::BTreeSet<u64> = log.iter().map(|e| num(e, "pid")).collect();
    assert_eq!(pids.len(), 1, "one process logs");
    assert_eq!(num(first(&log, "started"), "processes"), 2);
    let steps = std::fs::read_to_string(two.join("steps.csv")).unwrap();
    assert_eq!(steps.lines().count(), 1 + 12, "a header and 12 steps, once");
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
