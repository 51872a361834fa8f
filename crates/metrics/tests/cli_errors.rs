//! A failing `metrics` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::process::Command;

#[test]
fn a_bad_prediction_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (pred, gt) = (dir.path().join("pred"), dir.path().join("gt"));
    std::fs::create_dir_all(&pred).expect("pred folder");
    std::fs::create_dir_all(&gt).expect("gt folder");
    let bad = pred.join("case1.png");
    std::fs::write(&bad, b"not a PNG at all").expect("write");
    std::fs::write(gt.join("case1.png"), b"not a PNG either").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_metrics"))
        .arg("--pred")
        .arg(&pred)
        .arg("--gt")
        .arg(&gt)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run metrics");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("case1.png"), "{stderr}");
    assert!(
        !stderr.to_lowercase().contains("stack backtrace"),
        "{stderr}"
    );
    assert!(!stderr.lines().any(|l| l.starts_with("Error:")), "{stderr}");
}
