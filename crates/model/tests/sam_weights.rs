//! Official SAM weights land where the spec says: SAM's tensors copied, the global blocks'
//! rel-pos tables resized 127 -> 63 rows (linear, align_corners = false), new layers untouched.

use burn::tensor::{Distribution, Tensor, TensorData};
use burn_flex::Flex;
use echoone_model::EchoOneConfig;

fn values<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32")
}

/// PyTorch's linear interpolation (align_corners = false) of each column, computed by hand.
fn linear_resize(table: &[f32], rows: usize, channels: usize, out_rows: usize) -> Vec<f32> {
    let scale = rows as f64 / out_rows as f64;
    let mut out = Vec::with_capacity(out_rows * channels);
    for i in 0..out_rows {
        let src = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
        let lo = (src.floor() as usize).min(rows - 1);
        let hi = (lo + 1).min(rows - 1);
        let w = (src - lo as f64) as f32;
        for c in 0..channels {
            out.push(table[lo * channels + c] * (1.0 - w) + table[hi * channels + c] * w);
        }
    }
    out
}

#[test]
fn sam_weights_go_where_the_spec_says() {
    let config = EchoOneConfig::small();
    let device = Default::default();
    let mut sam = config.sam_config().init::<Flex>(&device).expect("sam");
    // Non-trivial rel-pos tables (SAM initialises them to zero).
    for block in sam.image_encoder.blocks.iter_mut() {
        let [rows, c] = block.attn.rel_pos_h.as_ref().expect("rel-pos").dims();
        let table = Tensor::<Flex, 2>::random([rows, c], Distribution::Normal(0.0, 1.0), &device);
        block.attn.rel_pos_h = Some(burn::module::Param::from_tensor(table));
    }
    // Read SAM's values before the move (lazily initialised weights materialise on first read).
    let patch = values(sam.image_encoder.patch_embed.proj.weight.val());
    let qkv = values(sam.image_encoder.blocks[0].attn.qkv.weight.val());
    let theirs = sam.image_encoder.blocks[1]
        .attn
        .rel_pos_h
        .as_ref()
        .expect("table")
        .val();
    let [rows, channels] = theirs.dims();
    let table = values(theirs);
    let k_proj = values(
        sam.mask_decoder.transformer.layers[1]
            .cross_attn_token_to_image
            .k_proj
            .weight
            .val(),
    );
    let iou_token = values(sam.mask_decoder.iou_token.weight.val());

    let model = config.init::<Flex>(&device).expect("model");
    let fresh_layer4 = values(
        model.mask_decoder.transformer.layers[4]
            .self_attn
            .q_proj
            .weight
            .val(),
    );
    let model = model.with_sam_weights(sam);

    let enc = &model.image_encoder;
    assert!(
        values(enc.patch_embed.proj.weight.val()) == patch,
        "patch embedding copied"
    );
    assert!(
        values(enc.blocks[0].attn.qkv.weight.val()) == qkv,
        "attention copied"
    );
    // Windowed block: its 27-row table is SAM's. Global block 1: 127 rows resized to 63.
    assert_eq!(rows, 127);
    let ours = enc.blocks[1].attn.rel_pos_h.as_ref().expect("table").val();
    assert_eq!(ours.dims(), [63, channels]);
    let expected = linear_resize(&table, rows, channels, 63);
    let expected = Tensor::<Flex, 2>::from_data(TensorData::new(expected, [63, channels]), &device);
    let diff = (ours - expected).abs().max().into_scalar();
    assert!(diff < 1e-5, "resized rel-pos differs by {diff}");
    assert_eq!(
        enc.blocks[0].attn.rel_pos_h.as_ref().expect("table").dims()[0],
        27
    );

    let dec = &model.mask_decoder;
    let layer1 = &dec.transformer.layers[1].cross_attn_token_to_image;
    assert!(
        values(layer1.k_proj.weight.val()) == k_proj,
        "decoder block 1 copied"
    );
    assert!(
        values(dec.iou_token.weight.val()) == iou_token,
        "IoU token copied"
    );
    let layer4 = values(dec.transformer.layers[4].self_attn.q_proj.weight.val());
    assert!(
        layer4 == fresh_layer4,
        "new decoder blocks keep their initialisation"
    );
    assert_eq!(model.prompt_encoder.input_image_size, 256);
    assert_eq!(model.prompt_encoder.image_embedding_size, 32);
}
