//! A small AVI (RIFF) demuxer for Motion-JPEG videos: it finds the video stream, checks that its
//! codec is MJPEG, and lists the byte ranges of its frames (OpenDML `AVIX` extensions included).
//! Frames are decoded on demand by [`crate::mjpeg`], so reading two frames of a long video costs
//! two JPEG decodes.

use std::ops::Range;
use std::path::{Path, PathBuf};

use image::GrayImage;

use crate::error::{DataError, Result};

/// FourCCs of Motion-JPEG video streams (compared case-insensitively).
const MJPEG_CODECS: [&[u8; 4]; 5] = [b"MJPG", b"AVI1", b"JPEG", b"AVRN", b"DMB1"];

/// An MJPEG AVI file in memory with the byte range of each video frame.
#[derive(Debug, Clone)]
pub struct AviVideo {
    /// The file, for error messages.
    pub path: PathBuf,
    /// Frame width from the stream header, in pixels.
    pub width: u32,
    /// Frame height from the stream header, in pixels.
    pub height: u32,
    bytes: Vec<u8>,
    frames: Vec<Range<usize>>,
}

/// One RIFF chunk: its FourCC and the range of its payload.
struct Chunk {
    id: [u8; 4],
    body: Range<usize>,
}

/// The chunks directly inside `range` of `bytes`, in order; an overrunning size is an error.
fn chunks(path: &Path, bytes: &[u8], range: Range<usize>) -> Result<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at + 8 <= range.end {
        let id = fourcc(&bytes[at..at + 4]);
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let start = at + 8;
        let end = start.checked_add(size as usize).filter(|&e| e <= range.end);
        let Some(end) = end else {
            return Err(DataError::format(
                path,
                format!(
                    "truncated or corrupt AVI: chunk '{}' at byte {at} claims {size} bytes but only {} remain",
                    String::from_utf8_lossy(&id),
                    range.end - start
                ),
            ));
        };
        out.push(Chunk {
            id,
            body: start..end,
        });
        at = end + (size as usize & 1);
    }
    Ok(out)
}

