//! Heart geometry of one synthetic view: implicit shapes for every structure, in normalised
//! image coordinates (x right, y down, the image height is 1, the probe at the top centre). The
//! LV of an apical view is the section of the patient's 3-D cavity through its long axis at the
//! plane's azimuth, that of the PSAX view its cross-section at mid-ventricle.

use super::cavity::{Cavity, contraction_scales, profile};
use crate::rng::Rng;
use crate::sample::Plane;

/// What the beam meets at a point: sets the echogenicity there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tissue {
    /// Blood in a chamber or vessel: nearly echo-free.
    Blood,
    /// Ventricular muscle (also papillary muscles).
    Muscle,
    /// Thin atrial, right-ventricular or vessel walls.
    Wall,
    /// The bright pericardial sac.
    Pericardium,
    /// Valve leaflets.
    Valve,
    /// Everything else in the sector (chest wall, liver, lung shadow).
    Background,
}

/// A point or direction in normalised coordinates.
type V2 = (f32, f32);

fn sub(a: V2, b: V2) -> V2 {
    (a.0 - b.0, a.1 - b.1)
}
fn add(a: V2, b: V2) -> V2 {
    (a.0 + b.0, a.1 + b.1)
}
fn scale(a: V2, s: f32) -> V2 {
    (a.0 * s, a.1 * s)
}
fn dot(a: V2, b: V2) -> f32 {
    a.0 * b.0 + a.1 * b.1
}
fn rotate(a: V2, angle: f32) -> V2 {
    let (s, c) = angle.sin_cos();
    (a.0 * c - a.1 * s, a.0 * s + a.1 * c)
}

/// Low-order smooth random wobble of a contour, `1 + sum a_k sin(k x + phi_k)`.
#[derive(Debug, Clone, Copy)]
struct Wobble([(f32, f32); 3]);

impl Wobble {
    fn new(rng: &mut Rng, amplitude: f32) -> Self {
        let mut w = [(0.0, 0.0); 3];
        for (k, slot) in w.iter_mut().enumerate() {
            *slot = (
                rng.range(-amplitude, amplitude) / (k as f32 + 1.0).sqrt(),
                rng.range(0.0, std::f32::consts::TAU),
            );
        }
        Self(w)
    }
    fn at(&self, x: f32) -> f32 {
        1.0 + self
            .0
            .iter()
            .enumerate()
            .map(|(k, (a, p))| a * ((k as f32 + 1.0) * x + p).sin())
            .sum::<f32>()
    }
}

/// Intervals of the half-width tables of a [`Section`] along its axis.
const TABLE: usize = 512;

/// A ventricle cut along its long axis, from the base (valve plane) to the apex: at `t` (distance
/// from the base over the length) its half-width on each side is `shape(t) * profile(t)`, both
/// tabulated at `TABLE + 1` points and interpolated linearly.
#[derive(Debug, Clone)]
struct Section {
    base: V2,
    /// Unit vector from base to apex.
    axis: V2,
    length: f32,
    /// Half-width before the profile on the side of the negative normal.
    left: Vec<f32>,
    /// Half-width before the profile on the side of the positive normal.
    right: Vec<f32>,
    profile: Vec<f32>,
}

impl Section {
    /// A section whose half-widths before the profile are `left` and `right` (each `TABLE + 1`
    /// values at `t = i / TABLE`) and whose profile is `profile(t)`.
    fn new(
        base: V2,
        axis: V2,
        length: f32,
        left: Vec<f64>,
        right: Vec<f64>,
        profile: impl Fn(f64) -> f64,
    ) -> Self {
        let narrow = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
        Self {
            base,
            axis,
            length,
            left: narrow(left),
            right: narrow(right),
            profile: (0..=TABLE)
                .map(|i| profile(i as f64 / TABLE as f64) as f32)
                .collect(),
        }
    }
    fn normal(&self) -> V2 {
        (-self.axis.1, self.axis.0)
    }
    /// The half-width before the profile at the base, on the right (positive normal) or left.
    fn base_shape(&self, right: bool) -> f32 {
        if right { self.right[0] } else { self.left[0] }
    }
    /// Whether `p` is inside the section grown by `side` laterally and `apex` at the tip.
    fn contains(&self, p: V2, side: f32, apex: f32) -> bool {
        let d = sub(p, self.base);
        let u = dot(d, self.axis);
        let len = self.length + apex;
        if u < 0.0 || u > len {
            return false;
        }
        let v = dot(d, self.normal());
        let x = u / len * TABLE as f32;
        let i = (x as usize).min(TABLE - 1);
        let f = x - i as f32;
        let lerp = |table: &[f32]| table[i] + f * (table[i + 1] - table[i]);
        let shape = if v >= 0.0 {
            lerp(&self.right)
        } else {
            lerp(&self.left)
        };
        v.abs() <= (shape + side) * lerp(&self.profile)
    }
}

