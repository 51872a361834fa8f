//! A 2-D convolution and its backward on contiguous f32 buffers (`x: [N, C, H, W]`,
//! `weight: [O, C, KH, KW]`, one group): the kernels behind the Flex implementation of
//! [`FusedOps::fused_conv2d`](crate::FusedOps::fused_conv2d) and
//! [`FusedOps::fused_conv2d_backward`](crate::FusedOps::fused_conv2d_backward).
//!
//! With `K = C·KH·KW` kernel taps (input channel, kernel row, kernel column) and `P = OH·OW`
//! output positions, batch item `n`'s columns `cols_n: [K, P]` hold the input value each tap sees
//! at each output position, zero in the padding (im2col). Then, one batch item at a time (so the
//! scratch stays one item's size):
//!
//! - `grad_weight [O, K] += grad_y_n [O, P] · cols_nᵀ`,
//! - `dcols_n [K, P] = weightᵀ · grad_y_n` and `grad_x_n = col2im(dcols_n)`.
//!
//! The forward is `y_n [O, P] = weight [O, K] · cols_n`, its columns built a band of output rows
//! at a time. The products are the `gemm` crate's; transposed operands and blocks are strides, never
//! copies. A large product runs on rayon's threads inside gemm. A small weight gradient (few
//! output tiles to share out, a long reduction over positions) is instead computed in bands of
//! output rows in parallel, each building its own columns, and the bands' partial gradients are
//! added in band order. col2im runs in parallel over chunks of input channels, each task owning
//! its channels' planes of `grad_x` and summing into them in a fixed order. No two tasks write
//! one element and every split depends on the shapes alone, so the results are bit-identical
//! from run to run. A 1×1 kernel with stride 1 and no padding needs neither im2col nor col2im:
//! its columns are the input itself.

use core::ops::Range;

use burn::tensor::ops::ConvOptions;
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use crate::parallel::{SERIAL_ELEMS, map_chunks, row_chunk_len, sum};

/// Products of at least this many multiply-adds run on rayon's threads, smaller ones on the
/// calling thread.
const PARALLEL_PRODUCT: usize = 1 << 20;

/// Column elements (`K` × positions) per band of a banded weight gradient: 1 MiB of f32.
const BAND_ELEMS: usize = 1 << 18;

/// Column elements per band of a forward convolution's columns: 8 MiB of f32.
const FORWARD_BAND_ELEMS: usize = 1 << 21;

/// Bands of a weight gradient computed at once; their partial gradients are then added in order.
const BAND_GROUP: usize = 8;

/// Weight gradients of at most this many elements are computed in bands of output rows.
const BANDED_WEIGHT_GRAD: usize = 1 << 16;

/// The sizes of a 2-D convolution with one group and symmetric padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    /// Batch size `N`.
    pub batch: usize,
    /// Input channels `C`.
    pub channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output channels `O`.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero padding on each side, along height and width.
    pub padding: [usize; 2],
    /// Dilation along height and width.
    pub dilation: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
}

/// The output length of a convolution along one axis, as burn computes it:
/// `(size + 2·padding − dilation·(kernel − 1) − 1) / stride + 1`; `None` when the dilated kernel
/// is longer than the padded input, or the stride or dilation is zero.
fn output_len(
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    if stride == 0 || dilation == 0 || kernel == 0 {
        return None;
    }
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    let padded = size.checked_add(padding.checked_mul(2)?)?;
    padded.checked_sub(span).map(|room| room / stride + 1)
}

impl ConvGeometry {
    /// The geometry of the convolution of `x: [N, C, H, W]` by `weight: [O, C, KH, KW]` with
    /// `options`, or `None` when the kernels do not take it: more than one group, an empty
    /// tensor, a weight whose input channels are not x's, or a kernel longer than the padded
    /// input.
    pub(crate) fn new(x: &[usize], weight: &[usize], options: &ConvOptions<2>) -> Option<Self> {
        let (&[batch, channels, h, w], &[out_channels, weight_channels, kh, kw]) = (x, weight)
        else {
            return None;
        };
        if options.groups != 1 || weight_channels != channels {
            return None;
        }
        if [batch, channels, h, w, out_channels].contains(&0) {
            return None;
        }
        let axis = |i: usize, size, kernel| {
            output_len(
                size,
                kernel,
                options.stride[i],
                options.padding[i],
                options.dilation[i],
            )
        };
        let output = [axis(0, h, kh)?, axis(1, w, kw)?];
        Some(Self {
            batch,
            channels,
            input: [h, w],
            out_channels,
            kernel: [kh, kw],
            stride: options.stride,
            padding: options.padding,
            dilation: options.dilation,
            output,
        })
    }

