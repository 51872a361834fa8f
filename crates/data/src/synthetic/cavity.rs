//! The 3-D left-ventricular cavity of one synthetic patient and its contraction.
//!
//! The cavity is a solid around the long axis, from the base (mitral plane, `t = 0`) to the apex
//! (`t = 1`, `t` the distance from the base over the length `L`). At azimuth `psi` around the axis
//! its radius is
//!
//! `R(t, psi) = r0 * E(psi) * W(t, psi) * P(t)`, with
//! * `E(psi) = 1 / sqrt(cos^2(psi - psi_e) / q + q sin^2(psi - psi_e))`: an elliptic cross-section
//!   of semi-axes `r0 sqrt(q)` and `r0 / sqrt(q)` (area `pi r0^2` for any axis ratio `q`);
//! * `W(t, psi) = 1 + sum_{k=1..3, n=0..3} a_kn sin(k pi t + phi_kn) cos(n psi + theta_kn)`: a
//!   smooth low-order wobble, so that sections look irregular;
//! * `P(t) = (1 - t^p)^(1/p) (1 - b (1 - t)^8)`: the bullet profile, narrowed at the annulus.
//!
//! At contraction `c` (0 end-diastole, 1 end-systole) the length scales by `(1 - EF c)^0.3` and
//! every radius by `(1 - EF c)^0.35`, so the volume is exactly `EDV (1 - EF c)`.

use std::f64::consts::{PI, TAU};

use crate::rng::Rng;

/// Orders of the wobble along the axis (`k = 1..=AXIAL`).
const AXIAL: usize = 3;
/// Orders of the wobble around the axis (`n = 0..AROUND`).
const AROUND: usize = 4;
/// Number of wobble terms.
const TERMS: usize = AXIAL * AROUND;
/// Exponent of the length scale under contraction.
const LENGTH_EXPONENT: f64 = 0.3;
/// Exponent of the radius scale under contraction (`0.3 + 2 * 0.35 = 1`).
const RADIUS_EXPONENT: f64 = 0.35;
/// Quadrature nodes along the axis (midpoint rule after `t = 1 - (1 - s)^2`).
const AXIAL_NODES: usize = 384;
/// Quadrature nodes around the axis (periodic trapezoid rule).
const AZIMUTH_NODES: usize = 64;

/// The length and radius scales at contraction `c` of a ventricle with ejection fraction `ef`
/// (both fractions): `((1 - ef c)^0.3, (1 - ef c)^0.35)`.
pub(crate) fn contraction_scales(ef: f64, c: f64) -> (f64, f64) {
    let k = 1.0 - ef * c;
    (k.powf(LENGTH_EXPONENT), k.powf(RADIUS_EXPONENT))
}

/// The bullet profile `(1 - t^p)^(1/p) (1 - b (1 - t)^8)` for `t` in [0, 1], 0 beyond.
pub(crate) fn profile(power: f64, base_narrowing: f64, t: f64) -> f64 {
    if !(0.0..=1.0).contains(&t) {
        return 0.0;
    }
    (1.0 - t.powf(power)).max(0.0).powf(1.0 / power) * (1.0 - base_narrowing * (1.0 - t).powi(8))
}

/// The end-diastolic left-ventricular cavity of one patient, in normalised image units.
#[derive(Debug, Clone)]
pub(crate) struct Cavity {
    /// Base-to-apex length `L`.
    pub(crate) length: f64,
    /// Geometric-mean semi-axis `r0` of the cross-section, before the profile.
    pub(crate) radius: f64,
    /// Axis ratio `q` of the elliptic cross-section.
    ratio: f64,
    /// Azimuth `psi_e` of the ellipse's first semi-axis.
    ellipse_angle: f64,
    /// Exponent `p` of the profile.
    power: f64,
    /// Depth `b` of the narrowing at the base.
    base_narrowing: f64,
    /// Wobble terms `(a_kn, phi_kn, theta_kn)`, `k`-major.
    wobble: [(f64, f64, f64); TERMS],
}

