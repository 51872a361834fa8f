//! Prediction on new images: PNG/JPEG, NIfTI (2D or 2D+t) and MJPEG AVI in; per frame the label
//! map (0 background, 1 LV, 2 MYO, 3 LA) at the input's resolution as PNG and NIfTI, and an
//! overlay. Prompts are given clicks, or taken from PC-Mask's coarse mask of each structure.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use echoone_data::resize::{Plane32, bilinear, nearest};
use echoone_data::{Structure, avi::AviVideo, nifti_io};
use echoone_model::EchoOne;
use image::{GrayImage, Rgb, RgbImage};

use crate::beats::{Beat, measure_beats, write_video_report};
use crate::clicks::{coarse_click, coarse_logits};
use crate::error::{InferError, Result};
use crate::latent_extractor;
use crate::overlay::write_png;
use crate::run_prior::{BatchPrior, Extractor};
use echoone_run::checkpoint::{self, Checkpoint};

/// Frames segmented per forward pass.
pub const FRAME_BATCH: usize = 8;

/// Grey frames of one input file.
pub struct InputFrames {
    /// The file.
    pub path: PathBuf,
    /// Its frames, all one size.
    pub frames: Vec<GrayImage>,
    /// Pixel spacing [x, y] in mm, when the file gives one.
    pub spacing: Option<[f64; 2]>,
}

/// Reads an input by its extension: `.png`/`.jpg`, `.nii`/`.nii.gz`, `.avi`.
pub fn read_input(path: &Path) -> Result<InputFrames> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let (frames, spacing) = if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        let v = nifti_io::read(path)?;
        let plane = v.width * v.height;
        let (lo, hi) = v
            .data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        // 8-bit data as stored; anything else stretched to 0..255.
        let (offset, scale) = if lo >= 0.0 && hi <= 255.0 {
            (0.0, 1.0)
        } else {
            (lo, 255.0 / (hi - lo).max(f32::EPSILON))
        };
        let frames = v
            .data
            .chunks(plane)
            .map(|f| {
                let px = f
                    .iter()
                    .map(|&x| ((x - offset) * scale).round() as u8)
                    .collect();
                GrayImage::from_raw(v.width as u32, v.height as u32, px)
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| InferError::file(path, "inconsistent frame size"))?;
        (frames, v.spacing)
    } else if name.ends_with(".avi") {
        let video = AviVideo::read(path)?;
        let frames = (0..video.len())
            .map(|i| video.frame(i))
            .collect::<echoone_data::Result<Vec<_>>>()?;
        (frames, None)
    } else {
        (vec![echoone_data::png_io::read_gray_image(path)?], None)
    };
    if frames.is_empty() {
        return Err(InferError::file(path, "holds no frame"));
    }
    Ok(InputFrames {
        path: path.to_path_buf(),
        frames,
        spacing,
    })
}

/// A click given on the command line: a structure and a point in the input's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Click {
    /// The structure clicked.
    pub structure: Structure,
    /// Column in input pixels.
    pub x: f32,
    /// Row in input pixels.
    pub y: f32,
}

impl Click {
    /// Parses `LV:X,Y` (structure LV, MYO or LA).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            InferError::Config(format!(
                "--point {text:?}: expected STRUCTURE:X,Y with STRUCTURE LV, MYO or LA"
            ))
        };
        let (s, xy) = text.split_once(':').ok_or_else(bad)?;
        let structure = Structure::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
            .ok_or_else(bad)?;
        let (x, y) = xy.split_once(',').ok_or_else(bad)?;
        let x: f32 = x.trim().parse().map_err(|_| bad())?;
        let y: f32 = y.trim().parse().map_err(|_| bad())?;
        Ok(Self { structure, x, y })
    }
}

/// How to prompt the model.
#[derive(Debug, Clone)]
pub enum Prompting {
    /// The given clicks (one per structure to segment).
    Clicks(Vec<Click>),
    /// A click deepest inside PC-Mask's coarse mask of each structure; structures whose coarse
    /// mask covers under 0.5 % of the image are reported absent.
    Auto,
}

