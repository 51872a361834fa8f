//! The left ventricle of a label map, as the volume and area measurements take it.

use echoone_metrics::BinaryMask;
use image::GrayImage;

/// The LV (label 1) of a label map.
pub fn lv_mask(label: &GrayImage) -> BinaryMask {
    let (w, h) = (label.width() as usize, label.height() as usize);
    BinaryMask::new(h, w, label.as_raw().iter().map(|&v| v == 1).collect())
        .unwrap_or_else(|_| BinaryMask::empty(h, w))
}
