//! Reference LV volumes and ejection fractions of a dataset, to check those measured from
//! segmentations against: the synthetic truth, CAMUS `Info_2CH.cfg` / `Info_4CH.cfg`,
//! EchoNet-Dynamic `FileList.csv` (`EF`, `ESV`, `EDV`) and `ef_reference.csv` at the root of a
//! PNG layout. HMC-QU has none.

use std::path::Path;

use crate::echonet::{columns, open_csv, video_key};
use crate::error::{DataError, Result};
use crate::png_io::write_atomic;

/// The file at the root of a PNG layout that holds its references.
pub const EF_REFERENCE_CSV: &str = "ef_reference.csv";

/// The reference volumes and ejection fraction of one case (whichever the dataset gives).
#[derive(Debug, Clone, PartialEq)]
pub struct EfReference {
    /// Case (patient or video) id, as the samples of the dataset name it.
    pub case: String,
    /// End-diastolic LV volume in ml.
    pub edv_ml: Option<f64>,
    /// End-systolic LV volume in ml.
    pub esv_ml: Option<f64>,
    /// Ejection fraction in percent.
    pub ef_pct: Option<f64>,
}

impl EfReference {
    fn is_empty(&self) -> bool {
        self.edv_ml.is_none() && self.esv_ml.is_none() && self.ef_pct.is_none()
    }
}

/// The references of a PNG layout: its `ef_reference.csv` (none when absent).
pub fn png_references(dir: &Path) -> Result<Vec<EfReference>> {
    let path = dir.join(EF_REFERENCE_CSV);
    if path.is_file() {
        reference_csv(&path)
    } else {
        Ok(Vec::new())
    }
}

/// Writes `references` to `path` as CSV with the header `case,edv_ml,esv_ml,ef_pct` (missing
/// values empty), atomically.
pub fn write_references(path: &Path, references: &[EfReference]) -> Result<()> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| DataError::format(path, format!("cannot write CSV: {e}"));
    csv.write_record(["case", "edv_ml", "esv_ml", "ef_pct"])
        .map_err(bad)?;
    let text = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for r in references {
        csv.write_record([
            r.case.clone(),
            text(r.edv_ml),
            text(r.esv_ml),
            text(r.ef_pct),
        ])
        .map_err(bad)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| DataError::format(path, format!("cannot write CSV: {e}")))?;
    write_atomic(path, &bytes)
}

/// The value `text` of `what` on line `line` of `path`: none when empty, else a non-negative
/// number.
fn value(path: &Path, line: usize, what: &str, text: &str) -> Result<Option<f64>> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || DataError::format(path, format!("line {line}: bad {what} value {text:?}"));
    let v: f64 = text.parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(Some(v))
}

/// An EF value as a percent (from a fraction when `fraction_ok` and it is at most 1); above
/// 100 % is an error.
fn ef_percent(path: &Path, line: usize, text: &str, fraction_ok: bool) -> Result<Option<f64>> {
    let Some(v) = value(path, line, "EF", text)? else {
        return Ok(None);
    };
    let pct = if fraction_ok && v <= 1.0 {
        v * 100.0
    } else {
        v
    };
    if pct > 100.0 {
        return Err(DataError::format(
            path,
            format!("line {line}: EF {text:?} above 100 %"),
        ));
    }
    Ok(Some(pct))
}

/// CAMUS: one reference per patient folder with any value in its `Info_*.cfg` files.
pub fn camus_references(root: &Path) -> Result<Vec<EfReference>> {
    let mut out = Vec::new();
    for dir in crate::camus::patient_dirs(root)? {
        let case = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut r = EfReference {
            case,
            edv_ml: None,
            esv_ml: None,
            ef_pct: None,
        };
        for view in ["2CH", "4CH"] {
            let path = dir.join(format!("Info_{view}.cfg"));
            for l in crate::camus::info(&path)? {
                let (key, v, line) = (l.key.as_str(), l.value.as_str(), l.line);
                match key.to_ascii_lowercase().as_str() {
                    "lvedv" | "edv" if r.edv_ml.is_none() => {
                        r.edv_ml = value(&path, line, key, v)?;
                    }
                    "lvesv" | "esv" if r.esv_ml.is_none() => {
                        r.esv_ml = value(&path, line, key, v)?;
                    }
                    "lvef" | "ef" if r.ef_pct.is_none() => {
                        r.ef_pct = ef_percent(&path, line, v, true)?;
                    }
                    _ => {}
                }
            }
        }
        if !r.is_empty() {
            out.push(r);
        }
    }
    Ok(out)
}

/// EchoNet-Dynamic: the `EF`, `ESV` and `EDV` columns of `FileList.csv`, one row per video.
pub fn echonet_references(root: &Path) -> Result<Vec<EfReference>> {
    let path = root.join("FileList.csv");
    let mut reader = open_csv(&path)?;
    let cols = columns(&path, &mut reader, &["FileName", "EDV", "ESV", "EF"])?;
    rows(&path, &mut reader, &cols, video_key)
}

