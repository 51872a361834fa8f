//! A failing `sam` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::process::Command;

#[test]
fn a_bad_image_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("not_an_image.png");
    std::fs::write(&bad, b"not a PNG at all").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_sam"))
        .arg("--checkpoint")
        .arg(dir.path().join("sam.pth"))
        .arg("--image")
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run sam");
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
