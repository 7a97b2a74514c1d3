//! File locks between atk processes, with one policy for the home lock and every cache
//! repository's lock: an OS lock (a killed process never leaves it held), waited for up to the lock
//! timeout (`ATK_LOCK_TIMEOUT`, resolved into the settings and passed down) while another atk holds it, and
//! Ctrl-C ends the wait.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Opens the lock file at `path`, creating it (and its folder) when needed, as a regular file.
pub fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    // Never blocks on a FIFO someone put there, nor follows a link.
    super::read::open_for_writing(path, false)
}

/// A lock this process holds; released when dropped.
pub struct LockGuard {
    file: File,
    _turn: Turn,
}

impl LockGuard {
    /// The lock file, to share the lock with a thread (`try_clone`) that may outlive this value.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// The paths whose lock a thread of this process holds or is taking. OS file locks also keep the
/// threads of one process apart, but a thread waits for its siblings without the lock timeout:
/// that bounds the wait for another atk, not for this one's own queue of fetches.
static TURNS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// This thread's turn at the lock of a path; ends when dropped.
struct Turn(PathBuf);

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = turns.iter().position(|p| *p == self.0) {
            turns.swap_remove(i);
        }
    }
}

/// Takes the lock at `path` only if it is free right now, in this process and in every other.
pub fn try_acquire(path: &Path) -> Result<Option<LockGuard>> {
    let turn = {
        let mut turns = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        if turns.iter().any(|p| p == path) {
            return Ok(None);
        }
        turns.push(path.to_path_buf());
        Turn(path.to_path_buf())
    };
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard { file, _turn: turn })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io(format!("cannot lock {}", path.display()), e)),
    }
}

/// Takes the lock at `path`. Threads of this process take turns; then, while another process holds
/// the lock, it waits up to `timeout` (`Ok(None)` when the lock was still held then), calling
/// `on_wait` once. Ctrl-C ends any wait with [`Error::Interrupted`], and `give_up` (asked at every
/// poll) with the error it returns.
pub fn acquire(
    path: &Path,
    timeout: Duration,
    on_wait: &mut dyn FnMut(),
    give_up: &dyn Fn() -> Option<Error>,
) -> Result<Option<LockGuard>> {
    let turn = loop {
        {
            let mut turns = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
            if !turns.iter().any(|p| p == path) {
                turns.push(path.to_path_buf());
                break Turn(path.to_path_buf());
            }
        }
        crate::error::check_interrupt()?;
        std::thread::sleep(POLL);
    };
    let file = open(path)?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(LockGuard { file, _turn: turn })),
            Err(TryLockError::WouldBlock) => {
                if !told {
                    on_wait();
                    told = true;
                }
                if started.elapsed() >= timeout {
                    return Ok(None);
                }
                crate::error::check_interrupt()?;
                if let Some(e) = give_up() {
                    return Err(e);
                }
                std::thread::sleep(POLL);
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("cannot lock {}", path.display()), e)),
        }
    }
}

const POLL: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_holder_is_waited_for_up_to_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.lock");
        // Another process, as far as the OS lock goes: a second open file description.
        let other = open(&path).unwrap();
        other.try_lock().unwrap();
        let (mut waited, started) = (0, Instant::now());
        assert!(acquire(&path, Duration::from_millis(100), &mut || waited += 1, &|| None).unwrap().is_none());
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(waited, 1);
        drop(other);
        let held = acquire(&path, Duration::ZERO, &mut || panic!("free"), &|| None).unwrap().expect("taken");
        assert!(open(&path).unwrap().try_lock().is_err(), "held against others");
        drop(held);
        assert!(open(&path).unwrap().try_lock().is_ok(), "released");
    }

    #[test]
    fn threads_of_one_process_take_turns_without_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = acquire(&path, Duration::ZERO, &mut || panic!("free"), &|| None).unwrap().expect("taken");
        std::thread::scope(|s| {
            let second =
                s.spawn(|| acquire(&path, Duration::ZERO, &mut || panic!("not another process"), &|| None).unwrap());
            std::thread::sleep(Duration::from_millis(200));
            assert!(!second.is_finished(), "the second thread waits for its turn");
            drop(first);
            assert!(second.join().unwrap().is_some(), "and then takes the lock, with a zero timeout");
        });
    }
}
