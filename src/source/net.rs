//! Bounds on network operations. gix's transports cannot all be given a read timeout (git:// reads
//! a `TcpStream` it keeps to itself, ssh reads the pipe of an `ssh` process), so the network part
//! of an operation runs on a thread of its own, and the calling thread waits for it: it gives up
//! when nothing arrived for the stall timeout (`Error::NetStalled`), or at once when the user pressed
//! Ctrl-C or sent SIGTERM (`Error::Interrupted`). Everything the worker reports (bytes of a pack,
//! the server's progress messages, the end of each step) counts as activity.
//!
//! The worker runs on one of the [`crate::pool::detached`] threads. A worker given up on is told to
//! stop (its cancel flag, which gix checks), and is otherwise left blocked until the process exits
//! (holding its thread, so that a server that never answers cannot make atk start threads without
//! end): it only ever writes into a cache repository, under a lock it holds (a clone of the cache
//! lock) for as long as it runs. What it leaves behind there (lock files, temporary packs) is
//! cleared by the next fetch, under the same lock.
//!
//! Per transport, below this bound: git:// has gix's 5 s connect timeout; http(s) (libcurl) and
//! ssh get the stall timeout as their connect timeout, ssh also keep-alives (see
//! `git::transport::{connect, fetch_now}`). Local sources (a path or `file://`) are read in place and never reach a
//! transport.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Parses the value of `ATK_NET_TIMEOUT` (whole seconds, at least 1).
pub fn parse_timeout(value: &str) -> Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
        _ => Err(Error::usage(
            format!("ATK_NET_TIMEOUT={value:?} is not a number of seconds"),
            Some(format!(
                "set it to a whole number of seconds, e.g. ATK_NET_TIMEOUT=60 (default {})",
                DEFAULT_TIMEOUT.as_secs()
            )),
        )),
    }
}

