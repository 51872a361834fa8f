//! Progress of a run: burn-train's dashboard when stdout and stderr are terminals (unless the
//! user asks for the status line), a live status line on stderr when only stderr is, plain
//! lines on stderr otherwise. Without the dashboard a heartbeat says what the run is doing
//! whenever nothing was printed for [`HEARTBEAT`] seconds (fitting the prior, compiling GPU
//! kernels for the first steps, validating), so a slow start never looks like a hang.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::monitor::dashboard::Dashboard;
use crate::step::StepStatus;
use echoone_run::epoch_history::EpochRecord;

/// How a run shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Nothing.
    Quiet,
    /// A line now and then on stderr, and one per epoch.
    Plain,
    /// A status line on stderr rewritten every step, and one line per epoch.
    Line,
    /// burn-train's dashboard on stdout.
    Dashboard,
}

impl Display {
    /// The display for `quiet`, whether the dashboard is asked for, and whether stdout and
    /// stderr are terminals.
    pub fn choose(
        quiet: bool,
        dashboard: bool,
        stdout_terminal: bool,
        stderr_terminal: bool,
    ) -> Self {
        match (quiet, stdout_terminal && dashboard, stderr_terminal) {
            (true, _, _) => Self::Quiet,
            (false, true, true) => Self::Dashboard,
            (false, false, true) => Self::Line,
            (false, _, false) => Self::Plain,
        }
    }
}

/// Shows the run's progress.
pub struct Progress {
    display: Display,
    last: Cell<Option<Instant>>,
    dashboard: Option<RefCell<Dashboard>>,
    pulse: Arc<Pulse>,
    heartbeat: Option<JoinHandle<()>>,
}

/// Seconds between plain progress lines (a terminal updates its status line every step).
const PLAIN_EVERY: f64 = 10.0;

/// Seconds without output after which the heartbeat says what the run is doing (longer than
/// the 10 s between plain lines, so a run whose steps go on prints only its step lines).
pub const HEARTBEAT: f64 = 12.0;

/// What the heartbeat thread shares with the run.
struct Pulse {
    started: Instant,
    /// What the run is doing, and since when.
    phase: Mutex<(String, Instant)>,
    /// When a line was last printed.
    printed: Mutex<Instant>,
    stop: AtomicBool,
    kernels: Option<fn() -> usize>,
}

impl Pulse {
    fn printed_now(&self) {
        if let Ok(mut t) = self.printed.lock() {
            *t = Instant::now();
        }
    }

    /// The heartbeat's line when nothing was printed for [`HEARTBEAT`] seconds.
    fn due(&self) -> Option<String> {
        let mut printed = self.printed.lock().ok()?;
        if printed.elapsed().as_secs_f64() < HEARTBEAT {
            return None;
        }
        *printed = Instant::now();
        let (phase, since) = self.phase.lock().ok()?.clone();
        Some(format!(
            "[{:.0} s] {phase} for {:.0} s{}",
            self.started.elapsed().as_secs_f64(),
            since.elapsed().as_secs_f64(),
            self.kernels_text()
        ))
    }

    fn kernels_text(&self) -> String {
        match self.kernels {
            Some(count) => format!("; {} GPU kernels compiled so far", count()),
            None => String::new(),
        }
    }
}

