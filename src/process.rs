//! The one way atk runs a program: every child is bounded however it forks.
//!
//! * [`output`]: no terminal, stdout and stderr captured, in a process group of its own, bounded
//!   in time (and, for a network program, by how long it may stay silent). When the bound is
//!   reached, or as soon as the program itself exits, its whole group is killed and atk stops
//!   reading: what is already in the pipes is drained for a moment ([`DRAIN`]), and EOF is never
//!   waited for, since a descendant that left the group (`setsid daemon &`) may hold the pipes
//!   open for ever. What is kept of each stream is capped: its first [`HEAD_CAP`] and last
//!   [`TAIL_CAP`] bytes, the middle read and discarded, with a marker saying how much was cut.
//! * [`probe`]: the same without output (stdin, stdout and stderr discarded).
//! * [`foreground`] and [`interactive`]: the program has the terminal (output streamed, as a
//!   lifecycle `start`, `atk run`, `atk git` or the pager), until it exits; Ctrl-C and SIGTERM are
//!   passed on to it, and atk never waits for what it left running (a `start` command
//!   legitimately leaves its server behind).
//!
//! Ctrl-C (or SIGTERM) ends every wait within a second; the caller gets `Error::Interrupted`.

use std::io::IsTerminal;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use crate::error::{Error, Result};

/// How long a child that was asked to stop (Ctrl-C) may take before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// How long, once the program has exited, what it left in its pipes is still read.
pub const DRAIN: Duration = Duration::from_millis(200);

/// The first bytes of each captured stream that are kept.
pub const HEAD_CAP: usize = 64 * 1024;

/// The last bytes of each captured stream that are kept.
pub const TAIL_CAP: usize = 64 * 1024;

/// The most read from one pipe before the child is looked at again (a flood cannot starve the
/// checks of the time bound and of Ctrl-C).
const READ_BUDGET: usize = 1 << 20;

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The command ended by itself, with this status.
    Exited(Option<i32>),
    /// The time was up: the command and everything it started were killed.
    TimedOut,
}

/// The bounds of a run with its output captured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// The longest it may run.
    pub time: Option<Duration>,
    /// The longest it may go without writing anything (a network program's progress).
    pub stall: Option<Duration>,
}

impl Bounds {
    pub fn time(limit: Duration) -> Bounds {
        Bounds { time: Some(limit), stall: None }
    }

    pub fn stall(limit: Duration) -> Bounds {
        Bounds { time: None, stall: Some(limit) }
    }
}

/// How a bounded run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited by itself, with this status.
    Exited(ExitStatus),
    /// The time was up: it and everything in its group were killed.
    TimedOut,
    /// It wrote nothing for the stall bound: it and everything in its group were killed.
    Stalled,
}

/// A bounded run with its output captured (each stream capped, see [`HEAD_CAP`]).
#[derive(Debug)]
pub struct Captured {
    pub end: End,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
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

fn io_err(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(what.to_string(), e)
}

/// A captured stream: its first `head_cap` bytes ([`HEAD_CAP`], unless the caller reads the
/// stream as data) and last [`TAIL_CAP`] bytes, and how much of the middle was read and let go.
struct Capped {
    head: Vec<u8>,
    head_cap: usize,
    tail: Vec<u8>,
    cut: u64,
}

impl Default for Capped {
    fn default() -> Self {
        Capped { head: Vec::new(), head_cap: HEAD_CAP, tail: Vec::new(), cut: 0 }
    }
}

impl Capped {
    fn push(&mut self, mut bytes: &[u8]) {
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let n = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.len() >= TAIL_CAP {
            self.cut += (self.tail.len() + bytes.len() - TAIL_CAP) as u64;
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - TAIL_CAP..]);
            return;
        }
        self.tail.extend_from_slice(bytes);
        // Trimmed in batches: the tail never holds more than twice its cap.
        if self.tail.len() > 2 * TAIL_CAP {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let excess = self.tail.len().saturating_sub(TAIL_CAP);
        self.tail.drain(..excess);
        self.cut += excess as u64;
    }

