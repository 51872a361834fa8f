//! CAMUS fixtures written by nibabel (NIfTI) and SimpleITK (MetaImage), compared pixel for pixel
//! with the upright arrays the generator script wrote as PNG.

use std::path::{Path, PathBuf};

use echoone_data::png_io::read_png;
use echoone_data::{Phase, Plane, Split, camus};

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn nifti_release_reads_upright_with_spacing_phases_and_official_split() {
    let root = fixtures("camus_nifti");
    let samples = camus::read(&root).unwrap();
    assert_eq!(samples.len(), 8);
    for s in &samples {
        let stem = format!("{}_{}_{}", s.info.case, s.info.plane, s.info.phase.unwrap());
        let expected = root.join("expected");
        assert_eq!(
            s.image,
            read_png(&expected.join(format!("{stem}.png"))).unwrap(),
            "{stem}"
        );
        assert_eq!(
            s.label,
            read_png(&expected.join(format!("{stem}_gt.png"))).unwrap(),
            "{stem}"
        );
        let sx = if s.info.case == "patient0001" {
            0.31
        } else {
            0.32
        };
        let [x, y] = s.info.spacing.unwrap();
        assert!(
            (x - sx).abs() < 1e-6 && (y - 0.154).abs() < 1e-6,
            "{stem}: {x} {y}"
        );
        let want = if s.info.case == "patient0001" {
            Split::Train
        } else {
            Split::Test
        };
        assert_eq!(s.info.split, Some(want));
    }
    let first = &samples[0];
    assert_eq!(
        (first.info.plane, first.info.phase),
        (Plane::TwoChamber, Some(Phase::Ed))
    );
    assert_eq!(first.info.frame, Some(0));
    assert_eq!(samples[1].info.frame, Some(9));
    assert_eq!(samples[3].info.frame, Some(10));
    assert_eq!(first.image.dimensions(), (14, 20));
}

#[test]
fn metaimage_release_reads_raw_and_zraw() {
    let root = fixtures("camus_mhd");
    let samples = camus::read(&root).unwrap();
    assert_eq!(samples.len(), 2);
    for s in &samples {
        let stem = format!("{}_{}_{}", s.info.case, s.info.plane, s.info.phase.unwrap());
        let expected = root.join("expected");
        assert_eq!(
            s.image,
            read_png(&expected.join(format!("{stem}.png"))).unwrap(),
            "{stem}"
        );
        assert_eq!(
            s.label,
            read_png(&expected.join(format!("{stem}_gt.png"))).unwrap(),
            "{stem}"
        );
        let [x, y] = s.info.spacing.unwrap();
        assert!((x - 0.25).abs() < 1e-9 && (y - 0.3).abs() < 1e-9);
        assert_eq!(s.info.plane, Plane::FourChamber);
        assert_eq!(s.info.split, None);
    }
    assert_eq!(samples[1].info.frame, Some(11));
}

fn copy_case(dst: &Path, files: &[&str]) {
    let src = fixtures("camus_bad/database_nifti/patient0009");
    let d = dst.join("database_nifti/patient0009");
    std::fs::create_dir_all(&d).unwrap();
    for f in files {
        std::fs::copy(src.join(f), d.join(f)).unwrap();
    }
}

#[test]
fn bad_files_are_named_in_clear_errors() {
    let err = |files: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        copy_case(dir.path(), files);
        camus::read(dir.path()).unwrap_err().to_string()
    };
    // Image 8x10, ground truth 8x9.
    let e = err(&["patient0009_2CH_ED.nii.gz", "patient0009_2CH_ED_gt.nii.gz"]);
    assert!(
        e.contains("patient0009_2CH_ED_gt.nii.gz") && e.contains("8x9"),
        "{e}"
    );
    // Truncated gzip.
    let e = err(&["patient0009_2CH_ES.nii.gz", "patient0009_2CH_ES_gt.nii.gz"]);
    assert!(
        e.contains("patient0009_2CH_ES.nii.gz") && e.contains("NIfTI"),
        "{e}"
    );
    // Label 7.
    let dir = tempfile::tempdir().unwrap();
    copy_case(
        dir.path(),
        &["patient0009_2CH_ED.nii.gz", "patient0009_2CH_ES_gt.nii.gz"],
    );
    let d = dir.path().join("database_nifti/patient0009");
    std::fs::copy(
        d.join("patient0009_2CH_ED.nii.gz"),
        d.join("patient0009_2CH_ES.nii.gz"),
    )
    .unwrap();
    std::fs::remove_file(d.join("patient0009_2CH_ED.nii.gz")).unwrap();
    let e = camus::read(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("patient0009_2CH_ES_gt.nii.gz") && e.contains("label value 7"),
        "{e}"
    );
    // Ground truth without image.
    let e = err(&["patient0009_2CH_ED_gt.nii.gz"]);
    assert!(e.contains("without its image"), "{e}");
    // No patients at all.
    let empty = tempfile::tempdir().unwrap();
    let e = camus::read(empty.path()).unwrap_err().to_string();
    assert!(e.contains("no patient folders"), "{e}");
}

#[test]
fn half_sequences_add_their_inner_frames_on_request() {
    let root = fixtures("camus_nifti");
    let samples = camus::read_with_half_sequences(&root).unwrap();
    // patient0001 2CH has a 4-frame half sequence: frames 1 and 2 join ED (0) and ES.
    assert_eq!(samples.len(), 10);
    let inner: Vec<_> = samples.iter().filter(|s| s.info.phase.is_none()).collect();
    assert_eq!(inner.len(), 2);
    let expected = root.join("expected");
    for (s, k) in inner.iter().zip([1, 2]) {
        assert_eq!(
            (s.info.case.as_str(), s.info.plane),
            ("patient0001", Plane::TwoChamber)
        );
        assert_eq!(s.info.frame, Some(k));
        let stem = format!("patient0001_2CH_half_sequence_{k}");
        assert_eq!(
            s.image,
            read_png(&expected.join(format!("{stem}.png"))).unwrap()
        );
        assert_eq!(
            s.label,
            read_png(&expected.join(format!("{stem}_gt.png"))).unwrap()
        );
        let [x, y] = s.info.spacing.unwrap();
        assert!((x - 0.31).abs() < 1e-6 && (y - 0.154).abs() < 1e-6);
        assert_eq!(s.info.split, Some(Split::Train));
    }
    // Right after that view's ED and ES.
    assert_eq!(samples[2].info.frame, Some(1));
}

#[test]
fn half_sequence_with_a_mismatched_ground_truth_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures("camus_nifti/database_nifti/patient0001");
    let dst = dir.path().join("database_nifti/patient0001");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    // A one-frame ground truth for the four-frame half sequence.
    std::fs::copy(
        src.join("patient0001_2CH_ED_gt.nii.gz"),
        dst.join("patient0001_2CH_half_sequence_gt.nii.gz"),
    )
    .unwrap();
    let e = camus::read_with_half_sequences(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("patient0001_2CH_half_sequence_gt.nii.gz") && e.contains("1 frames"),
        "{e}"
    );
    assert_eq!(camus::read(dir.path()).unwrap().len(), 4);
}
