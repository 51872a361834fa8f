//! Training across processes: the collective operations a run needs from the engine that
//! started its processes (MPI in the `echoone` binary, behind its `mpi` feature), and what a
//! step sums through them.
//!
//! Every process builds the same model from the seed and draws the same batches; process `r` of
//! `n` takes its part of each batch (the shares of `n` × local devices that are its own, see
//! [`crate::parallel::rank_shares`]). The processes then add up the gradients of their parts
//! (each share's loss already weighted by its fraction of the whole batch) in one sum over one
//! flat buffer per step, so every process takes the identical optimiser step. The loss terms and
//! the stop requests travel in a second, small sum; BatchNorm's running statistics (PC-Mask's
//! prior U-Net) are averaged in a third after the step, as the threads' are within a process.
//!
//! With two processes of one replica each, every sum is the single process's two-replica sum bit
//! for bit (`a + b` in either order). With more, MPI's reduction order is fixed for a given number
//! of processes and buffer length, so a run is repeatable, but its roundings may differ from one
//! process's left-to-right sum.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use crate::step::LossTerms;

/// The collective operations of a group of processes that train one model together.
///
/// Every process calls each operation in the same order; each returns once all have called it.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This process's place in the group, from 0 (process 0 leads: it alone validates and
    /// writes).
    fn rank(&self) -> usize;
    /// How many processes the group has.
    fn size(&self) -> usize;
    /// Replaces `values` with their element-wise sums over every process.
    fn sum_f32(&self, values: &mut [f32]);
    /// Replaces `values` with their element-wise sums over every process.
    fn sum_f64(&self, values: &mut [f64]);
    /// Process 0's `value`, on every process.
    fn agree(&self, value: &str) -> String;
}

/// Sums `grads` (gradients of `model`'s parameters, on `device`) over every process: one flat
/// buffer in the model's parameter order, a presence flag per tracked parameter first, then the
/// values (zeros where this process has no gradient). A parameter gets a gradient when any
/// process had one.
pub(crate) fn sum_gradients<B: AutodiffBackend, M: Module<B>>(
    collective: &dyn Collective,
    grads: GradientsParams,
    model: &M,
    device: &B::Device,
) -> GradientsParams {
    let mut flatten = Flatten::<B> {
        grads: &grads,
        flags: Vec::new(),
        values: Vec::new(),
        _backend: std::marker::PhantomData,
    };
    model.visit(&mut flatten);
    let (mut flags, values) = (flatten.flags, flatten.values);
    let count = flags.len();
    flags.extend(values);
    collective.sum_f32(&mut flags);
    let mut rebuild = Rebuild::<B> {
        summed: GradientsParams::new(),
        flags: &flags[..count],
        values: &flags[count..],
        device,
        next: 0,
        offset: 0,
    };
    model.visit(&mut rebuild);
    rebuild.summed
}

/// Writes the tracked parameters' gradients into flat buffers, in visiting order.
struct Flatten<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    flags: Vec<f32>,
    values: Vec<f32>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        match self.grads.get::<B::InnerBackend, D>(param.id) {
            Some(grad) => {
                self.flags.push(1.0);
                self.values.extend(grad.into_data().iter::<f32>());
            }
            None => {
                self.flags.push(0.0);
                let len = value.shape().num_elements();
                self.values.resize(self.values.len() + len, 0.0);
            }
        }
    }
}

/// Reads the summed flat buffers back into gradients, in the same visiting order.
struct Rebuild<'a, B: AutodiffBackend> {
    summed: GradientsParams,
    flags: &'a [f32],
    values: &'a [f32],
    device: &'a B::Device,
    next: usize,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Rebuild<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let shape = value.shape();
        let len = shape.num_elements();
        let values = &self.values[self.offset..self.offset + len];
        if self.flags[self.next] > 0.0 {
            let data = TensorData::new(values.to_vec(), shape);
            let grad = Tensor::<B::InnerBackend, D>::from_data(data, self.device);
            self.summed.register::<B::InnerBackend, D>(param.id, grad);
        }
        self.next += 1;
        self.offset += len;
    }
}

/// Sums the weighted loss terms over every process, in place, and says whether any process was
/// asked to stop (`stop` is this one's answer).
pub(crate) fn sum_terms(collective: &dyn Collective, terms: &mut LossTerms, stop: bool) -> bool {
    let mut values: Vec<f64> = terms.iter().map(|(_, v)| *v).collect();
    values.push(f64::from(u8::from(stop)));
    collective.sum_f64(&mut values);
    for ((_, v), summed) in terms.iter_mut().zip(&values) {
        *v = *summed;
    }
    values.last().is_some_and(|&asked| asked > 0.0)
}

/// Whether a float "parameter" a visitor meets is a BatchNorm running statistic (burn visits a
/// `RunningState` as a parameter of that field's name).
fn is_running_statistic(path: &[String]) -> bool {
    path.last()
        .is_some_and(|name| name == "running_mean" || name == "running_var")
}

/// Averages `model`'s BatchNorm running statistics over every process (each process's values
/// are the mean of its own threads', already synced): summed in one buffer, divided by the
/// number of processes, as burn averages its threads' updates.
pub(crate) fn average_running_statistics<B: AutodiffBackend, M: Module<B>>(
    collective: &dyn Collective,
    model: M,
) -> M {
    let mut gather = Statistics {
        path: Vec::new(),
        values: Vec::new(),
    };
    model.visit(&mut gather);
    if gather.values.is_empty() {
        return model;
    }
    let mut values = gather.values;
    collective.sum_f32(&mut values);
    let mut replace = Replace {
        path: Vec::new(),
        values: &values,
        offset: 0,
        processes: collective.size() as f32,
    };
    model.map(&mut replace)
}

/// Collects the running statistics' values in visiting order.
struct Statistics {
    path: Vec<String>,
    values: Vec<f32>,
}

impl<B: Backend> ModuleVisitor<B> for Statistics {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if is_running_statistic(&self.path) {
            let values = param.val().into_data();
            self.values.extend(values.iter::<f32>());
        }
    }
}

/// Puts the summed running statistics, divided by the number of processes, back in place.
struct Replace<'a> {
    path: Vec<String>,
    values: &'a [f32],
    offset: usize,
    processes: f32,
}

impl<B: Backend> ModuleMapper<B> for Replace<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if !is_running_statistic(&self.path) {
            return param;
        }
        let (id, value, mapper) = param.consume();
        let shape = value.shape();
        let len = shape.num_elements();
        let summed = &self.values[self.offset..self.offset + len];
        self.offset += len;
        let data = TensorData::new(summed.to_vec(), shape);
        let mean = Tensor::<B, D>::from_data(data, &value.device()).div_scalar(self.processes);
        Param::from_mapped_value(id, mean, mapper)
    }
}
