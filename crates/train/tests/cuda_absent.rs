//! `echoone --backend cuda` on a machine without the NVIDIA driver or NVRTC: a clear error that
//! names what is missing, at once, with nothing written and no panic. Built only with the cuda
//! feature (.ci/run: `cargo test -p echoone-train --features cuda,ndarray --test cuda_absent`).
#![cfg(feature = "cuda")]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// Whether this machine has a loadable libcuda (then these failures cannot be provoked).
fn driver_present() -> bool {
    ["libcuda.so", "libcuda.so.1"].iter().any(|name| {
        Command::new("sh")
            .args(["-c", &format!("ldconfig -p 2>/dev/null | grep -q {name}")])
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `echoone` with `args` (no library path, a throw-away kernel cache in `dir`): whether it
/// succeeded, and its stderr.
fn echoone(dir: &Path, args: &[&OsStr]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(args)
        .env("LD_LIBRARY_PATH", "")
        .env("ECHOONE_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("the echoone binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn without_a_driver_cuda_fails_with_an_error_naming_libcuda() {
    if driver_present() {
        eprintln!("skipped: this machine has an NVIDIA driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let args = ["--backend", "cuda", "train", "--no-dashboard", "--out"].map(OsStr::new);
    let (ok, stderr) = echoone(dir.path(), &[&args[..], &[out.as_os_str()]].concat());
    assert!(!ok, "{stderr}");
    assert!(
        stderr.starts_with("error: the cuda backend cannot start"),
        "{stderr}"
    );
    assert!(stderr.contains("libcuda"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "nothing written: {}", out.display());
}

#[test]
fn cuda_unfused_checks_the_same() {
    if driver_present() {
        eprintln!("skipped: this machine has an NVIDIA driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--backend",
        "cuda-unfused",
        "--device",
        "cuda:1",
        "eval",
        "--checkpoint",
    ]
    .map(OsStr::new);
    let (ok, stderr) = echoone(dir.path(), &[&args[..], &[dir.path().as_os_str()]].concat());
    assert!(!ok);
    assert!(
        stderr.contains("error: the cuda backend cannot start"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
