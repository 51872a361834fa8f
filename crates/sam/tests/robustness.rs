//! Readers that survive any file: the `.npy` reader and the SAM checkpoint loader (PyTorch
//! `.pth` zip archives and safetensors) are fed thousands of truncated, bit-flipped,
//! header-mutated and garbage-extended versions of valid files (seeded). Each call must return
//! (no panic), within 1 s, with an error naming the file, and never ask the allocator for more
//! than 1 GiB at once (this binary's allocator refuses such a request and names the variant). The
//! mutator, allocator and harness are echoone-test-support's, as in
//! `crates/data/tests/robustness.rs`.
//!
//! `cargo test -p echoone-sam --test robustness -- --nocapture` prints, per reader, the number
//! of variants, the slowest one and the largest single allocation.

mod common;

use std::path::Path;

use common::{Cpu, fixtures, tiny_config};
use echoone_sam::npy::{encode_f32, read_npy};
use echoone_sam::{LoadOptions, load_checkpoint};
use echoone_test_support::{
    CHECKPOINT_PLAN, CountingAlloc, Field, PLAN, Rng, assert_refused_quickly, byte_variants_in,
    check, text_variants, variants, zip_fields,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn npy_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mutant.npy");
    let data: Vec<f32> = (0..24).map(|v| v as f32 * 0.5).collect();
    let fields = [
        Field::int("version", 6, 1),
        Field::int("header length", 8, 2),
    ];
    let mut list = Vec::new();
    for (k, shape) in [vec![2usize, 3, 4], vec![24]].iter().enumerate() {
        let seed = encode_f32(&data, shape);
        list.extend(variants("f32 npy", &seed, &fields, PLAN, 201 + k as u64));
        // The header's text: shape and dtype replaced by extreme values.
        let text = String::from_utf8_lossy(&seed).into_owned();
        // The header length field is fixed up, so the mutated header is parsed whole.
        list.extend(
            text_variants("npy header", &text, 8, 211 + k as u64)
                .into_iter()
                .filter(|(n, _)| n.contains("number"))
                .map(|(n, mut v)| {
                    let header =
                        (seed[8] as usize | (seed[9] as usize) << 8) + v.len() - seed.len();
                    v[8..10].copy_from_slice(&(header as u16).to_le_bytes());
                    (n, v)
                }),
        );
    }
    for dtype in ["<f8", "|u1", "<i8", ">f4", "<c8"] {
        let seed = String::from_utf8_lossy(&encode_f32(&data, &[2, 3, 4]))
            .replace("<f4", dtype)
            .into_bytes();
        list.push((format!("npy with dtype {dtype}"), seed));
    }
    let fixture = std::fs::read(fixtures().join("tiny/image0/image.npy")).unwrap();
    list.extend(variants("image.npy", &fixture, &fields, PLAN, 221));
    check("npy", &target, "mutant.npy", list, |p: &Path| {
        read_npy(p).map(|_| ())
    });
}

#[test]
fn npy_header_claiming_huge_sizes_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npy");
    for shape in [
        vec![1usize << 32, 1 << 32],
        vec![usize::MAX, 2],
        vec![1 << 40],
    ] {
        // A valid header claiming `shape`, followed by 16 bytes of data.
        let mut bytes = encode_f32(&[0.0; 4], &shape);
        bytes.truncate(bytes.len() - 16);
        bytes.extend([0u8; 16]);
        std::fs::write(&path, bytes).unwrap();
        assert_refused_quickly(
            &format!("npy claiming {shape:?}"),
            "huge.npy",
            1 << 20,
            || read_npy(&path),
        );
    }
}

#[test]
fn checkpoints_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny_config().init::<Cpu>(&Default::default()).unwrap();
    let options = LoadOptions::default();
    // safetensors: an 8-byte header length, a JSON header (mutated as text), the tensor data.
    let seed = std::fs::read(fixtures().join("tiny.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize;
    let mut list = variants(
        "tiny.safetensors",
        &seed,
        &[Field::int("header length", 0, 8)],
        CHECKPOINT_PLAN,
        301,
    );
    let json = String::from_utf8_lossy(&seed[8..8 + header_len]).into_owned();
    let mut rng = Rng::new(303);
    for (name, header) in text_variants("safetensors header", &json, 24, 302)
        .into_iter()
        .filter(|(n, _)| n.contains("number"))
        .filter(|_| rng.below(4) == 0)
    {
        // Keep the declared length equal to the header's, so the mutated text is parsed.
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend(header);
        v.extend(&seed[8 + header_len..]);
        list.push((name, v));
    }
    let target = dir.path().join("mutant.safetensors");
    check(
        "safetensors",
        &target,
        "mutant.safetensors",
        list,
        |p: &Path| load_checkpoint(&mut model, p, &options).map(|_| ()),
    );
    // .pth: a zip archive whose data.pkl (the pickle) is mutated in place.
    let seed = std::fs::read(fixtures().join("tiny.pth")).unwrap();
    // The zip fields of data.pkl's local header, and of the central directory's end.
    let mut fields = zip_fields(&seed, 4);
    let end = seed.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    fields.extend(
        zip_fields(&seed[end..], 3)
            .into_iter()
            .map(|f| f.shifted(end)),
    );
    let mut list = variants("tiny.pth", &seed, &fields, CHECKPOINT_PLAN, 311);
    let pkl = seed
        .windows(13)
        .position(|w| w == b"tiny/data.pkl")
        .unwrap()
        + 13;
    list.extend(byte_variants_in(
        "tiny.pth data.pkl",
        &seed,
        pkl..pkl + 36_000,
        80,
        312,
    ));
    let target = dir.path().join("mutant.pth");
    check("pth", &target, "mutant.pth", list, |p: &Path| {
        load_checkpoint(&mut model, p, &options).map(|_| ())
    });
}

#[test]
fn pth_entry_claiming_a_huge_size_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pth");
    let mut model = tiny_config().init::<Cpu>(&Default::default()).unwrap();
    let seed = std::fs::read(fixtures().join("tiny.pth")).unwrap();
    // The first tensor's central directory entry: its sizes claim 2 GiB, 4 GiB - 1, 1 GiB + 1.
    let entry = seed
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(at, _)| at)
        .find(|&at| seed[at + 46..].starts_with(b"tiny/data/"))
        .unwrap();
    for size in [1u32 << 31, u32::MAX, (1 << 30) + 1] {
        let mut v = seed.clone();
        v[entry + 24..entry + 28].copy_from_slice(&size.to_le_bytes());
        std::fs::write(&path, &v).unwrap();
        assert_refused_quickly(
            &format!("pth entry claiming {size}"),
            "huge.pth",
            1 << 20,
            || load_checkpoint(&mut model, &path, &LoadOptions::default()),
        );
        v[entry + 20..entry + 24].copy_from_slice(&size.to_le_bytes());
        std::fs::write(&path, &v).unwrap();
        assert_refused_quickly(
            &format!("pth entry storing {size}"),
            "huge.pth",
            1 << 20,
            || load_checkpoint(&mut model, &path, &LoadOptions::default()),
        );
    }
}
