//! Dataset summaries: counts per plane, structure, split and phase, as a table and as JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::hmcqu::Report;
use crate::sample::{Sample, Structure};

fn bump(map: &mut BTreeMap<String, usize>, key: impl Into<String>) {
    *map.entry(key.into()).or_default() += 1;
}

/// The summary of `samples` as JSON: totals, counts per plane/phase/split/size, per-structure
/// annotated and present counts, and one record per sample.
pub fn summary(samples: &[Sample]) -> Value {
    let mut planes = BTreeMap::new();
    let mut phases = BTreeMap::new();
    let mut splits = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    let mut datasets = BTreeMap::new();
    let mut annotated = BTreeMap::new();
    let mut present = BTreeMap::new();
    let mut plane_split: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut cases = BTreeSet::new();
    let mut records = Vec::with_capacity(samples.len());
    for s in samples {
        let i = &s.info;
        let split = i.split.map_or("none", |x| x.name());
        bump(&mut planes, i.plane.name());
        bump(&mut phases, i.phase.map_or("none", |p| p.name()));
        bump(&mut splits, split);
        bump(&mut datasets, i.dataset.clone());
        bump(
            &mut sizes,
            format!("{}x{}", s.image.width(), s.image.height()),
        );
        bump(plane_split.entry(i.plane.name().into()).or_default(), split);
        cases.insert((i.dataset.clone(), i.case.clone()));
        let here = s.present();
        let mut pixels = BTreeMap::new();
        for st in Structure::ALL {
            if s.annotated.contains(st) {
                bump(&mut annotated, st.name());
            }
            if here.contains(st) {
                bump(&mut present, st.name());
            }
            let n = s
                .label
                .as_raw()
                .iter()
                .filter(|&&v| v == st.label())
                .count();
            if s.annotated.contains(st) {
                pixels.insert(st.name(), n);
            }
        }
        records.push(json!({
            "stem": i.stem(),
            "dataset": i.dataset,
            "centre": i.centre,
            "case": i.case,
            "plane": i.plane,
            "phase": i.phase,
            "frame": i.frame,
            "split": i.split,
            "width": s.image.width(),
            "height": s.image.height(),
            "spacing": i.spacing,
            "structures": s.annotated.iter().collect::<Vec<_>>(),
            "pixels": pixels,
        }));
    }
    json!({
        "images": samples.len(),
        "cases": cases.len(),
        "datasets": datasets,
        "planes": planes,
        "phases": phases,
        "splits": splits,
        "sizes": sizes,
        "structures": { "annotated": annotated, "present": present },
        "planes_by_split": plane_split,
        "samples": records,
    })
}

/// Adds what HMC-QU's sheet held to `summary` under `hmcqu`: its layout (`sheet_layout`) and
/// the recordings read and skipped.
pub fn add_hmcqu(summary: &mut Value, report: &Report) {
    summary["hmcqu"] = report.to_json();
}

/// The summary as a plain-text table (planes by split, then structures, phases and sizes).
pub fn table(summary: &Value) -> String {
    let mut out = format!(
        "{} images, {} cases\n\n",
        summary["images"], summary["cases"]
    );
    let splits = ["train", "val", "test", "none"];
    out.push_str(&format!("{:<10}", "plane"));
    for s in splits {
        out.push_str(&format!("{s:>8}"));
    }
    out.push_str(&format!("{:>8}\n", "total"));
    if let Some(map) = summary["planes_by_split"].as_object() {
        for (plane, counts) in map {
            out.push_str(&format!("{plane:<10}"));
            let mut total = 0;
            for s in splits {
                let n = counts[s].as_u64().unwrap_or(0);
                total += n;
                out.push_str(&format!("{n:>8}"));
            }
            out.push_str(&format!("{total:>8}\n"));
        }
    }
    out.push_str(&format!(
        "\n{:<10}{:>10}{:>10}\n",
        "structure", "annotated", "present"
    ));
    for st in Structure::ALL {
        let a = summary["structures"]["annotated"][st.name()]
            .as_u64()
            .unwrap_or(0);
        let p = summary["structures"]["present"][st.name()]
            .as_u64()
            .unwrap_or(0);
        out.push_str(&format!("{:<10}{a:>10}{p:>10}\n", st.name()));
    }
    out.push('\n');
    for key in ["phases", "sizes", "datasets"] {
        out.push_str(&format!("{key}:"));
        if let Some(map) = summary[key].as_object() {
            for (k, v) in map {
                out.push_str(&format!(" {k} {v},"));
            }
        }
        out.pop();
        out.push('\n');
    }
    let hmcqu = &summary["hmcqu"];
    if hmcqu.is_object() {
        let count = |k: &str| hmcqu["skipped"][k].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "hmcqu: {} ({} layout), {} recordings read; skipped {} unmarked, {} without cycle \
             frames, {} without a mask file\n",
            hmcqu["sheet"].as_str().unwrap_or(""),
            hmcqu["sheet_layout"].as_str().unwrap_or(""),
            hmcqu["recordings_read"],
            count("unmarked"),
            count("without_cycle"),
            count("without_mask"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticConfig;

    #[test]
    fn counts_match_the_samples() {
        let mut samples = SyntheticConfig {
            cases: 2,
            width: 48,
            height: 40,
            ..Default::default()
        }
        .generate(0)
        .unwrap();
        samples[0].info.split = Some(crate::Split::Val);
        let v = summary(&samples);
        assert_eq!(v["images"], 16);
        assert_eq!(v["cases"], 2);
        assert_eq!(v["planes"]["PSAX"], 4);
        assert_eq!(v["phases"]["ED"], 8);
        assert_eq!(v["sizes"]["48x40"], 16);
        assert_eq!(v["structures"]["annotated"]["LA"], 16);
        assert_eq!(v["structures"]["present"]["LA"], 12);
        assert_eq!(v["splits"]["val"], 1);
        assert_eq!(v["splits"]["none"], 15);
        let t = table(&v);
        assert!(t.starts_with("16 images, 2 cases"), "{t}");
        assert!(t.contains("PSAX") && t.contains("LA"), "{t}");
    }
}
