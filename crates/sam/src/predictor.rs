//! SAM's predictor: set an image once, then predict masks for many prompts against its cached
//! embedding, in the original image's coordinates.

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use image::RgbImage;

use crate::error::{Result, SamError};
use crate::prompt_encoder::Prompts;
use crate::sam::Sam;
use crate::transforms::ResizeLongestSide;

/// One prompt in original image coordinates, as `SamPredictor.predict` takes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompt {
    /// Points `(x, y)` in pixels.
    pub points: Vec<[f32; 2]>,
    /// One label per point: 1 foreground, 0 background.
    pub labels: Vec<i64>,
    /// A box `(x0, y0, x1, y1)` in pixels.
    pub bbox: Option<[f32; 4]>,
    /// Low-resolution mask logits from a previous prediction, `[4 h, 4 w]` row-major.
    pub mask_input: Option<Vec<f32>>,
}

/// The predictor's output for one prompt.
#[derive(Debug, Clone)]
pub struct Prediction<B: Backend> {
    /// Mask logits at the original image size `[M, H, W]` (mask = logit > 0).
    pub masks: Tensor<B, 3>,
    /// Predicted IoU of each mask `[M]`.
    pub iou_predictions: Tensor<B, 1>,
    /// Low-resolution logits `[M, 4 h, 4 w]`, reusable as a mask prompt.
    pub low_res_logits: Tensor<B, 3>,
}

/// The cached embedding of the current image.
#[derive(Debug, Clone)]
struct ImageState<B: Backend> {
    features: Tensor<B, 4>,
    original_size: (usize, usize),
    input_size: (usize, usize),
}

/// Predicts masks for one image at a time, caching its embedding (SAM's `SamPredictor`):
/// prompts and masks are in the original image's pixels.
///
/// ```
/// use burn_flex::Flex;
/// use echoone_sam::{ImageEncoderConfig, Predictor, Prompt, SamConfig};
/// use image::RgbImage;
///
/// // Official SAM would be `SamConfig::vit_b()` and then
/// // `load_checkpoint(&mut sam, Path::new("sam_vit_b_01ec64.pth"), &LoadOptions::default())?`;
/// // here a small SAM with its initial weights.
/// let encoder = ImageEncoderConfig::new()
///     .with_img_size(64)
///     .with_embed_dim(32)
///     .with_depth(2)
///     .with_num_heads(2)
///     .with_window_size(2)
///     .with_global_attn_indexes(vec![1]);
/// let sam = SamConfig::with_encoder(encoder).init::<Flex>(&Default::default())?;
///
/// let mut predictor = Predictor::new(sam);
/// predictor.set_image(&RgbImage::new(80, 60))?; // resized, normalised and embedded once
/// let click = Prompt {
///     points: vec![[40.0, 30.0]],
///     labels: vec![1], // foreground
///     ..Prompt::default()
/// };
/// let prediction = predictor.predict(&click, true)?; // SAM's three masks
/// assert_eq!(prediction.masks.dims(), [3, 60, 80]); // logits; the mask is logit > 0
/// assert_eq!(prediction.iou_predictions.dims(), [3]);
///
/// // A prompt with nothing in it is an error, not a panic.
/// assert!(predictor.predict(&Prompt::default(), false).is_err());
/// # Ok::<(), echoone_sam::SamError>(())
/// ```
#[derive(Debug)]
pub struct Predictor<B: Backend> {
    /// The model.
    pub model: Sam<B>,
    transform: ResizeLongestSide,
    state: Option<ImageState<B>>,
}

/// Converts an RGB image to a `[1, 3, H, W]` float tensor of 0-255 values.
pub fn image_to_tensor<B: Backend>(image: &RgbImage, device: &B::Device) -> Tensor<B, 4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let data: Vec<f32> = image.as_raw().iter().map(|&v| v as f32).collect();
    Tensor::<B, 3>::from_data(TensorData::new(data, [h, w, 3]), device)
        .permute([2, 0, 1])
        .unsqueeze()
}

/// Upscales low-res logits `[M, K, h, w]` to the model input size, removes the padding and
/// resizes to the original image (bilinear, align_corners = false), as `Sam.postprocess_masks`.
pub fn postprocess_masks<B: Backend>(
    masks: Tensor<B, 4>,
    img_size: usize,
    input_size: (usize, usize),
    original_size: (usize, usize),
) -> Tensor<B, 4> {
    let options = || InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false);
    let [m, k, ..] = masks.dims();
    let full = interpolate(masks, [img_size, img_size], options());
    let cropped = full.slice([0..m, 0..k, 0..input_size.0, 0..input_size.1]);
    interpolate(cropped, [original_size.0, original_size.1], options())
}

