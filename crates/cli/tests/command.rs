//! The one `echoone` command: every subcommand is listed and shows examples in its help, the
//! shell completions and manual pages are generated from the same definition, the flags have
//! their one meaning (the old spellings are refused), the CPU tools refuse a backend, and no
//! library crate ships a binary of its own.

use std::path::Path;
use std::process::{Command, Output};

fn echoone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(args)
        .output()
        .expect("run the echoone binary")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SUBCOMMANDS: [&str; 11] = [
    "train",
    "ablate",
    "eval",
    "predict",
    "ef",
    "data",
    "sam",
    "metrics",
    "model",
    "completions",
    "man",
];

#[test]
fn every_subcommand_is_listed_and_its_help_shows_an_example() {
    let help = stdout(&echoone(&["--help"]));
    for name in SUBCOMMANDS {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(name)),
            "{name} missing from:\n{help}"
        );
        let sub = stdout(&echoone(&[name, "--help"]));
        assert!(
            sub.contains("Example") && sub.contains(&format!("echoone {name}")),
            "`echoone {name} --help` shows no example:\n{sub}"
        );
    }
    assert!(help.contains("Examples:"), "{help}");
}

#[test]
fn completions_name_every_subcommand_and_flag() {
    let bash = stdout(&echoone(&["completions", "bash"]));
    assert!(bash.contains("_echoone"), "{bash}");
    for word in SUBCOMMANDS
        .iter()
        .chain(&["--run", "--sam-weights", "--weights"])
    {
        assert!(
            bash.contains(word),
            "{word} missing from the bash completions"
        );
    }
    let zsh = stdout(&echoone(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef echoone"), "{zsh}");
    let bad = echoone(&["completions", "tcsh"]);
    assert!(!bad.status.success());
}

#[test]
fn man_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let said = stdout(&echoone(&["man", "--out", dir.path().to_str().unwrap()]));
    assert!(said.contains("manual pages"), "{said}");
    for page in [
        "echoone.1",
        "echoone-train.1",
        "echoone-eval.1",
        "echoone-data-synth.1",
        "echoone-model-run.1",
        "echoone-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
    let train = std::fs::read_to_string(dir.path().join("echoone-train.1")).unwrap();
    assert!(train.contains("sam\\-weights"), "{train}");
}

#[test]
fn old_flag_spellings_are_refused() {
    for args in [
        &["eval", "--checkpoint", "runs/x"][..],
        &["predict", "--checkpoint", "runs/x", "a.png", "--out", "o"],
        &["ef", "--checkpoint", "runs/x", "--out", "o"],
        &["train", "--sam-checkpoint", "sam.pth"],
        &[
            "sam",
            "--checkpoint",
            "sam.pth",
            "--image",
            "a.png",
            "--out",
            "o",
        ],
        &[
            "sam",
            "--variant",
            "vit_b",
            "--weights",
            "s",
            "--image",
            "a",
            "--out",
            "o",
        ],
    ] {
        let out = echoone(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(err.contains("unexpected argument"), "{args:?}: {err}");
    }
}

#[test]
fn the_cpu_tools_refuse_a_backend_with_one_error_line() {
    let out = echoone(&["--backend", "flex", "data", "inspect", "synthetic:cases=1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.starts_with("error: `echoone data` runs on the CPU"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn no_library_crate_ships_a_binary() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        if dir.file_name().is_some_and(|n| n == "cli") || !dir.join("Cargo.toml").is_file() {
            continue;
        }
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            !manifest.contains("[[bin]]"),
            "{} declares a binary",
            dir.display()
        );
        for implicit in ["src/main.rs", "src/bin"] {
            assert!(
                !dir.join(implicit).exists(),
                "{} has {implicit}",
                dir.display()
            );
        }
    }
}