impl Progress {
    /// The display that fits where stdout and stderr go; `quiet` shows nothing, `dashboard`
    /// asks for burn-train's dashboard. `kernels` counts the kernels the backend compiled so
    /// far, where it compiles them: shown while the run warms up.
    pub fn new(quiet: bool, dashboard: bool, kernels: Option<fn() -> usize>) -> Self {
        let display = Display::choose(
            quiet,
            dashboard,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        let now = Instant::now();
        let pulse = Arc::new(Pulse {
            started: now,
            phase: Mutex::new(("starting".into(), now)),
            printed: Mutex::new(now),
            stop: AtomicBool::new(false),
            kernels,
        });
        let heartbeat = matches!(display, Display::Plain | Display::Line).then(|| {
            let pulse = Arc::clone(&pulse);
            let line = display == Display::Line;
            std::thread::spawn(move || {
                while !pulse.stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(500));
                    if let Some(text) = pulse.due() {
                        if line {
                            eprintln!("\r\x1b[2K{text}");
                        } else {
                            eprintln!("{text}");
                        }
                    }
                }
            })
        });
        Self {
            display,
            last: Cell::new(None),
            dashboard: (display == Display::Dashboard).then(|| RefCell::new(Dashboard::terminal())),
            pulse,
            heartbeat,
        }
    }

    /// Says what the run does from now on (the heartbeat repeats it while nothing else is
    /// printed): "fitting the PC-Mask prior", "validating epoch 3", ...
    pub fn phase(&self, what: &str) {
        if let Ok(mut p) = self.pulse.phase.lock() {
            *p = (what.to_string(), Instant::now());
        }
    }

    /// The kernels compiled so far, as a clause of a line (empty where none are compiled).
    pub fn kernels_text(&self) -> String {
        self.pulse.kernels_text()
    }

    /// Who asked the run to stop, if anyone did: a signal (Ctrl-C or SIGTERM, once
    /// [`crate::stop::on_signals`] was called) or the dashboard's menu. The trainer stops at the
    /// next step boundary and saves that step first.
    pub fn stop_reason(&self) -> Option<&'static str> {
        if crate::stop::requested_by_signal() {
            crate::stop::notice();
            Some("a signal (Ctrl-C or SIGTERM)")
        } else if self
            .dashboard
            .as_ref()
            .is_some_and(|d| d.borrow().interrupted())
        {
            Some("the dashboard")
        } else {
            None
        }
    }

    /// A line of its own.
    pub fn line(&self, text: &str) {
        self.pulse.printed_now();
        match (self.display, &self.dashboard) {
            (Display::Quiet, _) => {}
            (_, Some(dashboard)) => dashboard.borrow_mut().line(text),
            (Display::Line, None) => eprintln!("\r\x1b[2K{text}"),
            (_, None) => eprintln!("{text}"),
        }
    }

    /// Training progress within an epoch.
    pub fn step(&self, s: &StepStatus<'_>) {
        if let Some(dashboard) = &self.dashboard {
            dashboard.borrow_mut().step(s);
            return;
        }
        let loss = s.totals.get("loss").map_or(f64::NAN, |t| t / s.seen as f64);
        let text = format!(
            "epoch {}/{}  step {}/{}  loss {loss:.4}  {:.2} samples/s{}",
            s.epoch,
            s.epochs,
            s.step,
            s.steps,
            s.rate,
            self.kernels_text()
        );
        match self.display {
            Display::Quiet | Display::Dashboard => {}
            Display::Line => {
                self.pulse.printed_now();
                eprint!("\r\x1b[2K{text}");
                let _ = std::io::stderr().flush();
            }
            Display::Plain => {
                let due = self
                    .last
                    .get()
                    .is_none_or(|t| t.elapsed().as_secs_f64() >= PLAIN_EVERY);
                if due || s.step == s.steps {
                    self.last.set(Some(Instant::now()));
                    self.pulse.printed_now();
                    eprintln!("{text}");
                }
            }
        }
    }

    /// The summary line of an epoch (and its validation on the dashboard).
    pub fn epoch(&self, r: &EpochRecord) {
        if let Some(dashboard) = &self.dashboard {
            dashboard.borrow_mut().epoch(r);
        }
        self.line(&format!(
            "epoch {}: train loss {:.4}, val loss {:.4}, val Dice {:.4} ({}), {:.1} samples/s, {:.0} s",
            r.epoch,
            r.train_loss,
            r.val_loss,
            r.val_dice,
            r.dice_per_structure_text(),
            r.samples_per_second,
            r.seconds
        ));
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.pulse.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_is_asked_for_and_needs_both_terminals_and_no_quiet() {
        assert_eq!(Display::choose(false, true, true, true), Display::Dashboard);
        assert_eq!(Display::choose(false, false, true, true), Display::Line);
        assert_eq!(Display::choose(true, true, true, true), Display::Quiet);
        assert_eq!(Display::choose(true, true, false, false), Display::Quiet);
        // Piped stdout (`| tee`): the status line on the terminal's stderr, as before.
        assert_eq!(Display::choose(false, true, false, true), Display::Line);
    }

    #[test]
    fn plain_lines_without_a_terminal() {
        assert_eq!(Display::choose(false, true, false, false), Display::Plain);
        // stderr redirected to a log: plain lines there, no dashboard on stdout.
        assert_eq!(Display::choose(false, true, true, false), Display::Plain);
    }

    #[test]
    fn the_heartbeat_speaks_only_after_silence_and_names_the_phase() {
        let progress = Progress::new(true, false, Some(|| 42));
        progress.phase("fitting the PC-Mask prior");
        assert_eq!(progress.pulse.due(), None, "just started");
        let long_ago = Instant::now() - Duration::from_secs_f64(HEARTBEAT + 1.0);
        *progress.pulse.printed.lock().unwrap() = long_ago;
        let line = progress.pulse.due().expect("silent for too long");
        assert!(line.contains("fitting the PC-Mask prior for 0 s"), "{line}");
        assert!(line.ends_with("; 42 GPU kernels compiled so far"), "{line}");
        assert_eq!(progress.pulse.due(), None, "said it just now");
    }
}
