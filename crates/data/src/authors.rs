//! The authors' PNG layout (SAMUS/EchoONE): `MainPatient/{train,val,test}.txt`,
//! `MainPatient/class.json`, `<subset>/img/<name>.png`, `<subset>/label/<name>.png`; plus our
//! `samples.jsonl` beside it, which keeps what the layout cannot (case, plane, phase, spacing).
//!
//! `train.txt` and `val.txt` hold `<class>/<subset>/<name>` (one line per annotated structure),
//! `test.txt` holds `<subset>/<name>` (one line per image), as the authors' loader expects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::png_io::{read_png, write_atomic, write_png};
use crate::sample::{Phase, Plane, Sample, SampleInfo, Split, Structure, StructureSet};

/// The name of the per-sample metadata file written beside the layout.
pub const SAMPLES_JSONL: &str = "samples.jsonl";

/// One line of `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// Image path relative to the dataset folder.
    pub image: String,
    /// Label path relative to the dataset folder.
    pub label: String,
    /// Dataset name.
    pub dataset: String,
    /// Centre or sub-set, when known.
    #[serde(default)]
    pub centre: Option<String>,
    /// Case (patient) id.
    pub case: String,
    /// Plane.
    pub plane: Plane,
    /// Phase, when known.
    pub phase: Option<Phase>,
    /// Frame in the source sequence, when known.
    pub frame: Option<u32>,
    /// Pixel spacing [x, y] in mm, when known.
    pub spacing: Option<[f64; 2]>,
    /// Annotated structures.
    pub structures: Vec<Structure>,
    /// Split.
    pub split: Option<Split>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |e| DataError::io(path, e)
}

