//! `echoone train --resume` without `--out` continues the newest `runs/train-<date>-<time>`
//! folder of the working directory, by the stamp in its name: not an older run, not a folder
//! or file that only looks like one.

mod common;

use std::fs;
use std::process::Command;

use common::*;

#[test]
fn resume_without_out_continues_the_newest_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "config.json",
        &tiny_run(2).with_steps_per_epoch(2).with_overlays(0),
    );
    let runs = tmp.path().join("runs");
    let older = runs.join("train-20260101-000000");
    let newer = runs.join("train-20260102-000000");
    // Both stopped after their first epoch of two; the newer one is trained first, so the
    // older one's files are the more recently written.
    for run in [&newer, &older] {
        ok(&echoone(&[
            "train",
            "--quiet",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--stop-after",
            "1",
        ]));
        assert_eq!(history(run).len(), 1);
    }
    // Names that sort after the newest but are not run folders of `default_out`'s making.
    fs::create_dir(runs.join("train-20260103-12000")).unwrap();
    fs::create_dir(runs.join("train-latest")).unwrap();
    fs::write(runs.join("train-20260104-000000"), "a file, not a run").unwrap();

    let resumed = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(["train", "--quiet", "--resume"])
        .current_dir(tmp.path())
        .output()
        .expect("run echoone train --resume");
    ok(&resumed);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("resuming runs/train-20260102-000000"),
        "{stderr}"
    );
    assert_eq!(history(&newer).len(), 2, "the newest run was not continued");
    assert_eq!(history(&older).len(), 1, "an older run was continued");
}
