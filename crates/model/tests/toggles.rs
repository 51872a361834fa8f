//! Every toggle combination runs with the documented shapes; the forward pass is deterministic;
//! frozen parameters get no gradient and trainable ones do; the binarised coarse mask passes
//! no gradient to the prior U-Net; bad inputs are errors.

use burn::tensor::{Distribution, Int, Tensor, backend::Backend};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use echoone_model::{EchoOne, EchoOneConfig, EchoOneError, EchoOutput};

type Inputs<B> = (Tensor<B, 4>, Tensor<B, 3>, Tensor<B, 2, Int>, Tensor<B, 4>);

fn inputs<B: Backend>(batch: usize, k: usize) -> Inputs<B> {
    let device = Default::default();
    B::seed(&device, 7);
    (
        Tensor::random(
            [batch, 1, 256, 256],
            Distribution::Uniform(0.0, 1.0),
            &device,
        ),
        Tensor::random([batch, 2, 2], Distribution::Uniform(0.0, 255.0), &device),
        Tensor::<B, 2, Int>::from_ints([[1, -1]], &device).repeat_dim(0, batch),
        Tensor::random(
            [batch, k, 128, 128],
            Distribution::Uniform(0.0, 1.0),
            &device,
        ),
    )
}

fn run<B: Backend>(model: &EchoOne<B>, inputs: &Inputs<B>, pc_mask: bool) -> EchoOutput<B> {
    let (images, points, labels, prior) = inputs.clone();
    model
        .forward(images, points, labels, pc_mask.then_some(prior))
        .expect("forward")
}

#[test]
fn every_toggle_combination_has_the_documented_shapes() {
    let inputs = inputs::<Flex>(2, 4);
    for pc_mask in [true, false] {
        for (residual, fusion, depth) in [
            (true, true, 5),
            (false, false, 2),
            (true, false, 3),
            (false, true, 2),
        ] {
            let config = EchoOneConfig::small()
                .with_pc_mask(pc_mask)
                .with_residual_cnn(residual)
                .with_fusion(fusion)
                .with_decoder_depth(depth);
            let model = config.init::<Flex>(&Default::default()).expect("model");
            assert_eq!(model.fusion.len(), if fusion { depth - 1 } else { 0 });
            let out = run(&model, &inputs, pc_mask);
            assert_eq!(out.logits.dims(), [2, 1, 128, 128]);
            assert_eq!(out.masks.dims(), [2, 1, 256, 256]);
            assert_eq!(out.iou.dims(), [2, 1]);
            assert_eq!(
                out.coarse_logits.map(|c| c.dims()),
                pc_mask.then_some([2, 1, 128, 128])
            );
        }
    }
}

#[test]
fn paper_ablation_presets_set_the_lffa_axis() {
    let off = EchoOneConfig::vit_b().with_lffa(false);
    assert_eq!(
        (off.residual_cnn, off.fusion, off.decoder_depth),
        (false, false, 2)
    );
    let on = EchoOneConfig::vit_b().with_lffa(true);
    assert_eq!(
        (
            on.residual_cnn,
            on.fusion,
            on.decoder_depth,
            on.fusion_count()
        ),
        (true, true, 5, 4)
    );
}

#[test]
fn forward_is_deterministic() {
    let model = EchoOneConfig::small()
        .init::<Flex>(&Default::default())
        .expect("model");
    let inputs = inputs::<Flex>(1, 4);
    let a = run(&model, &inputs, true).logits.into_data();
    let b = run(&model, &inputs, true).logits.into_data();
    assert_eq!(a, b);
}

