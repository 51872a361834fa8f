//! The 2×2 stride-2 transposed convolution: the Flex forward and backward kernels against
//! burn-flex's `conv_transpose2d` and burn's default backward ops (contiguous and permuted
//! inputs); gradients through `dispatch::conv_transpose2d` on `Autodiff<Flex>` (the fused node)
//! against burn's own `ConvTranspose2d::forward` on the same backend, with and without a bias,
//! frozen weights and untracked inputs included; bit-identical reruns; and every other
//! transposed convolution (another kernel, stride, padding, output padding, dilation, groups)
//! taking burn's path.

use burn::module::Param;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensorOps, ModuleOps};
use burn::tensor::{Tensor, TensorData, TensorMetadata, TensorPrimitive};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn_flex::{Flex, FlexTensor};
use echoone_kernels::{FusedOps, conv_transpose2d_2x2_options, dispatch};

use crate::common::{Rng, assert_bits_eq, assert_close, random_prim, tensor_values, values};

/// burn-flex under autodiff: `dispatch::conv_transpose2d` runs the fused node.
type Fused = Autodiff<Flex>;
/// burn-flex under another checkpointing strategy: `dispatch` runs burn's op.
type Other = Autodiff<Flex, BalancedCheckpointing>;

/// One 2×2 stride-2 transposed convolution's sizes.
#[derive(Clone, Copy, Debug)]
struct Case {
    batch: usize,
    in_channels: usize,
    size: [usize; 2],
    out_channels: usize,
}

impl Case {
    /// The input shape `[N, Ci, H, W]`.
    fn x_shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.size[0], self.size[1]]
    }

    /// The weight shape `[Ci, Co, 2, 2]`.
    fn weight_shape(&self) -> [usize; 4] {
        [self.in_channels, self.out_channels, 2, 2]
    }

    /// The output shape `[N, Co, 2H, 2W]`.
    fn y_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            2 * self.size[0],
            2 * self.size[1],
        ]
    }
}

/// A case from its fields in order.
const fn case(batch: usize, in_channels: usize, size: [usize; 2], out_channels: usize) -> Case {
    Case {
        batch,
        in_channels,
        size,
        out_channels,
    }
}

/// Batches of 1 to 3, one to 130 channels, 1×1 to 64×64 inputs, odd and mixed sides; the later
/// ones large enough for the parallel shuffles and products, for the weight gradient summed from
/// bands of positions (small weights: in several bands per item, or one per item) and as one
/// product per item (a weight of more than 2^16 elements); the prior U-Net's and SAM's output
/// upscaling's channel counts among them.
const CASES: &[Case] = &[
    case(1, 1, [1, 1], 1),
    case(3, 1, [1, 1], 4),
    case(1, 3, [2, 5], 2),
    case(3, 7, [5, 3], 5),
    case(2, 16, [9, 7], 8),
    case(1, 64, [16, 16], 32),
    case(3, 128, [8, 8], 64),
    case(2, 130, [6, 6], 130),
    case(1, 8, [64, 64], 4),
    case(2, 32, [64, 64], 16),
    case(3, 64, [32, 32], 32),
];

/// Root mean square of `v` (the scale of a result, for an absolute tolerance).
fn rms(v: &[f32]) -> f32 {
    let sq: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
    (sq / v.len().max(1) as f64).sqrt() as f32
}

/// Asserts `a` is within 1e-5 relative of `b`, with an absolute floor of 1e-5 of `b`'s scale for
/// elements near zero (sums of many terms in different orders).
fn assert_close_scaled(what: &str, a: &[f32], b: &[f32]) {
    assert_close(what, a, b, 1e-5 * rms(b) + 1e-7, 1e-5);
}

/// Random x, weight, bias and output gradient of `case` on Flex.
fn flex_inputs(rng: &mut Rng, case: &Case) -> [FlexTensor; 4] {
    [
        random_prim(rng, &case.x_shape(), 1.0, 0.0),
        random_prim(rng, &case.weight_shape(), 1.0, 0.0),
        random_prim(rng, &[case.out_channels], 1.0, 0.0),
        random_prim(rng, &case.y_shape(), 1.0, 0.0),
    ]
}