fn fourcc(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The list type and contents range of a `LIST` or `RIFF` chunk.
fn list(bytes: &[u8], c: &Chunk) -> Option<([u8; 4], Range<usize>)> {
    (&c.id == b"LIST" || &c.id == b"RIFF")
        .then_some(())
        .filter(|_| c.body.len() >= 4)
        .map(|_| (fourcc(&bytes[c.body.start..]), c.body.start + 4..c.body.end))
}

/// What the stream list `strl` says: stream type, codec and frame size.
struct Stream {
    kind: [u8; 4],
    codec: [u8; 4],
    width: u32,
    height: u32,
}

fn stream(path: &Path, bytes: &[u8], strl: Range<usize>) -> Result<Stream> {
    let mut s = Stream {
        kind: [0; 4],
        codec: [0; 4],
        width: 0,
        height: 0,
    };
    for c in chunks(path, bytes, strl)? {
        let b = &bytes[c.body.clone()];
        match &c.id {
            b"strh" if b.len() >= 8 => {
                s.kind = fourcc(b);
                s.codec = fourcc(&b[4..]);
            }
            b"strf" if &s.kind == b"vids" && b.len() >= 20 => {
                // BITMAPINFOHEADER: size, width, height (signed), planes, bit count, compression.
                s.width = u32_at(b, 4).unwrap_or(0);
                s.height = (u32_at(b, 8).unwrap_or(0) as i32).unsigned_abs();
                let compression = fourcc(&b[16..]);
                if compression != [0; 4] {
                    s.codec = compression;
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// How deep lists may nest inside `movi` (real files use one level, `rec `).
const MAX_NESTING: usize = 4;

/// Appends the frames of stream `tag` found in `range` (a `movi` list) to `frames`, in file
/// order; lists inside it (`rec `) are entered, up to `MAX_NESTING` deep.
fn collect_frames(
    path: &Path,
    bytes: &[u8],
    range: Range<usize>,
    tag: &[u8],
    frames: &mut Vec<Range<usize>>,
    depth: usize,
) -> Result<()> {
    for c in chunks(path, bytes, range)? {
        if let Some((_, body)) = list(bytes, &c) {
            if depth >= MAX_NESTING {
                return Err(DataError::format(
                    path,
                    "corrupt AVI: lists nested too deep inside 'movi'",
                ));
            }
            collect_frames(path, bytes, body, tag, frames, depth + 1)?;
        } else if c.id[..2] == *tag && matches!(&c.id[2..], b"dc" | b"db") {
            // An empty chunk repeats the previous frame (the AVI drop-frame convention).
            let body = match frames.last() {
                Some(prev) if c.body.is_empty() => prev.clone(),
                _ => c.body,
            };
            frames.push(body);
        }
    }
    Ok(())
}

/// Whether `codec` names Motion-JPEG.
fn is_mjpeg(codec: &[u8; 4]) -> bool {
    MJPEG_CODECS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(codec.as_slice()))
}

impl AviVideo {
    /// Reads `path` and indexes its video frames; errors name the file for anything that is not
    /// a complete MJPEG AVI.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Self::parse(path, bytes)
    }

    /// Indexes the video frames of the AVI file `bytes` read from `path`.
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"AVI " {
            return Err(DataError::format(
                path,
                "not an AVI file (no RIFF 'AVI ' header)",
            ));
        }
        let top = chunks(path, &bytes, 0..bytes.len())?;
        let mut video: Option<(usize, Stream)> = None;
        let mut movis = Vec::new();
        for riff in &top {
            let Some((kind, body)) = list(&bytes, riff) else {
                continue;
            };
            if &kind != b"AVI " && &kind != b"AVIX" {
                continue;
            }
            for c in chunks(path, &bytes, body)? {
                match list(&bytes, &c) {
                    Some((k, hdrl)) if &k == b"hdrl" => {
                        let strls = chunks(path, &bytes, hdrl)?
                            .into_iter()
                            .filter_map(|s| list(&bytes, &s))
                            .filter(|(k, _)| k == b"strl");
                        for (index, (_, strl)) in strls.enumerate() {
                            let s = stream(path, &bytes, strl)?;
                            if &s.kind == b"vids" && video.is_none() {
                                video = Some((index, s));
                            }
                        }
                    }
                    Some((k, movi)) if &k == b"movi" => movis.push(movi),
                    _ => {}
                }
            }
        }
        let Some((index, s)) = video else {
            return Err(DataError::format(path, "AVI file without a video stream"));
        };
        if !is_mjpeg(&s.codec) {
            return Err(DataError::format(
                path,
                format!(
                    "video codec '{}' is not Motion-JPEG; only MJPEG AVI is read (re-encode, e.g. ffmpeg -i IN -c:v mjpeg OUT.avi)",
                    String::from_utf8_lossy(&s.codec).trim_end_matches('\0')
                ),
            ));
        }
        let tag = format!("{index:02}");
        let mut frames: Vec<Range<usize>> = Vec::new();
        for movi in movis {
            collect_frames(path, &bytes, movi, tag.as_bytes(), &mut frames, 0)?;
        }
        if frames.is_empty() {
            return Err(DataError::format(path, "AVI file without video frames"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            width: s.width,
            height: s.height,
            bytes,
            frames,
        })
    }

    /// The number of video frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the video has no frames (never true for a video that was read).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The compressed bytes of frame `index`.
    pub fn frame_bytes(&self, index: usize) -> Result<&[u8]> {
        let range = self.frames.get(index).ok_or_else(|| {
            DataError::format(
                &self.path,
                format!("frame {index} out of range ({} frames)", self.frames.len()),
            )
        })?;
        Ok(&self.bytes[range.clone()])
    }

    /// Frame `index` decoded to 8-bit luma.
    pub fn frame(&self, index: usize) -> Result<GrayImage> {
        crate::mjpeg::decode_luma(self.frame_bytes(index)?)
            .map_err(|m| DataError::format(&self.path, format!("frame {index}: {m}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn list(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        chunk(b"LIST", &[kind.as_slice(), body].concat())
    }

    /// An AVI with one MJPG video stream of 4x2 and `movi` holding `movi`.
    fn avi(movi: &[u8]) -> Vec<u8> {
        let mut strh = b"vidsMJPG".to_vec();
        strh.resize(56, 0);
        let mut strf = vec![0u8; 40];
        strf[4] = 4;
        strf[8] = 2;
        strf[16..20].copy_from_slice(b"MJPG");
        let strl = list(
            b"strl",
            &[chunk(b"strh", &strh), chunk(b"strf", &strf)].concat(),
        );
        let hdrl = list(b"hdrl", &[chunk(b"avih", &[0; 56]), strl].concat());
        let body = [b"AVI ".as_slice(), &hdrl, &list(b"movi", movi)].concat();
        chunk(b"RIFF", &body)
    }

    #[test]
    fn frames_in_rec_lists_and_repeats_are_indexed_in_order() {
        let movi = [
            chunk(b"00dc", b"abc"),
            list(
                b"rec ",
                &[chunk(b"01wb", b"audio"), chunk(b"00dc", b"de")].concat(),
            ),
            chunk(b"00dc", b""),
        ]
        .concat();
        let v = AviVideo::parse(Path::new("x.avi"), avi(&movi)).unwrap();
        assert_eq!((v.width, v.height, v.len()), (4, 2, 3));
        assert_eq!(v.frame_bytes(0).unwrap(), b"abc");
        assert_eq!(v.frame_bytes(2).unwrap(), b"de");
        let e = v.frame(0).unwrap_err().to_string();
        assert!(
            e.contains("x.avi: frame 0: corrupt Motion-JPEG frame"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_overruns_and_empty_videos_are_errors() {
        let mut nested = chunk(b"00dc", b"x");
        for _ in 0..6 {
            nested = list(b"rec ", &nested);
        }
        let e = AviVideo::parse(Path::new("x.avi"), avi(&nested)).unwrap_err();
        assert!(e.to_string().contains("nested too deep"), "{e}");
        let e = AviVideo::parse(Path::new("x.avi"), avi(&[])).unwrap_err();
        assert!(e.to_string().contains("without video frames"), "{e}");
        let mut cut = avi(&chunk(b"00dc", b"abcd"));
        cut.truncate(cut.len() - 2);
        let e = AviVideo::parse(Path::new("x.avi"), cut).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
