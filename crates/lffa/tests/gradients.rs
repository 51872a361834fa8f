//! Every parameter of every module receives a gradient (all of them are trainable in EchoONE),
//! on the CPU default backend under autodiff.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use echoone_lffa::{
    AdapterConfig, CnnBranchConfig, FusionConvConfig, PosEmbedReducerConfig, RefineAdapterConfig,
    SpaceAdapterConfig,
};

type Train = Autodiff<Flex>;

/// Counts the float parameters with and without a non-zero gradient.
struct GradCheck<'a> {
    grads: &'a <Train as AutodiffBackend>::Gradients,
    with: usize,
    without: usize,
}

impl ModuleVisitor<Train> for GradCheck<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
        let nonzero = param
            .val()
            .grad(self.grads)
            .map(|g| g.abs().sum().into_scalar() > 0.0)
            .unwrap_or(false);
        if nonzero {
            self.with += 1;
        } else {
            self.without += 1;
        }
    }
}

/// Backpropagates a weighted sum of `out` and checks every parameter of `module` got a gradient.
fn assert_all_trained<M: Module<Train>, const D: usize>(
    name: &str,
    module: &M,
    out: Tensor<Train, D>,
) {
    let weights = out.random_like(Distribution::Default);
    let grads = (out * weights).sum().backward();
    let mut check = GradCheck {
        grads: &grads,
        with: 0,
        without: 0,
    };
    module.visit(&mut check);
    assert!(check.with > 0, "{name}: no parameters");
    assert_eq!(check.without, 0, "{name}: parameters without gradient");
}

fn random<const D: usize>(shape: [usize; D]) -> Tensor<Train, D> {
    Tensor::random(shape, Distribution::Default, &Default::default())
}

#[test]
fn every_parameter_gets_a_gradient() {
    let device = Default::default();
    for config in [
        CnnBranchConfig::new()
            .with_base_channels(4)
            .with_embed_dim(12),
        CnnBranchConfig::samus()
            .with_base_channels(4)
            .with_embed_dim(12),
    ] {
        let branch = config.init::<Train>(&device);
        let out = branch.forward(random([2, 3, 16, 16]));
        assert_all_trained("cnn branch", &branch, out);
    }
    let space = SpaceAdapterConfig::new(24)
        .with_num_heads(4)
        .init::<Train>(&device)
        .expect("valid config");
    let out = space.forward(random([2, 4, 4, 24]), random([2, 4, 4, 24]));
    assert_all_trained("space adapter", &space, out);
    let refine = RefineAdapterConfig::new(8).init::<Train>(&device);
    let out = refine.forward(random([2, 8, 5, 5]));
    assert_all_trained("refine adapter", &refine, out);
    for config in [AdapterConfig::input(16), AdapterConfig::mlp(16)] {
        let adapter = config.init::<Train>(&device);
        let out = adapter.forward(random([2, 3, 3, 16]));
        assert_all_trained("adapter", &adapter, out);
    }
    let reducer = PosEmbedReducerConfig::new()
        .with_embed_dim(8)
        .with_source_size(16)
        .with_target_size(4)
        .init::<Train>(&device)
        .expect("valid config");
    let out = reducer.forward(random([1, 16, 16, 8]));
    assert_all_trained("position-embedding reducer", &reducer, out);
    for norm in [false, true] {
        let fusion = FusionConvConfig::new()
            .with_in_channels(16)
            .with_out_channels(8)
            .with_norm(norm)
            .init::<Train>(&device);
        let out = fusion
            .fuse(random([2, 12, 8]), random([2, 8, 3, 4]))
            .expect("matching shapes");
        assert_all_trained("fusion", &fusion, out);
    }
}