/// A checkpoint ready to predict.
pub struct Predictor<B: Backend> {
    model: EchoOne<B>,
    ckpt: Checkpoint,
    extractor: Option<Extractor<B>>,
    device: B::Device,
}

/// One segmented frame.
#[derive(Debug, Clone)]
pub struct Segmented {
    /// The label map (0 background, 1 LV, 2 MYO, 3 LA; where two masks overlap, the higher
    /// logit wins) at the frame's size.
    pub label: GrayImage,
    /// The structures found.
    pub found: Vec<Structure>,
    /// The LV prompt's own mask (1 on the LV, before the overlap with MYO and LA is resolved),
    /// at the frame's size: what LV volumes are measured on.
    pub lv: GrayImage,
}

/// What was written for one input.
#[derive(Debug, Clone)]
pub struct Written {
    /// The input.
    pub input: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Per frame, the structures found.
    pub found: Vec<Vec<Structure>>,
    /// The beats of a sequence (ED, ES, volumes, EF); empty for one image.
    pub beats: Vec<Beat>,
}

impl<B: Backend> Predictor<B> {
    /// Loads the checkpoint's model and its prior's extractor (`sam` when the prior's latents
    /// come from SAM's encoder).
    pub fn new(ckpt: Checkpoint, sam: Option<&Path>, device: &B::Device) -> Result<Self> {
        let model = checkpoint::load_model::<B>(&ckpt.config.model, &ckpt.dir, device)?;
        let extractor = match &ckpt.prior {
            Some(p) => Some(latent_extractor::build::<B>(
                p.extractor,
                &ckpt.config.model,
                sam,
                device,
            )?),
            None => None,
        };
        Ok(Self {
            model,
            ckpt,
            extractor,
            device: device.clone(),
        })
    }

