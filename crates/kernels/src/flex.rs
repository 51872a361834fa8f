//! [`FusedOps`] for burn-flex: rayon-parallel kernels on contiguous f32 tensors.
//!
//! Each row-wise op works over rows of the last axis, in chunks of whole rows (see `parallel`),
//! in place when it owns its input's buffer alone and on a fresh buffer otherwise. The conv2d
//! forward and backward are `conv`'s im2col and GEMMs, the 2×2 stride-2 transposed convolution's
//! `conv_transpose`'s GEMMs and pixel shuffles. Other dtypes, empty tensors, grouped
//! convolutions and mismatched shapes go to the default bodies.

use burn::tensor::ops::{ConvOptions, FloatTensor, ModuleOps};
use burn::tensor::{DType, Shape, TensorData, TensorMetadata};
use burn_flex::{Flex, FlexTensor};

use crate::composed::{
    composed_conv2d_bias_backward, composed_gelu, composed_gelu_backward, composed_layer_norm,
    composed_layer_norm_backward, composed_softmax, composed_softmax_backward,
    conv_transpose2d_2x2_options,
};
use crate::conv::{ConvGeometry, channel_sums, conv2d_backward, conv2d_forward};
use crate::conv_transpose::{
    Up2Geometry, conv_transpose2d_2x2_backward, conv_transpose2d_2x2_forward,
};
use crate::copy::strided_to_contiguous;
use crate::fused::FusedOps;
use crate::gelu::{gelu_backward_slice, gelu_slice};
use crate::layer_norm::{layer_norm_backward_rows, layer_norm_rows};
use crate::parallel::{TASK_ELEMS, map_chunks, map_chunks_copied, row_chunk_len};
use crate::softmax::{softmax_backward_rows, softmax_rows};

/// Whether `t` is a non-empty f32 tensor of rank ≥ 1 (what the kernels take).
fn is_f32(t: &FlexTensor) -> bool {
    t.dtype() == DType::F32 && t.layout().num_dims() >= 1 && t.layout().num_elements() > 0
}

/// Length of the last axis.
fn last_len(t: &FlexTensor) -> usize {
    let shape = t.layout().shape();
    shape[shape.num_dims() - 1]
}

/// Whether `t` is a `[c]` f32 vector.
fn is_channel_vector(t: &FlexTensor, c: usize) -> bool {
    t.dtype() == DType::F32 && t.layout().shape().as_slice() == [c]
}

/// `t` with a contiguous buffer of exactly its elements, starting at offset 0 (copied when its
/// layout is anything else; an f32 tensor in parallel).
fn dense(t: FlexTensor) -> FlexTensor {
    let exact = t.is_contiguous()
        && t.layout().start_offset() == 0
        && t.bytes().len() == t.layout().num_elements() * core::mem::size_of::<f32>();
    if exact {
        t
    } else if t.dtype() == DType::F32 {
        copied(&t)
    } else {
        t.to_contiguous()
    }
}

/// The f32 tensor `t` copied into a new contiguous buffer, in parallel.
fn copied(t: &FlexTensor) -> FlexTensor {
    let layout = t.layout();
    let values = strided_to_contiguous(
        t.storage::<f32>(),
        layout.shape().as_slice(),
        layout.strides(),
        layout.start_offset(),
    );
    f32_tensor(values, layout.shape().clone())
}

/// The f32 elements of `t`'s chunk `i` of `chunk_len` elements, `len` of them (the last chunk
/// may be short).
fn chunk_of(data: &[f32], i: usize, chunk_len: usize, len: usize) -> &[f32] {
    &data[i * chunk_len..i * chunk_len + len]
}

/// Runs `f(chunk_index, chunk)` over the f32 tensor `t` cut into chunks of `chunk_len`
/// elements: in place when `t` owns its buffer alone, else on a copy made chunk by chunk.
/// Returns the tensor holding the result and `f`'s results in chunk order.
fn run<R, F>(t: FlexTensor, chunk_len: usize, f: F) -> (FlexTensor, Vec<R>)
where
    R: Send,
    F: Fn(usize, &mut [f32]) -> R + Sync + Send,
{
    let mut t = dense(t);
    if let Some(data) = t.try_storage_mut::<f32>() {
        let results = map_chunks(data, chunk_len, f);
        return (t, results);
    }
    let shape = t.layout().shape().clone();
    let (out, results) = map_chunks_copied(t.storage::<f32>(), chunk_len, f);
    (FlexTensor::from_data(TensorData::new(out, shape)), results)
}

