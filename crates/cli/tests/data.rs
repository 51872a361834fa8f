//! `echoone data` on the real-format fixtures: `inspect --json` counts, sizes and spacings,
//! and `export` writing every sample with masks equal, pixel for pixel, to what the formats'
//! tools wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use echoone_data::png_io::read_png;
use serde_json::Value;

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/tests/fixtures")
        .join(name)
}

/// Runs `data ARGS` and returns its standard output; a failure shows its standard error.
fn data(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .arg("data")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "data {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inspect(spec: &str, dir: &Path) -> Value {
    let sheet = dir.join("sheet.png");
    let text = data(&[
        "inspect",
        spec,
        "--json",
        "--sheet",
        sheet.to_str().unwrap(),
    ]);
    assert!(sheet.is_file());
    serde_json::from_str(&text).unwrap()
}

/// The records of `samples.jsonl` under `dir`.
fn records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn inspect_and_export_echonet() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = format!("echonet:{}", fixtures("echonet").display());
    let j = inspect(&spec, tmp.path());
    assert_eq!(j["images"], 8);
    assert_eq!(j["cases"], 4);
    assert_eq!(j["planes"]["4CH"], 8);
    assert_eq!(j["phases"]["ED"], 4);
    assert_eq!(j["phases"]["ES"], 4);
    assert_eq!(j["splits"]["train"], 4);
    assert_eq!(j["splits"]["val"], 2);
    assert_eq!(j["splits"]["test"], 2);
    assert_eq!(j["sizes"]["112x112"], 8);
    assert_eq!(j["structures"]["annotated"]["LV"], 8);
    assert!(j["structures"]["annotated"].get("MYO").is_none());
    for s in j["samples"].as_array().unwrap() {
        assert!(s["spacing"].is_null());
        assert_eq!(s["structures"], serde_json::json!(["LV"]));
    }

    let out = tmp.path().join("export");
    data(&["export", &spec, "--out", out.to_str().unwrap()]);
    let recs = records(&out);
    assert_eq!(recs.len(), 8);
    let expected = fixtures("echonet/expected");
    for r in &recs {
        let stem = format!(
            "{}_{}",
            r["case"].as_str().unwrap(),
            r["phase"].as_str().unwrap()
        );
        let label = read_png(&out.join(r["label"].as_str().unwrap())).unwrap();
        assert_eq!(
            label,
            read_png(&expected.join(format!("{stem}_label.png"))).unwrap(),
            "{stem}"
        );
        let frame = std::fs::read_to_string(expected.join(format!("{stem}_frame.txt"))).unwrap();
        assert_eq!(r["frame"].as_u64().unwrap().to_string(), frame.trim());
        assert_eq!(r["dataset"], "echonet");
        assert!(r["spacing"].is_null());
    }
}

#[test]
fn inspect_and_export_hmcqu() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = format!("hmcqu:{}", fixtures("hmcqu").display());
    let j = inspect(&spec, tmp.path());
    assert_eq!(j["images"], 6);
    assert_eq!(j["cases"], 2);
    assert_eq!(j["phases"]["none"], 6);
    assert_eq!(j["sizes"]["32x32"], 6);
    assert_eq!(j["structures"]["annotated"]["MYO"], 6);
    assert!(j["structures"]["annotated"].get("LV").is_none());

    let out = tmp.path().join("export");
    data(&["export", &spec, "--out", out.to_str().unwrap()]);
    let recs = records(&out);
    assert_eq!(recs.len(), 6);
    let expected = fixtures("hmcqu/expected");
    for r in &recs {
        let echo = r["case"].as_str().unwrap().replacen('_', " _", 1);
        let start = if echo.starts_with("ES0001") { 2 } else { 1 };
        let k = r["frame"].as_u64().unwrap() - start;
        let label = read_png(&out.join(r["label"].as_str().unwrap())).unwrap();
        let want = read_png(&expected.join(format!("{echo}_{k}_label.png"))).unwrap();
        assert_eq!(label, want, "{echo} {k}");
        assert_eq!(r["structures"], serde_json::json!(["MYO"]));
        assert!(r["split"].is_string(), "a split is drawn for HMC-QU");
    }
}

#[test]
fn inspect_and_export_camus_keep_spacing() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = format!("camus:{}", fixtures("camus_nifti").display());
    let j = inspect(&spec, tmp.path());
    assert_eq!(j["images"], 8);
    assert_eq!(j["planes"]["2CH"], 4);
    assert_eq!(j["planes"]["4CH"], 4);
    assert_eq!(j["splits"]["train"], 4);
    assert_eq!(j["splits"]["test"], 4);
    assert_eq!(j["sizes"]["14x20"], 2);

    let out = tmp.path().join("export");
    data(&["export", &spec, "--out", out.to_str().unwrap()]);
    let expected = fixtures("camus_nifti/expected");
    let recs = records(&out);
    assert_eq!(recs.len(), 8);
    for r in &recs {
        let stem = format!(
            "{}_{}_{}",
            r["case"].as_str().unwrap(),
            r["plane"].as_str().unwrap(),
            r["phase"].as_str().unwrap()
        );
        let label = read_png(&out.join(r["label"].as_str().unwrap())).unwrap();
        let image = read_png(&out.join(r["image"].as_str().unwrap())).unwrap();
        assert_eq!(
            label,
            read_png(&expected.join(format!("{stem}_gt.png"))).unwrap()
        );
        assert_eq!(
            image,
            read_png(&expected.join(format!("{stem}.png"))).unwrap()
        );
        let sx = if stem.starts_with("patient0001") {
            0.31
        } else {
            0.32
        };
        let sp = r["spacing"].as_array().unwrap();
        assert!((sp[0].as_f64().unwrap() - sx).abs() < 1e-6, "{stem}");
        assert!((sp[1].as_f64().unwrap() - 0.154).abs() < 1e-6, "{stem}");
    }
}

#[test]
fn synth_writes_the_asked_planes_and_cases_the_same_for_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = |name: &str, seed: &str| {
        let out = tmp.path().join(name);
        let said = data(&[
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--cases",
            "3",
            "--size",
            "64",
            "--planes",
            "4CH,PSAX",
            "--seed",
            seed,
        ]);
        assert!(said.contains("wrote 12 images of 3 cases"), "{said}");
        out
    };
    let (a, b, other) = (synth("a", "5"), synth("b", "5"), synth("c", "6"));
    let j = inspect(&format!("png:{}", a.display()), tmp.path());
    assert_eq!(j["images"], 12);
    assert_eq!(j["cases"], 3);
    assert_eq!(j["sizes"]["64x64"], 12);
    assert_eq!(j["planes"]["4CH"], 6);
    assert_eq!(j["planes"]["PSAX"], 6);
    assert!(j["planes"].get("2CH").is_none(), "{j}");
    // The same seed writes the same files; another seed other images.
    let recs = records(&a);
    assert_eq!(recs, records(&b));
    let image = |dir: &Path| read_png(&dir.join(recs[0]["image"].as_str().unwrap())).unwrap();
    assert_eq!(image(&a), image(&b));
    assert_ne!(image(&a), image(&other));
    echoone_test_support::assert_one_error_line(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .arg("data")
            .args([
                "synth",
                "--out",
                tmp.path().join("bad").to_str().unwrap(),
                "--planes",
                "5CH",
            ]),
        "5CH",
    );
}

#[test]
fn bad_dataset_fails_with_one_error_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    echoone_test_support::assert_one_error_line(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .arg("data")
            .args(["inspect", &format!("echonet:{}", tmp.path().display())]),
        "FileList.csv",
    );
}
