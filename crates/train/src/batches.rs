//! Deterministic batches: the order of an epoch is a function of (seed, epoch), and items are
//! prepared on worker threads without changing what they are.

use std::collections::BTreeMap;

use burn::data::dataset::Dataset;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_data::rng::Rng;
use echoone_data::{SegBatch, SegBatcher, SegItem, SegmentationDataset, Structure};

use crate::config::ItemOrder;
use crate::error::{Result, TrainError};
use crate::prior::BatchPrior;

/// The shuffled item order of `epoch`: the same for the same (seed, epoch), whatever happened
/// before (so a resumed run sees the batches an uninterrupted one would).
pub fn epoch_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    shuffle(
        &mut order,
        &mut Rng::derive(seed, &[0x005e_ed0f_e90c, epoch]),
    );
    order
}

/// The item order of `epoch` for `dataset` under `order`.
pub fn epoch_items(
    dataset: &SegmentationDataset,
    order: ItemOrder,
    seed: u64,
    epoch: u64,
) -> Vec<usize> {
    match order {
        ItemOrder::Shuffled => epoch_order(dataset.len(), seed, epoch),
        ItemOrder::ByImage => {
            let image_of: Vec<usize> = (0..dataset.len())
                .filter_map(|i| dataset.pair(i).map(|(sample, _)| sample))
                .collect();
            epoch_order_by_image(&image_of, seed, epoch)
        }
    }
}

/// The item order of `epoch` with the items of one image together: the images shuffled, then
/// each image's items shuffled (`image_of[i]` is the image of item `i`). A function of (seed,
/// epoch) only, like [`epoch_order`].
pub fn epoch_order_by_image(image_of: &[usize], seed: u64, epoch: u64) -> Vec<usize> {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (item, &image) in image_of.iter().enumerate() {
        groups.entry(image).or_default().push(item);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    let mut rng = Rng::derive(seed, &[0x005e_ed0f_e90c, epoch, 1]);
    shuffle(&mut groups, &mut rng);
    for g in groups.iter_mut() {
        shuffle(g, &mut rng);
    }
    groups.concat()
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Prepares the items at `indices` on up to `workers` threads, in the order given.
pub fn load_items(
    dataset: &SegmentationDataset,
    indices: &[usize],
    workers: usize,
) -> Result<Vec<SegItem>> {
    let threads = workers.clamp(1, indices.len().max(1));
    let per = indices.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<Option<SegItem>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(per)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|&i| dataset.get(i)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let items: Vec<SegItem> = parts.into_iter().flatten().flatten().collect();
    if items.len() != indices.len() {
        return Err(TrainError::Config(format!(
            "{} of {} items could not be prepared",
            indices.len() - items.len(),
            indices.len()
        )));
    }
    Ok(items)
}

/// Stacks items into a batch on `device`, its images padded to `image_slots` (see
/// [`SegBatcher::batch_with_slots`]; 0: no padding).
pub fn batch<B: Backend>(
    items: Vec<SegItem>,
    image_slots: usize,
    device: &B::Device,
) -> SegBatch<B> {
    SegBatcher.batch_with_slots(items, image_slots, device)
}

/// The most distinct images in one of `batches` (lists of item indices of `dataset`): the
/// image slots that give every batch the same shapes. Items of one sample share their image
/// (in training its structures share the augmentation), so distinct samples are counted.
pub fn image_slots<'a>(
    dataset: &SegmentationDataset,
    batches: impl IntoIterator<Item = &'a [usize]>,
) -> usize {
    batches
        .into_iter()
        .map(|chunk| {
            let mut samples: Vec<usize> = chunk
                .iter()
                .filter_map(|&i| dataset.pair(i).map(|(sample, _)| sample))
                .collect();
            samples.sort_unstable();
            samples.dedup();
            samples.len()
        })
        .max()
        .unwrap_or(0)
}

/// Stacks items into a batch on `device` (images padded to `image_slots`), with their PC-Mask
/// prior when the run has one.
pub fn batch_with_prior<B: Backend>(
    items: Vec<SegItem>,
    prior: Option<&BatchPrior<'_>>,
    image_slots: usize,
    device: &B::Device,
) -> Result<(SegBatch<B>, Option<Tensor<B, 4>>)> {
    let samples: Vec<usize> = items.iter().map(|i| i.meta.sample).collect();
    let structures: Vec<Structure> = items.iter().map(|i| i.structure).collect();
    let batch = batch::<B>(items, image_slots, device);
    let prior = match prior {
        Some(p) => Some(p.tensor::<B>(&samples, &structures, device)?),
        None => None,
    };
    Ok((batch, prior))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_image_order_keeps_each_image_together_and_depends_on_seed_and_epoch_only() {
        // 5 images with 3 items each, interleaved as a dataset might list them.
        let image_of: Vec<usize> = (0..15).map(|i| i % 5).collect();
        let order = epoch_order_by_image(&image_of, 7, 1);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..15).collect::<Vec<_>>(), "a permutation");
        for run in order.chunks(3) {
            assert!(
                run.iter().all(|&i| image_of[i] == image_of[run[0]]),
                "{order:?}"
            );
        }
        assert_eq!(order, epoch_order_by_image(&image_of, 7, 1));
        assert_ne!(order, epoch_order_by_image(&image_of, 7, 2));
        assert_ne!(order, epoch_order_by_image(&image_of, 8, 1));
    }

    #[test]
    fn shuffled_order_is_a_permutation_fixed_by_seed_and_epoch() {
        let order = epoch_order(40, 3, 2);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..40).collect::<Vec<_>>());
        assert_eq!(order, epoch_order(40, 3, 2));
        assert_ne!(order, epoch_order(40, 3, 3));
    }
}
