//! Parity with official SAM (facebookresearch/segment-anything) on fixtures made by
//! `tests/fixtures/generate.py`: every output within 1e-4 absolute on the CPU default backend.

mod common;

use burn::tensor::{Int, Tensor, TensorData};
use common::{Cpu, assert_close, fixtures, npy, tensor, tiny_config};
use echoone_sam::{
    ImageEncoderConfig, LoadOptions, Predictor, Prompt, Prompts, Sam, load_checkpoint,
};
use image::RgbImage;

const TOL: f32 = 1e-4;
const CASES: [&str; 5] = ["point", "points", "box", "box_point", "mask_point"];

fn tiny_model() -> Sam<Cpu> {
    let mut model = tiny_config()
        .init::<Cpu>(&Default::default())
        .expect("valid config");
    let report = load_checkpoint(
        &mut model,
        fixtures().join("tiny.pth"),
        &LoadOptions::default(),
    )
    .expect("the official state dict loads with no missing or unexpected keys");
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    model
}

fn image(index: usize) -> RgbImage {
    let a = npy(&format!("tiny/image{index}/image.npy"));
    let pixels = a.data.iter().map(|&v| v as u8).collect();
    RgbImage::from_raw(a.shape[1] as u32, a.shape[0] as u32, pixels).expect("HxWx3 image")
}

fn prompt(dir: &str, tag: &str) -> Prompt {
    let path = |key: &str| fixtures().join(format!("{dir}/{tag}_in_{key}.npy"));
    let mut prompt = Prompt::default();
    if path("point_coords").exists() {
        let coords = npy(&format!("{dir}/{tag}_in_point_coords.npy")).data;
        prompt.points = coords.chunks(2).map(|c| [c[0], c[1]]).collect();
        let labels = npy(&format!("{dir}/{tag}_in_point_labels.npy")).data;
        prompt.labels = labels.iter().map(|&l| l as i64).collect();
    }
    if path("box").exists() {
        let b = npy(&format!("{dir}/{tag}_in_box.npy")).data;
        prompt.bbox = Some([b[0], b[1], b[2], b[3]]);
    }
    if path("mask_input").exists() {
        prompt.mask_input = Some(npy(&format!("{dir}/{tag}_in_mask_input.npy")).data);
    }
    prompt
}

#[test]
fn safetensors_checkpoint_loads_the_same_model() {
    let mut model = tiny_config()
        .init::<Cpu>(&Default::default())
        .expect("valid config");
    load_checkpoint(
        &mut model,
        fixtures().join("tiny.safetensors"),
        &LoadOptions::default(),
    )
    .expect("safetensors with the official keys loads");
    let input = tensor::<4>("tiny/image0/input.npy");
    assert_close(model.embed_images(input), "tiny/image0/embedding.npy", TOL);
}

#[test]
fn partial_loading_reports_what_is_missing() {
    // The encoder-only state dict of `stride.pth` given to the whole model.
    let mut model = tiny_config()
        .init::<Cpu>(&Default::default())
        .expect("valid config");
    let strict = load_checkpoint(
        &mut model,
        fixtures().join("stride.pth"),
        &LoadOptions::default(),
    );
    let message = strict.expect_err("strict loading refuses").to_string();
    assert!(message.contains("missing from the checkpoint"), "{message}");
    assert!(
        message.contains("image_encoder.patch_embed.proj.weight"),
        "{message}"
    );
    assert!(
        message.contains("unexpected in the checkpoint"),
        "{message}"
    );
    let options = LoadOptions {
        allow_partial: true,
        extra_remap: vec![("^".into(), "image_encoder.".into())],
    };
    let report = load_checkpoint(&mut model, fixtures().join("stride.pth"), &options)
        .expect("partial loading accepts");
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert!(
        report
            .missing
            .iter()
            .all(|k| !k.starts_with("image_encoder"))
    );
    assert!(report.missing.iter().any(|k| k.starts_with("mask_decoder")));
}

#[test]
fn preprocessing_and_image_embedding_match() {
    let model = tiny_model();
    for index in 0..2 {
        let dir = format!("tiny/image{index}");
        let img = image(index);
        let resized = echoone_sam::ResizeLongestSide::new(128).apply_image(&img);
        let input = model.preprocess(echoone_sam::predictor::image_to_tensor(
            &resized,
            &Default::default(),
        ));
        assert_close(input.clone(), &format!("{dir}/input.npy"), TOL);
        assert_close(
            model.embed_images(input),
            &format!("{dir}/embedding.npy"),
            TOL,
        );
        assert_close(
            model.prompt_encoder.dense_pe(),
            &format!("{dir}/dense_pe.npy"),
            TOL,
        );
    }
}

#[test]
fn predictor_matches_every_prompt_case() {
    let mut predictor = Predictor::new(tiny_model());
    for index in 0..2 {
        let dir = format!("tiny/image{index}");
        predictor.set_image(&image(index)).expect("image");
        for case in CASES {
            for (multimask, suffix) in [(false, "single"), (true, "multi")] {
                let tag = format!("{case}_{suffix}");
                let out = predictor
                    .predict(&prompt(&dir, &tag), multimask)
                    .expect("prediction");
                assert_close(out.low_res_logits, &format!("{dir}/{tag}_low_res.npy"), TOL);
                assert_close(out.iou_predictions, &format!("{dir}/{tag}_iou.npy"), TOL);
                assert_close(out.masks, &format!("{dir}/{tag}_masks.npy"), TOL);
            }
        }
    }
}

