//! MPI's world as the trainer's [`Collective`] (the `mpi` feature, through the `mpi` crate):
//! sums with `MPI_Allreduce`, process 0's values with `MPI_Bcast`.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::{Result, bail};
use echoone_train::Collective;
use mpi::Threading;
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};

/// Elements per `MPI_Allreduce` call: MPI counts are C `int`s.
const CHUNK: usize = 1 << 30;

/// The world of the job, once [`start`] has joined it.
static WORLD: OnceLock<Arc<MpiWorld>> = OnceLock::new();

/// MPI itself, ended by [`finish`] (dropping the universe calls `MPI_Finalize`).
static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);

/// The processes of the job and their communicator.
#[derive(Debug)]
struct MpiWorld {
    rank: usize,
    size: usize,
    world: Mutex<Comm>,
}

/// MPI's world communicator, used from whichever thread trains.
struct Comm(SimpleCommunicator);

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MPI_COMM_WORLD")
    }
}

// SAFETY: MPI is initialised with at least `MPI_THREAD_SERIALIZED` ([`start`] refuses less),
// which allows calls from any thread as long as no two run at once, and every call on the
// communicator is made under the mutex that holds it.
unsafe impl Send for Comm {}

/// Joins the `size` processes the launcher started.
pub fn start(size: usize) -> Result<()> {
    let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Serialized) else {
        bail!("MPI was initialised already");
    };
    if threading < Threading::Serialized {
        bail!(
            "this MPI gives threads {threading:?} support, and training calls it from its own \
             thread: it needs MPI_THREAD_SERIALIZED or more"
        );
    }
    let world = universe.world();
    let (rank, actual) = (world.rank() as usize, world.size() as usize);
    if actual != size {
        bail!("the launcher said {size} processes, MPI's world has {actual}");
    }
    *UNIVERSE.lock().unwrap_or_else(PoisonError::into_inner) = Some(universe);
    let joined = Arc::new(MpiWorld {
        rank,
        size,
        world: Mutex::new(Comm(world)),
    });
    if WORLD.set(joined).is_err() {
        bail!("the MPI world was joined twice");
    }
    Ok(())
}

/// The world, once started.
pub fn world() -> Option<Arc<dyn Collective>> {
    WORLD.get().map(|w| Arc::clone(w) as Arc<dyn Collective>)
}

/// Ends MPI (`MPI_Finalize`), if it was started.
pub fn finish() {
    drop(
        UNIVERSE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
    );
}

/// Ends every process of the job with `code` (`MPI_Abort`), if MPI was started.
pub fn abort(code: i32) {
    if let Some(world) = WORLD.get() {
        world.comm().0.abort(code);
    }
}

impl MpiWorld {
    /// The communicator, for one call at a time.
    fn comm(&self) -> std::sync::MutexGuard<'_, Comm> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum_f32(&self, values: &mut [f32]) {
        sum_in_place(&self.comm().0, values);
    }

    fn sum_f64(&self, values: &mut [f64]) {
        sum_in_place(&self.comm().0, values);
    }

    fn agree(&self, value: &str) -> String {
        let comm = self.comm();
        let root = comm.0.process_at_rank(0);
        let mut len = value.len() as u64;
        root.broadcast_into(&mut len);
        let mut bytes = if self.rank == 0 {
            value.as_bytes().to_vec()
        } else {
            vec![0u8; len as usize]
        };
        root.broadcast_into(&mut bytes[..]);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Replaces `values` with their sums over every process (`MPI_Allreduce`, a chunk at a time).
fn sum_in_place<T: Equivalence + Copy>(comm: &SimpleCommunicator, values: &mut [T]) {
    for chunk in values.chunks_mut(CHUNK) {
        let send = chunk.to_vec();
        comm.all_reduce_into(&send[..], chunk, SystemOperation::sum());
    }
}
