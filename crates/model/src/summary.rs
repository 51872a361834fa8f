//! Parameter counts per module: trainable, frozen and buffers (what `model summary` prints).

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::backend::Backend;
use echoone_sam::inspect::parameters;

/// Counts of one group of parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Values that receive gradients.
    pub trainable: usize,
    /// Values of frozen parameters.
    pub frozen: usize,
    /// Values of buffers (BatchNorm running statistics, SAM's random Fourier matrix): not
    /// parameters in PyTorch's count.
    pub buffers: usize,
}

impl Counts {
    /// Trainable plus frozen (PyTorch's parameter count).
    pub fn parameters(&self) -> usize {
        self.trainable + self.frozen
    }

    fn add(&mut self, other: Counts) {
        self.trainable += other.trainable;
        self.frozen += other.frozen;
        self.buffers += other.buffers;
    }
}

/// Whether a parameter path is a PyTorch buffer rather than a parameter.
fn is_buffer(path: &str) -> bool {
    path.ends_with("running_mean")
        || path.ends_with("running_var")
        || path.ends_with("positional_encoding_gaussian_matrix")
}

/// Counts per module, grouped by the first `depth` components of the parameter paths, and the
/// total. Trainable flags are only meaningful on an autodiff backend.
pub fn parameter_summary<B: Backend, M: Module<B>>(
    module: &M,
    depth: usize,
) -> (BTreeMap<String, Counts>, Counts) {
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for p in parameters(module) {
        let name: Vec<&str> = p.path.split('.').take(depth.max(1)).collect();
        let mut counts = Counts::default();
        if is_buffer(&p.path) {
            counts.buffers = p.numel();
        } else if p.trainable {
            counts.trainable = p.numel();
        } else {
            counts.frozen = p.numel();
        }
        groups.entry(name.join(".")).or_default().add(counts);
        total.add(counts);
    }
    (groups, total)
}
