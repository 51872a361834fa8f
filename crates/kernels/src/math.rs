//! Branch-free f32 elementary functions that the compiler can vectorise.

/// Below this, [`exp`] returns 0 (e^-87 ≈ 1.6e-38 is near the smallest normal f32).
const EXP_LO: f32 = -87.0;
/// Above this, [`exp`] returns +inf (e^88 ≈ 1.65e38; the true overflow is at ≈ 88.72).
const EXP_HI: f32 = 88.0;
/// 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer, which then sits in
/// the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// ln 2 split in two: a high part with few mantissa bits (n * hi is exact for |n| < 2^14) and
/// the remainder.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// e^x in f32 for use in vectorised loops (no branches, no calls), about 1 ulp from the exactly
/// rounded result on [-87, 88].
///
/// Outside that range it returns 0 below -87 (the true value is under 1.7e-38) and +inf above 88
/// (the true value overflows at 88.72); NaN gives NaN. The reduction is x = n ln2 + r with
/// |r| ≤ ln2 / 2, e^r is a degree-7 Taylor polynomial (truncation error below 1e-8 relative),
/// and 2^n is built in the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_LO, EXP_HI);
    let t = xc * core::f32::consts::LOG2_E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    // The integer n is in t's low mantissa bits, offset by t's bias 0x4B40_0000.
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    // Horner's scheme for sum_{k=0..7} r^k / k!.
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let two_n = f32::from_bits((ni.wrapping_add(127) << 23) as u32);
    let y = p * two_n;
    let y = if x < EXP_LO { 0.0 } else { y };
    let y = if x > EXP_HI { f32::INFINITY } else { y };
    if x.is_nan() { x } else { y }
}