/// Writes `samples` (every one with a split) under `dir` in the authors' layout with sub-set
/// `subset`, plus `samples.jsonl`. The folder is built beside `dir` and renamed into place, so
/// `dir` is either absent or complete; an existing non-empty `dir` is an error.
pub fn write(dir: &Path, subset: &str, samples: &[Sample]) -> Result<()> {
    if subset.is_empty() || subset.contains(['/', '\\']) {
        return Err(DataError::Invalid(format!("bad sub-set name {subset:?}")));
    }
    if let Some(s) = samples.iter().find(|s| s.info.split.is_none()) {
        return Err(DataError::Invalid(format!(
            "sample {} has no split: assign splits before writing",
            s.info.stem()
        )));
    }
    if let Some(s) = samples
        .iter()
        .find(|s| s.info.split == Some(Split::External))
    {
        return Err(DataError::Invalid(format!(
            "sample {} is external to a run: the layout has only train, val and test lists",
            s.info.stem()
        )));
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(DataError::Invalid(format!(
                "{}: folder exists and is not empty; choose a new output folder",
                dir.display()
            )));
        }
    }
    let name = dir
        .file_name()
        .ok_or_else(|| DataError::Invalid(format!("{}: not a folder path", dir.display())))?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let result = write_into(&tmp, subset, samples).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(io(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(io(dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_into(root: &Path, subset: &str, samples: &[Sample]) -> Result<()> {
    for sub in [
        "MainPatient",
        &format!("{subset}/img"),
        &format!("{subset}/label"),
    ] {
        let d = root.join(sub);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }
    let mut lists: BTreeMap<Split, String> =
        Split::ALL.iter().map(|&s| (s, String::new())).collect();
    let mut jsonl = String::new();
    let mut used = HashSet::new();
    for s in samples {
        let base = s.info.stem();
        let mut stem = base.clone();
        let mut k = 1;
        while !used.insert(stem.clone()) {
            k += 1;
            stem = format!("{base}_{k}");
        }
        let image = format!("{subset}/img/{stem}.png");
        let label = format!("{subset}/label/{stem}.png");
        write_png(&root.join(&image), &s.image)?;
        write_png(&root.join(&label), &s.label)?;
        let split = s.info.split.unwrap_or(Split::Train);
        let list = lists.entry(split).or_default();
        if split == Split::Test {
            list.push_str(&format!("{subset}/{stem}\n"));
        } else {
            for st in s.annotated.iter() {
                list.push_str(&format!("{}/{subset}/{stem}\n", st.label()));
            }
        }
        let record = SampleRecord {
            image,
            label,
            dataset: s.info.dataset.clone(),
            centre: s.info.centre.clone(),
            case: s.info.case.clone(),
            plane: s.info.plane,
            phase: s.info.phase,
            frame: s.info.frame,
            spacing: s.info.spacing,
            structures: s.annotated.iter().collect(),
            split: s.info.split,
        };
        let line = serde_json::to_string(&record)
            .map_err(|e| DataError::Invalid(format!("cannot encode sample record: {e}")))?;
        jsonl.push_str(&line);
        jsonl.push('\n');
    }
    for (split, text) in &lists {
        write_atomic(
            &root.join(format!("MainPatient/{}.txt", split.name())),
            text.as_bytes(),
        )?;
    }
    let classes = serde_json::json!({ subset: 4 }).to_string();
    write_atomic(&root.join("MainPatient/class.json"), classes.as_bytes())?;
    write_atomic(&root.join(SAMPLES_JSONL), jsonl.as_bytes())
}

/// Whether `dir` looks like the authors' layout (it has `MainPatient/class.json`).
pub fn is_layout(dir: &Path) -> bool {
    dir.join("MainPatient").join("class.json").is_file()
}

/// Reads a folder in the authors' layout; `samples.jsonl`, when present, supplies case, plane,
/// phase, spacing and structures, else they come from file names and `class.json`.
pub fn read(dir: &Path) -> Result<Vec<Sample>> {
    let class_path = dir.join("MainPatient").join("class.json");
    let text = std::fs::read_to_string(&class_path).map_err(io(&class_path))?;
    let classes: HashMap<String, u32> = serde_json::from_str(&text).map_err(|e| {
        DataError::format(
            &class_path,
            format!("expected {{\"<subset>\": <number of classes>}}: {e}"),
        )
    })?;
    let mut order: Vec<(String, String)> = Vec::new();
    let mut split_of: HashMap<(String, String), Split> = HashMap::new();
    let mut any_list = false;
    for split in Split::ALL {
        let path = dir
            .join("MainPatient")
            .join(format!("{}.txt", split.name()));
        if !path.exists() {
            continue;
        }
        any_list = true;
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split('/').collect();
            let (subset, name) = match parts.as_slice() {
                [class, subset, name] if class.parse::<u8>().is_ok() => (*subset, *name),
                [subset, name] => (*subset, *name),
                _ => {
                    return Err(DataError::format(
                        &path,
                        format!(
                            "line {}: expected <class>/<subset>/<name> or <subset>/<name>, got {line:?}",
                            n + 1
                        ),
                    ));
                }
            };
            let key = (subset.to_string(), name.to_string());
            if let std::collections::hash_map::Entry::Vacant(e) = split_of.entry(key.clone()) {
                e.insert(split);
                order.push(key);
            }
        }
    }
    if !any_list {
        return Err(DataError::format(
            dir.join("MainPatient"),
            "no train.txt, val.txt or test.txt",
        ));
    }
    let records = read_records(dir)?;
    let mut samples = Vec::with_capacity(order.len());
    for (subset, name) in order {
        let n_classes = *classes.get(&subset).ok_or_else(|| {
            DataError::format(&class_path, format!("sub-set {subset:?} is not listed"))
        })?;
        let image_rel = format!("{subset}/img/{name}.png");
        let image_path = dir.join(&image_rel);
        let label_path = dir.join(format!("{subset}/label/{name}.png"));
        let image = read_png(&image_path)?;
        let mut label = read_png(&label_path)?;
        if n_classes == 2 {
            label.iter_mut().for_each(|v| *v = (*v).min(1));
        }
        let split = split_of.get(&(subset.clone(), name.clone())).copied();
        let (annotated, info) = match records.get(&image_rel) {
            Some(r) => {
                let mut info = SampleInfo::new(r.dataset.clone(), r.case.clone());
                info.centre = r.centre.clone();
                info.plane = r.plane;
                info.phase = r.phase;
                info.frame = r.frame;
                info.spacing = r.spacing;
                info.split = split;
                (StructureSet::of(&r.structures), info)
            }
            None => {
                let case = name.split('_').next().unwrap_or(&name).to_string();
                let mut info = SampleInfo::new("png", case);
                info.centre = Some(subset.clone());
                info.plane = Plane::from_file_name(&name);
                info.phase = Phase::from_file_name(&name);
                info.split = split;
                let n = n_classes.saturating_sub(1).min(3) as usize;
                (StructureSet::of(&Structure::ALL[..n]), info)
            }
        };
        samples.push(Sample::new(image, label, annotated, info, &label_path)?);
    }
    Ok(samples)
}

fn read_records(dir: &Path) -> Result<HashMap<String, SampleRecord>> {
    let path: PathBuf = dir.join(SAMPLES_JSONL);
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let mut out = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: SampleRecord = serde_json::from_str(line)
            .map_err(|e| DataError::format(&path, format!("line {}: {e}", n + 1)))?;
        out.insert(r.image.clone(), r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{SplitPlan, assign};
    use crate::synthetic::SyntheticConfig;

    #[test]
    fn round_trip_keeps_pixels_and_metadata() {
        let mut samples = SyntheticConfig {
            cases: 3,
            width: 40,
            height: 48,
            ..Default::default()
        }
        .generate(0)
        .unwrap();
        assign(&mut samples, &SplitPlan::default(), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ds");
        write(&out, "Synthetic", &samples).unwrap();
        let back = read(&out).unwrap();
        assert_eq!(back.len(), samples.len());
        let by_stem: HashMap<String, &Sample> = back.iter().map(|s| (s.info.stem(), s)).collect();
        for s in &samples {
            assert_eq!(by_stem[&s.info.stem()], s);
        }
        let train = std::fs::read_to_string(out.join("MainPatient/train.txt")).unwrap();
        assert!(train.lines().all(|l| l.split('/').count() == 3));
        // test.txt lines are `<subset>/<name>`, one per test image.
        let test = std::fs::read_to_string(out.join("MainPatient/test.txt")).unwrap();
        let in_test = samples
            .iter()
            .filter(|s| s.info.split == Some(crate::Split::Test))
            .count();
        assert!(in_test > 0, "the split put no case in test");
        assert_eq!(test.lines().count(), in_test);
        assert!(test.lines().all(|l| l.split('/').count() == 2), "{test}");
        let e = write(&out, "Synthetic", &samples).unwrap_err();
        assert!(e.to_string().contains("not empty"));
        // Without samples.jsonl, metadata comes from names and class.json.
        std::fs::remove_file(out.join(SAMPLES_JSONL)).unwrap();
        let plain = read(&out).unwrap();
        assert_eq!(
            plain.len(),
            samples.len(),
            "every list line read, test.txt's too"
        );
        assert!(plain.iter().all(|s| s.annotated == StructureSet::ALL));
        assert!(
            plain
                .iter()
                .all(|s| s.info.plane != Plane::Unknown && s.info.phase.is_some())
        );
    }

    #[test]
    fn bad_layouts_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("MainPatient")).unwrap();
        std::fs::create_dir_all(root.join("S/img")).unwrap();
        std::fs::create_dir_all(root.join("S/label")).unwrap();
        std::fs::write(root.join("MainPatient/class.json"), "[1]").unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("class.json"), "{e}");
        std::fs::write(root.join("MainPatient/class.json"), r#"{"S": 4}"#).unwrap();
        std::fs::write(root.join("MainPatient/train.txt"), "a/b/c/d\n").unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("train.txt") && e.contains("line 1"), "{e}");
        std::fs::write(root.join("MainPatient/train.txt"), "1/S/x\n").unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("x.png"), "{e}");
        let img = image::GrayImage::new(4, 4);
        write_png(&root.join("S/img/x.png"), &img).unwrap();
        write_png(&root.join("S/label/x.png"), &image::GrayImage::new(4, 3)).unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("label/x.png") && e.contains("4x3"), "{e}");
        let mut bad = image::GrayImage::new(4, 4);
        bad.put_pixel(0, 0, image::Luma([9]));
        write_png(&root.join("S/label/x.png"), &bad).unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("label value 9"), "{e}");
    }
}
