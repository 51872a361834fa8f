//! The one sample type every reader produces: grey image, label map and what is known about it.

use std::fmt;

use image::GrayImage;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// A cardiac structure, with its value in label maps (0 is background).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Structure {
    /// Left-ventricular cavity, label 1.
    #[serde(rename = "LV")]
    Lv,
    /// Left-ventricular myocardium, label 2.
    #[serde(rename = "MYO")]
    Myo,
    /// Left atrium, label 3.
    #[serde(rename = "LA")]
    La,
}

impl Structure {
    /// All structures in label order.
    pub const ALL: [Structure; 3] = [Structure::Lv, Structure::Myo, Structure::La];

    /// The value of this structure in label maps.
    pub fn label(self) -> u8 {
        match self {
            Structure::Lv => 1,
            Structure::Myo => 2,
            Structure::La => 3,
        }
    }

    /// The structure with label value `label`, if any.
    pub fn from_label(label: u8) -> Option<Self> {
        match label {
            1 => Some(Structure::Lv),
            2 => Some(Structure::Myo),
            3 => Some(Structure::La),
            _ => None,
        }
    }

    /// The short name: LV, MYO or LA.
    pub fn name(self) -> &'static str {
        match self {
            Structure::Lv => "LV",
            Structure::Myo => "MYO",
            Structure::La => "LA",
        }
    }
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of structures annotated in a sample (a structure annotated but absent has an empty mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StructureSet(u8);

impl StructureSet {
    /// LV, MYO and LA.
    pub const ALL: StructureSet = StructureSet(0b111);
    /// No structure.
    pub const NONE: StructureSet = StructureSet(0);

    /// The set holding exactly `structures`.
    pub fn of(structures: &[Structure]) -> Self {
        Self(structures.iter().fold(0, |m, s| m | (1 << (s.label() - 1))))
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Structure) -> bool {
        self.0 & (1 << (s.label() - 1)) != 0
    }

    /// The structures of the set in label order.
    pub fn iter(self) -> impl Iterator<Item = Structure> {
        Structure::ALL
            .into_iter()
            .filter(move |&s| self.contains(s))
    }

    /// The number of structures in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// An echocardiographic plane (view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Plane {
    /// Apical two-chamber.
    #[serde(rename = "2CH")]
    TwoChamber,
    /// Apical three-chamber (long axis).
    #[serde(rename = "3CH")]
    ThreeChamber,
    /// Apical four-chamber.
    #[serde(rename = "4CH")]
    FourChamber,
    /// Parasternal short axis.
    #[serde(rename = "PSAX")]
    ShortAxis,
    /// Not known.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Plane {
    /// All planes, `Unknown` last; the position is the plane id of batches.
    pub const ALL: [Plane; 5] = [
        Plane::TwoChamber,
        Plane::ThreeChamber,
        Plane::FourChamber,
        Plane::ShortAxis,
        Plane::Unknown,
    ];

    /// The short name: 2CH, 3CH, 4CH, PSAX or unknown.
    pub fn name(self) -> &'static str {
        match self {
            Plane::TwoChamber => "2CH",
            Plane::ThreeChamber => "3CH",
            Plane::FourChamber => "4CH",
            Plane::ShortAxis => "PSAX",
            Plane::Unknown => "unknown",
        }
    }

    /// The plane id used in batches: 0 2CH, 1 3CH, 2 4CH, 3 PSAX, 4 unknown.
    pub fn id(self) -> usize {
        Plane::ALL.iter().position(|&p| p == self).unwrap_or(4)
    }

    /// The plane named by `name` (2CH, A2C, 3CH, A3C, APLAX, 4CH, A4C, PSAX, SAX; any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "2CH" | "A2C" => Some(Plane::TwoChamber),
            "3CH" | "A3C" | "APLAX" => Some(Plane::ThreeChamber),
            "4CH" | "A4C" => Some(Plane::FourChamber),
            "PSAX" | "SAX" => Some(Plane::ShortAxis),
            "UNKNOWN" => Some(Plane::Unknown),
            _ => None,
        }
    }

    /// The plane named by a token of a file name such as `patient0001_4CH_ED`, else `Unknown`.
    pub fn from_file_name(name: &str) -> Self {
        name.split(|c: char| !c.is_ascii_alphanumeric())
            .find_map(Plane::parse)
            .unwrap_or(Plane::Unknown)
    }
}

