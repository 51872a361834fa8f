//! Parity with MONAI 1.6.1 on the committed fixtures (`fixtures/generate.py`): Dice, IoU, HD95,
//! HD and ASSD on 215 mask pairs must match to 1e-6 relative, and HD matches medpy too.

use std::fs::File;
use std::path::Path;

use echoone_metrics::{BinaryMask, Spacing, StructureMetrics, evaluate_masks};
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use serde_json::Value;

const REL_TOL: f64 = 1e-6;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// A JSON number, or the strings "nan" / "inf" that the generator writes for non-finite values.
fn value(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        other => panic!("unexpected fixture value {other}"),
    }
}

fn close(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    got == want || (got - want).abs() <= REL_TOL * want.abs()
}

struct Case {
    name: String,
    pred: BinaryMask,
    reference: BinaryMask,
    spacing: Spacing,
    expected: Value,
    monai_raw: Value,
}

fn cases() -> Vec<Case> {
    let masks =
        Array2::<u8>::read_npy(File::open(fixtures().join("masks.npy")).expect("masks.npy"))
            .expect("read masks.npy");
    let json: Value = serde_json::from_reader(File::open(fixtures().join("cases.json")).unwrap())
        .expect("cases.json");
    let list = json["cases"].as_array().expect("cases");
    list.iter()
        .map(|c| {
            let h = c["height"].as_u64().unwrap() as usize;
            let w = c["width"].as_u64().unwrap() as usize;
            let off = c["offset"].as_u64().unwrap() as usize;
            let take = |row: usize| {
                let data = (off..off + h * w).map(|i| masks[[row, i]] != 0).collect();
                BinaryMask::new(h, w, data).unwrap()
            };
            let spacing = match c["spacing"].as_array() {
                Some(s) => Spacing::new(s[0].as_f64().unwrap(), s[1].as_f64().unwrap()).unwrap(),
                None => Spacing::unit(),
            };
            Case {
                name: c["name"].as_str().unwrap().to_owned(),
                pred: take(0),
                reference: take(1),
                spacing,
                expected: c["expected"].clone(),
                monai_raw: c["monai_raw"].clone(),
            }
        })
        .collect()
}

fn field(m: &StructureMetrics, key: &str) -> f64 {
    match key {
        "dice" => m.dice,
        "iou" => m.iou,
        "hd95" => m.hd95,
        "hd" => m.hd,
        "assd" => m.assd,
        "medpy_hd" => m.hd,
        _ => unreachable!(),
    }
}

#[test]
fn every_metric_matches_monai_on_every_fixture() {
    let cases = cases();
    assert!(cases.len() >= 200, "only {} fixture cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let m = evaluate_masks(&case.pred, &case.reference, case.spacing).unwrap();
        for key in ["dice", "iou", "hd95", "hd", "assd", "medpy_hd"] {
            let Some(want) = case.expected.get(key) else {
                continue;
            };
            let (got, want) = (field(&m, key), value(want));
            if !close(got, want) {
                failures.push(format!("{} {key}: got {got}, MONAI {want}", case.name));
            }
        }
        assert_eq!(
            m.confusion.n_pred() as u64,
            case.expected["n_pred"].as_u64().unwrap()
        );
        assert_eq!(
            m.confusion.n_ref() as u64,
            case.expected["n_ref"].as_u64().unwrap()
        );
        assert_eq!(m.confusion.tp as u64, case.expected["tp"].as_u64().unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_cover_the_required_kinds_and_spacings() {
    let cases = cases();
    for kind in [
        "blob", "ring", "tiny", "border", "empty", "full", "noise", "lines", "far",
    ] {
        assert!(
            cases.iter().any(|c| c.name.starts_with(kind)),
            "no {kind} case"
        );
    }
    let anisotropic = cases
        .iter()
        .filter(|c| c.spacing.axis0 != c.spacing.axis1)
        .count();
    assert!(anisotropic >= 50, "only {anisotropic} anisotropic cases");
}

#[test]
fn departures_from_monai_are_only_the_stated_empty_mask_conventions() {
    for case in cases() {
        let m = evaluate_masks(&case.pred, &case.reference, case.spacing).unwrap();
        let (n_pred, n_ref) = (m.confusion.n_pred(), m.confusion.n_ref());
        let raw_hd95 = value(&case.monai_raw["hd95"]);
        if (n_pred == 0) != (n_ref == 0) {
            assert!(
                raw_hd95.is_nan() && m.hd95 == f64::INFINITY,
                "{}",
                case.name
            );
        } else {
            assert!(close(m.hd95, raw_hd95), "{}", case.name);
        }
        let raw_dice = value(&case.monai_raw["dice_ignore_empty_false"]);
        if n_pred == 0 && n_ref == 0 {
            assert!(raw_dice == 1.0 && m.dice.is_nan(), "{}", case.name);
        } else {
            assert!(close(m.dice, raw_dice), "{}", case.name);
        }
    }
}
