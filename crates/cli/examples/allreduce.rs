//! Times the gradient sum of multi-process training (docs/distributed.md): `MPI_Allreduce` of
//! one `f32` buffer the size of the trainable gradients of the default recipe's small model
//! (every parameter trains from random weights: 2,992,833) and of ViT-B in the authors' recipe
//! (45,621,697), the call `echoone train` makes once a step. Process 0 prints, per size, the
//! median, fastest and slowest of `REPS` sums after two warm-up sums, and the bus bandwidth
//! (`2 (n - 1) / n` of the buffer's bytes over the median time: what a ring all-reduce moves per
//! process).
//!
//! ```sh
//! cargo build --release -p echoone-cli --features mpi --example allreduce
//! mpirun --oversubscribe -n 2 target/release/examples/allreduce [REPS]
//! ```

use std::time::Instant;

use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::topology::Communicator;

/// The buffers timed: a name and a length in `f32`s.
const SIZES: [(&str, usize); 2] = [
    ("small, all trainable", 2_992_833),
    ("ViT-B, authors' trainable", 45_621_697),
];

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let Some(universe) = mpi::initialize() else {
        eprintln!("error: MPI was initialised already");
        std::process::exit(1);
    };
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size() as usize);
    if rank == 0 {
        println!(
            "| buffer | floats | MiB | processes | median ms | fastest ms | slowest ms | bus GB/s |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    }
    for (name, len) in SIZES {
        let send = vec![1.0f32; len];
        let mut recv = vec![0.0f32; len];
        let mut times = Vec::with_capacity(reps);
        for i in 0..reps + 2 {
            world.barrier();
            let start = Instant::now();
            world.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            if i >= 2 {
                times.push(start.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let bytes = (len * 4) as f64;
        let bus = 2.0 * (size as f64 - 1.0) / size as f64 * bytes / median / 1e9;
        if rank == 0 {
            println!(
                "| {name} | {len} | {:.1} | {size} | {:.1} | {:.1} | {:.1} | {bus:.2} |",
                bytes / (1 << 20) as f64,
                median * 1e3,
                times[0] * 1e3,
                times[times.len() - 1] * 1e3,
            );
        }
    }
}
