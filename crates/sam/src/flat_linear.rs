//! A `Linear` on the last axis of a tensor of any rank, run as one 2-D product.
//!
//! burn's `Linear::forward` on `[B, H, W, C]` tokens broadcasts the weight to `[1, 1, C, O]`
//! and runs a batched matmul: `B * H` small products forward, and a weight gradient that first
//! builds a `[B, H, C, O]` tensor (for ViT-B's MLP at 32x32 tokens and batch 4, 4 * 32 * 768 *
//! 3072 floats = 1.1 GiB) and then sums it. Folding the leading axes into the rows makes the
//! forward one `[N, C] x [C, O]` product and the weight gradient one `[C, N] x [N, O]` product,
//! with the same values (the sums run in another order: differences of float rounding only).

use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// `layer` applied to the last axis of `x` (`[..., C]` -> `[..., O]`) as one 2-D product.
pub fn linear_rows<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    if D <= 2 {
        return layer.forward(x);
    }
    let dims = x.dims();
    let channels = dims[D - 1];
    let rows = dims[..D - 1].iter().product::<usize>();
    let out = layer.forward(x.reshape([rows, channels]));
    let mut shape = dims;
    shape[D - 1] = out.dims()[1];
    out.reshape(shape)
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;
    use burn::tensor::{Distribution, Tensor};
    use burn_flex::Flex;

    use super::linear_rows;

    type Ad = burn_autodiff::Autodiff<Flex>;

    #[test]
    fn rows_give_burns_values_and_gradients_on_4d_tokens() {
        let device = Default::default();
        let layer = LinearConfig::new(6, 5).init::<Ad>(&device);
        let x =
            Tensor::<Ad, 4>::random([2, 3, 4, 6], Distribution::Default, &device).require_grad();
        let ours = linear_rows(&layer, x.clone());
        let burns = layer.forward(x.clone());
        assert_eq!(ours.dims(), [2, 3, 4, 5]);
        let diff = (ours.clone() - burns.clone()).abs().max().into_scalar();
        assert!(diff < 1e-6, "forward differs by {diff}");
        let g_ours = ours.sum().backward();
        let g_burn = burns.sum().backward();
        let dw = (layer.weight.grad(&g_ours).unwrap() - layer.weight.grad(&g_burn).unwrap())
            .abs()
            .max()
            .into_scalar();
        let dx = (x.grad(&g_ours).unwrap() - x.grad(&g_burn).unwrap())
            .abs()
            .max()
            .into_scalar();
        assert!(
            dw < 1e-5 && dx < 1e-6,
            "gradients differ: weight {dw}, input {dx}"
        );
    }
}
