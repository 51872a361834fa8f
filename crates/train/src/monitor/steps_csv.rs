//! `steps.csv`: the wall-clock time of every training step and the kernels compiled so far, for
//! measuring warm-up and steady-state speed (each step ends when its loss is read back, so the
//! times are real on asynchronous backends too). A log, not a result: a resumed run appends.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Result, TrainError};

/// The header of `steps.csv`.
pub const HEADER: &str = "epoch,step,items,step_seconds,since_start_seconds,kernels_compiled";

/// An open `steps.csv`, appended to as steps finish.
pub struct StepsLog {
    path: PathBuf,
    /// `None` for a process that writes no log (a follower of a multi-process run).
    file: Option<File>,
}

impl StepsLog {
    /// Opens `path` for appending, writing the header when the file is new or empty.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| TrainError::file(path, e);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if file.metadata().map_err(io)?.len() == 0 {
            writeln!(file, "{HEADER}").map_err(io)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: Some(file),
        })
    }

    /// A log of `path` that writes nothing: a multi-process run's followers leave it to
    /// process 0.
    pub fn silent(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
        }
    }

    /// Appends one step (`kernels` empty where the backend compiles none).
    pub fn write(
        &mut self,
        epoch: usize,
        step: usize,
        items: usize,
        step_seconds: f64,
        started: &Instant,
        kernels: Option<usize>,
    ) -> Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let kernels = kernels.map_or(String::new(), |k| k.to_string());
        writeln!(
            file,
            "{epoch},{step},{items},{step_seconds:.4},{:.3},{kernels}",
            started.elapsed().as_secs_f64()
        )
        .map_err(|e| TrainError::file(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_once_then_one_row_per_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.csv");
        let t = Instant::now();
        StepsLog::open(&path)
            .unwrap()
            .write(1, 1, 6, 0.5, &t, Some(12))
            .unwrap();
        StepsLog::open(&path)
            .unwrap()
            .write(1, 2, 6, 0.25, &t, None)
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], HEADER);
        assert!(lines[1].starts_with("1,1,6,0.5000,") && lines[1].ends_with(",12"));
        assert!(lines[2].starts_with("1,2,6,0.2500,") && lines[2].ends_with(','));
    }

    #[test]
    fn an_unwritable_log_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("steps.csv");
        let err = StepsLog::open(&path).err().expect("no such folder");
        assert!(err.to_string().contains("steps.csv"), "{err}");
    }
}
