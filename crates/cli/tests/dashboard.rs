//! Ctrl-C on burn-train's dashboard. `echoone train` runs on a pseudo-terminal, so that stdout
//! and stderr are terminals and the dashboard opens; the dashboard makes the terminal raw, where
//! Ctrl-C is a key, not a signal. A Ctrl-C typed there (the byte 0x03 written to the terminal)
//! stops the run after its current step, saved first, as SIGINT does without the dashboard:
//! exit status 130, a `stopped` event, the `latest` checkpoint at that step, which `--resume`
//! continues. A second Ctrl-C ends the process at once, gives the terminal back as it was and
//! leaves the saved checkpoint whole.

#![cfg(target_os = "linux")]

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use echoone_train::monitor::dashboard::STOP_BY_SIGNAL;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{LocalModes, Termios, Winsize, tcgetattr, tcsetwinsize};
use serde_json::Value;

/// One line of `events.jsonl`.
/// The size of the pseudo-terminal: wide enough for the dashboard's text to fit on one line.
const ROWS: u16 = 40;
const COLS: u16 = 160;

/// Ctrl-C, as a terminal sends it.
const CTRL_C: &[u8] = b"\x03";

/// The beginning of [`STOP_BY_SIGNAL`], short enough to fit on one line of the dashboard.
const STOPPING: &str = "stopping after the current step";

/// Enters and leaves the alternate screen, where the dashboard draws (crossterm's sequences).
const ENTER: &[u8] = b"\x1b[?1049h";
const LEAVE: &[u8] = b"\x1b[?1049l";

/// A guard against waiting forever, not a timed assertion.
const GIVE_UP: Duration = Duration::from_secs(120);

/// `echoone train` on a pseudo-terminal: the process, the terminal's master side and all it
/// wrote there (read as it comes, so that it never blocks on a full terminal).
struct OnTerminal {
    child: Child,
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    run: PathBuf,
    /// The terminal's settings before the process started.
    before: Termios,
}

