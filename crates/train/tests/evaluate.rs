//! Evaluation on several threads gives what one thread gives, item for item.

mod common;

use burn::module::Module;
use burn_flex::Flex;
use echoone::EchoOne;
use echoone_data::{Mode, PipelineConfig, SegmentationDataset, SyntheticConfig};
use echoone_losses::EchoOneLossConfig;
use echoone_train::{EvalOptions, Evaluation, evaluate};

fn run(model: &EchoOne<Flex>, threads: usize, keep: usize) -> Evaluation {
    let samples = SyntheticConfig {
        cases: 2,
        width: 64,
        height: 64,
        ..Default::default()
    }
    .generate(1)
    .unwrap();
    let config = PipelineConfig {
        image_size: 64,
        low_res_size: 32,
        ..Default::default()
    };
    let dataset = SegmentationDataset::new(&samples, config, Mode::Eval, 0);
    let device = Default::default();
    let loss = EchoOneLossConfig::new().init();
    let options = EvalOptions {
        batch_size: 4,
        workers: 1,
        keep,
        loss: &loss,
        millimetres: true,
        threads,
    };
    evaluate(model, &dataset, None, &options, &device).unwrap()
}

#[test]
fn threads_split_the_batches_without_changing_any_result() {
    let device = Default::default();
    // Materialised (forked) first, as a trained or loaded model is.
    let model = common::tiny_model()
        .with_pc_mask(false)
        .init::<Flex>(&device)
        .unwrap()
        .fork(&device);
    let one = run(&model, 1, 5);
    assert_eq!(one.cases.len(), 2 * 8 * 3);
    for threads in [2, 3, 48] {
        let many = run(&model, threads, 5);
        assert_eq!(many.loss, one.loss, "{threads} threads");
        let names = |e: &Evaluation| -> Vec<(String, String)> {
            e.cases
                .iter()
                .map(|c| (c.reference_file.clone(), format!("{:?}", c.metrics)))
                .collect()
        };
        assert_eq!(names(&many), names(&one), "{threads} threads");
        let mm = |e: &Evaluation| e.cases_mm.as_ref().map(|c| c.len());
        assert_eq!(mm(&many), Some(48));
        let kept: Vec<_> = many.kept.iter().map(|k| k.item.meta.stem.clone()).collect();
        let want: Vec<_> = one.kept.iter().map(|k| k.item.meta.stem.clone()).collect();
        assert_eq!((kept.len(), kept), (5, want));
    }
}
