//! A simple ultrasound scanner model: beam-space speckle, depth attenuation, log compression and
//! scan conversion of a sector (fan) image, as a phased-array echo machine shows it.

use image::GrayImage;

use super::anatomy::{Anatomy, Tissue};
use crate::rng::Rng;

/// Acquisition settings of one image (sector geometry, gain, speckle size).
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    width: u32,
    height: u32,
    apex_y: f32,
    r_min: f32,
    r_max: f32,
    half_angle: f32,
    lines: usize,
    samples: usize,
    sigma_axial: f32,
    sigma_lateral: f32,
    top_db: f32,
    dynamic_db: f32,
    attenuation_db: f32,
    gamma: f32,
    muscle: f32,
    background: f32,
    clutter: f32,
    texture: [(f32, f32, f32, f32); 6],
}

/// Echogenicity (backscatter power) of each tissue.
fn power(tissue: Tissue) -> f32 {
    match tissue {
        Tissue::Blood => 0.0001,
        Tissue::Muscle => 0.15,
        Tissue::Wall => 0.2,
        Tissue::Pericardium => 1.2,
        Tissue::Valve => 0.6,
        Tissue::Background => 0.012,
    }
}

impl Scanner {
    /// Random settings for a `width` x `height` image.
    pub(crate) fn new(rng: &mut Rng, width: u32, height: u32) -> Self {
        let mut texture = [(0.0, 0.0, 0.0, 0.0); 6];
        for t in texture.iter_mut() {
            let angle = rng.range(0.0, std::f32::consts::TAU);
            let freq = rng.range(4.0, 16.0);
            *t = (
                freq * angle.cos(),
                freq * angle.sin(),
                rng.range(0.0, std::f32::consts::TAU),
                rng.range(0.25, 0.55),
            );
        }
        Self {
            width,
            height,
            apex_y: rng.range(-0.03, 0.0),
            r_min: rng.range(0.02, 0.04),
            r_max: rng.range(0.93, 1.0),
            half_angle: rng.range(38.0f32, 45.0).to_radians(),
            lines: 112,
            samples: 288,
            sigma_axial: rng.range(0.7, 1.0),
            sigma_lateral: rng.range(0.9, 1.3),
            top_db: rng.range(3.0, 8.0),
            dynamic_db: rng.range(40.0, 48.0),
            attenuation_db: rng.range(4.0, 11.0),
            gamma: rng.range(1.1, 1.5),
            muscle: rng.range(0.75, 1.3),
            background: rng.range(0.7, 1.3),
            clutter: rng.range(0.0005, 0.003),
            texture,
        }
    }

    /// The point at radius `r` and beam angle `theta` from the probe.
    fn point(&self, r: f32, theta: f32) -> (f32, f32) {
        (r * theta.sin(), self.apex_y + r * theta.cos())
    }

    fn backscatter(&self, tissue: Tissue, p: (f32, f32), r: f32) -> f32 {
        let base = power(tissue);
        let norm: f32 = self
            .texture
            .iter()
            .map(|t| t.3 * t.3 / 2.0)
            .sum::<f32>()
            .sqrt();
        let tex = self
            .texture
            .iter()
            .map(|(fx, fy, ph, a)| a * (fx * p.0 + fy * p.1 + ph).cos())
            .sum::<f32>()
            / norm;
        match tissue {
            Tissue::Background => {
                let near = if p.1 < 0.08 {
                    4.0 + 3.0 * (p.1 * 140.0).sin()
                } else {
                    1.0
                };
                base * self.background * (0.8 * tex).exp() * near
            }
            Tissue::Muscle => base * self.muscle * (0.25 * tex).exp(),
            Tissue::Pericardium => base * (0.9 * tex).exp(),
            Tissue::Wall => base * (0.5 * tex).exp(),
            Tissue::Blood => base + self.clutter * (-r / 0.12).exp(),
            _ => base,
        }
    }

