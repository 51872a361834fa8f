//! A transposed 2-D convolution with a 2×2 kernel and stride 2 (no padding, no output padding,
//! dilation 1, one group) and its backward on contiguous f32 buffers: the kernels behind the
//! Flex implementation of
//! [`FusedOps::fused_conv_transpose2d_2x2`](crate::FusedOps::fused_conv_transpose2d_2x2) and
//! its backward.
//!
//! With `x: [N, Ci, H, W]` and `weight: [Ci, Co, 2, 2]`, input pixel `(i, j)` alone feeds the
//! 2×2 block of output pixels `(2i + a, 2j + b)`:
//! `y[n, o, 2i + a, 2j + b] = Σ_c x[n, c, i, j] · weight[c, o, a, b] + bias[o]`. As matrices,
//! with `R = 4·Co` rows `r = 4·o + 2·a + b` (the weight is `[Ci, R]` in its own layout) and
//! `P = H·W` input positions:
//!
//! - forward: `z_n [R, P] = weightᵀ · x_n [Ci, P]`, then `z` shuffled into `y` (plus the bias);
//! - backward: `g_n [R, P]`, the output gradient unshuffled, `grad_x_n [Ci, P] = weight · g_n`
//!   and `grad_weight [Ci, R] = Σ_n x_n · g_nᵀ`.
//!
//! Output plane `(n, o)` (`4·P` elements) is exactly rows `4·(n·Co + o) .. 4·(n·Co + o) + 4` of
//! the stacked `z` (and of `g`), `4·P` elements at the same offset, so the shuffle and unshuffle
//! run in parallel over chunks of whole planes, each task reading and writing its own planes
//! alone. The products are `conv`'s (gemm, on rayon's threads when large). A small weight
//! gradient with a long reduction is summed from bands of positions computed in parallel and
//! added in band order. Every split depends on the shapes alone and no two tasks write one
//! element, so results are bit-identical from run to run.

use core::mem::MaybeUninit;
use core::ops::Range;

use rayon::prelude::*;

use crate::conv::{Matrix, matmul};
use crate::parallel::{fill_chunks, row_chunk_len};

/// Operand elements (`(Ci + R)` × positions) per band of a banded weight gradient: 1 MiB of
/// f32.
const BAND_ELEMS: usize = 1 << 18;

/// Bands of a weight gradient computed at once; their partial gradients are then added in order.
const BAND_GROUP: usize = 8;

/// Weight gradients of at most this many elements are summed from bands of positions.
const BANDED_WEIGHT_GRAD: usize = 1 << 16;

/// The sizes of a transposed convolution with a 2×2 kernel and stride 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Up2Geometry {
    /// Batch size `N`.
    pub batch: usize,
    /// Input channels `Ci`.
    pub in_channels: usize,
    /// Output channels `Co`.
    pub out_channels: usize,
    /// Input height and width (the output's are twice these).
    pub input: [usize; 2],
}

impl Up2Geometry {
    /// The geometry of `x: [N, Ci, H, W]` by `weight: [Ci, Co, 2, 2]`, or `None` when the shapes
    /// do not fit each other or one of them is empty.
    pub(crate) fn from_input(x: &[usize], weight: &[usize]) -> Option<Self> {
        let (&[batch, channels, h, w], &[in_channels, out_channels, 2, 2]) = (x, weight) else {
            return None;
        };
        if channels != in_channels {
            return None;
        }
        Self::non_empty(batch, in_channels, out_channels, [h, w])
    }

    /// The geometry of the convolution whose output gradient is `grad_y: [N, Co, 2H, 2W]` and
    /// weight `weight: [Ci, Co, 2, 2]`, or `None` when the shapes do not fit each other (an odd
    /// output side included) or one of them is empty.
    pub(crate) fn from_output(grad_y: &[usize], weight: &[usize]) -> Option<Self> {
        let (&[batch, channels, oh, ow], &[in_channels, out_channels, 2, 2]) = (grad_y, weight)
        else {
            return None;
        };
        if channels != out_channels || oh % 2 != 0 || ow % 2 != 0 {
            return None;
        }
        Self::non_empty(batch, in_channels, out_channels, [oh / 2, ow / 2])
    }

    /// The geometry of these sizes, `None` when one is zero.
    fn non_empty(
        batch: usize,
        in_channels: usize,
        out_channels: usize,
        input: [usize; 2],
    ) -> Option<Self> {
        let sizes = [batch, in_channels, out_channels, input[0], input[1]];
        (!sizes.contains(&0)).then_some(Self {
            batch,
            in_channels,
            out_channels,
            input,
        })
    }

