//! `cargo xtask parity sam|authors`: full-size parity with the reference PyTorch code, as one
//! command. Not part of CI (it needs PyTorch and, for `authors`, a checkout of the authors' code).
//!
//! Each run makes seeded random weights with a committed Python script, which also runs the
//! reference model and saves its inputs and outputs; then it runs this project's binaries
//! (release builds) on the same checkpoint and inputs, and prints the largest absolute and
//! relative difference of every output. It fails when one exceeds `--tol` (absolute).
//!
//! - `sam`: `scripts/parity/sam_reference.py` (official `segment-anything`), then the `sam`
//!   command per prompt case (low-res logits, IoU predictions) and the `sam_embedding` example
//!   of echoone-sam (the image embedding).
//! - `authors`: `crates/model/tests/fixtures/generate_authors.py` (the authors' classes,
//!   imported from their checkout), then `model run` (low-res logits, coarse logits).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail, ensure};

use crate::cargo;

/// Largest absolute difference tolerated by default.
const DEFAULT_TOL: f32 = 1e-4;

const USAGE: &str = "usage: cargo xtask parity sam [--arch vit_b|vit_l|vit_h] [--python PY] [--tol T] [--out DIR]
       cargo xtask parity authors --authors-checkout DIR [--variant small|vit_b|lffa_off|pc_mask_off]
                                  [--python PY] [--tol T] [--out DIR]

