//! The folder evaluation and the `metrics` command against MONAI's values for the committed
//! PNG and NIfTI label maps (`crates/metrics/tests/fixtures/generate.py`), and its refusals of bad input.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use echoone_metrics::{Summary, evaluate_folders};
use serde_json::Value;

fn folder() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../metrics/tests/fixtures/folder"
    ))
    .to_path_buf()
}

fn expected() -> Value {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../metrics/tests/fixtures/folder_expected.json"
    ));
    serde_json::from_reader(File::open(path).unwrap()).unwrap()
}

/// The generator's number or "nan"/"inf" string.
fn want(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        v => v.as_f64().unwrap(),
    }
}

/// Compares every per-case value of `summary` with the generator's `variant` ("unit",
/// "header" or "spacing_xy"; PNG cases have no "header" and use `png_variant`).
fn check(summary: &Value, variant: &str, png_variant: &str) {
    let exp = expected();
    let cases = summary["metric_per_case"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let file = case["reference_file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        let v = if name.ends_with(".png") {
            png_variant
        } else {
            variant
        };
        let exp_case = &exp["cases"][name][v];
        for label in ["1", "2", "3"] {
            for (ours, theirs) in [
                ("Dice", "dice"),
                ("IoU", "iou"),
                ("HD95", "hd95"),
                ("HD", "hd"),
                ("ASSD", "assd"),
            ] {
                let w = want(&exp_case[label][theirs]);
                let got = &case["metrics"][label][ours];
                if w.is_finite() {
                    let g = got.as_f64().unwrap();
                    assert!(
                        (g - w).abs() <= 1e-6 * w.abs(),
                        "{name} label {label} {ours}: {g} vs MONAI {w}"
                    );
                } else {
                    assert!(got.is_null(), "{name} label {label} {ours}: {got} vs {w}");
                }
            }
            let n_ref = &case["metrics"][label]["n_ref"];
            assert_eq!(n_ref, &exp_case[label]["n_ref"], "{name} label {label}");
        }
    }
}

fn to_value(s: &Summary) -> Value {
    serde_json::from_str(&s.to_json()).unwrap()
}

#[test]
fn header_spacing_for_nifti_and_pixels_for_png_match_monai() {
    let s = evaluate_folders(&folder().join("pred"), &folder().join("gt"), None, None).unwrap();
    check(&to_value(&s), "header", "unit");
}

#[test]
fn spacing_override_applies_x_to_png_columns_and_nifti_first_axis() {
    let xy = expected()["spacing_xy"].as_array().unwrap().clone();
    let xy = (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap());
    let s = evaluate_folders(
        &folder().join("pred"),
        &folder().join("gt"),
        Some(xy),
        Some(&[1, 2, 3]),
    )
    .unwrap();
    check(&to_value(&s), "spacing_xy", "spacing_xy");
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .arg("metrics")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn command_writes_nnunet_summary_with_null_and_counts_for_a_missed_structure() {
    let out = tempfile::tempdir().unwrap();
    let (pred, gt) = (folder().join("pred"), folder().join("gt"));
    let o = run(&[
        "--pred",
        pred.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--labels",
        "1,2,3",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: Value =
        serde_json::from_reader(File::open(out.path().join("summary.json")).unwrap()).unwrap();
    check(&json, "header", "unit");
    // case_002 misses the LA (label 3): HD95 inf, written as null and counted.
    let case = json["metric_per_case"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["reference_file"]
                .as_str()
                .unwrap()
                .ends_with("case_002.png")
        })
        .unwrap();
    assert!(case["metrics"]["3"]["HD95"].is_null());
    assert_eq!(case["metrics"]["3"]["n_pred"], 0);
    let hd95 = &json["statistics"]["per_label"]["3"]["HD95"];
    assert_eq!(
        (hd95["n"].as_u64(), hd95["n_inf"].as_u64()),
        (Some(4), Some(1))
    );
    assert!(json["mean"]["1"]["Dice"].is_f64());
    assert!(json["foreground_mean"]["HD95"].is_f64());
    let md = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(md.contains("| 3 |") && md.contains("0 / 1"), "{md}");
}

/// A writable copy of the fixture folder.
fn copy_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["gt", "pred"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(folder().join(sub)).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Runs the command on `dir`, expects failure with every `needles` in stderr, and no output.
fn refuses(dir: &Path, needles: &[&str]) {
    let out = dir.join("out");
    let o = run(&[
        "--pred",
        dir.join("pred").to_str().unwrap(),
        "--gt",
        dir.join("gt").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    assert!(!out.exists(), "output written despite the error");
}

#[test]
fn unpaired_files_are_named_and_nothing_is_written() {
    let dir = copy_folder();
    std::fs::remove_file(dir.path().join("pred/case_001.png")).unwrap();
    std::fs::copy(
        dir.path().join("pred/case_000.png"),
        dir.path().join("pred/extra.png"),
    )
    .unwrap();
    refuses(dir.path(), &["case_001.png", "extra.png"]);
}

#[test]
fn size_mismatch_is_named_and_nothing_is_written() {
    let dir = copy_folder();
    std::fs::copy(
        dir.path().join("pred/case_001.png"),
        dir.path().join("pred/case_000.png"),
    )
    .unwrap();
    refuses(dir.path(), &["case_000.png", "[40, 72]", "[64, 48]"]);
}

#[test]
fn unreadable_files_are_named_and_nothing_is_written() {
    let dir = copy_folder();
    std::fs::write(dir.path().join("pred/case_002.png"), b"not a png").unwrap();
    std::fs::write(dir.path().join("gt/nifti_001.nii.gz"), b"garbage").unwrap();
    refuses(
        dir.path(),
        &["case_002.png", "not a readable PNG", "nifti_001.nii.gz"],
    );
}

#[test]
fn bad_spacing_is_refused() {
    let dir = copy_folder();
    let out = dir.path().join("out");
    let o = run(&[
        "--pred",
        dir.path().join("pred").to_str().unwrap(),
        "--gt",
        dir.path().join("gt").to_str().unwrap(),
        "--spacing",
        "0.3,-1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--spacing"));
    assert!(!out.exists());
}