    /// The shape of the input (and of its gradient): `[N, Ci, H, W]`.
    pub(crate) fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.input[0], self.input[1]]
    }

    /// The shape of the output (and of its gradient): `[N, Co, 2H, 2W]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            2 * self.input[0],
            2 * self.input[1],
        ]
    }

    /// The shape of the weight (and of its gradient): `[Ci, Co, 2, 2]`.
    pub(crate) fn weight_shape(&self) -> [usize; 4] {
        [self.in_channels, self.out_channels, 2, 2]
    }

    /// Input positions per batch item, `P = H·W`.
    fn positions(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Rows of the product, `R = 4·Co`.
    fn rows(&self) -> usize {
        4 * self.out_channels
    }
}

/// Writes one output plane `out: [2H, 2W]` from its four rows of `z` (`z: [4, H·W]`, row
/// `2·a + b` the output pixels `(2i + a, 2j + b)`), each plus `bias`.
fn shuffle_plane(z: &[f32], [h, w]: [usize; 2], bias: f32, out: &mut [MaybeUninit<f32>]) {
    let p = h * w;
    assert!(
        z.len() == 4 * p && out.len() == 4 * p,
        "shuffle: plane length"
    );
    for (row, out_row) in out.chunks_exact_mut(2 * w).enumerate() {
        let (i, a) = (row / 2, row % 2);
        let even = &z[(2 * a) * p + i * w..][..w];
        let odd = &z[(2 * a + 1) * p + i * w..][..w];
        for ((pair, e), o) in out_row.chunks_exact_mut(2).zip(even).zip(odd) {
            pair[0].write(*e + bias);
            pair[1].write(*o + bias);
        }
    }
}

/// Writes the four rows `g: [4, H·W]` of one output plane's gradient `grad: [2H, 2W]`, row
/// `2·a + b` the gradient at output pixels `(2i + a, 2j + b)`.
fn unshuffle_plane(grad: &[f32], [h, w]: [usize; 2], g: &mut [MaybeUninit<f32>]) {
    let p = h * w;
    assert!(
        grad.len() == 4 * p && g.len() == 4 * p,
        "unshuffle: plane length"
    );
    for (tap, g_row) in g.chunks_exact_mut(p).enumerate() {
        let (a, b) = (tap / 2, tap % 2);
        for (i, g_line) in g_row.chunks_exact_mut(w).enumerate() {
            let src = &grad[(2 * i + a) * 2 * w..][..2 * w];
            for (d, pair) in g_line.iter_mut().zip(src.chunks_exact(2)) {
                d.write(pair[b]);
            }
        }
    }
}

/// A new buffer of whole output planes (`4·H·W` elements each, `planes` of them), written in
/// parallel over chunks of planes by `plane(index, dst)`, which must initialise all of `dst`.
fn per_plane<F>(geo: &Up2Geometry, planes: usize, plane: F) -> Vec<f32>
where
    F: Fn(usize, &mut [MaybeUninit<f32>]) + Sync + Send,
{
    let len = 4 * geo.positions();
    let chunk = row_chunk_len(len);
    let per_chunk = chunk / len;
    let fill = |i: usize, dst: &mut [MaybeUninit<f32>]| {
        for (local, out) in dst.chunks_exact_mut(len).enumerate() {
            plane(i * per_chunk + local, out);
        }
    };
    // SAFETY: the chunks hold whole planes (`chunk` is a multiple of `len`, and so is the total
    // length), and `plane` initialises each of them in full: `shuffle_plane` and
    // `unshuffle_plane` write every element of `out`.
    let (out, _) = unsafe { fill_chunks(planes * len, chunk, fill) };
    out
}

/// The transposed convolution `y: [N, Co, 2H, 2W]` of the contiguous `x: [N, Ci, H, W]` by
/// `weight: [Ci, Co, 2, 2]`, plus `bias: [Co]`: per batch item one product
/// `z_n = weightᵀ · x_n`, then `z` shuffled into `y` in parallel over chunks of planes.
pub(crate) fn conv_transpose2d_2x2_forward(
    geo: &Up2Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let (ci, r, p, co) = (
        geo.in_channels,
        geo.rows(),
        geo.positions(),
        geo.out_channels,
    );
    assert_eq!(x.len(), geo.batch * ci * p, "conv_transpose2d: x length");
    assert_eq!(weight.len(), ci * r, "conv_transpose2d: weight length");
    if let Some(bias) = bias {
        assert_eq!(bias.len(), co, "conv_transpose2d: bias length");
    }
    let mut z = vec![0.0f32; geo.batch * r * p];
    let weight_t = Matrix::transposed(weight, r, ci);
    for (x_n, z_n) in x.chunks_exact(ci * p).zip(z.chunks_exact_mut(r * p)) {
        matmul(z_n, weight_t, Matrix::row_major(x_n, ci, p), false, true);
    }
    let len = 4 * p;
    per_plane(geo, geo.batch * co, |index, out| {
        let b = bias.map_or(0.0, |b| b[index % co]);
        shuffle_plane(&z[index * len..(index + 1) * len], geo.input, b, out);
    })
}

