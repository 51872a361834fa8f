//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, linear time), anisotropic.
//!
//! The transform is separable: a pass along axis 0 finds, per column, the row distance to the
//! nearest feature; a pass along axis 1 takes, per row, the lower envelope of the parabolas
//! `s1^2 (x - q)^2 + g(q)` and reads it at the query pixels only. A row with at most
//! [`SPARSE_ROW`] query pixels skips the envelope: each query scans outwards along the row and
//! stops once the horizontal distance alone exceeds the best found, which is exact, is at most
//! `SPARSE_ROW` times the row length, and keeps the whole transform linear in the pixel count.

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
        let n_queries = q_row.iter().filter(|&&q| q).count();
        if n_queries == 0 {
            continue;
        }
        let g_row = &col_dist[r * width..(r + 1) * width];
        if n_queries <= SPARSE_ROW {
            scan_row(g_row, q_row, s0, w, &mut out);
        } else {
            envelope.build(g_row, s0, w);
            envelope.read(q_row, w, &mut out);
        }
    }
    Some(out)
}

/// Rows with at most this many query pixels are answered by an outward scan.
const SPARSE_ROW: usize = 32;

/// Appends the distance at every query column of one row by scanning outwards from it.
fn scan_row(g: &[u32], queries: &[bool], s0: f64, w: f64, out: &mut Vec<f64>) {
    let height_sq = |c: usize| {
        let gc = g[c];
        if gc == NONE {
            f64::INFINITY
        } else {
            let dy = f64::from(gc) * s0;
            dy * dy
        }
    };
    for (x, _) in queries.iter().enumerate().filter(|(_, q)| **q) {
        let mut best = height_sq(x);
        let mut dx = 1;
        loop {
            let dxf = dx as f64;
            let horizontal = w * dxf * dxf;
            let (left, right) = (x >= dx, x + dx < g.len());
            if horizontal >= best || !(left || right) {
                break;
            }
            if left {
                best = best.min(horizontal + height_sq(x - dx));
            }
            if right {
                best = best.min(horizontal + height_sq(x + dx));
            }
            dx += 1;
        }
        out.push(best.sqrt());
    }
}

/// Marks a column without any feature pixel.
const NONE: u32 = u32::MAX;

/// Per pixel, the number of rows to the nearest feature pixel in the same column.
fn column_distances(features: &[bool], height: usize, width: usize) -> Vec<u32> {
    let mut d = vec![NONE; height * width];
    for (dst, &f) in d[..width].iter_mut().zip(&features[..width]) {
        *dst = if f { 0 } else { NONE };
    }
    for r in 1..height {
        let (done, rest) = d.split_at_mut(r * width);
        let prev = &done[(r - 1) * width..];
        let feat = &features[r * width..(r + 1) * width];
        for ((dst, &p), &f) in rest[..width].iter_mut().zip(prev).zip(feat) {
            *dst = if f { 0 } else { p.saturating_add(1) };
        }
    }
    for r in (0..height.saturating_sub(1)).rev() {
        let (head, tail) = d.split_at_mut((r + 1) * width);
        for (dst, &n) in head[r * width..].iter_mut().zip(&tail[..width]) {
            *dst = (*dst).min(n.saturating_add(1));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random grid with about `density` of its pixels set.
    fn grid(seed: u64, n: usize, density: f64) -> Vec<bool> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f64 / (1u64 << 31) as f64) < density
            })
            .collect()
    }

    fn brute_force(f: &[bool], q: &[bool], w: usize, s: (f64, f64)) -> Vec<f64> {
        let points = |g: &[bool]| -> Vec<(f64, f64)> {
            let set = g.iter().enumerate().filter(|(_, v)| **v);
            set.map(|(i, _)| ((i / w) as f64 * s.0, (i % w) as f64 * s.1))
                .collect()
        };
        let feats = points(f);
        points(q)
            .iter()
            .map(|&(y, x)| {
                let d2 = feats
                    .iter()
                    .map(|&(fy, fx)| (y - fy).powi(2) + (x - fx).powi(2));
                d2.fold(f64::INFINITY, f64::min).sqrt()
            })
            .collect()
    }

    #[test]
    fn sparse_and_dense_rows_match_brute_force() {
        let cases = [
            (40, 70, 0.02, 0.6, (1.0, 1.0)),
            (33, 90, 0.005, 0.05, (0.3, 1.7)),
        ];
        let more = [
            (64, 64, 0.1, 0.9, (2.5, 0.4)),
            (1, 50, 0.1, 0.9, (1.0, 1.0)),
        ];
        for (seed, &(h, w, fd, qd, s)) in cases.iter().chain(&more).enumerate() {
            let f = grid(seed as u64 + 1, h * w, fd);
            let q = grid(seed as u64 + 100, h * w, qd);
            let dense = q
                .chunks(w)
                .any(|r| r.iter().filter(|&&v| v).count() > SPARSE_ROW);
            let sparse = q
                .chunks(w)
                .any(|r| (1..=SPARSE_ROW).contains(&r.iter().filter(|&&v| v).count()));
            assert!(
                dense || h == 1 || seed == 1,
                "case {seed} exercises no dense row"
            );
            assert!(sparse || seed != 1, "case {seed} exercises no sparse row");
            let got = query_distances(&f, &q, h, w, s).unwrap();
            let want = brute_force(&f, &q, w, s);
            assert_eq!(got.len(), want.len());
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (g - e).abs() <= 1e-12 * e.max(1.0),
                    "case {seed}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn envelope_and_scan_agree_on_every_row() {
        let (h, w, s0, w2) = (30, 80, 0.7, 1.3f64.powi(2));
        let f = grid(7, h * w, 0.03);
        let q = vec![true; w];
        let g = column_distances(&f, h, w);
        let mut env = Envelope::with_capacity(w);
        for r in 0..h {
            let row = &g[r * w..(r + 1) * w];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            env.build(row, s0, w2);
            env.read(&q, w2, &mut a);
            scan_row(row, &q, s0, w2, &mut b);
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-12 * x.max(1.0), "row {r}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn no_feature_gives_none() {
        assert!(query_distances(&[false; 6], &[true; 6], 2, 3, (1.0, 1.0)).is_none());
    }
}
