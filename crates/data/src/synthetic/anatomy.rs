//! Heart geometry of one synthetic view: implicit shapes for every structure, in normalised
//! image coordinates (x right, y down, the image height is 1, the probe at the top centre).

use crate::rng::Rng;
use crate::sample::{Phase, Plane};

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

/// A ventricle seen along its long axis: a bullet from the base (valve plane) to the apex.
#[derive(Debug, Clone, Copy)]
struct Bullet {
    base: V2,
    /// Unit vector from base to apex.
    axis: V2,
    length: f32,
    half_left: f32,
    half_right: f32,
    power: f32,
    wobble_left: Wobble,
    wobble_right: Wobble,
}

impl Bullet {
    fn normal(&self) -> V2 {
        (-self.axis.1, self.axis.0)
    }
    /// Whether `p` is inside the bullet grown by `side` laterally and `apex` at the tip.
    fn contains(&self, p: V2, side: f32, apex: f32) -> bool {
        let d = sub(p, self.base);
        let u = dot(d, self.axis);
        let len = self.length + apex;
        if u < 0.0 || u > len {
            return false;
        }
        let v = dot(d, self.normal());
        let t = u / len;
        let (half, wobble) = if v >= 0.0 {
            (self.half_right, &self.wobble_right)
        } else {
            (self.half_left, &self.wobble_left)
        };
        let profile = (1.0 - t.powf(self.power)).max(0.0).powf(1.0 / self.power)
            * (1.0 - 0.12 * (1.0 - t).powi(8));
        v.abs() <= (half * wobble.at(t * std::f32::consts::PI) + side) * profile
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

/// Shape and size of one patient's heart, shared by all of its views and phases.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patient {
    lv_length: f32,
    lv_half: f32,
    wall: f32,
    la_length: f32,
    la_half: f32,
    ejection: f32,
    power: f32,
}

impl Patient {
    /// A random patient.
    pub(crate) fn new(rng: &mut Rng) -> Self {
        let size = rng.range(0.88, 1.12);
        Self {
            lv_length: 0.5 * size * rng.range(0.92, 1.08),
            lv_half: 0.15 * size * rng.range(0.88, 1.12),
            wall: rng.range(0.042, 0.062),
            la_length: 0.13 * size * rng.range(0.85, 1.15),
            la_half: 0.125 * size * rng.range(0.85, 1.15),
            ejection: rng.range(0.35, 0.65),
            power: rng.range(1.7, 2.4),
        }
    }
}

/// The geometry of one view of one patient at one phase.
#[derive(Debug, Clone)]
pub(crate) enum Anatomy {
    /// An apical view (2CH, 3CH or 4CH).
    Apical(Box<Apical>),
    /// A parasternal short-axis view.
    ShortAxis(Box<ShortAxis>),
}

#[derive(Debug, Clone)]
pub(crate) struct Apical {
    lv: Bullet,
    wall_side: f32,
    wall_apex: f32,
    la: Blob,
    rv: Option<Bullet>,
    ra: Option<Blob>,
    aorta: Option<Tube>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShortAxis {
    lv: Blob,
    wall: f32,
    papillary: [Blob; 2],
    rv: Blob,
}

impl Anatomy {
    /// The view of `patient` in `plane` at `phase`; `rng` draws the pose and must be seeded the
    /// same for both phases of a view, so that the heart only contracts between them.
    pub(crate) fn new(patient: &Patient, plane: Plane, phase: Phase, rng: &mut Rng) -> Self {
        let es = phase == Phase::Es;
        let ef = patient.ejection;
        let len_k = if es { 1.0 - 0.28 * ef } else { 1.0 };
        let half_k = if es { 1.0 - 0.55 * ef } else { 1.0 };
        let wall_k = if es { 1.0 + 0.9 * ef } else { 1.0 };
        let la_k = if es { 1.0 + 0.3 * ef } else { 1.0 };
        if plane == Plane::ShortAxis {
            let r = patient.lv_half * rng.range(0.95, 1.15) * half_k;
            let wall = patient.wall * wall_k * rng.range(0.95, 1.1);
            let centre = (rng.range(-0.06, 0.06), rng.range(0.46, 0.56));
            let axis = rotate((1.0, 0.0), rng.range(0.0, std::f32::consts::PI));
            let lv = Blob {
                centre,
                axis,
                a: r * rng.range(1.0, 1.12),
                b: r,
                wobble: Wobble::new(rng, 0.05),
            };
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
        let length = patient.lv_length * rng.range(0.95, 1.05);
        let half = patient.lv_half * rng.range(0.92, 1.08);
        let wobble_l = Wobble::new(rng, 0.05);
        let wobble_r = Wobble::new(rng, 0.05);
        let asym = rng.range(0.9, 1.1);
        let wall_side = patient.wall * wall_k;
        let wall_apex = patient.wall * wall_k * rng.range(0.7, 0.95);
        let base = sub(apex, scale(axis, length * len_k + wall_apex));
        let lv = Bullet {
            base,
            axis,
            length: length * len_k,
            half_left: half * half_k * asym,
            half_right: half * half_k / asym,
            power: patient.power,
            wobble_left: wobble_l,
            wobble_right: wobble_r,
        };
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
                let rv_half = half * rng.range(0.7, 0.85) * (if es { 0.85 } else { 1.0 });
                let rv_base = add(
                    base,
                    add(
                        scale(
                            normal,
                            -(half * half_k * asym + wall_side + rv_half + 0.005),
                        ),
                        scale(axis, 0.02),
                    ),
                );
                let right = Bullet {
                    base: rv_base,
                    axis: rotate(axis, rng.range(-0.1, 0.05)),
                    length: length * rng.range(0.7, 0.85) * (if es { 0.92 } else { 1.0 }),
                    half_left: rv_half,
                    half_right: rv_half * 0.8,
                    power: 1.6,
                    wobble_left: Wobble::new(rng, 0.08),
                    wobble_right: Wobble::new(rng, 0.04),
                };
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
                let from = add(base, scale(normal, half * half_k * 0.9 - radius));
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
        let half = if v >= 0.0 {
            lv.half_right
        } else {
            lv.half_left
        } * 0.88;
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
