//! Splits: official split files win; otherwise a patient-level split drawn once by seed, saved
//! as `splits.json` and reused ever after.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::png_io::write_atomic;
use crate::rng::Rng;
use crate::sample::{Sample, Split};

/// How to draw a patient-level split for cases without an official one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Fraction of cases for validation.
    pub val: f64,
    /// Fraction of cases for test.
    pub test: f64,
    /// Seed of the draw.
    pub seed: u64,
}

impl SplitPlan {
    /// Checks the fractions: each in [0, 1), leaving cases for training.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.val)
            || !(0.0..1.0).contains(&self.test)
            || self.val + self.test >= 1.0
        {
            return Err(DataError::Invalid(format!(
                "split fractions val {} and test {} must be in [0, 1) and leave cases for training",
                self.val, self.test
            )));
        }
        Ok(())
    }
}

impl Default for SplitPlan {
    fn default() -> Self {
        Self {
            val: 0.1,
            test: 0.2,
            seed: 1234,
        }
    }
}

/// The version of `splits.json` this code writes: every case of the run, official or drawn.
pub const SPLIT_FILE_VERSION: u32 = 2;

/// The content of `splits.json`: the plan it was drawn with and the split of every case.
///
/// Version 2 (written since 2026-12-06) records every case of the run, official splits
/// included, under keys whose synthetic dataset names carry their seed. Version 1 recorded the
/// drawn cases only, every synthetic seed under the dataset name `synthetic`; it is read as it
/// was written and made complete with [`SplitFile::completed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitFile {
    /// The format version (1 when the file does not say).
    #[serde(default = "first_version")]
    pub version: u32,
    /// The plan of the draw.
    pub plan: SplitPlan,
    /// `dataset/case` -> split.
    pub cases: BTreeMap<String, Split>,
    /// The cases whose split their dataset gave (official split files, EchoNet's `Split`
    /// column, the authors' lists), not the draw.
    #[serde(default)]
    pub official: BTreeSet<String>,
}

fn first_version() -> u32 {
    1
}

/// The key of a sample's case in a split file: `dataset/case`.
pub fn case_key(sample: &Sample) -> String {
    format!("{}/{}", sample.info.dataset, sample.info.case)
}

/// The key a version-1 file gave the case: every synthetic seed under `synthetic`.
fn legacy_key(sample: &Sample) -> String {
    match sample.info.dataset.strip_prefix("synthetic-seed") {
        Some(_) => format!("synthetic/{}", sample.info.case),
        None => case_key(sample),
    }
}

/// Draws a split of `cases` (each case wholly in one split), deterministic by `plan.seed`.
pub fn draw(cases: &BTreeSet<String>, plan: &SplitPlan) -> Result<BTreeMap<String, Split>> {
    plan.validate()?;
    let mut order: Vec<&String> = cases.iter().collect();
    let mut rng = Rng::new(plan.seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let n = order.len() as f64;
    let n_test = (n * plan.test).round() as usize;
    let n_val = (n * plan.val).round() as usize;
    Ok(order
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let split = if i < n_test {
                Split::Test
            } else if i < n_test + n_val {
                Split::Val
            } else {
                Split::Train
            };
            (case.clone(), split)
        })
        .collect())
}

