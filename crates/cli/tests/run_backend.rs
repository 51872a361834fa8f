//! A run records the backend and device it trained on (`backend.json`), and the commands on its
//! checkpoints run there unless told otherwise, saying which backend they run on. Also: the
//! split fractions and seed given to `train` as flags, and a run refused for its split leaving
//! nothing behind.

mod common;

use std::fs;

use common::*;
use echoone_run::RunBackend;

#[test]
fn commands_on_a_run_take_its_backend_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_run(1)
        .with_datasets(vec!["synthetic:cases=4,size=64x64,seed=7".into()])
        .with_steps_per_epoch(1);
    let config = write_config(tmp.path(), "config.json", &config);
    let run = tmp.path().join("run");
    let run_arg = run.to_str().unwrap();
    // Refused for its data, a run leaves nothing behind that blocks the next try.
    let err = fails(&echoone(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run_arg,
    ]));
    assert!(err.contains("the validation split is empty"), "{err}");
    for file in ["config.json", "splits.json", "backend.json", "events.jsonl"] {
        assert!(!run.join(file).exists(), "{file} written by a refused run");
    }
    let said = ok(&echoone(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run_arg,
        "--no-dashboard",
        // Four cases leave none for validation at the default fractions.
        "--val",
        "0.25",
        "--test",
        "0.25",
        "--split-seed",
        "5",
    ]));
    assert!(
        said.starts_with("backend flex, device cpu (default)"),
        "{said}"
    );
    let record = echoone_data::split::SplitFile::read(&run.join("splits.json")).unwrap();
    assert_eq!(
        (record.plan.val, record.plan.test, record.plan.seed),
        (0.25, 0.25, 5)
    );
    let count = |split| record.cases.values().filter(|&&s| s == split).count();
    use echoone_data::Split::{Test, Train, Val};
    assert_eq!((count(Train), count(Val), count(Test)), (2, 1, 1));
    let recorded = RunBackend::of_run(&run).unwrap().unwrap();
    assert_eq!(
        recorded,
        RunBackend {
            backend: "flex".into(),
            device: "cpu".into()
        }
    );
    // Found from a checkpoint folder too.
    let best = run.join("checkpoints/best");
    assert_eq!(RunBackend::of_run(&best).unwrap(), Some(recorded.clone()));

    let eval = |extra: &[&str]| {
        let out = tmp.path().join("eval");
        let _ = fs::remove_dir_all(&out);
        let args = [
            &["eval", "--run", best.to_str().unwrap()][..],
            &["--overlays", "0", "--out", out.to_str().unwrap()],
            extra,
        ]
        .concat();
        echoone(&args)
    };
    let said = ok(&eval(&[]));
    assert!(
        said.starts_with(&format!(
            "backend flex, device cpu (recorded by {})",
            best.display()
        )),
        "{said}"
    );
    let said = ok(&eval(&["--backend", "flex"]));
    assert!(
        said.starts_with("backend flex, device cpu (--backend)"),
        "{said}"
    );

    // A run recorded on a backend this binary lacks: one error line naming the run and the
    // way out; nothing evaluated.
    if !cfg!(feature = "cuda") {
        RunBackend {
            backend: "cuda".into(),
            device: "cuda:0".into(),
        }
        .save(&run)
        .unwrap();
        let err = fails(&eval(&[]));
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.contains(&format!(
                "{} was trained with --backend cuda",
                best.display()
            )) && err.contains("--features cuda")
                && err.contains("pass --backend flex"),
            "{err}"
        );
        assert!(!tmp.path().join("eval").exists());
        ok(&eval(&["--backend", "flex"]));
    }
    // A damaged record is named.
    fs::write(run.join("backend.json"), "{").unwrap();
    let err = fails(&eval(&[]));
    assert!(
        err.contains("backend.json") && err.contains("not a backend record"),
        "{err}"
    );
}
