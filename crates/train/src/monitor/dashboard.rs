//! burn-train's terminal dashboard fed by our own training loop: per step the training loss and
//! its terms, the learning rate and the throughput; per epoch the validation loss and Dice.
//!
//! It opens at the first training step (the set-up lines before it print as usual), holds the
//! lines printed while it is open and prints them on stderr once it has closed, when dropped.
//! Its `q` menu stops the run at the next step boundary ([`Dashboard::interrupted`]). Ctrl-C
//! stays a signal on it ([`crate::stop::full_screen`]): the first stops the run at the next step
//! boundary, saving that step, the second ends the process at once. The first entry of its
//! metrics text, [`STOP`], says so, and says at once when a stop is under way.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use burn::data::dataloader::Progress as Count;
use burn_train::Interrupter;
use burn_train::metric::{
    MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericAttributes, NumericEntry,
    SerializedEntry,
};
use burn_train::renderer::tui::TuiMetricsRendererWrapper;
use burn_train::renderer::{MetricState, MetricsRenderer, ProgressType, TrainingProgress};

use crate::step::StepStatus;
use crate::stop;
use echoone_run::epoch_history::EpochRecord;

/// Opens a renderer given the interrupter it stops the run with and the number of epochs done
/// before this run's first step (for its time estimate).
pub type Open = Box<dyn Fn(Interrupter, Option<usize>) -> Box<dyn MetricsRenderer + Send>>;

/// A metric's definition and its new state, as a renderer takes them.
pub type Update = (MetricDefinition, MetricState);

/// The renderer, shared by the training thread and the thread that shows a stop at once.
type Shared = Arc<Mutex<Box<dyn MetricsRenderer + Send>>>;

/// The name of the dashboard's first text entry: how to stop the run, or that it is stopping.
pub const STOP: &str = "Stop";

/// What [`STOP`] says until a stop is asked for.
pub const STOP_HINT: &str = "Ctrl-C stops the run after the current step, which is saved first";

/// What [`STOP`] says once the `q` menu asked for a stop.
pub const STOP_FROM_MENU: &str =
    "stopping after the current step, which is saved first (asked from the q menu)";

/// What [`STOP`] says once Ctrl-C (or SIGTERM) asked for a stop: [`stop::NOTICE`].
pub const STOP_BY_SIGNAL: &str = stop::NOTICE;

/// burn-train's dashboard, opened at the first training step and closed when dropped.
pub struct Dashboard {
    open: Open,
    renderer: Option<Shared>,
    /// The thread that shows a stop as soon as it is asked for (a step can take minutes).
    watcher: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    interrupter: Interrupter,
    /// Whether a signal asked the run to stop ([`stop::requested_by_signal`]).
    signalled: fn() -> bool,
    /// Opened through [`stop::full_screen`], told when closed.
    full_screen: bool,
    registered: HashSet<MetricId>,
    /// Epochs of the run and steps per epoch, from the latest step.
    shape: Option<(usize, usize)>,
    held: Vec<String>,
}

impl Dashboard {
    /// burn-train's terminal dashboard (ratatui, on stdout), with Ctrl-C kept a signal.
    pub fn terminal() -> Self {
        let mut dashboard = Self::new(Box::new(|interrupter, done| {
            stop::full_screen(|| {
                let renderer = TuiMetricsRendererWrapper::new(interrupter, done);
                lower_renderer_priority();
                Box::new(renderer)
            })
        }));
        dashboard.full_screen = true;
        dashboard
    }

    /// A dashboard drawn by the renderer that `open` returns.
    pub fn new(open: Open) -> Self {
        Self {
            open,
            renderer: None,
            watcher: None,
            interrupter: Interrupter::new(),
            signalled: stop::requested_by_signal,
            full_screen: false,
            registered: HashSet::new(),
            shape: None,
            held: Vec::new(),
        }
    }

    /// Whether the user stopped the run from the dashboard.
    pub fn interrupted(&self) -> bool {
        self.interrupter.should_stop()
    }

    /// A line of text: printed on stderr now, or once the dashboard has closed if it is open.
    pub fn line(&mut self, text: &str) {
        if self.renderer.is_some() {
            self.held.push(text.to_string());
        } else {
            eprintln!("{text}");
        }
    }

