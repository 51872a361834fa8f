//! The synthetic multi-plane echo generator: the embedded default dataset.
//!
//! Each case is one patient with its own heart: one 3-D left-ventricular cavity (`cavity.rs`
//! gives its formulas) with a true end-diastolic volume and ejection fraction, a wall thickness
//! and atria. Its apical views (2CH, 3CH, 4CH) are sections of that cavity through its long axis at
//! the planes' azimuths, and its PSAX view the cross-section at mid-ventricle; each view is drawn
//! at end-diastole and end-systole (or along a cine, see [`Cine`]) with a random pose, then imaged
//! by a random scanner (sector, gain, speckle, attenuation). Everything is a pure function of
//! (seed, case, plane, phase or frame): a case can be generated alone, in any order.

mod anatomy;
mod cavity;
mod cine;
mod scanner;

use std::path::Path;

use image::GrayImage;

use crate::error::{DataError, Result};
use crate::reference::{EF_REFERENCE_CSV, EfReference, write_references};
use crate::rng::Rng;
use crate::sample::{Phase, Plane, Sample, SampleInfo, StructureSet};
use crate::split::SplitPlan;

use anatomy::{Anatomy, Patient};
use scanner::Scanner;

pub use cine::{Cine, FRAMES_PER_BEAT, write_cine};

/// The true left-ventricular volumes and ejection fraction of one synthetic case, integrated
/// over its 3-D cavity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LvTruth {
    /// End-diastolic cavity volume in ml.
    pub edv_ml: f64,
    /// End-systolic cavity volume in ml.
    pub esv_ml: f64,
    /// Ejection fraction in percent, `100 (EDV - ESV) / EDV`.
    pub ef_pct: f64,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Number of cases (patients).
    pub cases: usize,
    /// Seed: the same seed gives the same images, bit for bit.
    pub seed: u64,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Planes drawn for every case.
    pub planes: Vec<Plane>,
    /// Phases drawn for every plane.
    pub phases: Vec<Phase>,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            cases: 40,
            seed: 1234,
            width: 256,
            height: 256,
            planes: vec![
                Plane::TwoChamber,
                Plane::ThreeChamber,
                Plane::FourChamber,
                Plane::ShortAxis,
            ],
            phases: vec![Phase::Ed, Phase::Es],
        }
    }
}

impl SyntheticConfig {
    /// Checks the configuration: at least one case, plane and phase, sizes from 32 to 4096,
    /// and no `Unknown` plane.
    pub fn validate(&self) -> Result<()> {
        if self.cases == 0 || self.planes.is_empty() || self.phases.is_empty() {
            return Err(DataError::Invalid(
                "synthetic: need at least one case, one plane and one phase".into(),
            ));
        }
        if !(32..=4096).contains(&self.width) || !(32..=4096).contains(&self.height) {
            return Err(DataError::Invalid(format!(
                "synthetic: image size {}x{} out of range (32 to 4096 pixels a side)",
                self.width, self.height
            )));
        }
        if self.planes.contains(&Plane::Unknown) {
            return Err(DataError::Invalid(
                "synthetic: cannot draw the `unknown` plane".into(),
            ));
        }
        Ok(())
    }

    /// Number of images: cases x planes x phases.
    pub fn len(&self) -> usize {
        self.cases * self.planes.len() * self.phases.len()
    }

    /// Whether the configuration draws no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of case `case`: `synth0001`, ...
    pub fn case_name(case: usize) -> String {
        format!("synth{:04}", case + 1)
    }

    /// The dataset name of the samples: `synthetic-seedS`, so that the cases of two seeds
    /// (other patients under the same case names) are never taken for one another; sizes,
    /// planes and phases draw the same patients, so they share it.
    pub fn dataset_name(&self) -> String {
        format!("synthetic-seed{}", self.seed)
    }

    /// Image `index` in case-major order (case, then plane, then phase).
    pub fn sample(&self, index: usize) -> Result<Sample> {
        self.validate()?;
        if index >= self.len() {
            return Err(DataError::Invalid(format!(
                "synthetic: sample {index} out of range ({} samples)",
                self.len()
            )));
        }
        let per_case = self.planes.len() * self.phases.len();
        let case = index / per_case;
        let plane = self.planes[(index % per_case) / self.phases.len()];
        let phase = self.phases[index % self.phases.len()];
        Ok(self.draw(case, plane, phase))
    }

    /// The patient of case `case`.
    fn patient(&self, case: usize) -> Patient {
        Patient::new(&mut Rng::derive(self.seed, &[case as u64]))
    }

