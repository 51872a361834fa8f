//! The burn batcher: stacks items into tensors on the training device.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::dataset::{ItemMeta, SegItem};

/// A batch of B items (S the model size, L the low-res size) on N distinct images.
#[derive(Debug, Clone)]
pub struct SegBatch<B: Backend> {
    /// The distinct images [N, 1, S, S], grey in [0, 1]: items of one image with the same
    /// pixels (its structures, under the same augmentation) share it, so it is encoded once.
    pub images: Tensor<B, 4>,
    /// Index in `images` of each item's image (B entries).
    pub image_of: Vec<usize>,
    /// Binary targets [B, 1, S, S] as 0.0 / 1.0.
    pub targets: Tensor<B, 4>,
    /// Binary low-res targets [B, 1, L, L] as 0.0 / 1.0.
    pub low_res_targets: Tensor<B, 4>,
    /// Click coordinates [B, 1, 2] as (x, y) in pixels of the S x S image.
    pub points: Tensor<B, 3>,
    /// Click labels [B, 1]: 1 foreground, 0 background (structure absent).
    pub point_labels: Tensor<B, 2, Int>,
    /// Prompted structure `[B]` as its label value (1 LV, 2 MYO, 3 LA).
    pub structures: Tensor<B, 1, Int>,
    /// Plane `[B]` as `Plane::id` (0 2CH, 1 3CH, 2 4CH, 3 PSAX, 4 unknown).
    pub planes: Tensor<B, 1, Int>,
    /// Per-item provenance (case, plane, spacing at model size, ...).
    pub meta: Vec<ItemMeta>,
}

/// Batches `SegItem`s, each distinct image once; every item of a batch must have the same sizes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegBatcher;

impl<B: Backend> Batcher<B, SegItem, SegBatch<B>> for SegBatcher {
    fn batch(&self, items: Vec<SegItem>, device: &B::Device) -> SegBatch<B> {
        self.batch_with_slots(items, 0, device)
    }
}