#[test]
fn flex_forward_matches_burn_flexs_own() {
    let mut rng = Rng::new(60);
    for case in CASES {
        let [x, weight, bias, _] = flex_inputs(&mut rng, case);
        for bias in [None, Some(bias)] {
            let fused = Flex::fused_conv_transpose2d_2x2(x.clone(), weight.clone(), bias.clone());
            let own = Flex::conv_transpose2d(
                x.clone(),
                weight.clone(),
                bias.clone(),
                conv_transpose2d_2x2_options(),
            );
            assert_eq!(fused.shape(), own.shape(), "{case:?}: output shape");
            assert_eq!(fused.shape().as_slice(), case.y_shape(), "{case:?}: shape");
            let what = format!("{case:?} forward, bias {}", bias.is_some());
            assert_close_scaled(&what, &values(fused), &values(own));
        }
    }
}

#[test]
fn flex_backward_matches_burns_default() {
    let mut rng = Rng::new(61);
    let options = conv_transpose2d_2x2_options;
    for case in CASES {
        let [x, weight, bias, grad] = flex_inputs(&mut rng, case);
        let (fx, fw) =
            Flex::fused_conv_transpose2d_2x2_backward(x.clone(), weight.clone(), grad.clone());
        let rx = Flex::conv_transpose2d_x_backward(weight.clone(), grad.clone(), options());
        let rw = Flex::conv_transpose2d_weight_backward(
            x.clone(),
            weight.clone(),
            grad.clone(),
            options(),
        );
        assert_eq!(fx.shape(), x.shape(), "{case:?}: grad x shape");
        assert_eq!(fw.shape(), weight.shape(), "{case:?}: grad weight shape");
        let (fx, fw) = (values(fx), values(fw));
        assert_close_scaled(&format!("{case:?} grad x"), &fx, &values(rx));
        assert_close_scaled(&format!("{case:?} grad weight"), &fw, &values(rw));

        // The halves alone are the combined backward's halves, bit for bit.
        let x_only = Flex::fused_conv_transpose2d_2x2_x_backward(weight.clone(), grad.clone());
        let w_only =
            Flex::fused_conv_transpose2d_2x2_weight_backward(x.clone(), weight, grad.clone());
        assert_bits_eq(&format!("{case:?} grad x alone"), &values(x_only), &fx);
        assert_bits_eq(&format!("{case:?} grad weight alone"), &values(w_only), &fw);

        let fb = values(Flex::fused_conv2d_bias_backward(grad.clone()));
        let rb = values(Flex::conv_transpose2d_bias_backward(x, bias, grad));
        assert_close_scaled(&format!("{case:?} grad bias"), &fb, &rb);
    }
}

#[test]
fn flex_kernels_take_non_contiguous_tensors() {
    let mut rng = Rng::new(62);
    let case = case(3, 6, [7, 5], 4);
    // x stored as [N, H, W, C] and seen as [N, C, H, W]; the output gradient likewise.
    let permuted = |rng: &mut Rng, [n, c, h, w]: [usize; 4]| {
        let stored = random_prim(rng, &[n, h, w, c], 1.0, 0.0);
        Flex::float_permute(stored, &[0, 3, 1, 2])
    };
    let x = permuted(&mut rng, case.x_shape());
    let grad = permuted(&mut rng, case.y_shape());
    assert!(!x.is_contiguous() && !grad.is_contiguous());
    let weight = random_prim(&mut rng, &case.weight_shape(), 1.0, 0.0);
    let bias = random_prim(&mut rng, &[case.out_channels], 1.0, 0.0);
    let options = conv_transpose2d_2x2_options;

    let fused = Flex::fused_conv_transpose2d_2x2(x.clone(), weight.clone(), Some(bias.clone()));
    let own = Flex::conv_transpose2d(x.clone(), weight.clone(), Some(bias), options());
    assert_close_scaled("permuted x: forward", &values(fused), &values(own));

    let (fx, fw) =
        Flex::fused_conv_transpose2d_2x2_backward(x.clone(), weight.clone(), grad.clone());
    let rx = Flex::conv_transpose2d_x_backward(weight.clone(), grad.clone(), options());
    let rw = Flex::conv_transpose2d_weight_backward(x, weight, grad, options());
    assert_close_scaled("permuted: grad x", &values(fx), &values(rx));
    assert_close_scaled("permuted: grad weight", &values(fw), &values(rw));
}

/// The options of a transposed convolution module, beyond its channels.
#[derive(Clone, Copy, Debug)]
struct Options {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    padding_out: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
}

/// The 2×2 stride-2 module the fused op computes.
const TWO_BY_TWO: Options = Options {
    kernel: [2, 2],
    stride: [2, 2],
    padding: [0, 0],
    padding_out: [0, 0],
    dilation: [1, 1],
    groups: 1,
};