/// `ef_reference.csv`: `case,edv_ml,esv_ml,ef_pct`.
fn reference_csv(path: &Path) -> Result<Vec<EfReference>> {
    let mut reader = open_csv(path)?;
    let cols = columns(path, &mut reader, &["case", "edv_ml", "esv_ml", "ef_pct"])?;
    rows(path, &mut reader, &cols, str::to_string)
}

/// The rows of a CSV whose columns `cols` are case (named by `case`), EDV, ESV and EF
/// (percent); rows without any value are left out.
fn rows<R: std::io::Read>(
    path: &Path,
    reader: &mut csv::Reader<R>,
    cols: &[usize],
    case: impl Fn(&str) -> String,
) -> Result<Vec<EfReference>> {
    let mut out = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| DataError::format(path, format!("line {line}: {e}")))?;
        let field = |k: usize| record.get(cols[k]).unwrap_or_default();
        if field(0).is_empty() {
            return Err(DataError::format(path, format!("line {line}: empty case")));
        }
        let r = EfReference {
            case: case(field(0)),
            edv_ml: value(path, line, "EDV", field(1))?,
            esv_ml: value(path, line, "ESV", field(2))?,
            ef_pct: ef_percent(path, line, field(3), false)?,
        };
        if !r.is_empty() {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn camus_info_with_both_key_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let p1 = root.join("database_nifti/patient0001");
        write(
            &p1.join("Info_2CH.cfg"),
            "ED: 1\nES: 14\nNbFrame: 18\nLVedv: 101.93\nLVesv: 54.05\nLVef: 47\n",
        );
        write(&p1.join("Info_4CH.cfg"), "ED: 1\nLVedv: 99\n");
        let p2 = root.join("database_nifti/patient0002");
        write(
            &p2.join("Info_4CH.cfg"),
            "ED: 1\nEDV: 120.5\nESV: 60.25\nEF: 0.5\n",
        );
        write(
            &root.join("database_nifti/patient0003/Info_2CH.cfg"),
            "ED: 1\n",
        );
        let refs = camus_references(root).unwrap();
        assert_eq!(
            refs,
            vec![
                EfReference {
                    case: "patient0001".into(),
                    edv_ml: Some(101.93),
                    esv_ml: Some(54.05),
                    ef_pct: Some(47.0),
                },
                EfReference {
                    case: "patient0002".into(),
                    edv_ml: Some(120.5),
                    esv_ml: Some(60.25),
                    ef_pct: Some(50.0),
                },
            ]
        );
        write(&p2.join("Info_2CH.cfg"), "ED: 1\nLVesv: many\n");
        let e = camus_references(root).unwrap_err().to_string();
        assert!(
            e.contains("patient0002/Info_2CH.cfg") && e.contains("line 2"),
            "{e}"
        );
        write(&p2.join("Info_2CH.cfg"), "EF: 130\n");
        let e = camus_references(root).unwrap_err().to_string();
        assert!(e.contains("Info_2CH.cfg") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn echonet_file_list() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("FileList.csv");
        write(
            &list,
            "FileName,EF,ESV,EDV,FrameHeight,Split\n\
             0X1A,68.2,14.9,46.9,112,TRAIN\n\
             0X2B.avi,55,,80,112,VAL\n",
        );
        let refs = echonet_references(dir.path()).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(
            refs[0],
            EfReference {
                case: "0X1A".into(),
                edv_ml: Some(46.9),
                esv_ml: Some(14.9),
                ef_pct: Some(68.2),
            }
        );
        assert_eq!((refs[1].case.as_str(), refs[1].esv_ml), ("0X2B", None));
        write(
            &list,
            "FileName,EF,ESV,EDV\n0X1A,68.2,14.9,46.9\n0X2B,-3,1,2\n",
        );
        let e = echonet_references(dir.path()).unwrap_err().to_string();
        assert!(e.contains("FileList.csv") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn png_layout_reference_csv_and_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(png_references(dir.path()).unwrap(), vec![]);
        let refs = vec![
            EfReference {
                case: "a,b".into(),
                edv_ml: Some(150.123456789),
                esv_ml: Some(70.0),
                ef_pct: Some(53.36),
            },
            EfReference {
                case: "c".into(),
                edv_ml: None,
                esv_ml: None,
                ef_pct: Some(40.0),
            },
        ];
        write_references(&dir.path().join(EF_REFERENCE_CSV), &refs).unwrap();
        assert_eq!(png_references(dir.path()).unwrap(), refs);
        write(
            &dir.path().join(EF_REFERENCE_CSV),
            "case,edv_ml,esv_ml,ef_pct\nc,1,2,x\n",
        );
        let e = png_references(dir.path()).unwrap_err().to_string();
        assert!(e.contains(EF_REFERENCE_CSV) && e.contains("line 2"), "{e}");
    }
}
