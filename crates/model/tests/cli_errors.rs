//! A failing `model` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::path::Path;
use std::process::Command;

#[test]
fn a_bad_checkpoint_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("junk.pth");
    std::fs::write(&bad, b"not a checkpoint at all").expect("write");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authors_small");
    let output = Command::new(env!("CARGO_BIN_EXE_model"))
        .arg("run")
        .arg("--checkpoint")
        .arg(&bad)
        .arg("--image")
        .arg(fixtures.join("image.png"))
        .args(["--point", "131,97"])
        .arg("--prior")
        .arg(fixtures.join("prior.npy"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run model");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(&*bad.to_string_lossy()), "{stderr}");
    assert!(
        !stderr.to_lowercase().contains("stack backtrace"),
        "{stderr}"
    );
    assert!(!stderr.lines().any(|l| l.starts_with("Error:")), "{stderr}");
}
