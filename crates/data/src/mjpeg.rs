//! Decoding one Motion-JPEG frame to 8-bit luma with zune-jpeg (frames without Huffman tables,
//! as many MJPEG writers store them, get the standard tables).

use image::GrayImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// The luma (Y) plane of the JPEG image `bytes`; the error says what is wrong with it.
pub fn decode_luma(bytes: &[u8]) -> Result<GrayImage, String> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err("corrupt Motion-JPEG frame (no JPEG start-of-image marker)".into());
    }
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
    let decoded = std::panic::catch_unwind(|| {
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        let pixels = decoder.decode()?;
        let (w, h) = decoder.dimensions().unwrap_or((0, 0));
        Ok::<_, zune_jpeg::errors::DecodeErrors>((pixels, w, h))
    });
    let (pixels, w, h) = match decoded {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return Err(format!("corrupt Motion-JPEG frame: {e}")),
        Err(_) => return Err("corrupt Motion-JPEG frame (the JPEG decoder gave up)".into()),
    };
    GrayImage::from_raw(w as u32, h as u32, pixels)
        .ok_or_else(|| format!("JPEG frame of {w}x{h} decoded to the wrong number of pixels"))
}
