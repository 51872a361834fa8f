//! Runs both examples in-process, without downloads: `sam_click` on the tiny SAM checkpoint of
//! echoone-sam's parity fixtures (its mask equal to official SAM's on the same image and click),
//! and `frozen_encoder_head` for a few steps on the tiny SAM.

use std::path::{Path, PathBuf};

use burn::backend::Autodiff;
use burn_flex::Flex;
use echoone_sam::npy::{NpyArray, read_npy};

#[allow(dead_code)]
#[path = "../examples/sam_click.rs"]
mod sam_click;

#[allow(dead_code)]
#[path = "../examples/frozen_encoder_head.rs"]
mod frozen_encoder_head;

fn sam_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/sam/tests/fixtures")
}

/// `examples/tiny_sam.json`: the configuration to run `sam_click` on `tiny.pth` (loading refuses
/// every mis-shaped weight, so a mask written proves the two agree).
fn tiny_json() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tiny_sam.json")
}

fn args(items: &[&Path]) -> Vec<String> {
    items.iter().map(|p| p.display().to_string()).collect()
}

/// A `.npy` fixture of echoone-sam's parity tests, written by the official `segment-anything`
/// (crates/sam/tests/fixtures/generate.py).
fn official(rel: &str) -> NpyArray {
    read_npy(sam_fixtures().join(rel)).unwrap()
}

#[test]
fn sam_click_writes_official_sams_mask() {
    // The parity fixtures' second image (150 rows x 101 columns) and its single-point case: the
    // official SamPredictor's logits at the image's size for one foreground click at
    // (40.4, 75), with the weights of tiny.pth. The example's mask must be those logits > 0.
    let dir = tempfile::tempdir().unwrap();
    let pixels = official("tiny/image1/image.npy");
    let [height, width, 3] = pixels.shape[..] else {
        panic!("image.npy of shape {:?}", pixels.shape)
    };
    let image = dir.path().join("echo.png");
    let bytes = pixels.data.iter().map(|&v| v as u8).collect();
    image::RgbImage::from_raw(width as u32, height as u32, bytes)
        .unwrap()
        .save(&image)
        .unwrap();
    let click = official("tiny/image1/point_single_in_point_coords.npy");
    assert_eq!(
        official("tiny/image1/point_single_in_point_labels.npy").data,
        [1.0]
    );
    let logits = official("tiny/image1/point_single_masks.npy");
    assert_eq!(logits.shape, [1, height, width]);

    let out = dir.path().join("mask.png");
    let checkpoint = sam_fixtures().join("tiny.pth");
    let mut a = args(&[&checkpoint, &image]);
    a.extend(click.data.iter().map(|c| c.to_string()));
    a.extend(args(&[&out, &tiny_json()]));
    sam_click::run(&a).unwrap();
    let mask = image::open(&out).unwrap().to_luma8();
    assert_eq!(mask.dimensions(), (width as u32, height as u32));

    // Not a trivial mask: official SAM marks 6,996 of the 15,150 pixels (46 %).
    let area = logits.data.iter().filter(|&&v| v > 0.0).count();
    assert!(
        area > logits.data.len() / 10 && area < logits.data.len() * 9 / 10,
        "official SAM's mask covers {area} of {} pixels",
        logits.data.len()
    );
    // Equal pixel for pixel, but where official SAM's logit is within echoone-sam's parity
    // tolerance (1e-4) of 0 and either side is right: 66 such pixels, all equal as well
    // (measured).
    let wrong: Vec<(usize, usize)> = logits
        .data
        .iter()
        .zip(mask.as_raw())
        .enumerate()
        .filter(|(_, (v, m))| v.abs() >= 1e-4 && (**v > 0.0) != (**m == 255))
        .map(|(i, _)| (i % width, i / width))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} pixels differ from official SAM's mask, first at (x, y) = {:?}",
        wrong.len(),
        logits.data.len(),
        wrong.first()
    );
    assert!(mask.pixels().all(|p| p[0] == 0 || p[0] == 255));
}

#[test]
fn sam_click_reports_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_json();
    let checkpoint = sam_fixtures().join("tiny.pth");
    let image = dir.path().join("echo.png");
    image::GrayImage::new(40, 30).save(&image).unwrap();
    let out = dir.path().join("mask.png");
    let run = |file: &Path, x: &str| {
        let mut a = args(&[&checkpoint, file]);
        a.extend([x.into(), "10".into()]);
        a.extend(args(&[&out, &config]));
        format!("{:#}", sam_click::run(&a).unwrap_err())
    };
    let usage = sam_click::run(&args(&[&checkpoint])).unwrap_err();
    assert!(usage.to_string().starts_with("usage:"), "{usage}");
    let missing = run(&dir.path().join("missing.png"), "5");
    assert!(
        missing.contains("missing.png: cannot read the image"),
        "{missing}"
    );
    let outside = run(&image, "41");
    assert!(outside.contains("outside the 40x30 image"), "{outside}");
    let not_a_number = run(&image, "five");
    assert!(
        not_a_number.contains("`five` is not a number"),
        "{not_a_number}"
    );
    // The named architectures are the official ones (their patch embedding's width in the
    // report of what the tiny checkpoint does not fit), and an unknown name is refused.
    let with = |variant: &str| {
        let mut a = args(&[&checkpoint, &image]);
        a.extend(["5".into(), "10".into()]);
        a.extend(args(&[&out]));
        a.push(variant.into());
        format!("{:#}", sam_click::run(&a).unwrap_err())
    };
    for (variant, width) in [("vit_b", 768), ("vit_l", 1024), ("vit_h", 1280)] {
        let e = with(variant);
        let expected = format!(
            "'image_encoder.patch_embed.proj.weight': expected Shape {{ dims: [{width}, 3, 16, 16] }}"
        );
        assert!(
            e.contains("tiny.pth") && e.contains(&expected),
            "{variant}: {e}"
        );
    }
    let unknown = with("vit_x");
    assert!(unknown.contains("vit_x"), "{unknown}");
    assert!(!out.exists());
}

#[test]
fn frozen_encoder_head_loss_falls() {
    let settings = frozen_encoder_head::Settings {
        cases: 2,
        steps: 12,
        ..Default::default()
    };
    let device = Default::default();
    let sam = frozen_encoder_head::tiny_sam()
        .init::<Flex>(&device)
        .unwrap();
    let losses = frozen_encoder_head::train::<Autodiff<Flex>>(sam, &settings, &device).unwrap();
    assert_eq!(losses.len(), 12);
    let (first, last) = (losses[0], losses[11]);
    assert!(last < 0.8 * first, "loss {first} -> {last}");
}
