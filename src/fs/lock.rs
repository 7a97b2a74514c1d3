//! File locks between atk processes, with one policy for the home lock and every cache
//! repository's lock: an OS lock (a killed process never leaves it held), waited for up to the lock
//! timeout (`ATK_LOCK_TIMEOUT`, set once by the command layer), and Ctrl-C ends the wait.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The lock timeout in seconds; set once by the command layer.
static TIMEOUT_S: AtomicU64 = AtomicU64::new(DEFAULT_TIMEOUT.as_secs());

/// Sets how long to wait for a lock another atk holds. Called once, before any lock is taken.
pub fn set_timeout(timeout: Duration) {
    TIMEOUT_S.store(timeout.as_secs(), Ordering::SeqCst);
}

pub fn timeout() -> Duration {
    Duration::from_secs(TIMEOUT_S.load(Ordering::SeqCst))
}

/// Opens the lock file at `path`, creating it (and its folder) when needed.
pub fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx(|| format!("cannot open {}", path.display()))
}

/// Takes the lock on `file` (opened from `path`), waiting up to `timeout`; `Ok(false)` when it was
/// still held then. `on_wait` is called once, when the lock turns out to be held by another
/// process. Ctrl-C ends the wait with [`Error::Interrupted`].
pub fn wait(file: &File, path: &Path, timeout: Duration, on_wait: &mut dyn FnMut()) -> Result<bool> {
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {
                if !told {
                    on_wait();
                    told = true;
                }
                if started.elapsed() >= timeout {
                    return Ok(false);
                }
                crate::interrupt::check()?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("cannot lock {}", path.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_up_to_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.lock");
        let holder = open(&path).unwrap();
        assert!(wait(&holder, &path, Duration::ZERO, &mut || panic!("free")).unwrap());
        let other = open(&path).unwrap();
        let (mut waited, started) = (0, Instant::now());
        assert!(!wait(&other, &path, Duration::from_millis(100), &mut || waited += 1).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(waited, 1);
        drop(holder);
        assert!(wait(&other, &path, Duration::ZERO, &mut || panic!("free")).unwrap());
    }
}