/// A contiguous f32 tensor of `shape` holding `values`.
fn f32_tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The gradients of a conv2d's input and weight that are asked for, by `conv`'s kernels, or
/// `None` when they do not take these tensors (another dtype, groups, mismatched shapes): the
/// caller then runs burn's default backward.
fn conv2d_backward_f32(
    x: &FlexTensor,
    weight: &FlexTensor,
    grad_y: &FlexTensor,
    options: &ConvOptions<2>,
    want_x: bool,
    want_weight: bool,
) -> Option<(Option<FlexTensor>, Option<FlexTensor>)> {
    if [x, weight, grad_y].iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let (x_shape, weight_shape) = (x.layout().shape(), weight.layout().shape());
    let geo = ConvGeometry::new(x_shape.as_slice(), weight_shape.as_slice(), options)?;
    if grad_y.layout().shape().as_slice() != geo.output_shape() {
        return None;
    }
    let (x_shape, weight_shape) = (x_shape.clone(), weight_shape.clone());
    let (x, weight, grad_y) = (
        dense(x.clone()),
        dense(weight.clone()),
        dense(grad_y.clone()),
    );
    let (grad_x, grad_weight) = conv2d_backward(
        &geo,
        x.storage::<f32>(),
        weight.storage::<f32>(),
        grad_y.storage::<f32>(),
        want_x,
        want_weight,
    );
    Some((
        grad_x.map(|v| f32_tensor(v, x_shape)),
        grad_weight.map(|v| f32_tensor(v, weight_shape)),
    ))
}

/// The convolution of f32 tensors by `conv`'s kernels, or `None` when they do not take them
/// (another dtype, groups, mismatched shapes): the caller then runs burn-flex's own.
fn conv2d_f32(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    if [x, weight].iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let geo = ConvGeometry::new(
        x.layout().shape().as_slice(),
        weight.layout().shape().as_slice(),
        options,
    )?;
    if bias.is_some_and(|b| !is_channel_vector(b, geo.out_channels)) {
        return None;
    }
    let (x, weight) = (dense(x.clone()), dense(weight.clone()));
    let bias = bias.map(|b| dense(b.clone()));
    let y = conv2d_forward(
        &geo,
        x.storage::<f32>(),
        weight.storage::<f32>(),
        bias.as_ref().map(|b| b.storage::<f32>()),
    );
    Some(f32_tensor(y, Shape::from(geo.output_shape())))
}

/// The 2×2 stride-2 transposed convolution of f32 tensors by `conv_transpose`'s kernels, or
/// `None` when they do not take them (another dtype, mismatched shapes): the caller then runs
/// burn-flex's own.
fn conv_transpose2d_2x2_f32(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
) -> Option<FlexTensor> {
    if [x, weight].iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let geo = Up2Geometry::from_input(
        x.layout().shape().as_slice(),
        weight.layout().shape().as_slice(),
    )?;
    if bias.is_some_and(|b| !is_channel_vector(b, geo.out_channels)) {
        return None;
    }
    let (x, weight) = (dense(x.clone()), dense(weight.clone()));
    let bias = bias.map(|b| dense(b.clone()));
    let y = conv_transpose2d_2x2_forward(
        &geo,
        x.storage::<f32>(),
        weight.storage::<f32>(),
        bias.as_ref().map(|b| b.storage::<f32>()),
    );
    Some(f32_tensor(y, Shape::from(geo.output_shape())))
}

