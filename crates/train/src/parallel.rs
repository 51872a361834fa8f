//! Data parallelism over several devices with burn's own multi-device mechanism, the one of
//! burn-train 0.21's `MultiDevice` strategy with the optimiser on the main device
//! (`MultiDeviceOptim::OptimMainDevice`): every device gets a share of the batch and a fork of
//! the model (`Module::fork`) and computes its gradients on its own thread; the gradients are
//! moved to the main device (`GradientsParams::to_device`), summed there
//! (`GradientsAccumulator`) and applied in one optimiser step.
//!
//! Unlike burn-train, which gives every device a batch of its own, a batch is split: each
//! share's loss is weighted by its fraction of the batch, so the summed gradient is the gradient
//! of the batch's mean loss and the effective batch is the configured batch size, whatever the
//! number of devices (same steps per epoch, schedule and data order as on one device). Terms
//! that are not means over items are computed per share: the Dice loss (over a share's pixels)
//! and BatchNorm's batch statistics (PC-Mask's prior U-Net), so a split step is close to, not
//! equal to, a step on the whole batch.

use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use echoone_data::{SegBatch, SegItem};
use echoone_losses::EchoOneLoss;
use echoone_model::EchoOne;

use crate::collective::{Collective, average_running_statistics, sum_gradients, sum_terms};
use crate::error::{Result, TrainError};
use crate::step::{LossTerms, apply, forward_loss, split_params, term_names};
use echoone_infer::items::batch_with_prior;
use echoone_infer::run_prior::BatchPrior;
use echoone_run::config::ModuleLr;

/// A device's share of a batch.
pub struct Share<B: AutodiffBackend> {
    /// The device it runs on.
    pub device: B::Device,
    /// Its items, stacked on `device`.
    pub batch: SegBatch<B>,
    /// Their PC-Mask prior, on `device`.
    pub prior: Option<Tensor<B, 4>>,
    /// Its fraction of the batch's items (the weight of its loss).
    pub weight: f64,
}

/// Splits `items` into contiguous shares, one per device in order (the first ones one item
/// larger when the batch does not divide evenly; fewer shares than devices when it has fewer
/// items), each stacked on its device.
pub fn shares<B: AutodiffBackend>(
    items: Vec<SegItem>,
    prior: Option<&BatchPrior<'_>>,
    devices: &[B::Device],
) -> Result<Vec<Share<B>>> {
    rank_shares(items, prior, devices, 0, 1)
}

/// The shares of process `rank` of `ranks` that each hold `devices`: `items` (the whole batch)
/// split as [`shares`] splits it over `ranks` × `devices.len()` devices, and this process's
/// devices given the shares `rank * devices.len()` onwards. Each share's weight is its fraction
/// of the whole batch. A process may get fewer shares than devices, or none.
pub fn rank_shares<B: AutodiffBackend>(
    items: Vec<SegItem>,
    prior: Option<&BatchPrior<'_>>,
    devices: &[B::Device],
    rank: usize,
    ranks: usize,
) -> Result<Vec<Share<B>>> {
    if devices.is_empty() || rank >= ranks {
        return Err(TrainError::Config("no device to train on".into()));
    }
    let total = items.len();
    let all = devices.len() * ranks;
    let size = |i: usize| total / all + usize::from(i < total % all);
    let first = rank * devices.len();
    let before: usize = (0..first).map(size).sum();
    let mut rest = items.into_iter().skip(before);
    let mut out = Vec::with_capacity(devices.len());
    for (i, device) in devices.iter().enumerate() {
        let size = size(first + i);
        if size == 0 {
            break;
        }
        let part: Vec<SegItem> = rest.by_ref().take(size).collect();
        let (batch, prior) = batch_with_prior::<B>(part, prior, 0, device)?;
        out.push(Share {
            device: device.clone(),
            batch,
            prior,
            weight: size as f64 / total as f64,
        });
    }
    Ok(out)
}

/// One data-parallel training step: each share's weighted loss and gradients on its device
/// and thread, the gradients summed on `main` (where `model` lives) and, with `collective`,
/// over every process, then one optimiser update with the parts of `module_lr`. Returns the
/// updated model, the batch's loss terms (the shares' terms weighted as their losses) and
/// whether a process of `collective` was asked to stop (`stop`: whether this one was).
#[allow(clippy::too_many_arguments)]
pub fn parallel_step<B, O>(
    model: EchoOne<B>,
    optim: &mut O,
    shares: Vec<Share<B>>,
    main: &B::Device,
    loss_fn: &EchoOneLoss,
    lr: f64,
    module_lr: &[ModuleLr],
    collective: Option<(&dyn Collective, bool)>,
) -> Result<(EchoOne<B>, LossTerms, bool)>
where
    B: AutodiffBackend,
    O: Optimizer<EchoOne<B>, B>,
{
    // A clone of a burn `Param` not yet initialised initialises on its own: forking initialises
    // the lazy parameters of a new model once, here, so that every replica has their values.
    let model = model.fork(main);
    let results: Vec<Result<(GradientsParams, LossTerms)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let replica = model.clone();
                scope.spawn(move || share_grads(replica, share, main, loss_fn))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut accumulator = GradientsAccumulator::<EchoOne<B>>::new();
    let mut terms: LossTerms = LossTerms::new();
    for result in results {
        let (grads, share_terms) = result?;
        accumulator.accumulate(&model, grads);
        if terms.is_empty() {
            terms = share_terms.iter().map(|(name, _)| (*name, 0.0)).collect();
        }
        for ((_, sum), (_, v)) in terms.iter_mut().zip(share_terms) {
            *sum += v;
        }
    }
    let mut grads = accumulator.grads();
    let mut stop = false;
    if let Some((collective, stop_here)) = collective {
        if terms.is_empty() {
            // A process given no item of this batch adds zeros.
            terms = term_names(model.prior_unet.is_some())
                .map(|name| (name, 0.0))
                .collect();
        }
        grads = sum_gradients::<B, _>(collective, grads, &model, main);
        stop = sum_terms(collective, &mut terms, stop_here);
    }
    let parts = split_params(grads, &model, module_lr);
    let model = apply(optim, lr, model, parts);
    // BatchNorm's running statistics (burn's `RunningState`) keep each thread's update until
    // synced. Syncing once every share has updated makes them the mean of the shares', the
    // same whatever the threads' timing; `valid` syncs them.
    drop(model.valid());
    let model = match collective {
        Some((collective, _)) => average_running_statistics(collective, model),
        None => model,
    };
    Ok((model, terms, stop))
}

/// A share's gradients (on `main`) and loss terms, both weighted.
fn share_grads<B: AutodiffBackend>(
    model: EchoOne<B>,
    share: Share<B>,
    main: &B::Device,
    loss_fn: &EchoOneLoss,
) -> Result<(GradientsParams, LossTerms)> {
    let replica = model.fork(&share.device);
    let (loss, terms) = forward_loss(&replica, share.batch, share.prior, loss_fn)?;
    let grads = loss.mul_scalar(share.weight).backward();
    let grads = GradientsParams::from_grads(grads, &replica).to_device(main, &replica);
    let terms = terms
        .into_iter()
        .map(|(name, v)| (name, v * share.weight))
        .collect();
    Ok((grads, terms))
}