    /// The image and label map of view `plane` of case `case` at contraction `c` (0 ED, 1 ES),
    /// with its speckle drawn from the stream `noise`, and the pixel spacing in mm (the image
    /// height is the imaging depth, `Patient::depth_mm`).
    fn render(&self, case: usize, plane: Plane, c: f64, noise: u64) -> (GrayImage, GrayImage, f64) {
        let case_key = case as u64;
        let patient = self.patient(case);
        let plane_key = plane.id() as u64 + 1;
        let mut pose_rng = Rng::derive(self.seed, &[case_key, plane_key]);
        let anatomy = Anatomy::new(&patient, plane, c, &mut pose_rng);
        let mut scan_rng = Rng::derive(self.seed, &[case_key, plane_key, 100]);
        let scanner = Scanner::new(&mut scan_rng, self.width, self.height);
        let mut noise_rng = Rng::derive(self.seed, &[case_key, plane_key, noise, 200]);
        let (image, label) = scanner.render(&anatomy, &mut noise_rng);
        // Rounded to 1e-6 mm (a relative change below 1e-8): a short decimal that text formats
        // such as samples.jsonl read back bit for bit.
        let spacing = (patient.depth_mm / self.height as f64 * 1e6).round() / 1e6;
        (image, label, spacing)
    }

    /// One image of case `case` (the config must be valid): ED is contraction 0, ES 1.
    fn draw(&self, case: usize, plane: Plane, phase: Phase) -> Sample {
        let (c, noise) = match phase {
            Phase::Ed => (0.0, 1),
            Phase::Es => (1.0, 2),
        };
        let (image, label, spacing) = self.render(case, plane, c, noise);
        let mut info = SampleInfo::new(self.dataset_name(), Self::case_name(case));
        info.plane = plane;
        info.phase = Some(phase);
        info.spacing = Some([spacing, spacing]);
        let annotated = StructureSet::ALL;
        Sample {
            image,
            label,
            annotated,
            info,
        }
    }

    /// The true EDV, ESV (ml) and EF (%) of case `case`, integrated over its 3-D LV cavity.
    pub fn truth(&self, case: usize) -> Result<LvTruth> {
        self.check_case(case)?;
        let patient = self.patient(case);
        // Normalised units: the image height is the depth, so one unit cubed is depth^3 mm^3.
        let ml = patient.depth_mm.powi(3) / 1000.0;
        let (edv_ml, esv_ml) = (patient.volume(0.0) * ml, patient.volume(1.0) * ml);
        Ok(LvTruth {
            edv_ml,
            esv_ml,
            ef_pct: 100.0 * (edv_ml - esv_ml) / edv_ml,
        })
    }

    /// Checks the configuration and that `case` is one of its cases.
    fn check_case(&self, case: usize) -> Result<()> {
        self.validate()?;
        if case >= self.cases {
            return Err(DataError::Invalid(format!(
                "synthetic: case {case} out of range ({} cases)",
                self.cases
            )));
        }
        Ok(())
    }

    /// The reference (true) volumes and ejection fraction of every case.
    pub fn references(&self) -> Result<Vec<EfReference>> {
        (0..self.cases)
            .map(|case| {
                let t = self.truth(case)?;
                Ok(EfReference {
                    case: Self::case_name(case),
                    edv_ml: Some(t.edv_ml),
                    esv_ml: Some(t.esv_ml),
                    ef_pct: Some(t.ef_pct),
                })
            })
            .collect()
    }

