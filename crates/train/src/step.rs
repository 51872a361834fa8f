//! One training step on one device: forward, the EchoONE loss, backward, and the optimiser
//! update with per-module learning rates. The pieces are shared with the data-parallel step.

use std::collections::BTreeMap;

use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use echoone_data::SegBatch;
use echoone_losses::EchoOneLoss;
use echoone_model::EchoOne;

use crate::error::Result;
use crate::param_graph::join_parameter_graphs;
use echoone_run::config::ModuleLr;

/// The loss terms of a step, by name.
pub type LossTerms = Vec<(&'static str, f64)>;

/// Gradients of a part of the model and the factor of the learning rate they are applied with.
pub type GradientsPart = (f64, GradientsParams);

/// One training step on a batch: forward, the EchoONE loss, backward and the optimiser update.
/// Returns the updated model and the batch's loss terms (`loss`, `main_bce`, `main_dice`, and
/// `coarse_bce`, `coarse_dice` with PC-Mask).
pub fn train_step<B, O>(
    model: EchoOne<B>,
    optim: &mut O,
    batch: SegBatch<B>,
    prior: Option<Tensor<B, 4>>,
    loss_fn: &EchoOneLoss,
    lr: f64,
    module_lr: &[ModuleLr],
) -> Result<(EchoOne<B>, LossTerms)>
where
    B: AutodiffBackend,
    O: Optimizer<EchoOne<B>, B>,
{
    let (loss, values) = forward_loss(&model, batch, prior, loss_fn)?;
    let parts = split_grads(loss.backward(), &model, module_lr);
    Ok((apply(optim, lr, model, parts), values))
}

/// The total loss of `batch` (to differentiate) and its terms' values.
pub(crate) fn forward_loss<B: AutodiffBackend>(
    model: &EchoOne<B>,
    batch: SegBatch<B>,
    prior: Option<Tensor<B, 4>>,
    loss_fn: &EchoOneLoss,
) -> Result<(Tensor<B, 1>, LossTerms)> {
    join_parameter_graphs(model);
    let out = model.forward_shared(
        batch.images,
        &batch.image_of,
        batch.points,
        batch.point_labels,
        prior,
    )?;
    let loss = loss_fn.forward(out.logits, out.coarse_logits, batch.low_res_targets)?;
    let terms = [
        ("loss", Some(loss.total.clone())),
        ("main_bce", Some(loss.main_bce)),
        ("main_dice", Some(loss.main_dice)),
        ("coarse_bce", loss.coarse_bce),
        ("coarse_dice", loss.coarse_dice),
    ];
    let values = terms
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| (name, f64::from(t.into_scalar().elem::<f32>()))))
        .collect();
    Ok((loss.total, values))
}

/// Splits the gradients of `model` into the modules with a learning-rate factor, in the order
/// of `module_lr`, and the rest (factor 1) last.
pub(crate) fn split_grads<B: AutodiffBackend>(
    mut grads: B::Gradients,
    model: &EchoOne<B>,
    module_lr: &[ModuleLr],
) -> Vec<GradientsPart> {
    let mut parts = Vec::with_capacity(module_lr.len() + 1);
    for m in module_lr {
        let part = match m.module.as_str() {
            "image_encoder" => GradientsParams::from_module(&mut grads, &model.image_encoder),
            "prompt_encoder" => GradientsParams::from_module(&mut grads, &model.prompt_encoder),
            "mask_decoder" => GradientsParams::from_module(&mut grads, &model.mask_decoder),
            "fusion" => GradientsParams::from_module(&mut grads, &model.fusion),
            "prior_unet" => match &model.prior_unet {
                Some(unet) => GradientsParams::from_module(&mut grads, unet),
                None => continue,
            },
            _ => continue,
        };
        parts.push((m.factor, part));
    }
    parts.push((1.0, GradientsParams::from_grads(grads, model)));
    parts
}

/// The optimiser steps of one training step: each part at `lr` times its factor, in order.
pub(crate) fn apply<B, O>(
    optim: &mut O,
    lr: f64,
    model: EchoOne<B>,
    parts: Vec<GradientsPart>,
) -> EchoOne<B>
where
    B: AutodiffBackend,
    O: Optimizer<EchoOne<B>, B>,
{
    parts.into_iter().fold(model, |model, (factor, grads)| {
        optim.step(lr * factor, model, grads)
    })
}

/// Where training stands after a step.
#[derive(Debug, Clone, Copy)]
pub struct StepStatus<'a> {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Epochs of the run.
    pub epochs: usize,
    /// The step within the epoch, from 1.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// Items in this step's batch.
    pub items: usize,
    /// This step's loss terms.
    pub losses: &'a LossTerms,
    /// Each term times its batch's items, summed over the epoch so far.
    pub totals: &'a BTreeMap<String, f64>,
    /// The epoch's items so far.
    pub seen: usize,
    /// The learning rate of this step.
    pub lr: f64,
    /// Training samples per second over the epoch so far.
    pub rate: f64,
}
