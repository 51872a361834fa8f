//! CubeCL's settings for the CUDA backend, made before the first kernel: an on-disk kernel and
//! autotune cache in a per-user folder, a bounded autotune level, and a count of the kernels
//! compiled (shown while a run warms up the GPU).
//!
//! A `cubecl.toml` (or the `[cubecl]` section of a `burn.toml`) in the working directory or
//! above, and the `CUBECL_*` variables, still apply; only what they leave at CubeCL's defaults
//! is set here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use cubecl_common::config::logger::LogCrateLevel;
use cubecl_runtime::config::autotune::AutotuneLevel;
use cubecl_runtime::config::cache::CacheConfig;
use cubecl_runtime::config::compilation::CompilationLogLevel;
use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};

/// CubeCL's CUDA backend without burn-fusion's kernel fusion (`--backend cuda-unfused`): a
/// kernel per operation, so fewer distinct kernels to compile and more launches per step.
pub type CudaUnfused =
    burn_cubecl::CubeBackend<burn_cubecl::cubecl::cuda::CudaRuntime, f32, i32, u8>;

/// Kernels CubeCL compiled in this process (a kernel found in the on-disk cache is not counted).
static COMPILED: AtomicUsize = AtomicUsize::new(0);

/// The kernels compiled so far in this process.
pub fn kernels_compiled() -> usize {
    COMPILED.load(Ordering::Relaxed)
}

/// The folder of the on-disk kernel and autotune caches: `$ECHOONE_CACHE_DIR/cubecl`, else
/// `$XDG_CACHE_HOME/echoone/cubecl`, else `$HOME/.cache/echoone/cubecl`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = var("ECHOONE_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("echoone")))
        .or_else(|| var("HOME").map(|p| p.join(".cache").join("echoone")))?;
    Some(base.join("cubecl"))
}

/// Checks, before CubeCL starts (it panics on a thread of its own when something is missing),
/// that the NVIDIA driver's libcuda and CUDA's run-time compiler libnvrtc load and that GPU
/// `index` exists. The error says what is missing.
pub fn probe(index: usize) -> Result<(), String> {
    let names = |lib: &str| {
        let all = cudarc::get_lib_name_candidates(lib);
        let shown: Vec<&str> = all.iter().map(String::as_str).take(3).collect();
        format!("{}, ...", shown.join(", "))
    };
    // SAFETY: each only tries to open the libraries with dlopen and closes them again.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(format!(
            "the NVIDIA driver's libcuda could not be loaded (searched {}): is an NVIDIA \
             driver installed, and its library folder on LD_LIBRARY_PATH?",
            names("cuda")
        ));
    }
    // SAFETY: as above.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(format!(
            "CUDA's run-time compiler libnvrtc could not be loaded (searched {}): install \
             NVRTC (the CUDA toolkit's, or pip's nvidia-cuda-nvrtc) and put its lib folder on \
             LD_LIBRARY_PATH",
            names("nvrtc")
        ));
    }
    cudarc::driver::result::init().map_err(|e| {
        format!("the CUDA driver did not start: {e:?} (a stub libcuda on the path?)")
    })?;
    let count = cudarc::driver::result::device::get_count()
        .map_err(|e| format!("the CUDA driver could not count the GPUs: {e:?}"))?;
    if index >= count.max(0) as usize {
        return Err(format!(
            "GPU {index} asked for, but the driver sees {count} (CUDA_VISIBLE_DEVICES?)"
        ));
    }
    Ok(())
}

/// What [`configure`] chose, for the run's first lines.
pub struct Setup {
    /// The cache folder, or why there is none.
    pub cache: Result<PathBuf, String>,
    /// The autotune level in force.
    pub autotune: String,
}

/// Sets CubeCL's configuration for this process. Must run before the first CUDA tensor.
pub fn configure() -> Setup {
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    let cache = match cache_dir() {
        Some(dir) => match std::fs::create_dir_all(&dir) {
            Ok(()) => Ok(dir),
            Err(e) => Err(format!("{}: {e}", dir.display())),
        },
        None => Err("neither ECHOONE_CACHE_DIR, XDG_CACHE_HOME nor HOME is set".into()),
    };
    if let Ok(dir) = &cache {
        if config.compilation.cache.is_none() {
            config.compilation.cache = Some(CacheConfig::File(dir.clone()));
        }
        if matches!(config.autotune.cache, CacheConfig::Target) {
            config.autotune.cache = CacheConfig::File(dir.clone());
        }
    }
    if std::env::var_os("CUBECL_AUTOTUNE_LEVEL").is_none()
        && matches!(config.autotune.level, AutotuneLevel::Balanced)
    {
        config.autotune.level = AutotuneLevel::Minimal;
    }
    let autotune = format!("{:?}", config.autotune.level).to_lowercase();
    if matches!(
        config.compilation.logger.level,
        CompilationLogLevel::Disabled
    ) {
        config.compilation.logger.level = CompilationLogLevel::Basic;
    }
    config.compilation.logger.log = Some(LogCrateLevel::Info);
    if log::set_logger(&COUNTER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    CubeClRuntimeConfig::set(config);
    Setup { cache, autotune }
}

/// Counts CubeCL's "[Compiling kernel]" messages; drops every other log message.
struct Counter;

static COUNTER: Counter = Counter;

impl log::Log for Counter {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        let text = record.args().to_string();
        if text.starts_with("[Compiling kernel]") || text.starts_with("[START_KERNEL_COMPILATION]")
        {
            COMPILED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}