    /// All images, generated on `threads` threads (0: as many as the machine has).
    pub fn generate(&self, threads: usize) -> Result<Vec<Sample>> {
        self.validate()?;
        let n = self.len();
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |t| t.get())
        } else {
            threads
        }
        .min(n)
        .max(1);
        let mut out: Vec<Option<Sample>> = vec![None; n];
        std::thread::scope(|scope| {
            for (t, chunk) in out.chunks_mut(n.div_ceil(threads)).enumerate() {
                let start = t * n.div_ceil(threads);
                scope.spawn(move || {
                    for (k, slot) in chunk.iter_mut().enumerate() {
                        *slot = self.sample(start + k).ok();
                    }
                });
            }
        });
        out.into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.ok_or_else(|| DataError::Invalid(format!("synthetic: sample {i} failed")))
            })
            .collect()
    }

    /// Generates the dataset with a patient-level split drawn by `plan` and writes it to `dir`
    /// in the authors' PNG layout (sub-set `Synthetic`), with the true volumes and ejection
    /// fractions in `ef_reference.csv`.
    pub fn write(&self, dir: &Path, plan: &SplitPlan) -> Result<Vec<Sample>> {
        let references = self.references()?;
        let mut samples = self.generate(0)?;
        crate::split::assign(&mut samples, plan, None)?;
        crate::authors::write(dir, "Synthetic", &samples)?;
        write_references(&dir.join(EF_REFERENCE_CSV), &references)?;
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Structure;

    /// Two cases at 96 x 96 pixels, for the tests of this module and its children.
    pub(super) fn small() -> SyntheticConfig {
        SyntheticConfig {
            cases: 2,
            width: 96,
            height: 96,
            ..SyntheticConfig::default()
        }
    }

    #[test]
    fn synthetic_references_are_the_truth() {
        let cfg = SyntheticConfig {
            cases: 3,
            ..SyntheticConfig::default()
        };
        let refs = cfg.references().unwrap();
        assert_eq!(refs.len(), 3);
        for (case, r) in refs.iter().enumerate() {
            let t = cfg.truth(case).unwrap();
            assert_eq!(r.case, SyntheticConfig::case_name(case));
            assert_eq!(
                (r.edv_ml, r.esv_ml, r.ef_pct),
                (Some(t.edv_ml), Some(t.esv_ml), Some(t.ef_pct))
            );
        }
    }

    #[test]
    fn deterministic_by_seed_and_order_free() {
        let cfg = small();
        let all = cfg.generate(2).unwrap();
        assert_eq!(all.len(), 16);
        assert_eq!(all[11], cfg.sample(11).unwrap());
        let other = SyntheticConfig { seed: 99, ..cfg }.sample(11).unwrap();
        assert_ne!(all[11].image, other.image);
    }

    #[test]
    fn planes_show_the_structures_real_planes_show() {
        let cfg = SyntheticConfig {
            cases: 3,
            ..small()
        };
        for s in cfg.generate(0).unwrap() {
            let present = s.present();
            assert!(present.contains(Structure::Lv), "{}", s.info.stem());
            assert!(present.contains(Structure::Myo), "{}", s.info.stem());
            let la = present.contains(Structure::La);
            assert_eq!(la, s.info.plane != Plane::ShortAxis, "{}", s.info.stem());
            assert_eq!(s.image.get_pixel(0, 0)[0], 0, "outside the sector is black");
        }
    }

    #[test]
    fn systole_shrinks_the_cavity() {
        let cfg = small();
        let count = |s: &Sample| s.label.as_raw().iter().filter(|&&v| v == 1).count();
        for case in 0..2 {
            for plane in &cfg.planes {
                let ed = cfg.draw(case, *plane, Phase::Ed);
                let es = cfg.draw(case, *plane, Phase::Es);
                assert!(count(&es) < count(&ed), "{plane}: ES LV not smaller");
            }
        }
    }

    #[test]
    fn blood_is_darker_than_muscle() {
        let cfg = SyntheticConfig {
            width: 192,
            height: 192,
            ..small()
        };
        for s in cfg.generate(0).unwrap() {
            let mean = |label: u8| {
                let v: Vec<f64> = s
                    .image
                    .as_raw()
                    .iter()
                    .zip(s.label.as_raw())
                    .filter(|(_, l)| **l == label)
                    .map(|(p, _)| *p as f64)
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            };
            assert!(
                mean(1) + 30.0 < mean(2),
                "{}: LV {} MYO {}",
                s.info.stem(),
                mean(1),
                mean(2)
            );
        }
    }

    #[test]
    fn truth_is_realistic_and_the_volumes_follow_the_ejection_fraction() {
        let cfg = SyntheticConfig::default();
        for case in 0..cfg.cases {
            let t = cfg.truth(case).unwrap();
            let p = cfg.patient(case);
            let length_mm = p.cavity.length * p.depth_mm;
            assert!(
                (70.0..=95.0).contains(&length_mm),
                "case {case}: {length_mm} mm"
            );
            assert!((70.0..=200.0).contains(&t.edv_ml), "case {case}: {t:?}");
            assert!((20.0..=75.0).contains(&t.ef_pct), "case {case}: {t:?}");
            assert!(
                (t.esv_ml / t.edv_ml - (1.0 - p.ejection)).abs() < 1e-9,
                "{t:?}"
            );
            assert!((t.ef_pct - 100.0 * p.ejection).abs() < 1e-7, "{t:?}");
            let ml = p.depth_mm.powi(3) / 1000.0;
            assert!((t.edv_ml / (p.cavity.volume() * ml) - 1.0).abs() < 1e-12);
        }
        let t = cfg.truth(3).unwrap();
        assert_eq!(t, cfg.truth(3).unwrap());
        assert_ne!(
            t,
            SyntheticConfig {
                seed: 5,
                ..cfg.clone()
            }
            .truth(3)
            .unwrap()
        );
        assert!(cfg.truth(40).is_err());
    }

    #[test]
    fn written_dataset_keeps_its_reference() {
        let cfg = SyntheticConfig {
            cases: 2,
            width: 64,
            height: 64,
            planes: vec![Plane::FourChamber],
            ..SyntheticConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("set");
        cfg.write(&out, &SplitPlan::default()).unwrap();
        let refs = crate::reference::png_references(&out).unwrap();
        assert_eq!(refs, cfg.references().unwrap());
        assert_eq!(refs[1].ef_pct, Some(cfg.truth(1).unwrap().ef_pct));
    }

    #[test]
    fn rejects_bad_configs() {
        assert!(
            SyntheticConfig {
                cases: 0,
                ..small()
            }
            .validate()
            .is_err()
        );
        assert!(
            SyntheticConfig {
                width: 8,
                ..small()
            }
            .validate()
            .is_err()
        );
        let e = SyntheticConfig {
            planes: vec![Plane::Unknown],
            ..small()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("unknown"));
        assert!(small().sample(1000).is_err());
    }
}
