//! HMC-QU fixtures: AVIs written by OpenCV's VideoWriter (MJPG), masks by scipy.io.savemat
//! (plain and compressed), A4C.xlsx by openpyxl in the dataset's two-row header layout, and the
//! other sheet layouts (`hmcqu_sheets/`, by make_hmcqu_sheets.py) put in its place.

use std::path::{Path, PathBuf};

use echoone_data::hmcqu::{Report, SheetLayout};
use echoone_data::png_io::read_png;
use echoone_data::{Plane, Structure, StructureSet, hmcqu};

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

const MASKS: &str = "LV Ground-truth Segmentation Masks";

#[test]
fn cycle_frames_become_myocardium_samples_at_mask_size() {
    let root = fixtures("hmcqu");
    let samples = hmcqu::read(&root).unwrap();
    // ES0001 (cycle 3..5) and ES0002 (2..4) have masks; ES0003 has none.
    assert_eq!(samples.len(), 6);
    let expected = root.join("expected");
    for (i, s) in samples.iter().enumerate() {
        let (echo, start) = if i < 3 {
            ("ES0001 _4CH_1", 3)
        } else {
            ("ES0002 _4CH_1", 2)
        };
        let k = i % 3;
        let stem = format!("{echo}_{k}");
        assert_eq!(s.info.case, echo.replace(' ', ""));
        assert_eq!(s.info.frame, Some(start - 1 + k as u32), "{stem}");
        assert_eq!(
            s.label,
            read_png(&expected.join(format!("{stem}_label.png"))).unwrap(),
            "{stem}"
        );
        // The frame, resized to the mask's 32x32 like cv2.resize(INTER_LINEAR) on OpenCV's
        // decode: equal within a few grey levels (JPEG decoders and fixed-point resize differ).
        let image = read_png(&expected.join(format!("{stem}_image.png"))).unwrap();
        assert_eq!(s.image.dimensions(), (32, 32));
        let d = s
            .image
            .as_raw()
            .iter()
            .zip(image.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(d <= 3, "{stem}: image differs by {d}");
        assert_eq!(s.annotated, StructureSet::of(&[Structure::Myo]));
        assert_eq!(s.present(), StructureSet::of(&[Structure::Myo]));
        assert_eq!((s.info.plane, s.info.phase), (Plane::FourChamber, None));
        assert_eq!((s.info.spacing, s.info.split), (None, None));
    }
}

/// A copy of the HMC-QU fixture in a temporary folder, for breaking it.
fn copy_hmcqu() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures("hmcqu");
    for sub in ["HMC-QU/A4C", MASKS] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::copy(src.join("A4C.xlsx"), dir.path().join("A4C.xlsx")).unwrap();
    dir
}

#[test]
fn bad_masks_videos_and_sheets_are_named_in_clear_errors() {
    // The sheet that marks ES0003 (cycle 1..4, no mask file) as annotated.
    let dir = copy_with_sheet("start_end_loose_names.xlsx", "A4C.xlsx");
    let masks = dir.path().join(MASKS);
    // ES0003's cycle is 1..4 (4 frames) but ES0001's mask has 3.
    std::fs::copy(
        masks.join("Mask_ES0001 _4CH_1.mat"),
        masks.join("Mask_ES0003 _4CH_1.mat"),
    )
    .unwrap();
    let e = hmcqu::read(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("Mask_ES0003 _4CH_1.mat") && e.contains("[3, 32, 32]") && e.contains("4 frames"),
        "{e}"
    );
    for (bad, needle) in [
        ("Mask_4d.mat", "dimensions [3, 4, 5, 2]"),
        ("Mask_other_name.mat", "no mask array \"predicted\""),
        ("Mask_not_mat.mat", "MATLAB"),
    ] {
        std::fs::copy(
            fixtures("mat_bad").join(bad),
            masks.join("Mask_ES0003 _4CH_1.mat"),
        )
        .unwrap();
        let e = hmcqu::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("Mask_ES0003 _4CH_1.mat") && e.contains(needle),
            "{bad}: {e}"
        );
    }
    std::fs::remove_file(masks.join("Mask_ES0003 _4CH_1.mat")).unwrap();

    let videos = dir.path().join("HMC-QU/A4C");
    std::fs::copy(
        fixtures("avi_bad/mpeg4.avi"),
        videos.join("ES0002 _4CH_1.avi"),
    )
    .unwrap();
    let e = hmcqu::read(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("ES0002 _4CH_1.avi") && e.contains("not Motion-JPEG"),
        "{e}"
    );
    std::fs::remove_file(videos.join("ES0002 _4CH_1.avi")).unwrap();
    let e = hmcqu::read(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("ES0002 _4CH_1.avi") && e.contains("missing video"),
        "{e}"
    );

    std::fs::write(dir.path().join("A4C.xlsx"), b"not a workbook").unwrap();
    let e = hmcqu::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("A4C.xlsx") && e.contains("spreadsheet"), "{e}");
    std::fs::remove_file(dir.path().join("A4C.xlsx")).unwrap();
    let e = hmcqu::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("A4C.xlsx"), "{e}");
}

