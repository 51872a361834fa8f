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
        let Some(first) = first_set(ra, rb) else {
            continue;
        };
        let last = last_set(ra, rb).unwrap_or(first);
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

/// Pixels tested together by the bounding-box scan (a branch-free OR per block).
const BLOCK: usize = 32;

fn any_set(a: &[bool], b: &[bool]) -> bool {
    a.iter().zip(b).fold(false, |acc, (&x, &y)| acc | x | y)
}

/// The first index where `a | b` is set.
fn first_set(a: &[bool], b: &[bool]) -> Option<usize> {
    let blocks = a.chunks(BLOCK).zip(b.chunks(BLOCK));
    for (i, (ca, cb)) in blocks.enumerate() {
        if any_set(ca, cb) {
            return ca
                .iter()
                .zip(cb)
                .position(|(&x, &y)| x | y)
                .map(|p| i * BLOCK + p);
        }
    }
    None
}

/// The last index where `a | b` is set.
fn last_set(a: &[bool], b: &[bool]) -> Option<usize> {
    let n = a.len();
    let blocks = a.rchunks(BLOCK).zip(b.rchunks(BLOCK));
    for (i, (ca, cb)) in blocks.enumerate() {
        if any_set(ca, cb) {
            let start = n.saturating_sub((i + 1) * BLOCK);
            return ca
                .iter()
                .zip(cb)
                .rposition(|(&x, &y)| x | y)
                .map(|p| start + p);
        }
    }
    None
}

/// Boundary pixels of `mask` inside `bb`, as a row-major `bb.height() x bb.width()` grid.
///
/// `bb` must contain all foreground of `mask`, so pixels outside it are background.
pub(crate) fn boundary_in_box(mask: &BinaryMask, bb: &BoundingBox) -> Vec<bool> {
    let (h, w) = (bb.height(), bb.width());
    let full_w = mask.width();
    let data = mask.data();
    let row = |r: usize| &data[r * full_w + bb.col0..r * full_w + bb.col1 + 1];
    let background = vec![false; w];
    let mut out = vec![false; h * w];
    for r in 0..h {
        let cur = row(bb.row0 + r);
        let up = if r > 0 {
            row(bb.row0 + r - 1)
        } else {
            &background
        };
        let down = if r + 1 < h {
            row(bb.row0 + r + 1)
        } else {
            &background
        };
        let dst = &mut out[r * w..(r + 1) * w];
        dst[0] = cur[0];
        dst[w - 1] = cur[w - 1];
        if w > 2 {
            let interior = dst[1..w - 1].iter_mut().zip(&cur[1..w - 1]);
            let neighbours = cur[..w - 2]
                .iter()
                .zip(&cur[2..])
                .zip(&up[1..w - 1])
                .zip(&down[1..w - 1]);
            for ((d, &c), (((&l, &rt), &u), &dn)) in interior.zip(neighbours) {
                *d = c & !(l & rt & u & dn);
            }
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
