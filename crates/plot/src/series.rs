//! A named set of points and how to draw it.

use crate::Colour;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid line through the points; a non-finite point breaks the line.
    Line,
    /// A solid line with a dot at each point (a lone point stays visible).
    LineWithMarkers,
    /// A dashed line through the points; a non-finite point breaks the line.
    Dashed,
    /// A dot at each point, no line.
    Points,
}

/// A named set of `(x, y)` points, listed in the chart's legend under its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// The points, in drawing order; NaN and infinite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// How the points are drawn.
    pub style: SeriesStyle,
    /// The colour of line and dots.
    pub colour: Colour,
}

impl Series {
    /// A series named `name` drawn in `style` and `colour`.
    pub fn new(
        name: impl Into<String>,
        points: Vec<(f64, f64)>,
        style: SeriesStyle,
        colour: Colour,
    ) -> Self {
        Self {
            name: name.into(),
            points,
            style,
            colour,
        }
    }

    /// The points whose two coordinates are finite, in order, split into runs at the others.
    pub(crate) fn finite_runs(&self) -> Vec<Vec<(f64, f64)>> {
        self.points
            .split(|&(x, y)| !(x.is_finite() && y.is_finite()))
            .filter(|run| !run.is_empty())
            .map(<[(f64, f64)]>::to_vec)
            .collect()
    }
}
