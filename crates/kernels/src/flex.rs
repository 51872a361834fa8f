//! [`FusedOps`] for burn-flex: rayon-parallel kernels on contiguous f32 tensors.
//!
//! Each op works over rows of the last axis, in chunks of whole rows (see `parallel`), in place
//! when it owns its input's buffer alone and on a fresh buffer otherwise. Other dtypes, empty
//! tensors and mismatched shapes go to the composed default bodies.

use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Shape, TensorData, TensorMetadata};
use burn_flex::{Flex, FlexTensor};

use crate::composed::{
    composed_gelu, composed_gelu_backward, composed_layer_norm, composed_layer_norm_backward,
    composed_softmax, composed_softmax_backward,
};
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
/// layout is anything else).
fn dense(t: FlexTensor) -> FlexTensor {
    let exact = t.is_contiguous()
        && t.layout().start_offset() == 0
        && t.bytes().len() == t.layout().num_elements() * core::mem::size_of::<f32>();
    if exact { t } else { t.to_contiguous() }
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

impl FusedOps for Flex {
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
}
