//! The fused operations composed of a backend's own tensor ops: the default bodies of
//! [`FusedOps`](crate::FusedOps), and the fallback of backends that override them.

use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvTransposeOptions, FloatTensor};
use burn::tensor::{Shape, TensorMetadata};

/// Index of the last axis of `x`, which must have rank ≥ 1.
fn last_axis<B: Backend>(x: &FloatTensor<B>, op: &str) -> usize {
    let rank = x.shape().num_dims();
    assert!(rank >= 1, "{op}: the input must have rank ≥ 1");
    rank - 1
}

/// The shape `[1, …, 1, c]` of rank `rank`, to broadcast a per-channel vector.
fn channel_shape(rank: usize, c: usize) -> Shape {
    let mut dims = vec![1; rank];
    dims[rank - 1] = c;
    Shape::from(dims)
}

/// `softmax(x * scale + bias)` over the last axis with the backend's own ops (its `softmax`).
pub fn composed_softmax<B: Backend>(
    x: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    scale: f32,
) -> FloatTensor<B> {
    let last = last_axis::<B>(&x, "fused_softmax");
    let z = if scale == 1.0 {
        x
    } else {
        B::float_mul_scalar(x, scale.into())
    };
    let z = match bias {
        Some(bias) => B::float_add(z, bias),
        None => z,
    };
    B::softmax(z, last)
}

/// `scale * y * (grad_y - sum_last(grad_y * y))`: the gradient of a softmax's input (times
/// `scale`) from its output `y` and the output's gradient, with the backend's own ops.
pub fn composed_softmax_backward<B: Backend>(
    y: FloatTensor<B>,
    grad_y: FloatTensor<B>,
    scale: f32,
) -> FloatTensor<B> {
    let last = last_axis::<B>(&y, "fused_softmax_backward");
    let dot = B::float_sum_dim(B::float_mul(grad_y.clone(), y.clone()), last);
    let dz = B::float_mul(y, B::float_sub(grad_y, dot));
    if scale == 1.0 {
        dz
    } else {
        B::float_mul_scalar(dz, scale.into())
    }
}

/// LayerNorm over the last axis (biased variance) with the backend's own `layer_norm`.
pub fn composed_layer_norm<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: Option<FloatTensor<B>>,
    eps: f64,
) -> FloatTensor<B> {
    last_axis::<B>(&x, "fused_layer_norm");
    B::layer_norm(x, gamma, beta, eps)
}

/// The gradients `(x, gamma, beta)` of a LayerNorm over the last axis from its input `x`, its
/// `gamma` (`[C]`) and the gradient of its output, with the backend's own ops. The gamma and
/// beta gradients (`[C]`) are summed over all leading positions.
pub fn composed_layer_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad_y: FloatTensor<B>,
    eps: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let last = last_axis::<B>(&x, "fused_layer_norm_backward");
    let shape = x.shape();
    let c = shape[last];
    let rows = shape.num_elements() / c.max(1);

    let mean = B::float_mean_dim(x.clone(), last);
    let centered = B::float_sub(x, mean);
    let var = B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), last);
    let rstd = B::float_recip(B::float_sqrt(B::float_add_scalar(var, eps.into())));
    let xhat = B::float_mul(centered, rstd.clone());

    let gamma_b = B::float_reshape(gamma, channel_shape(last + 1, c));
    let dxhat = B::float_mul(grad_y.clone(), gamma_b);
    let a = B::float_mean_dim(dxhat.clone(), last);
    let b = B::float_mean_dim(B::float_mul(dxhat.clone(), xhat.clone()), last);
    let inner = B::float_sub(B::float_sub(dxhat, a), B::float_mul(xhat.clone(), b));
    let grad_x = B::float_mul(inner, rstd);

    let per_channel = |t: FloatTensor<B>| {
        let t = B::float_reshape(t, Shape::from([rows, c]));
        B::float_reshape(B::float_sum_dim(t, 0), Shape::from([c]))
    };
    let grad_gamma = per_channel(B::float_mul(grad_y.clone(), xhat));
    let grad_beta = per_channel(grad_y);
    (grad_x, grad_gamma, grad_beta)
}

/// Exact GELU with the backend's own `gelu`.
pub fn composed_gelu<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::gelu(x)
}

/// The gradient of GELU's input with the backend's own `gelu_backward` (burn's default body,
/// used by backends that do not override it, is the derivative of the tanh approximation).
pub fn composed_gelu_backward<B: Backend>(
    x: FloatTensor<B>,
    grad_y: FloatTensor<B>,
) -> FloatTensor<B> {
    B::gelu_backward(x, grad_y)
}

/// The gradient `[O]` of a conv2d's bias from the gradient of its output `[N, O, OH, OW]`: the
/// sum over batch, height and width, with the backend's own ops.
pub fn composed_conv2d_bias_backward<B: Backend>(grad_y: FloatTensor<B>) -> FloatTensor<B> {
    let shape = grad_y.shape();
    assert_eq!(
        shape.num_dims(),
        4,
        "fused_conv2d_bias_backward: the output gradient must have rank 4"
    );
    let channels = shape[1];
    let per_batch = B::float_sum_dim(grad_y, 0);
    let rows = B::float_reshape(per_batch, Shape::from([channels, shape[2] * shape[3]]));
    B::float_reshape(B::float_sum_dim(rows, 1), Shape::from([channels]))
}

/// The options of a transposed convolution with a 2×2 kernel and stride 2, no padding, no output
/// padding, dilation 1 and one group: those of
/// [`FusedOps::fused_conv_transpose2d_2x2`](crate::FusedOps::fused_conv_transpose2d_2x2), for
/// burn's `conv_transpose2d` and its backward.
pub fn conv_transpose2d_2x2_options() -> ConvTransposeOptions<2> {
    ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1)
}
