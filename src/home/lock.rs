//! The home lock: one mutating atk at a time. An OS file lock, so a killed process never leaves
//! it held.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

pub struct HomeLock {
    _file: File,
}

/// Takes the lock at `path`, waiting up to `timeout`. `on_wait` is called once, when the lock
/// turns out to be held by another process.
pub fn acquire(path: &Path, home: &Path, timeout: Duration, on_wait: &mut dyn FnMut()) -> Result<HomeLock> {
    let file = open(path)?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(HomeLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                if !told {
                    on_wait();
                    told = true;
                }
                if started.elapsed() >= timeout {
                    return Err(Error::Locked { home: home.to_path_buf(), seconds: timeout.as_secs() });
                }
                crate::interrupt::check()?;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("cannot lock {}", path.display()), e)),
        }
    }
}

/// Takes the lock only if it is free right now.
pub fn try_acquire(path: &Path) -> Result<Option<HomeLock>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(HomeLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io(format!("cannot lock {}", path.display()), e)),
    }
}

fn open(path: &Path) -> Result<File> {
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
