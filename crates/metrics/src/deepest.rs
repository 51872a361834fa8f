//! The point deepest inside a mask: the foreground pixel farthest from the background, the image
//! border counting as background. A click there lies in the structure's own body: inside the
//! wall for the myocardium's ring, never in the cavity it surrounds.

use crate::edt::query_distances;
use crate::grid::BinaryMask;

/// The deepest foreground pixel of `mask` as `(row, col, distance in pixels)` (the first in
/// raster order among equals), `None` for an empty mask.
pub fn deepest_point(mask: &BinaryMask) -> Option<(usize, usize, f64)> {
    let (h, w) = (mask.height(), mask.width());
    // One pixel of background around the image: the border counts as background.
    let (ph, pw) = (h + 2, w + 2);
    let mut padded = vec![false; ph * pw];
    for r in 0..h {
        for c in 0..w {
            padded[(r + 1) * pw + c + 1] = mask.get(r, c);
        }
    }
    let background: Vec<bool> = padded.iter().map(|&v| !v).collect();
    let distances = query_distances(&background, &padded, ph, pw, (1.0, 1.0))?;
    // `distances` follows the foreground pixels in raster order.
    let foreground = padded
        .iter()
        .enumerate()
        .filter(|(_, v)| **v)
        .map(|(i, _)| (i / pw - 1, i % pw - 1));
    foreground.zip(distances).fold(
        None,
        |best: Option<(usize, usize, f64)>, ((r, c), d)| match best {
            Some(b) if b.2 >= d => Some(b),
            _ => Some((r, c, d)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(side: usize, outer: f64, inner: f64) -> BinaryMask {
        let mut m = BinaryMask::empty(side, side);
        let c = (side as f64 - 1.0) / 2.0;
        for r in 0..side {
            for k in 0..side {
                let d = ((r as f64 - c).powi(2) + (k as f64 - c).powi(2)).sqrt();
                m.set(r, k, d <= outer && d >= inner);
            }
        }
        m
    }

    #[test]
    fn a_disc_is_deepest_at_its_centre_and_a_ring_in_its_wall() {
        let (r, c, d) = deepest_point(&ring(41, 15.0, 0.0)).unwrap();
        assert_eq!((r, c), (20, 20));
        assert!((d - 16.0).abs() < 1.01, "{d}");
        // A ring 15..9: the deepest point lies mid-wall, 12 from the centre, not in the hole.
        let (r, c, _) = deepest_point(&ring(41, 15.0, 9.0)).unwrap();
        let from_centre = ((r as f64 - 20.0).powi(2) + (c as f64 - 20.0).powi(2)).sqrt();
        assert!((from_centre - 12.0).abs() <= 1.5, "{from_centre}");
    }

    #[test]
    fn the_border_counts_as_background_and_empty_has_no_point() {
        let full = BinaryMask::new(3, 5, vec![true; 15]).unwrap();
        // Row 1 is 2 pixels from the border above and below; the first of its ties wins.
        assert_eq!(deepest_point(&full), Some((1, 1, 2.0)));
        assert!(deepest_point(&BinaryMask::empty(4, 4)).is_none());
    }
}
