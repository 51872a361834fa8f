//! `cargo xtask bench compare --python PY --authors-checkout DIR [--configs small,vit_b]
//! [--steps N] [--skip-train] [--skip-infer]`: EchoONE on burn-flex beside the authors' PyTorch
//! code (eager, 2 threads), one after the other on this machine, and the tables of their ratios.
//!
//! - Training: one step (`crates/train/benches/train.rs` against
//!   `crates/train/benches/torch_train.py`): step time, and the process's peak resident set
//!   during a step above that of model and Adam state.
//! - Inference: one image, batch 1 at 256, encoder and decoder in EchoONE's geometry (the
//!   `echoone <config> fwd` cases of `crates/model/benches/model.rs` against
//!   `crates/model/benches/torch_model.py`, eval mode under `no_grad` on the PyTorch side): call
//!   time, and the process's peak resident set during the first call, absolute and above the
//!   resident set before it (model built).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail, ensure};

use crate::cargo;

const USAGE: &str = "usage: cargo xtask bench compare --python PY --authors-checkout DIR \
[--configs small,vit_b] [--steps N] [--skip-train] [--skip-infer]

Runs EchoONE on burn-flex (release benches) and the authors' PyTorch code (eager, 2 threads)
on this machine, one after the other, and prints two tables of times, peak resident sets and
their ratios:
  training   one step (batch 4, 256 px, PC-Mask on, Adam): the `train` bench against
             crates/train/benches/torch_train.py
  inference  one image (batch 1, 256 px, encoder + decoder, K = 4 prior): the `model` bench's
             `echoone <config> fwd` against crates/model/benches/torch_model.py (eval, no_grad)

  --python PY             a Python with torch and numpy
  --authors-checkout DIR  a checkout of github.com/a2502503/EchoONE
  --configs LIST          small and/or vit_b (default small)
  --steps N               timed steps or calls after a warm-up, median reported (default 3)
  --skip-train            no training table
  --skip-infer            no inference table
";

/// What one side measured for one configuration.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Side {
    /// Median time of a training step or of an inference call, in seconds.
    pub step_s: Option<f64>,
    /// Peak resident set during a step above that of model and Adam state (training), or during
    /// the first call above the resident set before it (inference), in MiB.
    pub rss_growth_mib: Option<f64>,
    /// Peak resident set of the process during that step or call, in MiB.
    pub rss_mib: Option<f64>,
    /// Peak Rust heap growth during a step, in MiB (the Rust side only).
    pub heap_mib: Option<f64>,
}

/// The options of `bench compare`.
#[derive(Debug, PartialEq)]
struct Options {
    python: String,
    checkout: PathBuf,
    configs: Vec<String>,
    steps: usize,
    train: bool,
    infer: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let (mut python, mut checkout, mut configs, mut steps) = (None, None, vec!["small".into()], 3);
    let (mut train, mut infer) = (true, true);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--python" => python = Some(value()?),
            "--authors-checkout" => checkout = Some(PathBuf::from(value()?)),
            "--configs" => configs = value()?.split(',').map(str::to_string).collect(),
            "--steps" => {
                let text = value()?;
                steps = text
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--steps {text}: expected a number above 0"))?;
            }
            "--skip-train" => train = false,
            "--skip-infer" => infer = false,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("bench compare: unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    ensure!(
        train || infer,
        "bench compare: --skip-train and --skip-infer leave nothing to run"
    );
    for c in &configs {
        ensure!(
            c == "small" || c == "vit_b",
            "--configs: `{c}` is not small or vit_b"
        );
    }
    Ok(Options {
        python: python.with_context(|| format!("bench compare needs --python PY\n\n{USAGE}"))?,
        checkout: checkout
            .with_context(|| format!("bench compare needs --authors-checkout DIR\n\n{USAGE}"))?,
        configs,
        steps,
        train,
        infer,
    })
}

/// The first number after `key` in `line`.
fn number_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    let text: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    text.parse().ok()
}

/// The burn-flex figures per configuration in the `train` bench's output.
pub fn parse_rust(output: &str) -> BTreeMap<String, Side> {
    let mut sides: BTreeMap<String, Side> = BTreeMap::new();
    for line in output.lines() {
        for config in ["small", "vit_b"] {
            let label = format!("train step {config} b4 flex");
            if !line.contains(&label) {
                continue;
            }
            let side = sides.entry(config.to_string()).or_default();
            if line.starts_with(&format!("{label}: median")) {
                side.step_s = number_after(line, "median");
            } else if line.starts_with("peak rss ") {
                side.rss_growth_mib = number_after(line, "MiB (");
                side.rss_mib = number_after(line, ":");
            } else if line.starts_with("peak heap ") {
                side.heap_mib = number_after(line, "):");
            }
        }
    }
    sides
}

