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

impl Default for SplitPlan {
    fn default() -> Self {
        Self {
            val: 0.1,
            test: 0.2,
            seed: 1234,
        }
    }
}

/// The content of `splits.json`: the plan it was drawn with and the split of every case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitFile {
    /// The plan of the draw.
    pub plan: SplitPlan,
    /// `dataset/case` -> split.
    pub cases: BTreeMap<String, Split>,
}

/// The key of a sample's case in a split file: `dataset/case`.
pub fn case_key(sample: &Sample) -> String {
    format!("{}/{}", sample.info.dataset, sample.info.case)
}

/// Draws a split of `cases` (each case wholly in one split), deterministic by `plan.seed`.
pub fn draw(cases: &BTreeSet<String>, plan: &SplitPlan) -> Result<BTreeMap<String, Split>> {
    if !(0.0..1.0).contains(&plan.val)
        || !(0.0..1.0).contains(&plan.test)
        || plan.val + plan.test >= 1.0
    {
        return Err(DataError::Invalid(format!(
            "split fractions val {} and test {} must be in [0, 1) and leave cases for training",
            plan.val, plan.test
        )));
    }
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

/// Gives every sample without an official split the split of its case: from `file` when it
/// exists, else drawn by `plan` (and saved to `file` when given).
pub fn assign(samples: &mut [Sample], plan: &SplitPlan, file: Option<&Path>) -> Result<()> {
    let need: BTreeSet<String> = samples
        .iter()
        .filter(|s| s.info.split.is_none())
        .map(case_key)
        .collect();
    if need.is_empty() {
        return Ok(());
    }
    let cases = match file {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
            let saved: SplitFile = serde_json::from_str(&text)
                .map_err(|e| DataError::format(path, format!("not a splits file: {e}")))?;
            if let Some(missing) = need.iter().find(|c| !saved.cases.contains_key(*c)) {
                return Err(DataError::format(
                    path,
                    format!(
                        "case {missing} is not in this splits file (written for other data?); \
                         delete the file to draw a new split"
                    ),
                ));
            }
            saved.cases
        }
        _ => {
            let cases = draw(&need, plan)?;
            if let Some(path) = file {
                let saved = SplitFile {
                    plan: *plan,
                    cases: cases.clone(),
                };
                let text = serde_json::to_string_pretty(&saved)
                    .map_err(|e| DataError::Invalid(format!("cannot encode splits: {e}")))?;
                write_atomic(path, text.as_bytes())?;
            }
            cases
        }
    };
    for s in samples.iter_mut().filter(|s| s.info.split.is_none()) {
        s.info.split = cases.get(&case_key(s)).copied();
    }
    Ok(())
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
        assert!(!file.exists());
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
}
