//! The training pipeline as a burn `Dataset`: one item per (image, annotated structure), the
//! image resized to the model size, augmented in training, its binary target at full and low
//! resolution, and a point prompt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataset::Dataset;
use serde::{Deserialize, Serialize};

use crate::augment::{AugmentConfig, augment};
use crate::prompt::{Point, eval_point, train_point};
use crate::resize::{Plane32, bilinear, nearest};
use crate::rng::Rng;
use crate::sample::{Plane, Sample, Split, Structure};

/// Training (random augmentation and clicks) or evaluation (none, fixed clicks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Augment and click a random pixel of the structure.
    Train,
    /// No augmentation; click the middle pixel of the structure.
    Eval,
}

/// Sizes and augmentation of the pipeline (defaults: 256 input, 128 low-res target).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Side of the square model input.
    pub image_size: usize,
    /// Side of the square low-resolution target (the decoder's output size).
    pub low_res_size: usize,
    /// Augmentations (used in `Mode::Train` only).
    pub augment: AugmentConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            image_size: 256,
            low_res_size: 128,
            augment: AugmentConfig::default(),
        }
    }
}

/// One model input: an image, one structure's binary targets and a click.
#[derive(Debug, Clone, PartialEq)]
pub struct SegItem {
    /// Image, `size` x `size`, row-major, in [0, 1].
    pub image: Vec<f32>,
    /// Binary target at `size` x `size` (1 on the structure).
    pub target: Vec<u8>,
    /// Binary target at `low_res` x `low_res` (nearest from the full target).
    pub low_res_target: Vec<u8>,
    /// Side of `image` and `target`.
    pub size: usize,
    /// Side of `low_res_target`.
    pub low_res: usize,
    /// The click, in pixels of `image`.
    pub point: Point,
    /// The prompted structure.
    pub structure: Structure,
    /// What the item came from.
    pub meta: ItemMeta,
}

/// Where an item comes from, for reports and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMeta {
    /// Index of the sample in the dataset's sample list.
    pub sample: usize,
    /// `SampleInfo::stem` of the sample.
    pub stem: String,
    /// Dataset name.
    pub dataset: String,
    /// Centre or sub-set, when known.
    pub centre: Option<String>,
    /// Case id.
    pub case: String,
    /// Plane.
    pub plane: Plane,
    /// The split of the case, when assigned.
    pub split: Option<Split>,
    /// Pixel spacing [x, y] in mm at model size, when the source gives one.
    pub spacing: Option<[f64; 2]>,
}

/// A sample resized to the model size, kept ready for augmentation.
#[derive(Debug, Clone)]
struct Prepared {
    image: Plane32,
    label: Vec<u8>,
    meta: ItemMeta,
}

/// The samples as (image, structure) items, resized once at construction.
pub struct SegmentationDataset {
    prepared: Arc<Vec<Prepared>>,
    items: Vec<(usize, Structure)>,
    config: PipelineConfig,
    mode: Mode,
    seed: u64,
    epoch: AtomicU64,
}

impl SegmentationDataset {
    /// One item per annotated structure of every sample (a structure annotated but absent gives
    /// an empty target and a background click).
    pub fn new(samples: &[Sample], config: PipelineConfig, mode: Mode, seed: u64) -> Self {
        let size = config.image_size.max(1);
        let prepared: Vec<Prepared> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| prepare(i, s, size))
            .collect();
        let items = samples
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.annotated.iter().map(move |st| (i, st)))
            .collect();
        Self {
            prepared: Arc::new(prepared),
            items,
            config,
            mode,
            seed,
            epoch: AtomicU64::new(0),
        }
    }

    /// The items of the samples in `split` only.
    pub fn for_split(
        samples: &[Sample],
        split: Split,
        config: PipelineConfig,
        mode: Mode,
        seed: u64,
    ) -> Self {
        let chosen: Vec<Sample> = samples
            .iter()
            .filter(|s| s.info.split == Some(split))
            .cloned()
            .collect();
        Self::new(&chosen, config, mode, seed)
    }

    /// Sets the epoch: training augmentation and clicks are a function of (seed, epoch, index),
    /// whatever the worker threads' order.
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    /// The (sample, structure) pair behind item `index`.
    pub fn pair(&self, index: usize) -> Option<(usize, Structure)> {
        self.items.get(index).copied()
    }

    /// The item at `index` in `epoch`. Training draws the augmentation from (seed, epoch,
    /// sample), so the structures of one image share it (and, in one batch, its encoding: see
    /// [`SegBatcher`](crate::SegBatcher)), and the click from (seed, epoch, item).
    pub fn item_at(&self, index: usize, epoch: u64) -> Option<SegItem> {
        let (sample, structure) = *self.items.get(index)?;
        let p = &self.prepared[sample];
        let mut image = p.image.clone();
        let mut label = p.label.clone();
        let mut rng = Rng::derive(self.seed, &[epoch, index as u64]);
        if self.mode == Mode::Train {
            let mut image_rng = Rng::derive(self.seed, &[epoch, sample as u64, 0x1a6e]);
            augment(&mut image, &mut label, &self.config.augment, &mut image_rng);
        }
        let size = image.width;
        let value = structure.label();
        let target: Vec<u8> = label.iter().map(|&v| u8::from(v == value)).collect();
        let low = self.config.low_res_size.max(1);
        let low_res_target = nearest(&target, size, size, low, low);
        let point = match self.mode {
            Mode::Train => train_point(&target, size, &mut rng),
            Mode::Eval => eval_point(&target, size),
        };
        Some(SegItem {
            image: image
                .data
                .iter()
                .map(|v| (v / 255.0).clamp(0.0, 1.0))
                .collect(),
            target,
            low_res_target,
            size,
            low_res: low,
            point,
            structure,
            meta: p.meta.clone(),
        })
    }
}