impl SplitFile {
    /// Reads a split file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let file: SplitFile = serde_json::from_str(&text)
            .map_err(|e| DataError::format(path, format!("not a splits file: {e}")))?;
        if file.version > SPLIT_FILE_VERSION {
            return Err(DataError::format(
                path,
                format!(
                    "splits file version {} is newer than this program reads ({SPLIT_FILE_VERSION})",
                    file.version
                ),
            ));
        }
        if let Some((case, _)) = file.cases.iter().find(|(_, s)| **s == Split::External) {
            return Err(DataError::format(
                path,
                format!("case {case} is marked external: a run's cases are train, val or test"),
            ));
        }
        Ok(file)
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| DataError::Invalid(format!("cannot encode splits: {e}")))?;
        write_atomic(path, text.as_bytes())
    }

    /// Whether the file records every case of its run (version 2 and later).
    pub fn is_complete(&self) -> bool {
        self.version >= 2
    }

    /// The split this file gives the case of `sample` as a run's own data: a version-2 file's
    /// record; in a version-1 file the official split, else the drawn one.
    fn split_in_run(&self, sample: &Sample) -> Option<Split> {
        if self.is_complete() {
            self.cases.get(&case_key(sample)).copied()
        } else {
            sample
                .info
                .split
                .or_else(|| self.cases.get(&legacy_key(sample)).copied())
        }
    }

    /// The split recorded for the case of `sample` as one of the run's own (see
    /// [`SplitFile::split_in_run`]): an error naming the case when the file does not hold it, or
    /// when its dataset now states another official split than the one recorded.
    fn recorded(&self, sample: &Sample, path: &Path) -> Result<Split> {
        let key = case_key(sample);
        match (self.split_in_run(sample), sample.info.split) {
            (None, _) => Err(DataError::format(
                path,
                format!(
                    "case {key} is not in this splits file (written for other data?); delete \
                     the file to draw a new split"
                ),
            )),
            (Some(run), Some(official)) if run != official => Err(DataError::format(
                path,
                format!(
                    "case {key}: recorded as {run}, but its dataset now says {official}; the \
                     data changed since the split was written"
                ),
            )),
            (Some(run), _) => Ok(run),
        }
    }

    /// This file made complete (version 2) from `run_samples`, the run's own data as loaded
    /// (official splits set, nothing assigned yet): every case gets the split the run gave it.
    /// A version-2 file comes back unchanged; `path` names the file in errors.
    pub fn completed(self, run_samples: &[Sample], path: &Path) -> Result<Self> {
        if self.is_complete() {
            return Ok(self);
        }
        let mut cases = BTreeMap::new();
        let mut official = BTreeSet::new();
        for s in run_samples {
            let split = self.recorded(s, path)?;
            if s.info.split.is_some() {
                official.insert(case_key(s));
            }
            cases.insert(case_key(s), split);
        }
        Ok(Self {
            version: SPLIT_FILE_VERSION,
            plan: self.plan,
            cases,
            official,
        })
    }

    /// Gives every sample the split its run gave its case, and [`Split::External`] to a case the
    /// run never saw. The file must be complete ([`SplitFile::completed`]). A case whose dataset
    /// now states another official split than the run used is an error naming both: the data
    /// changed since the run, and its numbers would no longer mean what they say.
    pub fn apply(&self, samples: &mut [Sample], path: &Path) -> Result<()> {
        if !self.is_complete() {
            return Err(DataError::format(
                path,
                "version 1 lists only the drawn cases: complete it with the run's data first",
            ));
        }
        for s in samples.iter_mut() {
            let key = case_key(s);
            s.info.split = match (self.cases.get(&key), s.info.split) {
                (Some(&run), Some(official)) if run != official => {
                    return Err(DataError::format(
                        path,
                        format!(
                            "case {key}: recorded as {run}, but its dataset now says {official}; \
                             the data changed since the run"
                        ),
                    ));
                }
                (Some(&run), _) => Some(run),
                (None, _) => Some(Split::External),
            };
        }
        Ok(())
    }
}

