//! Gradients under `Autodiff<Flex>` through the fused ops: against the same loss through burn's
//! composed ops, and against finite differences.

use burn::tensor::{Tensor, TensorData, activation};
use burn_flex::Flex;
use echoone_kernels::tensor as fused;

use crate::common::{Ad, Rng, assert_close, tensor_values};

/// A leaf tensor on `Ad` holding `values`, tracked when `grad` is true.
fn leaf<const D: usize>(values: &[f32], shape: [usize; D], grad: bool) -> Tensor<Ad, D> {
    let t = Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default());
    if grad { t.require_grad() } else { t }
}

/// The gradient of `t` as f32 values.
fn grad_of<const D: usize>(
    t: &Tensor<Ad, D>,
    grads: &<Ad as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Vec<f32> {
    tensor_values(t.grad(grads).expect("a gradient"))
}

/// The reference LayerNorm of burn's tensor ops.
fn layer_norm_reference<const D: usize>(
    x: Tensor<Ad, D>,
    gamma: Tensor<Ad, 1>,
    beta: Option<Tensor<Ad, 1>>,
    eps: f64,
) -> Tensor<Ad, D> {
    let mean = x.clone().mean_dim(D - 1);
    let centered = x - mean;
    let var = centered.clone().powi_scalar(2).mean_dim(D - 1);
    let y = centered / var.add_scalar(eps).sqrt() * gamma.unsqueeze::<D>();
    match beta {
        Some(beta) => y + beta.unsqueeze::<D>(),
        None => y,
    }
}

#[test]
fn softmax_gradients_match_the_composed_ops() {
    let mut rng = Rng::new(21);
    let shape = [2, 3, 37, 33];
    let n: usize = shape.iter().product();
    let (xv, bv, wv) = (
        rng.vec(n, 3.0, 0.0),
        rng.vec(n, 1.0, 0.0),
        rng.vec(n, 1.0, 0.0),
    );
    for (x_grad, bias_grad, scale) in [
        (true, true, 0.7),
        (true, true, 1.0),
        (true, false, 0.7),
        (false, true, 0.7),
    ] {
        let w = leaf(&wv, shape, false);

        let x = leaf(&xv, shape, x_grad);
        let bias = leaf(&bv, shape, bias_grad);
        let y = fused::softmax(x.clone(), Some(bias.clone()), scale);
        let grads = (y * w.clone()).sum().backward();

        let xr = leaf(&xv, shape, x_grad);
        let biasr = leaf(&bv, shape, bias_grad);
        let yr = activation::softmax(xr.clone() * scale + biasr.clone(), 3);
        let grads_r = (yr * w).sum().backward();

        let what = format!("softmax grads (x {x_grad}, bias {bias_grad}, scale {scale})");
        if x_grad {
            assert_close(
                &format!("{what} x"),
                &grad_of(&x, &grads),
                &grad_of(&xr, &grads_r),
                1e-5,
                1e-4,
            );
        } else {
            assert!(
                x.grad(&grads).is_none(),
                "{what}: untracked x got a gradient"
            );
        }
        if bias_grad {
            assert_close(
                &format!("{what} bias"),
                &grad_of(&bias, &grads),
                &grad_of(&biasr, &grads_r),
                1e-5,
                1e-4,
            );
        }
    }
}

#[test]
fn softmax_without_bias_gradients_match_the_composed_ops() {
    let mut rng = Rng::new(22);
    let shape = [3, 5, 196];
    let n: usize = shape.iter().product();
    let (xv, wv) = (rng.vec(n, 3.0, 0.0), rng.vec(n, 1.0, 0.0));
    let w = leaf(&wv, shape, false);
    let x = leaf(&xv, shape, true);
    let grads = (fused::softmax(x.clone(), None, 0.25) * w.clone())
        .sum()
        .backward();
    let xr = leaf(&xv, shape, true);
    let grads_r = (activation::softmax(xr.clone() * 0.25, 2) * w)
        .sum()
        .backward();
    assert_close(
        "softmax no bias x",
        &grad_of(&x, &grads),
        &grad_of(&xr, &grads_r),
        1e-5,
        1e-4,
    );
}

#[test]
fn layer_norm_gradients_match_the_composed_ops() {
    let mut rng = Rng::new(23);
    let shape = [2, 19, 96];
    let c = shape[2];
    let n: usize = shape.iter().product();
    let (xv, wv) = (rng.vec(n, 2.0, 0.5), rng.vec(n, 1.0, 0.0));
    let (gv, bv) = (rng.vec(c, 0.5, 1.0), rng.vec(c, 0.5, 0.0));
    for with_beta in [true, false] {
        let w = leaf(&wv, shape, false);

        let x = leaf(&xv, shape, true);
        let gamma = leaf(&gv, [c], true);
        let beta = with_beta.then(|| leaf(&bv, [c], true));
        let y = fused::layer_norm(x.clone(), gamma.clone(), beta.clone(), 1e-6);
        let grads = (y * w.clone()).sum().backward();

        let xr = leaf(&xv, shape, true);
        let gammar = leaf(&gv, [c], true);
        let betar = with_beta.then(|| leaf(&bv, [c], true));
        let yr = layer_norm_reference(xr.clone(), gammar.clone(), betar.clone(), 1e-6);
        let grads_r = (yr * w).sum().backward();

        let what = format!("layer norm grads (beta {with_beta})");
        assert_close(
            &format!("{what} x"),
            &grad_of(&x, &grads),
            &grad_of(&xr, &grads_r),
            1e-5,
            1e-4,
        );
        assert_close(
            &format!("{what} gamma"),
            &grad_of(&gamma, &grads),
            &grad_of(&gammar, &grads_r),
            1e-5,
            1e-4,
        );
        if let (Some(beta), Some(betar)) = (beta, betar) {
            assert_close(
                &format!("{what} beta"),
                &grad_of(&beta, &grads),
                &grad_of(&betar, &grads_r),
                1e-5,
                1e-4,
            );
        }
    }
}

#[test]
fn gelu_gradients_match_the_composed_ops() {
    let mut rng = Rng::new(24);
    let shape = [4, 33, 77];
    let n: usize = shape.iter().product();
    let (xv, wv) = (rng.vec(n, 5.0, 0.0), rng.vec(n, 1.0, 0.0));
    let w = leaf(&wv, shape, false);
    let x = leaf(&xv, shape, true);
    let grads = (fused::gelu(x.clone()) * w.clone()).sum().backward();
    let xr = leaf(&xv, shape, true);
    let grads_r = (activation::gelu(xr.clone()) * w).sum().backward();
    assert_close(
        "gelu x",
        &grad_of(&x, &grads),
        &grad_of(&xr, &grads_r),
        1e-5,
        1e-5,
    );
}

#[test]
fn fused_ops_chain_and_untracked_inputs_run_the_forward_only() {
    let mut rng = Rng::new(25);
    let shape = [3, 8, 16];
    let n: usize = shape.iter().product();
    let (xv, gv) = (rng.vec(n, 2.0, 0.0), rng.vec(16, 0.5, 1.0));
    // Untracked: the same values as the inner backend.
    let y = fused::gelu(fused::layer_norm(
        leaf(&xv, shape, false),
        leaf(&gv, [16], false),
        None,
        1e-5,
    ));
    let x_inner: Tensor<Flex, 3> =
        Tensor::from_data(TensorData::new(xv.clone(), shape), &Default::default());
    let g_inner: Tensor<Flex, 1> =
        Tensor::from_data(TensorData::new(gv.clone(), [16]), &Default::default());
    let y_inner = fused::gelu(fused::layer_norm(x_inner, g_inner, None, 1e-5));
    assert_eq!(tensor_values(y), tensor_values(y_inner));
    // Chained and tracked: softmax(gelu(layer_norm(x))) reaches x.
    let x = leaf(&xv, shape, true);
    let y = fused::softmax(
        fused::gelu(fused::layer_norm(
            x.clone(),
            leaf(&gv, [16], false),
            None,
            1e-5,
        )),
        None,
        1.0,
    );
    let grads = (y.clone() * y).sum().backward();
    let gx = grad_of(&x, &grads);
    assert!(gx.iter().all(|v| v.is_finite()) && gx.iter().any(|v| *v != 0.0));
}

/// `sum(f(x) * w)` in f64 from the f32 output of `f` on Flex.
fn loss(
    f: &dyn Fn(Tensor<Flex, 2>) -> Tensor<Flex, 2>,
    xv: &[f32],
    shape: [usize; 2],
    w: &[f32],
) -> f64 {
    let x = Tensor::from_data(TensorData::new(xv.to_vec(), shape), &Default::default());
    tensor_values(f(x))
        .iter()
        .zip(w)
        .map(|(y, w)| f64::from(*y) * f64::from(*w))
        .sum()
}

/// Checks the autodiff gradient `grad` of `sum(f(x) * w)` against central differences.
fn check_finite_differences(
    what: &str,
    f: &dyn Fn(Tensor<Flex, 2>) -> Tensor<Flex, 2>,
    xv: &[f32],
    shape: [usize; 2],
    w: &[f32],
    grad: &[f32],
    step: f32,
) {
    for i in 0..xv.len() {
        let (mut plus, mut minus) = (xv.to_vec(), xv.to_vec());
        plus[i] += step;
        minus[i] -= step;
        let numeric = (loss(f, &plus, shape, w) - loss(f, &minus, shape, w))
            / (f64::from(plus[i]) - f64::from(minus[i]));
        let analytic = f64::from(grad[i]);
        assert!(
            (numeric - analytic).abs() <= 2e-3 * analytic.abs() + 2e-4,
            "{what}: element {i}: autodiff {analytic} vs finite difference {numeric}"
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng::new(26);
    let shape = [3, 6];
    let (xv, wv, bv) = (
        rng.vec(18, 2.0, 0.0),
        rng.vec(18, 1.0, 0.0),
        rng.vec(18, 1.0, 0.0),
    );
    let (gv, betav) = (rng.vec(6, 0.5, 1.0), rng.vec(6, 0.5, 0.0));
    let w = leaf(&wv, shape, false);

    // Softmax: the gradient of x.
    let bias_flex: Tensor<Flex, 2> =
        Tensor::from_data(TensorData::new(bv.clone(), shape), &Default::default());
    let softmax_f = move |x: Tensor<Flex, 2>| fused::softmax(x, Some(bias_flex.clone()), 0.8);
    let x = leaf(&xv, shape, true);
    let grads = (fused::softmax(x.clone(), Some(leaf(&bv, shape, false)), 0.8) * w.clone())
        .sum()
        .backward();
    check_finite_differences(
        "softmax",
        &softmax_f,
        &xv,
        shape,
        &wv,
        &grad_of(&x, &grads),
        1e-2,
    );

    // LayerNorm: the gradient of x.
    let gamma_flex: Tensor<Flex, 1> =
        Tensor::from_data(TensorData::new(gv.clone(), [6]), &Default::default());
    let beta_flex: Tensor<Flex, 1> =
        Tensor::from_data(TensorData::new(betav.clone(), [6]), &Default::default());
    let ln_f = move |x: Tensor<Flex, 2>| {
        fused::layer_norm(x, gamma_flex.clone(), Some(beta_flex.clone()), 1e-5)
    };
    let x = leaf(&xv, shape, true);
    let gamma = leaf(&gv, [6], true);
    let grads = (fused::layer_norm(
        x.clone(),
        gamma.clone(),
        Some(leaf(&betav, [6], false)),
        1e-5,
    ) * w.clone())
    .sum()
    .backward();
    check_finite_differences(
        "layer norm",
        &ln_f,
        &xv,
        shape,
        &wv,
        &grad_of(&x, &grads),
        1e-2,
    );

    // LayerNorm: the gradient of gamma, as x -> layer_norm(x0, x) on a [1, 6] "gamma".
    let x0: Tensor<Flex, 2> =
        Tensor::from_data(TensorData::new(xv.clone(), shape), &Default::default());
    let ln_gamma_f = move |g: Tensor<Flex, 2>| {
        fused::layer_norm(x0.clone(), g.reshape([6]), None, 1e-5).sum_dim(0)
    };
    let w_rows: Vec<f32> = vec![1.0; 6];
    let grads = fused::layer_norm(leaf(&xv, shape, false), gamma.clone(), None, 1e-5)
        .sum()
        .backward();
    check_finite_differences(
        "layer norm gamma",
        &ln_gamma_f,
        &gv,
        [1, 6],
        &w_rows,
        &grad_of(&gamma, &grads),
        1e-2,
    );

    // GELU: the gradient of x.
    let x = leaf(&xv, shape, true);
    let grads = (fused::gelu(x.clone()) * w).sum().backward();
    check_finite_differences(
        "gelu",
        &|x| fused::gelu(x),
        &xv,
        shape,
        &wv,
        &grad_of(&x, &grads),
        1e-2,
    );
}

#[test]
fn a_broadcast_bias_gets_its_gradient_summed_back_to_its_shape() {
    let mut rng = Rng::new(27);
    let (shape, bias_shape) = ([2, 3, 5, 7], [1, 3, 5, 7]);
    let (xv, bv, wv) = (
        rng.vec(210, 3.0, 0.0),
        rng.vec(105, 1.0, 0.0),
        rng.vec(210, 1.0, 0.0),
    );
    let w = leaf(&wv, shape, false);
    let (x, bias) = (leaf(&xv, shape, true), leaf(&bv, bias_shape, true));
    let grads = (fused::softmax(x.clone(), Some(bias.clone()), 0.5) * w.clone())
        .sum()
        .backward();
    let (xr, biasr) = (leaf(&xv, shape, true), leaf(&bv, bias_shape, true));
    let grads_r = (activation::softmax(xr.clone() * 0.5 + biasr.clone(), 3) * w)
        .sum()
        .backward();
    assert_close(
        "broadcast x",
        &grad_of(&x, &grads),
        &grad_of(&xr, &grads_r),
        1e-5,
        1e-4,
    );
    let gb = grad_of(&bias, &grads);
    assert_eq!(gb.len(), 105, "the bias gradient has the bias's shape");
    assert_close(
        "broadcast bias",
        &gb,
        &grad_of(&biasr, &grads_r),
        1e-5,
        1e-4,
    );
}