    /// The renderer, opened at the first call with [`STOP`] as its first entry and the thread
    /// that keeps [`STOP`] up to date.
    fn renderer(&mut self, epochs_done: usize) -> Shared {
        if let Some(renderer) = &self.renderer {
            return Arc::clone(renderer);
        }
        let mut renderer = (self.open)(self.interrupter.clone(), Some(epochs_done));
        let (definition, state) = stop_entry(STOP_HINT);
        self.registered.insert(definition.metric_id.clone());
        renderer.register_metric(definition);
        renderer.update_train(state);
        let renderer: Shared = Arc::new(Mutex::new(renderer));
        let closing = Arc::new(AtomicBool::new(false));
        let thread = watch(
            Arc::clone(&renderer),
            self.interrupter.clone(),
            self.signalled,
            Arc::clone(&closing),
        );
        self.watcher = thread.map(|t| (closing, t));
        self.renderer = Some(Arc::clone(&renderer));
        renderer
    }

    /// Shows a training step, opening the dashboard at the first.
    pub fn step(&mut self, s: &StepStatus<'_>) {
        self.shape = Some((s.epochs, s.steps));
        let shared = self.renderer(s.epoch.saturating_sub(1));
        let mut renderer = lock(&shared);
        for (definition, state) in train_metrics(s) {
            if self.registered.insert(definition.metric_id.clone()) {
                renderer.register_metric(definition);
            }
            renderer.update_train(state);
        }
        let (progress, indicators) = train_progress(s);
        renderer.render_train(progress, indicators);
    }

    /// Shows an epoch's validation (once the dashboard is open).
    pub fn epoch(&mut self, r: &EpochRecord) {
        let (Some(shared), Some((epochs, steps))) = (self.renderer.as_ref(), self.shape) else {
            return;
        };
        let mut renderer = lock(shared);
        for (definition, state) in valid_metrics(r) {
            if self.registered.insert(definition.metric_id.clone()) {
                renderer.register_metric(definition);
            }
            renderer.update_valid(state);
        }
        let (progress, indicators) = valid_progress(r.epoch, epochs, steps);
        renderer.render_valid(progress, indicators);
    }
}

/// The renderer, even if a thread panicked while holding it (burn's renderer panics when its
/// `q` menu kills the run).
fn lock(renderer: &Shared) -> MutexGuard<'_, Box<dyn MetricsRenderer + Send>> {
    renderer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The [`STOP`] entry saying `text`.
fn stop_entry(text: &str) -> Update {
    metric(STOP, false, text.to_string(), None)
}

/// Starts the thread that shows on [`STOP`], as soon as a stop is asked for, what happens now,
/// until `closing` is set. `None` when no thread could start (the stop then shows nowhere).
fn watch(
    renderer: Shared,
    interrupter: Interrupter,
    signalled: fn() -> bool,
    closing: Arc<AtomicBool>,
) -> Option<JoinHandle<()>> {
    let run = move || {
        let mut shown = STOP_HINT;
        while !closing.load(Ordering::SeqCst) {
            let now = if signalled() {
                STOP_BY_SIGNAL
            } else if interrupter.should_stop() {
                STOP_FROM_MENU
            } else {
                STOP_HINT
            };
            if now != shown {
                shown = now;
                let (_, state) = stop_entry(now);
                let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    lock(&renderer).update_train(state)
                }));
                if sent.is_err() {
                    // burn's renderer panics once its `q` menu chose to kill the run, which
                    // it means to end the process with (101, as a panicking main thread).
                    std::process::exit(101);
                }
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
    };
    std::thread::Builder::new()
        .name("dashboard-stop".into())
        .spawn(run)
        .ok()
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // Closing restores the terminal (burn-train's renderer does not wait for a key unless
        // made persistent), then the held lines are printed.
        if let Some((closing, thread)) = self.watcher.take() {
            closing.store(true, Ordering::SeqCst);
            thread.thread().unpark();
            let _ = thread.join();
        }
        if self.renderer.take().is_some() && self.full_screen {
            stop::full_screen_closed();
        }
        for text in self.held.drain(..) {
            eprintln!("{text}");
        }
    }
}

