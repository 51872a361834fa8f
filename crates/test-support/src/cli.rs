//! How every echoone-rs binary must fail: one `error: ` line, exit status 1, no backtrace.

use std::process::Command;

/// Runs `command` with `RUST_BACKTRACE=1` and asserts that it failed as every binary of the
/// workspace must: exit status 1, standard error starting with `error: ` and containing
/// `names` (the bad file), no backtrace, and no `Error:` line (what returning an error from
/// `main` would print). Returns standard error.
pub fn assert_one_error_line(command: &mut Command, names: &str) -> String {
    let output = command
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(names), "{names} not named: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("stack backtrace"),
        "{stderr}"
    );
    assert!(!stderr.lines().any(|l| l.starts_with("Error:")), "{stderr}");
    stderr
}