/// The partial weight gradient `x_n [Ci, P] · g_nᵀ [P, R]` of batch item `n`'s positions
/// `positions`, `[Ci, R]`, on the calling thread.
fn band_weight_grad(
    geo: &Up2Geometry,
    x: &[f32],
    g: &[f32],
    n: usize,
    positions: Range<usize>,
) -> Vec<f32> {
    let (ci, r, p) = (geo.in_channels, geo.rows(), geo.positions());
    let (start, len) = (positions.start, positions.len());
    let x_band = Matrix::strided(&x[n * ci * p + start..], ci, len, p, 1);
    let g_band_t = Matrix::strided(&g[n * r * p + start..], len, r, 1, p);
    let mut partial = vec![0.0f32; ci * r];
    matmul(&mut partial, x_band, g_band_t, false, false);
    partial
}

/// The weight gradient `Σ_n x_n · g_nᵀ`, `[Ci, R]`.
///
/// A small one (few output tiles for gemm's threads, a long reduction over positions) is summed
/// from bands of about [`BAND_ELEMS`] operand elements (each within one batch item) computed in
/// parallel, [`BAND_GROUP`] at a time, and added in band order. A large one is one parallel
/// product per batch item, accumulated in batch order.
fn weight_grad(geo: &Up2Geometry, x: &[f32], g: &[f32]) -> Vec<f32> {
    let (ci, r, p) = (geo.in_channels, geo.rows(), geo.positions());
    let mut grad = vec![0.0f32; ci * r];
    let band = (BAND_ELEMS / (ci + r)).max(1);
    let bands: Vec<(usize, Range<usize>)> = (0..geo.batch)
        .flat_map(|n| (0..p).step_by(band).map(move |s| (n, s..(s + band).min(p))))
        .collect();
    if ci * r <= BANDED_WEIGHT_GRAD && bands.len() > 1 {
        for group in bands.chunks(BAND_GROUP) {
            let partials: Vec<Vec<f32>> = group
                .par_iter()
                .map(|(n, positions)| band_weight_grad(geo, x, g, *n, positions.clone()))
                .collect();
            for partial in &partials {
                for (d, v) in grad.iter_mut().zip(partial) {
                    *d += *v;
                }
            }
        }
        return grad;
    }
    for n in 0..geo.batch {
        let x_n = Matrix::row_major(&x[n * ci * p..(n + 1) * ci * p], ci, p);
        let g_n_t = Matrix::transposed(&g[n * r * p..(n + 1) * r * p], p, r);
        matmul(&mut grad, x_n, g_n_t, n > 0, true);
    }
    grad
}

/// The gradients of a transposed convolution's input (`[N, Ci, H, W]`, when `want_x`) and
/// weight (`[Ci, Co, 2, 2]`, when its input `x` is given) from the contiguous weight and output
/// gradient `grad_y: [N, Co, 2H, 2W]` of the convolution `geo` describes: the output gradient
/// unshuffled once, in parallel over chunks of planes, then one product per batch item for
/// each gradient.
pub(crate) fn conv_transpose2d_2x2_backward(
    geo: &Up2Geometry,
    x: Option<&[f32]>,
    weight: &[f32],
    grad_y: &[f32],
    want_x: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let (ci, r, p, co) = (
        geo.in_channels,
        geo.rows(),
        geo.positions(),
        geo.out_channels,
    );
    assert_eq!(
        weight.len(),
        ci * r,
        "conv_transpose2d_backward: weight length"
    );
    assert_eq!(
        grad_y.len(),
        geo.batch * r * p,
        "conv_transpose2d_backward: output gradient length"
    );
    if let Some(x) = x {
        assert_eq!(
            x.len(),
            geo.batch * ci * p,
            "conv_transpose2d_backward: x length"
        );
    }
    if !want_x && x.is_none() {
        return (None, None);
    }
    let len = 4 * p;
    let g = per_plane(geo, geo.batch * co, |index, out| {
        unshuffle_plane(&grad_y[index * len..(index + 1) * len], geo.input, out);
    });
    let grad_x = want_x.then(|| {
        let mut grad_x = vec![0.0f32; geo.batch * ci * p];
        let weight = Matrix::row_major(weight, ci, r);
        for (g_n, grad_x_n) in g.chunks_exact(r * p).zip(grad_x.chunks_exact_mut(ci * p)) {
            matmul(grad_x_n, weight, Matrix::row_major(g_n, r, p), false, true);
        }
        grad_x
    });
    let grad_weight = x.map(|x| weight_grad(geo, x, &g));
    (grad_x, grad_weight)
}
