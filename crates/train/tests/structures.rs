//! Training on datasets that annotate different structures: the synthetic echoes (LV, MYO and
//! LA), HMC-QU (the myocardium only) and EchoNet-Dynamic (the LV only), on their fixtures. A
//! structure a dataset does not annotate is never a training target of its images (an empty
//! target would teach the model that the structure is absent), nor scored in validation; the
//! run completes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burn::data::dataset::Dataset;
use burn_flex::{Flex, FlexDevice};
use echoone_data::{DatasetSpec, Mode, Split, Structure};
use echoone_run::{Checkpoint, select_samples};
use echoone_train::RunOptions;

type Ad = burn_autodiff::Autodiff<Flex>;

/// A dataset of the data crate's test fixtures, as `<reader>:<folder>`.
fn fixture(reader: &str, folder: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures");
    format!("{reader}:{}", dir.join(folder).display())
}

#[test]
fn each_dataset_trains_only_the_structures_it_annotates() {
    let datasets = [
        (
            "synthetic:cases=6,size=64x64,seed=7".to_string(),
            Structure::ALL.to_vec(),
        ),
        (fixture("hmcqu", "hmcqu"), vec![Structure::Myo]),
        (fixture("echonet", "echonet"), vec![Structure::Lv]),
    ];
    // Which dataset each image comes from, each dataset read on its own.
    let mut of_image: BTreeMap<String, usize> = BTreeMap::new();
    for (d, (spec, _)) in datasets.iter().enumerate() {
        for sample in DatasetSpec::parse(spec).unwrap().load().unwrap() {
            of_image.insert(sample.info.stem(), d);
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    let config = common::tiny_run(1)
        .with_datasets(datasets.iter().map(|(spec, _)| spec.clone()).collect())
        .with_steps_per_epoch(2)
        .with_overlays(0);
    let options = RunOptions {
        out: run_dir.clone(),
        quiet: true,
        ..Default::default()
    };
    let run = echoone_train::train::<Ad>(config, &options, &FlexDevice).unwrap();
    assert!(run.complete);
    assert!(run.history[0].train_loss.is_finite());

    // The training items of the run's training split: each dataset gives items of exactly the
    // structures it annotates, each target drawn from that structure's label.
    let ckpt = Checkpoint::open(&run_dir.join("checkpoints/latest")).unwrap();
    let train = select_samples(&ckpt, &[], Some(Split::Train)).unwrap();
    let items = echoone_run::samples::dataset(&train, &ckpt.config, Mode::Train);
    let mut trained: Vec<BTreeSet<Structure>> = vec![BTreeSet::new(); datasets.len()];
    for i in 0..items.len() {
        let item = items.get(i).unwrap();
        let d = of_image[&item.meta.stem];
        assert!(
            datasets[d].1.contains(&item.structure),
            "{} ({}) trains {:?}, which it does not annotate",
            item.meta.stem,
            item.meta.dataset,
            item.structure
        );
        trained[d].insert(item.structure);
    }
    for (d, (spec, annotated)) in datasets.iter().enumerate() {
        let expected: BTreeSet<Structure> = annotated.iter().copied().collect();
        assert_eq!(trained[d], expected, "{spec}");
    }
    // The MYO targets of HMC-QU's images are their myocardium: not empty.
    for i in 0..items.len() {
        let item = items.get(i).unwrap();
        if of_image[&item.meta.stem] == 1 {
            assert!(
                item.target.contains(&1),
                "{}: empty MYO target",
                item.meta.stem
            );
        }
    }

    // Validation scored each image on the structures its dataset annotates only.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap())
            .unwrap();
    let scored = summary["metric_per_case"].as_array().unwrap();
    let mut validated: Vec<BTreeSet<String>> = vec![BTreeSet::new(); datasets.len()];
    for entry in scored {
        let name = entry["reference_file"].as_str().unwrap();
        // `<dataset>/<image stem>:<structure>`
        let (image, structure) = name.rsplit_once(':').unwrap();
        let stem = image.rsplit_once('/').map_or(image, |(_, stem)| stem);
        let d = *of_image
            .get(stem)
            .unwrap_or_else(|| panic!("{name}: no dataset's image"));
        validated[d].insert(structure.to_string());
    }
    let names = |d: usize| -> BTreeSet<String> {
        datasets[d].1.iter().map(|s| s.name().to_string()).collect()
    };
    // EchoNet's official VAL video and the synthetic validation cases are validated; the
    // HMC-QU fixture's two cases both fell into training (measured), but any of its images
    // validated must be on MYO alone.
    assert_eq!(validated[0], names(0), "{scored:?}");
    assert_eq!(validated[2], names(2), "{scored:?}");
    assert!(validated[1].is_subset(&names(1)), "{scored:?}");
}
