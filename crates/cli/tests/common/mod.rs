//! Shared helpers of the `echoone` tests: the library helpers of echoone-train's tests (a tiny
//! run, items, a prior, parameter values), the binary, and readers of a run's files.

#![allow(dead_code)]

#[path = "../../../train/tests/common/mod.rs"]
mod library;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use echoone_model::EchoOneConfig;
use echoone_run::{Checkpoint, EpochRecord};
pub use library::*;

/// Runs the `echoone` binary with `args`.
pub fn echoone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(args)
        .output()
        .expect("run the echoone binary")
}

/// Asserts success, printing stderr otherwise.
pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "echoone failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts failure and returns stderr.
pub fn fails(out: &Output) -> String {
    assert!(!out.status.success(), "echoone should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The history saved in a run folder's latest checkpoint.
pub fn history(run: &Path) -> Vec<EpochRecord> {
    Checkpoint::open(&run.join("checkpoints/latest"))
        .expect("latest checkpoint")
        .state
        .history
}

/// The weights of a run folder's latest checkpoint, loaded into a model of `config`.
pub fn latest_weights(config: &EchoOneConfig, run: &Path) -> BTreeMap<String, Vec<f32>> {
    let dir = run.join("checkpoints/latest");
    let device = Default::default();
    values(&echoone_run::checkpoint::load_model::<burn_flex::Flex>(config, &dir, &device).unwrap())
}

/// Sends SIGINT, as Ctrl-C in a terminal does, to `child`.
#[cfg(target_os = "linux")]
pub fn interrupt(child: &std::process::Child) {
    use rustix::process::{Pid, Signal, kill_process};
    kill_process(Pid::from_child(child), Signal::INT).expect("SIGINT echoone");
}

/// One event of a run log (`events.jsonl`).
pub type Event = serde_json::Map<String, serde_json::Value>;

/// The event's name.
pub fn name(e: &Event) -> &str {
    e.get("event")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

/// The event's unsigned field `field`.
pub fn num(e: &Event, field: &str) -> u64 {
    e.get(field)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("no {field} in {e:?}"))
}

/// The first event named `event` in `log`.
pub fn first<'a>(log: &'a [Event], event: &str) -> &'a Event {
    log.iter()
        .find(|e| name(e) == event)
        .unwrap_or_else(|| panic!("no {event} event in {log:?}"))
}

/// The events of the run log of the run in `run`.
pub fn events(run: &Path) -> Vec<Event> {
    echoone_train::monitor::events::read(&run.join("events.jsonl")).expect("events.jsonl")
}

/// The `state.json` of the `latest` checkpoint of the run in `run`.
pub fn latest_state(run: &Path) -> serde_json::Value {
    let path = run.join("checkpoints/latest/state.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}
