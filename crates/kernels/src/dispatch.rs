//! The fused ops for model code generic over any backend: the fused kernels where the backend is
//! one that has them (burn-flex, alone or under burn-autodiff), burn's own ops everywhere else.
//!
//! Why not a `B: FusedOps` bound: it would spread to every generic signature that reaches a
//! forward pass (SAM, LFFA, the model, training, inference and every user's code), and every
//! backend a user brings would need an impl that only we can write (the orphan rule). burn has
//! no specialisation, so the choice is made at run time on the backend's type: one `TypeId`
//! comparison per call, after which the tensors are moved to the concrete backend they already
//! are (no copy) and back.
//!
//! Backends covered: `burn_flex::Flex` and `burn_autodiff::Autodiff<Flex>` (burn's default
//! checkpointing strategy). Any other backend, including burn-flex under another checkpointing
//! strategy, runs burn's ops exactly as before this crate existed.

use std::any::{Any, TypeId};

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::module;
use burn::tensor::ops::{AttentionModuleOptions, ConvOptions};
use burn::tensor::{Tensor, TensorPrimitive};
use burn_autodiff::Autodiff;
use burn_flex::Flex;

use crate::fused::FusedOps;
use crate::tensor as fused;

/// burn-flex under burn-autodiff, as EchoONE trains on the CPU.
type FlexAutodiff = Autodiff<Flex>;

/// Whether `B` and `C` are one type.
fn same<B: 'static, C: 'static>() -> bool {
    TypeId::of::<B>() == TypeId::of::<C>()
}

/// `value` as type `U`, which the caller checked is `T` (with [`same`]).
fn cast<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("a cast between one type and itself")
}

/// An op with a fused version on [`FusedOps`] backends and burn's composed one elsewhere.
trait Op<B: Backend> {
    /// What the op returns.
    type Output;
    /// The op on backend `C`, which is `B`: inputs and output move through [`cast`].
    fn fused<C: FusedOps>(self) -> Self::Output;
    /// The op with burn's own ops.
    fn composed(self) -> Self::Output;
}

/// Whether `B` is a backend with the fused kernels: burn-flex, alone or under autodiff.
fn has_fused_kernels<B: Backend>() -> bool {
    same::<B, Flex>() || same::<B, FlexAutodiff>()
}

/// Runs `op` fused when `B` has the kernels, composed otherwise.
fn run<B: Backend, O: Op<B>>(op: O) -> O::Output {
    if same::<B, Flex>() {
        op.fused::<Flex>()
    } else if same::<B, FlexAutodiff>() {
        op.fused::<FlexAutodiff>()
    } else {
        op.composed()
    }
}

/// The arguments of [`softmax`].
struct Softmax<B: Backend, const D: usize> {
    x: Tensor<B, D>,
    bias: Option<Tensor<B, D>>,
    scale: f32,
}

impl<B: Backend, const D: usize> Op<B> for Softmax<B, D> {
    type Output = Tensor<B, D>;

    fn fused<C: FusedOps>(self) -> Tensor<B, D> {
        cast(fused::softmax::<C, D>(
            cast(self.x),
            self.bias.map(cast),
            self.scale,
        ))
    }

    fn composed(self) -> Tensor<B, D> {
        let logits = self.x * self.scale;
        let logits = match self.bias {
            Some(bias) => logits + bias,
            None => logits,
        };
        activation::softmax(logits, D - 1)
    }
}

/// `softmax(x * scale + bias)` over the last axis; `bias`, when given, has `x`'s shape.
pub fn softmax<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    bias: Option<Tensor<B, D>>,
    scale: f32,
) -> Tensor<B, D> {
    run(Softmax { x, bias, scale })
}

/// The arguments of [`layer_norm`].
struct LayerNorm<B: Backend, const D: usize> {
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    eps: f64,
}

impl<B: Backend, const D: usize> Op<B> for LayerNorm<B, D> {
    type Output = Tensor<B, D>;

    fn fused<C: FusedOps>(self) -> Tensor<B, D> {
        cast(fused::layer_norm::<C, D>(
            cast(self.x),
            cast(self.gamma),
            self.beta.map(cast),
            self.eps,
        ))
    }

    fn composed(self) -> Tensor<B, D> {
        Tensor::from_primitive(TensorPrimitive::Float(B::layer_norm(
            self.x.into_primitive().tensor(),
            self.gamma.into_primitive().tensor(),
            self.beta.map(|b| b.into_primitive().tensor()),
            self.eps,
        )))
    }
}

