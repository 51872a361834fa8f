//! Branch-free f32 elementary functions that the compiler can vectorise.

/// [`exp`]'s argument is clamped to `[EXP_LO, EXP_HI]`: at -88 the power of two underflows to
/// exactly 0, at 89 it overflows to +inf.
const EXP_LO: f32 = -88.0;
const EXP_HI: f32 = 89.0;
/// 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer, which then sits in
/// the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// ln 2 split in two: a high part with few mantissa bits (n * hi is exact for |n| < 2^14) and
/// the remainder.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1 / k! for k = 7 down to 0: e^r's Taylor coefficients in Horner order.
const EXP_TAYLOR: [f32; 8] = [
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// e^x in f32 for use in vectorised loops (no branches, no calls), within one ulp of the
/// exactly rounded result for x in [-87.3, 88.3].
///
/// The reduction is x = n ln2 + r with |r| ≤ ln2 / 2, e^r is a degree-7 Taylor polynomial
/// (truncation error below 1e-8 relative), and 2^n is built in the exponent bits. Results from x
/// below about -87.7 (-inf included) are 0, those down to there subnormal, results from
/// x ≥ 88.38 are +inf (the true overflow is at 88.72), and NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // `clamp` lets NaN through, and NaN then propagates through the arithmetic below.
    let xc = x.clamp(EXP_LO, EXP_HI);
    let t = xc * core::f32::consts::LOG2_E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    // The integer n is in t's low mantissa bits, offset by t's bias 0x4B40_0000.
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = EXP_TAYLOR[0];
    for c in &EXP_TAYLOR[1..] {
        p = p * r + *c;
    }
    // The clamp keeps n in [-127, 128]: biased exponent 0 makes 2^n exactly 0.0, 255 makes
    // it +inf.
    let two_n = f32::from_bits((ni.wrapping_add(127) << 23) as u32);
    p * two_n
}

/// Abramowitz & Stegun 7.1.26: erfc(z) ≈ t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^{-z²},
/// t = 1 / (1 + p z), for z ≥ 0, with |error| ≤ 1.5e-7.
const ERFC_P: f32 = 0.327_591_1;
const ERFC_A: [f32; 5] = [
    1.061_405_4,
    -1.453_152_1,
    1.421_413_8,
    -0.284_496_72,
    0.254_829_6,
];

/// `(erfc(z), e^{-z²})` for z ≥ 0 (Abramowitz & Stegun 7.1.26, absolute error of erfc below
/// 1.5e-7 plus f32 rounding).
#[inline(always)]
pub(crate) fn erfc_and_gauss(z: f32) -> (f32, f32) {
    let t = 1.0 / (1.0 + ERFC_P * z);
    let mut poly = ERFC_A[0];
    for a in &ERFC_A[1..] {
        poly = poly * t + *a;
    }
    let gauss = exp(-z * z);
    (t * poly * gauss, gauss)
}

/// The error function in f32 for vectorised loops, within 6e-7 of the exact value (an
/// absolute bound: it is computed as 1 - erfc, so tiny arguments lose their relative accuracy).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let (erfc, _) = erfc_and_gauss(x.abs());
    let magnitude = 1.0 - erfc;
    if x < 0.0 { -magnitude } else { magnitude }
}
