//! The fused ops give bit-identical outputs and gradients from run to run on large inputs
//! (many parallel chunks).

use burn::tensor::{Tensor, TensorData};
use echoone_kernels::tensor as fused;

use crate::common::{Ad, Rng, assert_bits_eq, tensor_values};

/// Outputs and gradients of softmax (with bias), LayerNorm (with beta) and GELU on fixed inputs.
fn run_once(xv: &[f32], bv: &[f32], gv: &[f32], betav: &[f32], shape: [usize; 3]) -> Vec<Vec<f32>> {
    let device = Default::default();
    let c = shape[2];
    let leaf3 = |v: &[f32]| {
        Tensor::<Ad, 3>::from_data(TensorData::new(v.to_vec(), shape), &device).require_grad()
    };
    let leaf1 = |v: &[f32]| {
        Tensor::<Ad, 1>::from_data(TensorData::new(v.to_vec(), [c]), &device).require_grad()
    };
    let (x, bias, gamma, beta) = (leaf3(xv), leaf3(bv), leaf1(gv), leaf1(betav));
    let s = fused::softmax(x.clone(), Some(bias.clone()), 0.3);
    let l = fused::layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-6);
    let g = fused::gelu(x.clone());
    // A loss that gives every element a different output gradient.
    let loss = (s.clone() * l.clone()).sum()
        + (g.clone() * x.clone().sin()).sum()
        + (l.clone() * l.clone()).sum();
    let grads = loss.backward();
    let mut out = vec![
        tensor_values(s.inner()),
        tensor_values(l.inner()),
        tensor_values(g.inner()),
    ];
    for grad in [x.grad(&grads), bias.grad(&grads)] {
        out.push(tensor_values(grad.expect("a gradient")));
    }
    for grad in [gamma.grad(&grads), beta.grad(&grads)] {
        out.push(tensor_values(grad.expect("a gradient")));
    }
    out
}

#[test]
fn outputs_and_gradients_are_bit_identical_across_runs() {
    let mut rng = Rng::new(31);
    let shape = [8, 256, 768];
    let n: usize = shape.iter().product();
    let (xv, bv) = (rng.vec(n, 3.0, 0.0), rng.vec(n, 1.0, 0.0));
    let (gv, betav) = (rng.vec(768, 0.5, 1.0), rng.vec(768, 0.5, 0.0));
    let first = run_once(&xv, &bv, &gv, &betav, shape);
    let second = run_once(&xv, &bv, &gv, &betav, shape);
    let names = [
        "softmax",
        "layer norm",
        "gelu",
        "grad x",
        "grad bias",
        "grad gamma",
        "grad beta",
    ];
    for ((a, b), name) in first.iter().zip(&second).zip(names) {
        assert_bits_eq(name, a, b);
    }
}
