//! Listing a module's parameters (path, shape, owning module type) without materialising
//! lazily-initialised weights: for key/shape checks and parameter counts.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bool, Int, Tensor, backend::Backend};

/// One parameter of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    /// Dotted path, as burn-store names it (`image_encoder.blocks.0.attn.qkv.weight`).
    pub path: String,
    /// The parameter's shape in burn's layout (linear weights are `[in, out]`).
    pub shape: Vec<usize>,
    /// The type of the module that owns it (`Linear`, `Conv2d`, `LayerNorm`, ...).
    pub owner: String,
    /// Whether the parameter receives gradients (always false on a backend without autodiff).
    pub trainable: bool,
}

impl ParamInfo {
    /// Number of scalar values.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The shape as PyTorch stores it (linear weights transposed back to `[out, in]`).
    pub fn torch_shape(&self) -> Vec<usize> {
        if self.owner == "Linear" && self.shape.len() == 2 {
            vec![self.shape[1], self.shape[0]]
        } else {
            self.shape.clone()
        }
    }
}

/// Visits parameters, tracking the path; each entry of `stack` is a field name and the type of
/// the module that holds the field.
#[derive(Default)]
struct Collector {
    stack: Vec<(String, String)>,
    params: Vec<ParamInfo>,
}

impl Collector {
    fn record(&mut self, shape: Vec<usize>, trainable: bool) {
        let path = self
            .stack
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let owner = self
            .stack
            .iter()
            .rev()
            .map(|(_, kind)| kind.as_str())
            .find(|kind| !kind.starts_with("Vec") && !kind.starts_with("Option"))
            .unwrap_or("")
            .trim_start_matches("Struct:")
            .to_string();
        self.params.push(ParamInfo {
            path,
            shape,
            owner,
            trainable,
        });
    }
}

impl<B: Backend> ModuleVisitor<B> for Collector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.stack
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.record(param.lazy_shape().to_vec(), param.is_require_grad());
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        self.record(param.lazy_shape().to_vec(), false);
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        self.record(param.lazy_shape().to_vec(), false);
    }
}

/// Every parameter of `module`, in visiting order.
pub fn parameters<B: Backend, M: Module<B>>(module: &M) -> Vec<ParamInfo> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.params
}