    /// The start, a marker for what was cut (when anything was), the end.
    fn finish(mut self) -> Vec<u8> {
        self.trim();
        let mut out = self.head;
        if self.cut > 0 {
            out.extend_from_slice(format!("\n[… {} cut …]\n", crate::text::size(self.cut)).as_bytes());
        }
        out.extend_from_slice(&self.tail);
        out
    }
}

/// The marker of a cut and the end of the stream after it (see [`pieces`]).
pub type Cut<'a> = (&'a [u8], &'a [u8]);

/// A captured stream ([`Captured::stdout`], [`Captured::stderr`]) as what was kept of it: the
/// whole of it; or, when its middle was cut, its first [`HEAD_CAP`] bytes, the marker, and its
/// last [`TAIL_CAP`] bytes (by position: a program cannot fake a cut by printing a marker).
pub fn pieces(stream: &[u8]) -> (&[u8], Option<Cut<'_>>) {
    if stream.len() <= HEAD_CAP + TAIL_CAP {
        return (stream, None);
    }
    let (head, rest) = stream.split_at(HEAD_CAP);
    let (marker, tail) = rest.split_at(rest.len() - TAIL_CAP);
    (head, Some((marker, tail)))
}

/// The pipes of a child, non-blocking: what it writes is read while it runs (into [`Capped`]
/// buffers), and what it is given (`input`) is written as it reads it. Nothing here ever blocks
/// for longer than the pause it is given.
struct Pipes {
    reads: Vec<(Option<OwnedFd>, Capped)>,
    input: Option<(OwnedFd, Vec<u8>, usize)>,
    buf: Vec<u8>,
}

fn nonblocking(fd: &impl AsFd) -> std::io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
}

impl Pipes {
    fn new(reads: Vec<OwnedFd>, input: Option<(OwnedFd, Vec<u8>)>) -> std::io::Result<Pipes> {
        for fd in &reads {
            nonblocking(fd)?;
        }
        if let Some((fd, _)) = &input {
            nonblocking(fd)?;
        }
        Ok(Pipes {
            reads: reads.into_iter().map(|fd| (Some(fd), Capped::default())).collect(),
            input: input.map(|(fd, bytes)| (fd, bytes, 0)),
            buf: Vec::new(),
        })
    }

    fn open(&self) -> bool {
        self.input.is_some() || self.reads.iter().any(|(fd, _)| fd.is_some())
    }