impl<B: Backend> Predictor<B> {
    /// A predictor around `model`.
    pub fn new(model: Sam<B>) -> Self {
        let transform = ResizeLongestSide::new(model.img_size());
        Self {
            model,
            transform,
            state: None,
        }
    }

    /// Embeds `image` (RGB) and caches the embedding for the following predictions.
    pub fn set_image(&mut self, image: &RgbImage) -> Result<()> {
        if image.width() == 0 || image.height() == 0 {
            return Err(SamError::Prompt("the image is empty".into()));
        }
        let device = self.model.prompt_encoder.no_mask_embed.weight.device();
        let resized = self.transform.apply_image(image);
        let input = self.model.preprocess(image_to_tensor(&resized, &device));
        let features = self.model.embed_images(input);
        self.state = Some(ImageState {
            features,
            original_size: (image.height() as usize, image.width() as usize),
            input_size: (resized.height() as usize, resized.width() as usize),
        });
        Ok(())
    }

    /// The cached image embedding `[1, D, h, w]`, if an image is set.
    pub fn features(&self) -> Option<&Tensor<B, 4>> {
        self.state.as_ref().map(|s| &s.features)
    }

    /// Predicts masks for `prompt` on the current image (3 masks with `multimask_output`).
    pub fn predict(&self, prompt: &Prompt, multimask_output: bool) -> Result<Prediction<B>> {
        let state = self.state.as_ref().ok_or(SamError::NoImage)?;
        let prompts = self.prompt_tensors(prompt, state)?;
        let out = self
            .model
            .predict(state.features.clone(), &prompts, multimask_output)?;
        let [_, _, k, h, w] = out.low_res_masks.dims();
        let low_res = out.low_res_masks.reshape([1, k, h, w]);
        let masks = postprocess_masks(
            low_res.clone(),
            self.model.img_size(),
            state.input_size,
            state.original_size,
        );
        let [_, _, oh, ow] = masks.dims();
        Ok(Prediction {
            masks: masks.reshape([k, oh, ow]),
            iou_predictions: out.iou_predictions.reshape([k]),
            low_res_logits: low_res.reshape([k, h, w]),
        })
    }

    fn prompt_tensors(&self, prompt: &Prompt, state: &ImageState<B>) -> Result<Prompts<B>> {
        let device = state.features.device();
        if prompt.points.len() != prompt.labels.len() {
            return Err(SamError::Prompt(format!(
                "{} points but {} labels",
                prompt.points.len(),
                prompt.labels.len()
            )));
        }
        if let Some(label) = prompt.labels.iter().find(|l| !matches!(l, 0 | 1)) {
            return Err(SamError::Prompt(format!(
                "point label {label} is neither 1 (foreground) nor 0 (background)"
            )));
        }
        let finite = prompt
            .points
            .iter()
            .flatten()
            .chain(prompt.bbox.iter().flatten());
        if finite.clone().any(|v| !v.is_finite()) {
            return Err(SamError::Prompt(
                "coordinates must be finite numbers".into(),
            ));
        }
        let points = if prompt.points.is_empty() {
            None
        } else {
            let coords = self
                .transform
                .apply_coords(&prompt.points, state.original_size);
            let n = coords.len();
            let flat: Vec<f32> = coords.into_iter().flatten().collect();
            Some((
                Tensor::from_data(TensorData::new(flat, [1, 1, n, 2]), &device),
                Tensor::<B, 3, Int>::from_data(
                    TensorData::new(prompt.labels.clone(), [1, 1, n]),
                    &device,
                ),
            ))
        };
        let boxes = prompt.bbox.map(|bbox| {
            let b = self.transform.apply_box(bbox, state.original_size);
            Tensor::from_data(TensorData::new(b.to_vec(), [1, 1, 4]), &device)
        });
        let side = self.model.prompt_encoder.mask_input_size();
        let masks = match &prompt.mask_input {
            Some(values) if values.len() != side * side => {
                return Err(SamError::Prompt(format!(
                    "mask input has {} values, expected {side} x {side}",
                    values.len()
                )));
            }
            Some(values) => Some(Tensor::from_data(
                TensorData::new(values.clone(), [1, 1, 1, side, side]),
                &device,
            )),
            None => None,
        };
        if points.is_none() && boxes.is_none() && masks.is_none() {
            return Err(SamError::Prompt(
                "give at least one point, box or mask".into(),
            ));
        }
        Ok(Prompts {
            points,
            boxes,
            masks,
        })
    }
}