/// A cross-section of the ventricle perpendicular to its axis: radius `radii` tabulated over the
/// angle from `rotation`, at `TABLE + 1` points of [0, 2 pi].
#[derive(Debug, Clone)]
struct Ring {
    centre: V2,
    rotation: f32,
    radii: Vec<f32>,
}

impl Ring {
    /// The mean radius.
    fn mean(&self) -> f32 {
        self.radii[..TABLE].iter().sum::<f32>() / TABLE as f32
    }
    /// Whether `p` is inside the ring grown by `grow`.
    fn contains(&self, p: V2, grow: f32) -> bool {
        let d = sub(p, self.centre);
        let rho = dot(d, d).sqrt();
        let angle = (d.1.atan2(d.0) - self.rotation).rem_euclid(std::f32::consts::TAU);
        let x = angle / std::f32::consts::TAU * TABLE as f32;
        let i = (x as usize).min(TABLE - 1);
        let f = x - i as f32;
        rho <= self.radii[i] + f * (self.radii[i + 1] - self.radii[i]) + grow
    }
}

/// An ellipse with a wobbly outline, optionally cut by a valve plane.
#[derive(Debug, Clone, Copy)]
struct Blob {
    centre: V2,
    /// Unit vector of the first semi-axis.
    axis: V2,
    a: f32,
    b: f32,
    wobble: Wobble,
}

impl Blob {
    fn contains(&self, p: V2, grow: f32) -> bool {
        let d = sub(p, self.centre);
        let u = dot(d, self.axis);
        let v = dot(d, (-self.axis.1, self.axis.0));
        let angle = v.atan2(u);
        let k = self.wobble.at(angle);
        let (a, b) = (self.a * k + grow, self.b * k + grow);
        (u / a).powi(2) + (v / b).powi(2) <= 1.0
    }
}

/// A straight tube (aortic root) with rounded ends.
#[derive(Debug, Clone, Copy)]
struct Tube {
    from: V2,
    to: V2,
    radius: f32,
}

impl Tube {
    fn distance(&self, p: V2) -> f32 {
        let d = sub(self.to, self.from);
        let t = (dot(sub(p, self.from), d) / dot(d, d)).clamp(0.0, 1.0);
        let q = add(self.from, scale(d, t));
        let e = sub(p, q);
        dot(e, e).sqrt()
    }
}

/// Shape and size of one patient's heart, shared by all of its views and frames.
#[derive(Debug, Clone)]
pub(crate) struct Patient {
    /// The end-diastolic LV cavity.
    pub(crate) cavity: Cavity,
    /// The true ejection fraction (a fraction, 0.20 to 0.75).
    pub(crate) ejection: f64,
    /// The imaging depth: the image height in mm.
    pub(crate) depth_mm: f64,
    wall: f32,
    la_length: f32,
    la_half: f32,
    /// Azimuths of the 2CH, 3CH and 4CH planes around the long axis.
    azimuths: [f64; 3],
}

