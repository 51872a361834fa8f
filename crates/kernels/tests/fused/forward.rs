//! Forward parity of the Flex kernels with the composed ops (burn-flex's own ops).

use burn::tensor::TensorData;
use burn::tensor::ops::FloatTensorOps;
use burn_flex::{Flex, FlexTensor};
use echoone_kernels::{FusedOps, composed_gelu, composed_layer_norm, composed_softmax};

use crate::common::{Rng, assert_close, prim, random_prim, values};

/// Shapes with last axes 1, 7, 196 and 1024, row counts that are not multiples of a chunk, and
/// sizes on both sides of the serial threshold.
const SHAPES: &[&[usize]] = &[
    &[5],
    &[3, 5, 7],
    &[40_001, 1],
    &[5, 1001, 7],
    &[2, 3, 197, 196],
    &[3, 17, 1024],
    &[2, 2, 33, 1024],
];

#[test]
fn softmax_matches_composed_with_and_without_bias() {
    let mut rng = Rng::new(1);
    for shape in SHAPES {
        for (with_bias, scale) in [(false, 1.0), (false, 0.3), (true, 1.0), (true, 0.125)] {
            let x = random_prim(&mut rng, shape, 8.0, 0.0);
            let bias = with_bias.then(|| random_prim(&mut rng, shape, 3.0, 0.0));
            let fused = values(Flex::fused_softmax(x.clone(), bias.clone(), scale));
            let reference = values(composed_softmax::<Flex>(x, bias, scale));
            let what = format!("softmax {shape:?} bias {with_bias} scale {scale}");
            assert_close(&what, &fused, &reference, 1e-6, 1e-5);
        }
    }
}

#[test]
fn softmax_is_stable_for_large_logits_and_rows_sum_to_one() {
    let mut rng = Rng::new(2);
    let shape = [7, 300];
    let x = random_prim(&mut rng, &shape, 200.0, 1000.0);
    let fused = values(Flex::fused_softmax(x.clone(), None, 1.0));
    let reference = values(composed_softmax::<Flex>(x, None, 1.0));
    assert_close("softmax large logits", &fused, &reference, 1e-6, 1e-5);
    for row in fused.chunks(300) {
        let s: f32 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-5, "row sums to {s}");
    }
}

#[test]
fn softmax_masks_minus_infinity_to_zero() {
    let x = prim(
        vec![0.5, f32::NEG_INFINITY, -0.25, f32::NEG_INFINITY],
        &[1, 4],
    );
    let y = values(Flex::fused_softmax(x, None, 1.0));
    assert_eq!(y[1], 0.0);
    assert_eq!(y[3], 0.0);
    assert_close("softmax masked", &[y[0] + y[2]], &[1.0], 1e-6, 0.0);
}

#[test]
fn layer_norm_matches_composed_with_and_without_beta() {
    let mut rng = Rng::new(3);
    let shapes: &[&[usize]] = &[
        &[1],
        &[9, 1],
        &[5, 7],
        &[3, 197, 196],
        &[4, 50, 768],
        &[2, 3, 1024],
    ];
    for shape in shapes {
        let c = shape[shape.len() - 1];
        for (with_beta, eps) in [(false, 1e-5), (true, 1e-6)] {
            let x = random_prim(&mut rng, shape, 2.0, 0.7);
            let gamma = random_prim(&mut rng, &[c], 1.0, 1.0);
            let beta = with_beta.then(|| random_prim(&mut rng, &[c], 0.5, 0.0));
            let fused = values(Flex::fused_layer_norm(
                x.clone(),
                gamma.clone(),
                beta.clone(),
                eps,
            ));
            let reference = values(composed_layer_norm::<Flex>(x, gamma, beta, eps));
            let what = format!("layer norm {shape:?} beta {with_beta}");
            assert_close(&what, &fused, &reference, 1e-5, 1e-5);
        }
    }
}

#[test]
fn layer_norm_handles_a_large_mean() {
    let mut rng = Rng::new(4);
    let c = 384;
    let xv = rng.vec(6 * c, 1.0, 300.0);
    let gv = rng.vec(c, 1.0, 1.0);
    let fused = values(Flex::fused_layer_norm(
        prim(xv.clone(), &[6, c]),
        prim(gv.clone(), &[c]),
        None,
        1e-6,
    ));
    let composed = values(composed_layer_norm::<Flex>(
        prim(xv.clone(), &[6, c]),
        prim(gv.clone(), &[c]),
        None,
        1e-6,
    ));
    // The exact result of the f32 inputs, in f64.
    let mut exact = Vec::new();
    for row in xv.chunks(c) {
        let mean = row.iter().map(|v| f64::from(*v)).sum::<f64>() / c as f64;
        let var = row
            .iter()
            .map(|v| (f64::from(*v) - mean).powi(2))
            .sum::<f64>()
            / c as f64;
        let rstd = 1.0 / (var + 1e-6).sqrt();
        exact.extend(
            row.iter()
                .zip(&gv)
                .map(|(v, g)| ((f64::from(*v) - mean) * rstd * f64::from(*g)) as f32),
        );
    }
    let worst = |v: &[f32]| {
        v.iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    eprintln!(
        "large mean: fused error {}, composed error {}",
        worst(&fused),
        worst(&composed)
    );
    // f32 holds 300 ± 1 to about 3e-5, which the normalisation scales up by 1 / std ≈ 1.7.
    assert_close("layer norm mean 300", &fused, &exact, 2e-4, 0.0);
}

#[test]
fn gelu_matches_composed() {
    let mut rng = Rng::new(5);
    for shape in [&[7][..], &[3, 1000, 77], &[64, 1025]] {
        let x = random_prim(&mut rng, shape, 6.0, 0.0);
        let fused = values(Flex::fused_gelu(x.clone()));
        let reference = values(composed_gelu::<Flex>(x));
        assert_close(&format!("gelu {shape:?}"), &fused, &reference, 1e-6, 1e-6);
    }
}

#[test]
fn shared_inputs_are_left_untouched_and_owned_ones_give_the_same_result() {
    let mut rng = Rng::new(6);
    let shape = [4, 100, 300];
    let x = random_prim(&mut rng, &shape, 4.0, 0.0);
    let before = values(x.clone());
    // A deep copy, so that the fused op owns its input and may work in place.
    let owned = prim(before.clone(), &shape);
    let from_shared = values(Flex::fused_softmax(x.clone(), None, 0.5));
    let from_owned = values(Flex::fused_softmax(owned, None, 0.5));
    assert_eq!(values(x), before, "the shared input changed");
    crate::common::assert_bits_eq("in place vs copy", &from_owned, &from_shared);
}

#[test]
fn strided_inputs_are_made_contiguous() {
    let mut rng = Rng::new(7);
    let x = random_prim(&mut rng, &[40, 30], 3.0, 0.0);
    let xt = Flex::float_swap_dims(x, 0, 1);
    let fused = values(Flex::fused_softmax(xt.clone(), None, 1.0));
    let reference = values(composed_softmax::<Flex>(xt, None, 1.0));
    assert_close("softmax transposed", &fused, &reference, 1e-6, 1e-5);
}

#[test]
fn other_dtypes_fall_back_to_the_composed_ops() {
    let data: Vec<f64> = (0..60).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
    let x = FlexTensor::from_data(TensorData::new(data, [6, 10]));
    let fused = Flex::fused_softmax(x.clone(), None, 0.5).into_data();
    let reference = composed_softmax::<Flex>(x, None, 0.5).into_data();
    assert_eq!(fused, reference);
}
