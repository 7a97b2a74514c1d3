//! The home lock: one mutating atk at a time. An OS file lock, so a killed process never leaves
//! it held; waited for as every lock of atk is (see `fs::lock`).

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fs::lock;

pub struct HomeLock {
    _held: lock::LockGuard,
}

/// Takes the lock at `path`, waiting up to `timeout`. `on_wait` is called once, when the lock
/// turns out to be held by another process.
pub fn acquire(path: &Path, home: &Path, timeout: Duration, on_wait: &mut dyn FnMut()) -> Result<HomeLock> {
    match lock::acquire(path, timeout, on_wait, &|| None)? {
        Some(held) => Ok(HomeLock { _held: held }),
        None => Err(Error::Locked { what: format!("changing {}", home.display()), seconds: timeout.as_secs() }),
    }
}

/// Takes the lock only if it is free right now.
pub fn try_acquire(path: &Path) -> Result<Option<HomeLock>> {
    Ok(lock::try_acquire(path)?.map(|held| HomeLock { _held: held }))
}
