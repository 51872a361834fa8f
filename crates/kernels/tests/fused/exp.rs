//! Accuracy of the vectorisable exp against f64.

use echoone_kernels::math::exp;

#[test]
fn exp_is_within_one_ulp_on_its_range() {
    let mut worst = 0.0f64;
    let steps = 2_000_000;
    for i in 0..=steps {
        let x = -87.0 + 175.0 * (i as f32 / steps as f32);
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
    assert_eq!(exp(-87.5), 0.0);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(100.0), f32::INFINITY);
    assert!(exp(f32::NAN).is_nan());
    assert!((exp(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
}
