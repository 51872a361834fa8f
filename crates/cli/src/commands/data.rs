//! `echoone data`: synthesise, inspect and export echo datasets.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use echoone_data::synthetic::write_cine;
use echoone_data::{
    DatasetSpec, Plane, Sample, SplitPlan, SyntheticConfig, authors, contact_sheet, hmcqu, inspect,
    split,
};

/// Arguments of `echoone data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    command: Command,
}

impl DataArgs {
    /// Runs the data subcommand.
    pub fn run(self) -> Result<()> {
        run(self.command)
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the synthetic multi-plane echo dataset in the authors' PNG layout.
    Synth {
        /// Output folder (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Number of cases (patients); each gives 2CH, 3CH, 4CH and PSAX at ED and ES.
        #[arg(long, default_value_t = 40)]
        cases: usize,
        /// Seed: the same seed writes the same images.
        #[arg(long, default_value_t = 1234)]
        seed: u64,
        /// Image side in pixels.
        #[arg(long, default_value_t = 256)]
        size: u32,
        /// Planes to draw, comma-separated.
        #[arg(long, default_value = "2CH,3CH,4CH,PSAX", value_delimiter = ',')]
        planes: Vec<String>,
        #[command(flatten)]
        split: SplitArgs,
    },
    /// Write synthetic cine loops with their true EDV, ESV and EF: per case `<case>_<plane>.nii.gz`,
    /// `<case>_<plane>_gt.nii.gz` and `<case>_<plane>.cfg`.
    Cine {
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of cases (patients).
        #[arg(long, default_value_t = 4)]
        cases: usize,
        /// Seed: the same seed draws the same patients as `synth`.
        #[arg(long, default_value_t = 1234)]
        seed: u64,
        /// Plane: 2CH, 3CH, 4CH or PSAX.
        #[arg(long, default_value = "4CH")]
        plane: String,
        /// Frames a heart cycle (20 to 40).
        #[arg(long, default_value_t = 30)]
        frames: usize,
        /// Heart cycles.
        #[arg(long, default_value_t = 2)]
        beats: usize,
        /// Image side in pixels.
        #[arg(long, default_value_t = 256)]
        size: u32,
    },
    /// Print counts per plane, structure, split and phase, and write a contact sheet.
    Inspect {
        /// Dataset: synthetic[:cases=N,seed=S,size=WxH], png:/path, camus:/path, camus-seq:/path, echonet:/path, hmcqu:/path.
        spec: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Contact sheet PNG (samples with their masks overlaid).
        #[arg(long, default_value = "contact_sheet.png")]
        sheet: PathBuf,
        #[command(flatten)]
        split: SplitArgs,
    },
    /// Write every sample at native resolution in the authors' PNG layout plus samples.jsonl.
    Export {
        /// Dataset: synthetic[:cases=N,seed=S,size=WxH], png:/path, camus:/path, camus-seq:/path, echonet:/path, hmcqu:/path.
        spec: String,
        /// Output folder (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        split: SplitArgs,
    },
}

#[derive(Args, Debug)]
struct SplitArgs {
    /// Fraction of cases for validation, where the dataset has no official split.
    #[arg(long, default_value_t = 0.1)]
    val: f64,
    /// Fraction of cases for test, where the dataset has no official split.
    #[arg(long, default_value_t = 0.2)]
    test: f64,
    /// Seed of the split draw.
    #[arg(long, default_value_t = 1234)]
    split_seed: u64,
    /// splits.json: reused when it exists, else written with the drawn split.
    #[arg(long)]
    splits: Option<PathBuf>,
}

impl SplitArgs {
    fn plan(&self) -> SplitPlan {
        SplitPlan {
            val: self.val,
            test: self.test,
            seed: self.split_seed,
        }
    }
}

/// The dataset's samples with their splits, and for HMC-QU what its sheet held.
fn load(
    spec: &str,
    split: &SplitArgs,
) -> Result<(DatasetSpec, Vec<Sample>, Option<hmcqu::Report>)> {
    let spec = DatasetSpec::parse(spec)?;
    let (mut samples, report) = match &spec {
        DatasetSpec::HmcQu(dir) => {
            let (samples, report) = hmcqu::read_with_report(dir)?;
            (samples, Some(report))
        }
        _ => (spec.load()?, None),
    };
    split::assign(&mut samples, &split.plan(), split.splits.as_deref())?;
    Ok((spec, samples, report))
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Synth {
            out,
            cases,
            seed,
            size,
            planes,
            split,
        } => {
            let planes = planes
                .iter()
                .map(|p| Plane::parse(p).with_context(|| format!("unknown plane {p:?}")))
                .collect::<Result<Vec<_>>>()?;
            let cfg = SyntheticConfig {
                cases,
                seed,
                width: size,
                height: size,
                planes,
                ..SyntheticConfig::default()
            };
            let samples = cfg.write(&out, &split.plan())?;
            println!(
                "wrote {} images of {cases} cases to {}",
                samples.len(),
                out.display()
            );
        }
        Command::Cine {
            out,
            cases,
            seed,
            plane,
            frames,
            beats,
            size,
        } => {
            let plane = Plane::parse(&plane).with_context(|| format!("unknown plane {plane:?}"))?;
            let cfg = SyntheticConfig {
                cases,
                seed,
                width: size,
                height: size,
                ..SyntheticConfig::default()
            };
            cfg.validate()?;
            for case in 0..cases {
                let cine = cfg.cine(case, plane, frames, beats)?;
                let stem = format!("{}_{plane}", SyntheticConfig::case_name(case));
                write_cine(&cine, &out, &stem)?;
                let t = cine.truth;
                println!(
                    "{stem}: {} frames, EDV {:.1} ml, ESV {:.1} ml, EF {:.1} %",
                    cine.frames.len(),
                    t.edv_ml,
                    t.esv_ml,
                    t.ef_pct
                );
            }
            println!("wrote {cases} cines to {}", out.display());
        }
        Command::Inspect {
            spec,
            json,
            sheet: sheet_path,
            split,
        } => {
            let (_, samples, report) = load(&spec, &split)?;
            let mut summary = inspect::summary(&samples);
            if let Some(report) = &report {
                inspect::add_hmcqu(&mut summary, report);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", inspect::table(&summary));
            }
            contact_sheet::write_sheet(
                &sheet_path,
                &contact_sheet::contact_sheet(&samples, 36, 192),
            )?;
            eprintln!("contact sheet: {}", sheet_path.display());
        }
        Command::Export { spec, out, split } => {
            let (spec, samples, _) = load(&spec, &split)?;
            authors::write(&out, spec.name(), &samples)?;
            println!("wrote {} samples to {}", samples.len(), out.display());
        }
    }
    Ok(())
}
