//! Readable figures for EchoONE: each chart has a title, labelled axes with tick values, and a
//! legend naming every series and reference line; a [`Figure`] puts charts side by side and
//! writes them as PNG and SVG.
//!
//! Text is drawn with plotters' `ab_glyph` renderer and DejaVu Sans embedded in the binary (the
//! `dejavu` crate), so a PNG needs no system font; the SVG names the `sans-serif` family.
//!
//! ```no_run
//! use echoone_plot::{Chart, Colour, Figure, RefLine, Series, SeriesStyle};
//!
//! let chart = Chart::new("Bland-Altman plot of EF", "mean EF (%)", "difference in EF (%)")
//!     .with_series(Series::new(
//!         "patients",
//!         vec![(55.0, 1.5), (60.0, -2.0)],
//!         SeriesStyle::Points,
//!         Colour::palette(0),
//!     ))
//!     .with_hline(RefLine::new(-0.25, "mean difference -0.3"))
//!     .with_hline(RefLine::new(4.6, "+1.96 SD 4.6").dashed())
//!     .with_hline(RefLine::new(-5.1, "-1.96 SD -5.1").dashed());
//! Figure::new(vec![chart]).write("bland_altman.png".as_ref())?;
//! # Ok::<(), echoone_plot::PlotError>(())
//! ```

mod chart;
mod clip;
mod colour;
mod draw;
mod error;
mod figure;
mod font;
mod series;

pub use chart::{Chart, Corner, RefLine};
pub use colour::{Colour, PALETTE};
pub use error::{PlotError, Result};
pub use figure::{Figure, Written};
pub use series::{Series, SeriesStyle};
