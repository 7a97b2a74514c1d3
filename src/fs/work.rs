//! Work folders: where a run builds what it then renames into place, in the folder it goes to (one
//! file system). Each holds a lock file while the atk that made it runs, so that another atk,
//! removing what a killed run left, removes only the folders no process holds: two runs on one
//! folder (an export of a file, backups of one plugin from two clones of a home) keep their own.

use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// A work folder, removed when dropped; this process holds the lock file in it meanwhile.
pub struct Work {
    dir: tempfile::TempDir,
    _lock: super::lock::LockGuard,
}

impl Work {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The lock file of a work folder.
const LOCK: &str = "lock";

/// Removes the work folders in `parent` named `prefix…` that a killed atk left: those whose lock
/// no process holds.
pub fn clean(parent: &Path, prefix: &str) {
    for stale in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let is_dir = stale.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && stale.file_name().to_string_lossy().starts_with(prefix) {
            if let Ok(Some(_held)) = super::lock::try_acquire(&stale.path().join(LOCK)) {
                let _ = super::remove_any(&stale.path());
            }
        }
    }
}

/// A new work folder in `parent` (made when missing) named `prefix…`, 0700, once what killed runs
/// left there is removed ([`clean`]).
pub fn create(parent: &Path, prefix: &str) -> Result<Work> {
    std::fs::create_dir_all(parent).ctx(|| format!("cannot create {}", parent.display()))?;
    clean(parent, prefix);
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .ctx(|| format!("cannot create a folder in {}", parent.display()))?;
    let lock = super::lock::try_acquire(&dir.path().join(LOCK))?
        .ok_or_else(|| Error::conflict(format!("{} is in use by another atk", dir.path().display()), vec![]))?;
    Ok(Work { dir, _lock: lock })
}
