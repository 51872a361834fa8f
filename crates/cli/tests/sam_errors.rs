//! A failing `sam` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::process::Command;

use echoone_test_support::assert_one_error_line;

#[test]
fn a_bad_image_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("not_an_image.png");
    std::fs::write(&bad, b"not a PNG at all").expect("write");
    assert_one_error_line(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .arg("sam")
            .arg("--weights")
            .arg(dir.path().join("sam.pth"))
            .arg("--image")
            .arg(&bad)
            .arg("--out")
            .arg(dir.path().join("out")),
        &bad.to_string_lossy(),
    );
}
