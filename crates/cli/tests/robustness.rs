//! The readers of a run's files survive any file: `TrainConfig::load_json` (a training
//! configuration), `Checkpoint::open` (a checkpoint folder's `state.json`, with the epoch history
//! and the mid-epoch position) and `load_model` (its `model.mpk` weights) are fed seeded
//! truncated, bit-flipped and number-mutated versions of files written by the crate itself. Each
//! call must return (no panic), within 1 s, with an error naming the file, and never ask for more
//! than 1 GiB at once (echoone-test-support's mutator, allocator and harness). The fitted prior a
//! checkpoint holds is echoone-pc-mask's robustness test's. `predict`'s inputs (`read_input`:
//! PNG, JPEG, NIfTI and AVI) get the same treatment.
//!
//! `cargo test -p echoone-cli --test robustness -- --nocapture` prints, per file, the number of
//! variants, the slowest one and the largest single allocation.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use burn::optim::{AdamConfig, Optimizer};
use burn_flex::Flex;
use echoone_infer::predict::read_input;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_run::checkpoint::{self, CheckpointParts, EpochPosition, load_model};
use echoone_run::{Checkpoint, EpochRecord, TrainConfig, TrainState};
use echoone_test_support::{
    CountingAlloc, PLAN, Plan, check, jpeg_sof_variants, png_ihdr_variants, text_variants, variants,
};

/// The training backend.
type Ad = burn_autodiff::Autodiff<Flex>;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The tests' tiny EchoONE without PC-Mask (its fixed-width prior U-Net would make `model.mpk`
/// 1.9 MB, and every variant is a full load).
fn tiny_run() -> TrainConfig {
    let model = EchoOneConfig::tiny().with_pc_mask(false);
    TrainConfig::new(model)
        .with_datasets(vec!["synthetic:cases=4,size=64x64,seed=7".into()])
        .with_batch_size(2)
        .with_epochs(3)
        .with_steps_per_epoch(2)
        .with_seed(42)
}

/// Three epochs of history, and a position part-way through the fourth.
fn tiny_state() -> TrainState {
    let by = |names: &[&str], v: f64| -> BTreeMap<String, f64> {
        names.iter().map(|n| (n.to_string(), v)).collect()
    };
    let history: Vec<EpochRecord> = (1..=3)
        .map(|epoch| EpochRecord {
            epoch,
            lr: 1e-3 / epoch as f64,
            train_loss: 1.5 / epoch as f64,
            train_terms: by(
                &["main_bce", "main_dice", "coarse_bce"],
                0.25 * epoch as f64,
            ),
            val_loss: 1.25 / epoch as f64,
            val_dice: 0.5 + 0.1 * epoch as f64,
            val_dice_structure: by(&["LV", "MYO", "LA"], 0.6),
            val_dice_plane: by(&["2CH", "4CH"], 0.7),
            samples_per_second: 12.5,
            seconds: 3.25 * epoch as f64,
        })
        .collect();
    let position = EpochPosition {
        epoch: 4,
        steps: 1,
        seed: 42,
        lr: 2.5e-4,
        seen: 2,
        train_seconds: 1.5,
        ..Default::default()
    }
    .with_sums(&by(&["loss", "main_dice"], 0.75));
    TrainState {
        epoch: 3,
        step: 6,
        best: Some((0.8, 3)),
        history,
        position: Some(position),
    }
}

#[test]
fn train_config_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    tiny_run().save_json(&path).unwrap();
    let seed = std::fs::read_to_string(&path).unwrap();
    TrainConfig::load_json(&path).expect("the seed configuration loads");
    check(
        "config.json",
        &path,
        "config.json",
        text_variants("config.json", &seed, 200, 601),
        |p: &Path| TrainConfig::load_json(p).map(|_| ()),
    );
}

