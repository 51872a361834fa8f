//! The run folder: where every artefact of a run lives, and the backend it records.
//!
//! ```text
//! OUT/config.json  splits.json  backend.json  metrics.csv  curves.png  summary.json  summary.md
//! OUT/steps.csv  events.jsonl   (logs, appended to by --resume)
//! OUT/prior/       prior.json  centre_masks.npy  purity.md   (PC-Mask on)
//! OUT/checkpoints/latest/  checkpoints/best/   (model, optimiser, state, config, prior)
//! OUT/overlays/epoch_NNN/*.png
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Result, RunError};

/// The folder of one run.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
}

impl RunFolder {
    /// Opens `dir` for a run: a new run needs a folder without a previous run in it; a resumed
    /// one needs the same configuration as the one saved there.
    pub fn open(dir: &Path, config: &TrainConfig, resume: bool) -> Result<Self> {
        let exp = Self {
            dir: dir.to_path_buf(),
        };
        let saved = exp.config();
        if saved.is_file() {
            if !resume {
                return Err(RunError::file(
                    dir,
                    "holds a previous run: pass --resume to continue it, or choose another --out",
                ));
            }
            let previous = TrainConfig::load_json(&saved)?;
            if !previous.same_run(config) {
                return Err(RunError::file(
                    &saved,
                    "was written for another model or other data: resume with the same \
                     configuration (only epochs may change)",
                ));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| RunError::file(dir, e))?;
        Ok(exp)
    }

    /// The folder `dir` as it is, neither checked nor created: how a multi-process run's
    /// followers see the folder that process 0 opened (and alone writes).
    pub fn follow(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// `splits.json`.
    pub fn splits(&self) -> PathBuf {
        self.dir.join("splits.json")
    }

    /// `backend.json` (see [`RunBackend`]).
    pub fn backend(&self) -> PathBuf {
        self.dir.join(RunBackend::FILE)
    }

    /// `prior/`.
    pub fn prior(&self) -> PathBuf {
        self.dir.join("prior")
    }

    /// `checkpoints/latest`.
    pub fn latest(&self) -> PathBuf {
        self.dir.join("checkpoints").join("latest")
    }

    /// `checkpoints/best`.
    pub fn best(&self) -> PathBuf {
        self.dir.join("checkpoints").join("best")
    }

    /// `events.jsonl`, the run log (written by `echoone_train::monitor::events`).
    pub fn events(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    /// `metrics.csv`.
    pub fn metrics_csv(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }

    /// `curves.png`.
    pub fn curves(&self) -> PathBuf {
        self.dir.join("curves.png")
    }

    /// `overlays/epoch_NNN/`: the overlays of one epoch's kept validation items.
    pub fn overlays(&self, epoch: usize) -> PathBuf {
        self.dir.join("overlays").join(format!("epoch_{epoch:03}"))
    }
}

/// `backend.json`: the backend and device a run last trained on, which the commands that use
/// its checkpoints (`eval`, `predict`, `ef`, `train --resume`) take unless told otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunBackend {
    /// The backend's name as `--backend` takes it: flex, ndarray, tch, cuda, cuda-unfused.
    pub backend: String,
    /// The main device as `--device` takes it: cpu, or cuda:N.
    pub device: String,
}

impl RunBackend {
    /// The file name in the run folder.
    pub const FILE: &'static str = "backend.json";

    /// Writes the file into the run folder `run`, atomically.
    pub fn save(&self, run: &Path) -> Result<()> {
        let path = run.join(Self::FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| RunError::file(&path, e))?;
        echoone_data::png_io::write_atomic(&path, (text + "\n").as_bytes())?;
        Ok(())
    }

    /// The backend recorded by the run that `path` names: a run folder, or one of its
    /// checkpoint folders (`RUN/checkpoints/NAME`). `None` when the run records none (runs
    /// written before 2026-12-06, or trained through the library).
    pub fn of_run(path: &Path) -> Result<Option<Self>> {
        let candidates = [Some(path), path.parent().and_then(Path::parent)];
        let Some(file) = candidates
            .into_iter()
            .flatten()
            .map(|dir| dir.join(Self::FILE))
            .find(|f| f.is_file())
        else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&file).map_err(|e| RunError::file(&file, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RunError::file(&file, format!("not a backend record: {e}")))
    }
}