impl SegBatcher {
    /// Batches `items` with `images` padded by black images to at least `image_slots` (the
    /// padding is encoded but used by no item, so it changes no result): batches with a varying
    /// number of distinct images then all have the same shapes, which a backend that compiles
    /// kernels per shape compiles once.
    pub fn batch_with_slots<B: Backend>(
        &self,
        items: Vec<SegItem>,
        image_slots: usize,
        device: &B::Device,
    ) -> SegBatch<B> {
        let n = items.len();
        let s = items.first().map_or(0, |i| i.size);
        let l = items.first().map_or(0, |i| i.low_res);
        let mut images: Vec<f32> = Vec::with_capacity(n * s * s);
        let mut image_of = Vec::with_capacity(n);
        let mut sources: Vec<usize> = Vec::with_capacity(n);
        let mut targets = Vec::with_capacity(n * s * s);
        let mut low = Vec::with_capacity(n * l * l);
        let mut points = Vec::with_capacity(n * 2);
        let mut labels = Vec::with_capacity(n);
        let mut structures = Vec::with_capacity(n);
        let mut planes = Vec::with_capacity(n);
        let mut meta = Vec::with_capacity(n);
        for item in items {
            assert!(
                item.size == s && item.low_res == l,
                "SegBatcher: items of one batch must share sizes ({s}/{l} vs {}/{})",
                item.size,
                item.low_res
            );
            let shared = (0..sources.len()).find(|&k| {
                sources[k] == item.meta.sample
                    && images[k * s * s..(k + 1) * s * s] == item.image[..]
            });
            match shared {
                Some(k) => image_of.push(k),
                None => {
                    image_of.push(sources.len());
                    sources.push(item.meta.sample);
                    images.extend_from_slice(&item.image);
                }
            }
            targets.extend(item.target.iter().map(|&v| v as f32));
            low.extend(item.low_res_target.iter().map(|&v| v as f32));
            points.extend([item.point.x, item.point.y]);
            labels.push(item.point.label as i64);
            structures.push(item.structure.label() as i64);
            planes.push(item.meta.plane.id() as i64);
            meta.push(item.meta);
        }
        let slots = sources.len().max(image_slots);
        images.resize(slots * s * s, 0.0);
        let f4 = |data: Vec<f32>, count: usize, side: usize| {
            Tensor::<B, 4>::from_data(TensorData::new(data, [count, 1, side, side]), device)
        };
        SegBatch {
            images: f4(images, slots, s),
            image_of,
            targets: f4(targets, n, s),
            low_res_targets: f4(low, n, l),
            points: Tensor::from_data(TensorData::new(points, [n, 1, 2]), device),
            point_labels: Tensor::from_data(TensorData::new(labels, [n, 1]), device),
            structures: Tensor::from_data(TensorData::new(structures, [n]), device),
            planes: Tensor::from_data(TensorData::new(planes, [n]), device),
            meta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Mode, PipelineConfig, SegmentationDataset};
    use crate::synthetic::SyntheticConfig;
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::data::dataset::Dataset;

    type Be = burn_flex::Flex;

    /// The 8 images of one synthetic case at 64x64.
    fn one_case() -> Vec<crate::Sample> {
        SyntheticConfig {
            cases: 1,
            width: 64,
            height: 64,
            ..Default::default()
        }
        .generate(0)
        .unwrap()
    }

    #[test]
    fn batches_have_the_model_shapes_and_item_values() {
        let samples = one_case();
        let ds = SegmentationDataset::new(&samples, PipelineConfig::default(), Mode::Eval, 0);
        let items: Vec<SegItem> = (0..3).map(|i| ds.get(i).unwrap()).collect();
        let device = Default::default();
        let b: SegBatch<Be> = SegBatcher.batch(items.clone(), &device);
        assert_eq!(
            b.images.dims(),
            [1, 1, 256, 256],
            "one image for its 3 structures"
        );
        assert_eq!(b.image_of, [0, 0, 0]);
        assert_eq!(b.targets.dims(), [3, 1, 256, 256]);
        assert_eq!(b.low_res_targets.dims(), [3, 1, 128, 128]);
        assert_eq!(b.points.dims(), [3, 1, 2]);
        assert_eq!(b.point_labels.dims(), [3, 1]);
        let s: Vec<i64> = b.structures.to_data().iter::<i64>().collect();
        assert_eq!(s, vec![1, 2, 3]);
        let p: Vec<f32> = b.points.to_data().to_vec().unwrap();
        assert_eq!(p[2..4], [items[1].point.x, items[1].point.y]);
        let t: f32 = b.low_res_targets.sum().into_scalar();
        let want: usize = items
            .iter()
            .map(|i| i.low_res_target.iter().filter(|&&v| v == 1).count())
            .sum();
        assert_eq!(t as usize, want);

        let pixels: Vec<f32> = b.images.to_data().to_vec().unwrap();
        assert_eq!(pixels, items[0].image);

        let loader = DataLoaderBuilder::<Be, _, _>::new(SegBatcher)
            .batch_size(4)
            .num_workers(2)
            .build(ds);
        let total: usize = loader.iter().map(|b| b.meta.len()).sum();
        assert_eq!(total, samples.len() * 3);
    }

    #[test]
    fn items_share_an_image_only_when_sample_and_pixels_agree() {
        let samples = one_case();
        let config = PipelineConfig {
            image_size: 32,
            low_res_size: 16,
            ..Default::default()
        };
        let ds = SegmentationDataset::new(&samples, config, Mode::Eval, 0);
        // Items 0..3 are sample 0's structures, 3..6 sample 1's.
        let mut items: Vec<SegItem> = [0, 3, 1, 4, 2]
            .iter()
            .map(|&i| ds.get(i).unwrap())
            .collect();
        let mut changed = items[2].clone();
        changed.image[0] += 0.5;
        items.push(changed);
        let device = Default::default();
        let b: SegBatch<Be> = SegBatcher.batch(items.clone(), &device);
        assert_eq!(b.image_of, [0, 1, 0, 1, 0, 2]);
        assert_eq!(b.images.dims(), [3, 1, 32, 32]);
        let pixels: Vec<f32> = b.images.to_data().to_vec().unwrap();
        assert_eq!(pixels[32 * 32..2 * 32 * 32], items[1].image[..]);
        assert_eq!(pixels[2 * 32 * 32..], items[5].image[..]);
        assert_eq!(b.targets.dims(), [6, 1, 32, 32]);

        let padded: SegBatch<Be> = SegBatcher.batch_with_slots(items.clone(), 5, &device);
        assert_eq!(padded.images.dims(), [5, 1, 32, 32]);
        assert_eq!(padded.image_of, b.image_of);
        let pixels: Vec<f32> = padded.images.to_data().to_vec().unwrap();
        assert_eq!(
            pixels[..3 * 32 * 32],
            b.images.to_data().to_vec::<f32>().unwrap()[..]
        );
        assert!(
            pixels[3 * 32 * 32..].iter().all(|&v| v == 0.0),
            "black padding"
        );
        let fewer: SegBatch<Be> = SegBatcher.batch_with_slots(items, 2, &device);
        assert_eq!(
            fewer.images.dims(),
            [3, 1, 32, 32],
            "never fewer than the distinct images"
        );
    }
}
