//! The `model` command: `run` on a checkpoint written by the authors' code gives their logits,
//! takes a fitted prior (its structure's centre masks, weighted by the image's similarity to each
//! cluster) as well as an explicit one, and every bad input is a clear error that
//! names the culprit and leaves no output behind; `summary` prints the authors' split.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use echoone_pc_mask::{FittedPrior, LatentExtractor, PriorConfig, PriorSample};
use echoone_sam::npy::{encode_f32, read_npy};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/fixtures/authors_small")
        .join(name)
}

fn model(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .arg("model")
        .args(args)
        .output()
        .expect("run model")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `model run` on the authors' small fixture; each override sets a flag (`Some`) or removes
/// it (`None`).
fn run(out: &Path, overrides: &[(&str, Option<String>)]) -> Output {
    let mut args: Vec<(&str, String)> = vec![
        ("--weights", s(&fixture("model.pth")).into()),
        ("--config", s(&fixture("echoone_config.json")).into()),
        ("--image", s(&fixture("image.png")).into()),
        ("--point", "131,97".into()),
        ("--prior", s(&fixture("prior.npy")).into()),
        ("--out", s(out).into()),
    ];
    for (flag, value) in overrides {
        args.retain(|(f, _)| f != flag);
        if let Some(value) = value {
            args.push((flag, value.clone()));
        }
    }
    let mut flat = vec!["run"];
    for (flag, value) in &args {
        flat.push(flag);
        flat.push(value);
    }
    model(&flat)
}

fn max_abs_diff(path: &Path, expected: &str) -> f32 {
    let ours = read_npy(path).expect("ours");
    let theirs = read_npy(fixture(expected)).expect("theirs");
    assert_eq!(ours.shape, theirs.shape);
    ours.data
        .iter()
        .zip(&theirs.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn run_writes_the_authors_logits_mask_and_overlay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let result = run(&out, &[]);
    assert!(result.status.success(), "{}", stderr(&result));
    let low = max_abs_diff(&out.join("low_res_logits.npy"), "low_res_logits.npy");
    let coarse = max_abs_diff(&out.join("coarse_logits.npy"), "coarse_logits.npy");
    assert!(low < 1e-5 && coarse < 1e-5, "differences {low}, {coarse}");
    for png in ["mask.png", "overlay.png"] {
        let image = image::open(out.join(png)).expect(png);
        assert_eq!((image.width(), image.height()), (256, 256));
    }
}

/// Pearson correlation of two equally long series.
fn correlation(x: &[f32], y: &[f32]) -> f64 {
    let n = x.len() as f64;
    let mean = |v: &[f32]| v.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (a, b) = (f64::from(a) - mx, f64::from(b) - my);
        (sxy, sxx, syy) = (sxy + a * b, sxx + a * a, syy + b * b);
    }
    sxy / (sxx * syy).sqrt()
}

#[test]
fn run_resizes_an_image_of_another_size_to_the_model_and_its_outputs_back() {
    // The authors' image at twice its size (each pixel repeated 2x2), clicked at twice the
    // coordinates: resized to 256 for the model it is the original up to the resize's blur, so
    // the logits follow the original's closely (r 0.996, measured); mask and overlay come at
    // 512 x 512. The same image mirrored is the control: its logits must follow less.
    let dir = tempfile::tempdir().expect("temp dir");
    let original = image::open(fixture("image.png")).expect("image").to_luma8();
    let doubled = image::imageops::resize(&original, 512, 512, image::imageops::Nearest);
    let logits = |name: &str, image: &image::GrayImage| {
        let (path, out) = (
            dir.path().join(format!("{name}.png")),
            dir.path().join(name),
        );
        image.save(&path).expect("save");
        let clicked = [
            ("--image", Some(s(&path).into())),
            ("--point", Some("262,194".into())),
        ];
        let result = run(&out, &clicked);
        assert!(result.status.success(), "{}", stderr(&result));
        for png in ["mask.png", "overlay.png"] {
            let written = image::open(out.join(png)).expect(png);
            assert_eq!((written.width(), written.height()), (512, 512), "{png}");
        }
        read_npy(out.join("low_res_logits.npy"))
            .expect("logits")
            .data
    };
    let at_256 = dir.path().join("256");
    let result = run(&at_256, &[]);
    assert!(result.status.success(), "{}", stderr(&result));
    let reference = read_npy(at_256.join("low_res_logits.npy"))
        .expect("logits")
        .data;
    let doubled_logits = logits("doubled", &doubled);
    let r = correlation(&reference, &doubled_logits);
    assert!(r > 0.99, "logits of the doubled image: r = {r:.4}");
    let mirrored = image::imageops::flip_horizontal(&doubled);
    let r_mirrored = correlation(&reference, &logits("mirrored", &mirrored));
    // The fixture's random weights make every output much alike (r 0.964 mirrored, measured):
    // what tells them apart is the part the image does not explain, ten times larger mirrored.
    assert!(
        1.0 - r_mirrored > 5.0 * (1.0 - r),
        "logits of the mirrored image: r = {r_mirrored:.4} against {r:.4}"
    );
}

/// A prior fitted with `extractor` on eight made-up 64x64 label maps and latents, saved in
/// `dir/name`.
fn fitted_prior(dir: &Path, name: &str, extractor: LatentExtractor) -> PathBuf {
    let side = 8;
    let latents: Vec<Vec<f32>> = (0..8)
        .map(|i| {
            (0..side * side)
                .map(|j| ((i * 7 + j * 3) % 11) as f32 - 5.0)
                .collect()
        })
        .collect();
    let maps: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            (0..64 * 64)
                .map(|j| ((j / 64 + i) / 16 % 4) as u8)
                .collect()
        })
        .collect();
    let samples: Vec<PriorSample> = latents
        .iter()
        .zip(&maps)
        .map(|(latent, map)| PriorSample {
            latent,
            label_map: map,
            size: (64, 64),
            annotated: [true; 3],
            plane: None,
        })
        .collect();
    let config = PriorConfig::new().with_side(64).with_extractor(extractor);
    let prior = FittedPrior::fit(&samples, &config).expect("fit");
    let prior_dir = dir.join(name);
    prior.save(&prior_dir).expect("save");
    prior_dir
}

