//! Items and batches for the model: items prepared on worker threads without changing what they
//! are, stacked into batches with the prior of their samples.

use burn::data::dataset::Dataset;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_data::{SegBatch, SegBatcher, SegItem, SegmentationDataset, Structure};

use crate::error::{InferError, Result};
use crate::run_prior::BatchPrior;

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
        return Err(InferError::Config(format!(
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
