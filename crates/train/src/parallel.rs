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
use burn::optim::{GradientsAccumulator, Optimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use echoone_data::{SegBatch, SegItem};
use echoone_losses::EchoOneLoss;
use echoone_model::EchoOne;

use crate::error::{Result, TrainError};
use crate::step::{GradientsPart, LossTerms, apply, forward_loss, split_grads};
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
    if devices.is_empty() {
        return Err(TrainError::Config("no device to train on".into()));
    }
    let total = items.len();
    let (base, extra) = (total / devices.len(), total % devices.len());
    let mut rest = items.into_iter();
    let mut out = Vec::with_capacity(devices.len());
    for (i, device) in devices.iter().enumerate() {
        let size = base + usize::from(i < extra);
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
/// and thread, the gradients summed on `main` (where `model` lives) part by part (the modules
/// of `module_lr`, then the rest), and one optimiser update. Returns the updated model and the
/// batch's loss terms (the shares' terms weighted as their losses).
pub fn parallel_step<B, O>(
    model: EchoOne<B>,
    optim: &mut O,
    shares: Vec<Share<B>>,
    main: &B::Device,
    loss_fn: &EchoOneLoss,
    lr: f64,
    module_lr: &[ModuleLr],
) -> Result<(EchoOne<B>, LossTerms)>
where
    B: AutodiffBackend,
    O: Optimizer<EchoOne<B>, B>,
{
    // A clone of a burn `Param` not yet initialised initialises on its own: forking initialises
    // the lazy parameters of a new model once, here, so that every replica has their values.
    let model = model.fork(main);
    let results: Vec<Result<(Vec<GradientsPart>, LossTerms)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let replica = model.clone();
                scope.spawn(move || share_grads(replica, share, main, loss_fn, module_lr))
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
    let mut accumulators: Vec<(f64, GradientsAccumulator<EchoOne<B>>)> = Vec::new();
    let mut terms: LossTerms = Vec::new();
    for result in results {
        let (parts, share_terms) = result?;
        if accumulators.is_empty() {
            accumulators = parts
                .iter()
                .map(|(factor, _)| (*factor, GradientsAccumulator::new()))
                .collect();
            terms = share_terms.iter().map(|(name, _)| (*name, 0.0)).collect();
        }
        for ((_, acc), (_, grads)) in accumulators.iter_mut().zip(parts) {
            acc.accumulate(&model, grads);
        }
        for ((_, sum), (_, v)) in terms.iter_mut().zip(share_terms) {
            *sum += v;
        }
    }
    let parts = accumulators
        .into_iter()
        .map(|(factor, mut acc)| (factor, acc.grads()))
        .collect();
    let model = apply(optim, lr, model, parts);
    // BatchNorm's running statistics (burn's `RunningState`) keep each thread's update until
    // synced. Syncing once every share has updated makes them the mean of the shares', the
    // same whatever the threads' timing; `valid` syncs them.
    drop(model.valid());
    Ok((model, terms))
}

/// A share's gradients (on `main`, split as `module_lr`) and loss terms, both weighted.
fn share_grads<B: AutodiffBackend>(
    model: EchoOne<B>,
    share: Share<B>,
    main: &B::Device,
    loss_fn: &EchoOneLoss,
    module_lr: &[ModuleLr],
) -> Result<(Vec<GradientsPart>, LossTerms)> {
    let replica = model.fork(&share.device);
    let (loss, terms) = forward_loss(&replica, share.batch, share.prior, loss_fn)?;
    let grads = loss.mul_scalar(share.weight).backward();
    let parts = split_grads(grads, &replica, module_lr)
        .into_iter()
        .map(|(factor, grads)| (factor, grads.to_device(main, &replica)))
        .collect();
    let terms = terms
        .into_iter()
        .map(|(name, v)| (name, v * share.weight))
        .collect();
    Ok((parts, terms))
}