#[test]
fn earlier_release_folder_names_are_read_too() {
    let dir = copy_hmcqu();
    std::fs::rename(dir.path().join("A4C.xlsx"), dir.path().join("HMC_QU.xlsx")).unwrap();
    std::fs::create_dir(dir.path().join("HMC-QU Echos")).unwrap();
    std::fs::rename(
        dir.path().join("HMC-QU/A4C"),
        dir.path().join("HMC-QU Echos/HMC-QU Echos"),
    )
    .unwrap();
    assert_eq!(hmcqu::read(dir.path()).unwrap().len(), 6);
}

/// The copy of the HMC-QU fixture with `hmcqu_sheets/<sheet>` as its sheet `name`.
fn copy_with_sheet(sheet: &str, name: &str) -> tempfile::TempDir {
    let dir = copy_hmcqu();
    std::fs::remove_file(dir.path().join("A4C.xlsx")).unwrap();
    std::fs::copy(fixtures("hmcqu_sheets").join(sheet), dir.path().join(name)).unwrap();
    dir
}

#[test]
fn every_sheet_layout_gives_the_same_cycles_and_counts_skipped_rows() {
    let (expected, report) = hmcqu::read_with_report(&fixtures("hmcqu")).unwrap();
    assert_eq!(
        (
            report.layout,
            report.read,
            report.unmarked,
            report.without_mask
        ),
        (SheetLayout::StartEnd, 2, 1, 0)
    );
    // (sheet, its name in the copy, layout, unmarked, without a mask file)
    let cases = [
        (
            "first_frame.xlsx",
            "A4C.xlsx",
            SheetLayout::FirstFrame,
            2,
            1,
        ),
        (
            "start_end_loose_names.xlsx",
            "A4C.xlsx",
            SheetLayout::StartEnd,
            0,
            1,
        ),
        (
            "reference_end.xlsx",
            "HMC_QU.xlsx",
            SheetLayout::ReferenceEnd,
            0,
            1,
        ),
    ];
    for (sheet, name, layout, unmarked, without_mask) in cases {
        let dir = copy_with_sheet(sheet, name);
        let (samples, report) = hmcqu::read_with_report(dir.path()).unwrap();
        assert_eq!(
            report,
            Report {
                sheet: dir.path().join(name),
                layout,
                read: 2,
                unmarked,
                without_cycle: 0,
                without_mask,
            },
            "{sheet}"
        );
        assert_eq!(samples.len(), expected.len(), "{sheet}");
        for (s, e) in samples.iter().zip(&expected) {
            assert_eq!(
                (&s.info.case, s.info.frame),
                (&e.info.case, e.info.frame),
                "{sheet}"
            );
            assert_eq!((&s.image, &s.label), (&e.image, &e.label), "{sheet}");
        }
    }
}

#[test]
fn bad_sheets_name_the_file_and_row() {
    for (sheet, needles) in [
        (
            "first_frame_bad.xlsx",
            &["A4C.xlsx", "row 3", "ES0002", "\"second\""][..],
        ),
        (
            "no_cycle_column.xlsx",
            &["A4C.xlsx", "no cycle columns"][..],
        ),
    ] {
        let dir = copy_with_sheet(sheet, "A4C.xlsx");
        let e = hmcqu::read(dir.path()).unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "{sheet}: {e}");
        }
    }
}

#[test]
fn inspect_reports_the_sheet_layout_and_skipped_rows() {
    // What `echoone data inspect hmcqu:DIR` prints (with --json, and as a table).
    let dir = copy_with_sheet("first_frame.xlsx", "A4C.xlsx");
    let (samples, report) = hmcqu::read_with_report(dir.path()).unwrap();
    let mut v = echoone_data::inspect::summary(&samples);
    echoone_data::inspect::add_hmcqu(&mut v, &report);
    let h = &v["hmcqu"];
    assert_eq!(h["sheet_layout"], "first-frame", "{h}");
    assert_eq!(h["recordings_read"], 2, "{h}");
    assert_eq!(h["skipped"]["unmarked"], 2, "{h}");
    assert_eq!(h["skipped"]["without_mask"], 1, "{h}");
    assert_eq!(v["images"], 6);
    let table = echoone_data::inspect::table(&v);
    assert!(
        table.contains("first-frame layout") && table.contains("skipped 2 unmarked"),
        "{table}"
    );
}