Makes seeded random weights and runs the reference PyTorch code (official segment-anything, or
the authors' EchoONE classes from their checkout) and this project's model on the same
checkpoint and inputs; prints the max abs and relative differences of every output and fails
if one exceeds --tol (absolute; default 1e-4). --arch (SAM's architecture, as `echoone sam
--arch`) defaults to vit_b; --variant (EchoONE's preset or ablation) to small.

  --authors-checkout DIR  required by `authors`, which has no default (nothing is downloaded):
                          a checkout of github.com/a2502503/EchoONE, holding
                          models/segment_anything_echoone/modeling/echoone.py
                          (git clone https://github.com/a2502503/EchoONE DIR)
  --python PY             a Python with torch, numpy and Pillow (and segment-anything for `sam`);
                          default python3
  --out DIR               keep the files in DIR (default: a temporary folder, removed afterwards)

See docs/sam.md and docs/model.md.
";

/// The file that marks a checkout of the authors' code (as generate_authors.py checks it).
const CHECKOUT_MARKER: &str = "models/segment_anything_echoone/modeling/echoone.py";

/// Which comparison, with its options.
#[derive(Debug, PartialEq)]
struct Options {
    kind: Kind,
    variant: String,
    python: String,
    checkout: Option<PathBuf>,
    tol: f32,
    out: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum Kind {
    Sam,
    Authors,
}

fn parse(args: &[String]) -> Result<Options> {
    let kind = match args.first().map(String::as_str) {
        Some("sam") => Kind::Sam,
        Some("authors") => Kind::Authors,
        Some(other) => bail!("parity: unknown reference `{other}` (sam or authors)\n\n{USAGE}"),
        None => bail!("parity: give sam or authors\n\n{USAGE}"),
    };
    let mut options = Options {
        kind,
        variant: match kind {
            Kind::Sam => "vit_b".into(),
            Kind::Authors => "small".into(),
        },
        python: "python3".into(),
        checkout: None,
        tol: DEFAULT_TOL,
        out: None,
    };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (flag.as_str(), None),
        };
        let mut value = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => rest
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        match name {
            // The SAM architecture for `sam`, EchoONE's variant for `authors`: the flags of
            // `echoone sam` and `echoone model`.
            "--arch" if kind == Kind::Sam => options.variant = value()?,
            "--variant" if kind == Kind::Authors => options.variant = value()?,
            "--python" => options.python = value()?,
            "--authors-checkout" => options.checkout = Some(PathBuf::from(value()?)),
            "--out" => options.out = Some(PathBuf::from(value()?)),
            "--tol" => {
                let text = value()?;
                options.tol = text
                    .parse()
                    .ok()
                    .filter(|t: &f32| t.is_finite() && *t >= 0.0)
                    .with_context(|| format!("--tol `{text}`: expected a number >= 0"))?;
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("parity: unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    let variants: &[&str] = match kind {
        Kind::Sam => &["vit_b", "vit_l", "vit_h"],
        Kind::Authors => &["small", "vit_b", "lffa_off", "pc_mask_off"],
    };
    ensure!(
        variants.contains(&options.variant.as_str()),
        "{} {}: expected one of {}",
        match kind {
            Kind::Sam => "--arch",
            Kind::Authors => "--variant",
        },
        options.variant,
        variants.join(", ")
    );
    match (kind, &options.checkout) {
        (Kind::Authors, None) => bail!(
            "parity authors needs --authors-checkout DIR: a checkout of \
             github.com/a2502503/EchoONE (git clone https://github.com/a2502503/EchoONE DIR), \
             holding {CHECKOUT_MARKER} (cargo xtask parity --help)"
        ),
        (Kind::Sam, Some(_)) => bail!("--authors-checkout is for `parity authors` only"),
        _ => {}
    }
    Ok(options)
}

/// Checks that `dir` (from --authors-checkout) holds the authors' model code, before anything
/// runs.
fn check_checkout(dir: &Path) -> Result<()> {
    ensure!(
        dir.join(CHECKOUT_MARKER).is_file(),
        "--authors-checkout {}: not a checkout of github.com/a2502503/EchoONE (no {CHECKOUT_MARKER} in it)",
        dir.display()
    );
    Ok(())
}

/// The repository root (the xtask crate's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `cmd` to completion, failing with its description unless it exits with 0.
fn check(mut cmd: Command, what: &str) -> Result<()> {
    eprintln!("parity: {what}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    ensure!(status.success(), "{what}: failed ({status})");
    Ok(())
}

/// `cargo run --release` of the example `name` of `package`, with `args`.
fn example(package: &str, name: &str, args: &[String]) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        package,
        "--example",
        name,
        "--",
    ])
    .args(args);
    cmd
}

/// `cargo run --release` of the `echoone` binary (default build), with `args`.
fn echoone(args: &[String]) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "echoone-cli",
        "--bin",
        "echoone",
        "--",
    ])
    .args(args);
    cmd
}

/// The working folder: `--out`, or a fresh temporary one (removed at the end).
struct Workdir {
    path: PathBuf,
    temporary: bool,
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn workdir(options: &Options) -> Result<Workdir> {
    let (path, temporary) = match &options.out {
        Some(path) => (path.clone(), false),
        None => {
            let kind = match options.kind {
                Kind::Sam => "sam",
                Kind::Authors => "authors",
            };
            let name = format!(
                "echoone-parity-{kind}-{}-{}",
                options.variant,
                std::process::id()
            );
            (std::env::temp_dir().join(name), true)
        }
    };
    fs::create_dir_all(&path).with_context(|| format!("{}: cannot create", path.display()))?;
    Ok(Workdir { path, temporary })
}

/// One compared output.
struct Row {
    name: String,
    shape: Vec<usize>,
    max_abs: f32,
    ref_max: f32,
}

impl Row {
    fn relative(&self) -> f32 {
        if self.ref_max > 0.0 {
            self.max_abs / self.ref_max
        } else {
            self.max_abs
        }
    }
}

fn compare(name: &str, ours: &Path, reference: &Path) -> Result<Row> {
    let a = read_npy(ours)?;
    let b = read_npy(reference)?;
    ensure!(
        a.shape == b.shape,
        "{name}: ours {:?} ({}) and the reference {:?} ({}) differ in shape",
        a.shape,
        ours.display(),
        b.shape,
        reference.display()
    );
    let mut max_abs = 0.0f32;
    for (x, y) in a.data.iter().zip(&b.data) {
        let d = (x - y).abs();
        // A NaN on either side is a difference, never hidden by max().
        max_abs = if d.is_nan() {
            f32::INFINITY
        } else {
            max_abs.max(d)
        };
    }
    let ref_max = b.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    Ok(Row {
        name: name.to_string(),
        shape: b.shape,
        max_abs,
        ref_max,
    })
}

fn table(rows: &[Row], tol: f32) -> (String, bool) {
    let mut text = format!(
        "| output | shape | max abs diff | max abs reference | relative (diff / max abs ref) | within {tol:e} |\n| --- | --- | --- | --- | --- | --- |\n"
    );
    let mut ok = true;
    for row in rows {
        let within = row.max_abs <= tol;
        ok &= within;
        text.push_str(&format!(
            "| {} | {:?} | {:.2e} | {:.3} | {:.2e} | {} |\n",
            row.name,
            row.shape,
            row.max_abs,
            row.ref_max,
            row.relative(),
            if within { "yes" } else { "NO" }
        ));
    }
    (text, ok)
}

fn sam(options: &Options, dir: &Path) -> Result<Vec<Row>> {
    let root = root();
    let reference = dir.join("reference");
    let ours = dir.join("ours");
    let mut py = Command::new(&options.python);
    py.arg(root.join("scripts/parity/sam_reference.py"))
        .args(["--variant", &options.variant, "--out"])
        .arg(&reference);
    check(
        py,
        &format!("official SAM {} (segment-anything)", options.variant),
    )?;
    let cases_path = reference.join("cases.txt");
    let cases = fs::read_to_string(&cases_path)
        .with_context(|| format!("{}: cannot read", cases_path.display()))?;
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let common = [
        "sam".to_string(),
        "--weights".into(),
        path(&reference.join("model.pth")),
        "--arch".into(),
        options.variant.clone(),
        "--image".into(),
        path(&reference.join("image.png")),
    ];
    let mut rows = Vec::new();
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace().map(str::to_string);
        let Some(case) = words.next() else { continue };
        let out = ours.join(&case);
        let mut args = common.to_vec();
        args.extend(words);
        args.extend(["--out".to_string(), path(&out)]);
        check(echoone(&args), &format!("our `sam` on case {case}"))?;
        for output in ["low_res_logits", "iou_predictions"] {
            rows.push(compare(
                &format!("{case}: {output}"),
                &out.join(format!("{output}.npy")),
                &reference.join(format!("{case}_{output}.npy")),
            )?);
        }
    }
    let embedding = ours.join("image_embedding.npy");
    let mut args = common[1..5].to_vec();
    args.extend([
        "--image".into(),
        path(&reference.join("image.png")),
        "--out".into(),
        path(&embedding),
    ]);
    check(
        example("echoone-sam", "sam_embedding", &args),
        "our image embedding",
    )?;
    rows.push(compare(
        "image embedding",
        &embedding,
        &reference.join("image_embedding.npy"),
    )?);
    Ok(rows)
}

fn authors(options: &Options, dir: &Path) -> Result<Vec<Row>> {
    let root = root();
    let reference = dir.join("reference");
    let ours = dir.join("ours");
    let checkout = options
        .checkout
        .as_ref()
        .context("--authors-checkout is required")?;
    let mut py = Command::new(&options.python);
    py.arg(root.join("crates/model/tests/fixtures/generate_authors.py"))
        .arg(checkout)
        .arg(&options.variant)
        .arg("--out")
        .arg(&reference);
    check(
        py,
        &format!(
            "the authors' EchoONE ({}) from their checkout",
            options.variant
        ),
    )?;
    let point = read_npy(&reference.join("point.npy"))?;
    let [x, y, label] = point.data[..] else {
        bail!("point.npy: expected [x, y, label], got {:?}", point.shape);
    };
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut args = vec![
        "model".to_string(),
        "run".into(),
        "--weights".into(),
        path(&reference.join("model.pth")),
        "--image".into(),
        path(&reference.join("image.png")),
        "--point".into(),
        format!("{x},{y},{label}"),
        "--out".into(),
        path(&ours),
    ];
    let config = reference.join("echoone_config.json");
    if config.is_file() {
        args.extend(["--config".into(), path(&config)]);
    }
    let prior = reference.join("prior.npy");
    if prior.is_file() {
        args.extend(["--prior".into(), path(&prior)]);
    }
    check(echoone(&args), "our `model run`")?;
    let mut rows = vec![compare(
        "low_res_logits",
        &ours.join("low_res_logits.npy"),
        &reference.join("low_res_logits.npy"),
    )?];
    if reference.join("coarse_logits.npy").is_file() {
        rows.push(compare(
            "coarse logits",
            &ours.join("coarse_logits.npy"),
            &reference.join("coarse_logits.npy"),
        )?);
    }
    Ok(rows)
}

/// `cargo xtask parity ...`: a failure is one `error: ...` message and exit code 1.
pub fn parity(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    Ok(match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    })
}

fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    if let Some(checkout) = &options.checkout {
        check_checkout(checkout)?;
    }
    let dir = workdir(&options)?;
    let rows = match options.kind {
        Kind::Sam => sam(&options, &dir.path)?,
        Kind::Authors => authors(&options, &dir.path)?,
    };
    let (text, ok) = table(&rows, options.tol);
    let title = match options.kind {
        Kind::Sam => format!("official SAM {} vs echoone-sam", options.variant),
        Kind::Authors => format!("authors' EchoONE {} vs echoone-model", options.variant),
    };
    println!("\n{title}\n\n{text}");
    if !dir.temporary {
        println!("files kept in {}", dir.path.display());
    }
    ensure!(
        ok,
        "an output differs from the reference by more than --tol {:e}",
        options.tol
    );
    Ok(())
}

/// A float `.npy` array (little-endian f4 or f8, C order), as f32.
struct Npy {
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn read_npy(path: &Path) -> Result<Npy> {
    let bytes = fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_npy(&bytes).with_context(|| format!("{}: not a float .npy file", path.display()))
}

fn parse_npy(bytes: &[u8]) -> Result<Npy> {
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == b"\x93NUMPY",
        "no .npy magic"
    );
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "truncated header");
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (n as usize, 12)
        }
        v => bail!("unsupported .npy version {v}"),
    };
    let header = bytes.get(start..start + len).context("truncated header")?;
    let header = std::str::from_utf8(header).context("header is not text")?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}'"))
            .with_context(|| format!("no '{key}' in the header"))?;
        let rest = header[at + key.len() + 2..].trim_start();
        Ok(rest.strip_prefix(':').unwrap_or(rest).trim_start())
    };
    let descr = field("descr")?;
    let width = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        bail!(
            "dtype {} (expected <f4 or <f8)",
            &descr[..descr.len().min(6)]
        );
    };
    ensure!(
        field("fortran_order")?.starts_with("False"),
        "Fortran order is not supported"
    );
    let shape_text = field("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .context("no shape tuple")?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().with_context(|| format!("shape entry `{s}`")))
        .collect::<Result<_>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + len..];
    ensure!(
        body.len() == count * width,
        "{} data bytes for shape {shape:?} of {width}-byte values",
        body.len()
    );
    let data = if width == 4 {
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        body.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect()
    };
    Ok(Npy { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn options_parse_with_defaults_and_refuse_bad_values() {
        let o = parse(&args(&["sam"])).unwrap();
        assert_eq!(
            (o.kind, o.variant.as_str(), o.tol),
            (Kind::Sam, "vit_b", 1e-4)
        );
        let o = parse(&args(&[
            "authors",
            "--authors-checkout",
            "/x",
            "--variant=vit_b",
            "--tol",
            "1e-5",
            "--python",
            "/venv/bin/python",
        ]))
        .unwrap();
        assert_eq!(o.variant, "vit_b");
        assert_eq!(o.tol, 1e-5);
        assert_eq!(o.python, "/venv/bin/python");
        assert_eq!(o.checkout, Some(PathBuf::from("/x")));
        for bad in [
            &["authors", "--variant", "vit_b"][..],
            &["sam", "--arch", "vit_x"],
            &["sam", "--variant", "vit_l"],
            &["sam", "--tol", "-1"],
            &["sam", "--tol"],
            &["sam", "--frobnicate"],
            &["gpt"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn npy_headers_of_numpy_parse() {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }".to_string();
        header.push_str(&" ".repeat(128 - 10 - header.len() - 1));
        header.push('\n');
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend((-2.0f32).to_le_bytes());
        let npy = parse_npy(&bytes).unwrap();
        assert_eq!(npy.shape, vec![2, 1]);
        assert_eq!(npy.data, vec![1.5, -2.0]);
        assert!(parse_npy(&bytes[..bytes.len() - 1]).is_err());
        assert!(parse_npy(b"not npy").is_err());
    }

    #[test]
    fn the_table_flags_outputs_over_the_tolerance() {
        let row = |max_abs| Row {
            name: "x".into(),
            shape: vec![1],
            max_abs,
            ref_max: 2.0,
        };
        let (text, ok) = table(&[row(1e-6)], 1e-4);
        assert!(ok && text.contains("5.00e-7"), "{text}");
        let (text, ok) = table(&[row(1e-6), row(1e-3)], 1e-4);
        assert!(!ok && text.contains("NO"), "{text}");
    }

    #[test]
    fn authors_without_a_checkout_is_a_clear_error() {
        for words in [&["authors"][..], &["authors", "--variant", "vit_b"]] {
            let error = parse(&args(words)).unwrap_err().to_string();
            assert!(
                error.contains("--authors-checkout DIR")
                    && error.contains("github.com/a2502503/EchoONE")
                    && error.contains(CHECKOUT_MARKER),
                "{error}"
            );
        }
        let error = parse(&args(&["sam", "--authors-checkout", "/x"])).unwrap_err();
        assert!(
            error.to_string().contains("`parity authors` only"),
            "{error}"
        );
    }

    #[test]
    fn a_folder_without_the_authors_code_is_refused_before_anything_runs() {
        let dir =
            std::env::temp_dir().join(format!("xtask-parity-checkout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let error = check_checkout(&dir).unwrap_err().to_string();
        assert!(
            error.contains("--authors-checkout") && error.contains(CHECKOUT_MARKER),
            "{error}"
        );
        let marker = dir.join(CHECKOUT_MARKER);
        fs::create_dir_all(marker.parent().unwrap()).unwrap();
        fs::write(&marker, "").unwrap();
        let checked = check_checkout(&dir);
        let _ = fs::remove_dir_all(&dir);
        checked.unwrap();
    }

    #[test]
    fn both_usages_say_that_authors_needs_a_checkout() {
        assert!(
            USAGE.contains("parity authors --authors-checkout DIR"),
            "{USAGE}"
        );
        assert!(USAGE.contains(CHECKOUT_MARKER), "{USAGE}");
        let usage = crate::usage();
        let line = usage
            .lines()
            .find(|l| l.trim_start().starts_with("parity"))
            .expect("a parity line in cargo xtask's usage");
        assert!(line.contains("authors --authors-checkout DIR"), "{line}");
    }
}
