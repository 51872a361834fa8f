//! The fitted prior: prototypes (k-means centroids of image latents), centre masks per cluster
//! (and per structure), and the K-channel prior of any image computed online from its latent.

use std::fs;
use std::path::Path;

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use echoone_sam::npy::{encode_f32, read_npy};
use serde::{Deserialize, Serialize};

use crate::error::{self, PcMaskError};
use crate::kmeans::kmeans;
use crate::latent::LatentExtractor;
use crate::purity::PurityReport;

/// Structures with centre masks: LV (label 1), MYO (2), LA (3).
pub const STRUCTURES: usize = 3;

/// Which centre masks the prior is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriorMode {
    /// One centre mask per cluster and structure; a sample prompted on structure `s` gets
    /// structure `s`'s masks (our design).
    PerStructure,
    /// One centre mask per cluster, the union of all structures (the authors' released prior).
    ClassAgnostic,
}

/// Configuration of [`FittedPrior::fit`].
#[derive(Config, Debug)]
pub struct PriorConfig {
    /// Number of clusters (the paper: 4, one per plane).
    #[config(default = 4)]
    pub k: usize,
    /// Seed of k-means++.
    #[config(default = 1234)]
    pub seed: u64,
    /// Per-structure or class-agnostic centre masks.
    #[config(default = "PriorMode::PerStructure")]
    pub mode: PriorMode,
    /// Side of the centre masks and of the prior (the coarse mask's resolution).
    #[config(default = 128)]
    pub side: usize,
    /// How the latents were extracted (recorded so eval and predict extract them the same way).
    #[config(default = "LatentExtractor::SamEncoder")]
    pub extractor: LatentExtractor,
}

/// One training image for fitting: its latent, label map and what is known about it.
#[derive(Debug, Clone, Copy)]
pub struct PriorSample<'a> {
    /// The image's latent vector.
    pub latent: &'a [f32],
    /// Label map, row-major `height x width`: 0 background, 1 LV, 2 MYO, 3 LA.
    pub label_map: &'a [u8],
    /// `(height, width)` of the label map.
    pub size: (usize, usize),
    /// Which of LV, MYO, LA are annotated (HMC-QU annotates MYO only).
    pub annotated: [bool; STRUCTURES],
    /// The plane, when known (for the purity report only).
    pub plane: Option<&'a str>,
}

/// The fitted PC-Mask prior, saved beside a checkpoint and reused by eval and predict.
///
/// ```
/// use burn::tensor::Tensor;
/// use burn_flex::Flex;
/// use echoone_pc_mask::{FittedPrior, LatentExtractor, PriorConfig, PriorSample, thumbnail_latent};
///
/// // Four 16x16 grey images of two kinds (bright at the top, bright at the bottom), with their
/// // label maps: the LV (label 1) under the bright half.
/// let half = |top: bool| -> Vec<f32> {
///     (0..256).map(|i| if (i < 128) == top { 1.0 } else { 0.0 }).collect()
/// };
/// let kinds = [true, true, false, false];
/// let pixels: Vec<f32> = kinds.iter().flat_map(|&top| half(top)).collect();
/// let images = Tensor::<Flex, 1>::from_floats(pixels.as_slice(), &Default::default())
///     .reshape([4, 1, 16, 16]);
/// let labels: Vec<Vec<u8>> = kinds
///     .iter()
///     .map(|&top| half(top).iter().map(|&v| v as u8).collect())
///     .collect();
///
/// // Latents (2x2 thumbnails), k-means with K = 2, centre masks at 8x8.
/// let extractor = LatentExtractor::Thumbnail { side: 2 };
/// let latents = thumbnail_latent(images, 2).into_data().into_vec::<f32>()?;
/// let samples: Vec<PriorSample> = latents
///     .chunks(4)
///     .zip(&labels)
///     .map(|(latent, label_map)| PriorSample {
///         latent,
///         label_map,
///         size: (16, 16),
///         annotated: [true; 3],
///         plane: None,
///     })
///     .collect();
/// let config = PriorConfig::new().with_k(2).with_side(8).with_extractor(extractor);
/// let prior = FittedPrior::fit(&samples, &config)?;
///
/// // A new image like the first kind: its LV prior [K, 8, 8] is that kind's centre mask.
/// let lv = prior.prior(&latents[..4], 0)?;
/// assert_eq!(lv.len(), 2 * 8 * 8);
/// let sims = prior.similarities(&latents[..4])?;
/// let k = if sims[0] > sims[1] { 0 } else { 1 };
/// assert_eq!(&lv[k * 64..(k + 1) * 64], prior.centre_mask(k, 0));
///
/// // Saved beside a checkpoint as `prior.json` + `centre_masks.npy`.
/// let dir = tempfile::tempdir()?;
/// prior.save(dir.path())?;
/// assert_eq!(FittedPrior::load(dir.path())?.centre_masks, prior.centre_masks);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPrior {
    /// How latents are extracted.
    pub extractor: LatentExtractor,
    /// Number of clusters.
    pub k: usize,
    /// Per-structure or class-agnostic.
    pub mode: PriorMode,
    /// Side of the centre masks.
    pub side: usize,
    /// k-means seed.
    pub seed: u64,
    /// Prototypes: the `K` centroids.
    pub prototypes: Vec<Vec<f32>>,
    /// How the clusters line up with the planes of the fitting set.
    pub purity: PurityReport,
    /// Centre masks `[K, C, side, side]` (C = 3 per structure, or 1), stored as `.npy`.
    #[serde(skip)]
    pub centre_masks: Vec<f32>,
}