/// LayerNorm over the last axis (biased variance, as PyTorch's `nn.LayerNorm`), `gamma` and
/// `beta` of shape `[C]`: what burn's `LayerNorm` module computes, given its parameters.
pub fn layer_norm<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    eps: f64,
) -> Tensor<B, D> {
    run(LayerNorm {
        x,
        gamma,
        beta,
        eps,
    })
}

/// The argument of [`gelu`].
struct Gelu<B: Backend, const D: usize>(Tensor<B, D>);

impl<B: Backend, const D: usize> Op<B> for Gelu<B, D> {
    type Output = Tensor<B, D>;

    fn fused<C: FusedOps>(self) -> Tensor<B, D> {
        cast(fused::gelu::<C, D>(cast(self.0)))
    }

    fn composed(self) -> Tensor<B, D> {
        activation::gelu(self.0)
    }
}

/// Exact (erf) GELU, as PyTorch's default `nn.GELU()` and burn's `activation::gelu`.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    run(Gelu(x))
}

/// What `linear.forward(x)` computes, `x: [.., in]`, with every leading axis folded into the
/// rows of one 2-D product, on any backend. burn's linear on a rank above 2 broadcasts the
/// weight into a batched product, and under autodiff its weight gradient is a batched product
/// `[.., in, out]` summed over the leading axes afterwards; on 2-D rows it is one product.
pub fn linear<B: Backend, const D: usize>(linear: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    if D <= 2 {
        return linear.forward(x);
    }
    let dims = x.dims();
    let rows = dims[..D - 1].iter().product();
    let y = linear.forward(x.reshape([rows, dims[D - 1]]));
    let mut out = dims;
    out[D - 1] = y.dims()[1];
    y.reshape(out)
}

/// The argument of [`contiguous`].
struct Contiguous<B: Backend, const D: usize>(Tensor<B, D>);

impl<B: Backend, const D: usize> Op<B> for Contiguous<B, D> {
    type Output = Tensor<B, D>;

    fn fused<C: FusedOps>(self) -> Tensor<B, D> {
        cast(fused::contiguous::<C, D>(cast(self.0)))
    }

    fn composed(self) -> Tensor<B, D> {
        self.0
    }
}

/// `x` laid out contiguously, for a permuted view about to be reshaped: on burn-flex (alone or
/// under autodiff) one parallel copy, so that the reshape after it copies nothing (burn-flex's
/// own copy is serial); elsewhere `x` as it is, the backend copying on reshape where it must.
pub fn contiguous<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    run(Contiguous(x))
}

/// The zero padding `(start, end)` burn's [`Conv2d`] gives an axis of `size` elements
/// (`PaddingConfig2d::Same` pads `(stride·(ceil(size / stride) − 1) + kernel − size)` in all,
/// the extra element at the end, and ignores dilation, as burn-nn does).
fn padding_pair(
    padding: &PaddingConfig2d,
    axis: usize,
    size: usize,
    kernel: usize,
    stride: usize,
) -> (usize, usize) {
    match padding {
        PaddingConfig2d::Valid => (0, 0),
        PaddingConfig2d::Explicit(top, left, bottom, right) => {
            if axis == 0 {
                (*top, *bottom)
            } else {
                (*left, *right)
            }
        }
        PaddingConfig2d::Same => {
            let out = size.div_ceil(stride.max(1));
            let total = match out {
                0 => 0,
                out => ((out - 1) * stride + kernel).saturating_sub(size),
            };
            (total / 2, total - total / 2)
        }
    }
}

/// The arguments of [`conv2d`]: the module, its input and its padding, symmetric.
struct Conv2dArgs<'a, B: Backend> {
    conv: &'a Conv2d<B>,
    x: Tensor<B, 4>,
    padding: [usize; 2],
}

impl<B: Backend> Op<B> for Conv2dArgs<'_, B> {
    type Output = Tensor<B, 4>;

    fn fused<C: FusedOps>(self) -> Tensor<B, 4> {
        let conv = self.conv;
        let options = ConvOptions::new(conv.stride, self.padding, conv.dilation, conv.groups);
        let primitive = |t: Tensor<C, 4>| t.into_primitive().tensor();
        let bias = conv.bias.as_ref().map(|b| {
            let b: Tensor<C, 1> = cast(b.val());
            b.into_primitive().tensor()
        });
        let y = C::fused_conv2d(
            primitive(cast(self.x)),
            primitive(cast(conv.weight.val())),
            bias,
            options,
        );
        cast(Tensor::<C, 4>::from_primitive(TensorPrimitive::Float(y)))
    }

    fn composed(self) -> Tensor<B, 4> {
        self.conv.forward(self.x)
    }
}