    /// The checkpoint it predicts with.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.ckpt
    }

    /// Segments every frame of `input` and writes `<stem>[_fNNNN]_label.png`,
    /// `<stem>[_fNNNN]_overlay.png` and `<stem>_label.nii.gz` into `out`; for a sequence also
    /// the LV area curve and the beats with their EF ([`write_video_report`]), both measured on
    /// the LV prompt's own masks ([`Segmented::lv`]).
    pub fn predict(
        &self,
        input: &InputFrames,
        prompting: &Prompting,
        out: &Path,
    ) -> Result<Written> {
        if matches!(prompting, Prompting::Auto) && self.ckpt.prior.is_none() {
            return Err(InferError::Config(
                "--prompts auto takes its clicks from PC-Mask's coarse masks, but this model was \
                 trained without PC-Mask: give --point STRUCTURE:X,Y instead"
                    .into(),
            ));
        }
        std::fs::create_dir_all(out).map_err(|e| InferError::file(out, e))?;
        let stem = file_stem(&input.path);
        let (w, h) = input.frames[0].dimensions();
        let mut labels = Vec::with_capacity(input.frames.len());
        let mut written = Written {
            input: input.path.clone(),
            files: Vec::new(),
            found: Vec::new(),
            beats: Vec::new(),
        };
        if input.frames.iter().any(|f| f.dimensions() != (w, h)) {
            return Err(InferError::file(&input.path, "frames differ in size"));
        }
        let segmented = self.segment_frames(&input.frames, prompting, FRAME_BATCH)?;
        let mut lv_masks = Vec::with_capacity(segmented.len());
        for (f, (frame, seg)) in input.frames.iter().zip(segmented).enumerate() {
            let Segmented { label, found, lv } = seg;
            lv_masks.push(lv);
            let name = if input.frames.len() > 1 {
                format!("{stem}_f{f:04}")
            } else {
                stem.clone()
            };
            let label_png = out.join(format!("{name}_label.png"));
            let bytes = echoone_data::png_io::encode_png(&label)?;
            echoone_data::png_io::write_atomic(&label_png, &bytes)?;
            let overlay_png = out.join(format!("{name}_overlay.png"));
            write_png(&overlay_png, &colour_overlay(frame, &label))?;
            written.files.extend([label_png, overlay_png]);
            written.found.push(found);
            labels.push(label);
        }
        let nifti = out.join(format!("{stem}_label.nii.gz"));
        echoone_data::nifti_io::write_u8(&nifti, &labels, input.spacing)?;
        written.files.push(nifti);
        if labels.len() > 1 {
            written.beats = measure_beats(&lv_masks, input.spacing);
            written.files.extend(write_video_report(
                out,
                &stem,
                &lv_masks,
                input.spacing,
                &written.beats,
            )?);
        }
        Ok(written)
    }

    /// The label map (at each frame's own size) and the structures found of every frame,
    /// segmented `batch` frames at a time: each frame is encoded once and decoded once per
    /// structure.
    pub fn segment_frames(
        &self,
        frames: &[GrayImage],
        prompting: &Prompting,
        batch: usize,
    ) -> Result<Vec<Segmented>> {
        let mut out = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(batch.max(1)) {
            out.extend(self.segment_batch(chunk, prompting)?);
        }
        Ok(out)
    }

    /// [`segment_frames`](Self::segment_frames) for one batch.
    fn segment_batch(&self, frames: &[GrayImage], prompting: &Prompting) -> Result<Vec<Segmented>> {
        let side = self.ckpt.config.model.input_size;
        let images: Vec<Vec<f32>> = frames
            .iter()
            .map(|frame| {
                bilinear(&Plane32::from_gray(frame), side, side)
                    .data
                    .iter()
                    .map(|v| (v / 255.0).clamp(0.0, 1.0))
                    .collect()
            })
            .collect();
        let latents = self
            .extractor
            .as_ref()
            .map(|ex| ex.latents(&images, side, &self.device));
        let prior_of =
            |image_of: &[usize], structures: &[Structure]| -> Result<Option<Tensor<B, 4>>> {
                match (&self.ckpt.prior, &latents) {
                    (Some(fitted), Some(latents)) => {
                        let bp = BatchPrior { fitted, latents };
                        Ok(Some(bp.tensor::<B>(image_of, structures, &self.device)?))
                    }
                    _ => Ok(None),
                }
            };
        // Per frame, one click per structure in model pixels.
        let clicks: Vec<Vec<(Structure, f32, f32)>> = match prompting {
            Prompting::Clicks(c) => frames
                .iter()
                .map(|frame| {
                    let sx = side as f32 / frame.width() as f32;
                    let sy = side as f32 / frame.height() as f32;
                    c.iter()
                        .map(|c| (c.structure, (c.x + 0.5) * sx - 0.5, (c.y + 0.5) * sy - 0.5))
                        .collect()
                })
                .collect(),
            Prompting::Auto => {
                let image_of: Vec<usize> = (0..frames.len())
                    .flat_map(|f| [f; Structure::ALL.len()])
                    .collect();
                let structures: Vec<Structure> =
                    (0..frames.len()).flat_map(|_| Structure::ALL).collect();
                self.auto_clicks(frames.len(), prior_of(&image_of, &structures)?)?
            }
        };
        let image_of: Vec<usize> = clicks
            .iter()
            .enumerate()
            .flat_map(|(f, c)| std::iter::repeat_n(f, c.len()))
            .collect();
        let prompts: Vec<(Structure, f32, f32)> = clicks.into_iter().flatten().collect();
        let mut best = vec![vec![(0u8, 0.0f32); side * side]; frames.len()];
        let mut found = vec![Vec::new(); frames.len()];
        let mut lv = vec![vec![0u8; side * side]; frames.len()];
        if !prompts.is_empty() {
            let n = prompts.len();
            let structures: Vec<Structure> = prompts.iter().map(|c| c.0).collect();
            let batch = Tensor::<B, 4>::from_data(
                TensorData::new(images.concat(), [frames.len(), 1, side, side]),
                &self.device,
            );
            let pts: Vec<f32> = prompts.iter().flat_map(|c| [c.1, c.2]).collect();
            let points = Tensor::<B, 3>::from_data(TensorData::new(pts, [n, 1, 2]), &self.device);
            let labels = Tensor::<B, 2, Int>::ones([n, 1], &self.device);
            let out = self.model.forward_shared(
                batch,
                &image_of,
                points,
                labels,
                prior_of(&image_of, &structures)?,
            )?;
            let masks: Vec<f32> = out.masks.into_data().iter::<f32>().collect();
            for ((&f, s), logits) in image_of
                .iter()
                .zip(&structures)
                .zip(masks.chunks(side * side))
            {
                if *s == Structure::Lv {
                    lv[f] = logits.iter().map(|&v| u8::from(v > 0.0)).collect();
                }
                let mut any = false;
                for (b, &v) in best[f].iter_mut().zip(logits) {
                    if v > 0.0 && (b.0 == 0 || v > b.1) {
                        *b = (s.label(), v);
                        any = true;
                    }
                }
                if any {
                    found[f].push(*s);
                }
            }
        }
        frames
            .iter()
            .zip(best)
            .zip(found)
            .zip(lv)
            .map(|(((frame, best), found), lv)| {
                let (w, h) = (frame.width() as usize, frame.height() as usize);
                let full = |small: &[u8]| {
                    GrayImage::from_raw(w as u32, h as u32, nearest(small, side, side, w, h))
                        .ok_or_else(|| InferError::Config("label map size".into()))
                };
                let small: Vec<u8> = best.iter().map(|b| b.0).collect();
                Ok(Segmented {
                    label: full(&small)?,
                    found,
                    lv: full(&lv)?,
                })
            })
            .collect()
    }

    /// Clicks from PC-Mask's coarse masks, per frame one per structure present, deepest inside
    /// that structure's own coarse mask (in model pixels; [`coarse_click`]); `prior` holds the
    /// frames' priors for LV, MYO, LA in turn.
    fn auto_clicks(
        &self,
        frames: usize,
        prior: Option<Tensor<B, 4>>,
    ) -> Result<Vec<Vec<(Structure, f32, f32)>>> {
        let low = self.ckpt.config.model.low_res_size();
        let side = self.ckpt.config.model.input_size;
        let Some(values) = prior.and_then(|p| coarse_logits(&self.model, p, low)) else {
            return Ok(vec![Vec::new(); frames]);
        };
        let per_frame = Structure::ALL.len() * low * low;
        Ok(values
            .chunks(per_frame)
            .map(|frame| {
                Structure::ALL
                    .into_iter()
                    .zip(frame.chunks(low * low))
                    .filter_map(|(s, logits)| {
                        coarse_click(logits, low, side, s).map(|(x, y)| (s, x, y))
                    })
                    .collect()
            })
            .collect())
    }
}

fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
    let lower = name.to_ascii_lowercase();
    let cut = [".nii.gz", ".nii", ".png", ".jpg", ".jpeg", ".avi"]
        .iter()
        .find(|e| lower.ends_with(*e))
        .map_or(name.len(), |e| name.len() - e.len());
    name[..cut].to_string()
}

/// Colours of LV, MYO and LA in overlays.
const COLOURS: [[u8; 3]; 3] = [[230, 60, 60], [60, 200, 80], [70, 120, 240]];

/// The frame with each structure tinted.
pub fn colour_overlay(frame: &GrayImage, label: &GrayImage) -> RgbImage {
    RgbImage::from_fn(frame.width(), frame.height(), |x, y| {
        let g = frame.get_pixel(x, y).0[0] as u16;
        match label.get_pixel(x, y).0[0] {
            l @ 1..=3 => {
                let c = COLOURS[l as usize - 1];
                Rgb(c.map(|v| ((g + v as u16) / 2) as u8))
            }
            _ => Rgb([g as u8; 3]),
        }
    })
}