/// The prior `model run --fitted-prior DIR --structure <structure>` should feed the model,
/// worked out here from the fitted prior's parts: the image's thumbnail latent (as the fixture
/// image is 256 x 256, the model's input, it is used as it is), its cosine similarity to each
/// cluster's prototype, and that cluster's centre mask of `structure` scaled by it. `[K, s, s]`.
fn expected_prior(prior_dir: &Path, structure: usize) -> (Vec<f32>, [usize; 3]) {
    use burn::tensor::{Tensor, TensorData};
    let prior = FittedPrior::load(prior_dir).expect("fitted prior");
    let LatentExtractor::Thumbnail { side } = prior.extractor else {
        panic!("a thumbnail prior")
    };
    let grey = image::open(fixture("image.png")).expect("image").to_luma8();
    assert_eq!(grey.dimensions(), (256, 256));
    let pixels: Vec<f32> = grey.pixels().map(|p| f32::from(p[0]) / 255.0).collect();
    let images = Tensor::<burn_flex::Flex, 4>::from_data(
        TensorData::new(pixels, [1, 1, 256, 256]),
        &Default::default(),
    );
    let latent: Vec<f32> = echoone_pc_mask::thumbnail_latent(images, side)
        .into_data()
        .to_vec()
        .expect("latent");
    let cosine = |a: &[f32], b: &[f32]| {
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
    };
    let values = (0..prior.k)
        .flat_map(|k| {
            let s = cosine(&latent, &prior.prototypes[k]);
            prior.centre_mask(k, structure).iter().map(move |m| m * s)
        })
        .collect();
    (values, [prior.k, prior.side, prior.side])
}