    /// Waits at most `pause` for a pipe to be ready, then reads (and writes) what it can.
    /// Whether anything was read.
    fn pump(&mut self, pause: Duration) -> std::io::Result<bool> {
        if !self.open() {
            std::thread::sleep(pause);
            return Ok(false);
        }
        let timeout = Timespec { tv_sec: pause.as_secs() as _, tv_nsec: pause.subsec_nanos() as _ };
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        for (fd, _) in &self.reads {
            if let Some(fd) = fd {
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
        }
        if let Some((fd, _, _)) = &self.input {
            fds.push(PollFd::new(fd, PollFlags::OUT));
        }
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut ready = ready.into_iter();
        let mut active = false;
        let buf = &mut self.buf;
        buf.resize(64 * 1024, 0);
        for (slot, capped) in &mut self.reads {
            let Some(fd) = slot else { continue };
            if !ready.next().unwrap_or(false) {
                continue;
            }
            let mut taken = 0;
            while taken < READ_BUDGET {
                match rustix::io::read(&*fd, &mut buf[..]) {
                    Ok(0) => {
                        *slot = None;
                        break;
                    }
                    Ok(n) => {
                        capped.push(&buf[..n]);
                        taken += n;
                        active = true;
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(_) => {
                        *slot = None;
                        break;
                    }
                }
            }
        }
        let mut done = false;
        if let Some((fd, bytes, at)) = &mut self.input {
            if ready.next().unwrap_or(false) {
                loop {
                    if *at >= bytes.len() {
                        done = true;
                        break;
                    }
                    match rustix::io::write(&*fd, &bytes[*at..]) {
                        Ok(n) => *at += n,
                        Err(rustix::io::Errno::INTR) => {}
                        Err(rustix::io::Errno::AGAIN) => break,
                        // The reader is gone (a pager that quit): nothing more to give.
                        Err(_) => {
                            done = true;
                            break;
                        }
                    }
                }
            }
        }
        if done {
            // Closed, so that the reader sees the end of its input.
            self.input = None;
        }
        Ok(active)
    }

    /// What is already in the pipes, read for at most [`DRAIN`]; EOF is not waited for.
    fn drain(&mut self) -> std::io::Result<()> {
        self.input = None;
        let until = Instant::now() + DRAIN;
        while self.open() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.pump(left.min(Duration::from_millis(10)))? {
                break;
            }
        }
        Ok(())
    }

    fn into_streams(self) -> Vec<Vec<u8>> {
        self.reads.into_iter().map(|(_, c)| c.finish()).collect()
    }
}

/// Whether atk has a controlling terminal (even with its standard streams redirected).
fn has_controlling_terminal() -> bool {
    std::io::stdin().is_terminal() || std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok()
}

/// Runs `command` with the terminal (output streamed), until it ends. With a controlling
/// terminal, the child stays in atk's process group, where the terminal's Ctrl-C reaches it
/// directly and where it may read the terminal (`/dev/tty`, as a password prompt does) even when
/// atk's stdin is redirected: a group of its own would be stopped by the terminal on its first
/// read; a SIGTERM sent to atk alone is passed on to it. Without one, the child leads a group of
/// its own, and Ctrl-C (or SIGTERM) sent to atk is passed on to that whole group. A child that
/// has not ended `GRACE` after Ctrl-C is killed. What it leaves running when it exits by itself
/// is not waited for (nor killed: a `start` command leaves its server). The caller turns an
/// interrupted run into `Error::Interrupted` (see [`crate::interrupt::is_set`]).
pub fn foreground(command: &mut Command, what: &str) -> Result<ExitStatus> {
    run_foreground(command, None, false, what)
}

/// [`foreground`] for a program a person works with (`atk git`, the pager): on a terminal, what
/// the terminal's Ctrl-C means is the program's to decide (`less` and editors ignore it), so atk
/// waits for it to exit instead of ending it; SIGTERM, and Ctrl-C without a terminal, are passed
/// on as by [`foreground`]. `input`, when given, is written to its stdin (as a pager reads the
/// text it shows) without ever blocking on it: a program that stops reading, or exits, ends the
/// writing.
pub fn interactive(command: &mut Command, input: Option<&[u8]>, what: &str) -> Result<ExitStatus> {
    run_foreground(command, input, true, what)
}

fn run_foreground(command: &mut Command, input: Option<&[u8]>, patient: bool, what: &str) -> Result<ExitStatus> {
    let own_group = !has_controlling_terminal();
    if own_group {
        command.process_group(0);
    }
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().map_err(io_err(what))?;
    let stdin = child.stdin.take().map(OwnedFd::from);
    let mut pipes = Pipes::new(Vec::new(), stdin.zip(input.map(<[u8]>::to_vec))).map_err(io_err(what))?;
    if let Some(End::Exited(status)) = watch(&mut child, &mut pipes, Bounds::default(), true).map_err(io_err(what))? {
        return Ok(status);
    }
    // Ctrl-C or SIGTERM: pass it on, give the child time to end, then end it.
    let signal = if crate::interrupt::by_sigterm() { Signal::TERM } else { Signal::INT };
    if own_group {
        signal_group(&child, signal);
    } else if signal == Signal::TERM {
        // The terminal's Ctrl-C reached the child with atk; a SIGTERM sent to atk alone did not:
        // it goes to the child and to what it started in atk's group.
        signal_tree(&child, Signal::TERM);
    } else if patient {
        // The terminal's Ctrl-C, to a program a person works with: it decides.
        if let Some(End::Exited(status)) =
            watch(&mut child, &mut pipes, Bounds::default(), false).map_err(io_err(what))?
        {
            return Ok(status);
        }
    }
    pipes.input = None;
    if let Some(End::Exited(status)) =
        watch(&mut child, &mut pipes, Bounds::time(GRACE), false).map_err(io_err(what))?
    {
        // What it left in its group (a background `sleep`, which ignores Ctrl-C) is ended too.
        if own_group {
            signal_group(&child, Signal::TERM);
        }
        return Ok(status);
    }
    if own_group {
        signal_group(&child, Signal::KILL);
    } else {
        signal_tree(&child, Signal::KILL);
    }
    child.wait().map_err(io_err(what))
}

/// Signals `child` and its descendants that are still in atk's process group (found in
/// `/proc`; where there is none, the child alone). What left the group is not atk's to signal.
fn signal_tree(child: &Child, signal: Signal) {
    let Some(root) = pid(child) else { return };
    let mut tree = vec![root];
    let group = rustix::process::getpgrp();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        // (pid, parent) of every process of atk's group.
        let members: Vec<(i32, i32)> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                // `pid (comm) state ppid pgrp …`; comm may hold anything, so split after its `)`.
                let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(1);
                let parent = rest.next()?.parse::<i32>().ok()?;
                let pgrp = rest.next()?.parse::<i32>().ok()?;
                (pgrp == group.as_raw_nonzero().get()).then_some((p, parent))
            })
            .collect();
        let mut at = 0;
        while at < tree.len() {
            let parent = tree[at].as_raw_nonzero().get();
            tree.extend(members.iter().filter(|(_, pp)| *pp == parent).filter_map(|(p, _)| Pid::from_raw(*p)));
            at += 1;
        }
    }
    for p in tree {
        let _ = kill_process(p, signal);
    }
}

