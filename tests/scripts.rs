//! Every Python script of the repository starts: the PyTorch references behind the benchmarks,
//! the fixture generators, `scripts/gpu_check.py` and `scripts/parity/sam_reference.py`.
//!
//! The scripts are found, not listed: `git ls-files` (tracked, and untracked but not ignored) or,
//! without git, a walk of the tree that skips `target/`, hidden folders and virtual
//! environments; so a new script is checked as soon as it exists. Each must print its usage,
//! with a `needs: ...` line naming what it needs, for `--help` with the standard library alone:
//! every heavy package (torch, numpy, ...) is replaced by a module that fails on import, so a
//! script that imports one before it parses its command line fails here even on a machine that
//! has them.
//!
//! Where a script has a cheap mode and the packages it needs are installed (asked through
//! `importlib.util.find_spec`), it also runs for real, into a temporary folder, and what it wrote
//! is compared with what the repository holds where that is stable. Nothing is installed here;
//! without the packages those runs are skipped, saying so on stderr (`--nocapture` shows it).
//!
//! The interpreter is `python3`, or `$ECHOONE_PYTHON`. Without one the tests fail, naming what is
//! missing, unless `ECHOONE_NO_PYTHON=1` says to skip them. The runs that need the authors' code
//! (torch_train.py, torch_model.py, generate_authors.py, lffa's reference.py) take its checkout
//! from `$ECHOONE_AUTHORS_CHECKOUT`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Packages that no script may import before its command line is parsed (import names).
const HEAVY: &[&str] = &[
    "torch",
    "torchvision",
    "numpy",
    "PIL",
    "cv2",
    "nibabel",
    "openpyxl",
    "scipy",
    "SimpleITK",
    "skimage",
    "monai",
    "medpy",
    "segment_anything",
    "safetensors",
    "matplotlib",
    "pandas",
];

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

/// The interpreter, or `None` where there is none and `ECHOONE_NO_PYTHON=1` says to skip.
fn python() -> Option<String> {
    let python = std::env::var("ECHOONE_PYTHON").unwrap_or_else(|_| "python3".into());
    let problem = match Command::new(&python).arg("--version").output() {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "`{python} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`{python}` cannot be started: {e}"),
    };
    if std::env::var("ECHOONE_NO_PYTHON").is_ok_and(|v| v == "1") {
        eprintln!("skipped (ECHOONE_NO_PYTHON=1): {problem}");
        return None;
    }
    panic!(
        "{problem}. The check of the repository's Python scripts needs Python 3.8 or later \
         (the standard library only): install python3, or point ECHOONE_PYTHON at one, or set \
         ECHOONE_NO_PYTHON=1 to skip this check knowingly"
    );
}

