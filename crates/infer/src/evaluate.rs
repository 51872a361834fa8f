//! Scoring a model held in memory on a dataset (training's validation and
//! [`evaluate_run`](mod@crate::evaluate_run)): the evaluation clicks, the prediction of every (image,
//! structure) item at the model size, its metrics (echoone-metrics) and the loss. Writes no
//! files.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::ElementConversion;
use burn::tensor::backend::Backend;
use echoone_data::prompt::Point;
use echoone_data::{ItemMeta, SegItem, SegmentationDataset, Structure};
use echoone_losses::EchoOneLoss;
use echoone_metrics::{BinaryMask, CaseResult, Spacing, StructureMetrics, Summary, evaluate_masks};
use echoone_model::{EchoOne, EncoderOutput};

use crate::clicks::{Prompts, coarse_click, coarse_logits, jitter, mask_click};
use crate::error::{InferError, Result};
use crate::items::{batch, image_slots, load_items};
use crate::run_prior::BatchPrior;

/// Label values of the evaluated structures (1 LV, 2 MYO, 3 LA).
pub const LABELS: [u32; 3] = [1, 2, 3];

/// One evaluated item kept for pictures.
pub struct KeptItem {
    /// The item (image, target, click).
    pub item: SegItem,
    /// The predicted mask at the model size.
    pub prediction: Vec<bool>,
}

/// The result of evaluating a dataset.
pub struct Evaluation {
    /// One case per item, in pixels of the model size.
    pub cases: Vec<CaseResult>,
    /// The same in millimetres, when every item has a spacing.
    pub cases_mm: Option<Vec<CaseResult>>,
    /// Mean loss over batches.
    pub loss: f64,
    /// The first items, for overlays.
    pub kept: Vec<KeptItem>,
    /// Items whose structure is absent from the image (empty target).
    pub absent: usize,
    /// Of those, the items predicted present over more than 1 % of the image.
    pub absent_predicted: usize,
}

/// How to run an evaluation.
pub struct EvalOptions<'a> {
    /// Items per forward pass.
    pub batch_size: usize,
    /// Threads preparing items.
    pub workers: usize,
    /// Items to keep for pictures.
    pub keep: usize,
    /// The loss to report.
    pub loss: &'a EchoOneLoss,
    /// Also compute millimetre metrics when every item has a spacing.
    pub millimetres: bool,
    /// Threads running batches (each with its own handle on the model).
    pub threads: usize,
    /// Give every batch the same shapes (for backends that compile kernels per shape): the
    /// last batch filled up with copies of its last item (left out of every result), and the
    /// images padded to the most any batch has (see [`crate::items::image_slots`]).
    pub fixed_shapes: bool,
    /// Where the clicks come from (the ground truth, or the model alone).
    pub prompts: Prompts,
}

/// The result of one (image, structure) item, named `dataset/stem:structure` (unique across
/// datasets whose case names repeat) and grouped by plane, dataset/centre and split.
fn case(
    meta: &ItemMeta,
    structure: Structure,
    m: StructureMetrics,
    spacing: Spacing,
) -> CaseResult {
    let name = format!("{}/{}:{}", meta.dataset, meta.stem, structure.name());
    let centre = match &meta.centre {
        Some(c) => format!("{}/{c}", meta.dataset),
        None => meta.dataset.clone(),
    };
    CaseResult {
        reference_file: name.clone(),
        prediction_file: name,
        spacing,
        plane: Some(meta.plane.name().to_string()),
        centre: Some(centre),
        split: meta.split.map(|s| s.name().to_string()),
        metrics: BTreeMap::from([(u32::from(structure.label()), m)]),
    }
}

/// Runs `model` over every item of `dataset` (in evaluation mode: no augmentation, middle
/// clicks) and measures each prediction against its target. With `options.threads` above one,
/// contiguous runs of batches go to that many threads, each with its own handle on the model:
/// the same items, batches and results as on one thread.
pub fn evaluate<B: Backend>(
    model: &EchoOne<B>,
    dataset: &SegmentationDataset,
    prior: Option<&BatchPrior<'_>>,
    options: &EvalOptions<'_>,
    device: &B::Device,
) -> Result<Evaluation> {
    use burn::data::dataset::Dataset;
    let batch_size = options.batch_size.max(1);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let slots = if options.fixed_shapes {
        image_slots(dataset, indices.chunks(batch_size))
    } else {
        0
    };
    let batches = indices.len().div_ceil(batch_size);
    let per_thread = batches.div_ceil(options.threads.clamp(1, batches.max(1))) * batch_size;
    let parts: Vec<Result<Part>> = if indices.len() <= per_thread {
        vec![evaluate_part(
            model, dataset, &indices, prior, options, slots, device,
        )]
    } else {
        // Forking initialises any lazy parameter here, once, not in whichever thread touches
        // it first (see `parallel_step`).
        let forked = model.clone().fork(device);
        let model = &forked;
        std::thread::scope(|scope| {
            let handles: Vec<_> = indices
                .chunks(per_thread)
                .map(|part| {
                    let device = device.clone();
                    scope.spawn(move || {
                        evaluate_part(model, dataset, part, prior, options, slots, &device)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(InferError::Config("evaluation thread panicked".into()))
                    })
                })
                .collect()
        })
    };
    let mut all = Part::new(options);
    for part in parts {
        let part = part?;
        all.cases.extend(part.cases);
        all.cases_mm = match (all.cases_mm, part.cases_mm) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
        all.loss_sum += part.loss_sum;
        all.batches += part.batches;
        all.absent += part.absent;
        all.absent_predicted += part.absent_predicted;
        let room = options.keep.saturating_sub(all.kept.len());
        all.kept.extend(part.kept.into_iter().take(room));
    }
    Ok(Evaluation {
        cases: all.cases,
        cases_mm: all.cases_mm,
        loss: all.loss_sum / all.batches.max(1) as f64,
        kept: all.kept,
        absent: all.absent,
        absent_predicted: all.absent_predicted,
    })
}

