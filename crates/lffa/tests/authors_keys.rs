//! The full-size configurations carry exactly the authors' ViT-B parameters (names after
//! [`LFFA_KEY_REMAP`], and PyTorch shapes) for every key under the modules of this crate, and
//! the remappings leave every other key of the authors' model alone.

use std::collections::BTreeSet;
use std::path::PathBuf;

use burn::module::Module;
use burn_flex::Flex;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot};
use echoone_lffa::{
    AdapterConfig, CnnBranchConfig, FusionConvConfig, LFFA_KEY_REMAP, PosEmbedReducerConfig,
    RefineAdapterConfig, SpaceAdapterConfig,
};
use regex::Regex;

/// One line of the authors' key list: tag (T/F/B), key, shape.
struct AuthorsKey {
    tag: String,
    key: String,
    shape: Vec<usize>,
}

fn authors_keys() -> Vec<AuthorsKey> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/authors-echoone-vit_b-keys.txt");
    let text = std::fs::read_to_string(&path).expect("authors' key list");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (head, shape) = line.split_once('[').expect("a shape on every line");
            let mut words = head.split_whitespace();
            let tag = words.next().expect("tag").to_string();
            let key = words.next().expect("key").to_string();
            let shape = shape
                .trim_end_matches(']')
                .split(',')
                .filter(|d| !d.trim().is_empty())
                .map(|d| d.trim().parse().expect("a dimension"))
                .collect();
            AuthorsKey { tag, key, shape }
        })
        .collect()
}

fn remap(key: &str) -> String {
    LFFA_KEY_REMAP
        .iter()
        .fold(key.to_string(), |key, (from, to)| {
            Regex::new(from)
                .expect("valid pattern")
                .replace_all(&key, *to)
                .into_owned()
        })
}

/// The module's parameters as `(prefix + path, PyTorch shape)`.
fn params<M: Module<Flex> + ModuleSnapshot<Flex>>(
    prefix: &str,
    module: &M,
) -> BTreeSet<(String, Vec<usize>)> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), false)
        .into_iter()
        .map(|s| (format!("{prefix}{}", s.full_path()), s.shape.to_vec()))
        .collect()
}

#[test]
fn full_size_modules_carry_exactly_the_authors_parameters() {
    let device = Default::default();
    let mut ours = BTreeSet::new();
    let enc = "image_encoder.";
    ours.extend(params(
        &format!("{enc}cnn_embed."),
        &CnnBranchConfig::new().init::<Flex>(&device),
    ));
    let reducer = PosEmbedReducerConfig::new()
        .init::<Flex>(&device)
        .expect("valid config");
    ours.extend(params(&format!("{enc}post_pos_embed."), &reducer));
    ours.extend(params(
        &format!("{enc}input_Adapter."),
        &AdapterConfig::input(768).init::<Flex>(&device),
    ));
    let space = SpaceAdapterConfig::new(768)
        .init::<Flex>(&device)
        .expect("valid config");
    let refine = RefineAdapterConfig::new(768).init::<Flex>(&device);
    let mlp = AdapterConfig::mlp(768).init::<Flex>(&device);
    for block in [2, 5, 8, 11] {
        let prefix = format!("{enc}blocks.{block}.");
        ours.extend(params(&format!("{prefix}Space_Adapter."), &space));
        ours.extend(params(&format!("{prefix}refine_Adapter."), &refine));
        ours.extend(params(&format!("{prefix}MLP_Adapter."), &mlp));
    }
    for n in 1..=4 {
        let fusion = FusionConvConfig::new()
            .with_norm(n == 1)
            .init::<Flex>(&device);
        ours.extend(params(
            &format!("mask_decoder.transformer.neck_down_sample{n}."),
            &fusion,
        ));
    }

    let owned = Regex::new(
        r"cnn_embed|post_pos_embed|input_Adapter|Space_Adapter|refine_Adapter|MLP_Adapter|neck_down_sample",
    )
    .expect("valid pattern");
    let theirs: Vec<AuthorsKey> = authors_keys()
        .into_iter()
        .filter(|k| owned.is_match(&k.key))
        .collect();
    assert!(theirs.iter().all(|k| k.tag == "T"), "all trainable");
    let theirs: BTreeSet<(String, Vec<usize>)> = theirs
        .iter()
        .map(|k| (remap(&k.key), k.shape.clone()))
        .collect();

    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only ours: {only_ours:#?}\nonly theirs: {only_theirs:#?}"
    );
    assert_eq!(ours.len(), 89);
    let count: usize = ours.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
    assert_eq!(count, 40_383_424);
}

#[test]
fn remappings_leave_the_other_keys_alone() {
    let owned = Regex::new(r"cnn_embed|post_pos_embed|refine_Adapter|neck_down_sample")
        .expect("valid pattern");
    for k in authors_keys() {
        if !owned.is_match(&k.key) {
            assert_eq!(remap(&k.key), k.key);
        }
    }
}

#[test]
fn samus_plain_branch_keys_map_onto_the_plain_branch() {
    let device = Default::default();
    let ours = params(
        "image_encoder.cnn_embed.",
        &CnnBranchConfig::samus().init::<Flex>(&device),
    );
    let mut theirs = BTreeSet::new();
    let samus = [
        ("inc.conv.0.weight", vec![64, 3, 3, 3]),
        ("inc.conv.1.weight", vec![64]),
        ("inc.conv.1.bias", vec![64]),
    ];
    for (key, shape) in samus {
        theirs.insert((remap(&format!("image_encoder.cnn_embed.{key}")), shape));
    }
    for (i, (cin, cout)) in [(64, 128), (128, 256), (256, 768)].into_iter().enumerate() {
        let p = format!("image_encoder.cnn_embed.downs.{i}.maxpool_conv");
        theirs.insert((remap(&format!("{p}.1.weight")), vec![cout, cin, 3, 3]));
        theirs.insert((remap(&format!("{p}.2.weight")), vec![cout]));
        theirs.insert((remap(&format!("{p}.2.bias")), vec![cout]));
    }
    assert_eq!(ours, theirs);
}