/// What a finished (or stopped) process said.
struct Run {
    /// The exit code; `None` when killed (by a signal, or at the time limit).
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    fn describe(&self) -> String {
        let status = if self.timed_out {
            "stopped at its time limit".to_string()
        } else {
            format!("exit {:?}", self.code)
        };
        format!(
            "{status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with no input, its output captured, for at most `limit`.
fn run(mut cmd: Command, limit: Duration) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the script") {
            break status;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("waiting for the killed script");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        timed_out,
    }
}

/// `python SCRIPT ARGS...` from the repository root.
fn script(python: &str, path: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(root().join(path)).args(args).current_dir(root());
    cmd
}

/// Every Python script of the repository, relative to its root, sorted.
fn discover() -> Vec<String> {
    let root = root();
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .args(["--", "*.py"])
        .current_dir(&root)
        .output();
    let mut found: BTreeSet<String> = match listed {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        _ => {
            let mut found = BTreeSet::new();
            walk(&root, &root, &mut found);
            found
        }
    };
    // A tracked file deleted in the work tree is listed by git but is no script to run.
    found.retain(|p| root.join(p).is_file() && !p.split('/').any(|c| c == "target"));
    found.into_iter().collect()
}

/// The `.py` files under `dir`, without `target/`, hidden folders and virtual environments.
fn walk(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    if dir.join("pyvenv.cfg").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "__pycache__" {
                walk(root, &path, found);
            }
        } else if name.ends_with(".py") {
            let relative = path.strip_prefix(root).expect("under the root");
            found.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// A folder of stand-ins for the heavy packages: importing any of them fails, naming it.
fn poisoned_packages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for name in HEAVY {
        let package = dir.path().join(name);
        std::fs::create_dir(&package).expect("a stand-in package folder");
        std::fs::write(
            package.join("__init__.py"),
            format!(
                "raise ImportError('{name} was imported before the command line was parsed: \
                 --help must need the standard library only')\n"
            ),
        )
        .expect("a stand-in package");
    }
    dir
}

#[test]
fn every_script_prints_its_usage_and_needs_with_the_standard_library_alone() {
    let Some(python) = python() else { return };
    let scripts = discover();
    for known in [
        "scripts/gpu_check.py",
        "crates/train/benches/torch_train.py",
        "crates/model/tests/fixtures/generate_authors.py",
    ] {
        assert!(
            scripts.iter().any(|s| s == known),
            "the discovery missed {known}: {scripts:?}"
        );
    }
    let poisoned = poisoned_packages();
    let mut failures = Vec::new();
    for path in &scripts {
        let mut cmd = script(&python, path, &["--help"]);
        cmd.env("PYTHONPATH", poisoned.path());
        let out = run(cmd, Duration::from_secs(60));
        let has = |prefix: &str| out.stdout.lines().any(|l| l.starts_with(prefix));
        if !out.ok() || !has("usage: ") || !has("needs: ") {
            failures.push(format!(
                "{path}: `{python} {path} --help` must exit 0 and print a `usage: ` line and a \
                 `needs: ` line, with the standard library only; got {}",
                out.describe()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts fail:\n\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n\n")
    );
    eprintln!("{} scripts print their usage: {scripts:?}", scripts.len());
}

/// Whether `python` finds every module of `modules` (`importlib.util.find_spec`); says on stderr
/// why a test is skipped where not.
fn has_modules(python: &str, modules: &[&str], what: &str) -> bool {
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import importlib.util, sys\n\
         missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]\n\
         print(' '.join(missing))",
    ])
    .args(modules);
    let out = run(cmd, Duration::from_secs(60));
    assert!(out.ok(), "asking {python} for modules: {}", out.describe());
    let missing = out.stdout.trim();
    if missing.is_empty() {
        return true;
    }
    eprintln!("skipped the real run of {what}: {python} lacks {missing}");
    false
}

/// The authors' checkout from `$ECHOONE_AUTHORS_CHECKOUT`; says on stderr why a test is skipped
/// where it is not set.
fn authors_checkout(what: &str) -> Option<String> {
    match std::env::var("ECHOONE_AUTHORS_CHECKOUT") {
        Ok(dir) if !dir.is_empty() => Some(dir),
        _ => {
            eprintln!(
                "skipped the real run of {what}: set ECHOONE_AUTHORS_CHECKOUT to a checkout of \
                 github.com/a2502503/EchoONE"
            );
            None
        }
    }
}

/// The interpreter when it has every module of `modules`, else `None` (said on stderr).
fn with_modules(modules: &[&str], what: &str) -> Option<String> {
    let python = python()?;
    has_modules(&python, modules, what).then_some(python)
}

/// The interpreter and the authors' checkout, when both are there and the interpreter has
/// torch, numpy and Pillow, else `None` (said on stderr).
fn with_authors(what: &str) -> Option<(String, String)> {
    let python = python()?;
    let checkout = authors_checkout(what)?;
    has_modules(&python, &["torch", "numpy", "PIL"], what).then_some((python, checkout))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the files in `dir` that end with `suffix`, sorted.
fn names(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Runs `python path args` and fails with its output unless it exits with 0.
fn run_ok(python: &str, path: &str, args: &[&str], limit: Duration) -> Run {
    let out = run(script(python, path, args), limit);
    assert!(
        out.ok(),
        "`{python} {path} {}`: {}",
        args.join(" "),
        out.describe()
    );
    out
}

#[test]
fn gpu_check_runs_through_without_a_gpu_and_within_its_budget() {
    let Some(python) = python() else { return };
    let dir = tempdir();
    let out_dir = dir.path().join("gpu-check");
    let missing = dir.path().join("no-echoone");
    let out = run_ok(
        &python,
        "scripts/gpu_check.py",
        &[
            "--bin",
            &missing.to_string_lossy(),
            "--budget",
            "0",
            "--out",
            &out_dir.to_string_lossy(),
        ],
        Duration::from_secs(120),
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("{\"check\": \"")),
        "every line is one JSON check: {}",
        out.stdout
    );
    let checks: Vec<&str> = lines
        .iter()
        .map(|l| l["{\"check\": \"".len()..].split('"').next().unwrap_or(""))
        .collect();
    assert_eq!(
        checks,
        ["machine", "default-cold", "default-warm", "vit_b", "done"],
        "{}",
        out.stdout
    );
    for line in &lines[1..4] {
        assert!(
            line.contains("\"exit\": \"skipped\""),
            "a zero budget skips it: {line}"
        );
    }
    assert_eq!(
        text(&out_dir.join("gpu-check.jsonl")),
        out.stdout,
        "gpu-check.jsonl holds what was printed"
    );
}

#[test]
fn pattern_draws_the_test_image_of_the_sam_fixtures() {
    let what = "crates/sam/tests/fixtures/pattern.py";
    let Some(python) = with_modules(&["numpy"], what) else {
        return;
    };
    let dir = tempdir();
    for (height, width, seed, fixture) in [
        (96, 120, 0, "tiny/image0/image.npy"),
        (150, 101, 1, "tiny/image1/image.npy"),
    ] {
        let file = dir.path().join(format!("image{seed}.npy"));
        let args = [height, width, seed].map(|v: usize| v.to_string());
        let mut words: Vec<&str> = args.iter().map(String::as_str).collect();
        let file_arg = file.to_string_lossy().into_owned();
        words.extend(["--out", &file_arg]);
        run_ok(&python, what, &words, Duration::from_secs(120));
        let ours = bytes(&file);
        let committed = bytes(&root().join("crates/sam/tests/fixtures").join(fixture));
        let pixels = height * width * 3;
        assert!(
            ours.len() >= pixels && committed.len() >= pixels,
            "{fixture}: too short"
        );
        assert!(
            ours[ours.len() - pixels..] == committed[committed.len() - pixels..],
            "pattern.py {height} {width} {seed} no longer draws the image of {fixture}"
        );
    }
}

#[test]
fn hmcqu_sheets_are_written_again_with_the_same_cells() {
    let what = "crates/data/tests/fixtures/make_hmcqu_sheets.py";
    let Some(python) = with_modules(&["openpyxl"], what) else {
        return;
    };
    let dir = tempdir();
    let out_dir = dir.path().join("sheets");
    run_ok(
        &python,
        what,
        &["--out", &out_dir.to_string_lossy()],
        Duration::from_secs(300),
    );
    let committed = root().join("crates/data/tests/fixtures/hmcqu_sheets");
    assert_eq!(names(&out_dir, ".xlsx"), names(&committed, ".xlsx"));
    // The files carry their time of writing: compare every sheet's cells, as openpyxl reads them.
    let compare = "import openpyxl, sys\n\
        def cells(path):\n\
        \x20   book = openpyxl.load_workbook(path)\n\
        \x20   return [(s.title, [list(r) for r in s.iter_rows(values_only=True)]) for s in book]\n\
        a, b = cells(sys.argv[1]), cells(sys.argv[2])\n\
        sys.exit(0 if a == b else f'{sys.argv[1]}: {a} != {b}')";
    for name in names(&committed, ".xlsx") {
        let mut cmd = Command::new(&python);
        cmd.args(["-c", compare])
            .arg(out_dir.join(&name))
            .arg(committed.join(&name));
        let out = run(cmd, Duration::from_secs(120));
        assert!(out.ok(), "{name}: {}", out.describe());
    }
}

#[test]
fn the_losses_generator_writes_the_committed_fixtures() {
    let what = "crates/losses/tests/fixtures/generate.py";
    let Some(python) = with_modules(&["numpy", "torch"], what) else {
        return;
    };
    let dir = tempdir();
    run_ok(
        &python,
        what,
        &["--out", &dir.path().to_string_lossy()],
        Duration::from_secs(600),
    );
    let committed = root().join("crates/losses/tests/fixtures");
    let npy = names(&committed, ".npy");
    assert_eq!(names(dir.path(), ".npy"), npy);
    for name in &npy {
        assert!(
            bytes(&dir.path().join(name)) == bytes(&committed.join(name)),
            "{name} differs from the committed one"
        );
    }
    // expected.json also names the torch version that wrote it.
    let without_version = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("\"torch\":"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        without_version(text(&dir.path().join("expected.json"))),
        without_version(text(&committed.join("expected.json")))
    );
}

#[test]
fn the_decoding_reference_times_its_four_files() {
    let what = "crates/data/benches/reference_decode.py";
    let Some(python) = with_modules(&["numpy", "cv2", "nibabel"], what) else {
        return;
    };
    let dir = tempdir();
    let out = run_ok(
        &python,
        what,
        &[&dir.path().to_string_lossy()],
        Duration::from_secs(600),
    );
    for name in [
        "echonet_112x112x200.avi",
        "hmcqu_636x422x60.avi",
        "camus_half_sequence_584x800x20.nii.gz",
        "camus_frame_584x800.nii.gz",
    ] {
        assert!(out.stdout.contains(name), "{name}: {}", out.stdout);
        assert!(dir.path().join(name).is_file(), "{name} not written");
    }
}

#[test]
fn the_data_fixture_writers_run_into_another_folder() {
    let what = "crates/data/tests/fixtures/make_fixtures.py";
    let Some(python) = python() else { return };
    let modules = [
        "numpy",
        "cv2",
        "nibabel",
        "openpyxl",
        "scipy",
        "SimpleITK",
        "skimage",
    ];
    if !has_modules(&python, &modules, what) {
        return;
    }
    let dir = tempdir();
    run_ok(
        &python,
        what,
        &["--out", &dir.path().to_string_lossy()],
        Duration::from_secs(600),
    );
    let committed = root().join("crates/data/tests/fixtures");
    for folder in ["camus_nifti", "camus_mhd", "echonet", "hmcqu"] {
        assert!(
            dir.path().join(folder).is_dir() && committed.join(folder).is_dir(),
            "{folder}"
        );
        // The expected images are PNGs written by OpenCV from seeded arrays: the same names.
        assert_eq!(
            names(&dir.path().join(folder), ".png"),
            names(&committed.join(folder), ".png"),
            "{folder}"
        );
    }
}

#[test]
fn torch_train_runs_a_training_step_of_the_small_config() {
    let what = "crates/train/benches/torch_train.py";
    let Some((python, checkout)) = with_authors(what) else {
        return;
    };
    let out = run_ok(
        &python,
        what,
        &[&checkout, "small", "--steps", "1"],
        Duration::from_secs(900),
    );
    assert!(
        out.stdout
            .contains("\"name\": \"train step small b4 torch-eager\"")
            && out.stdout.contains("\"median_s\": "),
        "{}",
        out.stdout
    );
}

#[test]
fn torch_model_times_the_small_forward() {
    let what = "crates/model/benches/torch_model.py";
    let Some((python, checkout)) = with_authors(what) else {
        return;
    };
    let out = run_ok(
        &python,
        what,
        &[&checkout, "echoone small fwd"],
        Duration::from_secs(900),
    );
    assert!(
        out.stdout.contains("\"name\": \"echoone small fwd\"")
            && out.stdout.contains("\"median_ms\": "),
        "{}",
        out.stdout
    );
}

#[test]
fn generate_authors_writes_the_files_of_the_small_fixture() {
    let what = "crates/model/tests/fixtures/generate_authors.py";
    let Some((python, checkout)) = with_authors(what) else {
        return;
    };
    let dir = tempdir();
    run_ok(
        &python,
        what,
        &[&checkout, "small", "--out", &dir.path().to_string_lossy()],
        Duration::from_secs(900),
    );
    let committed = root().join("crates/model/tests/fixtures/authors_small");
    assert_eq!(names(dir.path(), ""), names(&committed, ""));
    // The same configuration (the committed file lists its keys in an older order).
    let mut cmd = Command::new(&python);
    cmd.args([
        "-c",
        "import json, sys\n\
         a, b = (json.load(open(p)) for p in sys.argv[1:])\n\
         sys.exit(0 if a == b else f'{a} != {b}')",
    ])
    .arg(dir.path().join("echoone_config.json"))
    .arg(committed.join("echoone_config.json"));
    let out = run(cmd, Duration::from_secs(60));
    assert!(out.ok(), "echoone_config.json: {}", out.describe());
    assert!(
        bytes(&dir.path().join("image.png")) == bytes(&committed.join("image.png")),
        "image.png differs from the committed one"
    );
}

#[test]
fn the_lffa_reference_times_its_four_modules() {
    let what = "crates/lffa/benches/reference.py";
    let Some((python, checkout)) = with_authors(what) else {
        return;
    };
    let out = run_ok(
        &python,
        what,
        &[&checkout, "--runs", "1"],
        Duration::from_secs(900),
    );
    for name in [
        "cnn_branch_residual_256",
        "cnn_branch_plain_256",
        "refine_adapter_32x32x768",
        "space_adapter_32x32x768",
    ] {
        assert!(out.stdout.contains(&format!("{name}: ")), "{}", out.stdout);
    }
}

#[test]
fn every_real_run_names_a_script_that_exists() {
    // The real runs above name their scripts by path: a renamed script must not drop out unseen.
    let scripts = discover();
    for path in [
        "scripts/gpu_check.py",
        "crates/sam/tests/fixtures/pattern.py",
        "crates/data/tests/fixtures/make_hmcqu_sheets.py",
        "crates/losses/tests/fixtures/generate.py",
        "crates/data/benches/reference_decode.py",
        "crates/data/tests/fixtures/make_fixtures.py",
        "crates/train/benches/torch_train.py",
        "crates/model/benches/torch_model.py",
        "crates/model/tests/fixtures/generate_authors.py",
        "crates/lffa/benches/reference.py",
    ] {
        assert!(
            scripts.iter().any(|s| s == path),
            "{path} is gone: update tests/scripts.rs"
        );
    }
}