/// The evaluation of a run of items.
struct Part {
    cases: Vec<CaseResult>,
    cases_mm: Option<Vec<CaseResult>>,
    loss_sum: f64,
    batches: usize,
    kept: Vec<KeptItem>,
    absent: usize,
    absent_predicted: usize,
}

impl Part {
    fn new(options: &EvalOptions<'_>) -> Self {
        Self {
            cases: Vec::new(),
            cases_mm: options.millimetres.then(Vec::new),
            loss_sum: 0.0,
            batches: 0,
            kept: Vec::new(),
            absent: 0,
            absent_predicted: 0,
        }
    }
}

fn evaluate_part<B: Backend>(
    model: &EchoOne<B>,
    dataset: &SegmentationDataset,
    indices: &[usize],
    prior: Option<&BatchPrior<'_>>,
    options: &EvalOptions<'_>,
    image_slots: usize,
    device: &B::Device,
) -> Result<Part> {
    let batch_size = options.batch_size.max(1);
    let mut part = Part::new(options);
    for chunk in indices.chunks(batch_size) {
        let mut items = load_items(dataset, chunk, options.workers)?;
        let absent = place_clicks(model, &mut items, prior, options.prompts, device)?;
        // The images are encoded once; refinement rounds only move the clicks.
        let mut encoded = None;
        let mut run_on = |items: &[SegItem]| {
            forward(
                model,
                items,
                prior,
                options,
                (image_slots, batch_size),
                &mut encoded,
                device,
            )
        };
        let mut run = run_on(&items)?;
        let rounds = match options.prompts {
            Prompts::Auto { refine } => refine,
            Prompts::GroundTruth { .. } => 0,
        };
        for _ in 0..rounds {
            // The next click deepest inside the model's own mask (kept where it is empty).
            let side = items.first().map_or(0, |i| i.size);
            for (item, mask) in items.iter_mut().zip(run.masks.chunks(side * side)) {
                let mask: Vec<bool> = mask.iter().map(|&v| v > 0.0).collect();
                if let Some((x, y)) = mask_click(&mask, side) {
                    item.point = Point { x, y, label: 1 };
                }
            }
            run = run_on(&items)?;
        }
        part.loss_sum += run.loss;
        part.batches += 1;
        let side = items.first().map_or(0, |i| i.size);
        for ((item, logits), gone) in items
            .into_iter()
            .zip(run.masks.chunks(side * side))
            .zip(absent)
        {
            let prediction: Vec<bool> = logits.iter().map(|&v| v > 0.0 && !gone).collect();
            let pred = BinaryMask::new(side, side, prediction.clone())?;
            let reference =
                BinaryMask::new(side, side, item.target.iter().map(|&v| v != 0).collect())?;
            if reference.count() == 0 {
                part.absent += 1;
                if pred.count() * 100 > side * side {
                    part.absent_predicted += 1;
                }
            }
            let px = evaluate_masks(&pred, &reference, Spacing::unit())?;
            part.cases
                .push(case(&item.meta, item.structure, px, Spacing::unit()));
            if let Some(mm) = part.cases_mm.as_mut() {
                match item.meta.spacing {
                    Some([sx, sy]) => {
                        let spacing = Spacing::new(sy, sx)?;
                        let m = evaluate_masks(&pred, &reference, spacing)?;
                        mm.push(case(&item.meta, item.structure, m, spacing));
                    }
                    None => part.cases_mm = None,
                }
            }
            if part.kept.len() < options.keep {
                part.kept.push(KeptItem { item, prediction });
            }
        }
    }
    Ok(part)
}

