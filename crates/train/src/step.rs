//! One training step on one device: forward, the EchoONE loss, backward, and the optimiser
//! update with per-module learning rates. The pieces are shared with the data-parallel step.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
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

/// The names of a step's loss terms, in order: the last two with PC-Mask only.
const TERMS: [&str; 5] = ["loss", "main_bce", "main_dice", "coarse_bce", "coarse_dice"];

/// The names of the loss terms of a step of a model with PC-Mask or without.
pub(crate) fn term_names(pc_mask: bool) -> impl Iterator<Item = &'static str> {
    TERMS.into_iter().take(if pc_mask { 5 } else { 3 })
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
        Some(loss.total.clone()),
        Some(loss.main_bce),
        Some(loss.main_dice),
        loss.coarse_bce,
        loss.coarse_dice,
    ];
    let values = TERMS
        .into_iter()
        .zip(terms)
        .filter_map(|(name, t)| t.map(|t| (name, f64::from(t.into_scalar().elem::<f32>()))))
        .collect();
    Ok((loss.total, values))
}

/// Splits the gradients of `model` into the modules with a learning-rate factor, in the order
/// of `module_lr`, and the rest (factor 1) last.
pub(crate) fn split_grads<B: AutodiffBackend>(
    grads: B::Gradients,
    model: &EchoOne<B>,
    module_lr: &[ModuleLr],
) -> Vec<GradientsPart> {
    split_params(GradientsParams::from_grads(grads, model), model, module_lr)
}

/// Splits `grads`, gradients of `model`'s parameters, as [`split_grads`] does.
pub(crate) fn split_params<B: AutodiffBackend>(
    mut grads: GradientsParams,
    model: &EchoOne<B>,
    module_lr: &[ModuleLr],
) -> Vec<GradientsPart> {
    let mut parts = Vec::with_capacity(module_lr.len() + 1);
    for m in module_lr {
        let part = match m.module.as_str() {
            "image_encoder" => take_module(&mut grads, &model.image_encoder),
            "prompt_encoder" => take_module(&mut grads, &model.prompt_encoder),
            "mask_decoder" => take_module(&mut grads, &model.mask_decoder),
            "fusion" => take_module(&mut grads, &model.fusion),
            "prior_unet" => match &model.prior_unet {
                Some(unet) => take_module(&mut grads, unet),
                None => continue,
            },
            _ => continue,
        };
        parts.push((m.factor, part));
    }
    parts.push((1.0, grads));
    parts
}

/// Moves the gradients of `module`'s parameters out of `grads`.
fn take_module<B: AutodiffBackend, M: Module<B>>(
    grads: &mut GradientsParams,
    module: &M,
) -> GradientsParams {
    let mut take = Take::<B> {
        from: grads,
        to: GradientsParams::new(),
        _backend: std::marker::PhantomData,
    };
    module.visit(&mut take);
    take.to
}

/// Moves each visited parameter's gradient from one set to another.
struct Take<'a, B> {
    from: &'a mut GradientsParams,
    to: GradientsParams,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Take<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.from.remove::<B::InnerBackend, D>(param.id) {
            self.to.register::<B::InnerBackend, D>(param.id, grad);
        }
    }
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