impl OnTerminal {
    /// Starts `echoone train --config C --out TMP/run ARGS` on `tiny_run(2)` (written to C in
    /// `tmp`), on a new pseudo-terminal of which it is the session leader and foreground
    /// process, as in a shell.
    fn start(tmp: &Path, args: &[&str]) -> Self {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .expect("a pseudo-terminal");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let size = Winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&master, size).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = File::options()
            .read(true)
            .write(true)
            .custom_flags(i32::try_from(rustix::fs::OFlags::NOCTTY.bits()).unwrap())
            .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
            .expect("the pseudo-terminal's slave side");
        let before = tcgetattr(&slave).unwrap();
        let config = write_config(tmp, "config.json", &tiny_run(2));
        let run = tmp.join("run");
        let mut command = Command::new(env!("CARGO_BIN_EXE_echoone"));
        command
            .args(["train", "--config", config.to_str().unwrap()])
            .args(["--out", run.to_str().unwrap()])
            .args(args)
            .current_dir(tmp)
            .env("TERM", "xterm-256color")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: between fork and exec only system calls: a new session whose controlling
        // terminal is the pseudo-terminal (stdin, set up before this runs).
        unsafe {
            command.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(0))?;
                Ok(())
            });
        }
        let child = command.spawn().expect("start echoone train");
        // The slave side is the child's alone now: the master reads end of file (EIO) once the
        // child is gone.
        drop(command);
        let master = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut from = master.try_clone().unwrap();
        let into = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 1 << 14];
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        Self {
            child,
            master,
            output,
            reader: Some(reader),
            run,
            before,
        }
    }

    /// All the process wrote on its terminal so far.
    fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    /// For a failure's message: the dashboard's last screen and the last bytes written.
    fn tail(&self) -> String {
        let output = self.output();
        let last = String::from_utf8_lossy(&output[output.len().saturating_sub(2000)..])
            .escape_debug()
            .to_string();
        format!("{}\nlast written: {last}", screen(&output).join("\n"))
    }

    /// The terminal's settings now.
    fn settings(&self) -> Termios {
        tcgetattr(self.master.as_fd()).unwrap()
    }

    /// Types Ctrl-C.
    fn ctrl_c(&mut self) {
        self.master.write_all(CTRL_C).unwrap();
    }

    /// Waits until `until` holds, the process still running meanwhile.
    fn wait(&mut self, what: &str, until: impl Fn(&Self) -> bool) {
        let give_up = Instant::now() + GIVE_UP;
        while !until(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ended ({status}) before {what}:\n{}", self.tail());
            }
            if Instant::now() > give_up {
                let _ = self.child.kill();
                panic!("no {what} within {GIVE_UP:?}:\n{}", self.tail());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the process logs an event that `when` accepts.
    fn wait_for_event(&mut self, what: &str, when: impl Fn(&Event) -> bool) {
        self.wait(what, |t| t.events().iter().any(&when));
    }

    /// Waits until the dashboard is open: the terminal raw, the alternate screen entered.
    fn wait_for_dashboard(&mut self) {
        self.wait("dashboard", |t| {
            !t.settings().local_modes.contains(LocalModes::ICANON)
                && find(&t.output(), ENTER).is_some()
        });
    }

    /// The exit status once the process ends (within [`GIVE_UP`], else it is killed), after
    /// all it wrote was read.
    fn ended(&mut self, what: &str) -> Option<i32> {
        let give_up = Instant::now() + GIVE_UP;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > give_up {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{what}: still running after {GIVE_UP:?}:\n{}", self.tail());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        status.code()
    }

    /// The run log.
    fn events(&self) -> Vec<Event> {
        let path = self.run.join("events.jsonl");
        if !path.is_file() {
            return Vec::new();
        }
        echoone_train::monitor::events::read(&path).expect("events.jsonl")
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        // A failed test leaves no process behind.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The lines of the alternate screen last drawn in `bytes`: the characters printed at the
/// cursor, moved by `ESC [ row ; col H`; every other escape sequence (colours, styles, the
/// cursor shown or hidden) is skipped. That is all ratatui's crossterm backend writes.
fn screen(bytes: &[u8]) -> Vec<String> {
    let start = rfind(bytes, ENTER).map_or(0, |i| i + ENTER.len());
    let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    let mut grid = vec![vec![' '; usize::from(COLS)]; usize::from(ROWS)];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.next_if_eq(&'[').is_none() {
                    chars.next();
                    continue;
                }
                let mut params = String::new();
                let mut end = None;
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        end = Some(c);
                        break;
                    }
                    params.push(c);
                }
                match end {
                    Some('H') => {
                        let mut at = params.split(';').map(|p| p.parse().unwrap_or(1usize));
                        row = at.next().unwrap_or(1).saturating_sub(1);
                        col = at.next().unwrap_or(1).saturating_sub(1);
                    }
                    Some('J') if params == "2" => {
                        grid.iter_mut().for_each(|l| l.fill(' '));
                    }
                    Some('l') if params == "?1049" => break,
                    _ => {}
                }
            }
            '\r' => col = 0,
            '\n' => row += 1,
            c if c.is_control() => {}
            c => {
                if let Some(cell) = grid.get_mut(row).and_then(|l| l.get_mut(col)) {
                    *cell = c;
                }
                col += 1;
            }
        }
    }
    grid.into_iter().map(|l| l.into_iter().collect()).collect()
}

/// Whether `lines` show `words` on one line.
fn shows(lines: &[String], words: &str) -> bool {
    lines.iter().any(|l| l.contains(words))
}

