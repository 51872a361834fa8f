//! The synthetic multi-plane echo generator: the embedded default dataset.
//!
//! Each case is one patient with its own heart (size, wall thickness, ejection fraction); each of
//! its views (2CH, 3CH, 4CH, PSAX) is drawn at end-diastole and end-systole with a random pose,
//! then imaged by a random scanner (sector, gain, speckle, attenuation). Everything is a pure
//! function of (seed, case, plane, phase): a case can be generated alone, in any order.

mod anatomy;
mod scanner;

use std::path::Path;

use crate::error::{DataError, Result};
use crate::rng::Rng;
use crate::sample::{Phase, Plane, Sample, SampleInfo, StructureSet};
use crate::split::SplitPlan;

use anatomy::{Anatomy, Patient};
use scanner::Scanner;

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

    /// One image of case `case` (the config must be valid).
    fn draw(&self, case: usize, plane: Plane, phase: Phase) -> Sample {
        let case_key = case as u64;
        let mut patient_rng = Rng::derive(self.seed, &[case_key]);
        let patient = Patient::new(&mut patient_rng);
        let depth_mm = patient_rng.range(140.0, 170.0) as f64;
        let plane_key = plane.id() as u64 + 1;
        let mut pose_rng = Rng::derive(self.seed, &[case_key, plane_key]);
        let anatomy = Anatomy::new(&patient, plane, phase, &mut pose_rng);
        let mut scan_rng = Rng::derive(self.seed, &[case_key, plane_key, 100]);
        let scanner = Scanner::new(&mut scan_rng, self.width, self.height);
        let phase_key = match phase {
            Phase::Ed => 1,
            Phase::Es => 2,
        };
        let mut noise_rng = Rng::derive(self.seed, &[case_key, plane_key, phase_key, 200]);
        let (image, label) = scanner.render(&anatomy, &mut noise_rng);
        let spacing = depth_mm / self.height as f64;
        let mut info = SampleInfo::new("synthetic", Self::case_name(case));
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
    /// in the authors' PNG layout (sub-set `Synthetic`).
    pub fn write(&self, dir: &Path, plan: &SplitPlan) -> Result<Vec<Sample>> {
        let mut samples = self.generate(0)?;
        crate::split::assign(&mut samples, plan, None)?;
        crate::authors::write(dir, "Synthetic", &samples)?;
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Structure;

    fn small() -> SyntheticConfig {
        SyntheticConfig {
            cases: 2,
            width: 96,
            height: 96,
            ..SyntheticConfig::default()
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
