//! The order of an epoch's items: a function of (seed, epoch) only, so a resumed run sees the
//! batches an uninterrupted one would.

use std::collections::BTreeMap;

use burn::data::dataset::Dataset;
use echoone_data::SegmentationDataset;
use echoone_data::rng::Rng;
use echoone_run::config::ItemOrder;

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