/// When the worker last showed a sign of life.
pub struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    /// Something arrived (or a step finished): the stall clock starts again.
    pub fn bump(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        self.start.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// What the worker gets: the activity clock to bump and the flag that tells it to stop.
pub struct Worker {
    pub activity: Arc<Activity>,
    pub cancel: Arc<AtomicBool>,
    /// The stall timeout the worker is held to (what its transports are given as their own
    /// connect timeouts).
    pub limit: Duration,
}

impl Worker {
    /// A gix progress that counts every call as activity (the server's progress messages arrive
    /// through it while it prepares a pack).
    pub fn progress(&self) -> ActivityProgress {
        ActivityProgress(Arc::clone(&self.activity))
    }
}

/// Runs `work` (the network part of an operation on `shown`) on a thread of its own (one of
/// [`crate::pool::detached`]'s) and waits for it, within a second of Ctrl-C and at most `limit`
/// (the stall timeout) without activity. When no thread can be had (workers given up on still
/// hold them all, or the system gives none), it waits for one for at most `limit` too.
pub fn bounded<T: Send + 'static>(
    shown: &str,
    limit: Duration,
    work: impl FnOnce(&Worker) -> Result<T> + Send + 'static,
) -> Result<T> {
    let worker = Worker { activity: Arc::new(Activity::new()), cancel: Arc::new(AtomicBool::new(false)), limit };
    let (activity, cancel) = (Arc::clone(&worker.activity), Arc::clone(&worker.cancel));
    let (tx, rx) = mpsc::sync_channel(1);
    let mut job = move || {
        let _ = tx.send(work(&worker));
    };
    let asked = Instant::now();
    while let Err(back) = crate::pool::detached("atk-net", job) {
        job = back;
        crate::error::check_interrupt()?;
        if asked.elapsed() >= limit {
            return Err(Error::Git {
                message: format!(
                    "cannot reach {shown}: no thread for the transfer within {}s (transfers given up on \
                     still hold all {} of atk's, or the system gave none)",
                    limit.as_secs().max(1),
                    crate::pool::MAX_DETACHED
                ),
                hints: vec!["run atk again; a server that does not answer is what leaves transfers behind".into()],
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    activity.bump();
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(result) => return result,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::other(format!("the transfer from {shown} ended unexpectedly")))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if crate::interrupt::is_set() {
            cancel.store(true, Ordering::SeqCst);
            return Err(Error::Interrupted);
        }
        if activity.idle() >= limit {
            cancel.store(true, Ordering::SeqCst);
            return Err(Error::NetStalled { url: shown.to_string(), seconds: limit.as_secs().max(1) });
        }
    }
}

/// See [`Worker::progress`].
pub struct ActivityProgress(Arc<Activity>);

impl gix::progress::Count for ActivityProgress {
    fn set(&self, _step: gix::progress::Step) {
        self.0.bump();
    }
    fn step(&self) -> gix::progress::Step {
        0
    }
    fn inc_by(&self, _step: gix::progress::Step) {
        self.0.bump();
    }
    fn counter(&self) -> gix::progress::StepShared {
        Arc::default()
    }
}

impl gix::progress::Progress for ActivityProgress {
    fn init(&mut self, _max: Option<gix::progress::Step>, _unit: Option<gix::progress::Unit>) {
        self.0.bump();
    }
    fn set_name(&mut self, _name: String) {
        self.0.bump();
    }
    fn name(&self) -> Option<String> {
        None
    }
    fn id(&self) -> gix::progress::Id {
        gix::progress::UNKNOWN
    }
    fn message(&self, _level: gix::progress::MessageLevel, _message: String) {
        self.0.bump();
    }
}

impl gix::progress::NestedProgress for ActivityProgress {
    type SubProgress = ActivityProgress;
    fn add_child(&mut self, _name: impl Into<String>) -> Self::SubProgress {
        ActivityProgress(Arc::clone(&self.0))
    }
    fn add_child_with_id(&mut self, _name: impl Into<String>, _id: gix::progress::Id) -> Self::SubProgress {
        ActivityProgress(Arc::clone(&self.0))
    }
}

/// The bounds of atk's waits, resolved once: the lock timeout (`ATK_LOCK_TIMEOUT`, for the home's
/// lock and every cache repository's) and the network stall timeout (`ATK_NET_TIMEOUT`, for every
/// fetch and push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    pub lock: Duration,
    pub net: Duration,
}

impl Default for Waits {
    fn default() -> Waits {
        Waits { lock: crate::fs::lock::DEFAULT_TIMEOUT, net: DEFAULT_TIMEOUT }
    }
}

impl Waits {
    /// From the values of `ATK_LOCK_TIMEOUT` (seconds; a value that is not a number counts as
    /// unset) and `ATK_NET_TIMEOUT` (whole seconds, at least 1: anything else is a usage error).
    pub fn resolve(lock: Option<&str>, net: Option<&str>) -> crate::Result<Waits> {
        let mut waits = Waits::default();
        if let Some(seconds) = lock.and_then(|s| s.parse().ok()) {
            waits.lock = Duration::from_secs(seconds);
        }
        if let Some(value) = net.filter(|v| !v.trim().is_empty()) {
            waits.net = parse_timeout(value)?;
        }
        Ok(waits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_worker_is_given_up_on_and_told_to_stop() {
        let limit = Duration::from_millis(300);
        let stopped = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&stopped);
        let started = Instant::now();
        let result: Result<()> = bounded("test://silent", limit, move |w| {
            while !w.cancel.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            seen.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(matches!(result, Err(Error::NetStalled { .. })), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let waited = Instant::now();
        while !stopped.load(Ordering::SeqCst) {
            assert!(waited.elapsed() < Duration::from_secs(5), "the worker was not told to stop");
            std::thread::sleep(Duration::from_millis(10));
        }

        // Activity keeps a slow worker alive past the timeout.
        let result = bounded("test://slow", limit, |w| {
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(100));
                w.activity.bump();
            }
            Ok(7)
        });
        assert_eq!(result.unwrap(), 7);
    }

    #[test]
    fn timeouts_are_whole_seconds() {
        assert_eq!(parse_timeout("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_timeout(" 45 ").unwrap(), Duration::from_secs(45));
        for bad in ["0", "-1", "1.5", "soon", ""] {
            assert_eq!(parse_timeout(bad).unwrap_err().exit_code(), crate::error::exit::USAGE, "{bad}");
        }
    }
}