/// Gives every sample the split of its case, official splits first: from `file` when it exists
/// (the file wins over `plan`), else drawn by `plan` and, when `file` is given, recorded there
/// for every case, official or drawn, so that later commands never draw again. Returns the
/// record of every case of `samples` (what a new file holds).
pub fn assign(samples: &mut [Sample], plan: &SplitPlan, file: Option<&Path>) -> Result<SplitFile> {
    let official: BTreeSet<String> = samples
        .iter()
        .filter(|s| s.info.split.is_some())
        .map(case_key)
        .collect();
    let saved = match file.filter(|p| p.exists()) {
        Some(path) => Some((SplitFile::read(path)?, path)),
        None => None,
    };
    let plan = match &saved {
        Some((saved, path)) => {
            for s in samples.iter_mut() {
                s.info.split = Some(saved.recorded(s, path)?);
            }
            saved.plan
        }
        None => {
            let need: BTreeSet<String> = samples
                .iter()
                .filter(|s| s.info.split.is_none())
                .map(case_key)
                .collect();
            let drawn = draw(&need, plan)?;
            for s in samples.iter_mut().filter(|s| s.info.split.is_none()) {
                s.info.split = drawn.get(&case_key(s)).copied();
            }
            *plan
        }
    };
    let record = SplitFile {
        version: SPLIT_FILE_VERSION,
        plan,
        cases: samples
            .iter()
            .filter_map(|s| s.info.split.map(|split| (case_key(s), split)))
            .collect(),
        official,
    };
    if let (Some(path), None) = (file, &saved) {
        record.write(path)?;
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticConfig;

    fn samples() -> Vec<Sample> {
        SyntheticConfig {
            cases: 10,
            width: 32,
            height: 32,
            phases: vec![crate::Phase::Ed],
            ..Default::default()
        }
        .generate(0)
        .unwrap()
    }

    #[test]
    fn patient_level_drawn_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("splits.json");
        let mut a = samples();
        assign(&mut a, &SplitPlan::default(), Some(&file)).unwrap();
        let mut by_case: BTreeMap<String, BTreeSet<Split>> = BTreeMap::new();
        for s in &a {
            by_case
                .entry(case_key(s))
                .or_default()
                .insert(s.info.split.unwrap());
        }
        assert!(by_case.values().all(|v| v.len() == 1));
        let count = |sp| by_case.values().filter(|v| v.contains(&sp)).count();
        assert_eq!(
            (count(Split::Train), count(Split::Val), count(Split::Test)),
            (7, 1, 2)
        );
        // A different plan does not matter once the file exists: the file wins.
        let mut b = samples();
        let other = SplitPlan {
            seed: 5,
            ..SplitPlan::default()
        };
        assign(&mut b, &other, Some(&file)).unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| x.info.split == y.info.split));
        // Without the file, another seed gives another split.
        let mut c = samples();
        assign(&mut c, &other, None).unwrap();
        assert!(a.iter().zip(&c).any(|(x, y)| x.info.split != y.info.split));
    }

    #[test]
    fn official_split_wins_and_stale_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("splits.json");
        let mut a = samples();
        a.iter_mut().for_each(|s| s.info.split = Some(Split::Test));
        assign(&mut a, &SplitPlan::default(), Some(&file)).unwrap();
        assert!(a.iter().all(|s| s.info.split == Some(Split::Test)));
        // The official splits are recorded too, as official.
        let saved = SplitFile::read(&file).unwrap();
        assert_eq!(saved.version, SPLIT_FILE_VERSION);
        assert_eq!(saved.cases.len(), 10);
        assert!(saved.cases.values().all(|&s| s == Split::Test));
        assert_eq!(saved.official.len(), 10);
        // Official splits that changed since the file was written are refused, naming the case.
        let mut changed = samples();
        changed[0].info.split = Some(Split::Train);
        let e = assign(&mut changed, &SplitPlan::default(), Some(&file)).unwrap_err();
        assert!(
            e.to_string().contains("recorded as test") && e.to_string().contains("now says train"),
            "{e}"
        );
        std::fs::write(
            &file,
            r#"{"plan":{"val":0.1,"test":0.2,"seed":1},"cases":{}}"#,
        )
        .unwrap();
        let e = assign(&mut samples(), &SplitPlan::default(), Some(&file)).unwrap_err();
        assert!(e.to_string().contains("splits.json") && e.to_string().contains("synth0001"));
        std::fs::write(&file, "{").unwrap();
        let e = assign(&mut samples(), &SplitPlan::default(), Some(&file)).unwrap_err();
        assert!(e.to_string().contains("not a splits file"));
        let bad = SplitPlan {
            val: 0.6,
            test: 0.5,
            seed: 1,
        };
        assert!(assign(&mut samples(), &bad, None).is_err());
    }

    /// A version-1 file as runs before 2026-12-06 wrote it: the drawn cases only, every
    /// synthetic seed under `synthetic`.
    fn version_1(cases: &[(&str, Split)]) -> String {
        let cases: BTreeMap<String, Split> =
            cases.iter().map(|(c, s)| (c.to_string(), *s)).collect();
        serde_json::json!({"plan": SplitPlan::default(), "cases": cases}).to_string()
    }

    #[test]
    fn a_version_1_file_still_serves_its_run_and_is_completed_from_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("splits.json");
        // Case synth0001 official (test), the others drawn into the file by their old keys.
        let mut run = samples();
        run.iter_mut()
            .filter(|s| s.info.case == "synth0001")
            .for_each(|s| s.info.split = Some(Split::Test));
        let old: Vec<(String, Split)> = (2..=10)
            .map(|i| {
                let split = if i == 2 { Split::Val } else { Split::Train };
                (format!("synthetic/synth{i:04}"), split)
            })
            .collect();
        let old: Vec<(&str, Split)> = old.iter().map(|(c, s)| (c.as_str(), *s)).collect();
        std::fs::write(&file, version_1(&old)).unwrap();
        // Training (resume) reads it as it was written.
        let mut resumed = run.clone();
        assign(&mut resumed, &SplitPlan::default(), Some(&file)).unwrap();
        let of = |samples: &[Sample], case: &str| {
            samples
                .iter()
                .find(|s| s.info.case == case)
                .and_then(|s| s.info.split)
        };
        assert_eq!(of(&resumed, "synth0001"), Some(Split::Test));
        assert_eq!(of(&resumed, "synth0002"), Some(Split::Val));
        assert_eq!(of(&resumed, "synth0003"), Some(Split::Train));
        // Evaluation needs it complete: refused as it is, completed from the run's data.
        let saved = SplitFile::read(&file).unwrap();
        assert!(!saved.is_complete());
        let e = saved.apply(&mut run.clone(), &file).unwrap_err();
        assert!(e.to_string().contains("version 1"), "{e}");
        let complete = saved.completed(&run, &file).unwrap();
        assert!(complete.is_complete());
        assert_eq!(complete.cases.len(), 10);
        assert_eq!(
            complete.official,
            BTreeSet::from(["synthetic-seed1234/synth0001".to_string()])
        );
        let mut evaluated = run.clone();
        complete.apply(&mut evaluated, &file).unwrap();
        assert!(
            evaluated
                .iter()
                .zip(&resumed)
                .all(|(a, b)| a.info == b.info)
        );
        // A file that misses a case of the run cannot be completed.
        std::fs::write(&file, version_1(&old[1..])).unwrap();
        let e = SplitFile::read(&file)
            .unwrap()
            .completed(&run, &file)
            .unwrap_err();
        assert!(e.to_string().contains("synth0002"), "{e}");
    }

    #[test]
    fn cases_outside_the_run_are_external_and_other_seeds_are_other_cases() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("splits.json");
        assign(&mut samples(), &SplitPlan::default(), Some(&file)).unwrap();
        let saved = SplitFile::read(&file).unwrap();
        // The same cases of another seed are other patients: all external.
        let mut other_seed = SyntheticConfig {
            cases: 3,
            width: 32,
            height: 32,
            seed: 99,
            ..Default::default()
        }
        .generate(0)
        .unwrap();
        assert_eq!(other_seed[0].info.case, "synth0001");
        saved.apply(&mut other_seed, &file).unwrap();
        assert!(
            other_seed
                .iter()
                .all(|s| s.info.split == Some(Split::External))
        );
        // The run's own cases get the run's split, whatever split they came with.
        let mut again = samples();
        again.iter_mut().for_each(|s| s.info.split = None);
        saved.apply(&mut again, &file).unwrap();
        assert!(
            again
                .iter()
                .all(|s| saved.cases[&case_key(s)] == s.info.split.unwrap())
        );
        assert!(again.iter().all(|s| s.info.split != Some(Split::External)));
        // A case the run trained on, now said to be test by its dataset, is refused.
        let mut relabelled = samples();
        let trained = relabelled
            .iter()
            .position(|s| saved.cases[&case_key(s)] == Split::Train)
            .unwrap();
        relabelled[trained].info.split = Some(Split::Test);
        let e = saved.apply(&mut relabelled, &file).unwrap_err();
        assert!(e.to_string().contains("recorded as train"), "{e}");
        // A file marking a case external is not a run's.
        std::fs::write(
            &file,
            r#"{"version":2,"plan":{"val":0.1,"test":0.2,"seed":1},"cases":{"a/b":"external"}}"#,
        )
        .unwrap();
        assert!(SplitFile::read(&file).is_err());
    }
}