/// A `ConvTranspose2d` on `B` from `in_channels` to `out_channels` with `options`, random
/// weight and bias values from `rng` (no bias when `bias` is false), trainable or frozen.
fn module<B: Backend>(
    rng: &mut Rng,
    [in_channels, out_channels]: [usize; 2],
    options: &Options,
    bias: bool,
    trainable: bool,
) -> ConvTranspose2d<B> {
    let device = Default::default();
    let mut conv = ConvTranspose2dConfig::new([in_channels, out_channels], options.kernel)
        .with_stride(options.stride)
        .with_padding(options.padding)
        .with_padding_out(options.padding_out)
        .with_dilation(options.dilation)
        .with_groups(options.groups)
        .with_bias(bias)
        .init::<B>(&device);
    let shape = conv.weight.shape();
    let weight = Tensor::from_data(
        TensorData::new(rng.vec(shape.num_elements(), 0.5, 0.0), shape),
        &device,
    );
    conv.weight = Param::from_tensor(weight).set_require_grad(trainable);
    conv.bias = bias.then(|| {
        let b = Tensor::from_data(
            TensorData::new(rng.vec(out_channels, 0.5, 0.0), [out_channels]),
            &device,
        );
        Param::from_tensor(b).set_require_grad(trainable)
    });
    conv
}

/// Which path a test runs: `dispatch::conv_transpose2d`, or the module's own forward.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Dispatch,
    Module,
}

/// The output and the gradients (`None` where untracked) of x, weight and bias of the module
/// of `options` under a fixed random weighting of the output, by `path`.
fn grads<B: AutodiffBackend>(
    channels: [usize; 2],
    x_shape: [usize; 4],
    options: &Options,
    seed: u64,
    (bias, track_x, trainable): (bool, bool, bool),
    path: Path,
) -> Vec<Option<Vec<f32>>> {
    let mut rng = Rng::new(seed);
    let conv = module::<B>(&mut rng, channels, options, bias, trainable);
    let xv = rng.vec(x_shape.iter().product(), 1.0, 0.0);
    let x = Tensor::<B, 4>::from_data(TensorData::new(xv, x_shape), &Default::default());
    let x = if track_x { x.require_grad() } else { x };
    let y = match path {
        Path::Dispatch => dispatch::conv_transpose2d(&conv, x.clone()),
        Path::Module => conv.forward(x.clone()),
    };
    if !track_x && !trainable {
        // Nothing to differentiate: the output alone.
        return vec![Some(tensor_values(y)), None, None, None];
    }
    let weighting = Tensor::<B, 4>::from_data(
        TensorData::new(rng.vec(y.shape().num_elements(), 1.0, 0.0), y.shape()),
        &Default::default(),
    );
    let grads = (y.clone() * weighting).sum().backward();
    vec![
        Some(tensor_values(y)),
        x.grad(&grads).map(tensor_values),
        conv.weight.val().grad(&grads).map(tensor_values),
        conv.bias
            .as_ref()
            .and_then(|b| b.val().grad(&grads))
            .map(tensor_values),
    ]
}

/// The names of [`grads`]' results.
const NAMES: [&str; 4] = ["output", "grad x", "grad weight", "grad bias"];

/// Asserts the fused node's output and gradients match burn's op's on `Autodiff<Flex>`, and
/// that exactly the tracked ones exist.
fn assert_grads_match(case: &Case, bias: bool, track_x: bool, trainable: bool) {
    let channels = [case.in_channels, case.out_channels];
    let flags = (bias, track_x, trainable);
    let run = |path| grads::<Fused>(channels, case.x_shape(), &TWO_BY_TWO, 71, flags, path);
    let (fused, burn) = (run(Path::Dispatch), run(Path::Module));
    let expected = [true, track_x, trainable, trainable && bias];
    for (((a, b), name), present) in fused.iter().zip(&burn).zip(NAMES).zip(expected) {
        let what =
            format!("{case:?} (bias {bias}, x tracked {track_x}, trainable {trainable}): {name}");
        match (a, b) {
            (Some(a), Some(b)) => assert_close_scaled(&what, a, b),
            (None, None) => {}
            _ => panic!("{what}: one path has a gradient, the other not"),
        }
        assert_eq!(a.is_some(), present, "{what}: presence");
    }
}

#[test]
fn autodiff_gradients_match_burns_conv_transpose() {
    for case in CASES {
        for bias in [true, false] {
            assert_grads_match(case, bias, true, true);
        }
    }
}

