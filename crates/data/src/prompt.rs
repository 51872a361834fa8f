//! Point prompts: training clicks a uniformly random pixel of the target structure, evaluation
//! the middle pixel in raster order of the target's pixels; when the structure is absent, one
//! background point (label 0) instead.

use crate::rng::Rng;

/// A point prompt in pixel coordinates (x right, y down) with its label (1 foreground, 0 background).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Column.
    pub x: f32,
    /// Row.
    pub y: f32,
    /// 1 on the structure, 0 on the background.
    pub label: i32,
}

fn point(index: usize, width: usize, label: i32) -> Point {
    Point {
        x: (index % width) as f32,
        y: (index / width) as f32,
        label,
    }
}

/// The pixels of `mask` (row-major, `width` wide) equal to `value`, in raster order.
fn pixels(mask: &[u8], value: u8) -> Vec<usize> {
    mask.iter()
        .enumerate()
        .filter(|(_, v)| **v == value)
        .map(|(i, _)| i)
        .collect()
}

/// A training click on binary `mask`: a random foreground pixel, or a random background pixel
/// with label 0 when the mask is empty.
pub fn train_point(mask: &[u8], width: usize, rng: &mut Rng) -> Point {
    let fg = pixels(mask, 1);
    if fg.is_empty() {
        let bg = pixels(mask, 0);
        return point(bg.get(rng.below(bg.len())).copied().unwrap_or(0), width, 0);
    }
    point(fg[rng.below(fg.len())], width, 1)
}

/// The evaluation click on binary `mask`: the middle foreground pixel in raster order, or the
/// middle background pixel with label 0 when the mask is empty.
pub fn eval_point(mask: &[u8], width: usize) -> Point {
    let fg = pixels(mask, 1);
    if fg.is_empty() {
        let bg = pixels(mask, 0);
        return point(bg.get(bg.len() / 2).copied().unwrap_or(0), width, 0);
    }
    point(fg[fg.len() / 2], width, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_takes_the_middle_pixel_in_raster_order() {
        // Foreground at (1,0), (3,0), (0,1), (2,1): raster order, middle index 2 -> (0, 1).
        let mask = [0, 1, 0, 1, 1, 0, 1, 0];
        assert_eq!(
            eval_point(&mask, 4),
            Point {
                x: 0.0,
                y: 1.0,
                label: 1
            }
        );
        let empty = [0u8; 8];
        assert_eq!(
            eval_point(&empty, 4),
            Point {
                x: 0.0,
                y: 1.0,
                label: 0
            }
        );
    }

    #[test]
    fn train_clicks_land_on_the_structure_or_background_when_absent() {
        let mask = [0, 1, 0, 1, 1, 0, 1, 0];
        let mut rng = Rng::new(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = train_point(&mask, 4, &mut rng);
            assert_eq!(p.label, 1);
            assert_eq!(mask[p.y as usize * 4 + p.x as usize], 1);
            seen.insert((p.x as u32, p.y as u32));
        }
        assert_eq!(seen.len(), 4);
        let p = train_point(&[0u8; 8], 4, &mut rng);
        assert_eq!(p.label, 0);
    }
}
