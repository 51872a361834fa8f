//! The backend a run recorded (`RUN/backend.json`, written by `echoone train` and `ablate`),
//! which `cargo xtask` builds `echoone` with for a command on that run when `--backend` is not
//! given: the `--run` of eval, predict and ef, the run that train or ablate `--resume`
//! continue (`--out`, else the newest `runs/<command>-DATE-TIME`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The value of `flag` in `args` (`--flag X` or `--flag=X`; the last one wins).
pub fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let mut value = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(v) = a.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
            value = Some(v);
        } else if a == flag {
            value = args.get(i + 1).map(String::as_str);
        }
    }
    value
}

/// The backend recorded by the run the command in `args` works on, with runs looked up in
/// `runs` for `--resume` without `--out`; `None` when there is no such run or record.
pub fn recorded(args: &[String], runs: &Path) -> Result<Option<String>> {
    let run = match args.first().map(String::as_str) {
        Some("eval" | "predict" | "ef") => flag_value(args, "--run").map(PathBuf::from),
        Some(command @ ("train" | "ablate")) if args.iter().any(|a| a == "--resume") => {
            match flag_value(args, "--out") {
                Some(out) => Some(PathBuf::from(out)),
                None => newest(runs, command),
            }
        }
        _ => None,
    };
    let Some(run) = run else {
        return Ok(None);
    };
    // A run folder, or one of its checkpoint folders (RUN/checkpoints/NAME).
    let file = [Some(run.as_path()), run.parent().and_then(Path::parent)]
        .into_iter()
        .flatten()
        .map(|dir| dir.join("backend.json"))
        .find(|f| f.is_file());
    let Some(file) = file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a backend record", file.display()))?;
    match json.get("backend").and_then(|b| b.as_str()) {
        Some(backend) => {
            eprintln!(
                "building for --backend {backend}, as {} records",
                file.display()
            );
            Ok(Some(backend.to_string()))
        }
        None => anyhow::bail!("{}: no \"backend\" in this backend record", file.display()),
    }
}

/// The newest `<prefix>-YYYYMMDD-HHMMSS` folder in `runs`, as `echoone` names them.
fn newest(runs: &Path, prefix: &str) -> Option<PathBuf> {
    let stamped = |name: &str| {
        name.strip_prefix(prefix)
            .and_then(|n| n.strip_prefix('-'))
            .is_some_and(|s| {
                s.len() == 15
                    && s.char_indices()
                        .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
            })
    };
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(stamped))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn commands_on_a_run_take_its_recorded_backend() {
        let runs = std::env::temp_dir().join(format!("xtask-runs-{}", std::process::id()));
        let (old, new) = (
            runs.join("train-20261201-000000"),
            runs.join("train-20261205-120000"),
        );
        std::fs::create_dir_all(new.join("checkpoints/best")).unwrap();
        std::fs::create_dir_all(&old).unwrap();
        std::fs::create_dir_all(runs.join("train-mine")).unwrap();
        std::fs::write(
            new.join("backend.json"),
            r#"{"backend": "cuda", "device": "cuda:0"}"#,
        )
        .unwrap();
        std::fs::write(old.join("backend.json"), r#"{"backend": "tch"}"#).unwrap();
        let at = |words: &[&str]| recorded(&args(words), &runs).unwrap();
        let best = new.join("checkpoints/best");
        let best = best.to_str().unwrap();
        let new = new.to_str().unwrap();
        // The checkpoint folder or the run folder of eval, predict and ef.
        assert_eq!(at(&["eval", "--run", best]).as_deref(), Some("cuda"));
        assert_eq!(
            at(&["ef", &format!("--run={new}")]).as_deref(),
            Some("cuda")
        );
        // --resume: --out, else the newest stamped run.
        let old_out = old.to_str().unwrap();
        assert_eq!(
            at(&["train", "--resume", "--out", old_out]).as_deref(),
            Some("tch")
        );
        assert_eq!(at(&["train", "--resume"]).as_deref(), Some("cuda"));
        // A new run, or a run without a record: none.
        assert_eq!(at(&["train", "--out", new]), None);
        assert_eq!(at(&["ablate", "--resume"]), None);
        assert_eq!(
            at(&["eval", "--run", old_out, "--split", "test"]),
            Some("tch".into())
        );
        std::fs::remove_file(old.join("backend.json")).unwrap();
        assert_eq!(at(&["predict", "--run", old_out]), None);
        // A damaged record is an error naming the file.
        std::fs::write(old.join("backend.json"), "{").unwrap();
        let e = recorded(&args(&["eval", "--run", old_out]), &runs).unwrap_err();
        assert!(format!("{e:#}").contains("backend.json"), "{e:#}");
        std::fs::remove_dir_all(&runs).unwrap();
    }
}