    /// The shape of the output (and of its gradient): `[N, O, OH, OW]`.
    pub(crate) fn output_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            self.output[0],
            self.output[1],
        ]
    }

    /// Kernel taps per input channel, `KH·KW`.
    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Rows of the column matrix, `K = C·KH·KW`.
    fn col_rows(&self) -> usize {
        self.channels * self.taps()
    }

    /// Output positions per batch item, `P = OH·OW`.
    fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Elements of one input plane, `H·W`.
    fn plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Whether the columns are the input itself: a 1×1 kernel, stride 1, no padding.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Kernel tap `tap` (`i·KW + j`) at output index `o` along `axis` reads input index
    /// `o·stride + offset`, with this `offset = tap_index·dilation − padding`.
    fn offset(&self, axis: usize, tap_index: usize) -> isize {
        (tap_index * self.dilation[axis]) as isize - self.padding[axis] as isize
    }

    /// The output indices `[lo, hi)` along `axis` at which a tap with `offset` reads inside the
    /// input (the others read padding).
    fn inside(&self, axis: usize, offset: isize) -> (usize, usize) {
        let stride = self.stride[axis] as isize;
        let size = self.input[axis] as isize;
        let out = self.output[axis];
        // o·stride + offset ≥ 0  ⇔  o ≥ ceil(−offset / stride).
        let lo = if offset >= 0 {
            0
        } else {
            ((-offset + stride - 1) / stride) as usize
        };
        // o·stride + offset < size  ⇔  o < ceil((size − offset) / stride).
        let room = size - offset;
        let hi = if room <= 0 {
            0
        } else {
            ((room + stride - 1) / stride) as usize
        };
        let hi = hi.min(out);
        (lo.min(hi), hi)
    }
}

