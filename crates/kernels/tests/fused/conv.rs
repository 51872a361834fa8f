//! conv2d: the Flex forward and backward kernels against burn-flex's conv2d and burn's default
//! backward ops; gradients through
//! `dispatch::conv2d` on `Autodiff<Flex>` (the fused node) against burn's own conv on
//! `Autodiff<Flex, BalancedCheckpointing>` (a backend dispatch does not know), frozen weights
//! and untracked inputs included; `dispatch::conv2d`'s forward against `Conv2d::forward`; and
//! bit-identical reruns.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{ConvOptions, FloatTensorOps, ModuleOps};
use burn::tensor::{Tensor, TensorData, TensorMetadata};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn_flex::{Flex, FlexTensor};
use echoone_kernels::{FusedOps, dispatch};

use crate::common::{Rng, assert_bits_eq, assert_close, prim, random_prim, tensor_values, values};

/// burn-flex under autodiff: `dispatch::conv2d` runs the fused node.
type Fused = Autodiff<Flex>;
/// burn-flex under another checkpointing strategy: `dispatch::conv2d` runs burn's conv.
type Other = Autodiff<Flex, BalancedCheckpointing>;

/// One convolution's sizes and options.
#[derive(Clone, Copy, Debug)]
struct Case {
    batch: usize,
    channels: usize,
    size: [usize; 2],
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
}

impl Case {
    /// The case's input shape.
    fn x_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.size[0], self.size[1]]
    }

    /// The case's weight shape.
    fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.channels,
            self.kernel[0],
            self.kernel[1],
        ]
    }

    /// The case's options (one group).
    fn options(&self) -> ConvOptions<2> {
        ConvOptions::new(self.stride, self.padding, self.dilation, 1)
    }
}