impl Patient {
    /// A random patient: LV length 70 to 95 mm, end-diastolic volume 70 to 200 ml (larger for
    /// longer ventricles and for an ejection fraction below 50 %), the imaging depth set to fit
    /// the heart (at least 1.7 to 2.1 LV lengths and 5.4 mean radii, 130 mm or more).
    pub(crate) fn new(rng: &mut Rng) -> Self {
        let ejection = rng.range(0.20, 0.75) as f64;
        let length_mm = rng.range(70.0, 95.0) as f64;
        let dilation = ((0.5 - ejection) / 0.3).max(0.0);
        let size = 0.6 * (length_mm - 70.0) / 25.0 + 0.25 * rng.uniform() as f64 + 0.15 * dilation;
        let edv_mm3 = 1000.0 * (70.0 + 130.0 * size);
        let power = rng.range(1.7, 2.4) as f64;
        let cavity_mm = Cavity::new(rng, length_mm, power).with_volume(edv_mm3);
        let depth_mm = (length_mm * rng.range(1.7, 2.1) as f64)
            .max(cavity_mm.radius * 5.4)
            .max(130.0);
        let cavity = cavity_mm.scaled(1.0 / depth_mm);
        let lv_length = cavity.length as f32;
        let four = rng.range(0.0, std::f32::consts::TAU) as f64;
        let two = four + rng.range(55.0f32, 65.0).to_radians() as f64;
        let three = four + rng.range(115.0f32, 125.0).to_radians() as f64;
        Self {
            cavity,
            ejection,
            depth_mm,
            wall: rng.range(6.5, 9.5) / depth_mm as f32,
            la_length: 0.26 * lv_length * rng.range(0.85, 1.15),
            la_half: 0.25 * lv_length * rng.range(0.85, 1.15),
            azimuths: [two, three, four],
        }
    }

    /// The azimuth of an apical plane around the long axis (PSAX: that of the 4CH plane).
    fn azimuth(&self, plane: Plane) -> f64 {
        match plane {
            Plane::TwoChamber => self.azimuths[0],
            Plane::ThreeChamber => self.azimuths[1],
            _ => self.azimuths[2],
        }
    }

    /// The cavity volume at contraction `c` (0 ED, 1 ES), in normalised units cubed.
    pub(crate) fn volume(&self, c: f64) -> f64 {
        let (length_k, radius_k) = contraction_scales(self.ejection, c);
        self.cavity.volume() * length_k * radius_k * radius_k
    }
}

/// The geometry of one view of one patient at one contraction.
#[derive(Debug, Clone)]
pub(crate) enum Anatomy {
    /// An apical view (2CH, 3CH or 4CH).
    Apical(Box<Apical>),
    /// A parasternal short-axis view.
    ShortAxis(Box<ShortAxis>),
}

