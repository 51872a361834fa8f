//! Fixed shapes (the cuda backend's batches): a training step on a batch whose image slots are
//! padded with black images moves every parameter as the same step without padding does, with
//! the training loss (BCE and Dice, main and coarse) and PC-Mask's BatchNorm; a batch in which one
//! item decodes a padded image instead of its own does not.

mod common;

use burn::module::Module;
use burn::optim::SgdConfig;
use burn::tensor::backend::Backend;
use echoone_data::SegBatch;
use echoone_infer::items::batch_with_prior;
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::EchoOneLossConfig;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_train::train_step;

type Ad = burn_autodiff::Autodiff<burn_flex::Flex>;

/// Padded slots beyond the batch's distinct images.
const PADDING: usize = 3;

#[test]
fn padded_image_slots_change_no_training_step() {
    let device = burn_flex::FlexDevice;
    Ad::seed(&device, 11);
    let config = EchoOneConfig::tiny();
    assert!(config.pc_mask, "the step must run PC-Mask's BatchNorm too");
    // Forking initialises the lazy parameters once, so each clone starts from the same values.
    let initial = config.init::<Ad>(&device).unwrap().fork(&device);
    let (latents, fitted) = common::made_up_prior(&config);
    let prior = BatchPrior {
        fitted: &fitted,
        latents: &latents,
    };
    let loss = EchoOneLossConfig::new().init();
    let batch = |slots| batch_with_prior::<Ad>(common::items(5), Some(&prior), slots, &device);
    let (plain, plain_prior) = batch(0).unwrap();
    let distinct = plain.images.dims()[0];
    let (padded, padded_prior) = batch(distinct + PADDING).unwrap();
    assert_eq!(padded.images.dims()[0], distinct + PADDING);
    assert_eq!(padded.image_of, plain.image_of);
    let pad_pixels: Vec<f32> = padded
        .images
        .clone()
        .narrow(0, distinct, PADDING)
        .into_data()
        .iter::<f32>()
        .collect();
    assert!(pad_pixels.iter().all(|&v| v == 0.0), "padding is black");

    // Plain SGD at lr 1: the update is the gradient itself.
    let step = |batch: SegBatch<Ad>| -> EchoOne<Ad> {
        let mut sgd = SgdConfig::new().init();
        let (model, _) = train_step(
            initial.clone(),
            &mut sgd,
            batch,
            padded_prior.clone(),
            &loss,
            1.0,
            &[],
        )
        .unwrap();
        model
    };
    assert_eq!(
        plain_prior.map(|p| p.into_data()),
        padded_prior.clone().map(|p| p.into_data())
    );
    let unpadded = step(plain);
    let update = common::max_diff(&initial, &unpadded);
    assert!(update > 1e-2, "the step moved nothing: {update}");
    let diff = common::max_diff(&unpadded, &step(padded.clone()));
    assert!(
        diff <= 1e-6 * update,
        "padding changed the step by {diff} (update {update})"
    );

    // The comparison catches a padded image that reaches the loss: the first item decodes a
    // black slot instead of its own image.
    let mut leaked = padded;
    leaked.image_of[0] = distinct;
    let leak = common::max_diff(&unpadded, &step(leaked));
    eprintln!("update {update:.3e}, padded vs unpadded {diff:.3e}, leaked {leak:.3e}");
    assert!(
        leak > 1e-3 * update,
        "a leaked padded image changed the step by only {leak} (update {update})"
    );
}