/// The largest absolute difference between two `.npy` files' values (of the same shape).
fn npy_diff(a: &Path, b: &Path) -> f32 {
    let (a, b) = (read_npy(a).expect("a"), read_npy(b).expect("b"));
    assert_eq!(a.shape, b.shape);
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn run_takes_a_fitted_prior() {
    // The coarse logits (the prior U-Net's output) of a run with a fitted prior and a structure
    // equal those of a run given, as an explicit `--prior`, that structure's centre masks scaled
    // by the image's similarity to each cluster; with another structure they differ.
    let dir = tempfile::tempdir().expect("temp dir");
    let prior_dir = fitted_prior(dir.path(), "prior", LatentExtractor::Thumbnail { side: 8 });
    let fitted = |structure: &str| {
        let out = dir.path().join(format!("fitted-{structure}"));
        let result = run(
            &out,
            &[
                ("--prior", None),
                ("--fitted-prior", Some(s(&prior_dir).into())),
                ("--structure", Some(structure.into())),
            ],
        );
        assert!(result.status.success(), "{}", stderr(&result));
        out.join("coarse_logits.npy")
    };
    let (myo, lv) = (fitted("myo"), fitted("lv"));
    assert_eq!(read_npy(&myo).expect("coarse").shape, vec![1, 128, 128]);

    let (values, shape) = expected_prior(&prior_dir, 1);
    let explicit = dir.path().join("myo_prior.npy");
    std::fs::write(&explicit, encode_f32(&values, &shape)).expect("write");
    let out = dir.path().join("explicit-myo");
    let result = run(&out, &[("--prior", Some(s(&explicit).into()))]);
    assert!(result.status.success(), "{}", stderr(&result));
    let same = npy_diff(&myo, &out.join("coarse_logits.npy"));
    let other = npy_diff(&myo, &lv);
    eprintln!("MEASURED same {same:e} other {other}");
    // Measured: 0 against the worked-out MYO prior, 1.0 against the LV prior's run.
    assert!(
        same < 1e-5,
        "coarse logits {same} from the expected prior's"
    );
    assert!(
        other > 1e-2,
        "the LV prior's coarse logits differ from MYO's by only {other}"
    );
}

#[test]
fn bad_inputs_name_the_culprit_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong_prior = dir.path().join("prior3.npy");
    std::fs::write(
        &wrong_prior,
        encode_f32(&vec![0.5; 3 * 64 * 64], &[3, 64, 64]),
    )
    .expect("write");
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"not a checkpoint at all").expect("write");
    let of_sam = fitted_prior(dir.path(), "sam_prior", LatentExtractor::SamEncoder);
    let out = dir.path().join("out");
    let set = |flag, value: &str| (flag, Some(value.to_string()));
    let cases = [
        (
            vec![("--prior", None), set("--fitted-prior", s(&of_sam))],
            "come from the SAM encoder",
        ),
        (vec![set("--weights", s(&junk))], "junk.pth"),
        (vec![set("--image", s(&junk))], "junk.pth"),
        (vec![set("--prior", s(&wrong_prior))], "prior3.npy"),
        (vec![("--prior", None)], "--prior"),
        (vec![set("--point", "300,10")], "outside"),
        (vec![set("--point", "1,2,5")], "label"),
        (vec![set("--variant", "small")], "cannot be used"),
        (vec![("--config", None), set("--variant", "vit_q")], "vit_q"),
        (
            vec![("--config", None), set("--variant", "small")],
            "model.pth",
        ),
        (vec![("--config", None)], "--config"),
    ];
    for (overrides, culprit) in cases {
        let result = run(&out, &overrides);
        assert!(!result.status.success(), "{overrides:?} succeeded");
        assert!(stderr(&result).contains(culprit), "{}", stderr(&result));
        assert!(!out.exists(), "{overrides:?} wrote output");
    }
}

#[test]
fn summary_prints_the_authors_trainable_split() {
    let result = model(&["summary", "--variant", "vit_b"]);
    assert!(result.status.success(), "{}", stderr(&result));
    let text = String::from_utf8_lossy(&result.stdout);
    let total = text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect("total line");
    assert!(
        total.contains("45,621,697") && total.contains("139,292,145"),
        "{total}"
    );
    assert!(text.contains("image_encoder.cnn_embed"), "{text}");
}
