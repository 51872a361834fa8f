//! The backends compiled into this binary (one cargo feature each) and running a job on one.

use anyhow::{Result, bail};
use burn::tensor::backend::AutodiffBackend;
use echoone_run::RunBackend;

#[cfg(feature = "cuda")]
use crate::cuda_setup;

/// The backend used when `--backend` is not given: the first one compiled in.
pub const DEFAULT: &str = if cfg!(feature = "flex") {
    "flex"
} else if cfg!(feature = "ndarray") {
    "ndarray"
} else if cfg!(feature = "tch") {
    "tch"
} else {
    "cuda"
};

/// A command that runs on any autodiff backend.
pub trait Job {
    /// Runs on backend `B` and `devices`.
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()>;
}

/// The devices of a command: the main one and, for data-parallel training, every one.
#[derive(Debug, Clone)]
pub struct Devices<D> {
    /// Where the model lives, the optimiser steps and evaluation runs.
    pub main: D,
    /// Every device a training batch is split across, `main` first.
    pub all: Vec<D>,
    /// Whether `main` is the CPU and no `--devices` were given.
    pub lone_cpu: bool,
    /// Whether batches keep one shape: the backend compiles kernels per shape (cuda).
    pub fixed_shapes: bool,
    /// The kernels the backend compiled so far, where it compiles them (cuda).
    pub kernels: Option<fn() -> usize>,
    /// The backend and main device by name, as a run records them in `backend.json`.
    pub named: Option<RunBackend>,
}

impl<D: Clone> Devices<D> {
    /// `main` followed by `others`.
    fn many(main: D, others: impl IntoIterator<Item = D>) -> Self {
        let mut all = vec![main.clone()];
        all.extend(others);
        Self {
            main,
            all,
            lone_cpu: false,
            fixed_shapes: false,
            kernels: None,
            named: None,
        }
    }

    /// These devices, named `device` on the backend `backend` (for the run's `backend.json`).
    fn named(self, backend: &str, device: String) -> Self {
        Self {
            named: Some(RunBackend {
                backend: backend.into(),
                device,
            }),
            ..self
        }
    }

    /// These devices on a backend that compiles its kernels per shape, counted by `kernels`.
    #[cfg(feature = "cuda")]
    fn compiling(self, kernels: fn() -> usize) -> Self {
        Self {
            fixed_shapes: true,
            kernels: Some(kernels),
            ..self
        }
    }

    /// The CPU alone (no `--devices`).
    fn cpu(main: D) -> Self {
        Self {
            lone_cpu: true,
            ..Self::many(main, [])
        }
    }

    /// A backend with one CPU device: alone without `--devices`, else one worker thread on it
    /// per listed index.
    fn cpu_threads(cpu: D, devices: &[usize]) -> Self {
        match devices {
            [] => Self::cpu(cpu),
            [_, rest @ ..] => Self::many(cpu.clone(), vec![cpu; rest.len()]),
        }
    }

    /// The devices a training batch is split across: `all`, or `replicas` copies of the CPU
    /// when it is alone (see `TrainConfig::replicas`).
    pub fn training(&self, replicas: usize) -> Vec<D> {
        if self.lone_cpu {
            vec![self.main.clone(); replicas.max(1)]
        } else {
            self.all.clone()
        }
    }
}

/// Backends compiled in, for messages.
pub fn compiled() -> Vec<&'static str> {
    [
        ("flex", cfg!(feature = "flex")),
        ("ndarray", cfg!(feature = "ndarray")),
        ("tch", cfg!(feature = "tch")),
        ("cuda", cfg!(feature = "cuda")),
        ("cuda-unfused", cfg!(feature = "cuda")),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect()
}

