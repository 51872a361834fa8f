//! `read_label_file` survives any file: seeded truncated, bit-flipped and header-mutated
//! versions of a PNG and a NIfTI label map (plain and compressed) never panic, take under 1 s each, never ask for more
//! than 1 GiB at once, and every error names the file (echoone-test-support's harness).
//!
//! `cargo test -p echoone-metrics --test robustness -- --nocapture` prints the counts.

use std::io::Read;
use std::path::Path;

use echoone_metrics::read_label_file;
use echoone_test_support::{
    CountingAlloc, PLAN, Plan, check, nifti1_fields, png_ihdr_variants, variants,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// An 8-bit grey PNG of labels 0 to 3, 24 wide and 16 high.
fn png_seed() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 24, 16);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let data: Vec<u8> = (0..24 * 16).map(|i| (i % 4) as u8).collect();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    bytes
}

#[test]
fn png_label_maps_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let seed = png_seed();
    let target = dir.path().join("mutant.png");
    std::fs::write(&target, &seed).unwrap();
    read_label_file(&target).expect("the seed reads");
    let mut list = variants("png", &seed, &[], PLAN, 801);
    list.extend(png_ihdr_variants(&seed));
    check("png label map", &target, "mutant.png", list, |p: &Path| {
        read_label_file(p).map(|_| ())
    });
}

#[test]
fn nifti_label_maps_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/folder/gt/nifti_000.nii.gz");
    let packed = std::fs::read(fixture).unwrap();
    let mut seed = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .read_to_end(&mut seed)
        .unwrap();
    // Uncompressed, so the header fields that size or place the data reach the reader as set.
    let plain = dir.path().join("mutant.nii");
    let plan = Plan {
        header_bits: 44,
        ..PLAN
    };
    let list = variants("nifti", &seed, &nifti1_fields(), plan, 802);
    check("nifti label map", &plain, "mutant.nii", list, |p: &Path| {
        read_label_file(p).map(|_| ())
    });
    let packed_target = dir.path().join("mutant.nii.gz");
    let list = variants("nifti.gz", &packed, &[], PLAN, 803);
    check(
        "nifti.gz label map",
        &packed_target,
        "mutant.nii.gz",
        list,
        |p: &Path| read_label_file(p).map(|_| ()),
    );
}