#[test]
fn untracked_input_and_frozen_weights() {
    for case in [CASES[3], CASES[6], CASES[9]] {
        for bias in [true, false] {
            // The first layer on an image: only the weight and bias gradients.
            assert_grads_match(&case, bias, false, true);
            // A frozen layer inside a trained model: only the input gradient.
            assert_grads_match(&case, bias, true, false);
            // Nothing tracked: the output alone.
            assert_grads_match(&case, bias, false, false);
        }
    }
}

#[test]
fn dispatch_forward_matches_the_module_without_autodiff() {
    let mut rng = Rng::new(63);
    for case in [CASES[4], CASES[8]] {
        let conv = module::<Flex>(
            &mut rng,
            [case.in_channels, case.out_channels],
            &TWO_BY_TWO,
            true,
            true,
        );
        let x = random_prim(&mut rng, &case.x_shape(), 1.0, 0.0);
        let x = Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(x));
        let fused = tensor_values(dispatch::conv_transpose2d(&conv, x.clone()));
        let reference = tensor_values(conv.forward(x));
        assert_close_scaled(&format!("{case:?} on Flex"), &fused, &reference);
    }
}

#[test]
fn other_transposed_convolutions_take_burns_path() {
    let base = TWO_BY_TWO;
    let others = [
        Options {
            kernel: [3, 3],
            ..base
        },
        Options {
            stride: [1, 1],
            ..base
        },
        Options {
            stride: [2, 1],
            ..base
        },
        Options {
            padding: [1, 0],
            ..base
        },
        Options {
            padding_out: [1, 1],
            ..base
        },
        Options {
            dilation: [2, 2],
            ..base
        },
        Options { groups: 2, ..base },
    ];
    for options in &others {
        // burn's path: the same values and gradients as the module's forward, bit for bit.
        let run =
            |path| grads::<Fused>([4, 6], [2, 4, 5, 6], options, 81, (true, true, true), path);
        let (dispatched, module) = (run(Path::Dispatch), run(Path::Module));
        for ((a, b), name) in dispatched.iter().zip(&module).zip(NAMES) {
            let (a, b) = (a.as_ref().expect(name), b.as_ref().expect(name));
            assert_bits_eq(&format!("{options:?}: {name}"), a, b);
        }
    }
    // A backend dispatch does not know: burn's path for the 2×2 module too.
    let run = |path| {
        grads::<Other>(
            [4, 6],
            [2, 4, 5, 6],
            &TWO_BY_TWO,
            82,
            (true, true, true),
            path,
        )
    };
    let (dispatched, module) = (run(Path::Dispatch), run(Path::Module));
    for ((a, b), name) in dispatched.iter().zip(&module).zip(NAMES) {
        let (a, b) = (a.as_ref().expect(name), b.as_ref().expect(name));
        assert_bits_eq(&format!("other backend: {name}"), a, b);
    }
}

#[test]
fn forward_and_backward_are_bit_identical_across_runs() {
    let mut rng = Rng::new(64);
    for case in [
        case(3, 64, [64, 64], 32),
        case(3, 128, [32, 32], 64),
        case(2, 130, [20, 20], 130),
    ] {
        let [x, weight, bias, grad] = flex_inputs(&mut rng, &case);
        let run = || {
            let y = Flex::fused_conv_transpose2d_2x2(x.clone(), weight.clone(), Some(bias.clone()));
            let (gx, gw) =
                Flex::fused_conv_transpose2d_2x2_backward(x.clone(), weight.clone(), grad.clone());
            let gb = Flex::fused_conv2d_bias_backward(grad.clone());
            [values(y), values(gx), values(gw), values(gb)]
        };
        let (first, second) = (run(), run());
        for ((a, b), name) in first.iter().zip(&second).zip(NAMES) {
            assert_bits_eq(&format!("{case:?} {name}"), a, b);
        }
    }
    // Through the autodiff node as the model runs it.
    let channels = [64, 32];
    let run = || {
        grads::<Fused>(
            channels,
            [3, 64, 48, 40],
            &TWO_BY_TWO,
            83,
            (true, true, true),
            Path::Dispatch,
        )
    };
    let (first, second) = (run(), run());
    for ((a, b), name) in first.iter().zip(&second).zip(NAMES) {
        let (a, b) = (a.as_ref().expect(name), b.as_ref().expect(name));
        assert_bits_eq(&format!("autodiff {name}"), a, b);
    }
}
