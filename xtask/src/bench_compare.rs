//! `cargo xtask bench compare --python PY --authors-checkout DIR [--configs small,vit_b]
//! [--steps N]`: one training step of EchoONE on burn-flex (`crates/train/benches/train.rs`) and
//! of the authors' PyTorch code (`crates/train/benches/torch_train.py`), one after the other on
//! this machine, and the table of their ratios: step time, and the growth of the process's peak
//! resident set during a step (weights and Adam state already allocated in both).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail, ensure};

use crate::cargo;

const USAGE: &str = "usage: cargo xtask bench compare --python PY --authors-checkout DIR \
[--configs small,vit_b] [--steps N]

Runs one training step (batch 4, 256 px, PC-Mask on, Adam) of EchoONE on burn-flex (the
`train` bench, release) and of the authors' PyTorch code (eager, 2 threads) on this machine,
one after the other, and prints step times, peak resident-set growth and their ratios.

  --python PY             a Python with torch and numpy (crates/train/benches/torch_train.py)
  --authors-checkout DIR  a checkout of github.com/a2502503/EchoONE
  --configs LIST          small and/or vit_b (default small)
  --steps N               timed steps after a warm-up, median reported (default 3)
";

/// What one side measured for one configuration.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Side {
    /// Median step time in seconds.
    pub step_s: Option<f64>,
    /// Peak resident set during a step, above the resident set before it, in MiB.
    pub rss_growth_mib: Option<f64>,
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
}

fn parse(args: &[String]) -> Result<Options> {
    let (mut python, mut checkout, mut configs, mut steps) = (None, None, vec!["small".into()], 3);
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
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("bench compare: unknown argument `{other}`\n\n{USAGE}"),
        }
    }
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
                rss_growth_mib: value["peak_rss_above_before_mib"].as_f64(),
                heap_mib: None,
            },
        );
    }
    sides
}

/// The comparison table (Markdown).
pub fn table(
    configs: &[String],
    rust: &BTreeMap<String, Side>,
    torch: &BTreeMap<String, Side>,
) -> String {
    let cell = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.2}{unit}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    };
    let mut out = String::from(
        "| config | burn-flex step | PyTorch step | time ratio | burn-flex RSS growth | PyTorch RSS growth | memory ratio | burn-flex Rust heap |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for config in configs {
        let (r, t) = (
            rust.get(config).cloned().unwrap_or_default(),
            torch.get(config).cloned().unwrap_or_default(),
        );
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
    let configs = options.configs.join(",");
    let mut rust = cargo();
    rust.args(["bench", "--package", "echoone-train", "--bench", "train"])
        .env("ECHOONE_BENCH_STEPS", options.steps.to_string())
        .env("ECHOONE_BENCH_CONFIGS", &configs)
        .env("ECHOONE_BENCH_BACKENDS", "flex");
    let rust = parse_rust(&run_capture(
        rust,
        "burn-flex (crates/train/benches/train.rs)",
    )?);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut torch = Command::new(&options.python);
    torch
        .arg(root.join("crates/train/benches/torch_train.py"))
        .arg(&options.checkout)
        .args(&options.configs)
        .args(["--steps", &options.steps.to_string()]);
    let torch = parse_torch(&run_capture(
        torch,
        "PyTorch eager (crates/train/benches/torch_train.py)",
    )?);
    print!("{}", table(&options.configs, &rust, &torch));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "\
peak heap train step small b4 flex (above model and optimiser): 2599.3 MiB
peak rss train step small b4 flex: 3100.0 MiB (1363.2 MiB above the 1736.8 MiB before the step)
train step small b4 flex: median 12.63 s of 3 steps (min 12.21, max 13.08), 0.317 samples/s
";
    const TORCH: &str = r#"{"name": "train step small b4 torch-eager", "median_s": 3.61, "peak_rss_above_before_mib": 950.5}
"#;

    #[test]
    fn both_outputs_are_read_and_the_ratios_tabled() {
        let rust = parse_rust(RUST);
        assert_eq!(
            rust["small"],
            Side {
                step_s: Some(12.63),
                rss_growth_mib: Some(1363.2),
                heap_mib: Some(2599.3)
            }
        );
        let torch = parse_torch(TORCH);
        assert_eq!(torch["small"].step_s, Some(3.61));
        let text = table(&["small".into(), "vit_b".into()], &rust, &torch);
        assert!(text.contains("| small | 12.63 s | 3.61 s | 3.50x | 1363.20 MiB | 950.50 MiB | 1.43x | 2599.30 MiB |"), "{text}");
        assert!(text.contains("| vit_b | - | - | - |"), "{text}");
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
    }
}
