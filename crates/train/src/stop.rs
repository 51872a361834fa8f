//! Stopping a run on Ctrl-C or SIGTERM without losing its work: once [`on_signals`] is called,
//! the first such signal asks the run to stop at the next step boundary, where the trainer saves
//! a checkpoint of that very step (so `--resume` goes on from it); a second signal ends the
//! process at once, with exit status [`EXIT_STATUS`] (the last checkpoint on disk is intact:
//! every checkpoint is written aside and renamed into place).
//!
//! burn-train's dashboard puts the terminal in raw mode, where Ctrl-C is a key, not a signal, and
//! its renderer reads that key and ignores it. [`full_screen`] opens such a display so that
//! Ctrl-C stays a signal on it, and a second signal puts the terminal back as it was before it
//! ends the process.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use signal_hook::consts::TERM_SIGNALS;
use signal_hook::low_level;

/// The exit status of a process stopped by a signal: 128 + SIGINT, as shells report Ctrl-C.
pub const EXIT_STATUS: u8 = 130;

/// Set by the first Ctrl-C or SIGTERM after [`on_signals`].
fn requested() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Whether a display opened by [`full_screen`] is open (it shows [`NOTICE`] itself).
static FULL_SCREEN: AtomicBool = AtomicBool::new(false);

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
        let first = Arc::clone(flag);
        let action = move || {
            if first.swap(true, Ordering::SeqCst) {
                terminal::restore();
                low_level::exit(i32::from(EXIT_STATUS));
            }
        };
        // SAFETY: the action is async-signal-safe: an atomic swap, and on a second signal
        // `terminal::restore` (an atomic load, `write` and `ioctl`) and `_exit`.
        unsafe { low_level::register(signal, action) }?;
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
/// signal, or from the run when it sees the stop first. Nothing while a display opened by
/// [`full_screen`] is open: it shows the notice itself (a line on stderr would scribble over it).
pub fn notice() {
    static ONCE: Once = Once::new();
    if FULL_SCREEN.load(Ordering::SeqCst) {
        return;
    }
    ONCE.call_once(|| eprintln!("\n{NOTICE}"));
}

/// What a process says on stderr as soon as the first signal arrives.
pub const NOTICE: &str =
    "stopping after the current step, which is saved first; Ctrl-C again quits at once";

/// Whether a signal asked the run to stop.
pub fn requested_by_signal() -> bool {
    requested().load(Ordering::Relaxed)
}

/// Opens a full-screen display with `open`, burn-train's dashboard, whose renderer thread puts
/// the terminal in raw mode, and keeps Ctrl-C (and Ctrl-\) a signal on it: the terminal makes
/// them signals again once the renderer has made it raw (waited for, up to 2 s), so they stop
/// the run as they do without the display, and Ctrl-Z is switched off meanwhile (it would
/// suspend the process with the terminal raw). Until [`full_screen_closed`], a second signal
/// puts the terminal back as it was (settings, main screen, cursor) before it ends the process,
/// and [`notice`] leaves the notice to the display. On Linux; elsewhere it only calls `open`.
pub fn full_screen<R>(open: impl FnOnce() -> R) -> R {
    FULL_SCREEN.store(true, Ordering::SeqCst);
    terminal::hold(open)
}

/// Says that the display [`full_screen`] opened has closed and given the terminal back.
pub fn full_screen_closed() {
    FULL_SCREEN.store(false, Ordering::SeqCst);
    terminal::release();
}

/// The terminal a full-screen display holds in raw mode.
#[cfg(target_os = "linux")]
mod terminal {
    use std::fs::File;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

    /// The terminal the renderer makes raw (crossterm's: stdin when it is one, else
    /// `/dev/tty`) and its settings before the first display opened.
    static TERMINAL: OnceLock<Option<(OwnedFd, Termios)>> = OnceLock::new();

    /// Whether a display holds the terminal in raw mode.
    static HELD: AtomicBool = AtomicBool::new(false);

    /// How long [`hold`] waits for the renderer to make the terminal raw.
    const RAW_WITHIN: Duration = Duration::from_secs(2);

    /// What leaves the dashboard: the main screen back, the cursor shown (as crossterm does).
    const LEAVE: &[u8] = b"\x1b[?1049l\x1b[?25h";

    fn terminal() -> Option<&'static (OwnedFd, Termios)> {
        TERMINAL
            .get_or_init(|| {
                let stdin = std::io::stdin();
                let fd: OwnedFd = if termios::isatty(&stdin) {
                    stdin.as_fd().try_clone_to_owned().ok()?
                } else {
                    File::options()
                        .read(true)
                        .write(true)
                        .open("/dev/tty")
                        .ok()?
                        .into()
                };
                let settings = termios::tcgetattr(&fd).ok()?;
                Some((fd, settings))
            })
            .as_ref()
    }

    pub(super) fn hold<R>(open: impl FnOnce() -> R) -> R {
        let terminal = terminal().filter(|(_, s)| s.local_modes.contains(LocalModes::ISIG));
        let Some((fd, _)) = terminal else {
            // No terminal, or one where Ctrl-C was no signal before either.
            return open();
        };
        HELD.store(true, Ordering::SeqCst);
        let opened = open();
        let give_up = Instant::now() + RAW_WITHIN;
        while Instant::now() < give_up {
            let Ok(mut now) = termios::tcgetattr(fd) else {
                break;
            };
            if !now.local_modes.contains(LocalModes::ISIG) {
                // Raw now: the keys that make signals make them again, without flushing what
                // the display wrote; Ctrl-Z off (0 is _POSIX_VDISABLE on Linux).
                now.local_modes |= LocalModes::ISIG | LocalModes::NOFLSH;
                now.special_codes[SpecialCodeIndex::VSUSP] = 0;
                // Best effort: at worst Ctrl-C stays a key, as before.
                let _ = termios::tcsetattr(fd, OptionalActions::Now, &now);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        opened
    }

    pub(super) fn release() {
        HELD.store(false, Ordering::SeqCst);
    }

    /// Puts a held terminal back as it was; async-signal-safe (atomic loads, `write`, `ioctl`).
    pub(super) fn restore() {
        if !HELD.load(Ordering::SeqCst) {
            return;
        }
        if let Some(Some((fd, settings))) = TERMINAL.get() {
            // SAFETY: fd 1 is stdout, where the display draws, open for the process's life.
            let stdout = unsafe { BorrowedFd::borrow_raw(1) };
            let _ = rustix::io::write(stdout, LEAVE);
            let _ = termios::tcsetattr(fd, OptionalActions::Now, settings);
        }
    }
}

/// Elsewhere the terminal is left to the display.
#[cfg(not(target_os = "linux"))]
mod terminal {
    pub(super) fn hold<R>(open: impl FnOnce() -> R) -> R {
        open()
    }

    pub(super) fn release() {}

    pub(super) fn restore() {}
}
