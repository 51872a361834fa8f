//! Drawing charts with plotters, on any backend (bitmap or SVG).

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::chart::{Chart, Corner, RefLine};
use crate::clip::Bounds;
use crate::font::FAMILY;
use crate::series::{Series, SeriesStyle};

/// Font sizes in pixels: title, axis labels, tick values, legend.
const TITLE_SIZE: u32 = 24;
const AXIS_LABEL_SIZE: u32 = 18;
const TICK_SIZE: u32 = 15;
const LEGEND_SIZE: u32 = 16;
/// Line width, dot radius, and dash and gap lengths, in pixels.
const STROKE: u32 = 2;
const DOT: i32 = 3;
const DASH: (i32, i32) = (8, 5);
/// Length of a legend's line sample, in pixels.
const SAMPLE: i32 = 24;

type Ctx<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Fills `root` white and draws `charts` side by side on it.
pub(crate) fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    charts: &[Chart],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    for (area, chart) in root.split_evenly((1, charts.len())).iter().zip(charts) {
        draw_chart(area, chart)?;
    }
    root.present()
}

/// One chart: title, mesh with tick values, axis labels, series, reference lines, legend.
fn draw_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let (x, y) = chart.ranges();
    let bounds = Bounds { x, y };
    let mut ctx = ChartBuilder::on(area)
        .caption(&chart.title, (FAMILY, TITLE_SIZE))
        .margin(12)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style((FAMILY, AXIS_LABEL_SIZE))
        .label_style((FAMILY, TICK_SIZE))
        .x_labels(chart.x_ticks.unwrap_or(10))
        .y_labels(8)
        .x_label_formatter(&tick_text)
        .y_label_formatter(&tick_text)
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for series in &chart.series {
        draw_series(&mut ctx, series, bounds)?;
    }
    for line in &chart.hlines {
        let ends = [(x.0, line.at), (x.1, line.at)];
        draw_ref_line(&mut ctx, line, (y.0..=y.1).contains(&line.at), ends)?;
    }
    for line in &chart.vlines {
        let ends = [(line.at, y.0), (line.at, y.1)];
        draw_ref_line(&mut ctx, line, (x.0..=x.1).contains(&line.at), ends)?;
    }
    if chart.series.is_empty() && chart.hlines.is_empty() && chart.vlines.is_empty() {
        return Ok(());
    }
    ctx.configure_series_labels()
        .position(match chart.legend {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        })
        .label_font((FAMILY, LEGEND_SIZE))
        .legend_area_size(SAMPLE + 8)
        .margin(8)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
}

/// A tick value as short text: ten significant digits, no trailing zeros (`10`, `0.2`, `-2.5`).
fn tick_text(value: &f64) -> String {
    let rounded: f64 = format!("{value:.9e}").parse().unwrap_or(*value);
    if rounded == 0.0 {
        "0".to_string()
    } else {
        rounded.to_string()
    }
}

/// The style of lines in `colour`.
fn stroke(colour: RGBColor) -> ShapeStyle {
    colour.stroke_width(STROKE)
}

/// A series: its finite points clipped to `bounds`, and its legend entry.
fn draw_series<'a, DB: DrawingBackend + 'a>(
    ctx: &mut Ctx<'a, DB>,
    series: &Series,
    bounds: Bounds,
) -> DrawResult<DB> {
    let colour = series.colour.rgb();
    let (line, dot) = (stroke(colour), colour.filled());
    let runs = series.finite_runs();
    let lines: Vec<Vec<(f64, f64)>> = runs.iter().flat_map(|r| bounds.clip_polyline(r)).collect();
    let dots = || {
        runs.iter()
            .flatten()
            .copied()
            .filter(|&p| bounds.contains(p))
            .map(move |p| Circle::new(p, DOT, dot))
    };
    let name = series.name.as_str();
    match series.style {
        SeriesStyle::Line => {
            ctx.draw_series(lines.into_iter().map(|l| PathElement::new(l, line)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + SAMPLE, y)], line));
        }
        SeriesStyle::Dashed => {
            ctx.draw_series(
                lines
                    .into_iter()
                    .map(|l| DashedPathElement::new(l, DASH.0, DASH.1, line)),
            )?
            .label(name)
            .legend(move |(x, y)| {
                DashedPathElement::new([(x, y), (x + SAMPLE, y)], DASH.0, DASH.1, line)
            });
        }
        SeriesStyle::LineWithMarkers => {
            ctx.draw_series(lines.into_iter().map(|l| PathElement::new(l, line)))?;
            ctx.draw_series(dots())?.label(name).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new([(0, 0), (SAMPLE, 0)], line)
                    + Circle::new((SAMPLE / 2, 0), DOT, dot)
            });
        }
        SeriesStyle::Points => {
            ctx.draw_series(dots())?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + SAMPLE / 2, y), DOT, dot));
        }
    }
    Ok(())
}

/// A reference line from `ends[0]` to `ends[1]` (drawn only when `visible`) and its legend entry.
fn draw_ref_line<DB: DrawingBackend>(
    ctx: &mut Ctx<'_, DB>,
    line: &RefLine,
    visible: bool,
    ends: [(f64, f64); 2],
) -> DrawResult<DB> {
    let style = stroke(line.colour.rgb());
    let drawn = visible.then_some(ends);
    if line.dashed {
        ctx.draw_series(
            drawn
                .into_iter()
                .map(|e| DashedPathElement::new(e, DASH.0, DASH.1, style)),
        )?
        .label(line.label.as_str())
        .legend(move |(x, y)| {
            DashedPathElement::new([(x, y), (x + SAMPLE, y)], DASH.0, DASH.1, style)
        });
    } else {
        ctx.draw_series(drawn.into_iter().map(|e| PathElement::new(e, style)))?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + SAMPLE, y)], style));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tick_text;

    #[test]
    fn tick_values_are_short() {
        assert_eq!(tick_text(&10.0), "10");
        assert_eq!(tick_text(&0.30000000000000004), "0.3");
        assert_eq!(tick_text(&-2.5), "-2.5");
        assert_eq!(tick_text(&-0.0), "0");
        assert_eq!(tick_text(&1e-12), "0.000000000001");
    }
}