    /// Renders `anatomy`: the grey image and its label map (labels only inside the sector).
    pub(crate) fn render(&self, anatomy: &Anatomy, rng: &mut Rng) -> (GrayImage, GrayImage) {
        let (ns, nl) = (self.samples, self.lines);
        let dr = (self.r_max - self.r_min) / (ns - 1) as f32;
        let dt = 2.0 * self.half_angle / (nl - 1) as f32;
        // Scatterers: complex white noise weighted by the square root of the backscatter power.
        let mut re = vec![0.0f32; ns * nl];
        let mut im = vec![0.0f32; ns * nl];
        for i in 0..ns {
            let r = self.r_min + i as f32 * dr;
            for j in 0..nl {
                let p = self.point(r, -self.half_angle + j as f32 * dt);
                let (_, tissue) = anatomy.at(p);
                let amp = self.backscatter(tissue, p, r).sqrt();
                re[i * nl + j] = amp * rng.normal();
                im[i * nl + j] = amp * rng.normal();
            }
        }
        // The point-spread function: short axially, wider laterally (per beam line).
        for buf in [&mut re, &mut im] {
            blur(buf, ns, nl, self.sigma_axial, true);
            blur(buf, ns, nl, self.sigma_lateral, false);
        }
        // Envelope, residual depth attenuation after time-gain compensation, log compression.
        let floor = self.top_db - self.dynamic_db;
        let mut grey = vec![0.0f32; ns * nl];
        for i in 0..ns {
            let r = self.r_min + i as f32 * dr;
            let atten = 10f32.powf(-self.attenuation_db * r / 20.0);
            for j in 0..nl {
                let k = i * nl + j;
                let edge = ((j as f32 - (nl - 1) as f32 / 2.0) / ((nl - 1) as f32 / 2.0)).powi(4);
                let env = (re[k] * re[k] + im[k] * im[k]).sqrt() * atten * (1.0 - 0.35 * edge)
                    + 0.006 * rng.normal().abs();
                let db = 20.0 * env.max(1e-6).log10();
                grey[k] = ((db - floor) / self.dynamic_db)
                    .clamp(0.0, 1.0)
                    .powf(self.gamma);
            }
        }
        self.scan_convert(anatomy, &grey, dr, dt)
    }

    fn scan_convert(
        &self,
        anatomy: &Anatomy,
        grey: &[f32],
        dr: f32,
        dt: f32,
    ) -> (GrayImage, GrayImage) {
        let (w, h) = (self.width, self.height);
        let (ns, nl) = (self.samples, self.lines);
        let mut image = GrayImage::new(w, h);
        let mut label = GrayImage::new(w, h);
        let hf = h as f32;
        for y in 0..h {
            for x in 0..w {
                let px = ((x as f32 + 0.5) - w as f32 / 2.0) / hf;
                let py = (y as f32 + 0.5) / hf;
                let (ex, ey) = (px, py - self.apex_y);
                let r = (ex * ex + ey * ey).sqrt();
                let theta = ex.atan2(ey);
                if r < self.r_min || r > self.r_max || theta.abs() > self.half_angle {
                    continue;
                }
                let fi = ((r - self.r_min) / dr).clamp(0.0, (ns - 1) as f32);
                let fj = ((theta + self.half_angle) / dt).clamp(0.0, (nl - 1) as f32);
                let (i0, j0) = (fi as usize, fj as usize);
                let (i1, j1) = ((i0 + 1).min(ns - 1), (j0 + 1).min(nl - 1));
                let (a, b) = (fi - i0 as f32, fj - j0 as f32);
                let v = (1.0 - a) * ((1.0 - b) * grey[i0 * nl + j0] + b * grey[i0 * nl + j1])
                    + a * ((1.0 - b) * grey[i1 * nl + j0] + b * grey[i1 * nl + j1]);
                let edge_px = ((self.half_angle - theta.abs()) * r * hf)
                    .min((r - self.r_min) * hf)
                    .min((self.r_max - r) * hf)
                    .clamp(0.0, 1.5)
                    / 1.5;
                image.put_pixel(x, y, image::Luma([(255.0 * v * edge_px).round() as u8]));
                label.put_pixel(x, y, image::Luma([anatomy.at((px, py)).0]));
            }
        }
        (image, label)
    }
}

/// In-place Gaussian blur of a row-major `rows` x `cols` buffer along columns (`axial`) or rows,
/// with the kernel scaled to unit energy so that speckle keeps its power.
fn blur(buf: &mut [f32], rows: usize, cols: usize, sigma: f32, axial: bool) {
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-(k * k) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let energy = kernel.iter().map(|k| k * k).sum::<f32>().sqrt();
    kernel.iter_mut().for_each(|k| *k /= energy);
    let src = buf.to_vec();
    let (n, stride, lines, line_stride) = if axial {
        (rows, cols, cols, 1)
    } else {
        (cols, 1, rows, cols)
    };
    for line in 0..lines {
        let base = line * line_stride;
        for i in 0..n as isize {
            let mut acc = 0.0;
            for (k, w) in kernel.iter().enumerate() {
                let s = (i + k as isize - radius).clamp(0, n as isize - 1) as usize;
                acc += w * src[base + s * stride];
            }
            buf[base + i as usize * stride] = acc;
        }
    }
}