/// What `conv.forward(x)` computes, `x: [N, C, H, W]`: on burn-flex (alone or under autodiff)
/// as one fused node whose backward is im2col and parallel GEMMs, elsewhere (and for padding
/// that differs between the two sides of an axis, or channels that do not match the weight's,
/// which burn reports) `conv.forward(x)` itself.
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, channels, height, width] = x.dims();
    let [kh, kw] = conv.kernel_size;
    let [sh, sw] = conv.stride;
    let (top, bottom) = padding_pair(&conv.padding, 0, height, kh, sh);
    let (left, right) = padding_pair(&conv.padding, 1, width, kw, sw);
    let channels_match = conv.weight.shape()[1] * conv.groups == channels;
    if top != bottom || left != right || !channels_match {
        return conv.forward(x);
    }
    run(Conv2dArgs {
        conv,
        x,
        padding: [top, left],
    })
}

/// The arguments of [`conv_transpose2d`]: a 2×2 stride-2 module and its input.
struct ConvTranspose2x2Args<'a, B: Backend> {
    conv: &'a ConvTranspose2d<B>,
    x: Tensor<B, 4>,
}

impl<B: Backend> Op<B> for ConvTranspose2x2Args<'_, B> {
    type Output = Tensor<B, 4>;

    fn fused<C: FusedOps>(self) -> Tensor<B, 4> {
        let conv = self.conv;
        let primitive = |t: Tensor<C, 4>| t.into_primitive().tensor();
        let bias = conv.bias.as_ref().map(|b| {
            let b: Tensor<C, 1> = cast(b.val());
            b.into_primitive().tensor()
        });
        let y = C::fused_conv_transpose2d_2x2(
            primitive(cast(self.x)),
            primitive(cast(conv.weight.val())),
            bias,
        );
        cast(Tensor::<C, 4>::from_primitive(TensorPrimitive::Float(y)))
    }

    fn composed(self) -> Tensor<B, 4> {
        self.conv.forward(self.x)
    }
}

/// What `conv.forward(x)` computes, `x: [N, Ci, H, W]`. When the module has a 2×2 kernel,
/// stride 2, no padding, no output padding, dilation 1 and one group (every transposed
/// convolution of EchoONE: SAM's output upscaling, the prior U-Net's up-convolutions), on
/// burn-flex (alone or under autodiff) as one fused node: per batch item one parallel GEMM and a
/// pixel shuffle, and the same around an unshuffle in backward. Any other module, input
/// channels that do not match the weight's (which burn reports), and any other backend:
/// `conv.forward(x)` itself.
pub fn conv_transpose2d<B: Backend>(conv: &ConvTranspose2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [in_channels, _, kh, kw] = conv.weight.shape().dims();
    let is_2x2 = conv.kernel_size == [2, 2]
        && [kh, kw] == [2, 2]
        && conv.stride == [2, 2]
        && conv.padding == [0, 0]
        && conv.padding_out == [0, 0]
        && conv.dilation == [1, 1]
        && conv.groups == 1;
    if !is_2x2 || x.dims()[1] != in_channels {
        return conv.forward(x);
    }
    run(ConvTranspose2x2Args { conv, x })
}

/// `softmax(q kᵀ * scale + bias) v` per batch and head: `q: [B, H, N, d]`, `k: [B, H, M, d]`,
/// `v: [B, H, M, e]`, `bias: [B, H, N, M]`.
///
/// On burn-flex, alone or under autodiff, the scores are two parallel GEMMs around one fused
/// softmax node: burn's attention there is, under autodiff, its unfused fallback (seven ops and
/// their backward) and, in inference, a kernel that loops over batch and heads on one thread
/// (ViT-B's forward 5.76 s with it, 4.70 s without, docs/benchmarks.md). Everywhere else it is
/// burn's `attention` op, which those backends implement as one kernel.
pub fn attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    bias: Option<Tensor<B, 4>>,
    scale: f32,
) -> Tensor<B, 4> {
    if has_fused_kernels::<B>() {
        softmax(q.matmul(k.swap_dims(2, 3)), bias, scale).matmul(v)
    } else {
        let options = AttentionModuleOptions {
            scale: Some(f64::from(scale)),
            ..Default::default()
        };
        module::attention(q, k, v, None, bias, options)
    }
}
