//! [`FusedOps`] under burn-autodiff: one graph node per fused op, whose backward calls the inner
//! backend's fused backward.
//!
//! The nodes are compute bound (their inputs are checkpointed, never recomputed from a retro
//! forward). A node has one parent per tensor input, the optional ones (softmax bias, LayerNorm
//! beta, conv2d and transposed convolution bias) last, so one `Backward` impl generic over the parent count serves both
//! cases. A backward computes only the gradients of its tracked parents.

use burn::tensor::ops::{ConvOptions, FloatTensor};
use burn::tensor::{Shape, TensorMetadata};
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind, broadcast_shape};
use burn_autodiff::{Autodiff, NodeId};

use crate::fused::FusedOps;

/// Backward of `softmax(x * scale + bias)`; parents `[x]` or `[x, bias]`.
#[derive(Debug)]
struct SoftmaxBackward;

impl<B: FusedOps, const N: usize> Backward<B, N> for SoftmaxBackward {
    /// The softmax output, the scale, and the shapes of x and bias (which the composed path
    /// may have broadcast to the output's: their gradients are summed back to them).
    type State = (FloatTensor<B>, f32, Shape, Option<Shape>);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (y, scale, x_shape, bias_shape) = ops.state;
        let bias_shape = bias_shape.unwrap_or_else(|| x_shape.clone());
        let register = |grads: &mut Gradients, id, grad, shape: &Shape| {
            grads.register::<B>(id, broadcast_shape::<B>(grad, shape));
        };
        let mut parents = ops.parents.into_iter();
        let node_x = parents.next().flatten();
        let node_bias = parents.next().flatten();
        match (node_x, node_bias) {
            (Some(x), Some(bias)) if scale == 1.0 => {
                let dz = B::fused_softmax_backward(y, grad);
                register(grads, x.id, dz.clone(), &x_shape);
                register(grads, bias.id, dz, &bias_shape);
            }
            (Some(x), Some(bias)) => {
                let dz = B::fused_softmax_backward(y.clone(), grad.clone());
                register(grads, bias.id, dz, &bias_shape);
                let dx = B::fused_softmax_backward_scaled(y, grad, scale);
                register(grads, x.id, dx, &x_shape);
            }
            (Some(x), None) => {
                let dx = B::fused_softmax_backward_scaled(y, grad, scale);
                register(grads, x.id, dx, &x_shape);
            }
            (None, Some(bias)) => {
                let dz = B::fused_softmax_backward(y, grad);
                register(grads, bias.id, dz, &bias_shape);
            }
            (None, None) => {}
        }
    }
}

/// Backward of LayerNorm; parents `[x, gamma]` or `[x, gamma, beta]`.
#[derive(Debug)]
struct LayerNormBackward;

impl<B: FusedOps, const N: usize> Backward<B, N> for LayerNormBackward {
    /// The checkpointed x and gamma, and eps.
    type State = (NodeId, NodeId, f64);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, gamma_id, eps) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
        let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma_id);
        let mut parents = ops.parents.into_iter();
        let node_x = parents.next().flatten();
        let node_gamma = parents.next().flatten();
        let node_beta = parents.next().flatten();
        if node_x.is_none() && node_gamma.is_none() && node_beta.is_none() {
            return;
        }
        let (grad_x, grad_gamma, grad_beta) = B::fused_layer_norm_backward(x, gamma, grad, eps);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, grad_x);
        }
        if let Some(node) = node_gamma {
            grads.register::<B>(node.id, grad_gamma);
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, grad_beta);
        }
    }
}

/// Backward of GELU; parent `[x]`.
#[derive(Debug)]
struct GeluBackward;

impl<B: FusedOps> Backward<B, 1> for GeluBackward {
    /// The checkpointed x.
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(ops.state);
        let [node_x] = ops.parents;
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::fused_gelu_backward(x, grad));
        }
    }
}

/// Backward of a contiguous copy: the gradient passes through unchanged; parent `[x]`.
#[derive(Debug)]
struct ContiguousBackward;

impl<B: FusedOps> Backward<B, 1> for ContiguousBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [node_x] = ops.parents;
        if let Some(node) = node_x {
            grads.register::<B>(node.id, grad);
        }
    }
}

/// Backward of conv2d; parents `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug)]
struct Conv2dBackward;

impl<B: FusedOps, const N: usize> Backward<B, N> for Conv2dBackward {
    /// The checkpointed x and weight, and the options.
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, weight_id, options) = ops.state;
        let mut parents = ops.parents.into_iter();
        let node_x = parents.next().flatten();
        let node_weight = parents.next().flatten();
        let node_bias = parents.next().flatten();
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::fused_conv2d_bias_backward(grad.clone()));
        }
        if node_x.is_none() && node_weight.is_none() {
            return;
        }
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_id);
        match (node_x, node_weight) {
            (Some(node_x), Some(node_weight)) => {
                let (grad_x, grad_weight) = B::fused_conv2d_backward(x, weight, grad, options);
                grads.register::<B>(node_x.id, grad_x);
                grads.register::<B>(node_weight.id, grad_weight);
            }
            (Some(node), None) => {
                let grad_x = B::fused_conv2d_x_backward(x, weight, grad, options);
                grads.register::<B>(node.id, grad_x);
            }
            (None, Some(node)) => {
                let grad_weight = B::fused_conv2d_weight_backward(x, weight, grad, options);
                grads.register::<B>(node.id, grad_weight);
            }
            (None, None) => {}
        }
    }
}

