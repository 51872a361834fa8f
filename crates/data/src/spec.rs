//! Dataset specifications as the command line names them (`synthetic`, `png:/path`, ...), and
//! loading them into samples.

use std::path::PathBuf;

use crate::error::{DataError, Result};
use crate::reference::{EfReference, camus_references, echonet_references, png_references};
use crate::sample::{Phase, Plane, Sample};
use crate::synthetic::SyntheticConfig;

/// A dataset to load, as the command line names it (`--dataset`).
///
/// ```
/// use echoone_data::{DatasetSpec, Plane};
///
/// // The built-in synthetic echoes: 2 cases, 2 planes, end-diastole only, 64x48 pixels.
/// let spec = DatasetSpec::parse("synthetic:cases=2,size=64x48,planes=2CH+4CH,phases=ED")?;
/// let DatasetSpec::Synthetic(config) = &spec else {
///     panic!("not the synthetic generator");
/// };
/// assert_eq!((config.cases, config.width, config.height), (2, 64, 48));
/// assert_eq!(config.planes, [Plane::TwoChamber, Plane::FourChamber]);
/// let samples = spec.load()?; // generated, nothing read from disk
/// assert_eq!(samples.len(), 4);
/// assert_eq!(samples[0].image.dimensions(), (64, 48));
///
/// // Datasets on disk are `name:/path`; the path is read only by `load`.
/// let camus = DatasetSpec::parse("camus:/data/CAMUS")?;
/// assert_eq!(camus, DatasetSpec::Camus("/data/CAMUS".into()));
/// assert!(DatasetSpec::parse("camus").is_err()); // no folder
/// assert!(DatasetSpec::parse("synthetic:cases=0").is_err());
/// # Ok::<(), echoone_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetSpec {
    /// The synthetic generator.
    Synthetic(SyntheticConfig),
    /// The authors' PNG layout, or a plain folder of image/label PNG pairs.
    Png(PathBuf),
    /// CAMUS, NIfTI or MetaImage release.
    Camus(PathBuf),
    /// CAMUS with the inner frames of the half sequences (`camus-seq:/path`).
    CamusSequences(PathBuf),
    /// EchoNet-Dynamic (FileList.csv, VolumeTracings.csv, Videos/).
    EchoNet(PathBuf),
    /// HMC-QU (A4C videos, LV-wall masks, A4C.xlsx).
    HmcQu(PathBuf),
}

impl DatasetSpec {
    /// Parses `synthetic[:cases=N,seed=S,size=WxH,planes=2CH+4CH,phases=ED+ES]`, `png:/path`,
    /// `camus:/path`, `camus-seq:/path`, `echonet:/path` or `hmcqu:/path`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        match kind.to_ascii_lowercase().as_str() {
            "synthetic" | "synth" => parse_synthetic(rest).map(DatasetSpec::Synthetic),
            "png" => Ok(DatasetSpec::Png(path(kind, rest)?)),
            "camus" => Ok(DatasetSpec::Camus(path(kind, rest)?)),
            "camus-seq" => Ok(DatasetSpec::CamusSequences(path(kind, rest)?)),
            "echonet" => Ok(DatasetSpec::EchoNet(path(kind, rest)?)),
            "hmcqu" | "hmc-qu" => Ok(DatasetSpec::HmcQu(path(kind, rest)?)),
            _ => Err(DataError::Invalid(format!(
                "unknown dataset {spec:?}: expected synthetic[:cases=N,...], camus:/path, camus-seq:/path, echonet:/path, hmcqu:/path or png:/path"
            ))),
        }
    }

    /// A short name for file names and reports.
    pub fn name(&self) -> &'static str {
        match self {
            DatasetSpec::Synthetic(_) => "synthetic",
            DatasetSpec::Png(_) => "png",
            DatasetSpec::Camus(_) | DatasetSpec::CamusSequences(_) => "camus",
            DatasetSpec::EchoNet(_) => "echonet",
            DatasetSpec::HmcQu(_) => "hmcqu",
        }
    }

    /// Loads every sample.
    pub fn load(&self) -> Result<Vec<Sample>> {
        match self {
            DatasetSpec::Synthetic(cfg) => cfg.generate(0),
            DatasetSpec::Camus(dir) => crate::camus::read(dir),
            DatasetSpec::CamusSequences(dir) => crate::camus::read_with_half_sequences(dir),
            DatasetSpec::EchoNet(dir) => crate::echonet::read(dir),
            DatasetSpec::HmcQu(dir) => crate::hmcqu::read(dir),
            DatasetSpec::Png(dir) => {
                if crate::authors::is_layout(dir) {
                    crate::authors::read(dir)
                } else {
                    crate::png_folder::read(dir)
                }
            }
        }
    }

    /// The reference volumes and EF of every case that has one, in the dataset's case order:
    /// the synthetic truth, CAMUS `Info_{2CH,4CH}.cfg` (`LVedv`/`EDV`, `LVesv`/`ESV`,
    /// `LVef`/`EF`, the EF as a fraction up to 1 or a percent; the 2CH file first),
    /// EchoNet-Dynamic `FileList.csv`, a PNG layout's `ef_reference.csv` (none when absent); none
    /// for HMC-QU. A value that is not a number, negative, or an EF above 100 % is an error
    /// naming the file and line.
    pub fn references(&self) -> Result<Vec<EfReference>> {
        match self {
            DatasetSpec::Synthetic(cfg) => cfg.references(),
            DatasetSpec::Camus(dir) | DatasetSpec::CamusSequences(dir) => camus_references(dir),
            DatasetSpec::EchoNet(dir) => echonet_references(dir),
            DatasetSpec::Png(dir) => png_references(dir),
            DatasetSpec::HmcQu(_) => Ok(Vec::new()),
        }
    }
}