#[test]
fn checkpoint_folder_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("checkpoints/latest");
    let config = tiny_run();
    let device = Default::default();
    let model = config.model.init::<Flex>(&device).expect("tiny model");
    let state = tiny_state();
    let parts = CheckpointParts::<()> {
        optimizer: None,
        state: &state,
        config: &config,
        prior: None,
    };
    checkpoint::save(&folder, &model, parts).unwrap();
    Checkpoint::open(dir.path()).expect("the seed checkpoint opens");
    load_model::<Flex>(&config.model, &folder, &device).expect("the seed weights load");

    let state_path = folder.join("state.json");
    let seed = std::fs::read_to_string(&state_path).unwrap();
    check(
        "state.json (Checkpoint::open)",
        &state_path,
        "state.json",
        text_variants("state.json", &seed, 200, 611),
        |_: &Path| Checkpoint::open(dir.path()).map(|_| ()),
    );
    std::fs::write(&state_path, &seed).unwrap();

    let mpk = folder.join("model.mpk");
    let seed = std::fs::read(&mpk).unwrap();
    println!("seed: the tiny EchoONE's model.mpk, {} bytes", seed.len());
    // Many flips: most bytes are weights, flipped harmlessly. The smaller plan (seed 621) holds
    // a variant whose mangled parameter id made burn's decoder panic ("Invalid id.").
    let many = Plan {
        flips: 400,
        multi: 300,
        ..PLAN
    };
    let few = Plan {
        cuts: 40,
        header_bits: 8,
        flips: 40,
        multi: 30,
        bytes: 24,
    };
    let mut list = variants("model.mpk", &seed, &[], few, 621);
    list.extend(variants("model.mpk", &seed, &[], many, 622));
    check(
        "model.mpk (load_model)",
        &mpk,
        "model.mpk",
        list,
        |_: &Path| load_model::<Flex>(&config.model, &folder, &device).map(|_| ()),
    );
}

/// Loads `ckpt`'s optimiser state as the record of `optim`'s type.
fn load_optimizer_like<O: Optimizer<EchoOne<Ad>, Ad>>(
    _optim: &O,
    ckpt: &Checkpoint,
) -> echoone_run::Result<O::Record> {
    ckpt.optimizer::<Ad, O::Record>(&Default::default())
}

#[test]
fn optimizer_state_survives_any_file() {
    // A real latest checkpoint with Adam's moments, from one training step of the CLI.
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run()
        .with_datasets(vec!["synthetic:cases=10,size=64x64,seed=7".into()])
        .with_epochs(1)
        .with_steps_per_epoch(1);
    let config = common::write_config(dir.path(), "config.json", &run);
    let out = dir.path().join("run");
    common::ok(&common::echoone(&[
        "train",
        "--quiet",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let ckpt = Checkpoint::open(&out.join("checkpoints/latest")).unwrap();
    let adam = AdamConfig::new().init::<Ad, EchoOne<Ad>>();
    load_optimizer_like(&adam, &ckpt).expect("the seed optimiser state loads");
    let path = ckpt.dir.join("optimizer.mpk");
    let seed = std::fs::read(&path).unwrap();
    println!("seed: one step's Adam state, {} bytes", seed.len());
    let few = Plan {
        cuts: 40,
        header_bits: 8,
        flips: 60,
        multi: 40,
        bytes: 24,
    };
    check(
        "optimizer.mpk (Checkpoint::optimizer)",
        &path,
        "optimizer",
        variants("optimizer.mpk", &seed, &[], few, 631),
        |_: &Path| load_optimizer_like(&adam, &ckpt).map(|_| ()),
    );
}

#[test]
fn prediction_inputs_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let frame = image::GrayImage::from_fn(40, 32, |x, y| image::Luma([(x * 6 + y * 2) as u8]));
    let read = |p: &Path| read_input(p).map(|_| ());

    let png = echoone_data::png_io::encode_png(&frame).unwrap();
    let mut list = variants("png", &png, &[], PLAN, 701);
    list.extend(png_ihdr_variants(&png));
    check(
        "png (predict)",
        &dir.path().join("echo.png"),
        "echo.png",
        list,
        read,
    );

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&frame)
        .unwrap();
    let sof = jpeg_sof_variants(&jpeg);
    assert!(
        !sof.is_empty(),
        "the seed JPEG has no baseline frame header"
    );
    let mut list = variants("jpeg", &jpeg, &[], PLAN, 702);
    list.extend(sof);
    check(
        "jpeg (predict)",
        &dir.path().join("echo.jpg"),
        "echo.jpg",
        list,
        read,
    );

    let nifti = dir.path().join("seed.nii.gz");
    echoone_data::nifti_io::write_u8(&nifti, &[frame.clone(), frame], Some([0.3, 0.3])).unwrap();
    let seed = std::fs::read(&nifti).unwrap();
    let list = variants("nifti", &seed, &[], PLAN, 703);
    check(
        "nifti (predict)",
        &dir.path().join("echo.nii.gz"),
        "echo.nii.gz",
        list,
        read,
    );

    let avi = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/tests/fixtures/echonet/Videos/0X1A.avi");
    let seed = std::fs::read(avi).unwrap();
    let list = variants("avi", &seed, &[], PLAN, 704);
    check(
        "avi (predict)",
        &dir.path().join("echo.avi"),
        "echo.avi",
        list,
        read,
    );
}
