//! The ViT-B model carries exactly the authors' state-dict keys and shapes (after
//! `authors_key_remap`), and `freeze_as_authors` leaves exactly their trainable parameters:
//! 45,621,697 of 139,292,145 (from `tests/fixtures/authors-echoone-vit_b-keys.txt`).

use std::collections::BTreeMap;

use burn_autodiff::Autodiff;
use burn_flex::Flex;
use echoone_model::{EchoOneConfig, authors_key_remap};
use echoone_sam::inspect::parameters;
use regex::Regex;

/// `(key, shape, flag)` of the authors' list, flag T trainable, F frozen, B buffer.
fn authors() -> Vec<(String, Vec<usize>, char)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/authors-echoone-vit_b-keys.txt"
    );
    let text = std::fs::read_to_string(path).expect("key list");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (flag, rest) = line.split_once(' ').expect("flag");
            let (key, shape) = rest.split_once(' ').expect("shape");
            let shape = shape
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().expect("dim"))
                .collect();
            (key.to_string(), shape, flag.chars().next().expect("flag"))
        })
        .collect()
}

#[test]
fn vit_b_matches_the_authors_keys_shapes_and_trainable_split() {
    let config = EchoOneConfig::vit_b();
    let model = config
        .init::<Autodiff<Flex>>(&Default::default())
        .expect("model")
        .freeze_as_authors();
    let ours: BTreeMap<String, (Vec<usize>, bool)> = parameters(&model)
        .into_iter()
        .map(|p| {
            let shape = p.torch_shape();
            (p.path, (shape, p.trainable))
        })
        .collect();
    let remap: Vec<(Regex, String)> = authors_key_remap(&config)
        .into_iter()
        .map(|(a, b)| (Regex::new(&a).expect("regex"), b))
        .collect();
    let mut expected = BTreeMap::new();
    let (mut trainable, mut total) = (0usize, 0usize);
    for (key, shape, flag) in authors() {
        // PyTorch's BatchNorm step counter has no burn counterpart.
        if key.ends_with("num_batches_tracked") {
            continue;
        }
        let numel: usize = shape.iter().product();
        if flag != 'B' {
            total += numel;
        }
        if flag == 'T' {
            trainable += numel;
        }
        let mapped = remap.iter().fold(key.clone(), |k, (re, to)| {
            re.replace_all(&k, to.as_str()).into_owned()
        });
        expected.insert(mapped, (shape, flag == 'T'));
    }
    assert_eq!((trainable, total), (45_621_697, 139_292_145));
    let missing: Vec<_> = expected.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    for (key, (shape, trainable)) in &expected {
        assert_eq!(&ours[key].0, shape, "shape of {key}");
        assert_eq!(ours[key].1, *trainable, "trainable flag of {key}");
    }
}

#[test]
fn the_authors_vit_b_keys_are_recognised_as_vit_b_with_every_module() {
    // What `model run` does with a checkpoint of unknown make: the preset from its shapes.
    let shapes: BTreeMap<String, Vec<usize>> = authors()
        .into_iter()
        .map(|(key, shape, _)| (key, shape))
        .collect();
    let (name, config) =
        echoone_model::recognise_config::<Flex>(&shapes, &Default::default()).expect("a preset");
    assert_eq!(name, "vit_b");
    let vit_b = EchoOneConfig::vit_b();
    assert_eq!(config.embed_dim, vit_b.embed_dim);
    assert_eq!(config.depth, vit_b.depth);
    assert!(config.pc_mask && config.residual_cnn && config.fusion);
    assert_eq!(config.decoder_depth, vit_b.decoder_depth);
    // Without the U-Net's keys it is the PC-Mask-off variant of the same preset.
    let without: BTreeMap<String, Vec<usize>> = shapes
        .into_iter()
        .filter(|(k, _)| !k.contains("cls_sim_avg_label"))
        .collect();
    let (_, config) =
        echoone_model::recognise_config::<Flex>(&without, &Default::default()).expect("a preset");
    assert!(!config.pc_mask);
}
