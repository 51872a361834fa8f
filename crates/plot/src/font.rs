//! The embedded font: DejaVu Sans, registered once with plotters as `sans-serif`.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

/// The family every text of a figure uses (also the SVG `font-family`).
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans under [`FAMILY`] on the first call; whether it is usable.
pub(crate) fn ensure_registered() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED
        .get_or_init(|| register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok())
}
