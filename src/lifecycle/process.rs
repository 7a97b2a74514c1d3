//! Waiting for the children of lifecycle commands: foreground runs that Ctrl-C reaches, and probes
//! bounded by a timeout, whose whole process group is killed when the time is up.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use crate::error::{Error, Result};

/// How long a child that was asked to stop (Ctrl-C) may take before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The command ended by itself, with this status.
    Exited(Option<i32>),
    /// The time was up: the command and everything it started were killed.
    TimedOut,
}

fn pid(child: &Child) -> Option<Pid> {
    Pid::from_raw(child.id() as i32)
}

/// Signals the process group led by `child` (made with `process_group(0)`).
fn signal_group(child: &Child, signal: Signal) {
    if let Some(p) = pid(child) {
        let _ = kill_process_group(p, signal);
    }
}

/// Polls `child` until it ends, `deadline` passes or (when `interruptible`) Ctrl-C is pressed.
/// `Ok(None)`: it is still running.
fn wait_until(
    child: &mut Child,
    deadline: Option<Instant>,
    interruptible: bool,
) -> std::io::Result<Option<ExitStatus>> {
    // Short at first, so that an instant command costs a millisecond, then every 20 ms.
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if interruptible && crate::interrupt::is_set() {
            return Ok(None);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(None);
        }
        let left = deadline.map_or(pause, |d| d - now);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(what.to_string(), e)
}

/// Whether atk has a controlling terminal (even with its standard streams redirected).
fn has_controlling_terminal() -> bool {
    std::io::stdin().is_terminal() || std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok()
}

/// Runs `command` with the terminal (output streamed), until it ends. With a controlling
/// terminal, the child stays in atk's process group, where the terminal's Ctrl-C reaches it
/// directly and where it may read the terminal (`/dev/tty`, as a password prompt does) even when
/// atk's stdin is redirected: a group of its own would be stopped by the terminal on its first
/// read. Without one, the child leads a group of its own, and Ctrl-C (or SIGTERM) sent to atk is
/// passed on to that whole group. A child that has not ended `GRACE` after Ctrl-C is killed. The
/// caller turns an interrupted run into `Error::Interrupted` (see [`crate::interrupt::is_set`]).
pub fn foreground(command: &mut Command, what: &str) -> Result<ExitStatus> {
    let own_group = !has_controlling_terminal();
    if own_group {
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(io_err(what))?;
    if let Some(status) = wait_until(&mut child, None, true).map_err(io_err(what))? {
        return Ok(status);
    }
    // Ctrl-C: pass it on, give the child time to end, then end it.
    if own_group {
        signal_group(&child, Signal::INT);
    }
    if let Some(status) = wait_until(&mut child, Some(Instant::now() + GRACE), false).map_err(io_err(what))? {
        // What it left in its group (a background `sleep`, which ignores Ctrl-C) is ended too.
        if own_group {
            signal_group(&child, Signal::TERM);
        }
        return Ok(status);
    }
    if own_group {
        signal_group(&child, Signal::KILL);
    } else if let Some(p) = pid(&child) {
        let _ = kill_process(p, Signal::KILL);
    }
    child.wait().map_err(io_err(what))
}

/// Runs `command` with no terminal (stdin, stdout and stderr discarded) in a process group of its
/// own, for at most `timeout`; past that, the whole group is killed. Ctrl-C kills it too and
/// returns `Error::Interrupted`.
pub fn probe(command: &mut Command, timeout: Duration, what: &str) -> Result<Probe> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
    let mut child = command.spawn().map_err(io_err(what))?;
    let deadline = Instant::now() + timeout;
    let ended = wait_until(&mut child, Some(deadline), true).map_err(io_err(what))?;
    if let Some(status) = ended {
        // What the probe left running in its group (a stray `sleep &`) goes with it.
        signal_group(&child, Signal::KILL);
        return Ok(Probe::Exited(status.code()));
    }
    signal_group(&child, Signal::KILL);
    let _ = child.wait();
    if crate::interrupt::is_set() {
        return Err(Error::Interrupted);
    }
    Ok(Probe::TimedOut)
}

/// How a bounded run with its output captured ended.
pub enum Captured {
    /// It ended by itself: its status and what it wrote on stdout and stderr.
    Ended(std::process::Output),
    /// The time was up: it and everything it started were killed.
    TimedOut,
}

/// Runs `command` without a terminal (stdin empty), its stdout and stderr captured, in a process
/// group of its own, for at most `timeout`; past that, the whole group is killed. Ctrl-C kills it
/// too and returns `Error::Interrupted`.
pub fn output(command: &mut Command, timeout: Duration, what: &str) -> Result<Captured> {
    use std::io::Read;
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().map_err(io_err(what))?;
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    std::thread::scope(|s| {
        // Read while it runs, so that a child writing much is never blocked on a full pipe.
        let out = s.spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let err = s.spawn(move || {
            let mut b = Vec::new();
            let _ = err.read_to_end(&mut b);
            b
        });
        let ended = wait_until(&mut child, Some(Instant::now() + timeout), true).map_err(io_err(what));
        // Whatever is left in its group (or all of it, past the time) goes, which closes the pipes.
        signal_group(&child, Signal::KILL);
        let status = match ended? {
            Some(status) => status,
            None => {
                let _ = child.wait();
                return if crate::interrupt::is_set() { Err(Error::Interrupted) } else { Ok(Captured::TimedOut) };
            }
        };
        let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
        Ok(Captured::Ended(std::process::Output { status, stdout, stderr }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn output_is_captured_and_bounded() {
        let Captured::Ended(out) =
            output(&mut sh("echo out; echo err >&2; exit 3"), Duration::from_secs(5), "t").unwrap()
        else {
            panic!("it ended by itself")
        };
        assert_eq!((out.status.code(), &out.stdout[..], &out.stderr[..]), (Some(3), &b"out\n"[..], &b"err\n"[..]));
        let started = Instant::now();
        assert!(matches!(output(&mut sh("sleep 30"), Duration::from_millis(300), "t").unwrap(), Captured::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_probe_reports_the_exit_code() {
        assert_eq!(probe(&mut sh("exit 0"), Duration::from_secs(5), "t").unwrap(), Probe::Exited(Some(0)));
        assert_eq!(probe(&mut sh("exit 3"), Duration::from_secs(5), "t").unwrap(), Probe::Exited(Some(3)));
    }

    #[test]
    fn a_probe_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let started = Instant::now();
        assert_eq!(probe(&mut sh(&script), Duration::from_millis(300), "t").unwrap(), Probe::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // The grandchild `sleep` was in the probe's group: it is gone (or a zombie being reaped).
        std::thread::sleep(Duration::from_millis(100));
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
            .unwrap_or(false);
        assert!(!alive, "the probe's child {pid} still runs");
    }
}
