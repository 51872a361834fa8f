//! Deterministic batches: the order of an epoch is a function of (seed, epoch), and items are
//! prepared on worker threads without changing what they are.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_data::rng::Rng;
use echoone_data::{SegBatch, SegBatcher, SegItem, SegmentationDataset, Structure};

use crate::error::{Result, TrainError};
use crate::prior::BatchPrior;

/// The shuffled item order of `epoch`: the same for the same (seed, epoch), whatever happened
/// before (so a resumed run sees the batches an uninterrupted one would).
pub fn epoch_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng = Rng::derive(seed, &[0x005e_ed0f_e90c, epoch]);
    for i in (1..len).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
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

/// Stacks items into a batch on `device`.
pub fn batch<B: Backend>(items: Vec<SegItem>, device: &B::Device) -> SegBatch<B> {
    SegBatcher.batch(items, device)
}

/// Stacks items into a batch on `device`, with their PC-Mask prior when the run has one.
pub fn batch_with_prior<B: Backend>(
    items: Vec<SegItem>,
    prior: Option<&BatchPrior<'_>>,
    device: &B::Device,
) -> Result<(SegBatch<B>, Option<Tensor<B, 4>>)> {
    let samples: Vec<usize> = items.iter().map(|i| i.meta.sample).collect();
    let structures: Vec<Structure> = items.iter().map(|i| i.structure).collect();
    let batch = batch::<B>(items, device);
    let prior = match prior {
        Some(p) => Some(p.tensor::<B>(&samples, &structures, device)?),
        None => None,
    };
    Ok((batch, prior))
}
