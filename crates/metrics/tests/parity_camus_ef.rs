//! The method of discs against the CAMUS organisers' own EF script, on tilted label maps with
//! anisotropic pixels and MYO/LA labels (`fixtures/ef/generate_camus_ef.py` drew them and ran the
//! script): the same 20 diameters and step per mask, and the same volumes and EF per case.

use std::fs::File;
use std::path::{Path, PathBuf};

use echoone_metrics::{DiscProfile, DiscStep, Spacing, biplane, disc_profile, read_label_file};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ef")).to_path_buf()
}

fn expected() -> Value {
    serde_json::from_reader(File::open(dir().join("camus_ef.json")).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn profile(mask: &Value) -> DiscProfile {
    let file = dir().join(mask["file"].as_str().unwrap());
    let labels = read_label_file(&file).unwrap().map;
    let hw = mask["spacing_hw_mm"].as_array().unwrap();
    disc_profile(&labels.mask(1), Spacing::new(f(&hw[0]), f(&hw[1])).unwrap()).unwrap()
}

#[test]
fn every_mask_gives_the_organisers_diameters_and_step() {
    let want = expected();
    let masks = want["masks"].as_array().unwrap();
    assert_eq!(masks.len(), 24);
    for mask in masks {
        let got = profile(mask);
        let name = mask["file"].as_str().unwrap();
        let diameters: Vec<f64> = mask["diameters_mm"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        assert_eq!(got.diameters_mm.len(), diameters.len(), "{name}");
        for (k, (a, b)) in got.diameters_mm.iter().zip(&diameters).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{name} disc {k}: {a} mm, script {b} mm"
            );
        }
        let step = f(&mask["step_mm"]);
        assert!(
            (got.step_mm - step).abs() < 1e-9,
            "{name}: step {} vs {step}",
            got.step_mm
        );
    }
}

#[test]
fn every_case_gives_the_organisers_volumes_and_ef() {
    let want = expected();
    let by_file = |file: &str| {
        want["masks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["file"] == file)
            .map(profile)
            .unwrap()
    };
    for case in want["cases"].as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let p = |view: &str, phase: &str| by_file(&format!("{name}_{view}_{phase}.png"));
        let (two_ed, two_es, four_ed, four_es) = (
            p("2CH", "ED"),
            p("2CH", "ES"),
            p("4CH", "ED"),
            p("4CH", "ES"),
        );
        let v = biplane([&two_ed, &two_es], [&four_ed, &four_es], DiscStep::Camus);
        // The script rounds volumes to whole millilitres; ours are not rounded.
        let (edv, esv) = (f(&case["edv_ml"]), f(&case["esv_ml"]));
        assert!(
            (v.edv_ml - edv).abs() <= 0.5 + 1e-9,
            "{name}: EDV {} vs {edv}",
            v.edv_ml
        );
        assert!(
            (v.esv_ml - esv).abs() <= 0.5 + 1e-9,
            "{name}: ESV {} vs {esv}",
            v.esv_ml
        );
        assert!((v.edv_ml - edv).abs() / edv < 0.02 && (v.esv_ml - esv).abs() / esv < 0.02);
        let ef = f(&case["ef_pct"]);
        assert!(
            (v.ef_pct() - ef).abs() < 1.0,
            "{name}: EF {} vs {ef}",
            v.ef_pct()
        );
    }
}