/// Runs `command` with no terminal (stdin, stdout and stderr discarded) in a process group of its
/// own, for at most `timeout`; when it exits, or past that, the whole group is killed. Ctrl-C
/// kills it too and returns `Error::Interrupted`. [`output`] without the output.
pub fn probe(command: &mut Command, timeout: Duration, what: &str) -> Result<Probe> {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    Ok(match bounded(command, Bounds::time(timeout), what, HEAD_CAP)?.0.end {
        End::Exited(status) => Probe::Exited(status.code()),
        End::TimedOut | End::Stalled => Probe::TimedOut,
    })
}

/// Runs `command` without a terminal (stdin empty), its stdout and stderr captured and capped,
/// in a process group of its own, within `bounds`. When it exits, or a bound is reached, its
/// whole group is killed and atk stops reading (see the module's documentation). Ctrl-C kills it
/// too and returns `Error::Interrupted`.
pub fn output(command: &mut Command, bounds: Bounds, what: &str) -> Result<Captured> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    bounded(command, bounds, what, HEAD_CAP).map(|(captured, _)| captured)
}

/// [`output`] for a program whose standard output atk reads as data (git's lists of objects,
/// paths and refs): kept whole, never cut; one longer than `limit` bytes is an error.
pub fn output_whole(command: &mut Command, bounds: Bounds, limit: usize, what: &str) -> Result<Captured> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let (captured, stdout_cut) = bounded(command, bounds, what, limit)?;
    if stdout_cut {
        return Err(Error::other(format!(
            "{what}: the program's answer is over {}, more than atk reads",
            crate::text::size(limit as u64)
        )));
    }
    Ok(captured)
}