/// The PyTorch figures per configuration in `torch_train.py`'s JSON lines.
pub fn parse_torch(output: &str) -> BTreeMap<String, Side> {
    let mut sides = BTreeMap::new();
    for line in output.lines().filter(|l| l.starts_with('{')) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let name = value["name"].as_str().unwrap_or_default();
        let Some(config) = ["small", "vit_b"]
            .into_iter()
            .find(|c| name.contains(&format!(" {c} ")))
        else {
            continue;
        };
        sides.insert(
            config.to_string(),
            Side {
                step_s: value["median_s"].as_f64(),
                rss_growth_mib: value["peak_rss_above_model_mib"].as_f64(),
                rss_mib: value["peak_rss_mib"].as_f64(),
                heap_mib: None,
            },
        );
    }
    sides
}

/// The label of the inference case of `config` in `benches/model.rs` and `torch_model.py`.
fn infer_case(config: &str) -> String {
    format!("echoone {config} fwd")
}

/// The burn-flex figures per configuration in the `model` bench's hand-timed output
/// (`ECHOONE_BENCH_STEPS`), its inference cases only.
pub fn parse_rust_infer(output: &str) -> BTreeMap<String, Side> {
    let mut sides: BTreeMap<String, Side> = BTreeMap::new();
    for line in output.lines() {
        for config in ["small", "vit_b"] {
            let label = infer_case(config);
            // `echoone small fwd` is a prefix of `echoone small fwd+bwd`: the colon ends it.
            let after = |prefix: &str| line.strip_prefix(prefix)?.strip_prefix(':');
            if let Some(rest) = after(&label) {
                let time = number_after(rest, "median");
                if time.is_some() {
                    sides.entry(config.to_string()).or_default().step_s = time;
                }
            } else if let Some(rest) = after(&format!("peak rss {label}")) {
                let side = sides.entry(config.to_string()).or_default();
                side.rss_mib = number_after(rest, "");
                side.rss_growth_mib = number_after(rest, "MiB (");
            } else if let Some(rest) = after(&format!("peak heap {label}")) {
                sides.entry(config.to_string()).or_default().heap_mib = number_after(rest, "");
            }
        }
    }
    sides
}

/// The PyTorch figures per configuration in `torch_model.py`'s JSON lines, its inference cases
/// only.
pub fn parse_torch_infer(output: &str) -> BTreeMap<String, Side> {
    let mut sides = BTreeMap::new();
    for line in output.lines().filter(|l| l.starts_with('{')) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let name = value["name"].as_str().unwrap_or_default();
        let Some(config) = ["small", "vit_b"]
            .into_iter()
            .find(|c| name == infer_case(c))
        else {
            continue;
        };
        sides.insert(
            config.to_string(),
            Side {
                step_s: value["median_s"].as_f64(),
                rss_growth_mib: value["peak_rss_above_before_mib"].as_f64(),
                rss_mib: value["peak_rss_mib"].as_f64(),
                heap_mib: None,
            },
        );
    }
    sides
}

/// A Markdown cell: `v` with two decimals and `unit`, or `-`.
fn cell(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}{unit}"))
}

/// A Markdown cell: `a / b` as `1.23x`, or `-`.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// The Markdown header row and separator of `columns`.
fn header(columns: &[&str]) -> String {
    format!(
        "| {} |\n|{}\n",
        columns.join(" | "),
        " --- |".repeat(columns.len())
    )
}

/// The sides of `config`, empty where missing.
fn pair(
    config: &str,
    rust: &BTreeMap<String, Side>,
    torch: &BTreeMap<String, Side>,
) -> (Side, Side) {
    (
        rust.get(config).cloned().unwrap_or_default(),
        torch.get(config).cloned().unwrap_or_default(),
    )
}

/// The training comparison table (Markdown).
pub fn table(
    configs: &[String],
    rust: &BTreeMap<String, Side>,
    torch: &BTreeMap<String, Side>,
) -> String {
    let mut out = header(&[
        "config",
        "burn-flex step",
        "PyTorch step",
        "time ratio",
        "burn-flex peak RSS above model",
        "PyTorch peak RSS above model",
        "memory ratio",
        "burn-flex Rust heap",
    ]);
    for config in configs {
        let (r, t) = pair(config, rust, torch);
        out.push_str(&format!(
            "| {config} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(r.step_s, " s"),
            cell(t.step_s, " s"),
            ratio(r.step_s, t.step_s),
            cell(r.rss_growth_mib, " MiB"),
            cell(t.rss_growth_mib, " MiB"),
            ratio(r.rss_growth_mib, t.rss_growth_mib),
            cell(r.heap_mib, " MiB"),
        ));
    }
    out
}