#[derive(Debug, Clone)]
pub(crate) struct Apical {
    lv: Section,
    wall_side: f32,
    wall_apex: f32,
    la: Blob,
    rv: Option<Section>,
    ra: Option<Blob>,
    aorta: Option<Tube>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShortAxis {
    lv: Ring,
    wall: f32,
    papillary: [Blob; 2],
    rv: Blob,
}

/// Where the parasternal short-axis plane cuts the LV (fraction of the length from the base).
const SHORT_AXIS_LEVEL: f64 = 0.45;

impl Anatomy {
    /// The view of `patient` in `plane` at contraction `c` (0 end-diastole, 1 end-systole);
    /// `rng` draws the pose and must be seeded the same for every `c` of a view, so that the
    /// heart only contracts between them.
    pub(crate) fn new(patient: &Patient, plane: Plane, c: f64, rng: &mut Rng) -> Self {
        let ef = patient.ejection;
        let (len_k, rad_k) = contraction_scales(ef, c);
        let wall_k = (1.0 + 0.9 * ef * c) as f32;
        let la_k = (1.0 + 0.3 * ef * c) as f32;
        let cavity = &patient.cavity;
        if plane == Plane::ShortAxis {
            let wall = patient.wall * wall_k * rng.range(0.95, 1.1);
            let centre = (rng.range(-0.06, 0.06), rng.range(0.46, 0.56));
            let rotation = rng.range(0.0, std::f32::consts::TAU);
            let psi = patient.azimuth(plane);
            let lv = Ring {
                centre,
                rotation,
                radii: (0..=TABLE)
                    .map(|i| {
                        let angle = std::f64::consts::TAU * i as f64 / TABLE as f64;
                        (rad_k * cavity.radius_at(SHORT_AXIS_LEVEL, psi + angle)) as f32
                    })
                    .collect(),
            };
            let r = lv.mean();
            let pap = |rng: &mut Rng, angle: f32| {
                let dir = rotate((1.0, 0.0), angle + rng.range(-0.25, 0.25));
                Blob {
                    centre: add(centre, scale(dir, r * rng.range(0.55, 0.7))),
                    axis: dir,
                    a: r * rng.range(0.2, 0.3),
                    b: r * rng.range(0.17, 0.24),
                    wobble: Wobble::new(rng, 0.1),
                }
            };
            let papillary = [pap(rng, 0.75), pap(rng, 2.35)];
            let outer = r + wall;
            let dir = rotate((-0.8, -0.6), rng.range(-0.3, 0.3));
            let rv = Blob {
                centre: add(centre, scale(dir, outer * rng.range(0.35, 0.45))),
                axis: (-dir.1, dir.0),
                a: outer * rng.range(1.2, 1.35),
                b: outer * rng.range(1.0, 1.1),
                wobble: Wobble::new(rng, 0.04),
            };
            return Anatomy::ShortAxis(Box::new(ShortAxis {
                lv,
                wall,
                papillary,
                rv,
            }));
        }
        let tilt = rng.range(-0.22, 0.22);
        let axis = rotate((0.0, -1.0), tilt);
        let normal = (-axis.1, axis.0);
        let apex = (rng.range(-0.03, 0.07), rng.range(0.08, 0.13));
        // The mean ED half-width before the profile, for structures placed beside the LV.
        let half = cavity.radius as f32;
        let wall_side = patient.wall * wall_k;
        let wall_apex = patient.wall * wall_k * rng.range(0.7, 0.95);
        let length = (cavity.length * len_k) as f32;
        let base = sub(apex, scale(axis, length + wall_apex));
        let psi = patient.azimuth(plane);
        let side = |psi: f64| -> Vec<f64> {
            let shapes = cavity.shapes_along(psi, TABLE);
            shapes.into_iter().map(|r| r * rad_k).collect()
        };
        let lv = Section::new(
            base,
            axis,
            length,
            side(psi + std::f64::consts::PI),
            side(psi),
            |t| cavity.profile(t),
        );
        let la_offset = match plane {
            Plane::ThreeChamber => -0.35 * half,
            _ => rng.range(-0.15, 0.15) * half,
        };
        let la_axis = rotate(axis, rng.range(-0.2, 0.2));
        let la_len = patient.la_length * la_k * rng.range(0.95, 1.05);
        let la = Blob {
            centre: add(
                add(base, scale(la_axis, -la_len * 0.95)),
                scale(normal, la_offset),
            ),
            axis: la_axis,
            a: la_len,
            b: patient.la_half * la_k * rng.range(0.9, 1.1),
            wobble: Wobble::new(rng, 0.06),
        };
        let (mut rv, mut ra, mut aorta) = (None, None, None);
        match plane {
            Plane::FourChamber => {
                let rv_half = half * rng.range(0.7, 0.85) * (1.0 - 0.15 * c as f32);
                let rv_base = add(
                    base,
                    add(
                        scale(
                            normal,
                            -(lv.base_shape(false) + wall_side + rv_half + 0.005),
                        ),
                        scale(axis, 0.02),
                    ),
                );
                let rv_axis = rotate(axis, rng.range(-0.1, 0.05));
                let rv_length =
                    cavity.length as f32 * rng.range(0.7, 0.85) * (1.0 - 0.08 * c as f32);
                let wobble_left = Wobble::new(rng, 0.08);
                let wobble_right = Wobble::new(rng, 0.04);
                let along = |wobble: Wobble, half: f32| -> Vec<f64> {
                    (0..=TABLE)
                        .map(|i| {
                            let t = i as f32 / TABLE as f32;
                            (half * wobble.at(t * std::f32::consts::PI)) as f64
                        })
                        .collect()
                };
                let right = Section::new(
                    rv_base,
                    rv_axis,
                    rv_length,
                    along(wobble_left, rv_half),
                    along(wobble_right, rv_half * 0.8),
                    |t| profile(1.6, 0.12, t),
                );
                let ra_len = la_len * rng.range(0.85, 1.05);
                ra = Some(Blob {
                    centre: add(rv_base, scale(axis, -ra_len * 0.95)),
                    axis,
                    a: ra_len,
                    b: rv_half * rng.range(1.0, 1.3),
                    wobble: Wobble::new(rng, 0.06),
                });
                rv = Some(right);
            }
            Plane::ThreeChamber => {
                let radius = rng.range(0.045, 0.06);
                let from = add(base, scale(normal, lv.base_shape(true) * 0.9 - radius));
                let dir = rotate(scale(axis, -1.0), -rng.range(0.6, 0.9));
                aorta = Some(Tube {
                    from,
                    to: add(from, scale(dir, rng.range(0.18, 0.26))),
                    radius,
                });
            }
            _ => {}
        }
        Anatomy::Apical(Box::new(Apical {
            lv,
            wall_side,
            wall_apex,
            la,
            rv,
            ra,
            aorta,
        }))
    }