/// A matrix operand of a product: `rows × cols` elements of a buffer at any strides, so a
/// transpose or a block of columns is a view, never a copy.
#[derive(Clone, Copy)]
pub(crate) struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    /// The `[rows, cols]` matrix whose element `(r, c)` is `data[r·row_stride + c·col_stride]`.
    pub(crate) fn strided(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        assert!(rows > 0 && cols > 0, "matmul: an empty matrix operand");
        let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
        assert!(
            last < data.len(),
            "matmul: a matrix operand outside its buffer"
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The row-major `[rows, cols]` matrix in `data`.
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// The transpose of the row-major `[cols, rows]` matrix in `data`, seen as `[rows, cols]`.
    pub(crate) fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, 1, rows)
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`; `dst` is row-major
/// `[lhs.rows, rhs.cols]`. Large products run on rayon's threads when `parallel`.
pub(crate) fn matmul(
    dst: &mut [f32],
    lhs: Matrix<'_>,
    rhs: Matrix<'_>,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(
        dst.len(),
        lhs.rows * rhs.cols,
        "matmul: product buffer length"
    );
    matmul_at(dst, rhs.cols, lhs, rhs, accumulate, parallel);
}

/// [`matmul`] into the rows of `dst` that start `dst_row_stride` elements apart (a block of
/// columns of a wider row-major matrix).
fn matmul_at(
    dst: &mut [f32],
    dst_row_stride: usize,
    lhs: Matrix<'_>,
    rhs: Matrix<'_>,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions of a product");
    assert!(
        dst_row_stride >= n && dst.len() >= (m - 1) * dst_row_stride + n,
        "matmul: product buffer length"
    );
    let parallelism = if parallel && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_PRODUCT {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    };
    // SAFETY: gemm reads lhs at `r·row_stride + c·col_stride` for r < m, c < k, and
    // `Matrix::strided` checked that the largest such index is inside lhs's buffer; likewise
    // rhs (k × n). It writes (and reads, when accumulating) dst at `r·dst_row_stride + c` ≤
    // `(m − 1)·dst_row_stride + n − 1` < `dst.len()`, checked above. dst is a unique borrow, so it aliases neither operand, and all
    // three stay borrowed for the whole call.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Fills `out` with row `k` (tap `(i, j)` of channel `c`, `k = c·KH·KW + i·KW + j`) of batch
/// item `x_n: [C, H, W]`'s columns at output rows `rows`: the input value the tap sees at each
/// of their positions, zero where it falls in the padding.
fn im2col_row(geo: &ConvGeometry, x_n: &[f32], k: usize, rows: Range<usize>, out: &mut [f32]) {
    let (taps, plane) = (geo.taps(), geo.plane());
    let [_, w] = geo.input;
    let [ow_len, kw] = [geo.output[1], geo.kernel[1]];
    let [sh, sw] = geo.stride;
    assert_eq!(out.len(), rows.len() * ow_len, "im2col: row length");
    let (c, tap) = (k / taps, k % taps);
    let src = &x_n[c * plane..(c + 1) * plane];
    let (off_h, off_w) = (geo.offset(0, tap / kw), geo.offset(1, tap % kw));
    let (h_lo, h_hi) = geo.inside(0, off_h);
    let (w_lo, w_hi) = geo.inside(1, off_w);
    for (oh, out) in rows.zip(out.chunks_exact_mut(ow_len)) {
        if !(h_lo..h_hi).contains(&oh) {
            out.fill(0.0);
            continue;
        }
        let ih = ((oh * sh) as isize + off_h) as usize;
        let src_row = &src[ih * w..(ih + 1) * w];
        out[..w_lo].fill(0.0);
        out[w_hi..].fill(0.0);
        if w_lo == w_hi {
            continue;
        }
        if sw == 1 {
            let start = (w_lo as isize + off_w) as usize;
            out[w_lo..w_hi].copy_from_slice(&src_row[start..start + (w_hi - w_lo)]);
        } else {
            for (ow, v) in out.iter_mut().enumerate().take(w_hi).skip(w_lo) {
                *v = src_row[((ow * sw) as isize + off_w) as usize];
            }
        }
    }
}

/// Fills `cols: [K, P]` with batch item `x_n`'s columns at every output position, in parallel
/// over chunks of rows.
fn im2col(geo: &ConvGeometry, x_n: &[f32], cols: &mut [f32]) {
    im2col_band(geo, x_n, 0..geo.output[0], cols);
}

/// Fills `cols: [K, rows.len()·OW]` with batch item `x_n`'s columns at the positions of output
/// rows `rows`, in parallel over chunks of column rows.
fn im2col_band(geo: &ConvGeometry, x_n: &[f32], rows: Range<usize>, cols: &mut [f32]) {
    let len = rows.len() * geo.output[1];
    let chunk = row_chunk_len(len);
    let rows_per_chunk = chunk / len;
    map_chunks(cols, chunk, |index, chunk_rows| {
        for (r, row) in chunk_rows.chunks_exact_mut(len).enumerate() {
            im2col_row(geo, x_n, index * rows_per_chunk + r, rows.clone(), row);
        }
    });
}

/// The convolution `y: [N, O, OH, OW]` of the contiguous `x` by `weight`, plus `bias: [O]`:
/// per batch item, `y_n [O, P] = weight [O, K] · cols_n [K, P]`, the columns built in bands of
/// output rows of about [`FORWARD_BAND_ELEMS`] elements (so the scratch stays small however
/// large the image), each band one parallel GEMM into its block of `y_n`'s columns.
pub(crate) fn conv2d_forward(
    geo: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let (k, p, o) = (geo.col_rows(), geo.positions(), geo.out_channels);
    let [oh, ow] = geo.output;
    let input_len = geo.channels * geo.plane();
    assert_eq!(x.len(), geo.batch * input_len, "conv2d_forward: x length");
    assert_eq!(weight.len(), o * k, "conv2d_forward: weight length");
    let mut y = vec![0.0f32; geo.batch * o * p];
    if let Some(bias) = bias {
        assert_eq!(bias.len(), o, "conv2d_forward: bias length");
        for (i, plane) in y.chunks_exact_mut(p).enumerate() {
            plane.fill(bias[i % o]);
        }
    }
    let weight = Matrix::row_major(weight, o, k);
    let band_rows = (FORWARD_BAND_ELEMS / (k * ow)).clamp(1, oh);
    let mut cols = if geo.is_pointwise() {
        Vec::new()
    } else {
        vec![0.0f32; k * band_rows * ow]
    };
    for (x_n, y_n) in x.chunks_exact(input_len).zip(y.chunks_exact_mut(o * p)) {
        if geo.is_pointwise() {
            let cols_n = Matrix::row_major(x_n, k, p);
            matmul(y_n, weight, cols_n, bias.is_some(), true);
            continue;
        }
        for start in (0..oh).step_by(band_rows) {
            let rows = start..(start + band_rows).min(oh);
            let len = rows.len() * ow;
            let band = &mut cols[..k * len];
            im2col_band(geo, x_n, rows, band);
            let band = Matrix::row_major(band, k, len);
            matmul_at(
                &mut y_n[start * ow..],
                p,
                weight,
                band,
                bias.is_some(),
                true,
            );
        }
    }
    y
}

/// Batch item `n`'s weight gradient `grad_y_n [O, P] · cols_nᵀ` restricted to the positions of
/// output rows `rows`, `[O, K]`, on the calling thread (its columns built for those rows only).
fn band_weight_grad(
    geo: &ConvGeometry,
    x_n: &[f32],
    grad_n: &[f32],
    rows: Range<usize>,
) -> Vec<f32> {
    let (o, k, p, ow) = (
        geo.out_channels,
        geo.col_rows(),
        geo.positions(),
        geo.output[1],
    );
    let (start, len) = (rows.start * ow, rows.len() * ow);
    let grad_band = Matrix::strided(&grad_n[start..], o, len, p, 1);
    let mut partial = vec![0.0f32; o * k];
    if geo.is_pointwise() {
        let cols_t = Matrix::strided(&x_n[start..], len, k, 1, p);
        matmul(&mut partial, grad_band, cols_t, false, false);
    } else {
        let mut cols = vec![0.0f32; k * len];
        for (tap_row, out) in cols.chunks_exact_mut(len).enumerate() {
            im2col_row(geo, x_n, tap_row, rows.clone(), out);
        }
        matmul(
            &mut partial,
            grad_band,
            Matrix::transposed(&cols, len, k),
            false,
            false,
        );
    }
    partial
}

/// Adds batch item `n`'s contribution `grad_y_n [O, P] · cols_nᵀ` to `grad_weight: [O, K]`
/// (zero before the first item).
///
/// A small weight gradient has too few output tiles for gemm's threads, and its reduction over
/// the positions is long: it is computed in bands of output rows (about [`BAND_ELEMS`] column
/// elements each) in parallel, [`BAND_GROUP`] bands at a time, whose partial gradients are then
/// added in band order. Otherwise the item's whole columns are built (in `cols`, resized as
/// needed) and gemm runs on rayon's threads.
fn add_weight_grad(
    geo: &ConvGeometry,
    x_n: &[f32],
    grad_n: &[f32],
    grad_weight: &mut [f32],
    first: bool,
    cols: &mut Vec<f32>,
) {
    let (o, k, p, ow) = (
        geo.out_channels,
        geo.col_rows(),
        geo.positions(),
        geo.output[1],
    );
    let band_rows = (BAND_ELEMS / (k * ow)).max(1);
    let oh = geo.output[0];
    if o * k <= BANDED_WEIGHT_GRAD && band_rows < oh {
        let bands: Vec<Range<usize>> = (0..oh)
            .step_by(band_rows)
            .map(|r| r..(r + band_rows).min(oh))
            .collect();
        for group in bands.chunks(BAND_GROUP) {
            let partials: Vec<Vec<f32>> = group
                .par_iter()
                .map(|rows| band_weight_grad(geo, x_n, grad_n, rows.clone()))
                .collect();
            for partial in &partials {
                for (g, v) in grad_weight.iter_mut().zip(partial) {
                    *g += *v;
                }
            }
        }
        return;
    }
    let cols_n = if geo.is_pointwise() {
        x_n
    } else {
        cols.resize(k * p, 0.0);
        im2col(geo, x_n, cols);
        cols.as_slice()
    };
    let grad_n = Matrix::row_major(grad_n, o, p);
    matmul(
        grad_weight,
        grad_n,
        Matrix::transposed(cols_n, p, k),
        !first,
        true,
    );
}

/// Adds the column gradient `dcols: [K, P]` into batch item `grad_x_n: [C, H, W]`, each value
/// into the input element its tap read (padding taps are dropped). Parallel over chunks of
/// whole channels; each channel sums its taps, output rows and columns in that order.
fn col2im(geo: &ConvGeometry, dcols: &[f32], grad_x_n: &mut [f32]) {
    let (p, taps, plane) = (geo.positions(), geo.taps(), geo.plane());
    let [_, w] = geo.input;
    let [ow_len, kw] = [geo.output[1], geo.kernel[1]];
    let [sh, sw] = geo.stride;
    let chunk = row_chunk_len(plane);
    let channels_per_chunk = chunk / plane;
    map_chunks(grad_x_n, chunk, |index, planes| {
        for (local, dst) in planes.chunks_exact_mut(plane).enumerate() {
            let c = index * channels_per_chunk + local;
            for tap in 0..taps {
                let k = c * taps + tap;
                let row = &dcols[k * p..(k + 1) * p];
                let (off_h, off_w) = (geo.offset(0, tap / kw), geo.offset(1, tap % kw));
                let (h_lo, h_hi) = geo.inside(0, off_h);
                let (w_lo, w_hi) = geo.inside(1, off_w);
                if w_lo == w_hi {
                    continue;
                }
                for oh in h_lo..h_hi {
                    let ih = ((oh * sh) as isize + off_h) as usize;
                    let dst_row = &mut dst[ih * w..(ih + 1) * w];
                    let src = &row[oh * ow_len..(oh + 1) * ow_len];
                    if sw == 1 {
                        let start = (w_lo as isize + off_w) as usize;
                        let dst_part = &mut dst_row[start..start + (w_hi - w_lo)];
                        for (d, s) in dst_part.iter_mut().zip(&src[w_lo..w_hi]) {
                            *d += *s;
                        }
                    } else {
                        for (ow, s) in src.iter().enumerate().take(w_hi).skip(w_lo) {
                            dst_row[((ow * sw) as isize + off_w) as usize] += *s;
                        }
                    }
                }
            }
        }
    });
}

/// The gradients of a convolution's input (`[N, C, H, W]`) and weight (`[O, C, KH, KW]`), each
/// computed only when asked for, from the contiguous input, weight and output gradient
/// (`[N, O, OH, OW]`) of the convolution `geo` describes.
pub(crate) fn conv2d_backward(
    geo: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    grad_y: &[f32],
    want_x: bool,
    want_weight: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let (k, p, o) = (geo.col_rows(), geo.positions(), geo.out_channels);
    let input_len = geo.channels * geo.plane();
    let grad_len = o * p;
    assert_eq!(x.len(), geo.batch * input_len, "conv2d_backward: x length");
    assert_eq!(weight.len(), o * k, "conv2d_backward: weight length");
    assert_eq!(
        grad_y.len(),
        geo.batch * grad_len,
        "conv2d_backward: output gradient length"
    );
    let pointwise = geo.is_pointwise();
    let mut cols = Vec::new();
    let mut dcols = if want_x && !pointwise {
        vec![0.0f32; k * p]
    } else {
        Vec::new()
    };
    let mut grad_x = want_x.then(|| vec![0.0f32; x.len()]);
    let mut grad_weight = want_weight.then(|| vec![0.0f32; weight.len()]);
    for n in 0..geo.batch {
        let x_n = &x[n * input_len..(n + 1) * input_len];
        let grad_n = &grad_y[n * grad_len..(n + 1) * grad_len];
        if let Some(grad_weight) = grad_weight.as_mut() {
            add_weight_grad(geo, x_n, grad_n, grad_weight, n == 0, &mut cols);
        }
        if let Some(grad_x) = grad_x.as_mut() {
            let grad_x_n = &mut grad_x[n * input_len..(n + 1) * input_len];
            // dcols_n [K, P] = weightᵀ [K, O] · grad_y_n [O, P].
            let weight_t = Matrix::transposed(weight, k, o);
            let grad_n = Matrix::row_major(grad_n, o, p);
            if pointwise {
                matmul(grad_x_n, weight_t, grad_n, false, true);
            } else {
                matmul(&mut dcols, weight_t, grad_n, false, true);
                col2im(geo, &dcols, grad_x_n);
            }
        }
    }
    (grad_x, grad_weight)
}

/// The sum of each channel of `grad_y: [N, O, P]` over batch and positions (the gradient of a
/// convolution's bias), `[O]`: each channel sums its planes in batch order, in parallel over
/// channels for large buffers.
pub(crate) fn channel_sums(
    grad_y: &[f32],
    batch: usize,
    channels: usize,
    positions: usize,
) -> Vec<f32> {
    assert_eq!(
        grad_y.len(),
        batch * channels * positions,
        "channel_sums: buffer length"
    );
    let channel = |o: usize| {
        (0..batch).fold(0.0f32, |acc, n| {
            let start = (n * channels + o) * positions;
            acc + sum(&grad_y[start..start + positions])
        })
    };
    if grad_y.len() <= SERIAL_ELEMS {
        (0..channels).map(channel).collect()
    } else {
        (0..channels).into_par_iter().map(channel).collect()
    }
}