#[test]
fn ctrl_c_on_the_dashboard_stops_after_the_step_saves_it_and_resume_continues() {
    let tmp = tempfile::tempdir().unwrap();
    // The run waits as step 2 starts, the dashboard open since step 1, for the first Ctrl-C.
    let mut run = OnTerminal::start(tmp.path(), &["--pause-at", "step_started:2"]);
    run.wait_for_event("pause", |e| name(e) == "paused");
    run.wait_for_dashboard();
    run.ctrl_c();
    let code = run.ended("after one Ctrl-C on the dashboard");
    let said = run.output();
    let text = String::from_utf8_lossy(&said);
    assert_eq!(code, Some(130), "{}", run.tail());
    let log = run.events();
    let stopped = first(&log, "stopped");
    assert_eq!(stopped["by"], "a signal (Ctrl-C or SIGTERM)", "{stopped:?}");
    assert_eq!(
        (
            num(stopped, "epoch"),
            num(stopped, "epoch_step"),
            num(stopped, "global_step")
        ),
        (0, 2, 2)
    );
    let saved = log
        .iter()
        .rfind(|e| name(e) == "checkpoint_written")
        .expect("the stop's checkpoint");
    assert_eq!(
        (&saved["mid_epoch"], num(saved, "global_step")),
        (&Value::Bool(true), 2)
    );
    let state = latest_state(&run.run);
    assert_eq!(
        (&state["step"], &state["position"]["steps"]),
        (&Value::from(2), &Value::from(2)),
        "{state}"
    );
    // The dashboard closed and gave the terminal back, then said what happened.
    let left = rfind(&said, LEAVE).expect("the dashboard left its screen");
    assert!(left > rfind(&said, ENTER).unwrap());
    assert!(
        String::from_utf8_lossy(&said[left..])
            .contains("stopped by a signal (Ctrl-C or SIGTERM) during epoch 1"),
        "{text}"
    );
    assert_eq!(
        run.settings().local_modes,
        run.before.local_modes,
        "terminal left raw"
    );

    let o = run.run.to_str().unwrap();
    ok(&echoone(&[
        "train",
        "--quiet",
        "--no-dashboard",
        "--out",
        o,
        "--resume",
        "--epochs",
        "1",
    ]));
    let log = run.events();
    let resumed = first(&log, "resumed");
    assert_eq!(
        (num(resumed, "step"), num(resumed, "epoch_step")),
        (2, 2),
        "{resumed:?}"
    );
    let pid = num(resumed, "pid");
    let steps: Vec<u64> = log
        .iter()
        .filter(|e| name(e) == "step_started" && num(e, "pid") == pid)
        .map(|e| num(e, "global_step"))
        .collect();
    assert_eq!(steps, [3, 4, 5, 6]);
    assert_eq!(history(&run.run).len(), 1);
}

#[test]
fn a_second_ctrl_c_on_the_dashboard_ends_at_once_restores_the_terminal_and_keeps_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    // After the first Ctrl-C the run stops, saves, and waits after its `stopped` event, its
    // dashboard still open, for the second.
    let mut run = OnTerminal::start(tmp.path(), &["--pause-at", "stopped"]);
    run.wait_for_event("step 2", |e| {
        name(e) == "step_started" && num(e, "global_step") == 2
    });
    run.wait_for_dashboard();
    run.ctrl_c();
    run.wait_for_event("the stop", |e| {
        name(e) == "paused" && e.get("until").is_some_and(|u| u == "killed")
    });
    // The dashboard says what is happening (a line of the run's stderr would scribble on it).
    assert!(STOP_BY_SIGNAL.starts_with(STOPPING));
    run.wait("the dashboard's stop notice", |t| {
        shows(&screen(&t.output()), STOPPING)
    });
    let drawn = run.output().len();
    run.ctrl_c();
    let asked = Instant::now();
    let code = run.ended("after a second Ctrl-C");
    let took = asked.elapsed();
    assert_eq!(code, Some(130), "{}", run.tail());
    assert!(took < Duration::from_secs(10), "took {took:?} to end");
    let log = run.events();
    assert!(
        !log.iter().any(|e| name(e) == "finished"),
        "the second Ctrl-C must end the process before its run finishes: {log:?}"
    );
    // The terminal as it was: its settings, the main screen (left after the last frame).
    let said = run.output();
    assert!(
        rfind(&said, LEAVE).is_some_and(|i| i >= rfind(&said, ENTER).unwrap()),
        "still on the dashboard's screen: {:?}",
        String::from_utf8_lossy(&said[drawn.min(said.len())..])
    );
    let after = run.settings();
    assert_eq!(
        after.local_modes, run.before.local_modes,
        "terminal left raw"
    );
    assert_eq!(after.input_modes, run.before.input_modes);
    assert_eq!(after.output_modes, run.before.output_modes);
    // The checkpoint of the stop is whole: the run resumes from it.
    let stopped = first(&log, "stopped");
    let state = latest_state(&run.run);
    assert_eq!(state["step"], stopped["global_step"], "{state} {stopped:?}");
    let o = run.run.to_str().unwrap();
    ok(&echoone(&[
        "train",
        "--quiet",
        "--no-dashboard",
        "--out",
        o,
        "--resume",
        "--epochs",
        "1",
    ]));
    let log = run.events();
    let resumed = first(&log, "resumed");
    assert_eq!(resumed["step"], stopped["global_step"], "{resumed:?}");
    assert_eq!(history(&run.run).len(), 1);
}
