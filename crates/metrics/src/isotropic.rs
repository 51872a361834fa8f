//! Nearest-neighbour resampling of a mask to square pixels, as the CAMUS organisers' script does
//! it (PIL's `resize(..., NEAREST)` to `round(size * spacing / min(spacing))` pixels per axis).

use crate::grid::BinaryMask;
use crate::spacing::Spacing;

/// `mask` resampled so that both axes have the smaller of the two spacings, and that spacing.
pub fn isotropic(mask: &BinaryMask, spacing: Spacing) -> (BinaryMask, f64) {
    let iso = spacing.axis0.min(spacing.axis1);
    let rows = (mask.height() as f64 * (spacing.axis0 / iso)).round_ties_even() as usize;
    let cols = (mask.width() as f64 * (spacing.axis1 / iso)).round_ties_even() as usize;
    if rows == mask.height() && cols == mask.width() {
        return (mask.clone(), iso);
    }
    let row_src = source_indices(mask.height(), rows);
    let col_src = source_indices(mask.width(), cols);
    let mut out = BinaryMask::empty(rows, cols);
    for (r, &sr) in row_src.iter().enumerate() {
        for (c, &sc) in col_src.iter().enumerate() {
            out.set(r, c, mask.get(sr, sc));
        }
    }
    (out, iso)
}

/// PIL's nearest-neighbour source index of each of `to` output pixels: `floor((i + 0.5) * r)`
/// with `r = from / to`, accumulated as PIL accumulates it (`x += r` from `r / 2`), which at
/// exact integers can fall one pixel lower than the direct product.
fn source_indices(from: usize, to: usize) -> Vec<usize> {
    let ratio = from as f64 / to as f64;
    let mut x = ratio * 0.5;
    (0..to)
        .map(|_| {
            let i = (x.floor().max(0.0) as usize).min(from.saturating_sub(1));
            x += ratio;
            i
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_pixels_pil_picks() {
        // PIL: Image.fromarray(np.arange(244)[None]).resize((366, 1), NEAREST)[:8]
        assert_eq!(source_indices(244, 366)[..8], [0, 1, 1, 2, 2, 3, 4, 5]);
    }

    #[test]
    fn stretches_the_coarse_axis() {
        // Rows 0.4 mm, columns 0.2 mm: every row becomes two, as PIL's NEAREST gives it.
        let mask = BinaryMask::new(2, 3, vec![true, false, true, false, true, false]).unwrap();
        let (out, iso) = isotropic(&mask, Spacing::new(0.4, 0.2).unwrap());
        assert_eq!(iso, 0.2);
        assert_eq!(out.shape(), [4, 3]);
        assert_eq!(
            out.data(),
            &[
                true, false, true, true, false, true, false, true, false, false, true, false
            ]
        );
    }
}
