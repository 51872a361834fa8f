//! Colours: the Okabe-Ito palette, distinguishable with the common colour-vision deficiencies.

use plotters::style::RGBColor;

/// An opaque RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour(pub u8, pub u8, pub u8);

/// The Okabe-Ito palette, ordered for white backgrounds (yellow, the faintest, last).
pub const PALETTE: [Colour; 8] = [
    Colour(0, 114, 178),   // blue
    Colour(213, 94, 0),    // vermillion
    Colour(0, 158, 115),   // bluish green
    Colour(204, 121, 167), // reddish purple
    Colour(230, 159, 0),   // orange
    Colour(86, 180, 233),  // sky blue
    Colour(0, 0, 0),       // black
    Colour(240, 228, 66),  // yellow
];

impl Colour {
    /// Black, for text, axes and mean curves.
    pub const BLACK: Colour = Colour(0, 0, 0);
    /// Dark grey, the default of reference lines.
    pub const GREY: Colour = Colour(90, 90, 90);

    /// Colour `index` of [`PALETTE`], cycling past its end.
    pub fn palette(index: usize) -> Colour {
        PALETTE[index % PALETTE.len()]
    }

    /// The colour as plotters' type.
    pub(crate) fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}