fn prepare(index: usize, s: &Sample, size: usize) -> Prepared {
    let (w, h) = (s.image.width() as usize, s.image.height() as usize);
    let image = bilinear(&Plane32::from_gray(&s.image), size, size);
    let label = nearest(s.label.as_raw(), w, h, size, size);
    let spacing = s
        .info
        .spacing
        .map(|[sx, sy]| [sx * w as f64 / size as f64, sy * h as f64 / size as f64]);
    Prepared {
        image,
        label,
        meta: ItemMeta {
            sample: index,
            stem: s.info.stem(),
            dataset: s.info.dataset.clone(),
            centre: s.info.centre.clone(),
            case: s.info.case.clone(),
            plane: s.info.plane,
            split: s.info.split,
            spacing,
        },
    }
}

impl Dataset<SegItem> for SegmentationDataset {
    fn get(&self, index: usize) -> Option<SegItem> {
        self.item_at(index, self.epoch.load(Ordering::Relaxed))
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StructureSet;
    use crate::synthetic::SyntheticConfig;

    fn samples() -> Vec<Sample> {
        SyntheticConfig {
            cases: 1,
            width: 120,
            height: 100,
            ..Default::default()
        }
        .generate(0)
        .unwrap()
    }

    #[test]
    fn one_item_per_image_and_structure_with_consistent_targets() {
        let s = samples();
        let ds = SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Eval, 1);
        assert_eq!(ds.len(), s.len() * 3);
        for i in 0..ds.len() {
            let item = ds.get(i).unwrap();
            assert_eq!(item.image.len(), 256 * 256);
            assert_eq!(item.low_res_target.len(), 128 * 128);
            assert!(item.image.iter().all(|v| (0.0..=1.0).contains(v)));
            let on = item.target[item.point.y as usize * 256 + item.point.x as usize];
            assert_eq!(on as i32, item.point.label);
            let absent = item.target.iter().all(|&v| v == 0);
            assert_eq!(absent, item.point.label == 0);
            // LA is absent exactly on PSAX.
            assert_eq!(
                absent,
                item.structure == Structure::La && item.meta.plane == Plane::ShortAxis
            );
            let sp = item.meta.spacing.unwrap();
            assert!((sp[0] / sp[1] - 120.0 / 100.0).abs() < 1e-9);
        }
        assert!(ds.get(ds.len()).is_none());
    }

    #[test]
    fn a_structure_not_annotated_is_never_a_target() {
        // As HMC-QU annotates MYO only: one sample keeps its MYO, the other keep all three.
        let mut s = samples();
        let total = s.len();
        let only_myo = &mut s[1];
        for v in only_myo.label.iter_mut() {
            if *v != Structure::Myo.label() {
                *v = 0;
            }
        }
        let checked = Sample::new(
            only_myo.image.clone(),
            only_myo.label.clone(),
            StructureSet::of(&[Structure::Myo]),
            only_myo.info.clone(),
            std::path::Path::new("only_myo"),
        )
        .unwrap();
        s[1] = checked;
        let ds = SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Eval, 1);
        assert_eq!(ds.len(), (total - 1) * 3 + 1);
        let of_one: Vec<Structure> = (0..ds.len())
            .map(|i| ds.get(i).unwrap())
            .filter(|item| item.meta.sample == 1)
            .map(|item| item.structure)
            .collect();
        assert_eq!(of_one, [Structure::Myo]);
    }

    #[test]
    fn training_items_vary_with_epoch_but_not_with_call_order() {
        let s = samples();
        let ds = SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Train, 1);
        let a = ds.get(5).unwrap();
        let _ = ds.get(3);
        assert_eq!(ds.get(5).unwrap(), a);
        let changed = (1..6).any(|e| {
            ds.set_epoch(e);
            ds.get(5).unwrap() != a
        });
        assert!(changed);
        let eval = SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Eval, 1);
        eval.set_epoch(3);
        assert_eq!(
            eval.get(5),
            SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Eval, 9).get(5)
        );
    }

    #[test]
    fn structures_of_an_image_share_its_augmentation_in_an_epoch() {
        let s = samples();
        let config = PipelineConfig {
            augment: AugmentConfig {
                p_gamma: 1.0,
                p_rotate: 1.0,
                p_scale: 1.0,
                p_contrast: 1.0,
                ..AugmentConfig::default()
            },
            ..PipelineConfig::default()
        };
        let ds = SegmentationDataset::new(&s, config, Mode::Train, 1);
        let plain = SegmentationDataset::new(&s, PipelineConfig::default(), Mode::Eval, 1);
        for epoch in [1, 2] {
            ds.set_epoch(epoch);
            let [lv, myo, la] = [0, 1, 2].map(|i| ds.get(i).unwrap());
            assert_eq!(lv.image, myo.image);
            assert_eq!(lv.image, la.image);
            assert_ne!(lv.image, plain.get(0).unwrap().image, "augmented");
            assert_ne!(lv.image, ds.get(3).unwrap().image, "another sample");
        }
        ds.set_epoch(1);
        let first = ds.get(0).unwrap().image;
        ds.set_epoch(2);
        assert_ne!(ds.get(0).unwrap().image, first, "drawn anew each epoch");
    }
}