impl Cavity {
    /// A cavity of length `length`, radius `r0` 1 and profile exponent `power`, with a random
    /// elliptic cross-section (axis ratio 0.85 to 1.15) and wobble drawn from `rng`.
    pub(crate) fn new(rng: &mut Rng, length: f64, power: f64) -> Self {
        let ratio = rng.range(0.85, 1.15) as f64;
        let ellipse_angle = rng.range(0.0, std::f32::consts::PI) as f64;
        let mut wobble = [(0.0, 0.0, 0.0); TERMS];
        for (i, term) in wobble.iter_mut().enumerate() {
            let (k, n) = ((i / AROUND + 1) as f32, (i % AROUND + 1) as f32);
            let amplitude = 0.06 / (k * n).sqrt();
            *term = (
                rng.range(-amplitude, amplitude) as f64,
                rng.range(0.0, std::f32::consts::TAU) as f64,
                rng.range(0.0, std::f32::consts::TAU) as f64,
            );
        }
        Self {
            length,
            radius: 1.0,
            ratio,
            ellipse_angle,
            power,
            base_narrowing: 0.12,
            wobble,
        }
    }

    /// The same cavity with `r0` scaled so that its volume is `volume` (the volume goes as
    /// `r0^2`).
    pub(crate) fn with_volume(self, volume: f64) -> Self {
        let radius = self.radius * (volume / self.volume()).sqrt();
        Self { radius, ..self }
    }

    /// The same cavity with every length multiplied by `k` (its volume by `k^3`).
    pub(crate) fn scaled(self, k: f64) -> Self {
        Self {
            length: self.length * k,
            radius: self.radius * k,
            ..self
        }
    }

    /// The profile `P(t)` of this cavity.
    pub(crate) fn profile(&self, t: f64) -> f64 {
        profile(self.power, self.base_narrowing, t)
    }

    /// The factors `sin(k pi t + phi_kn)` of the wobble terms at `t`.
    fn axial(&self, t: f64) -> [f64; TERMS] {
        std::array::from_fn(|i| ((i / AROUND + 1) as f64 * PI * t + self.wobble[i].1).sin())
    }

    /// `r0 E(psi)` and the factors `a_kn cos(n psi + theta_kn)` of the wobble terms at `psi`.
    fn around(&self, psi: f64) -> (f64, [f64; TERMS]) {
        let (s, c) = (psi - self.ellipse_angle).sin_cos();
        let ellipse = 1.0 / (c * c / self.ratio + self.ratio * s * s).sqrt();
        let terms = std::array::from_fn(|i| {
            let (a, _, theta) = self.wobble[i];
            a * ((i % AROUND) as f64 * psi + theta).cos()
        });
        (self.radius * ellipse, terms)
    }

    /// `r0 E(psi) W(t, psi)` from the factors of [`Self::axial`] and [`Self::around`].
    fn shape(axial: &[f64; TERMS], around: &(f64, [f64; TERMS])) -> f64 {
        let w: f64 = axial.iter().zip(&around.1).map(|(a, b)| a * b).sum();
        around.0 * (1.0 + w).max(0.6)
    }

    /// The radius before the profile, `r0 E(psi) W(t, psi)`, at `t = i / n` for `i` in `0..=n`.
    pub(crate) fn shapes_along(&self, psi: f64, n: usize) -> Vec<f64> {
        let around = self.around(psi);
        (0..=n)
            .map(|i| Self::shape(&self.axial(i as f64 / n as f64), &around))
            .collect()
    }

    /// The radius `R(t, psi)` at end-diastole.
    pub(crate) fn radius_at(&self, t: f64, psi: f64) -> f64 {
        Self::shape(&self.axial(t), &self.around(psi)) * self.profile(t)
    }