impl fmt::Display for Plane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cardiac phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// End-diastole.
    #[serde(rename = "ED")]
    Ed,
    /// End-systole.
    #[serde(rename = "ES")]
    Es,
}

impl Phase {
    /// The short name: ED or ES.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Ed => "ED",
            Phase::Es => "ES",
        }
    }

    /// The phase named by a token of a file name such as `patient0001_4CH_ED`.
    pub fn from_file_name(name: &str) -> Option<Self> {
        name.split(|c: char| !c.is_ascii_alphanumeric())
            .find_map(|t| match t.to_ascii_uppercase().as_str() {
                "ED" => Some(Phase::Ed),
                "ES" => Some(Phase::Es),
                _ => None,
            })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A data split: one of the three a run gives its cases, or external to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Val,
    /// Test.
    Test,
    /// A case a run never saw (neither trained, validated nor tested on), evaluated with the
    /// run's checkpoint: never counted as any of the run's splits.
    External,
}

impl Split {
    /// The three splits a run gives its cases (not [`Split::External`]).
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The name: train, val, test or external.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
            Split::External => "external",
        }
    }

    /// The run split named `name` (train, val/valid/validation, test; any case); `external` is
    /// no dataset's split, so it is not parsed here.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Split::Train),
            "val" | "valid" | "validation" => Some(Split::Val),
            "test" | "testing" => Some(Split::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is known about a sample besides its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInfo {
    /// Dataset name (camus, hmcqu, echonet, png, or `synthetic-seedS` for the generator's seed
    /// S): with the case id, what identifies a case across runs and commands.
    pub dataset: String,
    /// Acquisition centre or sub-set, when known.
    pub centre: Option<String>,
    /// Patient or case id; splits are drawn per case.
    pub case: String,
    /// Plane.
    pub plane: Plane,
    /// Cardiac phase, when known.
    pub phase: Option<Phase>,
    /// Frame index in the source sequence, when the sample comes from a video or sequence.
    pub frame: Option<u32>,
    /// Pixel spacing [x, y] in millimetres, when known.
    pub spacing: Option<[f64; 2]>,
    /// The split: the official one when the dataset defines one; once a run's split is
    /// assigned ([`crate::split::assign`], [`crate::split::SplitFile::apply`]), the run's.
    pub split: Option<Split>,
}

impl SampleInfo {
    /// Info with only dataset and case set.
    pub fn new(dataset: impl Into<String>, case: impl Into<String>) -> Self {
        Self {
            dataset: dataset.into(),
            centre: None,
            case: case.into(),
            plane: Plane::Unknown,
            phase: None,
            frame: None,
            spacing: None,
            split: None,
        }
    }

    /// A file-name-safe identifier: case, plane, phase and frame joined by underscores.
    pub fn stem(&self) -> String {
        let mut stem = self.case.clone();
        if self.plane != Plane::Unknown {
            stem.push('_');
            stem.push_str(self.plane.name());
        }
        if let Some(phase) = self.phase {
            stem.push('_');
            stem.push_str(phase.name());
        }
        if let Some(frame) = self.frame {
            stem.push_str(&format!("_f{frame:04}"));
        }
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// One grey image with its label map (0 background, 1 LV, 2 MYO, 3 LA) at native resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Grey image, 8 bits.
    pub image: GrayImage,
    /// Label map of the same size as the image.
    pub label: GrayImage,
    /// The structures annotated in the label map.
    pub annotated: StructureSet,
    /// Everything else known about the sample.
    pub info: SampleInfo,
}

impl Sample {
    /// A sample, checked: image and label the same non-zero size, labels in 0..=3, and only
    /// annotated structures present. `source` names the file(s) for the error message.
    pub fn new(
        image: GrayImage,
        label: GrayImage,
        annotated: StructureSet,
        info: SampleInfo,
        source: &std::path::Path,
    ) -> Result<Self> {
        if image.width() == 0 || image.height() == 0 {
            return Err(DataError::format(source, "image is empty (0 pixels)"));
        }
        if image.dimensions() != label.dimensions() {
            return Err(DataError::format(
                source,
                format!(
                    "image is {}x{} but its label map is {}x{}",
                    image.width(),
                    image.height(),
                    label.width(),
                    label.height()
                ),
            ));
        }
        if let Some(bad) = label.as_raw().iter().find(|&&v| v > 3) {
            return Err(DataError::format(
                source,
                format!(
                    "label value {bad} out of range (expected 0 background, 1 LV, 2 MYO, 3 LA)"
                ),
            ));
        }
        if let Some(s) = Structure::ALL
            .into_iter()
            .filter(|&s| !annotated.contains(s))
            .find(|s| label.as_raw().contains(&s.label()))
        {
            return Err(DataError::format(
                source,
                format!(
                    "label map holds {s} (value {}) which this dataset does not annotate",
                    s.label()
                ),
            ));
        }
        Ok(Self {
            image,
            label,
            annotated,
            info,
        })
    }

    /// The structures with at least one pixel in the label map.
    pub fn present(&self) -> StructureSet {
        let mut seen = [false; 4];
        for &v in self.label.as_raw() {
            seen[(v & 3) as usize] = true;
        }
        StructureSet::of(
            &Structure::ALL
                .into_iter()
                .filter(|s| seen[s.label() as usize])
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn info() -> SampleInfo {
        SampleInfo::new("test", "c1")
    }

    #[test]
    fn rejects_size_mismatch_and_out_of_range_labels() {
        let src = Path::new("x.png");
        let e = Sample::new(
            GrayImage::new(4, 4),
            GrayImage::new(4, 5),
            StructureSet::ALL,
            info(),
            src,
        )
        .unwrap_err();
        assert!(e.to_string().contains("x.png") && e.to_string().contains("4x5"));
        let mut l = GrayImage::new(4, 4);
        l.put_pixel(1, 1, image::Luma([7]));
        let e = Sample::new(GrayImage::new(4, 4), l, StructureSet::ALL, info(), src).unwrap_err();
        assert!(e.to_string().contains("label value 7"));
        let mut l = GrayImage::new(4, 4);
        l.put_pixel(1, 1, image::Luma([3]));
        let only_myo = StructureSet::of(&[Structure::Myo]);
        let e = Sample::new(GrayImage::new(4, 4), l.clone(), only_myo, info(), src).unwrap_err();
        assert!(e.to_string().contains("LA"));
        let s = Sample::new(GrayImage::new(4, 4), l, StructureSet::ALL, info(), src).unwrap();
        assert_eq!(s.present(), StructureSet::of(&[Structure::La]));
    }

    #[test]
    fn names_parse_back() {
        for p in Plane::ALL {
            assert_eq!(Plane::parse(p.name()), Some(p));
        }
        assert_eq!(
            Plane::from_file_name("patient0001_4CH_ED"),
            Plane::FourChamber
        );
        assert_eq!(Plane::from_file_name("ES0001_CH4_1"), Plane::Unknown);
        assert_eq!(
            Phase::from_file_name("patient0001_2CH_ES_gt"),
            Some(Phase::Es)
        );
        let set = StructureSet::of(&[Structure::Lv, Structure::La]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Structure::Lv, Structure::La]
        );
        assert_eq!(set.len(), 2);
    }
}
