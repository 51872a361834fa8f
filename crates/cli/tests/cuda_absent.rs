//! `echoone --backend cuda` where CUDA is (partly) missing: a clear error that names what is
//! missing (the driver's libcuda, CUDA's run-time compiler libnvrtc, the GPU asked for), at
//! once, with nothing written and no panic; and on a machine with the NVIDIA driver, a real
//! training step on the GPU. Built only with the cuda feature (.ci/run: `cargo test -p
//! echoone-cli --features cuda,ndarray --test cuda_absent`).
//!
//! Nothing passes by doing nothing: where a test cannot provoke what it checks (a driver or
//! NVRTC installed, no GPU step wanted) it fails, unless `ECHOONE_SKIP_GPU_TESTS` is set, which
//! turns it into a skip said on stderr.
#![cfg(feature = "cuda")]

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the dynamic loader finds `lib` (e.g. `libcuda.so`) in its cache or on
/// `LD_LIBRARY_PATH`.
fn loadable(lib: &str) -> bool {
    let cached = Command::new("sh")
        .args(["-c", &format!("ldconfig -p 2>/dev/null | grep -q '{lib}'")])
        .status()
        .is_ok_and(|s| s.success());
    let on_path = std::env::var_os("LD_LIBRARY_PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with(lib))
            })
        })
    });
    cached || on_path
}

/// Whether this machine has the NVIDIA driver's libcuda.
fn driver_present() -> bool {
    loadable("libcuda.so")
}

/// Where a test cannot check what it is for: fails, unless `ECHOONE_SKIP_GPU_TESTS` is set,
/// then says so on stderr (the caller returns).
fn skip_or_fail(why: &str) {
    if std::env::var_os("ECHOONE_SKIP_GPU_TESTS").is_some() {
        eprintln!("SKIPPED (ECHOONE_SKIP_GPU_TESTS is set): {why}");
    } else {
        panic!("{why}; set ECHOONE_SKIP_GPU_TESTS=1 to skip this test instead");
    }
}

/// Runs `echoone` with `args`, a throw-away kernel cache in `dir` and `LD_LIBRARY_PATH` set to
/// `library_path` (`None`: inherited): whether it succeeded, and its stderr.
fn run_echoone(dir: &Path, library_path: Option<&OsStr>, args: &[&OsStr]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echoone"));
    command
        .args(args)
        .env("ECHOONE_CACHE_DIR", dir.join("cache"));
    if let Some(path) = library_path {
        command.env("LD_LIBRARY_PATH", path);
    }
    let output = command.output().expect("the echoone binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The stderr of a run that must fail at once with the cuda backend's clear error.
fn assert_clear_error(ok: bool, stderr: &str) {
    assert!(!ok, "{stderr}");
    assert!(
        stderr.starts_with("error: the cuda backend cannot start"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A one-epoch, one-step run of the tiny model, its configuration written into `dir`.
fn one_step_config(dir: &Path) -> PathBuf {
    common::write_config(
        dir,
        "config.json",
        &common::tiny_run(1).with_steps_per_epoch(1).with_overlays(0),
    )
}

#[test]
fn cuda_trains_a_step_or_names_the_missing_driver() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = one_step_config(dir.path());
    let args = [
        OsStr::new("--backend"),
        OsStr::new("cuda"),
        OsStr::new("train"),
        OsStr::new("--no-dashboard"),
        OsStr::new("--quiet"),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    if driver_present() {
        if std::env::var_os("ECHOONE_SKIP_GPU_TESTS").is_some() {
            skip_or_fail("this machine has an NVIDIA driver, and a GPU step is not wanted");
            return;
        }
        // The real thing: one training step on GPU 0, its loss recorded.
        let (ok, stderr) = run_echoone(dir.path(), None, &args);
        assert!(ok, "a training step on the GPU failed:\n{stderr}");
        assert!(stderr.contains("kernel and autotune cache"), "{stderr}");
        let history = common::history(&out);
        assert_eq!(history.len(), 1);
        assert!(history[0].train_loss.is_finite(), "{:?}", history[0]);
        return;
    }
    let (ok, stderr) = run_echoone(dir.path(), Some(OsStr::new("")), &args);
    assert_clear_error(ok, &stderr);
    assert!(stderr.contains("libcuda"), "{stderr}");
    assert!(!out.exists(), "nothing written: {}", out.display());
}

#[test]
fn cuda_unfused_checks_the_same() {
    let dir = tempfile::tempdir().unwrap();
    // Without a driver, the driver is what is missing; with one, GPU 4096.
    let device = if driver_present() {
        "cuda:4096"
    } else {
        "cuda:1"
    };
    let args = [
        "--backend",
        "cuda-unfused",
        "--device",
        device,
        "eval",
        "--run",
    ]
    .map(OsStr::new);
    let all = [&args[..], &[dir.path().as_os_str()]].concat();
    if driver_present() {
        if std::env::var_os("ECHOONE_SKIP_GPU_TESTS").is_some() {
            skip_or_fail("this machine has an NVIDIA driver, and GPU tests are not wanted");
            return;
        }
        let (ok, stderr) = run_echoone(dir.path(), None, &all);
        assert_clear_error(ok, &stderr);
        assert!(
            stderr.contains("GPU 4096 asked for, but the driver sees"),
            "{stderr}"
        );
    } else {
        let (ok, stderr) = run_echoone(dir.path(), Some(OsStr::new("")), &all);
        assert_clear_error(ok, &stderr);
        assert!(stderr.contains("libcuda"), "{stderr}");
    }
}

#[test]
fn without_nvrtc_cuda_fails_with_an_error_naming_libnvrtc() {
    // A stand-in libcuda (an empty shared library, built here with the C compiler that links
    // Rust programs) alone on the library path: the driver check loads it, so the next check,
    // for NVRTC, is the one that fails.
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    let source = dir.path().join("stub.c");
    std::fs::write(&source, "int echoone_stub_libcuda(void) { return 0; }\n").unwrap();
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(lib.join("libcuda.so"))
        .arg(&source)
        .output()
        .expect("run cc, the C compiler Rust links with");
    assert!(
        built.status.success(),
        "cc could not build the stand-in libcuda: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = dir.path().join("run");
    let args = ["--backend", "cuda", "train", "--no-dashboard", "--out"].map(OsStr::new);
    let (ok, stderr) = run_echoone(
        dir.path(),
        Some(lib.as_os_str()),
        &[&args[..], &[out.as_os_str()]].concat(),
    );
    if !stderr.contains("libnvrtc") && loadable("libnvrtc") {
        skip_or_fail("this machine's loader finds an installed libnvrtc, so none can be missing");
        return;
    }
    assert_clear_error(ok, &stderr);
    assert!(
        stderr.contains("CUDA's run-time compiler libnvrtc could not be loaded"),
        "{stderr}"
    );
    assert!(stderr.contains("LD_LIBRARY_PATH"), "{stderr}");
    assert!(!stderr.contains("libcuda could not"), "{stderr}");
    assert!(!out.exists(), "nothing written: {}", out.display());
}
