//! EchoNet-Dynamic fixtures: AVIs written by OpenCV's VideoWriter (MJPG), CSVs as the dataset
//! has them, expected masks rasterised by skimage.draw.polygon and frames decoded by OpenCV.

use std::path::{Path, PathBuf};

use echoone_data::avi::AviVideo;
use echoone_data::png_io::read_png;
use echoone_data::{Phase, Plane, Split, Structure, StructureSet, echonet};

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The largest absolute difference of two equal-sized grey images.
fn max_diff(a: &image::GrayImage, b: &image::GrayImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn traced_frames_become_lv_samples_with_echonet_masks_phases_and_splits() {
    let root = fixtures("echonet");
    let samples = echonet::read(&root).unwrap();
    assert_eq!(samples.len(), 8);
    let expected = root.join("expected");
    for s in &samples {
        let phase = s.info.phase.unwrap();
        let stem = format!("{}_{}", s.info.case, phase);
        let frame: u32 = std::fs::read_to_string(expected.join(format!("{stem}_frame.txt")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(s.info.frame, Some(frame), "{stem}");
        // Masks pixel for pixel (0/1 from skimage, which is the LV label 1).
        let label = read_png(&expected.join(format!("{stem}_label.png"))).unwrap();
        assert_eq!(s.label, label, "{stem}");
        // Frames: our JPEG luma against OpenCV's decode + BGR2GRAY (different IDCT and colour
        // round trip), so within a few grey levels rather than bit for bit.
        let image = read_png(&expected.join(format!("{stem}_image.png"))).unwrap();
        let d = max_diff(&s.image, &image);
        assert!(d <= 3, "{stem}: frame differs from OpenCV's by {d}");
        assert_eq!(s.image.dimensions(), (112, 112));
        assert_eq!(s.annotated, StructureSet::of(&[Structure::Lv]));
        assert_eq!(s.info.plane, Plane::FourChamber);
        assert_eq!(s.info.spacing, None);
        let want = match s.info.case.as_str() {
            "0X2B" => Split::Val,
            "0X3C" => Split::Test,
            _ => Split::Train,
        };
        assert_eq!(s.info.split, Some(want), "{stem}");
    }
    // 0X4D lists its large tracing first: the area, not the file order, makes it ED.
    let ed = samples
        .iter()
        .find(|s| s.info.case == "0X4D" && s.info.phase == Some(Phase::Ed))
        .unwrap();
    assert_eq!(ed.info.frame, Some(3));
}

/// A copy of the EchoNet fixture in a temporary folder, for breaking it.
fn copy_echonet() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures("echonet");
    std::fs::create_dir(dir.path().join("Videos")).unwrap();
    for f in ["FileList.csv", "VolumeTracings.csv"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    for v in ["0X1A", "0X2B", "0X3C", "0X4D"] {
        let f = format!("Videos/{v}.avi");
        std::fs::copy(src.join(&f), dir.path().join(&f)).unwrap();
    }
    dir
}

#[test]
fn missing_or_bad_videos_and_rows_are_named_in_clear_errors() {
    let dir = copy_echonet();
    let videos = dir.path().join("Videos");
    std::fs::remove_file(videos.join("0X2B.avi")).unwrap();
    let e = echonet::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("0X2B.avi") && e.contains("missing video"), "{e}");

    for (bad, needle) in [
        ("mpeg4.avi", "is not Motion-JPEG"),
        ("truncated.avi", "truncated"),
        ("not_riff.avi", "not an AVI"),
    ] {
        std::fs::copy(fixtures("avi_bad").join(bad), videos.join("0X2B.avi")).unwrap();
        let e = echonet::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("0X2B.avi") && e.contains(needle), "{bad}: {e}");
    }

    let dir = copy_echonet();
    let tracings = dir.path().join("VolumeTracings.csv");
    let text = std::fs::read_to_string(&tracings).unwrap();
    std::fs::write(&tracings, text.replace(",6\n", ",60\n")).unwrap();
    let e = echonet::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("0X1A.avi") && e.contains("frame 60"), "{e}");
    std::fs::write(&tracings, text.replacen("50.300000", "fifty", 1)).unwrap();
    let e = echonet::read(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("VolumeTracings.csv") && e.contains("\"fifty\""),
        "{e}"
    );

    let list = dir.path().join("FileList.csv");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, text.replace("VAL", "HOLDOUT")).unwrap();
    let e = echonet::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("FileList.csv") && e.contains("HOLDOUT"), "{e}");
    std::fs::remove_file(&list).unwrap();
    let e = echonet::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("FileList.csv") && e.contains("missing"), "{e}");
}

#[test]
fn avi_demuxer_indexes_every_mjpeg_frame() {
    let video = AviVideo::read(&fixtures("echonet/Videos/0X1A.avi")).unwrap();
    assert_eq!(video.len(), 8);
    assert_eq!((video.width, video.height), (112, 112));
    assert_eq!(video.frame(7).unwrap().dimensions(), (112, 112));
    let e = video.frame(8).unwrap_err().to_string();
    assert!(
        e.contains("0X1A.avi") && e.contains("frame 8 out of range"),
        "{e}"
    );
}

#[test]
fn a_frame_with_zeroed_jpeg_headers_is_an_error_naming_the_file_and_frame() {
    // make_fixtures.py zeroes the first frame's tables and frame header; the second is intact.
    let path = fixtures("avi_bad/corrupt_frame.avi");
    let video = AviVideo::read(&path).unwrap();
    assert_eq!(video.len(), 2);
    let e = video.frame(0).unwrap_err().to_string();
    assert!(
        e.contains("corrupt_frame.avi") && e.contains("frame 0"),
        "{e}"
    );
    assert_eq!(video.frame(1).unwrap().dimensions(), (32, 32));
}
