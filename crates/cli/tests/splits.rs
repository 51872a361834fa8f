//! A case keeps the split its run gave it for the life of the run: `eval` and `ef` given
//! `--dataset` score only the run's own test cases under `--split test`, a case the run trained
//! on is never scored as test, a case the run never saw is external, and every report lists
//! each case with its split. Checked on a tiny model trained on three datasets: two synthetic
//! seeds with drawn splits (the same case names, other patients) and a folder in the authors'
//! layout with official splits.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::*;
use echoone_data::split::SplitFile;
use echoone_data::{DatasetSpec, Sample, Split, SplitPlan, SyntheticConfig, authors};

/// The two synthetic datasets: seeds 7 and 9 name their cases alike (`synth0001`, ...).
const SEED_7: &str = "synthetic:cases=8,size=64x64,seed=7";
const SEED_9: &str = "synthetic:cases=6,size=64x64,seed=9";

/// Writes `samples` (splits set) into `dir` in the authors' layout; returns its spec.
fn folder(dir: &Path, samples: &[Sample]) -> String {
    authors::write(dir, "Synthetic", samples).unwrap();
    format!("png:{}", dir.display())
}

/// `(dataset, case)` -> split of every case of `summary.json`, from its `reference_file`
/// (`dataset/stem:structure`) and `split` fields; each case must have one split.
fn summary_cases(dir: &Path) -> BTreeMap<String, Split> {
    let text = fs::read_to_string(dir.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut cases = BTreeMap::new();
    for case in summary["metric_per_case"].as_array().unwrap() {
        let file = case["reference_file"].as_str().unwrap();
        let (dataset, stem) = file.split_once('/').unwrap();
        let key = format!("{dataset}/{}", stem.split('_').next().unwrap());
        let split = Split::parse(case["split"].as_str().unwrap())
            .or((case["split"] == "external").then_some(Split::External))
            .unwrap();
        assert_eq!(*cases.entry(key).or_insert(split), split, "{file}");
    }
    cases
}

/// The cases of `dataset` that the run's record puts in `split`.
fn recorded(record: &SplitFile, dataset: &str, split: Split) -> BTreeSet<String> {
    record
        .cases
        .iter()
        .filter(|(k, s)| k.starts_with(&format!("{dataset}/")) && **s == split)
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn a_case_keeps_its_split_for_the_life_of_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    // A third dataset with official splits: seed 8, written with its own split lists.
    let official = SyntheticConfig {
        cases: 4,
        width: 64,
        height: 64,
        seed: 8,
        ..Default::default()
    };
    let plan = SplitPlan {
        val: 0.25,
        test: 0.25,
        seed: 3,
    };
    official.write(&tmp.path().join("official"), &plan).unwrap();
    let official_spec = format!("png:{}", tmp.path().join("official").display());

    let config = tiny_run(1)
        .with_datasets(vec![SEED_7.into(), SEED_9.into(), official_spec.clone()])
        .with_steps_per_epoch(2);
    let config = write_config(tmp.path(), "config.json", &config);
    let run = tmp.path().join("run");
    let run_arg = run.to_str().unwrap();
    ok(&echoone(&[
        "train",
        "--quiet",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run_arg,
    ]));

    // splits.json records every case of the run, official ones too, each seed's apart.
    let record = SplitFile::read(&run.join("splits.json")).unwrap();
    assert!(record.is_complete());
    assert_eq!(record.cases.len(), 8 + 6 + 4, "{:?}", record.cases.keys());
    assert_eq!(record.official.len(), 4);
    assert!(
        record
            .official
            .iter()
            .all(|k| k.starts_with("synthetic-seed8/"))
    );
    let test_7 = recorded(&record, "synthetic-seed7", Split::Test);
    assert!(!test_7.is_empty());

    // eval of one dataset's test split: exactly the run's test cases of that dataset, each
    // reported as test (a fresh draw over this dataset alone gives other cases).
    let eval_out = tmp.path().join("eval7");
    let said = ok(&echoone(&[
        "eval",
        "--run",
        run_arg,
        "--dataset",
        SEED_7,
        "--split",
        "test",
        "--overlays",
        "0",
        "--out",
        eval_out.to_str().unwrap(),
    ]));
    assert!(said.contains("by the run's split"), "{said}");
    let evaluated = summary_cases(&eval_out);
    assert_eq!(evaluated.keys().cloned().collect::<BTreeSet<_>>(), test_7);
    assert!(evaluated.values().all(|&s| s == Split::Test));
    let mut redrawn = DatasetSpec::parse(SEED_7).unwrap().load().unwrap();
    let drawn = echoone_data::split::assign(&mut redrawn, &tiny_run(1).split, None).unwrap();
    let redrawn_test: BTreeSet<String> = drawn
        .cases
        .iter()
        .filter(|(_, s)| **s == Split::Test)
        .map(|(k, _)| k.clone())
        .collect();
    assert_ne!(
        redrawn_test, test_7,
        "the data must tell a fresh draw from the run's record"
    );

    // ef of that dataset's test split: the same cases, each with its split in every file.
    let ef_out = tmp.path().join("ef7");
    ok(&echoone(&[
        "ef",
        "--run",
        run_arg,
        "--dataset",
        SEED_7,
        "--split",
        "test",
        "--out",
        ef_out.to_str().unwrap(),
    ]));
    let csv = fs::read_to_string(ef_out.join("volumes.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let measured: BTreeSet<String> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[col("split")], "test", "{line}");
            format!("{}/{}", f[col("dataset")], f[col("case")])
        })
        .collect();
    assert!(
        !measured.is_empty() && measured.is_subset(&test_7),
        "{measured:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(ef_out.join("ef.json")).unwrap()).unwrap();
    let listed: BTreeSet<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|c| assert_eq!(c["split"], "test", "{c}"))
        .map(|c| {
            format!(
                "{}/{}",
                c["dataset"].as_str().unwrap(),
                c["case"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(listed, test_7);

    // A case the run trained on, given alone: refused under --split test, whether its folder
    // says train or (altered) test; scored as train under --split all.
    let trained = recorded(&record, "synthetic-seed7", Split::Train);
    let trained_case = trained
        .first()
        .unwrap()
        .split_once('/')
        .unwrap()
        .1
        .to_string();
    let mut alone: Vec<Sample> = DatasetSpec::parse(SEED_7)
        .unwrap()
        .load()
        .unwrap()
        .into_iter()
        .filter(|s| s.info.case == trained_case)
        .collect();
    alone
        .iter_mut()
        .for_each(|s| s.info.split = Some(Split::Train));
    let as_train = folder(&tmp.path().join("alone"), &alone);
    let eval = |spec: &str, split: &str, out: &str| {
        let out = tmp.path().join(out);
        let result = echoone(&[
            "eval",
            "--run",
            run_arg,
            "--dataset",
            spec,
            "--split",
            split,
            "--overlays",
            "0",
            "--out",
            out.to_str().unwrap(),
        ]);
        (result, out)
    };
    let (refused, out) = eval(&as_train, "test", "alone_test");
    let err = fails(&refused);
    assert!(
        err.contains("none of the images given is in the run's test split (8 train)"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on refusal");
    let (scored, out) = eval(&as_train, "all", "alone_all");
    let said = ok(&scored);
    assert!(said.contains("training split"), "{said}");
    let all = summary_cases(&out);
    assert_eq!(all.values().collect::<Vec<_>>(), [&Split::Train]);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let per_split = summary["statistics"]["per_split"].as_object().unwrap();
    assert_eq!(per_split.keys().collect::<Vec<_>>(), ["train"]);
    alone
        .iter_mut()
        .for_each(|s| s.info.split = Some(Split::Test));
    let as_test = folder(&tmp.path().join("relabelled"), &alone);
    let err = fails(&eval(&as_test, "test", "relabelled").0);
    assert!(
        err.contains("recorded as train") && err.contains("now says test"),
        "{err}"
    );
    let err = fails(&echoone(&[
        "ef",
        "--run",
        run_arg,
        "--dataset",
        &as_train,
        "--split",
        "test",
        "--out",
        tmp.path().join("ef_alone").to_str().unwrap(),
    ]));
    assert!(err.contains("8 train"), "{err}");

    // Cases the run never saw (another seed) are external, never test.
    let unseen = "synthetic:cases=2,size=64x64,seed=99";
    let err = fails(&eval(unseen, "test", "unseen_test").0);
    assert!(err.contains("16 external"), "{err}");
    let (scored, out) = eval(unseen, "external", "unseen");
    ok(&scored);
    let external = summary_cases(&out);
    assert_eq!(external.len(), 2);
    assert!(external.values().all(|&s| s == Split::External));
}
