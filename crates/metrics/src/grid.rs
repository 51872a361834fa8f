//! Binary masks and label maps: row-major 2-D grids.

use crate::error::{MetricsError, Result};

/// A row-major 2-D grid of `height` rows of `width` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid<T> {
    height: usize,
    width: usize,
    data: Vec<T>,
}

/// A binary mask, row-major, `height` rows of `width` pixels.
pub type BinaryMask = Grid<bool>;

/// A label map (0 background, 1 LV, 2 MYO, 3 LA, or any other integer labels), row-major.
pub type LabelMap = Grid<u32>;

impl<T> Grid<T> {
    /// A grid from row-major values; fails when `data.len() != height * width`.
    pub fn new(height: usize, width: usize, data: Vec<T>) -> Result<Self> {
        check_len(height, width, data.len())?;
        Ok(Self {
            height,
            width,
            data,
        })
    }

    /// Number of rows (array axis 0).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of columns (array axis 1).
    pub fn width(&self) -> usize {
        self.width
    }

    /// `[height, width]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.height, self.width]
    }

    /// The values, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }
}

impl Grid<bool> {
    /// An all-background mask.
    pub fn empty(height: usize, width: usize) -> Self {
        Self {
            height,
            width,
            data: vec![false; height * width],
        }
    }

    /// Whether the pixel at `(row, col)` is foreground; out of range is background.
    pub fn get(&self, row: usize, col: usize) -> bool {
        row < self.height && col < self.width && self.data[row * self.width + col]
    }

    /// Sets the pixel at `(row, col)`; out of range is ignored.
    pub fn set(&mut self, row: usize, col: usize, value: bool) {
        if row < self.height && col < self.width {
            self.data[row * self.width + col] = value;
        }
    }

    /// Number of foreground pixels.
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v).count()
    }

    /// A mask drawn as text rows, `#` foreground (for tests).
    #[cfg(test)]
    pub(crate) fn from_rows(rows: &[&str]) -> Self {
        let data = rows
            .iter()
            .flat_map(|r| r.chars().map(|c| c == '#'))
            .collect();
        Self {
            height: rows.len(),
            width: rows.first().map_or(0, |r| r.len()),
            data,
        }
    }
}

impl Grid<u32> {
    /// The binary mask `self == label`.
    pub fn mask(&self, label: u32) -> BinaryMask {
        BinaryMask {
            height: self.height,
            width: self.width,
            data: self.data.iter().map(|&v| v == label).collect(),
        }
    }

    /// The sorted distinct non-zero labels present.
    pub fn labels(&self) -> Vec<u32> {
        let mut seen = std::collections::BTreeSet::new();
        let mut last = 0;
        for &v in &self.data {
            if v != last {
                last = v;
                if v != 0 {
                    seen.insert(v);
                }
            }
        }
        seen.into_iter().collect()
    }
}

fn check_len(height: usize, width: usize, got: usize) -> Result<()> {
    let expected = height.saturating_mul(width);
    if expected == got {
        Ok(())
    } else {
        Err(MetricsError::BufferLength {
            height,
            width,
            expected,
            got,
        })
    }
}
