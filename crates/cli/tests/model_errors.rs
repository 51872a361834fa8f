//! A failing `model` prints one `error: ` line naming the bad file, exits with 1 and shows no
//! backtrace, even with `RUST_BACKTRACE=1`.

use std::path::Path;
use std::process::Command;

use echoone_test_support::assert_one_error_line;

#[test]
fn a_bad_checkpoint_is_one_error_line_without_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("junk.pth");
    std::fs::write(&bad, b"not a checkpoint at all").expect("write");
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/fixtures/authors_small");
    assert_one_error_line(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .arg("model")
            .arg("run")
            .arg("--weights")
            .arg(&bad)
            .arg("--image")
            .arg(fixtures.join("image.png"))
            .args(["--point", "131,97"])
            .arg("--prior")
            .arg(fixtures.join("prior.npy"))
            .arg("--out")
            .arg(dir.path().join("out")),
        &bad.to_string_lossy(),
    );
}
