//! Prompts as typed on a command line: comma-separated numbers, and `X,Y[,LABEL]` points
//! checked against the image they click on.

use crate::error::{Result, SamError};

/// The finite numbers of `text` (`1,2.5,3`); `what` names the flag in errors.
pub fn numbers(text: &str, what: &str) -> Result<Vec<f32>> {
    text.split(',')
        .map(|v| match v.trim().parse::<f32>() {
            Ok(value) if value.is_finite() => Ok(value),
            Ok(_) => Err(SamError::Prompt(format!(
                "{what} `{text}`: `{v}` is not finite"
            ))),
            Err(e) => Err(SamError::Prompt(format!(
                "{what} `{text}`: `{v}` is not a number ({e})"
            ))),
        })
        .collect()
}

/// A `--point X,Y[,LABEL]` inside a `width` x `height` image: its (x, y) and label (1
/// foreground, the default, or 0 background).
pub fn point(text: &str, width: u32, height: u32) -> Result<([f32; 2], i64)> {
    let bad = |m: String| Err(SamError::Prompt(m));
    let (x, y, label) = match numbers(text, "--point")?[..] {
        [x, y] => (x, y, 1.0),
        [x, y, label] => (x, y, label),
        _ => return bad(format!("--point `{text}`: expected X,Y or X,Y,LABEL")),
    };
    if label != 0.0 && label != 1.0 {
        return bad(format!(
            "--point `{text}`: label must be 1 (foreground) or 0 (background)"
        ));
    }
    if !((0.0..=width as f32).contains(&x) && (0.0..=height as f32).contains(&y)) {
        return bad(format!(
            "--point `{text}` lies outside the {width}x{height} image"
        ));
    }
    Ok(([x, y], label as i64))
}