/// Backward of the 2×2 stride-2 transposed convolution; parents `[x, weight]` or
/// `[x, weight, bias]`.
#[derive(Debug)]
struct ConvTranspose2x2Backward;

impl<B: FusedOps, const N: usize> Backward<B, N> for ConvTranspose2x2Backward {
    /// The checkpointed x and weight.
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, weight_id) = ops.state;
        let mut parents = ops.parents.into_iter();
        let node_x = parents.next().flatten();
        let node_weight = parents.next().flatten();
        let node_bias = parents.next().flatten();
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::fused_conv2d_bias_backward(grad.clone()));
        }
        match (node_x, node_weight) {
            (Some(node_x), Some(node_weight)) => {
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
                let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_id);
                let (grad_x, grad_weight) = B::fused_conv_transpose2d_2x2_backward(x, weight, grad);
                grads.register::<B>(node_x.id, grad_x);
                grads.register::<B>(node_weight.id, grad_weight);
            }
            (Some(node), None) => {
                let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_id);
                let grad_x = B::fused_conv_transpose2d_2x2_x_backward(weight, grad);
                grads.register::<B>(node.id, grad_x);
            }
            (None, Some(node)) => {
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
                let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_id);
                let grad_weight = B::fused_conv_transpose2d_2x2_weight_backward(x, weight, grad);
                grads.register::<B>(node.id, grad_weight);
            }
            (None, None) => {}
        }
    }
}

impl<B: FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_softmax(
        x: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        scale: f32,
    ) -> FloatTensor<Self> {
        match bias {
            Some(bias) => match SoftmaxBackward
                .prepare::<C>([x.node.clone(), bias.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let shapes = (x.primitive.shape(), Some(bias.primitive.shape()));
                    let y = B::fused_softmax(x.primitive, Some(bias.primitive), scale);
                    prep.finish((y.clone(), scale, shapes.0, shapes.1), y)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::fused_softmax(x.primitive, Some(bias.primitive), scale))
                }
            },
            None => match SoftmaxBackward
                .prepare::<C>([x.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let x_shape = x.primitive.shape();
                    let y = B::fused_softmax(x.primitive, None, scale);
                    prep.finish((y.clone(), scale, x_shape, None), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_softmax(x.primitive, None, scale)),
            },
        }
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        match beta {
            Some(beta) => match LayerNormBackward
                .prepare::<C>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&gamma), eps);
                    let y = B::fused_layer_norm(
                        x.primitive,
                        gamma.primitive,
                        Some(beta.primitive),
                        eps,
                    );
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_layer_norm(
                    x.primitive,
                    gamma.primitive,
                    Some(beta.primitive),
                    eps,
                )),
            },
            None => match LayerNormBackward
                .prepare::<C>([x.node.clone(), gamma.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&gamma), eps);
                    prep.finish(
                        state,
                        B::fused_layer_norm(x.primitive, gamma.primitive, None, eps),
                    )
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::fused_layer_norm(x.primitive, gamma.primitive, None, eps))
                }
            },
        }
    }

    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match GeluBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::fused_gelu(x.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_gelu(x.primitive)),
        }
    }

    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match bias {
            Some(bias) => match Conv2dBackward
                .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (
                        prep.checkpoint(&x),
                        prep.checkpoint(&weight),
                        options.clone(),
                    );
                    let y = B::fused_conv2d(
                        x.primitive,
                        weight.primitive,
                        Some(bias.primitive),
                        options,
                    );
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_conv2d(
                    x.primitive,
                    weight.primitive,
                    Some(bias.primitive),
                    options,
                )),
            },
            None => match Conv2dBackward
                .prepare::<C>([x.node.clone(), weight.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (
                        prep.checkpoint(&x),
                        prep.checkpoint(&weight),
                        options.clone(),
                    );
                    prep.finish(
                        state,
                        B::fused_conv2d(x.primitive, weight.primitive, None, options),
                    )
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_conv2d(
                    x.primitive,
                    weight.primitive,
                    None,
                    options,
                )),
            },
        }
    }

    fn fused_conv_transpose2d_2x2(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        match bias {
            Some(bias) => match ConvTranspose2x2Backward
                .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
                    let y = B::fused_conv_transpose2d_2x2(
                        x.primitive,
                        weight.primitive,
                        Some(bias.primitive),
                    );
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_conv_transpose2d_2x2(
                    x.primitive,
                    weight.primitive,
                    Some(bias.primitive),
                )),
            },
            None => match ConvTranspose2x2Backward
                .prepare::<C>([x.node.clone(), weight.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
                    let y = B::fused_conv_transpose2d_2x2(x.primitive, weight.primitive, None);
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::fused_conv_transpose2d_2x2(
                    x.primitive,
                    weight.primitive,
                    None,
                )),
            },
        }
    }

    fn fused_contiguous(x: FloatTensor<Self>) -> FloatTensor<Self> {
        ContiguousBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateless(B::fused_contiguous(x.primitive))
    }
}
