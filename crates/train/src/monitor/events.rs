//! `events.jsonl`: what each process of a run did, one JSON object a line, appended and handed
//! to the operating system line by line (a kill loses no line already written). Every line has
//! `event`, `pid` (the process that wrote it) and `seconds` (since that process started); a
//! resumed run appends, so the file tells which process ran which steps.
//!
//! The events, in the order a process writes them:
//!
//! | event | fields | when |
//! | --- | --- | --- |
//! | `started` | `resume`, `epochs`, `steps_per_epoch`, `total_steps`, `checkpoint_every`, `devices` | the data is loaded |
//! | `resumed` | `epoch` (completed), `step` (optimiser steps done), `epoch_step` (steps done in the epoch under way), `checkpoint` | a checkpoint is restored |
//! | `step_started` / `step_done` | `epoch`, `step` (in the epoch, from 1), `global_step` (from 1); `loss` when done | around each optimiser step |
//! | `validation_started` | `epoch` | the epoch's training steps are done |
//! | `epoch_done` | `epoch`, `steps` (run by this process in this epoch), `steps_per_epoch`, `val_dice` | validated, before its checkpoints |
//! | `checkpoint_started` / `checkpoint_staged` / `checkpoint_swapping` / `checkpoint_written` | `kind` (`latest`, `best`), `epoch`, `epoch_step`, `global_step`, `mid_epoch` | saving: begun, every file written aside, the old one moved aside, the new one in place |
//! | `stopped` | `by` (a signal or the dashboard), `epoch`, `epoch_step`, `global_step`: where `--resume` continues | a stop was asked for, after saving the step it stopped at |
//! | `finished` | `steps` and `epochs` run by this process, `epoch`, `global_step`, `complete` | the process ends its run (done or stopped) |
//! | `failed` | `error` | the run ends with an error |
//!
//! A hidden test hook, [`pause_at`], makes the process wait right after a chosen event, so that
//! tests can kill or signal it at an exact moment (between the renames of a checkpoint, say).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::error::{Result, TrainError};

/// The file name of the run log inside a run folder.
pub const FILE: &str = "events.jsonl";

/// The event after which this process pauses ([`pause_at`]), and its occurrence (from 1).
static PAUSE_AT: OnceLock<(String, usize)> = OnceLock::new();

/// Test hook: after writing the `nth` (from 1) `event` of this process, write `paused` and wait:
/// for the first Ctrl-C or SIGTERM ([`crate::stop`]) if none came yet, else until killed. Set
/// once per process; later calls change nothing.
pub fn pause_at(event: &str, nth: usize) {
    let _ = PAUSE_AT.set((event.to_string(), nth.max(1)));
}

/// An open `events.jsonl`, appended to.
pub struct RunLog {
    path: PathBuf,
    /// `None` for a process that writes no log (a follower of a multi-process run).
    file: Option<File>,
    pid: u32,
    started: Instant,
    /// How many times this process wrote each event.
    counts: Mutex<BTreeMap<String, usize>>,
}

impl RunLog {
    /// Opens `path` for appending (created when missing).
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TrainError::file(path, e))?;
        Ok(Self {
            file: Some(file),
            ..Self::silent(path)
        })
    }

    /// A log of `path` that writes nothing (its events still count, for [`pause_at`]): a
    /// multi-process run's followers leave the log to process 0.
    pub fn silent(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
            pid: std::process::id(),
            started: Instant::now(),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one `event` line with `fields` (a JSON object; anything else is left out).
    pub fn event(&self, event: &str, fields: Value) -> Result<()> {
        self.write(event, fields)?;
        let nth = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(event.to_string()).or_default();
            *n += 1;
            *n
        };
        if PAUSE_AT
            .get()
            .is_some_and(|(name, at)| name == event && *at == nth)
        {
            // A pause before any stop was asked for lasts until the first Ctrl-C or SIGTERM
            // (when the process catches them) or a kill; one after it lasts until a kill.
            let until_signal = !crate::stop::requested_by_signal();
            let until = if until_signal { "signal" } else { "killed" };
            self.write(
                "paused",
                serde_json::json!({ "after": event, "nth": nth, "until": until }),
            )?;
            while !(until_signal && crate::stop::requested_by_signal()) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(())
    }

    fn write(&self, event: &str, fields: Value) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut line = Map::new();
        line.insert("event".into(), event.into());
        line.insert("pid".into(), self.pid.into());
        let seconds = (self.started.elapsed().as_secs_f64() * 1e3).round() / 1e3;
        line.insert("seconds".into(), seconds.into());
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        // One write per line, to a file opened for appending: lines never interleave or tear.
        (&*file)
            .write_all(text.as_bytes())
            .map_err(|e| TrainError::file(&self.path, e))
    }
}

/// Reads the events of a run log (lines that are not JSON objects are skipped: a line being
/// written when the file is read).
pub fn read(path: &Path) -> Result<Vec<Map<String, Value>>> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::file(path, e))?;
    Ok(text
        .lines()
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_one_event_with_its_pid_and_appends_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        RunLog::open(&path)
            .unwrap()
            .event("started", serde_json::json!({ "epochs": 2 }))
            .unwrap();
        let log = RunLog::open(&path).unwrap();
        log.event("step_done", serde_json::json!({ "step": 1, "loss": 0.5 }))
            .unwrap();
        log.event("finished", Value::Null).unwrap();
        std::fs::write(
            dir.path().join("torn.jsonl"),
            format!("{}{{\"event\":", std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        let events = read(&dir.path().join("torn.jsonl")).unwrap();
        let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(names, ["started", "step_done", "finished"]);
        assert_eq!(events[0]["epochs"], 2);
        assert_eq!(events[1]["loss"], 0.5);
        assert!(
            events
                .iter()
                .all(|e| e["pid"] == std::process::id() && e["seconds"].is_number())
        );
    }

    #[test]
    fn an_unwritable_log_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join(FILE);
        let err = RunLog::open(&path).err().expect("no such folder");
        assert!(err.to_string().contains(FILE), "{err}");
    }
}
