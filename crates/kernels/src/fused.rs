//! The backend extension: fused softmax, LayerNorm, GELU, conv2d and the 2×2 stride-2
//! transposed convolution with their own backward, and a contiguous copy.

use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, FloatTensor};

use crate::composed::{
    composed_conv2d_bias_backward, composed_gelu, composed_gelu_backward, composed_layer_norm,
    composed_layer_norm_backward, composed_softmax, composed_softmax_backward,
    conv_transpose2d_2x2_options,
};

/// Fused softmax, LayerNorm, GELU, conv2d and the 2×2 stride-2 transposed convolution (forward
/// and backward) on a backend's float primitives.
///
/// Every method has a default body composed of the backend's own ops (the `composed_*`
/// functions), so `impl FusedOps for MyBackend {}` is enough for any backend, under autodiff
/// too. `burn_flex::Flex` overrides them with rayon-parallel kernels, and
/// `burn_autodiff::Autodiff<B>` records one graph node per fused op whose backward calls the
/// inner backend's `*_backward` method.
pub trait FusedOps: Backend {
    /// `softmax(x * scale + bias)` over the last axis of `x` (rank ≥ 1); `bias`, when given,
    /// has the shape of `x` (a bias that only broadcasts to it takes the composed path).
    fn fused_softmax(
        x: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        scale: f32,
    ) -> FloatTensor<Self> {
        composed_softmax::<Self>(x, bias, scale)
    }

    /// The gradient of a softmax's input from its output `y` and the output's gradient:
    /// `y * (grad_y - sum_last(grad_y * y, keepdim))`.
    fn fused_softmax_backward(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::fused_softmax_backward_scaled(y, grad_y, 1.0)
    }

    /// [`fused_softmax_backward`](Self::fused_softmax_backward) times `scale` in the same pass:
    /// the gradient of `x` in `softmax(x * scale + bias)`.
    fn fused_softmax_backward_scaled(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        composed_softmax_backward::<Self>(y, grad_y, scale)
    }

    /// LayerNorm over the last axis of `x` (biased variance, as PyTorch's `nn.LayerNorm`):
    /// `(x - mean) / sqrt(var + eps) * gamma + beta`, `gamma` and `beta` of shape `[C]`.
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        composed_layer_norm::<Self>(x, gamma, beta, eps)
    }

    /// The gradients `(x, gamma, beta)` of [`fused_layer_norm`](Self::fused_layer_norm) from
    /// its input, its `gamma` and the output's gradient; those of gamma and beta (`[C]`) are
    /// summed over all leading positions.
    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed_layer_norm_backward::<Self>(x, gamma, grad_y, eps)
    }

    /// Exact (erf) GELU, as PyTorch's default `nn.GELU()`.
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_gelu::<Self>(x)
    }

    /// The gradient of GELU's input `x` from the gradient of its output.
    fn fused_gelu_backward(x: FloatTensor<Self>, grad_y: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_gelu_backward::<Self>(x, grad_y)
    }

    /// 2-D convolution: `x: [N, C, H, W]`, `weight: [O, C / groups, KH, KW]`, `bias: [O]`;
    /// burn's `conv2d` (symmetric padding, as [`ConvOptions`] holds it).
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, bias, options)
    }

    /// The gradients `(x, weight)` of [`fused_conv2d`](Self::fused_conv2d) from its input, its
    /// weight and the output's gradient `grad_y: [N, O, OH, OW]`.
    fn fused_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let grad_x = Self::fused_conv2d_x_backward(
            x.clone(),
            weight.clone(),
            grad_y.clone(),
            options.clone(),
        );
        let grad_weight = Self::fused_conv2d_weight_backward(x, weight, grad_y, options);
        (grad_x, grad_weight)
    }

    /// The gradient of [`fused_conv2d`](Self::fused_conv2d)'s input alone (its weight frozen).
    fn fused_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, grad_y, options)
    }

    /// The gradient of [`fused_conv2d`](Self::fused_conv2d)'s weight alone (its input
    /// untracked, as an image is).
    fn fused_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad_y, options)
    }

    /// The gradient `[O]` of [`fused_conv2d`](Self::fused_conv2d)'s bias: `grad_y` summed over
    /// batch, height and width.
    fn fused_conv2d_bias_backward(grad_y: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_conv2d_bias_backward::<Self>(grad_y)
    }

    /// Transposed 2-D convolution with a 2×2 kernel and stride 2 (no padding, no output padding,
    /// dilation 1, one group): `x: [N, Ci, H, W]`, `weight: [Ci, Co, 2, 2]` (burn's and PyTorch's
    /// `ConvTranspose2d` layout), `bias: [Co]`, output `[N, Co, 2H, 2W]` with
    /// `y[n, o, 2i + a, 2j + b] = Σ_c x[n, c, i, j] · weight[c, o, a, b] + bias[o]`. By default
    /// burn's `conv_transpose2d` with [`conv_transpose2d_2x2_options`].
    fn fused_conv_transpose2d_2x2(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d(x, weight, bias, conv_transpose2d_2x2_options())
    }

    /// The gradients `(x, weight)` of
    /// [`fused_conv_transpose2d_2x2`](Self::fused_conv_transpose2d_2x2) from its input, its
    /// weight and the output's gradient `grad_y: [N, Co, 2H, 2W]`. The bias gradient is
    /// [`fused_conv2d_bias_backward`](Self::fused_conv2d_bias_backward) of `grad_y` (the same
    /// sum over batch, height and width).
    fn fused_conv_transpose2d_2x2_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let grad_x = Self::fused_conv_transpose2d_2x2_x_backward(weight.clone(), grad_y.clone());
        let grad_weight = Self::fused_conv_transpose2d_2x2_weight_backward(x, weight, grad_y);
        (grad_x, grad_weight)
    }

    /// The gradient of [`fused_conv_transpose2d_2x2`](Self::fused_conv_transpose2d_2x2)'s input
    /// alone (its weight frozen), from its weight and the output's gradient.
    fn fused_conv_transpose2d_2x2_x_backward(
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d_x_backward(weight, grad_y, conv_transpose2d_2x2_options())
    }

    /// The gradient of [`fused_conv_transpose2d_2x2`](Self::fused_conv_transpose2d_2x2)'s weight
    /// alone (its input untracked).
    fn fused_conv_transpose2d_2x2_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d_weight_backward(x, weight, grad_y, conv_transpose2d_2x2_options())
    }

    /// `x` unchanged in value, laid out contiguously (a permuted or strided view copied), so
    /// that a reshape after it needs no copy. By default `x` as it is: backends copy on reshape
    /// where they must.
    fn fused_contiguous(x: FloatTensor<Self>) -> FloatTensor<Self> {
        x
    }
}