/// The inference comparison table (Markdown): call time, the process's peak resident set during
/// the first call (absolute, and above the resident set before it), their ratios, and the Rust
/// heap growth.
pub fn infer_table(
    configs: &[String],
    rust: &BTreeMap<String, Side>,
    torch: &BTreeMap<String, Side>,
) -> String {
    let mut out = header(&[
        "config",
        "burn-flex fwd",
        "PyTorch fwd",
        "time ratio",
        "burn-flex peak RSS",
        "PyTorch peak RSS",
        "RSS ratio",
        "burn-flex peak RSS above model",
        "PyTorch peak RSS above model",
        "ratio above model",
        "burn-flex Rust heap",
    ]);
    for config in configs {
        let (r, t) = pair(config, rust, torch);
        out.push_str(&format!(
            "| {config} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(r.step_s, " s"),
            cell(t.step_s, " s"),
            ratio(r.step_s, t.step_s),
            cell(r.rss_mib, " MiB"),
            cell(t.rss_mib, " MiB"),
            ratio(r.rss_mib, t.rss_mib),
            cell(r.rss_growth_mib, " MiB"),
            cell(t.rss_growth_mib, " MiB"),
            ratio(r.rss_growth_mib, t.rss_growth_mib),
            cell(r.heap_mib, " MiB"),
        ));
    }
    out
}