/// Sets each item's click as `prompts` says; returns, per item, whether the model calls its
/// structure absent (automatic clicks only: PC-Mask's coarse mask of it is empty).
fn place_clicks<B: Backend>(
    model: &EchoOne<B>,
    items: &mut [SegItem],
    prior: Option<&BatchPrior<'_>>,
    prompts: Prompts,
    device: &B::Device,
) -> Result<Vec<bool>> {
    let mut absent = vec![false; items.len()];
    let Some(first) = items.first() else {
        return Ok(absent);
    };
    let (side, low) = (first.size, first.low_res);
    match prompts {
        Prompts::GroundTruth { jitter_px, seed } => {
            for item in items.iter_mut() {
                let key = [item.meta.sample as u64, u64::from(item.structure.label())];
                item.point = jitter(item.point, jitter_px, side, seed, &key);
            }
        }
        Prompts::Auto { .. } => {
            let no_prior = || {
                InferError::Config(
                    "automatic clicks come from PC-Mask's coarse masks, but this model has no \
                     PC-Mask: evaluate it with --prompts gt"
                        .into(),
                )
            };
            let prior = prior.ok_or_else(no_prior)?;
            let samples: Vec<usize> = items.iter().map(|i| i.meta.sample).collect();
            let structures: Vec<Structure> = items.iter().map(|i| i.structure).collect();
            let tensor = prior.tensor::<B>(&samples, &structures, device)?;
            let coarse = coarse_logits(model, tensor, low).ok_or_else(no_prior)?;
            for ((item, logits), gone) in items
                .iter_mut()
                .zip(coarse.chunks(low * low))
                .zip(absent.iter_mut())
            {
                match coarse_click(logits, low, side, item.structure) {
                    Some((x, y)) => item.point = Point { x, y, label: 1 },
                    None => *gone = true,
                }
            }
        }
    }
    Ok(absent)
}

/// One forward pass over `items`: the masks (logits at the model size) and the loss.
struct Forward {
    masks: Vec<f32>,
    loss: f64,
}

/// `encoded` keeps the encoder's output of the batch's images: computed on the first call, reused
/// by the next ones (the same items with other clicks). `(image_slots, batch_size)` shape the
/// batch.
fn forward<B: Backend>(
    model: &EchoOne<B>,
    items: &[SegItem],
    prior: Option<&BatchPrior<'_>>,
    options: &EvalOptions<'_>,
    (image_slots, batch_size): (usize, usize),
    encoded: &mut Option<EncoderOutput<B>>,
    device: &B::Device,
) -> Result<Forward> {
    let real = items.len();
    let mut padded = items.to_vec();
    if options.fixed_shapes
        && let Some(last) = items.last()
    {
        padded.resize(batch_size, last.clone());
    }
    let samples: Vec<usize> = padded.iter().map(|i| i.meta.sample).collect();
    let structures: Vec<Structure> = padded.iter().map(|i| i.structure).collect();
    let b = batch::<B>(padded, image_slots, device);
    let prior = match (prior, model.prior_unet.is_some()) {
        (Some(p), true) => Some(p.tensor::<B>(&samples, &structures, device)?),
        _ => None,
    };
    let images = match encoded.take() {
        Some(images) => images,
        None => model.encode(b.images)?,
    };
    let out = model.forward_encoded(&images, &b.image_of, b.points, b.point_labels, prior)?;
    *encoded = Some(images);
    let mut targets = b.low_res_targets;
    let (mut logits, mut coarse) = (out.logits, out.coarse_logits);
    if real < samples.len() {
        targets = targets.narrow(0, 0, real);
        logits = logits.narrow(0, 0, real);
        coarse = coarse.map(|c| c.narrow(0, 0, real));
    }
    let loss = options.loss.forward(logits, coarse, targets)?;
    Ok(Forward {
        masks: out.masks.into_data().iter::<f32>().collect(),
        loss: f64::from(loss.total.into_scalar().elem::<f32>()),
    })
}

impl Evaluation {
    /// The summary in pixels.
    pub fn summary(&self) -> Summary {
        Summary::new(&self.cases, &LABELS)
    }

    /// Mean Dice per structure name (structures without a finite mean left out).
    pub fn dice_per_structure(summary: &Summary) -> BTreeMap<String, f64> {
        summary
            .statistics
            .per_label
            .iter()
            .filter_map(|(label, stats)| {
                let name = label
                    .parse::<u8>()
                    .ok()
                    .and_then(Structure::from_label)?
                    .name();
                let mean = stats.get("Dice")?.mean;
                mean.is_finite().then(|| (name.to_string(), mean))
            })
            .collect()
    }

    /// Mean Dice per plane, pooled over structures.
    pub fn dice_per_plane(&self) -> BTreeMap<String, f64> {
        let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for c in &self.cases {
            let Some(plane) = &c.plane else { continue };
            for m in c.metrics.values().filter(|m| m.dice.is_finite()) {
                let e = sums.entry(plane.clone()).or_default();
                e.0 += m.dice;
                e.1 += 1;
            }
        }
        sums.into_iter()
            .map(|(k, (s, n))| (k, s / n.max(1) as f64))
            .collect()
    }

    /// The model-selection score: the mean over structures of each structure's mean Dice.
    pub fn mean_dice(summary: &Summary) -> f64 {
        summary
            .foreground_mean
            .get("Dice")
            .map_or(f64::NAN, |v| v.0)
    }
}
