//! A dataset read, exported and scored across the crates: CAMUS in both of its releases'
//! formats (NIfTI and MHD/RAW) and the synthetic echoes are read (echoone-data), written in the
//! authors' PNG layout and read back; every image, label map, plane, phase and spacing must come
//! back unchanged. Both label maps are then written as NIfTI with their spacing and go through
//! echoone-metrics' folder evaluation: every structure must score Dice 1 and a zero surface
//! distance, in the millimetres of the headers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use echoone_data::split::assign;
use echoone_data::{DatasetSpec, Sample, SplitPlan, authors, nifti_io};
use echoone_metrics::evaluate_folders;

/// The committed fixtures of echoone-data.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/data/tests/fixtures")
        .join(name)
}

/// The samples of `spec`, with the seeded split the authors' layout needs.
fn load(spec: &str) -> Vec<Sample> {
    let mut samples = DatasetSpec::parse(spec).unwrap().load().unwrap();
    assert!(!samples.is_empty(), "{spec} has no sample");
    if samples.iter().any(|s| s.info.split.is_none()) {
        assign(&mut samples, &SplitPlan::default(), None).unwrap();
    }
    samples
}

/// Samples by stem.
fn by_stem(samples: Vec<Sample>) -> BTreeMap<String, Sample> {
    samples.into_iter().map(|s| (s.info.stem(), s)).collect()
}

/// Exports `spec` to the authors' layout, reads it back, and checks both ends and the metrics.
fn round_trip(spec: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let original = load(spec);
    let name = DatasetSpec::parse(spec).unwrap().name();
    let layout = tmp.path().join("authors");
    authors::write(&layout, name, &original).unwrap();
    let back = by_stem(load(&format!("png:{}", layout.display())));
    let original = by_stem(original);
    assert_eq!(
        original.keys().collect::<Vec<_>>(),
        back.keys().collect::<Vec<_>>(),
        "{spec}: other samples came back"
    );

    let (gt, pred) = (tmp.path().join("gt"), tmp.path().join("pred"));
    std::fs::create_dir_all(&gt).unwrap();
    std::fs::create_dir_all(&pred).unwrap();
    for (stem, a) in &original {
        let b = &back[stem];
        assert!(a.image == b.image, "{spec} {stem}: the image changed");
        assert!(a.label == b.label, "{spec} {stem}: the label map changed");
        assert_eq!(
            (a.info.plane, a.info.phase, a.info.split),
            (b.info.plane, b.info.phase, b.info.split),
            "{spec} {stem}"
        );
        assert_eq!(a.info.spacing, b.info.spacing, "{spec} {stem}: spacing");
        nifti_io::write_u8(
            &gt.join(format!("{stem}.nii.gz")),
            std::slice::from_ref(&a.label),
            a.info.spacing,
        )
        .unwrap();
        nifti_io::write_u8(
            &pred.join(format!("{stem}.nii.gz")),
            std::slice::from_ref(&b.label),
            b.info.spacing,
        )
        .unwrap();
    }

    let summary = evaluate_folders(&pred, &gt, None, Some(&[1, 2, 3])).unwrap();
    assert_eq!(summary.metric_per_case.len(), original.len());
    for case in &summary.metric_per_case {
        let name = &case.reference_file;
        for (label, m) in &case.metrics {
            if m.n_ref == 0 {
                continue;
            }
            assert_eq!(
                (m.Dice.0, m.HD95.0),
                (1.0, 0.0),
                "{spec} {name} label {label}"
            );
            assert_eq!((m.FP, m.FN), (0, 0), "{spec} {name} label {label}");
        }
        let stem = Path::new(name).file_name().unwrap().to_string_lossy();
        let stem = stem.trim_end_matches(".nii.gz");
        let expected = original[stem].info.spacing.unwrap_or([1.0, 1.0]);
        // NIfTI stores the spacing as f32.
        let f32s = |v: [f64; 2]| v.map(|x| x as f32);
        assert_eq!(
            f32s(case.spacing),
            f32s(expected),
            "{spec} {name}: spacing (x, y: NIfTI array axes 0, 1)"
        );
    }
}

#[test]
fn camus_nifti_exported_and_read_back_scores_perfectly() {
    let dir = fixture("camus_nifti");
    round_trip(&format!("camus:{}", dir.display()));
}

#[test]
fn camus_mhd_exported_and_read_back_scores_perfectly() {
    let dir = fixture("camus_mhd");
    round_trip(&format!("camus:{}", dir.display()));
}

#[test]
fn synthetic_echoes_exported_and_read_back_score_perfectly() {
    round_trip("synthetic:cases=4,size=96x80,seed=3");
}
