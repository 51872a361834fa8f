//! The processes of a run started by `mpirun` or Slurm's `srun`: found from the launcher's
//! environment, joined through MPI when the binary has the `mpi` feature, and refused with a
//! clear error when it lacks it (each process would otherwise train alone into the same folder).
//!
//! The world is started once, before the command runs ([`start`]); the command takes it with
//! [`world`]. At the end [`finish`] ends MPI, or, after an error, [`abort`] ends every process
//! of the job, so that none waits forever in a sum the failed one will never join.

use std::sync::Arc;

use anyhow::Result;
use echoone_train::Collective;

/// How many processes the launcher started, from its environment (Open MPI's `mpirun`, MPICH's
/// Hydra and PMI, a step of Slurm's `srun`), or `None` outside a launcher.
fn launched_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse().ok())
}

#[cfg(feature = "mpi")]
mod mpi_world;

/// Joins the other processes of the job when a launcher started several: through MPI with the
/// `mpi` feature, an error without it.
pub fn start() -> Result<()> {
    let Some(size) = launched_size().filter(|&n| n > 1) else {
        return Ok(());
    };
    #[cfg(feature = "mpi")]
    {
        mpi_world::start(size)
    }
    #[cfg(not(feature = "mpi"))]
    {
        anyhow::bail!(
            "started as one of {size} processes (mpirun or srun), but this echoone was built \
             without the `mpi` feature, so each would train alone: build it with `cargo build \
             --release -p echoone-cli --features mpi` (Open MPI's libopenmpi-dev and \
             libclang-dev installed), or use `cargo xtask train --processes {size}`"
        )
    }
}

/// The processes this one trains with (`None`: it runs alone).
pub fn world() -> Option<Arc<dyn Collective>> {
    #[cfg(feature = "mpi")]
    {
        mpi_world::world()
    }
    #[cfg(not(feature = "mpi"))]
    {
        None
    }
}

/// Whether this process follows another (its rank is not 0): it prints nothing but errors.
pub fn follower() -> bool {
    world().is_some_and(|w| w.rank() != 0)
}

/// Ends MPI, if it was started (every process calls it once its command is done).
pub fn finish() {
    #[cfg(feature = "mpi")]
    mpi_world::finish();
}

/// Ends every process of the job after this one failed, if it runs with others (their next
/// collective operation would otherwise wait for it forever); returns when it runs alone.
pub fn abort(code: i32) {
    #[cfg(feature = "mpi")]
    mpi_world::abort(code);
    #[cfg(not(feature = "mpi"))]
    let _ = code;
}
