//! The `sam` command: outputs equal official SAM's on the reduced fixture model, and every bad
//! input is a clear error that names the culprit and leaves no output behind.

#[path = "../../sam/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::config::Config;
use common::{fixtures, npy, tiny_config};
use echoone_sam::npy::read_npy;
use image::RgbImage;

struct Setup {
    dir: tempfile::TempDir,
    image: PathBuf,
    config: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = npy("tiny/image0/image.npy");
    let pixels = a.data.iter().map(|&v| v as u8).collect();
    let img = RgbImage::from_raw(a.shape[1] as u32, a.shape[0] as u32, pixels).expect("image");
    let image = dir.path().join("image.png");
    img.save(&image).expect("png");
    let config = dir.path().join("tiny.json");
    tiny_config().save(&config).expect("config");
    Setup { dir, image, config }
}

fn sam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .arg("sam")
        .args(args)
        .output()
        .expect("run sam")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn writes_the_official_outputs() {
    let t = setup();
    let out = t.dir.path().join("out");
    let coords = npy("tiny/image0/point_multi_in_point_coords.npy").data;
    let point = format!("{},{},1", coords[0], coords[1]);
    let checkpoint = fixtures().join("tiny.pth");
    let result = sam(&[
        "--weights",
        s(&checkpoint),
        "--config",
        s(&t.config),
        "--image",
        s(&t.image),
        "--point",
        &point,
        "--multimask",
        "--out",
        s(&out),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let low = read_npy(out.join("low_res_logits.npy")).expect("low-res logits");
    let expected = npy("tiny/image0/point_multi_low_res.npy");
    assert_eq!(low.shape, expected.shape);
    let diff = low
        .data
        .iter()
        .zip(&expected.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "low-res logits differ by {diff}");
    let iou = read_npy(out.join("iou_predictions.npy")).expect("iou");
    assert_eq!(iou.shape, vec![3]);
    for i in 0..3 {
        let mask = image::open(out.join(format!("mask_{i}.png"))).expect("mask png");
        assert_eq!((mask.width(), mask.height()), (120, 96));
    }
    assert!(out.join("overlay.png").exists());
}

fn assert_fails(args: &[&str], out: &Path, expected: &[&str]) {
    let result = sam(args);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "should fail: {args:?}");
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "stderr lacks `{needle}`:\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
    assert!(
        !out.exists(),
        "{} was written despite the error",
        out.display()
    );
}

#[test]
fn bad_checkpoints_are_clear_errors() {
    let t = setup();
    let out = t.dir.path().join("out");
    let missing = t.dir.path().join("nope.pth");
    let base = |ckpt: &Path| {
        vec![
            "--weights".to_string(),
            s(ckpt).to_string(),
            "--image".into(),
            s(&t.image).into(),
            "--point".into(),
            "10,10".into(),
            "--out".into(),
            s(&out).into(),
        ]
    };
    let run = |args: Vec<String>, expected: &[&str]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_fails(&refs, &out, expected);
    };
    run(base(&missing), &["nope.pth"]);

    let garbage = t.dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"this is not a checkpoint at all").expect("write");
    run(
        base(&garbage),
        &["garbage.pth", "not a readable SAM checkpoint"],
    );

    let truncated = t.dir.path().join("truncated.pth");
    let bytes = std::fs::read(fixtures().join("tiny.pth")).expect("fixture");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let mut args = base(&truncated);
    args.extend(["--config".into(), s(&t.config).into()]);
    run(args, &["truncated.pth"]);

    // The reduced model's weights given to the ViT-B architecture: every mis-shaped key listed.
    run(
        base(&fixtures().join("tiny.pth")),
        &[
            "does not match the model",
            "image_encoder.patch_embed.proj.weight",
            "--arch",
        ],
    );
}

#[test]
fn bad_images_and_prompts_are_clear_errors() {
    let t = setup();
    let out = t.dir.path().join("out");
    let checkpoint = fixtures().join("tiny.pth");
    let fake = t.dir.path().join("fake.png");
    std::fs::write(&fake, b"not an image").expect("write");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--image", s(&fake), "--point", "1,1"],
            vec!["fake.png"],
        ),
        (
            vec!["--image", s(&t.image), "--point", "1,abc"],
            vec!["--point", "abc"],
        ),
        (
            vec!["--image", s(&t.image), "--point", "1,2,3"],
            vec!["label"],
        ),
        (
            vec!["--image", s(&t.image), "--point", "500,2"],
            vec!["outside"],
        ),
        (
            vec!["--image", s(&t.image), "--box", "50,50,10,10"],
            vec!["--box"],
        ),
        (vec!["--image", s(&t.image)], vec!["at least one"]),
        (
            vec!["--image", s(&t.image), "--point", "1,1", "--arch", "vit_x"],
            vec!["vit_x"],
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "--weights",
            s(&checkpoint),
            "--config",
            s(&t.config),
            "--out",
            s(&out),
        ];
        args.extend(extra);
        assert_fails(&args, &out, &expected);
    }
}