#[test]
fn prompt_embeddings_match() {
    let model = tiny_model();
    let device = Default::default();
    for index in 0..2 {
        let dir = format!("tiny/image{index}");
        let original = image(index);
        let transform = echoone_sam::ResizeLongestSide::new(128);
        let size = (original.height() as usize, original.width() as usize);
        for case in CASES {
            let p = prompt(&dir, &format!("{case}_single"));
            let mut prompts = Prompts::<Cpu> {
                points: None,
                boxes: None,
                masks: None,
            };
            if !p.points.is_empty() {
                let coords: Vec<f32> = transform.apply_coords(&p.points, size).concat();
                let n = p.points.len();
                prompts.points = Some((
                    Tensor::from_data(TensorData::new(coords, [1, 1, n, 2]), &device),
                    Tensor::<Cpu, 3, Int>::from_data(
                        TensorData::new(p.labels.clone(), [1, 1, n]),
                        &device,
                    ),
                ));
            }
            if let Some(b) = p.bbox {
                let b = transform.apply_box(b, size);
                prompts.boxes = Some(Tensor::from_data(
                    TensorData::new(b.to_vec(), [1, 1, 4]),
                    &device,
                ));
            }
            if let Some(m) = p.mask_input {
                prompts.masks = Some(Tensor::from_data(
                    TensorData::new(m, [1, 1, 1, 32, 32]),
                    &device,
                ));
            }
            let (sparse, dense) = model.prompt_encoder.forward(&prompts).expect("prompts");
            let [_, _, t, d] = sparse.dims();
            assert_close(
                sparse.reshape([1, t, d]),
                &format!("{dir}/{case}_sparse.npy"),
                TOL,
            );
            let [_, _, c, h, w] = dense.dims();
            assert_close(
                dense.reshape([1, c, h, w]),
                &format!("{dir}/{case}_dense.npy"),
                TOL,
            );
        }
    }
}

/// Official SAM cannot run several images with several prompts each; ours does it in one call,
/// and each image's masks equal the official single-image results.
#[test]
fn batch_of_images_with_their_own_prompts_matches_single_runs() {
    let model = tiny_model();
    let device = Default::default();
    let embeddings = Tensor::cat(
        vec![
            tensor::<4>("tiny/image0/embedding.npy"),
            tensor::<4>("tiny/image1/embedding.npy"),
        ],
        0,
    );
    // Per image, N = 2 prompts of one point each: the "point" case and the first point of "points".
    let transform = echoone_sam::ResizeLongestSide::new(128);
    let mut coords = Vec::new();
    for index in 0..2 {
        let img = image(index);
        let size = (img.height() as usize, img.width() as usize);
        let dir = format!("tiny/image{index}");
        let single = prompt(&dir, "point_single").points;
        coords.extend(transform.apply_coords(&single, size).concat());
        coords.extend(transform.apply_coords(&single, size).concat());
    }
    let prompts = Prompts::<Cpu> {
        points: Some((
            Tensor::from_data(TensorData::new(coords, [2, 2, 1, 2]), &device),
            Tensor::<Cpu, 3, Int>::ones([2, 2, 1], &device),
        )),
        boxes: None,
        masks: None,
    };
    let out = model
        .predict(embeddings, &prompts, true)
        .expect("batched prediction");
    assert_eq!(out.low_res_masks.dims(), [2, 2, 3, 32, 32]);
    for index in 0..2 {
        for n in 0..2 {
            let masks = out
                .low_res_masks
                .clone()
                .slice([index..index + 1, n..n + 1])
                .reshape([3, 32, 32]);
            assert_close(
                masks,
                &format!("tiny/image{index}/point_multi_low_res.npy"),
                TOL,
            );
            let iou = out
                .iou_predictions
                .clone()
                .slice([index..index + 1, n..n + 1])
                .reshape([3]);
            assert_close(iou, &format!("tiny/image{index}/point_multi_iou.npy"), TOL);
        }
    }
}

/// Patch stride 8 at 120 input: a 14x14 token grid from an 8x8 position table and 15-row
/// global rel-pos tables, resized as SAM does (bilinear / linear, align_corners = false).
#[test]
fn strided_encoder_resizes_position_tables() {
    let tiny = tiny_config().image_encoder;
    let config = ImageEncoderConfig {
        img_size: 120,
        patch_stride: Some(8),
        table_grid: Some(8),
        ..tiny
    };
    assert_eq!(config.token_grid(), 14);
    let mut encoder = config
        .init::<Cpu>(&Default::default())
        .expect("valid config");
    load_checkpoint(
        &mut encoder,
        fixtures().join("stride.pth"),
        &LoadOptions::default(),
    )
    .expect("encoder state dict loads");
    let out = encoder.forward(tensor::<4>("stride/input.npy"));
    assert_close(out, "stride/embedding.npy", TOL);
}

#[test]
fn longest_side_resize_is_pixel_exact() {
    for case in 0..5 {
        let input = npy(&format!("resize/case{case}_in.npy"));
        let target = npy(&format!("resize/case{case}_target.npy")).data[0] as usize;
        let expected = npy(&format!("resize/case{case}_out.npy"));
        let pixels = input.data.iter().map(|&v| v as u8).collect();
        let img = RgbImage::from_raw(input.shape[1] as u32, input.shape[0] as u32, pixels)
            .expect("image");
        let out = echoone_sam::ResizeLongestSide::new(target).apply_image(&img);
        assert_eq!(
            [out.height() as usize, out.width() as usize, 3],
            expected.shape[..],
            "case {case}: size"
        );
        let mismatches = out
            .as_raw()
            .iter()
            .zip(&expected.data)
            .filter(|(a, b)| **a as f32 != **b)
            .count();
        assert_eq!(
            mismatches, 0,
            "case {case}: {mismatches} pixels differ from torchvision/PIL"
        );
    }
}
