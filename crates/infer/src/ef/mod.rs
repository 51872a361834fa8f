//! Left-ventricular volumes and ejection fraction of every case of a dataset, from three sources:
//! the dataset's stated values (`reference`), its own masks (`masks`) and a model's predictions
//! without any click (`predicted`). Biplane method of discs where a case has 2CH and 4CH at ED
//! and ES, single plane where it has one of them; volumes and agreement are written as
//! `volumes.csv`, `ef.json`, `bland_altman.png` (and `.svg`) and `summary.md`.

mod cases;
mod report;

pub use cases::{CaseVolumes, Method, Skipped, Source, measure};
pub use report::{CaseSplit, Comparison, EfReport, cases_of, compare, write_report};

use burn::tensor::backend::Backend;
use echoone_data::reference::EfReference;
use echoone_data::{Plane, Sample};
use echoone_metrics::DiscStep;
use image::GrayImage;

use crate::error::Result;
use crate::predict::{Predictor, Prompting};

/// Every source's volumes of every case: the reference rows, the masks' volumes, and, with a
/// `predictor`, the volumes of its masks prompted by PC-Mask alone (only the apical 2CH/4CH
/// ED/ES images are segmented, `batch` at a time); biplane disc heights by `step`. The
/// `references` are those of the dataset of `samples` (they name cases only): measure each
/// dataset by a call of its own.
pub fn measure_sources<B: Backend>(
    samples: &[Sample],
    references: &[EfReference],
    predictor: Option<&Predictor<B>>,
    batch: usize,
    step: DiscStep,
) -> Result<(Vec<CaseVolumes>, Vec<Skipped>)> {
    let used: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.info.phase.is_some() && matches!(s.info.plane, Plane::TwoChamber | Plane::FourChamber)
        })
        .collect();
    let all: Vec<&Sample> = samples.iter().collect();
    let mut rows = cases::reference_rows(references, &all);
    let mut skipped = Vec::new();
    let masks: Vec<&GrayImage> = used.iter().map(|s| &s.label).collect();
    let (r, s) = measure(&used, &masks, Source::Masks, step);
    rows.extend(r);
    skipped.extend(s);
    if let Some(p) = predictor {
        let images: Vec<GrayImage> = used.iter().map(|s| s.image.clone()).collect();
        let predicted = p.segment_frames(&images, &Prompting::Auto, batch)?;
        // The LV prompt's own mask, as the evaluation measures the LV.
        let labels: Vec<&GrayImage> = predicted.iter().map(|s| &s.lv).collect();
        let (r, s) = measure(&used, &labels, Source::Predicted, step);
        rows.extend(r);
        skipped.extend(s);
    }
    Ok((rows, skipped))
}