/// Nearest-neighbour resize of a label map (PyTorch's `nearest`: source = floor(dst * in / out)).
fn resize_nearest(map: &[u8], size: (usize, usize), side: usize) -> Vec<u8> {
    let (h, w) = size;
    (0..side)
        .flat_map(|y| {
            let sy = (y * h / side).min(h - 1);
            (0..side).map(move |x| map[sy * w + (x * w / side).min(w - 1)])
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

impl FittedPrior {
    /// Clusters the samples' latents and averages their masks per cluster.
    pub fn fit(samples: &[PriorSample<'_>], config: &PriorConfig) -> error::Result<Self> {
        if config.side == 0 {
            return Err(PcMaskError::Fit("the prior side must be positive".into()));
        }
        for (i, s) in samples.iter().enumerate() {
            let (h, w) = s.size;
            if h == 0 || w == 0 || s.label_map.len() != h * w {
                return Err(PcMaskError::Shape(format!(
                    "sample {i}: label map of {} values is not {h} x {w}",
                    s.label_map.len()
                )));
            }
            if let Some(bad) = s.label_map.iter().find(|&&v| v as usize > STRUCTURES) {
                return Err(PcMaskError::Shape(format!(
                    "sample {i}: label {bad} is not in 0..=3"
                )));
            }
        }
        let latents: Vec<Vec<f32>> = samples.iter().map(|s| s.latent.to_vec()).collect();
        let clustering = kmeans(&latents, config.k, config.seed)?;
        let channels = match config.mode {
            PriorMode::PerStructure => STRUCTURES,
            PriorMode::ClassAgnostic => 1,
        };
        let plane = config.side * config.side;
        let mut sums = vec![0f64; config.k * channels * plane];
        let mut counts = vec![0usize; config.k * channels];
        for (sample, &cluster) in samples.iter().zip(&clustering.assignments) {
            let map = resize_nearest(sample.label_map, sample.size, config.side);
            for c in 0..channels {
                let annotated = match config.mode {
                    PriorMode::PerStructure => sample.annotated[c],
                    PriorMode::ClassAgnostic => sample.annotated.iter().any(|&a| a),
                };
                if !annotated {
                    continue;
                }
                counts[cluster * channels + c] += 1;
                let offset = (cluster * channels + c) * plane;
                for (i, &label) in map.iter().enumerate() {
                    let hit = match config.mode {
                        PriorMode::PerStructure => label as usize == c + 1,
                        PriorMode::ClassAgnostic => label > 0,
                    };
                    if hit {
                        sums[offset + i] += 1.0;
                    }
                }
            }
        }
        let centre_masks = sums
            .chunks(plane)
            .zip(&counts)
            .flat_map(|(chunk, &n)| {
                chunk
                    .iter()
                    .map(move |&v| if n == 0 { 0.0 } else { (v / n as f64) as f32 })
            })
            .collect();
        let planes: Vec<Option<String>> = samples
            .iter()
            .map(|s| s.plane.map(str::to_string))
            .collect();
        Ok(Self {
            extractor: config.extractor,
            k: config.k,
            mode: config.mode,
            side: config.side,
            seed: config.seed,
            purity: PurityReport::new(config.k, &clustering.assignments, &planes),
            prototypes: clustering.centroids,
            centre_masks,
        })
    }

    /// Channels of the centre masks (3 per structure, or 1).
    pub fn channels(&self) -> usize {
        match self.mode {
            PriorMode::PerStructure => STRUCTURES,
            PriorMode::ClassAgnostic => 1,
        }
    }

    /// The channel used for a structure index (0 LV, 1 MYO, 2 LA).
    fn channel(&self, structure: usize) -> usize {
        match self.mode {
            PriorMode::PerStructure => structure.min(STRUCTURES - 1),
            PriorMode::ClassAgnostic => 0,
        }
    }

    /// The centre mask of cluster `k` for `structure`, `side x side` row-major.
    pub fn centre_mask(&self, k: usize, structure: usize) -> &[f32] {
        let plane = self.side * self.side;
        let offset = (k * self.channels() + self.channel(structure)) * plane;
        &self.centre_masks[offset..offset + plane]
    }

    /// Cosine similarity of a latent to each prototype.
    pub fn similarities(&self, latent: &[f32]) -> error::Result<Vec<f32>> {
        let d = self.prototypes.first().map(Vec::len).unwrap_or(0);
        if latent.len() != d {
            return Err(PcMaskError::Shape(format!(
                "latent of length {} for prototypes of length {d}",
                latent.len()
            )));
        }
        Ok(self.prototypes.iter().map(|p| cosine(latent, p)).collect())
    }

    /// The K-channel prior `[K, side, side]`: channel k = centre mask k x similarity k.
    pub fn prior(&self, latent: &[f32], structure: usize) -> error::Result<Vec<f32>> {
        let sims = self.similarities(latent)?;
        Ok(sims
            .iter()
            .enumerate()
            .flat_map(|(k, &s)| self.centre_mask(k, structure).iter().map(move |&m| m * s))
            .collect())
    }

    /// Batched prior `[B, K, side, side]` for latents `[B, D]` and each sample's structure.
    pub fn prior_tensor<B: Backend>(
        &self,
        latents: Tensor<B, 2>,
        structures: &[usize],
    ) -> error::Result<Tensor<B, 4>> {
        let [b, d] = latents.dims();
        let device = latents.device();
        if structures.len() != b || self.prototypes.iter().any(|p| p.len() != d) {
            return Err(PcMaskError::Shape(format!(
                "{b} latents of length {d}, {} structures, prototypes of length {}",
                structures.len(),
                self.prototypes.first().map(Vec::len).unwrap_or(0)
            )));
        }
        let unit = |x: Tensor<B, 2>| {
            let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
            x / norm
        };
        let protos: Vec<f32> = self.prototypes.iter().flatten().copied().collect();
        let protos = Tensor::<B, 2>::from_data(TensorData::new(protos, [self.k, d]), &device);
        let sims = unit(latents).matmul(unit(protos).transpose()); // [B, K]
        let (k, c, side) = (self.k, self.channels(), self.side);
        // [K, C, s, s] -> [C, K, s, s], then one structure per sample.
        let masks = Tensor::<B, 4>::from_data(
            TensorData::new(self.centre_masks.clone(), [k, c, side, side]),
            &device,
        )
        .swap_dims(0, 1);
        let index: Vec<i64> = structures.iter().map(|&s| self.channel(s) as i64).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [b]), &device);
        Ok(masks.select(0, index) * sims.reshape([b, k, 1, 1]))
    }

    /// Writes `centre_masks.npy`, then `prior.json`, into `dir` (each written aside, then
    /// renamed): `prior.json` is the marker a reader goes by, so a kill part-way leaves no
    /// `prior.json` pointing at missing masks.
    pub fn save(&self, dir: &Path) -> error::Result<()> {
        let err = |path: &Path, e: &dyn std::fmt::Display| PcMaskError::Artefact {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        fs::create_dir_all(dir).map_err(|e| err(dir, &e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(dir, &e))?;
        let npy = encode_f32(
            &self.centre_masks,
            &[self.k, self.channels(), self.side, self.side],
        );
        for (name, bytes) in [("centre_masks.npy", npy), ("prior.json", json)] {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            fs::write(&tmp, bytes).map_err(|e| err(&tmp, &e))?;
            fs::rename(&tmp, &path).map_err(|e| err(&path, &e))?;
        }
        Ok(())
    }

    /// Reads a prior written by [`save`](Self::save), checking that its parts agree.
    pub fn load(dir: &Path) -> error::Result<Self> {
        let json_path = dir.join("prior.json");
        let bad = |path: &Path, message: String| PcMaskError::Artefact {
            path: path.to_path_buf(),
            message,
        };
        let text = fs::read(&json_path).map_err(|e| bad(&json_path, e.to_string()))?;
        let mut prior: Self = serde_json::from_slice(&text)
            .map_err(|e| bad(&json_path, format!("not a fitted prior: {e}")))?;
        let npy_path = dir.join("centre_masks.npy");
        let masks = read_npy(&npy_path).map_err(|e| bad(&npy_path, e.to_string()))?;
        let expected = vec![prior.k, prior.channels(), prior.side, prior.side];
        if masks.shape != expected {
            // Either file may be at fault: name both.
            return Err(bad(
                &npy_path,
                format!(
                    "shape {:?}, but {} expects {expected:?}",
                    masks.shape,
                    json_path.display()
                ),
            ));
        }
        let d = prior.prototypes.first().map(Vec::len).unwrap_or(0);
        if prior.prototypes.len() != prior.k
            || d == 0
            || prior.prototypes.iter().any(|p| p.len() != d)
        {
            return Err(bad(
                &json_path,
                format!("expected {} prototypes of equal length", prior.k),
            ));
        }
        prior.centre_masks = masks.data;
        Ok(prior)
    }
}
