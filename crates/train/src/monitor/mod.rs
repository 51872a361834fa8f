//! Watching a run, one module per thing a user sees: the progress on the terminal
//! ([`progress`]: burn-train's [`dashboard`], a status line or plain lines), the events of every
//! process (`events.jsonl`, [`events`]) and the time of every step (`steps.csv`, [`steps_csv`]).
//! The per-epoch `metrics.csv` and curves belong to the run folder (`echoone_run::epoch_history`).

pub mod dashboard;
pub mod events;
pub mod progress;
pub mod steps_csv;