/// Runs `job` on the backend named `name`, on `device` (`cpu`, `cuda:N` or `N`; default cpu)
/// or on `devices` (indices for data-parallel training: GPUs with tch and cuda, worker threads
/// sharing the one CPU device with flex and ndarray).
pub fn dispatch(name: &str, device: Option<&str>, devices: &[usize], job: impl Job) -> Result<()> {
    check_devices(device, devices)?;
    #[allow(unused_variables)]
    let index = parse_index(device.unwrap_or("cpu"))?;
    match name {
        #[cfg(feature = "flex")]
        "flex" => {
            let cpu = burn_flex::FlexDevice;
            job.run::<burn_autodiff::Autodiff<burn_flex::Flex>>(
                Devices::cpu_threads(cpu, devices).named(name, "cpu".into()),
            )
        }
        #[cfg(feature = "ndarray")]
        "ndarray" => {
            let cpu = burn_ndarray::NdArrayDevice::Cpu;
            job.run::<burn_autodiff::Autodiff<burn_ndarray::NdArray>>(
                Devices::cpu_threads(cpu, devices).named(name, "cpu".into()),
            )
        }
        #[cfg(feature = "tch")]
        "tch" => {
            check_tch_gpus(devices.iter().copied().chain(index))?;
            let dev = |i: Option<usize>| match i {
                Some(i) => burn_tch::LibTorchDevice::Cuda(i),
                None => burn_tch::LibTorchDevice::Cpu,
            };
            let main = devices.first().copied().or(index);
            let named = main.map_or_else(|| "cpu".to_string(), |i| format!("cuda:{i}"));
            job.run::<burn_autodiff::Autodiff<burn_tch::LibTorch>>(
                match devices {
                    [first, rest @ ..] => {
                        Devices::many(dev(Some(*first)), rest.iter().map(|&i| dev(Some(i))))
                    }
                    [] if index.is_none() => Devices::cpu(dev(None)),
                    [] => Devices::many(dev(index), []),
                }
                .named(name, named),
            )
        }
        #[cfg(feature = "cuda")]
        "cuda" | "cuda-unfused" => {
            // The GPUs of the run, the main one first: `--devices`, else `--device` (default 0).
            let gpus = match devices {
                [] => vec![index.unwrap_or(0)],
                listed => listed.to_vec(),
            };
            for &i in &gpus {
                if let Err(why) = cuda_setup::probe(i) {
                    bail!("the cuda backend cannot start: {why}");
                }
            }
            let setup = cuda_setup::configure();
            match &setup.cache {
                Ok(dir) => eprintln!(
                    "{name}: kernel and autotune cache in {} (ECHOONE_CACHE_DIR moves it), \
                     autotune level {} (CUBECL_AUTOTUNE_LEVEL changes it)",
                    dir.display(),
                    setup.autotune
                ),
                Err(why) => eprintln!(
                    "{name}: no on-disk kernel cache ({why}): every run compiles its kernels \
                     anew; autotune level {}",
                    setup.autotune
                ),
            }
            guard_cuda(|| {
                let dev = burn_cuda::CudaDevice::new;
                let on = Devices::many(dev(gpus[0]), gpus[1..].iter().map(|&i| dev(i)))
                    .compiling(cuda_setup::kernels_compiled)
                    .named(name, format!("cuda:{}", gpus[0]));
                if name == "cuda" {
                    job.run::<burn_autodiff::Autodiff<burn_cuda::Cuda>>(on)
                } else {
                    job.run::<burn_autodiff::Autodiff<cuda_setup::CudaUnfused>>(on)
                }
            })
        }
        other => bail!(
            "backend `{other}` is not compiled into this binary (compiled: {}); build with \
             `--features {other}` or run `cargo xtask <command> --backend {other}`",
            compiled().join(", ")
        ),
    }
}

/// `--devices` lists each device once and replaces `--device`.
fn check_devices(device: Option<&str>, devices: &[usize]) -> Result<()> {
    let list = || {
        devices
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if let (Some(d), [_, ..]) = (device, devices) {
        bail!(
            "--device {d} and --devices {} both given: --devices lists every device, the main \
             one first",
            list()
        );
    }
    for (i, d) in devices.iter().enumerate() {
        if devices[..i].contains(d) {
            bail!("--devices {}: device {d} is listed twice", list());
        }
    }
    Ok(())
}

/// `cpu` -> None, `cuda:N` or `N` -> Some(N).
fn parse_index(device: &str) -> Result<Option<usize>> {
    if device == "cpu" {
        return Ok(None);
    }
    let n = device.strip_prefix("cuda:").unwrap_or(device);
    match n.parse() {
        Ok(i) => Ok(Some(i)),
        Err(_) => bail!("--device {device:?}: expected cpu, cuda:N or N"),
    }
}

/// Checks that libtorch sees the GPUs `indices` asks for: a CPU-only libtorch (PyTorch's `+cpu`
/// wheels, or what torch-sys downloads) sees none.
#[cfg(feature = "tch")]
fn check_tch_gpus(indices: impl IntoIterator<Item = usize>) -> Result<()> {
    let count = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    for i in indices {
        if i >= count && count == 0 {
            bail!(
                "--backend tch --device cuda:{i}: this libtorch sees no GPU: it is a CPU-only \
                 build (a +cpu PyTorch wheel, or the libtorch torch-sys downloads), or no NVIDIA \
                 driver is installed; build against a CUDA PyTorch 2.9 with \
                 LIBTORCH_USE_PYTORCH=1 (docs/training.md#backends)"
            );
        }
        if i >= count {
            bail!("--backend tch --device cuda:{i}: libtorch sees {count} GPU(s)");
        }
    }
    Ok(())
}

/// Turns cudarc's panic on a machine without CUDA into an error that says so.
#[cfg(feature = "cuda")]
fn guard_cuda(f: impl FnOnce() -> Result<()>) -> Result<()> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if text.contains("dynamically load") || text.contains("cuda") {
                bail!(
                    "the CUDA backend could not start: {text}. Is an NVIDIA driver installed \
                     and libcuda on the library path?"
                )
            }
            std::panic::resume_unwind(panic)
        }
    }
}