    /// The end-diastolic volume, `L * int_0^1 int_0^2pi R(t, psi)^2 / 2 dpsi dt`, in normalised
    /// units cubed (relative error below 1e-5: the integrand is smooth and periodic in `psi`, and
    /// the substitution `t = 1 - (1 - s)^2` smooths the apex).
    pub(crate) fn volume(&self) -> f64 {
        let around: Vec<_> = (0..AZIMUTH_NODES)
            .map(|j| self.around(TAU * j as f64 / AZIMUTH_NODES as f64))
            .collect();
        let ds = 1.0 / AXIAL_NODES as f64;
        let mut sum = 0.0;
        for i in 0..AXIAL_NODES {
            let w = 1.0 - (i as f64 + 0.5) * ds;
            let t = 1.0 - w * w;
            let axial = self.axial(t);
            let ring: f64 = around.iter().map(|a| Self::shape(&axial, a).powi(2)).sum();
            sum += ring * self.profile(t).powi(2) * 2.0 * w;
        }
        self.length * sum * ds * 0.5 * TAU / AZIMUTH_NODES as f64
    }
}

#[cfg(test)]
impl Cavity {
    /// A cavity without wobble nor base narrowing: semi-axes `a`, `b` along azimuths 0, pi/2.
    pub(crate) fn plain(length: f64, a: f64, b: f64, power: f64) -> Self {
        Self {
            length,
            radius: (a * b).sqrt(),
            ratio: a / b,
            ellipse_angle: 0.0,
            power,
            base_narrowing: 0.0,
            wobble: [(0.0, 0.0, 0.0); TERMS],
        }
    }

    /// The area of the section through the axis at azimuth `psi`,
    /// `L * int_0^1 (R(t, psi) + R(t, psi + pi)) dt`, scaled by the contraction scales.
    pub(crate) fn section_area(&self, psi: f64, scales: (f64, f64)) -> f64 {
        let n = 20_000;
        let sum: f64 = (0..n)
            .map(|i| {
                let t = (i as f64 + 0.5) / n as f64;
                self.radius_at(t, psi) + self.radius_at(t, psi + PI)
            })
            .sum();
        self.length * scales.0 * scales.1 * sum / n as f64
    }

    /// The volume by brute force on a fine grid of `R` itself, for checking [`Cavity::volume`].
    pub(crate) fn volume_brute_force(&self, nt: usize, npsi: usize) -> f64 {
        let mut sum = 0.0;
        for i in 0..nt {
            let t = (i as f64 + 0.5) / nt as f64;
            for j in 0..npsi {
                sum += self.radius_at(t, TAU * j as f64 / npsi as f64).powi(2);
            }
        }
        self.length * sum * 0.5 * TAU / (nt * npsi) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_of_the_power_two_cavity_is_the_half_ellipsoid() {
        for (l, a, b) in [(0.5, 0.15, 0.13), (0.6, 0.12, 0.16)] {
            let v = Cavity::plain(l, a, b, 2.0).volume();
            let exact = 2.0 / 3.0 * PI * a * b * l;
            assert!((v / exact - 1.0).abs() < 1e-4, "{v} vs {exact}");
        }
    }

    #[test]
    fn volume_converges_with_wobble_and_any_profile() {
        let mut rng = Rng::new(5);
        for _ in 0..3 {
            let power = rng.range(1.7, 2.4) as f64;
            let cavity = Cavity::new(&mut rng, 0.5, power).with_volume(0.02);
            assert!((cavity.volume() / 0.02 - 1.0).abs() < 1e-12);
            let v = cavity.volume();
            let fine = cavity.volume_brute_force(4000, 96);
            assert!((v / fine - 1.0).abs() < 1e-3, "{v} vs {fine}");
        }
    }

    #[test]
    fn contraction_keeps_the_volume_law() {
        for (ef, c) in [(0.2, 1.0), (0.75, 1.0), (0.5, 0.3)] {
            let (l, r) = contraction_scales(ef, c);
            assert!((l * r * r - (1.0 - ef * c)).abs() < 1e-12);
        }
        assert_eq!(contraction_scales(0.6, 0.0), (1.0, 1.0));
    }

    #[test]
    fn radius_is_the_ellipse_where_nothing_else_acts() {
        let c = Cavity::plain(0.5, 0.15, 0.1, 2.0);
        assert!((c.radius_at(0.0, 0.0) - 0.15).abs() < 1e-12);
        assert!((c.radius_at(0.0, PI / 2.0) - 0.1).abs() < 1e-12);
        assert_eq!(c.radius_at(1.0, 0.3), 0.0);
        assert_eq!(c.shapes_along(PI, 4).len(), 5);
    }
}
