//! Polygon filling with the semantics of `skimage.draw.polygon`, which EchoNet-Dynamic's code uses
//! to rasterise its tracings: a pixel is set when its centre is inside the polygon, on one of its
//! edges or on a vertex (crossing-number test of Hormann and Agathos, 2001).

/// Where a point lies relative to a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Outside,
    Inside,
    Boundary,
}

/// The position of `(x, y)` relative to the closed polygon `xs`, `ys`.
fn position(xs: &[f64], ys: &[f64], x: f64, y: f64) -> Position {
    const EPS: f64 = 1e-12;
    let n = xs.len();
    let (mut x1, mut y1) = (xs[n - 1] - x, ys[n - 1] - y);
    let (mut right, mut left) = (0u32, 0u32);
    for i in 0..n {
        let (x0, y0) = (xs[i] - x, ys[i] - y);
        if x0.abs() < EPS && y0.abs() < EPS {
            return Position::Boundary;
        }
        if (y0 > 0.0) != (y1 > 0.0) && (x0 * y1 - x1 * y0) / (y1 - y0) > 0.0 {
            right += 1;
        }
        if (y0 < 0.0) != (y1 < 0.0) && (x0 * y1 - x1 * y0) / (y1 - y0) < 0.0 {
            left += 1;
        }
        (x1, y1) = (x0, y0);
    }
    if (right + left) % 2 == 1 {
        Position::Boundary
    } else if right % 2 == 1 {
        Position::Inside
    } else {
        Position::Outside
    }
}

/// A `width` x `height` row-major mask with 1 on every pixel inside or on the polygon whose
/// vertices are `(cols[i], rows[i])` (pixel centres at whole coordinates), 0 elsewhere.
pub fn fill(rows: &[f64], cols: &[f64], width: usize, height: usize) -> Vec<u8> {
    let mut mask = vec![0u8; width * height];
    if rows.is_empty() || rows.len() != cols.len() || width == 0 || height == 0 {
        return mask;
    }
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min).max(0.0);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil();
    let (r0, r1) = (lo(rows) as usize, hi(rows).min(height as f64 - 1.0));
    let (c0, c1) = (lo(cols) as usize, hi(cols).min(width as f64 - 1.0));
    if r1 < 0.0 || c1 < 0.0 {
        return mask;
    }
    for r in r0..=r1 as usize {
        for c in c0..=c1 as usize {
            if position(cols, rows, c as f64, r as f64) != Position::Outside {
                mask[r * width + c] = 1;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_includes_its_boundary_and_clips_to_the_image() {
        // skimage.draw.polygon([1, 1, 3, 3], [1, 3, 3, 1], (5, 5)) sets rows 1..=3, cols 1..=3.
        let m = fill(&[1.0, 1.0, 3.0, 3.0], &[1.0, 3.0, 3.0, 1.0], 5, 5);
        for r in 0..5 {
            for c in 0..5 {
                let inside = (1..=3).contains(&r) && (1..=3).contains(&c);
                assert_eq!(m[r * 5 + c], inside as u8, "{r} {c}");
            }
        }
        let m = fill(&[-2.0, -2.0, 9.0], &[-2.0, 9.0, -2.0], 4, 3);
        assert_eq!(m.iter().filter(|&&v| v == 1).count(), 12);
    }

    #[test]
    fn triangle_edges_and_vertices_count_as_inside() {
        let m = fill(&[0.0, 4.0, 4.0], &[0.0, 0.0, 4.0], 5, 5);
        // Lower-left triangle: pixel (r, c) is set when c <= r.
        for r in 0..5 {
            for c in 0..5 {
                assert_eq!(m[r * 5 + c], (c <= r) as u8, "{r} {c}");
            }
        }
    }
}
