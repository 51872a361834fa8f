//! Writing a command's result files as a whole: a fresh output folder is staged beside it and
//! renamed into place; files for an existing folder are staged inside it and then moved in, so a
//! failure never leaves half of the results.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Result, SamError};

fn io(path: &Path, source: std::io::Error) -> SamError {
    SamError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `files` (name, bytes) into `out`; `tag` names the staging folder.
pub fn write_outputs(out: &Path, tag: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let fresh = !out.exists();
    let staging = if fresh {
        parent.join(format!(".{name}.{tag}-{}", std::process::id()))
    } else if out.is_dir() {
        out.join(format!(".{tag}-{}", std::process::id()))
    } else {
        return Err(io(out, std::io::Error::other("exists and is not a folder")));
    };
    fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
    let result = (|| -> Result<()> {
        for (file, bytes) in files {
            let path = staging.join(file);
            fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
        if fresh {
            fs::rename(&staging, out).map_err(|e| io(out, e))?;
        } else {
            for (file, _) in files {
                fs::rename(staging.join(file), out.join(file))
                    .map_err(|e| io(&out.join(file), e))?;
            }
            fs::remove_dir(&staging).ok();
        }
        Ok(())
    })();
    if result.is_err() {
        fs::remove_dir_all(&staging).ok();
    }
    result
}

/// PNG bytes of `image`, to be written by [`write_outputs`] as the result file `name`.
pub fn png_bytes(name: &str, image: impl Into<image::DynamicImage>) -> Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| {
            io(
                Path::new(name),
                std::io::Error::other(format!("encoding a PNG: {e}")),
            )
        })?;
    Ok(bytes.into_inner())
}