/// The gradients of a 2×2 stride-2 transposed convolution's input (when `want_x`) and weight
/// (when its input `x` is given) by `conv_transpose`'s kernels, or `None` when they do not take
/// these tensors (another dtype, mismatched shapes): the caller then runs burn's default
/// backward.
fn conv_transpose2d_2x2_backward_f32(
    x: Option<&FlexTensor>,
    weight: &FlexTensor,
    grad_y: &FlexTensor,
    want_x: bool,
) -> Option<(Option<FlexTensor>, Option<FlexTensor>)> {
    let tensors = [Some(weight), Some(grad_y), x];
    if tensors.iter().flatten().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let geo = Up2Geometry::from_output(
        grad_y.layout().shape().as_slice(),
        weight.layout().shape().as_slice(),
    )?;
    if x.is_some_and(|x| x.layout().shape().as_slice() != geo.input_shape()) {
        return None;
    }
    let (weight, grad_y) = (dense(weight.clone()), dense(grad_y.clone()));
    let x = x.map(|x| dense(x.clone()));
    let (grad_x, grad_weight) = conv_transpose2d_2x2_backward(
        &geo,
        x.as_ref().map(|x| x.storage::<f32>()),
        weight.storage::<f32>(),
        grad_y.storage::<f32>(),
        want_x,
    );
    Some((
        grad_x.map(|v| f32_tensor(v, Shape::from(geo.input_shape()))),
        grad_weight.map(|v| f32_tensor(v, Shape::from(geo.weight_shape()))),
    ))
}

