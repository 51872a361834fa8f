//! Clipping of polylines to the plotting area (plotters draws past the axes otherwise).

/// An axis-aligned rectangle in data coordinates: `(x0, x1)`, `(y0, y1)`, each increasing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    /// The x range.
    pub x: (f64, f64),
    /// The y range.
    pub y: (f64, f64),
}

impl Bounds {
    /// Whether `p` lies inside or on the border.
    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        self.x.0 <= x && x <= self.x.1 && self.y.0 <= y && y <= self.y.1
    }

    /// The part of the segment `a`-`b` inside the rectangle (Liang-Barsky), if any; an end
    /// inside is returned exactly.
    fn clip_segment(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for (p, q) in [
            (-dx, a.0 - self.x.0),
            (dx, self.x.1 - a.0),
            (-dy, a.1 - self.y.0),
            (dy, self.y.1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else if p < 0.0 {
                t0 = t0.max(q / p);
            } else {
                t1 = t1.min(q / p);
            }
        }
        let at = |t: f64| {
            if t <= 0.0 {
                a
            } else if t >= 1.0 {
                b
            } else {
                (a.0 + t * dx, a.1 + t * dy)
            }
        };
        (t0 <= t1).then(|| (at(t0), at(t1)))
    }

    /// The parts of the polyline `run` inside the rectangle, as polylines of two or more points.
    pub fn clip_polyline(&self, run: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut joined = false;
        for pair in run.windows(2) {
            match self.clip_segment(pair[0], pair[1]) {
                Some((p, q)) => {
                    match out.last_mut() {
                        Some(line) if joined => line.push(q),
                        _ => out.push(vec![p, q]),
                    }
                    // The next segment continues this line only if this one ends uncut.
                    joined = q == pair[1];
                }
                None => joined = false,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Bounds = Bounds {
        x: (0.0, 1.0),
        y: (0.0, 1.0),
    };

    #[test]
    fn a_polyline_inside_is_kept_whole() {
        let run = [(0.0, 0.0), (0.5, 0.5), (1.0, 0.2)];
        assert_eq!(UNIT.clip_polyline(&run), vec![run.to_vec()]);
    }

    #[test]
    fn a_polyline_leaving_and_reentering_is_split_at_the_border() {
        let run = [(0.0, 0.5), (0.5, 1.5), (1.0, 0.5)];
        assert_eq!(
            UNIT.clip_polyline(&run),
            vec![vec![(0.0, 0.5), (0.25, 1.0)], vec![(0.75, 1.0), (1.0, 0.5)]]
        );
        assert!(UNIT.clip_polyline(&[(2.0, 2.0), (3.0, 3.0)]).is_empty());
        assert!(UNIT.clip_polyline(&[(0.5, 0.5)]).is_empty());
    }
}
