//! Backward parity of the Flex kernels with the composed backward ops.

use burn_flex::Flex;
use echoone_kernels::{
    FusedOps, composed_gelu_backward, composed_layer_norm_backward, composed_softmax_backward,
};

use crate::common::{Rng, assert_close, random_prim, values};

#[test]
fn softmax_backward_matches_composed() {
    let mut rng = Rng::new(11);
    let shapes: &[&[usize]] = &[
        &[5],
        &[3, 5, 7],
        &[20_001, 1],
        &[2, 3, 197, 196],
        &[3, 17, 1024],
    ];
    for shape in shapes {
        let x = random_prim(&mut rng, shape, 4.0, 0.0);
        let y = Flex::fused_softmax(x, None, 1.0);
        let grad = random_prim(&mut rng, shape, 1.0, 0.0);
        for scale in [1.0, 0.125] {
            let fused = values(Flex::fused_softmax_backward_scaled(
                y.clone(),
                grad.clone(),
                scale,
            ));
            let reference = values(composed_softmax_backward::<Flex>(
                y.clone(),
                grad.clone(),
                scale,
            ));
            let what = format!("softmax backward {shape:?} scale {scale}");
            assert_close(&what, &fused, &reference, 1e-6, 1e-5);
        }
        let unscaled = values(Flex::fused_softmax_backward(y.clone(), grad.clone()));
        let reference = values(composed_softmax_backward::<Flex>(y, grad, 1.0));
        assert_close(
            "softmax backward unscaled",
            &unscaled,
            &reference,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn layer_norm_backward_matches_composed() {
    let mut rng = Rng::new(12);
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
        let x = random_prim(&mut rng, shape, 2.0, -0.4);
        let gamma = random_prim(&mut rng, &[c], 1.0, 1.0);
        let grad = random_prim(&mut rng, shape, 1.0, 0.0);
        let (fx, fg, fb) =
            Flex::fused_layer_norm_backward(x.clone(), gamma.clone(), grad.clone(), 1e-6);
        let (rx, rg, rb) = composed_layer_norm_backward::<Flex>(x, gamma, grad, 1e-6);
        let what = format!("layer norm backward {shape:?}");
        // grad_x is a difference of O(1) terms times 1 / std: absolute tolerance scaled to it.
        assert_close(&format!("{what} x"), &values(fx), &values(rx), 2e-5, 1e-4);
        // gamma / beta sum over up to 600 rows in different orders.
        assert_close(
            &format!("{what} gamma"),
            &values(fg),
            &values(rg),
            1e-4,
            1e-5,
        );
        assert_close(
            &format!("{what} beta"),
            &values(fb),
            &values(rb),
            1e-4,
            1e-5,
        );
    }
}

#[test]
fn gelu_backward_matches_composed() {
    let mut rng = Rng::new(13);
    for shape in [&[7][..], &[3, 1000, 77]] {
        let x = random_prim(&mut rng, shape, 6.0, 0.0);
        let grad = random_prim(&mut rng, shape, 1.0, 0.0);
        let fused = values(Flex::fused_gelu_backward(x.clone(), grad.clone()));
        let reference = values(composed_gelu_backward::<Flex>(x, grad));
        assert_close(
            &format!("gelu backward {shape:?}"),
            &fused,
            &reference,
            1e-6,
            1e-5,
        );
    }
}
