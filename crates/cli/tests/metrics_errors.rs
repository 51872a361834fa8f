//! A failing `metrics` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::process::Command;

use echoone_test_support::assert_one_error_line;

#[test]
fn a_bad_prediction_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (pred, gt) = (dir.path().join("pred"), dir.path().join("gt"));
    std::fs::create_dir_all(&pred).expect("pred folder");
    std::fs::create_dir_all(&gt).expect("gt folder");
    let bad = pred.join("case1.png");
    std::fs::write(&bad, b"not a PNG at all").expect("write");
    std::fs::write(gt.join("case1.png"), b"not a PNG either").expect("write");
    assert_one_error_line(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .arg("metrics")
            .arg("--pred")
            .arg(&pred)
            .arg("--gt")
            .arg(&gt)
            .arg("--out")
            .arg(dir.path().join("out")),
        "case1.png",
    );
}
