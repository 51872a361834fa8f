//! Stopping a run on Ctrl-C or SIGTERM without losing its work: once [`on_signals`] is called,
//! the first such signal asks the run to stop at the next step boundary, where the trainer saves
//! a checkpoint of that very step (so `--resume` goes on from it); a second signal ends the
//! process at once, with exit status [`EXIT_STATUS`] (the last checkpoint on disk is intact:
//! every checkpoint is written aside and renamed into place).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use signal_hook::consts::TERM_SIGNALS;
use signal_hook::flag;

/// The exit status of a process stopped by a signal: 128 + SIGINT, as shells report Ctrl-C.
pub const EXIT_STATUS: u8 = 130;

/// Set by the first Ctrl-C or SIGTERM after [`on_signals`].
fn requested() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes Ctrl-C, SIGTERM (and SIGQUIT on unix) ask the run to stop at the next step boundary
/// instead of killing the process; a second signal kills it at once. Calling it again changes
/// nothing. Without it (in a library user's process) signals keep their usual meaning.
pub fn on_signals() -> io::Result<()> {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    if REGISTERED.get().is_some() {
        return Ok(());
    }
    let flag = requested();
    for &signal in TERM_SIGNALS {
        // In this order: the shutdown hook fires only once the flag was set, by a first signal.
        flag::register_conditional_shutdown(signal, i32::from(EXIT_STATUS), Arc::clone(flag))?;
        flag::register(signal, Arc::clone(flag))?;
    }
    // A step can take minutes on a CPU: say at once that the signal was heard (a signal
    // handler may not print, so a thread watches the flag).
    let watched = Arc::clone(flag);
    std::thread::Builder::new()
        .name("stop-notice".into())
        .spawn(move || {
            while !watched.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
            notice();
        })?;
    let _ = REGISTERED.set(());
    Ok(())
}

/// Says [`NOTICE`] on stderr, once per process: from the thread that watches for the first
/// signal, or from the run when it sees the stop first.
pub fn notice() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| eprintln!("\n{NOTICE}"));
}

/// What a process says on stderr as soon as the first signal arrives.
pub const NOTICE: &str =
    "stopping after the current step, which is saved first; Ctrl-C again quits at once";

/// Whether a signal asked the run to stop.
pub fn requested_by_signal() -> bool {
    requested().load(Ordering::Relaxed)
}
