//! The backends compiled into this binary (one cargo feature each) and running a job on one.

use anyhow::{Result, bail};
use burn::tensor::backend::AutodiffBackend;

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
    /// Runs on backend `B` and `device`.
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<()>;
}

/// Backends compiled in, for messages.
fn compiled() -> Vec<&'static str> {
    [
        ("flex", cfg!(feature = "flex")),
        ("ndarray", cfg!(feature = "ndarray")),
        ("tch", cfg!(feature = "tch")),
        ("cuda", cfg!(feature = "cuda")),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect()
}

/// Runs `job` on the backend named `name`, on device `device` (`cpu`, `cuda:N` or `N`).
pub fn dispatch(name: &str, device: &str, job: impl Job) -> Result<()> {
    #[allow(unused_variables)]
    let index = parse_index(device)?;
    match name {
        #[cfg(feature = "flex")]
        "flex" => job.run::<burn_autodiff::Autodiff<burn_flex::Flex>>(Default::default()),
        #[cfg(feature = "ndarray")]
        "ndarray" => job.run::<burn_autodiff::Autodiff<burn_ndarray::NdArray>>(Default::default()),
        #[cfg(feature = "tch")]
        "tch" => {
            let dev = match index {
                Some(i) => burn_tch::LibTorchDevice::Cuda(i),
                None => burn_tch::LibTorchDevice::Cpu,
            };
            job.run::<burn_autodiff::Autodiff<burn_tch::LibTorch>>(dev)
        }
        #[cfg(feature = "cuda")]
        "cuda" => guard_cuda(|| {
            job.run::<burn_autodiff::Autodiff<burn_cuda::Cuda>>(burn_cuda::CudaDevice::new(
                index.unwrap_or(0),
            ))
        }),
        other => bail!(
            "backend `{other}` is not compiled into this binary (compiled: {}); build with \
             `--features {other}` or run `cargo xtask <command> --backend {other}`",
            compiled().join(", ")
        ),
    }
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
