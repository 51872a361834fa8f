//! `echoone --backend cuda` on a machine without the NVIDIA driver or NVRTC: a clear error that
//! names what is missing, at once, with nothing written and no panic. Built only with the cuda
//! feature (.ci/run: `cargo test -p echoone-train --features cuda,ndarray --test cuda_absent`).
#![cfg(feature = "cuda")]

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

fn train_on_cuda(out: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_echoone"));
    cmd.args(["--backend", "cuda", "train", "--no-dashboard", "--out"])
        .arg(out)
        .env("ECHOONE_CACHE_DIR", out.with_extension("cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("the echoone binary runs");
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
    let (ok, stderr) = train_on_cuda(&out, &[("LD_LIBRARY_PATH", "")]);
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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_echoone"));
    let output = cmd
        .args([
            "--backend",
            "cuda-unfused",
            "--device",
            "cuda:1",
            "eval",
            "--checkpoint",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("error: the cuda backend cannot start"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
