//! Accuracy of the vectorisable exp and erf against f64 references.

use echoone_kernels::math::{erf, exp};

#[test]
fn exp_is_within_one_ulp_on_its_normal_range() {
    let mut worst = 0.0f64;
    let steps = 2_000_000;
    for i in 0..=steps {
        let x = -87.3 + 175.6 * (i as f32 / steps as f32);
        let exact = f64::from(x).exp();
        let got = f64::from(exp(x));
        // f32 epsilon relative to the exact value: one ulp or less.
        let ulp = f64::from(f32::EPSILON) * exact;
        worst = worst.max((got - exact).abs() / ulp);
    }
    assert!(worst <= 1.0, "exp: worst error {worst} ulp");
}

#[test]
fn exp_handles_its_edges() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp(-1000.0), 0.0);
    assert_eq!(exp(-88.0), 0.0);
    assert!(exp(-87.5) > 0.0 && exp(-87.5) < 1.2e-38);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(100.0), f32::INFINITY);
    assert!(exp(88.3).is_finite());
    assert!(exp(f32::NAN).is_nan());
    assert!((exp(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
}

#[test]
fn erf_is_within_1e6_of_libm() {
    let mut worst = 0.0f64;
    let steps = 2_000_000;
    for i in 0..=steps {
        let x = -10.0 + 20.0 * (i as f32 / steps as f32);
        let err = (f64::from(erf(x)) - libm::erf(f64::from(x))).abs();
        worst = worst.max(err);
    }
    assert!(worst < 1e-6, "erf: worst absolute error {worst}");
    assert_eq!(erf(f32::INFINITY), 1.0);
    assert_eq!(erf(f32::NEG_INFINITY), -1.0);
    assert!(erf(f32::NAN).is_nan());
}

#[test]
fn gelu_and_its_derivative_are_within_1e6_of_libm() {
    use echoone_kernels::gelu::{gelu, gelu_derivative};
    let (mut worst, mut worst_d) = (0.0f64, 0.0f64);
    let steps = 1_000_000;
    for i in 0..=steps {
        let x = -12.0 + 24.0 * (i as f32 / steps as f32);
        let xd = f64::from(x);
        let cdf = 0.5 * libm::erfc(-xd / core::f64::consts::SQRT_2);
        let pdf = (-0.5 * xd * xd).exp() / (2.0 * core::f64::consts::PI).sqrt();
        worst = worst.max((f64::from(gelu(x)) - xd * cdf).abs() / xd.abs().max(1.0));
        worst_d = worst_d.max((f64::from(gelu_derivative(x)) - (cdf + xd * pdf)).abs());
    }
    assert!(
        worst < 1e-6,
        "gelu: worst error {worst} (relative to max(|x|, 1))"
    );
    assert!(worst_d < 1e-6, "gelu': worst absolute error {worst_d}");
}