/// [`output`] and [`probe`]: runs `command` (stdin empty, in a group of its own) within `bounds`,
/// capturing the streams the caller piped, the first one's start up to `head_cap` bytes. Whether
/// the first one's middle was cut.
fn bounded(command: &mut Command, bounds: Bounds, what: &str, head_cap: usize) -> Result<(Captured, bool)> {
    command.stdin(Stdio::null()).process_group(0);
    let mut child = command.spawn().map_err(io_err(what))?;
    let streams = [child.stdout.take().map(OwnedFd::from), child.stderr.take().map(OwnedFd::from)];
    let mut pipes = Pipes::new(streams.into_iter().flatten().collect(), None).map_err(io_err(what))?;
    if let Some((_, first)) = pipes.reads.first_mut() {
        first.head_cap = head_cap;
    }
    let ended = watch(&mut child, &mut pipes, bounds, true).map_err(io_err(what));
    // Whatever is left in its group (or all of it, past a bound) goes.
    signal_group(&child, Signal::KILL);
    let end = match ended {
        Ok(Some(end)) => end,
        Ok(None) => {
            let _ = child.wait();
            return Err(Error::Interrupted);
        }
        Err(e) => {
            let _ = child.wait();
            return Err(e);
        }
    };
    if !matches!(end, End::Exited(_)) {
        let _ = child.wait();
    }
    pipes.drain().map_err(io_err(what))?;
    let first_cut = pipes.reads.first().is_some_and(|(_, c)| c.cut > 0 || c.tail.len() > TAIL_CAP);
    let mut streams = pipes.into_streams().into_iter();
    let (stdout, stderr) = (streams.next().unwrap_or_default(), streams.next().unwrap_or_default());
    Ok((Captured { end, stdout, stderr }, first_cut))
}

