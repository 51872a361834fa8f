//! Evaluation on several threads gives what one thread gives, item for item, and fixed batch
//! shapes (padded batches) give what plain batches give.

use burn::module::Module;
use burn_flex::Flex;
use echoone_data::{Mode, PipelineConfig, SegmentationDataset, SyntheticConfig};
use echoone_infer::{EvalOptions, Evaluation, evaluate};
use echoone_losses::EchoOneLossConfig;
use echoone_model::{EchoOne, EchoOneConfig};

fn run(model: &EchoOne<Flex>, threads: usize, keep: usize) -> Evaluation {
    run_with(model, threads, keep, 4, false)
}

fn run_with(
    model: &EchoOne<Flex>,
    threads: usize,
    keep: usize,
    batch_size: usize,
    fixed_shapes: bool,
) -> Evaluation {
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
        batch_size,
        workers: 1,
        keep,
        loss: &loss,
        millimetres: true,
        threads,
        fixed_shapes,
        prompts: echoone_infer::clicks::Prompts::GT,
    };
    evaluate(model, &dataset, None, &options, &device).unwrap()
}

/// The tiny model without PC-Mask, materialised (forked) first, as a trained or loaded model is.
fn model() -> EchoOne<Flex> {
    let device = Default::default();
    EchoOneConfig::tiny()
        .with_pc_mask(false)
        .init::<Flex>(&device)
        .unwrap()
        .fork(&device)
}

#[test]
fn threads_split_the_batches_without_changing_any_result() {
    let model = model();
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

#[test]
fn fixed_shapes_pad_batches_without_changing_the_results() {
    let model = model();
    // 48 items in batches of 5: 2 or 3 images a batch, and a last batch of 3 items.
    let plain = run_with(&model, 1, 0, 5, false);
    let fixed = run_with(&model, 1, 0, 5, true);
    assert_eq!(fixed.cases.len(), 48, "padding items are left out");
    let dice = |e: &Evaluation| -> Vec<(String, f64)> {
        e.cases
            .iter()
            .flat_map(|c| {
                c.metrics
                    .values()
                    .map(|m| (c.reference_file.clone(), m.dice))
            })
            .collect()
    };
    for ((name, a), (other, b)) in dice(&plain).into_iter().zip(dice(&fixed)) {
        assert_eq!(name, other);
        assert!(
            (a - b).abs() < 1e-3 || (a.is_nan() && b.is_nan()),
            "{name}: Dice {a} plain, {b} padded"
        );
    }
    let rel = (plain.loss - fixed.loss).abs() / plain.loss.abs();
    assert!(
        rel < 1e-5,
        "loss {} plain, {} padded",
        plain.loss,
        fixed.loss
    );
}
