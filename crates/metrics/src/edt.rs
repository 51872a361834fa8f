//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, linear time), anisotropic.
//!
//! The transform is separable: a pass along axis 0 finds, per column, the row distance to the
//! nearest feature; a pass along axis 1 takes, per row, the lower envelope of the parabolas
//! `s1^2 (x - q)^2 + g(q)` and reads it at the query pixels only.

/// Distances from every query pixel to the nearest feature pixel, in row-major query order.
///
/// `features` and `queries` are row-major `height x width` grids; `spacing` is the physical
/// step along (axis 0, axis 1). Returns `None` when there is no feature pixel.
pub(crate) fn query_distances(
    features: &[bool],
    queries: &[bool],
    height: usize,
    width: usize,
    spacing: (f64, f64),
) -> Option<Vec<f64>> {
    if !features.iter().any(|&f| f) {
        return None;
    }
    let col_dist = column_distances(features, height, width);
    let (s0, s1) = spacing;
    let w = s1 * s1;
    let mut envelope = Envelope::with_capacity(width);
    let mut out = Vec::new();
    for r in 0..height {
        let q_row = &queries[r * width..(r + 1) * width];
        if !q_row.iter().any(|&q| q) {
            continue;
        }
        let g_row = &col_dist[r * width..(r + 1) * width];
        envelope.build(g_row, s0, w);
        envelope.read(q_row, w, &mut out);
    }
    Some(out)
}

/// Marks a column without any feature pixel.
const NONE: u32 = u32::MAX;

/// Per pixel, the number of rows to the nearest feature pixel in the same column.
fn column_distances(features: &[bool], height: usize, width: usize) -> Vec<u32> {
    let mut d = vec![NONE; height * width];
    for r in 0..height {
        let (done, rest) = d.split_at_mut(r * width);
        let prev = (r > 0).then(|| &done[(r - 1) * width..]);
        let cur = &mut rest[..width];
        let feat = &features[r * width..(r + 1) * width];
        for c in 0..width {
            cur[c] = if feat[c] {
                0
            } else {
                prev.map_or(NONE, |p| p[c].saturating_add(1))
            };
        }
    }
    for r in (0..height.saturating_sub(1)).rev() {
        let (head, tail) = d.split_at_mut((r + 1) * width);
        let cur = &mut head[r * width..];
        let next = &tail[..width];
        for c in 0..width {
            cur[c] = cur[c].min(next[c].saturating_add(1));
        }
    }
    d
}

/// The lower envelope of the parabolas `w (x - q)^2 + h(q)` of one row.
struct Envelope {
    /// Apex positions (columns) of the parabolas on the envelope.
    v: Vec<usize>,
    /// Apex heights of those parabolas.
    h: Vec<f64>,
    /// Boundaries: parabola `k` is lowest on `[z[k], z[k + 1]]` (`z` ends with +inf).
    z: Vec<f64>,
}

impl Envelope {
    fn with_capacity(n: usize) -> Self {
        Self {
            v: Vec::with_capacity(n),
            h: Vec::with_capacity(n),
            z: Vec::with_capacity(n + 1),
        }
    }

    /// Builds the envelope from per-column row distances `g` (rows scaled by `s0`).
    fn build(&mut self, g: &[u32], s0: f64, w: f64) {
        self.v.clear();
        self.h.clear();
        self.z.clear();
        for (q, &gq) in g.iter().enumerate() {
            if gq == NONE {
                continue;
            }
            let dy = f64::from(gq) * s0;
            let hq = dy * dy;
            let qf = q as f64;
            let mut s = f64::NEG_INFINITY;
            while let (Some(&vk), Some(&hk)) = (self.v.last(), self.h.last()) {
                let vf = vk as f64;
                s = ((hq + w * qf * qf) - (hk + w * vf * vf)) / (2.0 * w * (qf - vf));
                if s <= *self.z.last().unwrap_or(&f64::NEG_INFINITY) {
                    self.v.pop();
                    self.h.pop();
                    self.z.pop();
                } else {
                    break;
                }
            }
            if self.v.is_empty() {
                s = f64::NEG_INFINITY;
            }
            self.v.push(q);
            self.h.push(hq);
            self.z.push(s);
        }
        self.z.push(f64::INFINITY);
    }

    /// Appends the distance at every query column of the row, left to right.
    fn read(&self, queries: &[bool], w: f64, out: &mut Vec<f64>) {
        let mut k = 0;
        for (x, &is_query) in queries.iter().enumerate() {
            if !is_query {
                continue;
            }
            let xf = x as f64;
            while self.z[k + 1] < xf {
                k += 1;
            }
            let dx = xf - self.v[k] as f64;
            out.push((w * dx * dx + self.h[k]).sqrt());
        }
    }
}
