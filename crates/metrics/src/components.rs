//! Clean-up of a predicted mask before it is measured: its largest connected component with the
//! holes filled. A stray speck above the apex would otherwise be the contour the method of discs
//! measures, and a hole would stop a disc's diameter half-way.

use crate::grid::BinaryMask;

/// The largest 4-connected foreground component of `mask` (the first in raster order among
/// equals), with every background region that does not reach the image border filled.
pub fn largest_component_filled(mask: &BinaryMask) -> BinaryMask {
    let (h, w) = (mask.height(), mask.width());
    let fg = components(mask.data(), h, w, true);
    let mut keep = BinaryMask::empty(h, w);
    let Some(largest) = fg
        .sizes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
    else {
        return keep;
    };
    let keep_id = largest.0;
    let kept: Vec<bool> = fg.ids.iter().map(|&id| id == Some(keep_id)).collect();
    // Background regions of the kept component that touch no border are its holes.
    let bg = components(&kept, h, w, false);
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let hole = bg.ids[i].is_some_and(|id| !bg.border[id]);
            keep.set(r, c, kept[i] || hole);
        }
    }
    keep
}

/// Connected components (4-connectivity) of the pixels equal to `value`.
struct Components {
    /// Component of each pixel (`None` for the other value).
    ids: Vec<Option<usize>>,
    /// Pixels per component.
    sizes: Vec<usize>,
    /// Whether a component touches the image border.
    border: Vec<bool>,
}

fn components(data: &[bool], h: usize, w: usize, value: bool) -> Components {
    let mut ids = vec![None; data.len()];
    let (mut sizes, mut border) = (Vec::new(), Vec::new());
    let mut stack = Vec::new();
    for start in 0..data.len() {
        if data[start] != value || ids[start].is_some() {
            continue;
        }
        let id = sizes.len();
        let (mut size, mut edge) = (0, false);
        ids[start] = Some(id);
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (r, c) = (i / w, i % w);
            edge |= r == 0 || c == 0 || r + 1 == h || c + 1 == w;
            let mut visit = |j: usize| {
                if data[j] == value && ids[j].is_none() {
                    ids[j] = Some(id);
                    stack.push(j);
                }
            };
            if r > 0 {
                visit(i - w);
            }
            if r + 1 < h {
                visit(i + w);
            }
            if c > 0 {
                visit(i - 1);
            }
            if c + 1 < w {
                visit(i + 1);
            }
        }
        sizes.push(size);
        border.push(edge);
    }
    Components { ids, sizes, border }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> BinaryMask {
        BinaryMask::from_rows(rows)
    }

    #[test]
    fn keeps_the_largest_blob_and_fills_its_holes() {
        let got = largest_component_filled(&mask(&[
            "#.......", "..#####.", "..#..##.", "..#####.", "........", "......#.",
        ]));
        let want = mask(&[
            "........", "..#####.", "..#####.", "..#####.", "........", "........",
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_bay_open_to_the_border_is_not_a_hole_and_empty_stays_empty() {
        let m = mask(&["###", "#..", "###"]);
        assert_eq!(largest_component_filled(&m), m);
        let e = BinaryMask::empty(3, 3);
        assert_eq!(largest_component_filled(&e), e);
    }
}
