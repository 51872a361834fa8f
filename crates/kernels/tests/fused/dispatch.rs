//! `dispatch`: the same values and gradients whichever path a backend takes. burn-flex under
//! autodiff takes the fused nodes; under another checkpointing strategy it is a backend the
//! dispatch does not know, so the same ops run composed, as on any other backend.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn_flex::Flex;
use echoone_kernels::dispatch;

use crate::common::{Rng, assert_close, tensor_values};

type Fused = Autodiff<Flex>;
type Other = Autodiff<Flex, BalancedCheckpointing>;

/// A tracked tensor of `shape` with seeded values.
fn input<B: Backend, const D: usize>(seed: u64, shape: [usize; D]) -> Tensor<B, D> {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    Tensor::from_data(
        TensorData::new(rng.vec(n, 1.0, 0.0), shape),
        &Default::default(),
    )
}

/// SAM's attention block in miniature: LayerNorm, attention with a bias, GELU; the output and
/// the gradients of every input under a fixed random weighting of the output.
fn block<B: burn::tensor::backend::AutodiffBackend>() -> Vec<Vec<f32>> {
    let [b, h, n, d] = [2, 3, 37, 8];
    let x = input::<B, 4>(1, [b, h, n, d]).require_grad();
    let gamma = input::<B, 1>(2, [d]).require_grad();
    let beta = input::<B, 1>(3, [d]).require_grad();
    let k = input::<B, 4>(4, [b, h, n, d]).require_grad();
    let v = input::<B, 4>(5, [b, h, n, d]).require_grad();
    let bias = input::<B, 4>(6, [b, h, n, n]).require_grad();
    let weights = input::<B, 4>(7, [b, h, n, d]);
    let q = dispatch::layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-6);
    let out = dispatch::gelu(dispatch::attention(
        q,
        k.clone(),
        v.clone(),
        Some(bias.clone()),
        0.35,
    ));
    let grads = (out.clone() * weights).sum().backward();
    let grad = |t: &Tensor<B, 4>| tensor_values(t.grad(&grads).expect("a gradient"));
    let grad1 = |t: &Tensor<B, 1>| tensor_values(t.grad(&grads).expect("a gradient"));
    vec![
        tensor_values(out),
        grad(&x),
        grad1(&gamma),
        grad1(&beta),
        grad(&k),
        grad(&v),
        grad(&bias),
    ]
}

#[test]
fn fused_and_composed_paths_agree_in_values_and_gradients() {
    let fused = block::<Fused>();
    let other = block::<Other>();
    let names = ["output", "x", "gamma", "beta", "k", "v", "bias"];
    for ((name, a), b) in names.iter().zip(&fused).zip(&other) {
        assert_close(name, a, b, 1e-5, 1e-4);
    }
}

#[test]
fn softmax_on_the_inner_backend_matches_burns() {
    let x = input::<Flex, 3>(8, [3, 5, 33]);
    let bias = input::<Flex, 3>(9, [3, 5, 33]);
    let fused = dispatch::softmax(x.clone(), Some(bias.clone()), 0.5);
    let composed = burn::tensor::activation::softmax(x * 0.5 + bias, 2);
    assert_close(
        "softmax",
        &tensor_values(fused),
        &tensor_values(composed),
        1e-6,
        1e-5,
    );
}

/// Every dispatched op without autodiff: attention with and without a bias at a short and a
/// long sequence (burn-flex picks its naive or its flash kernel by length), LayerNorm, GELU.
fn inference<B: Backend>() -> Vec<Vec<f32>> {
    let mut outs = Vec::new();
    for (n, m, seed) in [(37, 37, 10), (700, 700, 20), (7, 300, 40), (300, 7, 50)] {
        let [b, h, d] = [2, 3, 8];
        let q = input::<B, 4>(seed, [b, h, n, d]);
        let k = input::<B, 4>(seed + 1, [b, h, m, d]);
        let v = input::<B, 4>(seed + 2, [b, h, m, d + 3]);
        let bias = input::<B, 4>(seed + 3, [b, h, n, m]);
        outs.push(tensor_values(dispatch::attention(
            q.clone(),
            k.clone(),
            v.clone(),
            Some(bias),
            0.35,
        )));
        outs.push(tensor_values(dispatch::attention(q, k, v, None, 0.35)));
    }
    let x = input::<B, 3>(30, [4, 9, 24]);
    let gamma = input::<B, 1>(31, [24]);
    let beta = input::<B, 1>(32, [24]);
    outs.push(tensor_values(dispatch::layer_norm(
        x.clone(),
        gamma,
        Some(beta),
        1e-6,
    )));
    outs.push(tensor_values(dispatch::gelu(x)));
    outs
}

#[test]
fn inference_on_the_inner_backend_matches_the_composed_ops() {
    let fused = inference::<Flex>();
    let other = inference::<Other>();
    let names = [
        "attention 37 with bias",
        "attention 37",
        "attention 700 with bias",
        "attention 700",
        "attention 7 to 300 with bias",
        "attention 7 to 300",
        "attention 300 to 7 with bias",
        "attention 300 to 7",
        "layer_norm",
        "gelu",
    ];
    for ((name, a), b) in names.iter().zip(&fused).zip(&other) {
        assert_close(name, a, b, 1e-5, 1e-4);
    }
}

/// A permuted view made contiguous and reshaped, as SAM's window partition does: the values and
/// the input's gradient on each path.
fn permuted<B: burn::tensor::backend::AutodiffBackend>() -> Vec<Vec<f32>> {
    let x = input::<B, 4>(40, [3, 40, 36, 24]).require_grad();
    let weights = input::<B, 2>(41, [36 * 3, 40 * 24]);
    let out = dispatch::contiguous(x.clone().permute([2, 0, 1, 3])).reshape([36 * 3, 40 * 24]);
    let grads = (out.clone() * weights).sum().backward();
    vec![
        tensor_values(out),
        tensor_values(x.grad(&grads).expect("a gradient")),
    ]
}

#[test]
fn contiguous_copies_values_and_passes_gradients_through() {
    let fused = permuted::<Fused>();
    let other = permuted::<Other>();
    assert_eq!(fused, other, "values and gradients, bit for bit");
    let x = input::<Flex, 3>(42, [5, 70, 130]);
    let view = x.clone().swap_dims(0, 2).narrow(1, 3, 60);
    assert_eq!(
        tensor_values(dispatch::contiguous(view.clone())),
        tensor_values(view),
    );
}
