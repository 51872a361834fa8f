//! Readers that survive any file: the loaders of the authors' EchoONE checkpoints
//! (`load_authors_checkpoint`, `checkpoint_shapes`) and of official SAM weights
//! (`load_sam_checkpoint`) are fed hundreds of truncated, bit-flipped, zip-header-mutated and
//! pickle-mutated versions of a valid checkpoint (seeded). Each call must return (no panic),
//! within 1 s, with an error naming the file, and never ask for more than 1 GiB at once. The
//! seeds are written here, from a tiny configuration (`torch.save`'s zip layout, written by
//! echoone-test-support), not committed.
//!
//! `cargo test -p echoone-model --test robustness -- --nocapture` prints, per reader, the number
//! of variants, the slowest one and the largest single allocation.

use std::path::Path;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn_flex::Flex;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot};
use echoone_model::{EchoOneConfig, checkpoint_shapes};
use echoone_test_support::{
    CHECKPOINT_PLAN, CountingAlloc, Plan, StateTensor, Variant, byte_variants_in, check,
    state_dict_pth, variants, zip_entry, zip_fields,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A tiny EchoONE at 64 pixels (8x8 tokens) with LFFA (residual CNN branch, adapters, fusion)
/// and without PC-Mask, whose prior U-Net has a fixed width and alone would make the checkpoint
/// 1.9 MB (each variant is a full load): 0.2 MB.
fn tiny() -> EchoOneConfig {
    EchoOneConfig::new()
        .with_input_size(64)
        .with_encoder_input_size(72)
        .with_embed_dim(16)
        .with_depth(4)
        .with_num_heads(2)
        .with_window_size(4)
        .with_global_attn_indexes(vec![1, 3])
        .with_pos_table_size(8)
        .with_cnn_base_channels(4)
        .with_prompt_dim(16)
        .with_decoder_depth(3)
        .with_decoder_heads(2)
        .with_decoder_mlp_dim(16)
        .with_pc_mask(false)
}

/// `module`'s parameters under PyTorch's names and layouts, as a `.pth` file's bytes.
fn pth_of<B: Backend, M: Module<B> + ModuleSnapshot<B>>(module: &M) -> Vec<u8> {
    let tensors: Vec<StateTensor> = module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), false)
        .into_iter()
        .map(|s| StateTensor {
            key: s.full_path(),
            shape: s.shape.to_vec(),
            values: s
                .to_data()
                .expect("a parameter's data")
                .to_vec::<f32>()
                .expect("f32 parameters"),
        })
        .collect();
    state_dict_pth(&tensors)
}

/// For the loaders: fewer bit flips anywhere, which mostly land in tensor data, load whole (about
/// 0.1 s each) and find nothing the flips in the pickle and zip headers do not.
const LOAD_PLAN: Plan = Plan {
    flips: 10,
    multi: 10,
    ..CHECKPOINT_PLAN
};

/// The variants of a checkpoint: the byte-level ones (`plan`), the zip fields of its pickle's
/// local header and of the central directory's end, and 60 single-byte changes inside the pickle.
fn checkpoint_variants(what: &str, seed: &[u8], plan: Plan, rng_seed: u64) -> Vec<Variant> {
    let mut fields = zip_fields(seed, 4);
    let end = seed
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("an end of central directory");
    fields.extend(
        zip_fields(&seed[end..], 3)
            .into_iter()
            .map(|f| f.shifted(end)),
    );
    let mut list = variants(what, seed, &fields, plan, rng_seed);
    let pickle = zip_entry(seed, "data.pkl").expect("a pickle");
    list.extend(byte_variants_in(
        &format!("{what} data.pkl"),
        seed,
        pickle,
        60,
        rng_seed + 1,
    ));
    list
}

#[test]
fn authors_checkpoints_survive_any_file() {
    let config = tiny();
    let device = Default::default();
    let model = config.init::<Flex>(&device).expect("tiny model");
    let seed = pth_of(&model);
    println!("seed: the tiny EchoONE's checkpoint, {} bytes", seed.len());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mutant.pth");
    // The seed loads: the variants start from a valid checkpoint.
    std::fs::write(&target, &seed).unwrap();
    let (_, report) = model
        .clone()
        .load_authors_checkpoint(&config, &target)
        .expect("the seed checkpoint loads");
    assert!(!report.applied.is_empty());
    check(
        "authors checkpoint (load)",
        &target,
        "mutant.pth",
        checkpoint_variants("model.pth", &seed, LOAD_PLAN, 401),
        |p: &Path| {
            model
                .clone()
                .load_authors_checkpoint(&config, p)
                .map(|_| ())
        },
    );
    check(
        "authors checkpoint (shapes)",
        &target,
        "mutant.pth",
        checkpoint_variants("model.pth", &seed, CHECKPOINT_PLAN, 411),
        |p: &Path| checkpoint_shapes(p).map(|_| ()),
    );
}

#[test]
fn sam_weights_survive_any_file() {
    let config = tiny();
    let device = Default::default();
    let model = config.init::<Flex>(&device).expect("tiny model");
    let sam = config.sam_config().init::<Flex>(&device).expect("tiny SAM");
    let seed = pth_of(&sam);
    println!("seed: the tiny SAM's checkpoint, {} bytes", seed.len());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sam_mutant.pth");
    std::fs::write(&target, &seed).unwrap();
    model
        .clone()
        .load_sam_checkpoint(&config, &target)
        .expect("the seed SAM checkpoint loads");
    check(
        "SAM weights",
        &target,
        "sam_mutant.pth",
        checkpoint_variants("sam.pth", &seed, LOAD_PLAN, 421),
        |p: &Path| model.clone().load_sam_checkpoint(&config, p).map(|_| ()),
    );
}
