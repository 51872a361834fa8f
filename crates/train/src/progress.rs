//! Progress of a run: burn-train's dashboard when stdout and stderr are terminals (unless the
//! user asks for the status line), a live status line on stderr when only stderr is, plain
//! lines on stderr otherwise.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::dashboard::Dashboard;
use crate::history::EpochRecord;
use crate::step::LossTerms;

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

/// Where training stands after a step.
#[derive(Debug, Clone, Copy)]
pub struct StepStatus<'a> {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Epochs of the run.
    pub epochs: usize,
    /// The step within the epoch, from 1.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// Items in this step's batch.
    pub items: usize,
    /// This step's loss terms.
    pub losses: &'a LossTerms,
    /// Each term times its batch's items, summed over the epoch so far.
    pub totals: &'a BTreeMap<String, f64>,
    /// The epoch's items so far.
    pub seen: usize,
    /// The learning rate of this step.
    pub lr: f64,
    /// Training samples per second over the epoch so far.
    pub rate: f64,
}

/// Shows the run's progress.
pub struct Progress {
    display: Display,
    last: Cell<Option<Instant>>,
    dashboard: Option<RefCell<Dashboard>>,
}

/// Seconds between plain progress lines (a terminal updates its status line every step).
const PLAIN_EVERY: f64 = 15.0;

impl Progress {
    /// The display that fits where stdout and stderr go; `quiet` shows nothing, `dashboard`
    /// asks for burn-train's dashboard.
    pub fn new(quiet: bool, dashboard: bool) -> Self {
        let display = Display::choose(
            quiet,
            dashboard,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        Self {
            display,
            last: Cell::new(None),
            dashboard: (display == Display::Dashboard).then(|| RefCell::new(Dashboard::terminal())),
        }
    }

    /// Whether the user stopped the run from the dashboard: the trainer stops at the next step
    /// boundary, as if killed there.
    pub fn interrupted(&self) -> bool {
        self.dashboard
            .as_ref()
            .is_some_and(|d| d.borrow().interrupted())
    }

    /// A line of its own.
    pub fn line(&self, text: &str) {
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
            "epoch {}/{}  step {}/{}  loss {loss:.4}  {:.2} samples/s",
            s.epoch, s.epochs, s.step, s.steps, s.rate
        );
        match self.display {
            Display::Quiet | Display::Dashboard => {}
            Display::Line => {
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
}
