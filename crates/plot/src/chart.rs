//! One panel: title, axes, series, reference lines and legend.

use crate::{Colour, Series};

/// A horizontal or vertical reference line, listed in the legend under its label.
#[derive(Debug, Clone, PartialEq)]
pub struct RefLine {
    /// Where the line crosses its axis (y of a horizontal line, x of a vertical one).
    pub at: f64,
    /// The legend entry.
    pub label: String,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// The line's colour.
    pub colour: Colour,
}

impl RefLine {
    /// A solid dark-grey line at `at`, labelled `label`.
    pub fn new(at: f64, label: impl Into<String>) -> Self {
        Self {
            at,
            label: label.into(),
            dashed: false,
            colour: Colour::GREY,
        }
    }

    /// The same line, dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// The same line in `colour`.
    pub fn with_colour(mut self, colour: Colour) -> Self {
        self.colour = colour;
        self
    }
}

/// The corner of the plotting area that holds the legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right.
    #[default]
    UpperRight,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

/// One panel of a figure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// The title above the panel.
    pub title: String,
    /// The x-axis label, with its unit.
    pub x_label: String,
    /// The y-axis label, with its unit.
    pub y_label: String,
    /// The data, drawn in order.
    pub series: Vec<Series>,
    /// Horizontal reference lines (y values).
    pub hlines: Vec<RefLine>,
    /// Vertical reference lines (x values).
    pub vlines: Vec<RefLine>,
    /// The x-axis range; `None`: the finite data and vertical lines, with a margin.
    pub x_range: Option<(f64, f64)>,
    /// The y-axis range; `None`: the finite data and horizontal lines, with a margin.
    pub y_range: Option<(f64, f64)>,
    /// The most tick values on the x axis (fewer keep integer data, such as epochs, on
    /// integer ticks); `None`: 10.
    pub x_ticks: Option<usize>,
    /// Where the legend goes.
    pub legend: Corner,
}

/// The share of the data's span added on each side of an automatic range.
const MARGIN: f64 = 0.05;

impl Chart {
    /// An empty chart with a title and axis labels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    /// The chart with `series` added.
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// The chart with a horizontal reference line added.
    pub fn with_hline(mut self, line: RefLine) -> Self {
        self.hlines.push(line);
        self
    }

    /// The chart with a vertical reference line added.
    pub fn with_vline(mut self, line: RefLine) -> Self {
        self.vlines.push(line);
        self
    }

    /// The chart with a fixed x-axis range.
    pub fn with_x_range(mut self, min: f64, max: f64) -> Self {
        self.x_range = Some((min, max));
        self
    }

    /// The chart with a fixed y-axis range.
    pub fn with_y_range(mut self, min: f64, max: f64) -> Self {
        self.y_range = Some((min, max));
        self
    }

    /// The chart with at most `count` tick values on the x axis.
    pub fn with_x_ticks(mut self, count: usize) -> Self {
        self.x_ticks = Some(count);
        self
    }

    /// The chart with its legend in `corner`.
    pub fn with_legend(mut self, corner: Corner) -> Self {
        self.legend = corner;
        self
    }

    /// The x and y ranges drawn: the given ones when usable, else automatic.
    pub(crate) fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let finite = || {
            self.series
                .iter()
                .flat_map(|s| &s.points)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        };
        let x = self.x_range.and_then(usable).unwrap_or_else(|| {
            auto_range(
                finite()
                    .map(|p| p.0)
                    .chain(self.vlines.iter().map(|l| l.at)),
            )
        });
        let y = self.y_range.and_then(usable).unwrap_or_else(|| {
            auto_range(
                finite()
                    .map(|p| p.1)
                    .chain(self.hlines.iter().map(|l| l.at)),
            )
        });
        (x, y)
    }
}

/// `range` when finite and increasing.
fn usable((min, max): (f64, f64)) -> Option<(f64, f64)> {
    (min.is_finite() && max.is_finite() && min < max).then_some((min, max))
}

/// The span of the finite `values` widened by [`MARGIN`] on each side; 0 to 1 without any;
/// a tenth of a single value (at least 1) either side of it.
fn auto_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if min > max {
        return (0.0, 1.0);
    }
    let span = max - min;
    if !span.is_finite() {
        return (min, max);
    }
    if span > 0.0 {
        return (min - MARGIN * span, max + MARGIN * span);
    }
    let pad = if min.abs() >= 10.0 {
        0.1 * min.abs()
    } else {
        1.0
    };
    (min - pad, max + pad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeriesStyle;

    #[test]
    fn automatic_ranges_cover_the_data_and_reference_lines_with_a_margin() {
        let chart = Chart::new("t", "x", "y")
            .with_series(Series::new(
                "s",
                vec![
                    (0.0, 1.0),
                    (10.0, f64::NAN),
                    (f64::INFINITY, 5.0),
                    (4.0, 3.0),
                ],
                SeriesStyle::Line,
                Colour::BLACK,
            ))
            .with_hline(RefLine::new(-1.0, "low"));
        let ((x0, x1), (y0, y1)) = chart.ranges();
        assert!(
            (x0 + 0.2).abs() < 1e-12 && (x1 - 4.2).abs() < 1e-12,
            "{x0} {x1}"
        );
        assert!(
            (y0 + 1.2).abs() < 1e-12 && (y1 - 3.2).abs() < 1e-12,
            "{y0} {y1}"
        );
    }

    #[test]
    fn degenerate_ranges_are_widened_and_bad_fixed_ranges_ignored() {
        assert_eq!(auto_range(std::iter::empty()), (0.0, 1.0));
        assert_eq!(auto_range([0.0].into_iter()), (-1.0, 1.0));
        assert_eq!(auto_range([5.0, 5.0].into_iter()), (4.0, 6.0));
        assert_eq!(auto_range([50.0].into_iter()), (45.0, 55.0));
        let chart = Chart::new("t", "x", "y")
            .with_x_range(1.0, 1.0)
            .with_y_range(0.0, 1.0);
        assert_eq!(chart.ranges(), ((0.0, 1.0), (0.0, 1.0)));
    }
}
