//! Variants of an image file's header that claim other sizes: a PNG's IHDR (with its CRC fixed),
//! a baseline JPEG's frame header, and the NIfTI-1 header fields that size or place the data.

use crate::mutate::{Field, Plan, Variant, variants};
use crate::pth::crc32;

/// No variants but the header fields'.
const FIELDS_ONLY: Plan = Plan {
    cuts: 0,
    header_bits: 0,
    flips: 0,
    multi: 0,
    bytes: 0,
};

/// A PNG's IHDR fields set to extreme values, each with the chunk's CRC fixed so the decoder sees
/// the claimed size instead of a checksum error.
pub fn png_ihdr_variants(seed: &[u8]) -> Vec<Variant> {
    let fields = [
        Field::int_be("IHDR width", 16, 4),
        Field::int_be("IHDR height", 20, 4),
        Field::int("IHDR bit depth", 24, 1),
        Field::int("IHDR colour type", 25, 1),
        Field::int("IHDR interlace", 28, 1),
    ];
    let mut out = Vec::new();
    for (name, mut v) in variants("png", seed, &fields, FIELDS_ONLY, 0)
        .into_iter()
        .filter(|(n, _)| n.contains("IHDR"))
    {
        let crc = crc32(&v[12..29]);
        v[29..33].copy_from_slice(&crc.to_be_bytes());
        out.push((format!("{name} (CRC fixed)"), v));
    }
    // Both sides at once: 2^31 - 1 squared, and 65535 squared.
    for side in [0x7FFF_FFFFu32, 65_535, 1 << 20] {
        let mut v = seed.to_vec();
        v[16..20].copy_from_slice(&side.to_be_bytes());
        v[20..24].copy_from_slice(&side.to_be_bytes());
        let crc = crc32(&v[12..29]);
        v[29..33].copy_from_slice(&crc.to_be_bytes());
        out.push((format!("png claiming {side}x{side} (CRC fixed)"), v));
    }
    out
}

/// A baseline JPEG's frame header (SOF0) height and width, and its sample precision, set to
/// extreme values (JPEG headers carry no checksum). Empty when `seed` has no SOF0 marker.
pub fn jpeg_sof_variants(seed: &[u8]) -> Vec<Variant> {
    let Some(sof) = seed.windows(2).position(|w| w == [0xFF, 0xC0]) else {
        return Vec::new();
    };
    let fields = [
        Field::int("SOF0 precision", sof + 4, 1),
        Field::int_be("SOF0 height", sof + 5, 2),
        Field::int_be("SOF0 width", sof + 7, 2),
    ];
    variants("jpeg", seed, &fields, FIELDS_ONLY, 0)
        .into_iter()
        .filter(|(n, _)| n.contains("SOF0"))
        .collect()
}

/// The NIfTI-1 header fields that size or place the data.
pub fn nifti1_fields() -> Vec<Field> {
    let mut f = vec![Field::int("sizeof_hdr", 0, 4)];
    for d in 0..8 {
        f.push(Field::int(format!("dim[{d}]"), 40 + 2 * d, 2));
    }
    f.push(Field::int("datatype", 70, 2));
    f.push(Field::int("bitpix", 72, 2));
    f.push(Field::float("pixdim[1]", 80));
    f.push(Field::float("vox_offset", 108));
    f.push(Field::float("scl_slope", 112));
    f.push(Field::int("magic", 344, 4));
    f.push(Field::int("extension", 348, 4));
    f
}
