//! Volumes of each case from label maps, and the reference values as rows of the same table.

use std::collections::BTreeMap;

use echoone_data::reference::EfReference;
use echoone_data::{Phase, Plane, Sample, Split};
use echoone_metrics::{
    DiscProfile, DiscStep, Spacing, Volumes, biplane, disc_profile, largest_component_filled,
    single_plane,
};
use image::GrayImage;
use serde::Serialize;

use crate::lv_mask::lv_mask;

/// Where a case's volumes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The values the dataset states (CAMUS Info cfg, EchoNet FileList, synthetic truth).
    Reference,
    /// The method of discs on the dataset's own masks.
    Masks,
    /// The method of discs on the model's masks, prompted by PC-Mask alone.
    Predicted,
}

impl Source {
    /// The name in tables: reference, masks or predicted.
    pub fn name(self) -> &'static str {
        match self {
            Source::Reference => "reference",
            Source::Masks => "masks",
            Source::Predicted => "predicted",
        }
    }
}

/// How the volumes were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// Stated by the dataset.
    #[serde(rename = "stated")]
    Stated,
    /// Biplane method of discs (2CH and 4CH).
    #[serde(rename = "biplane")]
    Biplane,
    /// Single-plane method of discs on the given view.
    #[serde(rename = "single-plane")]
    SinglePlane(Plane),
}

impl Method {
    /// The name in tables: stated, biplane, single-plane 4CH, ...
    pub fn name(self) -> String {
        match self {
            Method::Stated => "stated".into(),
            Method::Biplane => "biplane".into(),
            Method::SinglePlane(p) => format!("single-plane {p}"),
        }
    }
}

/// One case's volumes from one source (NaN where the source does not give the value).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseVolumes {
    /// The dataset of the case (with the case id, what identifies it).
    pub dataset: String,
    /// The case (patient) id.
    pub case: String,
    /// The split of the case (the run's, or external to it), when assigned.
    pub split: Option<Split>,
    /// Where the values come from.
    pub source: Source,
    /// End-diastolic volume, ml.
    pub edv_ml: f64,
    /// End-systolic volume, ml.
    pub esv_ml: f64,
    /// Ejection fraction, percent.
    pub ef_pct: f64,
    /// How they were obtained.
    pub method: Method,
}

/// A case a source could not measure, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The dataset of the case.
    pub dataset: String,
    /// The case id.
    pub case: String,
    /// The split of the case, when assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// The source that skipped it.
    pub source: Source,
    /// Why.
    pub reason: String,
}

/// The reference values as rows (EF from the volumes when the dataset states only those), each
/// given the dataset and split of the samples of its case; references of cases that `samples`
/// do not hold are left out. The references must be those of `samples`' dataset: they name
/// their cases only.
pub fn reference_rows(references: &[EfReference], samples: &[&Sample]) -> Vec<CaseVolumes> {
    references
        .iter()
        .filter_map(|r| {
            let sample = samples.iter().find(|s| s.info.case == r.case)?;
            let (edv, esv) = (r.edv_ml.unwrap_or(f64::NAN), r.esv_ml.unwrap_or(f64::NAN));
            let ef = r.ef_pct.unwrap_or_else(|| {
                Volumes {
                    edv_ml: edv,
                    esv_ml: esv,
                }
                .ef_pct()
            });
            ef.is_finite().then(|| CaseVolumes {
                dataset: sample.info.dataset.clone(),
                case: r.case.clone(),
                split: sample.info.split,
                source: Source::Reference,
                edv_ml: edv,
                esv_ml: esv,
                ef_pct: ef,
                method: Method::Stated,
            })
        })
        .collect()
}

/// The volumes of every case (a dataset and case id) from `labels` (one label map per sample,
/// LV = 1), as `source`:
/// biplane (disc height by `step`) where a case has 2CH and 4CH at ED and ES, else single plane
/// on 4CH, else on 2CH.
pub fn measure(
    samples: &[&Sample],
    labels: &[&GrayImage],
    source: Source,
    step: DiscStep,
) -> (Vec<CaseVolumes>, Vec<Skipped>) {
    // Cases by (dataset, case): two datasets may use the same case names.
    let mut by_case: BTreeMap<(&str, &str), Views> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        if let Some(phase) = s.info.phase {
            by_case
                .entry((&s.info.dataset, &s.info.case))
                .or_default()
                .entry((s.info.plane, phase))
                .or_insert(i);
        }
    }
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for ((dataset, case), views) in by_case {
        let split = views.values().next().and_then(|&i| samples[i].info.split);
        let has = |plane| {
            views.contains_key(&(plane, Phase::Ed)) && views.contains_key(&(plane, Phase::Es))
        };
        let planes: Vec<Plane> = [Plane::TwoChamber, Plane::FourChamber]
            .into_iter()
            .filter(|&p| has(p))
            .collect();
        let skip = |reason: String| Skipped {
            dataset: dataset.to_string(),
            case: case.to_string(),
            split,
            source,
            reason,
        };
        if planes.is_empty() {
            skipped.push(skip(
                "needs the LV at ED and ES of a 2CH or 4CH view".into(),
            ));
            continue;
        }
        let profile = |plane: Plane, phase: Phase| -> Result<DiscProfile, String> {
            let i = views[&(plane, phase)];
            let what = format!("{plane} {phase}");
            let [sx, sy] = samples[i]
                .info
                .spacing
                .ok_or_else(|| format!("{what}: no pixel spacing, so no volume in ml"))?;
            let spacing = Spacing::new(sy, sx).map_err(|e| format!("{what}: {e}"))?;
            // A prediction is measured on its largest LV blob with the holes filled.
            let mask = match source {
                Source::Predicted => largest_component_filled(&lv_mask(labels[i])),
                _ => lv_mask(labels[i]),
            };
            disc_profile(&mask, spacing).map_err(|e| format!("{what}: {e}"))
        };
        let volumes = if planes.len() == 2 {
            (|| {
                let two = [
                    profile(Plane::TwoChamber, Phase::Ed)?,
                    profile(Plane::TwoChamber, Phase::Es)?,
                ];
                let four = [
                    profile(Plane::FourChamber, Phase::Ed)?,
                    profile(Plane::FourChamber, Phase::Es)?,
                ];
                Ok::<_, String>((
                    biplane([&two[0], &two[1]], [&four[0], &four[1]], step),
                    Method::Biplane,
                ))
            })()
        } else {
            let plane = planes[0];
            (|| {
                let v = single_plane(&profile(plane, Phase::Ed)?, &profile(plane, Phase::Es)?);
                Ok::<_, String>((v, Method::SinglePlane(plane)))
            })()
        };
        match volumes {
            Ok((v, method)) => rows.push(CaseVolumes {
                dataset: dataset.to_string(),
                case: case.to_string(),
                split,
                source,
                edv_ml: v.edv_ml,
                esv_ml: v.esv_ml,
                ef_pct: v.ef_pct(),
                method,
            }),
            Err(reason) => skipped.push(skip(reason)),
        }
    }
    (rows, skipped)
}

/// The sample index of each (plane, phase) view of one case.
type Views = BTreeMap<(Plane, Phase), usize>;
