//! SAM's decomposed relative position bias (`get_rel_pos`, `add_decomposed_rel_pos`).

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

/// Resizes a `[L, C]` rel-pos table to `[length, C]` with linear interpolation
/// (align_corners = false), as SAM's `get_rel_pos`; unchanged when `L == length`.
pub fn resize_rel_pos<B: Backend>(rel_pos: Tensor<B, 2>, length: usize) -> Tensor<B, 2> {
    let [current, channels] = rel_pos.dims();
    if current == length {
        return rel_pos;
    }
    let as_image = rel_pos.swap_dims(0, 1).reshape([1, channels, 1, current]);
    let resized = interpolate(
        as_image,
        [1, length],
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    );
    resized.reshape([channels, length]).swap_dims(0, 1)
}

/// Relative position embeddings for every (query, key) pair along one axis: `[q, k, C]`.
///
/// A table whose length is not `2 * max(q, k) - 1` is first resized with linear interpolation
/// (align_corners = false), exactly as SAM's `get_rel_pos`; query and key coordinates are
/// scaled when their sizes differ.
pub fn get_rel_pos<B: Backend>(
    q_size: usize,
    k_size: usize,
    rel_pos: Tensor<B, 2>,
) -> Tensor<B, 3> {
    let max_rel_dist = 2 * q_size.max(k_size) - 1;
    let channels = rel_pos.dims()[1];
    let table = resize_rel_pos(rel_pos, max_rel_dist);
    let q_scale = (k_size as f64 / q_size as f64).max(1.0);
    let k_scale = (q_size as f64 / k_size as f64).max(1.0);
    let offset = (k_size as f64 - 1.0) * k_scale;
    let indices: Vec<i64> = (0..q_size)
        .flat_map(|q| {
            (0..k_size).map(move |k| (q as f64 * q_scale - k as f64 * k_scale + offset) as i64)
        })
        .collect();
    let device = table.device();
    let indices =
        Tensor::<B, 1, Int>::from_data(TensorData::new(indices, [q_size * k_size]), &device);
    table.select(0, indices).reshape([q_size, k_size, channels])
}

/// The additive attention bias `[BH, q_h * q_w, k_h * k_w]` from SAM's decomposed rel-pos.
///
/// `q` is the unscaled query `[BH, q_h * q_w, C]`; `rel_pos_h` and `rel_pos_w` are the tables.
pub fn decomposed_rel_pos_bias<B: Backend>(
    q: Tensor<B, 3>,
    rel_pos_h: Tensor<B, 2>,
    rel_pos_w: Tensor<B, 2>,
    q_size: (usize, usize),
    k_size: (usize, usize),
) -> Tensor<B, 3> {
    let (q_h, q_w) = q_size;
    let (k_h, k_w) = k_size;
    let [bh, _, channels] = q.dims();
    let r_h = get_rel_pos(q_h, k_h, rel_pos_h); // [q_h, k_h, C]
    let r_w = get_rel_pos(q_w, k_w, rel_pos_w); // [q_w, k_w, C]
    let r_q = q.reshape([bh, q_h, q_w, channels]);
    let device = r_q.device();
    // rel_h[b, y, x, k] = sum_c r_q[b, y, x, c] * r_h[y, k, c]: a product batched over (b, y).
    let rel_h = r_q
        .clone()
        .matmul(r_h.swap_dims(1, 2).unsqueeze_dim::<4>(0))
        .reshape([bh * q_h * q_w, k_h, 1]);
    // rel_w[b, y, x, k] = sum_c r_q[b, y, x, c] * r_w[x, k, c]: batched over (b, x).
    let rel_w = r_q
        .swap_dims(1, 2)
        .matmul(r_w.swap_dims(1, 2).unsqueeze_dim::<4>(0))
        .swap_dims(1, 2)
        .reshape([bh * q_h * q_w, 1, k_w]);
    // bias[b, y, x, i, j] = rel_h[.., i] + rel_w[.., j], written as two rank-1 products so that
    // no element-wise op broadcasts over a strided [.., k_h, k_w] layout.
    let bias = rel_h.matmul(Tensor::ones([1, 1, k_w], &device))
        + Tensor::ones([1, k_h, 1], &device).matmul(rel_w);
    bias.reshape([bh, q_h * q_w, k_h * k_w])
}