fn path(kind: &str, rest: &str) -> Result<PathBuf> {
    if rest.is_empty() {
        return Err(DataError::Invalid(format!(
            "{kind}: needs a path, as {kind}:/data/{kind}"
        )));
    }
    Ok(PathBuf::from(rest))
}

fn parse_synthetic(options: &str) -> Result<SyntheticConfig> {
    let mut cfg = SyntheticConfig::default();
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        let bad = || DataError::Invalid(format!("synthetic: bad option {opt:?}"));
        let (key, value) = opt.split_once('=').ok_or_else(bad)?;
        match key {
            "cases" => cfg.cases = value.parse().map_err(|_| bad())?,
            "seed" => cfg.seed = value.parse().map_err(|_| bad())?,
            "size" => {
                let (w, h) = value.split_once('x').unwrap_or((value, value));
                cfg.width = w.parse().map_err(|_| bad())?;
                cfg.height = h.parse().map_err(|_| bad())?;
            }
            "planes" => {
                cfg.planes = value
                    .split('+')
                    .map(|p| Plane::parse(p).ok_or_else(bad))
                    .collect::<Result<_>>()?
            }
            "phases" => {
                cfg.phases = value
                    .split('+')
                    .map(|p| Phase::from_file_name(p).ok_or_else(bad))
                    .collect::<Result<_>>()?
            }
            _ => return Err(bad()),
        }
    }
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmcqu_states_no_reference_volumes() {
        let spec = DatasetSpec::HmcQu("/nowhere".into());
        assert_eq!(spec.references().unwrap(), vec![]);
    }

    #[test]
    fn parses_specs_and_rejects_bad_ones() {
        let DatasetSpec::Synthetic(c) =
            DatasetSpec::parse("synthetic:cases=3,seed=7,size=64x48,planes=4CH+PSAX").unwrap()
        else {
            panic!("not synthetic")
        };
        assert_eq!((c.cases, c.seed, c.width, c.height), (3, 7, 64, 48));
        assert_eq!(c.planes, vec![Plane::FourChamber, Plane::ShortAxis]);
        assert_eq!(
            DatasetSpec::parse("png:/x").unwrap(),
            DatasetSpec::Png(PathBuf::from("/x"))
        );
        assert_eq!(
            DatasetSpec::parse("echonet:/e").unwrap(),
            DatasetSpec::EchoNet(PathBuf::from("/e"))
        );
        for hmcqu in ["hmcqu:/h", "hmc-qu:/h"] {
            assert_eq!(
                DatasetSpec::parse(hmcqu).unwrap(),
                DatasetSpec::HmcQu(PathBuf::from("/h"))
            );
        }
        assert_eq!(
            DatasetSpec::parse("camus:/c").unwrap(),
            DatasetSpec::Camus(PathBuf::from("/c"))
        );
        assert_eq!(
            DatasetSpec::parse("camus-seq:/c").unwrap(),
            DatasetSpec::CamusSequences(PathBuf::from("/c"))
        );
        assert!(DatasetSpec::parse("png").is_err());
        assert!(DatasetSpec::parse("nope:/x").is_err());
        assert!(DatasetSpec::parse("synthetic:cases=zero").is_err());
        assert!(DatasetSpec::parse("synthetic:planes=5CH").is_err());
    }
}