/// Tends `child` and its pipes until it exits or a bound is reached, or (when `interruptible`)
/// Ctrl-C is pressed: `None`. Polled briefly at first, so that an instant command costs a
/// millisecond, then every 20 ms (never past the time bound).
fn watch(child: &mut Child, pipes: &mut Pipes, bounds: Bounds, interruptible: bool) -> std::io::Result<Option<End>> {
    let started = Instant::now();
    let deadline = bounds.time.map(|t| started + t);
    let mut heard = started;
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(End::Exited(status)));
        }
        if interruptible && crate::interrupt::is_set() {
            return Ok(None);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(Some(End::TimedOut));
        }
        if bounds.stall.is_some_and(|s| now >= heard + s) {
            return Ok(Some(End::Stalled));
        }
        if pipes.pump(deadline.map_or(pause, |d| pause.min(d - now)))? {
            heard = Instant::now();
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The exit code of a child for ours: its own, or 128 + the signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::size;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    fn gone(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) == Some("Z"))
            .unwrap_or(true)
    }

    #[test]
    fn output_is_captured_and_bounded() {
        let out = output(&mut sh("echo out; echo err >&2; exit 3"), Bounds::time(Duration::from_secs(5)), "t").unwrap();
        let End::Exited(status) = out.end else { panic!("it ended by itself: {out:?}") };
        assert_eq!((status.code(), &out.stdout[..], &out.stderr[..]), (Some(3), &b"out\n"[..], &b"err\n"[..]));
        let started = Instant::now();
        let out = output(&mut sh("echo started; sleep 30"), Bounds::time(Duration::from_millis(300)), "t").unwrap();
        assert_eq!((out.end, &out.stdout[..]), (End::TimedOut, &b"started\n"[..]));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_silent_program_is_stopped_at_the_stall_bound_and_a_talkative_one_is_not() {
        let started = Instant::now();
        let out = output(&mut sh("echo hi >&2; sleep 30"), Bounds::stall(Duration::from_millis(300)), "t").unwrap();
        assert_eq!((out.end, &out.stderr[..]), (End::Stalled, &b"hi\n"[..]));
        assert!(started.elapsed() < Duration::from_secs(10));
        let script = "for i in 1 2 3 4 5 6; do echo $i >&2; sleep 0.1; done";
        let out = output(&mut sh(script), Bounds::stall(Duration::from_millis(400)), "t").unwrap();
        assert!(matches!(out.end, End::Exited(s) if s.success()), "{out:?}");
    }

    #[test]
    fn an_answer_read_as_data_is_kept_whole_or_refused() {
        // 1.3 MB of numbered lines: every one of them, the middle too.
        let script = "seq 1 100000 | awk '{printf \"line %07d\\n\", $1}'";
        let out = output_whole(&mut sh(script), Bounds::time(Duration::from_secs(60)), 4 << 20, "t").unwrap();
        assert_eq!(out.stdout.len(), 100_000 * 13);
        assert!(String::from_utf8_lossy(&out.stdout).contains("line 0050000\n"));
        // Longer than the limit: an error, never a list with its middle missing.
        let e = output_whole(&mut sh(script), Bounds::time(Duration::from_secs(60)), 512 << 10, "t").unwrap_err();
        assert!(e.to_string().contains("more than atk reads"), "{e}");
    }

    #[test]
    fn a_flood_keeps_its_start_and_its_end_and_says_what_was_cut() {
        // 10 MB of numbered lines: the first and the last survive, the middle does not.
        let script = "seq 1 2000000 | awk '{printf \"line %07d\\n\", $1}'";
        let out = output(&mut sh(script), Bounds::time(Duration::from_secs(60)), "t").unwrap();
        assert!(matches!(out.end, End::Exited(s) if s.success()), "{:?}", out.end);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("line 0000001\nline 0000002\n"), "{}", &text[..40]);
        assert!(text.ends_with("line 1999999\nline 2000000\n"));
        assert!(!text.contains("line 1000000\n"));
        let total = 2_000_000 * 13u64;
        let cut = total - (HEAD_CAP + TAIL_CAP) as u64;
        assert!(text.contains(&format!("\n[… {} cut …]\n", size(cut))), "no marker");
        assert_eq!(size(cut), "25.9 MB");
        assert!(out.stdout.len() < HEAD_CAP + TAIL_CAP + 100);
        // Exactly at the caps, nothing is cut and there is no marker.
        let mut c = Capped::default();
        c.push(&vec![b'a'; HEAD_CAP + TAIL_CAP]);
        assert_eq!(c.finish(), vec![b'a'; HEAD_CAP + TAIL_CAP]);
        let mut c = Capped::default();
        for _ in 0..1000 {
            c.push(b"0123456789");
        }
        c.push(&vec![b'z'; 3 * TAIL_CAP]);
        let kept = c.finish();
        assert!(kept.starts_with(b"0123456789"));
        assert!(kept.ends_with(&vec![b'z'; TAIL_CAP]));
        let (head, cut) = pieces(&kept);
        let (marker, tail) = cut.unwrap();
        assert_eq!((head.len(), tail), (HEAD_CAP, &vec![b'z'; TAIL_CAP][..]));
        assert!(String::from_utf8_lossy(marker).contains(" cut …]"));
        assert_eq!(pieces(b"short"), (&b"short"[..], None));
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(199_868_928), "199.9 MB");
    }

    #[test]
    fn a_descendant_that_left_the_group_holding_the_pipes_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // The helper starts a session of its own (out of the group), keeps stdout and stderr,
        // and goes on writing after the program exited.
        let script = format!(
            "setsid sh -c 'echo $$ > {}; for i in $(seq 1 200); do echo more; sleep 0.05; done' & sleep 0.3; echo done; exit 4",
            pidfile.display()
        );
        let started = Instant::now();
        let out = output(&mut sh(&script), Bounds::time(Duration::from_secs(20)), "t").unwrap();
        let elapsed = started.elapsed();
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let helper_ran = !gone(pid);
        let _ = kill_process(Pid::from_raw(pid).unwrap(), Signal::KILL);
        assert!(helper_ran, "the helper was still running when atk returned");
        assert!(matches!(out.end, End::Exited(s) if s.code() == Some(4)), "{:?}", out.end);
        assert!(elapsed < Duration::from_secs(5), "waited {elapsed:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("done\n"));
    }

    #[test]
    fn what_the_program_left_in_its_group_is_killed_when_it_exits() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; echo ok", pidfile.display());
        let out = output(&mut sh(&script), Bounds::time(Duration::from_secs(20)), "t").unwrap();
        assert!(matches!(out.end, End::Exited(s) if s.success()));
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(gone(pid), "the program's background sleep {pid} still runs");
    }

    #[test]
    fn input_is_given_without_blocking_on_a_reader_that_stops() {
        let status = interactive(&mut sh("head -c 3 >/dev/null"), Some(&vec![b'x'; 1 << 20]), "t").unwrap();
        assert!(status.success());
        let status = interactive(&mut sh("read a; test \"$a\" = hello"), Some(b"hello\n"), "t").unwrap();
        assert!(status.success());
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
        assert!(gone(pid), "the probe's child {pid} still runs");
    }
}
