//! Boundary (surface) pixels as MONAI's `get_mask_edges` defines them.
//!
//! A boundary pixel is a foreground pixel whose binary erosion by the 4-connected cross is
//! background, i.e. a foreground pixel with a 4-neighbour that is background or lies outside
//! the image (`scipy.ndimage.binary_erosion(m) ^ m`, border value 0).

use crate::grid::BinaryMask;

/// Inclusive bounding box `[row0, row1] x [col0, col1]` of some pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoundingBox {
    pub row0: usize,
    pub row1: usize,
    pub col0: usize,
    pub col1: usize,
}

impl BoundingBox {
    /// Number of rows.
    pub fn height(&self) -> usize {
        self.row1 - self.row0 + 1
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.col1 - self.col0 + 1
    }
}

/// The bounding box of the foreground of `a | b`, `None` when both are empty.
pub(crate) fn union_bounding_box(a: &BinaryMask, b: &BinaryMask) -> Option<BoundingBox> {
    let width = a.width();
    let mut found: Option<BoundingBox> = None;
    let rows = a
        .data()
        .chunks_exact(width)
        .zip(b.data().chunks_exact(width));
    for (row, (ra, rb)) in rows.enumerate() {
        let first = ra.iter().zip(rb).position(|(&x, &y)| x | y);
        let Some(first) = first else { continue };
        let last = ra
            .iter()
            .zip(rb)
            .rposition(|(&x, &y)| x | y)
            .unwrap_or(first);
        found = Some(match found {
            None => BoundingBox {
                row0: row,
                row1: row,
                col0: first,
                col1: last,
            },
            Some(bb) => BoundingBox {
                row0: bb.row0,
                row1: row,
                col0: bb.col0.min(first),
                col1: bb.col1.max(last),
            },
        });
    }
    found
}

/// Boundary pixels of `mask` inside `bb`, as a row-major `bb.height() x bb.width()` grid.
///
/// `bb` must contain all foreground of `mask`, so pixels outside it are background.
pub(crate) fn boundary_in_box(mask: &BinaryMask, bb: &BoundingBox) -> Vec<bool> {
    let (h, w) = (bb.height(), bb.width());
    let full_w = mask.width();
    let data = mask.data();
    let row = |r: usize| &data[r * full_w + bb.col0..r * full_w + bb.col1 + 1];
    let mut out = vec![false; h * w];
    for r in 0..h {
        let cur = row(bb.row0 + r);
        let up = (r > 0).then(|| row(bb.row0 + r - 1));
        let down = (r + 1 < h).then(|| row(bb.row0 + r + 1));
        let dst = &mut out[r * w..(r + 1) * w];
        for c in 0..w {
            if !cur[c] {
                continue;
            }
            let left = c > 0 && cur[c - 1];
            let right = c + 1 < w && cur[c + 1];
            let above = up.is_some_and(|u| u[c]);
            let below = down.is_some_and(|d| d[c]);
            dst[c] = !(left && right && above && below);
        }
    }
    out
}

/// The boundary pixels of `mask` (MONAI's edges), same shape as `mask`.
pub fn boundary(mask: &BinaryMask) -> BinaryMask {
    let mut out = BinaryMask::empty(mask.height(), mask.width());
    if let Some(bb) = union_bounding_box(mask, mask) {
        let local = boundary_in_box(mask, &bb);
        for (i, &e) in local.iter().enumerate() {
            if e {
                out.set(bb.row0 + i / bb.width(), bb.col0 + i % bb.width(), true);
            }
        }
    }
    out
}