/// A case from its fields in order.
#[allow(clippy::too_many_arguments)]
const fn case(
    batch: usize,
    channels: usize,
    size: [usize; 2],
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> Case {
    Case {
        batch,
        channels,
        size,
        out_channels,
        kernel,
        stride,
        padding,
        dilation,
    }
}

/// Kernels 1×1 (pointwise and strided), 3×3 with padding 1, 3×3 stride 2, an 8×8 stride 8 patch
/// embedding, dilation 2, odd and mixed sizes, windows that read only padding, input rows no
/// window reads, one to 32 channels, batches of one to three; the last three are large enough
/// for the parallel paths (im2col, col2im, GEMMs, the weight gradient in bands of output rows,
/// strided and pointwise).
const CASES: &[Case] = &[
    case(2, 5, [7, 9], 3, [1, 1], [1, 1], [0, 0], [1, 1]),
    case(1, 4, [9, 8], 6, [1, 1], [2, 2], [0, 0], [1, 1]),
    case(3, 16, [13, 11], 8, [3, 3], [1, 1], [1, 1], [1, 1]),
    case(2, 7, [15, 12], 5, [3, 3], [2, 2], [1, 1], [1, 1]),
    case(2, 3, [32, 24], 16, [8, 8], [8, 8], [0, 0], [1, 1]),
    case(1, 6, [11, 14], 4, [3, 3], [1, 1], [2, 2], [2, 2]),
    case(2, 1, [17, 10], 2, [5, 3], [2, 1], [2, 0], [1, 2]),
    case(1, 2, [5, 4], 3, [3, 3], [3, 3], [3, 3], [1, 1]),
    case(1, 3, [8, 10], 2, [3, 3], [2, 2], [0, 0], [1, 1]),
    case(3, 1, [6, 6], 1, [2, 2], [1, 1], [0, 0], [1, 1]),
    case(2, 32, [40, 36], 32, [3, 3], [1, 1], [1, 1], [1, 1]),
    case(1, 8, [130, 129], 6, [3, 3], [2, 2], [1, 1], [1, 1]),
    case(1, 4, [260, 256], 4, [1, 1], [1, 1], [0, 0], [1, 1]),
];

/// Root mean square of `v` (the scale of a result, for an absolute tolerance).
fn rms(v: &[f32]) -> f32 {
    let sq: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
    (sq / v.len().max(1) as f64).sqrt() as f32
}

/// Asserts `a` is within 1e-4 relative of `b`, with an absolute floor of 1e-4 of `b`'s scale for
/// elements near zero (sums of many terms in different orders).
fn assert_close_scaled(what: &str, a: &[f32], b: &[f32]) {
    assert_close(what, a, b, 1e-4 * rms(b) + 1e-7, 1e-4);
}

/// Random x, weight and output gradient of `case` on Flex.
fn flex_inputs(rng: &mut Rng, case: &Case) -> (FlexTensor, FlexTensor, FlexTensor) {
    let x = random_prim(rng, &case.x_shape(), 1.0, 0.0);
    let weight = random_prim(rng, &case.weight_shape(), 1.0, 0.0);
    let y = Flex::conv2d(x.clone(), weight.clone(), None, case.options());
    let grad = random_prim(rng, y.shape().as_slice(), 1.0, 0.0);
    (x, weight, grad)
}

#[test]
fn flex_backward_matches_burns_default() {
    let mut rng = Rng::new(41);
    for case in CASES {
        let (x, weight, grad) = flex_inputs(&mut rng, case);
        let options = case.options();
        let (fx, fw) =
            Flex::fused_conv2d_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
        let rx = Flex::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
        let rw =
            Flex::conv2d_weight_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
        assert_eq!(fx.shape(), x.shape(), "{case:?}: grad x shape");
        assert_eq!(fw.shape(), weight.shape(), "{case:?}: grad weight shape");
        let (fx, fw) = (values(fx), values(fw));
        assert_close_scaled(&format!("{case:?} grad x"), &fx, &values(rx));
        assert_close_scaled(&format!("{case:?} grad weight"), &fw, &values(rw));

        // The halves alone are the combined backward's halves, bit for bit.
        let x_only =
            Flex::fused_conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
        let w_only = Flex::fused_conv2d_weight_backward(x.clone(), weight, grad.clone(), options);
        assert_bits_eq(&format!("{case:?} grad x alone"), &values(x_only), &fx);
        assert_bits_eq(&format!("{case:?} grad weight alone"), &values(w_only), &fw);

        let bias = random_prim(&mut rng, &[case.out_channels], 1.0, 0.0);
        let fb = values(Flex::fused_conv2d_bias_backward(grad.clone()));
        let rb = values(Flex::conv2d_bias_backward(x, bias, grad));
        assert_close_scaled(&format!("{case:?} grad bias"), &fb, &rb);
    }
}

#[test]
fn flex_forward_matches_burn_flexs_own() {
    let mut rng = Rng::new(40);
    // The forward builds its columns in bands of output rows: this one takes six, the last short.
    let banded = case(1, 32, [200, 190], 8, [3, 3], [1, 1], [1, 1], [1, 1]);
    for case in CASES.iter().chain([&banded]) {
        let x = random_prim(&mut rng, &case.x_shape(), 1.0, 0.0);
        let weight = random_prim(&mut rng, &case.weight_shape(), 1.0, 0.0);
        let bias = random_prim(&mut rng, &[case.out_channels], 1.0, 0.0);
        for bias in [None, Some(bias)] {
            let options = case.options();
            let fused =
                Flex::fused_conv2d(x.clone(), weight.clone(), bias.clone(), options.clone());
            let own = Flex::conv2d(x.clone(), weight.clone(), bias.clone(), options);
            assert_eq!(fused.shape(), own.shape(), "{case:?}: output shape");
            let what = format!("{case:?} forward, bias {}", bias.is_some());
            assert_close_scaled(&what, &values(fused), &values(own));
        }
    }
    // A permuted (non-contiguous) input.
    let x = random_prim(&mut rng, &[2, 9, 7, 6], 1.0, 0.0);
    let x = Flex::float_permute(x, &[0, 3, 1, 2]);
    let weight = random_prim(&mut rng, &[4, 6, 3, 3], 1.0, 0.0);
    let options = ConvOptions::new([1, 2], [1, 1], [1, 1], 1);
    let fused = Flex::fused_conv2d(x.clone(), weight.clone(), None, options.clone());
    let own = Flex::conv2d(x, weight, None, options);
    assert_close_scaled("permuted input forward", &values(fused), &values(own));
}

#[test]
fn flex_backward_takes_non_contiguous_inputs() {
    let mut rng = Rng::new(42);
    let case = case(2, 6, [9, 7], 4, [3, 3], [1, 2], [1, 1], [1, 1]);
    // x stored as [N, H, C, W] and seen as [N, C, H, W].
    let [n, c, h, w] = case.x_shape();
    let stored: Tensor<Flex, 4> = Tensor::from_data(
        TensorData::new(rng.vec(n * c * h * w, 1.0, 0.0), [n, h, c, w]),
        &Default::default(),
    );
    let x = stored.swap_dims(1, 2).into_primitive().tensor();
    let weight = random_prim(&mut rng, &case.weight_shape(), 1.0, 0.0);
    let y = Flex::conv2d(x.clone(), weight.clone(), None, case.options());
    let grad = random_prim(&mut rng, y.shape().as_slice(), 1.0, 0.0);
    let options = case.options();
    let (fx, fw) =
        Flex::fused_conv2d_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
    let rx = Flex::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
    let rw = Flex::conv2d_weight_backward(x, weight, grad, options);
    assert_close_scaled("strided x: grad x", &values(fx), &values(rx));
    assert_close_scaled("strided x: grad weight", &values(fw), &values(rw));
}

#[test]
fn grouped_convolutions_take_burns_default() {
    let mut rng = Rng::new(43);
    let x = random_prim(&mut rng, &[2, 4, 7, 6], 1.0, 0.0);
    let weight = random_prim(&mut rng, &[6, 2, 3, 3], 1.0, 0.0);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
    let y = Flex::conv2d(x.clone(), weight.clone(), None, options.clone());
    let grad = random_prim(&mut rng, y.shape().as_slice(), 1.0, 0.0);
    let (fx, fw) =
        Flex::fused_conv2d_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
    let rx = Flex::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
    let rw = Flex::conv2d_weight_backward(x, weight, grad, options);
    assert_bits_eq("groups 2: grad x", &values(fx), &values(rx));
    assert_bits_eq("groups 2: grad weight", &values(fw), &values(rw));
}

/// A `Conv2d` on `B` with the given weight and bias values, padding and trainability.
fn module<B: Backend>(
    case: &Case,
    padding: PaddingConfig2d,
    weight: &[f32],
    bias: Option<&[f32]>,
    trainable: bool,
) -> Conv2d<B> {
    let device = Default::default();
    let mut conv = Conv2dConfig::new([case.channels, case.out_channels], case.kernel)
        .with_stride(case.stride)
        .with_dilation(case.dilation)
        .with_padding(padding)
        .with_bias(bias.is_some())
        .init::<B>(&device);
    let weight = Tensor::from_data(
        TensorData::new(weight.to_vec(), case.weight_shape()),
        &device,
    );
    conv.weight = Param::from_tensor(weight).set_require_grad(trainable);
    conv.bias = bias.map(|b| {
        let b = Tensor::from_data(TensorData::new(b.to_vec(), [case.out_channels]), &device);
        Param::from_tensor(b).set_require_grad(trainable)
    });
    conv
}

/// The padding config of `case`'s symmetric padding.
fn explicit(case: &Case) -> PaddingConfig2d {
    let [h, w] = case.padding;
    PaddingConfig2d::Explicit(h, w, h, w)
}

/// The output and the gradients (`None` where untracked) of x, weight and bias of
/// `dispatch::conv2d` under a fixed random weighting of the output.
fn conv_grads<B: AutodiffBackend>(
    case: &Case,
    seed: u64,
    track_x: bool,
    trainable: bool,
) -> Vec<Option<Vec<f32>>> {
    let mut rng = Rng::new(seed);
    let x_len = case.x_shape().iter().product();
    let xv = rng.vec(x_len, 1.0, 0.0);
    let wv = rng.vec(case.weight_shape().iter().product(), 0.5, 0.0);
    let bv = rng.vec(case.out_channels, 0.5, 0.0);
    let conv = module::<B>(case, explicit(case), &wv, Some(&bv), trainable);
    let x = Tensor::<B, 4>::from_data(TensorData::new(xv, case.x_shape()), &Default::default());
    let x = if track_x { x.require_grad() } else { x };
    let y = dispatch::conv2d(&conv, x.clone());
    if !track_x && !trainable {
        // Nothing to differentiate: the output alone.
        return vec![Some(tensor_values(y)), None, None, None];
    }
    let weighting = Tensor::<B, 4>::from_data(
        TensorData::new(rng.vec(y.shape().num_elements(), 1.0, 0.0), y.shape()),
        &Default::default(),
    );
    let grads = (y.clone() * weighting).sum().backward();
    let bias = conv.bias.as_ref().expect("a bias").val();
    vec![
        Some(tensor_values(y)),
        x.grad(&grads).map(tensor_values),
        conv.weight.val().grad(&grads).map(tensor_values),
        bias.grad(&grads).map(tensor_values),
    ]
}

/// Asserts the fused node's output and gradients match burn's conv's, and that exactly the
/// tracked ones exist.
fn assert_grads_match(case: &Case, track_x: bool, trainable: bool) {
    let fused = conv_grads::<Fused>(case, 51, track_x, trainable);
    let other = conv_grads::<Other>(case, 51, track_x, trainable);
    let expected = [true, track_x, trainable, trainable];
    let names = ["output", "grad x", "grad weight", "grad bias"];
    for (((a, b), name), present) in fused.iter().zip(&other).zip(names).zip(expected) {
        let what = format!("{case:?} (x tracked {track_x}, trainable {trainable}): {name}");
        match (a, b) {
            (Some(a), Some(b)) => assert_close_scaled(&what, a, b),
            (None, None) => {}
            _ => panic!("{what}: one path has a gradient, the other not"),
        }
        assert_eq!(a.is_some(), present, "{what}: presence");
    }
}

#[test]
fn autodiff_gradients_match_burns_conv() {
    for case in CASES {
        assert_grads_match(case, true, true);
    }
}

#[test]
fn untracked_input_and_frozen_weights() {
    for case in [CASES[2], CASES[4], CASES[6]] {
        // The first conv on an image: only the weight and bias gradients.
        assert_grads_match(&case, false, true);
        // A frozen conv inside a trained model: only the input gradient.
        assert_grads_match(&case, true, false);
        // Nothing tracked: the output alone.
        assert_grads_match(&case, false, false);
    }
}

#[test]
fn dispatch_forward_matches_the_module() {
    let mut rng = Rng::new(44);
    let paddings = [
        PaddingConfig2d::Valid,
        PaddingConfig2d::Same,
        PaddingConfig2d::Explicit(1, 2, 1, 2),
        // Asymmetric: dispatch falls back to the module's forward.
        PaddingConfig2d::Explicit(0, 1, 2, 1),
    ];
    let cases = [
        case(2, 3, [10, 9], 4, [3, 3], [1, 1], [0, 0], [1, 1]),
        // Same with an even kernel and a stride: asymmetric padding.
        case(1, 2, [9, 8], 3, [4, 2], [2, 2], [0, 0], [1, 1]),
        case(1, 2, [12, 11], 3, [3, 5], [1, 2], [0, 0], [2, 1]),
    ];
    for case in &cases {
        for padding in &paddings {
            let wv = rng.vec(case.weight_shape().iter().product(), 1.0, 0.0);
            let bv = rng.vec(case.out_channels, 1.0, 0.0);
            let x = prim(
                rng.vec(case.x_shape().iter().product(), 1.0, 0.0),
                &case.x_shape(),
            );
            let x = Tensor::<Flex, 4>::from_primitive(burn::tensor::TensorPrimitive::Float(x));
            let conv = module::<Flex>(case, padding.clone(), &wv, Some(&bv), true);
            let fused = tensor_values(dispatch::conv2d(&conv, x.clone()));
            let reference = tensor_values(conv.forward(x.clone()));
            assert_close_scaled(&format!("{case:?} {padding:?} on Flex"), &fused, &reference);

            let conv = module::<Fused>(case, padding.clone(), &wv, Some(&bv), true);
            let x = Tensor::<Fused, 4>::from_inner(x);
            let fused = tensor_values(dispatch::conv2d(&conv, x.clone()));
            let reference = tensor_values(conv.forward(x));
            assert_close_scaled(
                &format!("{case:?} {padding:?} on autodiff"),
                &fused,
                &reference,
            );
        }
    }
}

#[test]
fn forward_and_backward_are_bit_identical_across_runs() {
    let mut rng = Rng::new(45);
    for case in [
        case(2, 32, [48, 44], 24, [3, 3], [1, 1], [1, 1], [1, 1]),
        case(3, 16, [50, 41], 8, [3, 3], [2, 2], [1, 1], [1, 1]),
        case(1, 32, [200, 190], 8, [3, 3], [1, 1], [1, 1], [1, 1]),
    ] {
        let (x, weight, grad) = flex_inputs(&mut rng, &case);
        let bias = random_prim(&mut rng, &[case.out_channels], 1.0, 0.0);
        let run = || {
            let y = Flex::fused_conv2d(
                x.clone(),
                weight.clone(),
                Some(bias.clone()),
                case.options(),
            );
            let (gx, gw) = Flex::fused_conv2d_backward(
                x.clone(),
                weight.clone(),
                grad.clone(),
                case.options(),
            );
            let gb = Flex::fused_conv2d_bias_backward(grad.clone());
            [values(y), values(gx), values(gw), values(gb)]
        };
        let (first, second) = (run(), run());
        let names = ["output", "grad x", "grad weight", "grad bias"];
        for ((a, b), name) in first.iter().zip(&second).zip(names) {
            assert_bits_eq(&format!("{case:?} {name}"), a, b);
        }
    }
}
