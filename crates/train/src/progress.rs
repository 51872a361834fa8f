//! Progress on stderr: a live status line in a terminal, plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::history::EpochRecord;

/// Prints the run's progress.
pub struct Progress {
    quiet: bool,
    live: bool,
    last: std::cell::Cell<Option<Instant>>,
}

/// Seconds between plain progress lines (a terminal updates its status line every step).
const PLAIN_EVERY: f64 = 15.0;

impl Progress {
    /// A printer; `quiet` prints nothing.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            live: std::io::stderr().is_terminal(),
            last: std::cell::Cell::new(None),
        }
    }

    /// A line of its own.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{}{text}", if self.live { "\r\x1b[2K" } else { "" });
        }
    }

    /// Training progress within an epoch.
    pub fn step(
        &self,
        epoch: usize,
        epochs: usize,
        step: usize,
        steps: usize,
        loss: f64,
        rate: f64,
    ) {
        if self.quiet {
            return;
        }
        let text = format!(
            "epoch {epoch}/{epochs}  step {step}/{steps}  loss {loss:.4}  {rate:.2} samples/s"
        );
        if self.live {
            eprint!("\r\x1b[2K{text}");
            let _ = std::io::stderr().flush();
            return;
        }
        let due = self
            .last
            .get()
            .is_none_or(|t| t.elapsed().as_secs_f64() >= PLAIN_EVERY);
        if due || step == steps {
            self.last.set(Some(Instant::now()));
            eprintln!("{text}");
        }
    }

    /// The summary line of an epoch.
    pub fn epoch(&self, r: &EpochRecord) {
        let per: Vec<String> = r
            .val_dice_structure
            .iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect();
        self.line(&format!(
            "epoch {}: train loss {:.4}, val loss {:.4}, val Dice {:.4} ({}), {:.1} samples/s, {:.0} s",
            r.epoch,
            r.train_loss,
            r.val_loss,
            r.val_dice,
            per.join(", "),
            r.samples_per_second,
            r.seconds
        ));
    }
}