/// burn-train 0.21's renderer thread polls for events without ever sleeping (fixed upstream
/// since), so it keeps a core busy. The lowest priority leaves the cores to training: it then
/// spins mostly in their idle time. The thread names itself once started, so it is looked for
/// for up to a second.
#[cfg(target_os = "linux")]
fn lower_renderer_priority() {
    for _ in 0..200 {
        if lower_priority_of("train-renderer") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Sets the threads of this process named `name` to the lowest priority; whether one was found.
#[cfg(target_os = "linux")]
fn lower_priority_of(name: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    let mut found = false;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let tid = task.file_name().to_str().and_then(|t| t.parse().ok());
        if comm.trim_end() == name
            && let Some(tid) = tid.and_then(rustix::process::Pid::from_raw)
        {
            // Best effort: at worst the dashboard shares the cores with training.
            found |= rustix::process::setpriority_process(Some(tid), 19).is_ok();
        }
    }
    found
}

/// Elsewhere the renderer thread keeps its priority.
#[cfg(not(target_os = "linux"))]
fn lower_renderer_priority() {}

/// The training metrics of a step: the loss and each of its terms (this batch's value, plotted,
/// and the epoch's running mean), the learning rate and the samples per second.
pub fn train_metrics(s: &StepStatus<'_>) -> Vec<Update> {
    let seen = s.seen.max(1) as f64;
    let mut out = Vec::with_capacity(s.losses.len() + 2);
    for &(term, batch) in s.losses {
        let mean = s.totals.get(term).map_or(f64::NAN, |t| t / seen);
        let name = if term == "loss" { "Loss" } else { term };
        out.push(metric(
            name,
            false,
            format!("epoch {mean:.4} - batch {batch:.4}"),
            Some(NumericEntry::Aggregated {
                aggregated_value: batch,
                count: s.items,
            }),
        ));
    }
    out.push(metric(
        "Learning rate",
        false,
        format!("{:.3e}", s.lr),
        Some(NumericEntry::Value(s.lr)),
    ));
    out.push(metric(
        "Samples/s",
        true,
        format!("{:.2}", s.rate),
        Some(NumericEntry::Value(s.rate)),
    ));
    out
}

/// The validation metrics of an epoch: its loss and mean Dice (plotted) and the Dice of each
/// structure (as text).
pub fn valid_metrics(r: &EpochRecord) -> Vec<Update> {
    let mut out = vec![
        metric(
            "Loss",
            false,
            format!("{:.4}", r.val_loss),
            Some(NumericEntry::Value(r.val_loss)),
        ),
        metric(
            "Dice",
            true,
            format!("{:.4}", r.val_dice),
            Some(NumericEntry::Value(r.val_dice)),
        ),
    ];
    if !r.val_dice_structure.is_empty() {
        out.push(metric(
            "Dice per structure",
            true,
            r.dice_per_structure_text(),
            None,
        ));
    }
    out
}

/// A step's progress for the renderer: within the epoch and over the run, and its indicators.
pub fn train_progress(s: &StepStatus<'_>) -> (TrainingProgress, Vec<ProgressType>) {
    let iteration = s.epoch.saturating_sub(1) * s.steps + s.step;
    let indicators = vec![
        ProgressType::Detailed {
            tag: "Epoch".into(),
            progress: count(s.epoch, s.epochs),
        },
        ProgressType::Detailed {
            tag: "Step".into(),
            progress: count(s.step, s.steps),
        },
        ProgressType::Value {
            tag: "Iteration".into(),
            value: iteration,
        },
    ];
    let progress = TrainingProgress {
        progress: Some(count(s.step, s.steps)),
        global_progress: count(s.epoch, s.epochs),
        iteration: Some(iteration),
    };
    (progress, indicators)
}

/// The progress of an epoch's finished validation. It counts `steps` items, as the training,
/// so that the renderer plots the validation points at the training's resolution.
pub fn valid_progress(
    epoch: usize,
    epochs: usize,
    steps: usize,
) -> (TrainingProgress, Vec<ProgressType>) {
    let indicators = vec![ProgressType::Detailed {
        tag: "Epoch".into(),
        progress: count(epoch, epochs),
    }];
    let progress = TrainingProgress {
        progress: Some(count(steps, steps)),
        global_progress: count(epoch, epochs),
        iteration: Some(epoch * steps),
    };
    (progress, indicators)
}

fn count(items_processed: usize, items_total: usize) -> Count {
    Count {
        items_processed,
        items_total,
    }
}

/// A metric named `name`: plotted when `value` is a finite number, shown as text otherwise.
fn metric(
    name: &str,
    higher_is_better: bool,
    formatted: String,
    value: Option<NumericEntry>,
) -> Update {
    let metric_id = MetricId::new(Arc::new(name.to_string()));
    let definition = MetricDefinition {
        metric_id: metric_id.clone(),
        name: name.to_string(),
        description: None,
        attributes: match value {
            Some(_) => MetricAttributes::Numeric(NumericAttributes {
                unit: None,
                higher_is_better,
            }),
            None => MetricAttributes::None,
        },
    };
    let value = value.filter(|v| v.current().is_finite());
    let serialized = value
        .as_ref()
        .map_or_else(|| formatted.clone(), NumericEntry::serialize);
    let entry = MetricEntry::new(metric_id, SerializedEntry::new(formatted, serialized));
    let state = match value {
        Some(value) => MetricState::Numeric(entry, value),
        None => MetricState::Generic(entry),
    };
    (definition, state)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use burn_train::renderer::{
        EvaluationName, EvaluationProgress, MetricsRendererEvaluation, MetricsRendererTraining,
    };

    use super::*;
    use crate::step::LossTerms;

    /// What a renderer was asked to do, in order.
    type Log = Arc<Mutex<Vec<String>>>;

    /// What the renderer was opened with: its interrupter and the epochs done before.
    type Opened = Arc<Mutex<Option<(Interrupter, Option<usize>)>>>;

    /// A renderer that logs its calls and checks that every metric is registered first (burn's
    /// terminal renderer panics otherwise).
    struct Recorder {
        log: Log,
        registered: HashSet<MetricId>,
    }

    impl Recorder {
        fn push(&self, call: String) {
            self.log.lock().unwrap().push(call);
        }

        fn state(&self, split: &str, state: &MetricState) {
            let (entry, value) = match state {
                MetricState::Generic(entry) => (entry, None),
                MetricState::Numeric(entry, value) => (entry, Some(value.current())),
            };
            assert!(
                self.registered.contains(&entry.metric_id),
                "unregistered metric"
            );
            let text = &entry.serialized_entry.formatted;
            self.push(format!("{split} {:?} {text} {value:?}", entry.metric_id));
        }

        fn progress(&self, split: &str, p: &TrainingProgress, indicators: &[ProgressType]) {
            let local = p
                .progress
                .as_ref()
                .map(|c| (c.items_processed, c.items_total));
            let global = (
                p.global_progress.items_processed,
                p.global_progress.items_total,
            );
            let tags: Vec<String> = indicators
                .iter()
                .map(|i| match i {
                    ProgressType::Detailed { tag, progress } => {
                        format!(
                            "{tag} {}/{}",
                            progress.items_processed, progress.items_total
                        )
                    }
                    ProgressType::Value { tag, value } => format!("{tag} {value}"),
                })
                .collect();
            self.push(format!(
                "render {split} {local:?} {global:?} {:?} {}",
                p.iteration,
                tags.join(", ")
            ));
        }
    }

    impl MetricsRendererTraining for Recorder {
        fn update_train(&mut self, state: MetricState) {
            self.state("train", &state);
        }
        fn update_valid(&mut self, state: MetricState) {
            self.state("valid", &state);
        }
        fn render_train(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
            self.progress("train", &item, &indicators);
        }
        fn render_valid(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
            self.progress("valid", &item, &indicators);
        }
    }

    impl MetricsRendererEvaluation for Recorder {
        fn update_test(&mut self, _: EvaluationName, _: MetricState) {
            self.push("test".into());
        }
        fn render_test(&mut self, _: EvaluationProgress, _: Vec<ProgressType>) {
            self.push("test".into());
        }
    }

    impl MetricsRenderer for Recorder {
        fn manual_close(&mut self) {
            self.push("manual close".into());
        }
        fn register_metric(&mut self, definition: MetricDefinition) {
            self.push(format!("register {}", definition.name));
            self.registered.insert(definition.metric_id);
        }
    }

    impl Drop for Recorder {
        fn drop(&mut self) {
            self.push("closed".into());
        }
    }

    /// A dashboard drawn by a [`Recorder`], its log, and the interrupter it was opened with.
    fn recorded() -> (Dashboard, Log, Opened) {
        let log = Log::default();
        let opened = Opened::default();
        let (l, o) = (log.clone(), opened.clone());
        let dashboard = Dashboard::new(Box::new(move |interrupter, done| {
            *o.lock().unwrap() = Some((interrupter, done));
            l.lock().unwrap().push(format!("open {done:?}"));
            Box::new(Recorder {
                log: l.clone(),
                registered: HashSet::new(),
            })
        }));
        (dashboard, log, opened)
    }

    fn totals(loss: f64, bce: f64) -> BTreeMap<String, f64> {
        BTreeMap::from([("loss".into(), loss), ("main_bce".into(), bce)])
    }

    fn status<'a>(
        epoch: usize,
        step: usize,
        losses: &'a LossTerms,
        totals: &'a BTreeMap<String, f64>,
    ) -> StepStatus<'a> {
        StepStatus {
            epoch,
            epochs: 4,
            step,
            steps: 2,
            items: 8,
            losses,
            totals,
            seen: 8 * step,
            lr: 2e-3,
            rate: 3.5,
        }
    }

    fn record(epoch: usize, dice: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            lr: 2e-3,
            train_loss: 0.5,
            train_terms: BTreeMap::new(),
            val_loss: 0.25,
            val_dice: dice,
            val_dice_structure: BTreeMap::from([("LA".into(), 0.5), ("LV".into(), 0.75)]),
            val_dice_plane: BTreeMap::new(),
            samples_per_second: 3.5,
            seconds: 10.0,
        }
    }

    #[test]
    fn a_step_gives_the_batch_loss_to_plot_and_the_epoch_mean_to_read() {
        let losses: LossTerms = vec![("loss", 0.75), ("main_bce", 0.25)];
        let totals = totals(16.0, 4.0);
        let metrics = train_metrics(&status(1, 2, &losses, &totals));
        let names: Vec<&str> = metrics.iter().map(|(d, _)| d.name.as_str()).collect();
        assert_eq!(names, ["Loss", "main_bce", "Learning rate", "Samples/s"]);
        let MetricState::Numeric(entry, value) = &metrics[0].1 else {
            panic!("the loss plots");
        };
        assert_eq!(entry.metric_id, metrics[0].0.metric_id);
        assert_eq!(
            entry.serialized_entry.formatted,
            "epoch 1.0000 - batch 0.7500"
        );
        let NumericEntry::Aggregated {
            aggregated_value,
            count,
        } = value
        else {
            panic!("the loss is a batch mean");
        };
        assert_eq!((*aggregated_value, *count), (0.75, 8));
        let MetricState::Numeric(entry, value) = &metrics[1].1 else {
            panic!("a loss term plots");
        };
        assert_eq!(
            entry.serialized_entry.formatted,
            "epoch 0.2500 - batch 0.2500"
        );
        assert_eq!(value.current(), 0.25);
        let MetricState::Numeric(entry, value) = &metrics[2].1 else {
            panic!("the learning rate plots");
        };
        assert_eq!(
            (entry.serialized_entry.formatted.as_str(), value.current()),
            ("2.000e-3", 2e-3)
        );
        assert!(matches!(
            metrics[0].0.attributes,
            MetricAttributes::Numeric(NumericAttributes {
                higher_is_better: false,
                ..
            })
        ));
    }

    #[test]
    fn an_epoch_gives_the_validation_loss_and_dice() {
        let metrics = valid_metrics(&record(3, 0.625));
        let names: Vec<&str> = metrics.iter().map(|(d, _)| d.name.as_str()).collect();
        assert_eq!(names, ["Loss", "Dice", "Dice per structure"]);
        let values: Vec<Option<f64>> = metrics
            .iter()
            .map(|(_, s)| match s {
                MetricState::Numeric(_, v) => Some(v.current()),
                MetricState::Generic(_) => None,
            })
            .collect();
        assert_eq!(values, [Some(0.25), Some(0.625), None]);
        let MetricState::Generic(entry) = &metrics[2].1 else {
            panic!("per structure is text");
        };
        assert_eq!(entry.serialized_entry.formatted, "LA 0.500, LV 0.750");
        // An undefined Dice (no validation image) is shown, not plotted.
        let metrics = valid_metrics(&record(3, f64::NAN));
        assert!(
            matches!(&metrics[1].1, MetricState::Generic(e) if e.serialized_entry.formatted == "NaN")
        );
    }

    #[test]
    fn progress_counts_steps_in_the_epoch_and_epochs_in_the_run() {
        let losses: LossTerms = vec![("loss", 0.75)];
        let totals = totals(6.0, 0.0);
        let (p, indicators) = train_progress(&status(3, 1, &losses, &totals));
        let local = p.progress.expect("the epoch's steps");
        assert_eq!((local.items_processed, local.items_total), (1, 2));
        let global = (
            p.global_progress.items_processed,
            p.global_progress.items_total,
        );
        assert_eq!((global, p.iteration), ((3, 4), Some(5)));
        assert_eq!(indicators.len(), 3);
        let (p, _) = valid_progress(3, 4, 2);
        let local = p.progress.expect("a finished validation");
        assert_eq!((local.items_processed, local.items_total), (2, 2));
        assert_eq!(p.iteration, Some(6));
    }

    #[test]
    fn the_dashboard_opens_at_the_first_step_and_quits_through_its_interrupter() {
        let (mut dashboard, log, opened) = recorded();
        dashboard.line("set-up");
        dashboard.epoch(&record(2, 0.5));
        assert!(
            log.lock().unwrap().is_empty(),
            "nothing opens before a step"
        );
        assert!(!dashboard.interrupted());
        let losses: LossTerms = vec![("loss", 0.75), ("main_bce", 0.25)];
        let totals = totals(6.0, 2.0);
        // A resumed run: its first step is in epoch 3, after 2 epochs done.
        dashboard.step(&status(3, 1, &losses, &totals));
        dashboard.step(&status(3, 2, &losses, &totals));
        dashboard.epoch(&record(3, 0.5));
        dashboard.line("epoch 3: ...");
        assert_eq!(dashboard.held, ["epoch 3: ..."]);
        let calls = log.lock().unwrap().clone();
        assert_eq!(calls[0], "open Some(2)");
        assert_eq!(calls.iter().filter(|c| c.starts_with("open")).count(), 1);
        // Registered once each, before their first update (the recorder checks).
        let registered: Vec<&str> = calls
            .iter()
            .filter_map(|c| c.strip_prefix("register "))
            .collect();
        assert_eq!(
            registered,
            [
                STOP,
                "Loss",
                "main_bce",
                "Learning rate",
                "Samples/s",
                "Dice",
                "Dice per structure"
            ]
        );
        assert!(calls.contains(
            &"render train Some((2, 2)) (3, 4) Some(6) Epoch 3/4, Step 2/2, Iteration 6".into()
        ));
        assert_eq!(
            calls.last().unwrap(),
            "render valid Some((2, 2)) (3, 4) Some(6) Epoch 3/4"
        );
        assert!(!dashboard.interrupted());
        let (interrupter, _) = opened.lock().unwrap().clone().expect("opened");
        interrupter.stop(Some("q, then s"));
        assert!(dashboard.interrupted());
        drop(dashboard);
        let calls = log.lock().unwrap();
        assert_eq!(calls.last().unwrap(), "closed");
        assert!(
            !calls.iter().any(|c| c == "manual close"),
            "never waits for a key"
        );
    }

    /// Waits (up to 10 s) for a call in `log` that `matches` accepts.
    fn wait_for_call(log: &Log, matches: impl Fn(&str) -> bool) -> bool {
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < give_up {
            if log.lock().unwrap().iter().any(|c| matches(c)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn the_stop_entry_comes_first_and_says_at_once_that_the_run_is_stopping() {
        static SIGNALLED: AtomicBool = AtomicBool::new(false);
        let (mut dashboard, log, opened) = recorded();
        dashboard.signalled = || SIGNALLED.load(Ordering::SeqCst);
        let losses: LossTerms = vec![("loss", 0.75)];
        let totals = totals(6.0, 0.0);
        dashboard.step(&status(1, 1, &losses, &totals));
        let calls = log.lock().unwrap().clone();
        assert_eq!(calls[1], format!("register {STOP}"));
        assert!(
            calls[2].starts_with("train ") && calls[2].contains(STOP_HINT),
            "{calls:?}"
        );
        // The menu's stop, then Ctrl-C, each shown while the step goes on (no call from it).
        let (interrupter, _) = opened.lock().unwrap().clone().expect("opened");
        interrupter.stop(Some("q, then s"));
        assert!(wait_for_call(&log, |c| c.starts_with("train ")
            && c.contains(STOP_FROM_MENU)));
        SIGNALLED.store(true, Ordering::SeqCst);
        assert!(wait_for_call(&log, |c| c.starts_with("train ")
            && c.contains(STOP_BY_SIGNAL)));
        drop(dashboard);
        let calls = log.lock().unwrap();
        assert_eq!(calls.last().unwrap(), "closed");
        assert_eq!(
            calls.iter().filter(|c| c.contains(STOP_BY_SIGNAL)).count(),
            1,
            "shown once"
        );
    }
}