    /// The label (0 bg, 1 LV, 2 MYO, 3 LA) and tissue at point `p`.
    pub(crate) fn at(&self, p: V2) -> (u8, Tissue) {
        match self {
            Anatomy::Apical(a) => a.at(p),
            Anatomy::ShortAxis(s) => s.at(p),
        }
    }
}

impl Apical {
    fn at(&self, p: V2) -> (u8, Tissue) {
        let lv = &self.lv;
        let below_base = dot(sub(p, lv.base), lv.axis) < 0.0;
        if lv.contains(p, 0.0, 0.0) {
            return (1, Tissue::Blood);
        }
        if lv.contains(p, self.wall_side, self.wall_apex) {
            return (2, Tissue::Muscle);
        }
        // The mitral valve: a thin bright line across the base, bowing into the atrium.
        let d = sub(p, lv.base);
        let v = dot(d, lv.normal());
        let u = dot(d, lv.axis);
        let half = lv.base_shape(v >= 0.0) * 0.88;
        if self.la.contains(p, 0.0) && below_base {
            let bow = -0.025 * (1.0 - (v / half).powi(2)).max(0.0);
            if v.abs() < half && (u - bow).abs() < 0.004 && (v / half).abs() > 0.12 {
                return (3, Tissue::Valve);
            }
            return (3, Tissue::Blood);
        }
        if let Some(aorta) = &self.aorta {
            let dist = aorta.distance(p);
            if dist < aorta.radius && below_base {
                return (0, Tissue::Blood);
            }
            if dist < aorta.radius + 0.012 && below_base {
                return (0, Tissue::Wall);
            }
        }
        if let Some(rv) = &self.rv {
            if rv.contains(p, 0.0, 0.0) {
                return (0, Tissue::Blood);
            }
            if rv.contains(p, 0.012, 0.012) {
                return (0, Tissue::Wall);
            }
        }
        if let Some(ra) = &self.ra
            && ra.contains(p, 0.0)
            && dot(sub(p, lv.base), lv.axis) < 0.02
        {
            return (0, Tissue::Blood);
        }
        if below_base && self.la.contains(p, 0.01) {
            return (0, Tissue::Wall);
        }
        if let Some(ra) = &self.ra
            && ra.contains(p, 0.01)
        {
            return (0, Tissue::Wall);
        }
        if lv.contains(p, self.wall_side + 0.013, self.wall_apex + 0.013) {
            return (0, Tissue::Pericardium);
        }
        (0, Tissue::Background)
    }
}

impl ShortAxis {
    fn at(&self, p: V2) -> (u8, Tissue) {
        if self.lv.contains(p, 0.0) {
            if self.papillary.iter().any(|m| m.contains(p, 0.0)) {
                return (1, Tissue::Muscle);
            }
            return (1, Tissue::Blood);
        }
        if self.lv.contains(p, self.wall) {
            return (2, Tissue::Muscle);
        }
        if self.rv.contains(p, 0.0) && !self.lv.contains(p, self.wall + 0.006) {
            return (0, Tissue::Blood);
        }
        if self.rv.contains(p, 0.012) && !self.lv.contains(p, self.wall + 0.006) {
            return (0, Tissue::Wall);
        }
        if self.lv.contains(p, self.wall + 0.013) || self.rv.contains(p, 0.024) {
            return (0, Tissue::Pericardium);
        }
        (0, Tissue::Background)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticConfig;

    const APICAL: [Plane; 3] = [Plane::TwoChamber, Plane::ThreeChamber, Plane::FourChamber];

    fn cfg() -> SyntheticConfig {
        SyntheticConfig {
            cases: 4,
            ..SyntheticConfig::default()
        }
    }

    /// The LV section of the apical view `plane` of `case` at contraction `c`, as drawn.
    fn section(cfg: &SyntheticConfig, case: usize, plane: Plane, c: f64) -> Section {
        let mut pose = Rng::derive(cfg.seed, &[case as u64, plane.id() as u64 + 1]);
        match Anatomy::new(&cfg.patient(case), plane, c, &mut pose) {
            Anatomy::Apical(a) => a.lv,
            Anatomy::ShortAxis(_) => panic!("{plane} is not apical"),
        }
    }

    /// The LV pixels (pixel centres, normalised units) of a label map.
    fn lv_pixels(label: &image::GrayImage) -> Vec<V2> {
        let (w, h) = (label.width() as f32, label.height() as f32);
        label
            .enumerate_pixels()
            .filter(|(_, _, l)| l[0] == 1)
            .map(|(x, y, _)| ((x as f32 + 0.5 - w / 2.0) / h, (y as f32 + 0.5) / h))
            .collect()
    }

    #[test]
    fn every_apical_view_shows_the_same_cavity_length() {
        let cfg = cfg();
        let h = cfg.height as f32;
        for case in 0..cfg.cases {
            let length = cfg.patient(case).cavity.length as f32 * h;
            for c in [0.0, 1.0] {
                let (len_k, _) = contraction_scales(cfg.patient(case).ejection, c);
                for plane in APICAL {
                    let lv = section(&cfg, case, plane, c);
                    let (_, label, _) = cfg.render(case, plane, c, 1);
                    let u: Vec<f32> = lv_pixels(&label)
                        .iter()
                        .map(|&p| dot(sub(p, lv.base), lv.axis) * h)
                        .collect();
                    let lo = u.iter().copied().fold(f32::MAX, f32::min);
                    let hi = u.iter().copied().fold(f32::MIN, f32::max);
                    let expected = length * len_k as f32;
                    assert!(
                        (hi - lo - expected).abs() < 2.0,
                        "case {case} {plane} c={c}: LV {} px long along its axis, cavity {expected}",
                        hi - lo
                    );
                }
            }
        }
    }

    #[test]
    fn apical_masks_are_the_sections_of_the_cavity() {
        let cfg = cfg();
        let h = cfg.height as f64;
        for case in 0..cfg.cases {
            let patient = cfg.patient(case);
            for c in [0.0, 1.0] {
                let scales = contraction_scales(patient.ejection, c);
                for plane in APICAL {
                    let (_, label, _) = cfg.render(case, plane, c, 1);
                    let pixels = lv_pixels(&label).len() as f64;
                    let psi = patient.azimuth(plane);
                    let area = patient.cavity.section_area(psi, scales) * h * h;
                    assert!(
                        (pixels / area - 1.0).abs() < 0.03,
                        "case {case} {plane} c={c}: {pixels} LV pixels, section {area}"
                    );
                }
            }
        }
    }

    #[test]
    fn short_axis_mask_is_the_mid_ventricular_cross_section() {
        let cfg = cfg();
        let h = cfg.height as f64;
        for case in 0..cfg.cases {
            let patient = cfg.patient(case);
            let (_, label, _) = cfg.render(case, Plane::ShortAxis, 0.0, 1);
            let pixels = lv_pixels(&label).len() as f64;
            let n = 720;
            let area: f64 = (0..n)
                .map(|j| {
                    let psi = std::f64::consts::TAU * j as f64 / n as f64;
                    0.5 * patient.cavity.radius_at(SHORT_AXIS_LEVEL, psi).powi(2)
                })
                .sum::<f64>()
                * std::f64::consts::TAU
                / n as f64;
            let area = area * h * h;
            assert!(
                (pixels / area - 1.0).abs() < 0.03,
                "case {case}: {pixels} LV pixels, cross-section {area}"
            );
        }
    }

    #[test]
    fn apical_planes_are_sixty_and_hundred_twenty_degrees_from_the_four_chamber() {
        let cfg = cfg();
        for case in 0..cfg.cases {
            let p = cfg.patient(case);
            let four = p.azimuth(Plane::FourChamber);
            let two = (p.azimuth(Plane::TwoChamber) - four).to_degrees();
            let three = (p.azimuth(Plane::ThreeChamber) - four).to_degrees();
            assert!((55.0..=65.0).contains(&two), "{two}");
            assert!((115.0..=125.0).contains(&three), "{three}");
        }
    }
}