#[test]
fn frozen_parameters_get_no_gradient_and_trainable_ones_do() {
    type A = Autodiff<Flex>;
    let model = EchoOneConfig::small()
        .init::<A>(&Default::default())
        .expect("model")
        .freeze_as_authors();
    let inputs = inputs::<A>(2, 4);
    let out = run(&model, &inputs, true);
    let coarse = out.coarse_logits.clone().expect("coarse");
    let grads = (out.logits.sum() + coarse.sum()).backward();
    let enc = &model.image_encoder;
    let dec = &model.mask_decoder;
    let unet = model.prior_unet.as_ref().expect("prior U-Net");
    let has = |g: Option<Tensor<Flex, 4>>| g.is_some_and(|g| g.abs().sum().into_scalar() > 0.0);
    let has2 = |g: Option<Tensor<Flex, 2>>| g.is_some_and(|g| g.abs().sum().into_scalar() > 0.0);
    assert!(
        enc.patch_embed.proj.weight.grad(&grads).is_none(),
        "patch embedding is frozen"
    );
    assert!(
        enc.blocks[0].attn.qkv.weight.grad(&grads).is_none(),
        "SAM attention is frozen"
    );
    assert!(
        dec.transformer.layers[0]
            .self_attn
            .q_proj
            .weight
            .grad(&grads)
            .is_none()
    );
    assert!(
        dec.iou_prediction_head.layers[0]
            .weight
            .grad(&grads)
            .is_none()
    );
    assert!(
        model
            .prompt_encoder
            .no_mask_embed
            .weight
            .grad(&grads)
            .is_none()
    );
    assert!(
        has(enc.cnn_embed.inc.conv.weight.grad(&grads)),
        "CNN branch trains"
    );
    assert!(
        has2(enc.global[0].Space_Adapter.q.weight.grad(&grads)),
        "space adapter trains"
    );
    let rel_pos = enc.blocks[1]
        .attn
        .rel_pos_h
        .as_ref()
        .expect("global rel-pos");
    assert!(has2(rel_pos.grad(&grads)), "global rel-pos tables train");
    assert!(
        has2(
            dec.transformer.layers[2]
                .self_attn
                .q_proj
                .weight
                .grad(&grads)
        ),
        "decoder block 2 trains"
    );
    assert!(
        has(model.fusion[0].conv.weight.grad(&grads)),
        "fusion trains"
    );
    assert!(
        has(unet.enc1.conv1.weight.grad(&grads)),
        "prior U-Net trains from the coarse term"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let model = EchoOneConfig::small()
        .init::<Flex>(&Default::default())
        .expect("model");
    let (images, points, labels, _) = inputs::<Flex>(1, 4);
    let err = model
        .forward(images.clone(), points.clone(), labels.clone(), None)
        .expect_err("PC-Mask without prior");
    assert!(matches!(err, EchoOneError::Input(_)), "{err}");
    let wrong = Tensor::<Flex, 4>::zeros([1, 1, 128, 128], &Default::default());
    let err = model
        .forward(wrong, points, labels, None)
        .expect_err("wrong size");
    assert!(err.to_string().contains("256"), "{err}");
    let err = EchoOneConfig::small()
        .with_decoder_depth(0)
        .init::<Flex>(&Default::default());
    assert!(matches!(err, Err(EchoOneError::Config(_))));
}

#[test]
fn shared_images_match_the_images_repeated_per_prompt() {
    type A = Autodiff<Flex>;
    let model = EchoOneConfig::small()
        .init::<A>(&Default::default())
        .expect("model");
    let (images, points, labels, prior) = inputs::<A>(3, 4);
    let image_of = [0, 1, 0];
    let distinct = images.clone().narrow(0, 0, 2);
    let repeated = Tensor::cat(
        vec![images.clone().narrow(0, 0, 2), images.narrow(0, 0, 1)],
        0,
    );
    let shared = model
        .forward_shared(
            distinct.clone(),
            &image_of,
            points.clone(),
            labels.clone(),
            Some(prior.clone()),
        )
        .expect("shared");
    let plain = model
        .forward(
            repeated,
            points.clone(),
            labels.clone(),
            Some(prior.clone()),
        )
        .expect("repeated");
    let max_diff = |a: Tensor<A, 4>, b: Tensor<A, 4>| -> f32 { (a - b).abs().max().into_scalar() };
    assert!(max_diff(shared.logits.clone(), plain.logits.clone()) < 1e-5);
    let weight_grad = |logits: Tensor<A, 4>| {
        let grads = logits.sum().backward();
        let enc = &model.image_encoder;
        let cnn = enc
            .cnn_embed
            .inc
            .conv
            .weight
            .grad(&grads)
            .expect("CNN grad");
        let qkv = enc.blocks[0]
            .attn
            .qkv
            .weight
            .grad(&grads)
            .expect("ViT grad");
        (cnn, qkv)
    };
    let (cnn_s, qkv_s) = weight_grad(shared.logits);
    let (cnn_p, qkv_p) = weight_grad(plain.logits);
    let rel = |a: Tensor<Flex, 2>, b: Tensor<Flex, 2>| -> f32 {
        let scale: f32 = b.clone().abs().max().into_scalar();
        (a - b).abs().max().into_scalar() / scale
    };
    assert!(rel(qkv_s, qkv_p) < 1e-4, "encoder gradients agree");
    assert!(rel(cnn_s.flatten(1, 3), cnn_p.flatten(1, 3)) < 1e-4);
    let err = model
        .forward_shared(
            distinct,
            &[0, 2],
            points.narrow(0, 0, 2),
            labels.narrow(0, 0, 2),
            None,
        )
        .expect_err("index out of range");
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn the_main_logits_send_no_gradient_into_the_prior_unet() {
    // The coarse mask enters the decoder binarised (logit > 0), so the main output trains the
    // prior U-Net through nothing; only the coarse term does.
    type A = Autodiff<Flex>;
    let config = EchoOneConfig::tiny();
    let device = Default::default();
    A::seed(&device, 11);
    let model = config.init::<A>(&device).expect("model");
    let side = config.low_res_size();
    let uniform = |hi: f64| Distribution::Uniform(0.0, hi);
    let images = Tensor::<A, 4>::random([2, 1, 64, 64], uniform(1.0), &device);
    let points = Tensor::<A, 3>::random([2, 2, 2], uniform(63.0), &device);
    let labels = Tensor::<A, 2, Int>::from_ints([[1, -1]], &device).repeat_dim(0, 2);
    let prior = Tensor::<A, 4>::random([2, config.prior_k, side, side], uniform(1.0), &device);
    let forward = || {
        model
            .forward(
                images.clone(),
                points.clone(),
                labels.clone(),
                Some(prior.clone()),
            )
            .expect("forward")
    };
    let unet = model.prior_unet.as_ref().expect("prior U-Net");
    let size = |g: Option<Tensor<Flex, 4>>| g.map_or(0.0, |g| g.abs().sum().into_scalar());

    let grads = forward().logits.sum().backward();
    assert_eq!(size(unet.enc1.conv1.weight.grad(&grads)), 0.0);
    assert!(
        size(model.fusion[0].conv.weight.grad(&grads)) > 0.0,
        "the main logits train the rest"
    );
    let coarse = forward().coarse_logits.expect("coarse logits");
    let grads = coarse.sum().backward();
    assert!(size(unet.enc1.conv1.weight.grad(&grads)) > 0.0);
}
