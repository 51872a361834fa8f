//! The fitted prior's reader survives any file: `FittedPrior::load` is fed seeded truncated,
//! bit-flipped, number-mutated and header-mutated versions of `prior.json` and
//! `centre_masks.npy` (one mutated, the other intact), and the loaded prior is used once. Each
//! call must return (no panic), within 1 s, with an error naming the file, and never ask for
//! more than 1 GiB at once (echoone-test-support's mutator, allocator and harness).
//!
//! `cargo test -p echoone-pc-mask --test robustness -- --nocapture` prints, per file, the number
//! of variants, the slowest one and the largest single allocation.

use std::path::Path;

use echoone_pc_mask::{FittedPrior, LatentExtractor, PcMaskError, PriorConfig, PriorSample};
use echoone_test_support::{CountingAlloc, Field, PLAN, check, text_variants, variants};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A prior fitted on six 16x16 label maps of two kinds (LV at the top, LV at the bottom, the
/// others with MYO and LA too): K = 2, centre masks 8x8, latents of 4 values.
fn tiny_prior() -> FittedPrior {
    let half = |top: bool, label: u8| -> Vec<u8> {
        (0..256)
            .map(|i| if (i < 128) == top { label } else { 3 - label })
            .collect()
    };
    let kinds = [
        (true, 1),
        (true, 1),
        (false, 1),
        (false, 2),
        (true, 2),
        (false, 1),
    ];
    let maps: Vec<Vec<u8>> = kinds.iter().map(|&(top, l)| half(top, l)).collect();
    let latents: Vec<Vec<f32>> = kinds
        .iter()
        .enumerate()
        .map(|(i, &(top, _))| {
            let v = if top { 1.0 } else { 0.0 };
            vec![v, v, 1.0 - v, 0.1 * i as f32]
        })
        .collect();
    let samples: Vec<PriorSample> = latents
        .iter()
        .zip(&maps)
        .map(|(latent, label_map)| PriorSample {
            latent,
            label_map,
            size: (16, 16),
            annotated: [true; 3],
            plane: Some(if latent[0] > 0.5 { "top" } else { "bottom" }),
        })
        .collect();
    let config = PriorConfig::new()
        .with_k(2)
        .with_side(8)
        .with_extractor(LatentExtractor::Thumbnail { side: 2 });
    FittedPrior::fit(&samples, &config).expect("the tiny prior fits")
}

/// Loads the prior in `p`'s folder and uses it once: the similarities and the prior of every
/// structure for a latent of the prototypes' length.
fn load_and_use(p: &Path) -> Result<(), PcMaskError> {
    let prior = FittedPrior::load(p.parent().expect("a folder"))?;
    let d = prior.prototypes.first().map_or(0, Vec::len);
    let latent = vec![0.5f32; d];
    let _ = prior.similarities(&latent);
    for structure in 0..3 {
        let _ = prior.prior(&latent, structure);
    }
    Ok(())
}

#[test]
fn fitted_prior_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    tiny_prior().save(dir.path()).unwrap();
    let json_path = dir.path().join("prior.json");
    let npy_path = dir.path().join("centre_masks.npy");
    let json = std::fs::read_to_string(&json_path).unwrap();
    let npy = std::fs::read(&npy_path).unwrap();
    load_and_use(&json_path).expect("the seed prior loads");
    check(
        "prior.json",
        &json_path,
        "prior.json",
        text_variants("prior.json", &json, 48, 501),
        load_and_use,
    );
    std::fs::write(&json_path, &json).unwrap();
    let fields = [
        Field::int("npy version", 6, 1),
        Field::int("npy header length", 8, 2),
    ];
    check(
        "centre_masks.npy",
        &npy_path,
        "centre_masks.npy",
        variants("centre_masks.npy", &npy, &fields, PLAN, 511),
        load_and_use,
    );
}