/// Runs `cmd`, echoing what it prints, and returns its stdout.
fn run_capture(mut cmd: Command, what: &str) -> Result<String> {
    eprintln!("bench compare: {what}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprint!("{stdout}");
    ensure!(
        out.status.success(),
        "{what}: failed ({})\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// `cargo xtask bench compare ...`.
pub fn compare(args: &[String]) -> Result<ExitCode> {
    let options = parse(args)?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let steps = options.steps.to_string();
    if options.train {
        let mut rust = cargo();
        rust.args(["bench", "--package", "echoone-train", "--bench", "train"])
            .env("ECHOONE_BENCH_STEPS", &steps)
            .env("ECHOONE_BENCH_CONFIGS", options.configs.join(","))
            .env("ECHOONE_BENCH_BACKENDS", "flex");
        let rust = parse_rust(&run_capture(
            rust,
            "burn-flex training (crates/train/benches/train.rs)",
        )?);
        let mut torch = Command::new(&options.python);
        torch
            .arg(root.join("crates/train/benches/torch_train.py"))
            .arg(&options.checkout)
            .args(&options.configs)
            .args(["--steps", &steps]);
        let torch = parse_torch(&run_capture(
            torch,
            "PyTorch eager training (crates/train/benches/torch_train.py)",
        )?);
        println!("training step, batch 4\n");
        println!("{}", table(&options.configs, &rust, &torch));
    }
    if options.infer {
        let cases: Vec<String> = options.configs.iter().map(|c| infer_case(c)).collect();
        let mut rust = cargo();
        rust.args(["bench", "--package", "echoone-model", "--bench", "model"])
            .env("ECHOONE_BENCH_STEPS", &steps)
            .env("ECHOONE_BENCH_CASES", cases.join(","));
        let rust = parse_rust_infer(&run_capture(
            rust,
            "burn-flex inference (crates/model/benches/model.rs)",
        )?);
        let mut torch = Command::new(&options.python);
        torch
            .arg(root.join("crates/model/benches/torch_model.py"))
            .arg(&options.checkout)
            .args(["--names", &cases.join(","), "--runs", &steps]);
        let torch = parse_torch_infer(&run_capture(
            torch,
            "PyTorch eager inference (crates/model/benches/torch_model.py)",
        )?);
        println!("inference, batch 1\n");
        println!("{}", infer_table(&options.configs, &rust, &torch));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "\
peak heap train step small b4 flex (above model and optimiser): 2599.3 MiB
peak rss train step small b4 flex: 3100.0 MiB (1363.2 MiB above the 1736.8 MiB of model and Adam state)
train step small b4 flex: median 12.63 s of 3 steps (min 12.21, max 13.08), 0.317 samples/s
";
    const TORCH: &str = r#"{"name": "train step small b4 torch-eager", "median_s": 3.61, "peak_rss_above_model_mib": 950.5}
"#;

    #[test]
    fn both_outputs_are_read_and_the_ratios_tabled() {
        let rust = parse_rust(RUST);
        assert_eq!(
            rust["small"],
            Side {
                step_s: Some(12.63),
                rss_growth_mib: Some(1363.2),
                rss_mib: Some(3100.0),
                heap_mib: Some(2599.3)
            }
        );
        let torch = parse_torch(TORCH);
        assert_eq!(torch["small"].step_s, Some(3.61));
        let text = table(&["small".into(), "vit_b".into()], &rust, &torch);
        assert!(text.contains("| small | 12.63 s | 3.61 s | 3.50x | 1363.20 MiB | 950.50 MiB | 1.43x | 2599.30 MiB |"), "{text}");
        assert!(text.contains("| vit_b | - | - | - |"), "{text}");
    }

    /// The `model` bench with `ECHOONE_BENCH_STEPS=3` and every case: the fwd+bwd lines must
    /// not be read as the fwd ones.
    const RUST_INFER: &str = "\
heap policy: Kept
peak heap echoone small fwd: 212.4 MiB
peak rss echoone small fwd: 905.2 MiB (310.4 MiB above the 594.8 MiB before the first call)
echoone small fwd: median 1.234 s of 3 runs (min 1.200, max 1.310)
peak heap echoone small fwd+bwd: 1999.0 MiB
peak rss echoone small fwd+bwd: 2999.0 MiB (2400.0 MiB above the 599.0 MiB before the first call)
echoone small fwd+bwd: median 5.000 s of 3 runs (min 4.900, max 5.100)
peak heap echoone vit_b fwd: 1500.5 MiB
peak rss echoone vit_b fwd: not available (needs Linux /proc)
echoone vit_b fwd: median 12.500 s of 3 runs (min 12.000, max 13.000)
";
    const TORCH_INFER: &str = r#"torch 2.15.0+cu132, 2 threads
{"name": "echoone small fwd", "torch": "2.15.0+cu132", "threads": 2, "runs": 3, "median_s": 0.617, "min_s": 0.6, "max_s": 0.7, "median_ms": 617.0, "peak_rss_mib": 699.4, "peak_rss_above_before_mib": 130.4}
{"name": "echoone small fwd+bwd", "median_s": 9.0, "peak_rss_mib": 9999.0, "peak_rss_above_before_mib": 9000.0}
"#;

    #[test]
    fn inference_outputs_are_read_and_the_ratios_tabled() {
        let rust = parse_rust_infer(RUST_INFER);
        assert_eq!(
            rust["small"],
            Side {
                step_s: Some(1.234),
                rss_growth_mib: Some(310.4),
                rss_mib: Some(905.2),
                heap_mib: Some(212.4)
            }
        );
        assert_eq!(
            rust["vit_b"],
            Side {
                step_s: Some(12.5),
                heap_mib: Some(1500.5),
                ..Side::default()
            }
        );
        let torch = parse_torch_infer(TORCH_INFER);
        assert_eq!(
            torch["small"],
            Side {
                step_s: Some(0.617),
                rss_growth_mib: Some(130.4),
                rss_mib: Some(699.4),
                heap_mib: None
            }
        );
        assert!(!torch.contains_key("vit_b"));
        let text = infer_table(&["small".into(), "vit_b".into()], &rust, &torch);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("| config | burn-flex fwd | PyTorch fwd | time ratio |"));
        assert_eq!(lines[1], format!("|{}", " --- |".repeat(11)));
        assert_eq!(
            lines[2],
            "| small | 1.23 s | 0.62 s | 2.00x | 905.20 MiB | 699.40 MiB | 1.29x | 310.40 MiB | 130.40 MiB | 2.38x | 212.40 MiB |"
        );
        assert_eq!(
            lines[3],
            "| vit_b | 12.50 s | - | - | - | - | - | - | - | - | 1500.50 MiB |"
        );
    }

    #[test]
    fn training_output_is_not_read_as_inference() {
        assert!(parse_rust_infer(RUST).is_empty());
        assert!(parse_torch_infer(TORCH).is_empty());
        assert!(parse_rust(RUST_INFER).is_empty());
    }

    #[test]
    fn options_need_python_and_a_checkout() {
        let args = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse(&args(&["--python", "py"])).is_err());
        assert!(parse(&args(&["--authors-checkout", "x"])).is_err());
        assert!(
            parse(&args(&[
                "--python",
                "py",
                "--authors-checkout",
                "x",
                "--configs",
                "big"
            ]))
            .is_err()
        );
        let o = parse(&args(&[
            "--python",
            "py",
            "--authors-checkout",
            "x",
            "--steps",
            "2",
        ]))
        .unwrap();
        assert_eq!((o.configs, o.steps), (vec!["small".to_string()], 2));
        assert!(o.train && o.infer);
        let base = ["--python", "py", "--authors-checkout", "x"];
        let o = parse(&args(&[&base[..], &["--skip-train"]].concat())).unwrap();
        assert!(!o.train && o.infer);
        let o = parse(&args(&[&base[..], &["--skip-infer"]].concat())).unwrap();
        assert!(o.train && !o.infer);
        assert!(
            parse(&args(
                &[&base[..], &["--skip-train", "--skip-infer"]].concat()
            ))
            .is_err()
        );
    }
}
