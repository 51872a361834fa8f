//! One autodiff graph for all the parameters before a step's forward pass.
//!
//! burn-autodiff 0.21 keeps a graph per connected set of tracked tensors, and every parameter
//! starts a step as a graph of its own (a root registered by `require_grad`). An op whose
//! inputs sit in two graphs merges them, and the merge keeps whichever graph its hash map
//! yields first, moving every node of the other into it. A parameter's first use in the forward
//! pass therefore moves the whole growing graph of the step about half the time, all under the
//! autodiff's one global lock: work quadratic in the number of parameters, during which every
//! other replica's ops wait. Joining the parameters first, by one op that takes them all as
//! inputs, merges single-node graphs only; the forward pass then grows that one graph.
//! The join's output is dropped at once, so it adds no node to the backward pass and changes no
//! gradient. Measured in docs/benchmarks.md ("Toward 1.5x PyTorch"); the fix that belongs
//! upstream (merge the smaller graph into the larger) is written down there.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;

/// Joins the autodiff graphs of every tracked float parameter of `module` into one, by a
/// concatenation of a one-element slice of each that is dropped at once.
pub fn join_parameter_graphs<B: AutodiffBackend, M: Module<B>>(module: &M) {
    let mut heads = Heads(Vec::new());
    module.visit(&mut heads);
    if heads.0.len() > 1 {
        drop(Tensor::cat(heads.0, 0));
    }
}

/// The first element of every tracked float parameter, as a one-element tensor.
struct Heads<B: AutodiffBackend>(Vec<Tensor<B, 1>>);

impl<B: AutodiffBackend> ModuleVisitor<B> for Heads<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        if tensor.is_require_grad() && tensor.shape().num_elements() > 0 {
            self.0.push(tensor.reshape([-1]).slice(0..1));
        }
    }
}