impl FusedOps for Flex {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        conv2d_f32(&x, &weight, bias.as_ref(), &options)
            .unwrap_or_else(|| Self::conv2d(x, weight, bias, options))
    }

    fn fused_softmax(
        x: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let bias_ok = bias
            .as_ref()
            .is_none_or(|b| b.dtype() == DType::F32 && b.shape() == x.shape());
        if !is_f32(&x) || !bias_ok {
            return composed_softmax::<Self>(x, bias, scale);
        }
        let m = last_len(&x);
        let chunk = row_chunk_len(m);
        let bias = bias.map(dense);
        let bias = bias.as_ref().map(|b| b.storage::<f32>());
        run(x, chunk, |i, data| {
            let b = bias.map(|b| chunk_of(b, i, chunk, data.len()));
            softmax_rows(data, b, m, scale);
        })
        .0
    }

    fn fused_softmax_backward(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::fused_softmax_backward_scaled(y, grad_y, 1.0)
    }

    fn fused_softmax_backward_scaled(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        if !is_f32(&y) || grad_y.dtype() != DType::F32 || grad_y.shape() != y.shape() {
            return composed_softmax_backward::<Self>(y, grad_y, scale);
        }
        let m = last_len(&y);
        let chunk = row_chunk_len(m);
        let y = dense(y);
        let y = y.storage::<f32>();
        run(grad_y, chunk, |i, data| {
            softmax_backward_rows(data, chunk_of(y, i, chunk, data.len()), m, scale);
        })
        .0
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        let ok = is_f32(&x) && {
            let c = last_len(&x);
            is_channel_vector(&gamma, c) && beta.as_ref().is_none_or(|b| is_channel_vector(b, c))
        };
        if !ok {
            return composed_layer_norm::<Self>(x, gamma, beta, eps);
        }
        let chunk = row_chunk_len(last_len(&x));
        let gamma = dense(gamma);
        let gamma = gamma.storage::<f32>();
        let beta = beta.map(dense);
        let beta = beta.as_ref().map(|b| b.storage::<f32>());
        run(x, chunk, |_, data| layer_norm_rows(data, gamma, beta, eps)).0
    }

    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let ok = is_f32(&x)
            && is_channel_vector(&gamma, last_len(&x))
            && grad_y.dtype() == DType::F32
            && grad_y.shape() == x.shape();
        if !ok {
            return composed_layer_norm_backward::<Self>(x, gamma, grad_y, eps);
        }
        let c = last_len(&x);
        let chunk = row_chunk_len(c);
        let x = dense(x);
        let x = x.storage::<f32>();
        let gamma = dense(gamma);
        let gamma = gamma.storage::<f32>();
        let (grad_x, partials) = run(grad_y, chunk, |i, data| {
            // The chunk's gamma and beta gradients, side by side.
            let mut acc = vec![0.0f32; 2 * c];
            let (acc_gamma, acc_beta) = acc.split_at_mut(c);
            let x = chunk_of(x, i, chunk, data.len());
            layer_norm_backward_rows(data, x, gamma, eps, acc_gamma, acc_beta);
            acc
        });
        // Chunk results are combined in chunk order, whatever thread computed them.
        let mut total = vec![0.0f32; 2 * c];
        for partial in &partials {
            for (t, p) in total.iter_mut().zip(partial) {
                *t += *p;
            }
        }
        let grad_beta = total.split_off(c);
        let vector = |v: Vec<f32>| FlexTensor::from_data(TensorData::new(v, Shape::from([c])));
        (grad_x, vector(total), vector(grad_beta))
    }

    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&x) {
            return composed_gelu::<Self>(x);
        }
        run(x, TASK_ELEMS, |_, data| gelu_slice(data)).0
    }

    fn fused_gelu_backward(x: FloatTensor<Self>, grad_y: FloatTensor<Self>) -> FloatTensor<Self> {
        if !is_f32(&x) || grad_y.dtype() != DType::F32 || grad_y.shape() != x.shape() {
            return composed_gelu_backward::<Self>(x, grad_y);
        }
        let x = dense(x);
        let x = x.storage::<f32>();
        run(grad_y, TASK_ELEMS, |i, data| {
            gelu_backward_slice(data, chunk_of(x, i, TASK_ELEMS, data.len()));
        })
        .0
    }

    fn fused_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if let Some((Some(grad_x), Some(grad_weight))) =
            conv2d_backward_f32(&x, &weight, &grad_y, &options, true, true)
        {
            return (grad_x, grad_weight);
        }
        let grad_x =
            Self::conv2d_x_backward(x.clone(), weight.clone(), grad_y.clone(), options.clone());
        (
            grad_x,
            Self::conv2d_weight_backward(x, weight, grad_y, options),
        )
    }

    fn fused_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match conv2d_backward_f32(&x, &weight, &grad_y, &options, true, false) {
            Some((Some(grad_x), _)) => grad_x,
            _ => Self::conv2d_x_backward(x, weight, grad_y, options),
        }
    }

    fn fused_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match conv2d_backward_f32(&x, &weight, &grad_y, &options, false, true) {
            Some((_, Some(grad_weight))) => grad_weight,
            _ => Self::conv2d_weight_backward(x, weight, grad_y, options),
        }
    }

    fn fused_conv2d_bias_backward(grad_y: FloatTensor<Self>) -> FloatTensor<Self> {
        let dims: Option<[usize; 4]> = grad_y.layout().shape().as_slice().try_into().ok();
        let Some([batch, channels, h, w]) = dims else {
            return composed_conv2d_bias_backward::<Self>(grad_y);
        };
        if grad_y.dtype() != DType::F32 || grad_y.layout().num_elements() == 0 {
            return composed_conv2d_bias_backward::<Self>(grad_y);
        }
        let grad_y = dense(grad_y);
        let sums = channel_sums(grad_y.storage::<f32>(), batch, channels, h * w);
        f32_tensor(sums, Shape::from([channels]))
    }

    fn fused_conv_transpose2d_2x2(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        conv_transpose2d_2x2_f32(&x, &weight, bias.as_ref()).unwrap_or_else(|| {
            Self::conv_transpose2d(x, weight, bias, conv_transpose2d_2x2_options())
        })
    }

    fn fused_conv_transpose2d_2x2_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if let Some((Some(grad_x), Some(grad_weight))) =
            conv_transpose2d_2x2_backward_f32(Some(&x), &weight, &grad_y, true)
        {
            return (grad_x, grad_weight);
        }
        let options = conv_transpose2d_2x2_options();
        let grad_x =
            Self::conv_transpose2d_x_backward(weight.clone(), grad_y.clone(), options.clone());
        (
            grad_x,
            Self::conv_transpose2d_weight_backward(x, weight, grad_y, options),
        )
    }

    fn fused_conv_transpose2d_2x2_x_backward(
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match conv_transpose2d_2x2_backward_f32(None, &weight, &grad_y, true) {
            Some((Some(grad_x), _)) => grad_x,
            _ => Self::conv_transpose2d_x_backward(weight, grad_y, conv_transpose2d_2x2_options()),
        }
    }

    fn fused_conv_transpose2d_2x2_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match conv_transpose2d_2x2_backward_f32(Some(&x), &weight, &grad_y, false) {
            Some((_, Some(grad_weight))) => grad_weight,
            _ => Self::conv_transpose2d_weight_backward(
                x,
                weight,
                grad_y,
                conv_transpose2d_2x2_options(),
            ),
        }
    }

    fn fused_contiguous(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.is_contiguous() || x.dtype() != DType::F32 {
            x
        } else {
            copied(&x)
        }
    }
}
