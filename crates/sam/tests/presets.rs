//! The `vit_b`, `vit_l` and `vit_h` presets have exactly the official state-dict keys and shapes
//! (lists generated from the official models by `tests/fixtures/generate.py`).

mod common;

use std::collections::BTreeMap;

use common::{Cpu, fixtures};
use echoone_sam::inspect::parameters;
use echoone_sam::{SAM_KEY_REMAP, SamVariant};
use regex::Regex;

fn official(variant: SamVariant) -> BTreeMap<String, Vec<usize>> {
    let path = fixtures().join(format!("official_keys_{variant}.txt"));
    let text = std::fs::read_to_string(&path).expect("key list");
    let remaps: Vec<(Regex, &str)> = SAM_KEY_REMAP
        .iter()
        .map(|(from, to)| (Regex::new(from).expect("regex"), *to))
        .collect();
    text.lines()
        .map(|line| {
            let (key, shape) = line.split_once(' ').expect("`key [shape]`");
            let shape = shape
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().expect("dimension"))
                .collect();
            let key = remaps.iter().fold(key.to_string(), |k, (re, to)| {
                re.replace_all(&k, *to).into_owned()
            });
            (key, shape)
        })
        .collect()
}

fn check(variant: SamVariant) {
    let model = variant
        .config()
        .init::<Cpu>(&Default::default())
        .expect("preset");
    let ours: BTreeMap<String, Vec<usize>> = parameters(&model)
        .into_iter()
        .map(|p| {
            let shape = p.torch_shape();
            (p.path, shape)
        })
        .collect();
    let expected = official(variant);
    let missing: Vec<_> = expected.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{variant}: missing {missing:?}, extra {extra:?}"
    );
    for (key, shape) in &expected {
        assert_eq!(&ours[key], shape, "{variant}: shape of {key}");
    }
}

#[test]
fn vit_b_has_the_official_keys_and_shapes() {
    check(SamVariant::VitB);
}

#[test]
fn vit_l_has_the_official_keys_and_shapes() {
    check(SamVariant::VitL);
}

#[test]
fn vit_h_has_the_official_keys_and_shapes() {
    check(SamVariant::VitH);
}
