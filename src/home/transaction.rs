//! All-or-nothing changes to the home. Before each step, the way to undo it is appended to a
//! journal on disk (`.git/atk/journal.json`); finishing deletes the journal, rolling back replays
//! it backwards. A process killed half-way leaves the journal, and the next atk rolls it back.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::lock::HomeLock;
use super::{repo, Home};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
enum Undo {
    /// Put back the saved copy of `path` (relative to the home), or delete it when it did not exist.
    Restore { path: String, backup: Option<String> },
    /// Delete `path`, which the operation created.
    Remove { path: String },
    /// Move `to` (inside the transaction folder) back to `from`.
    MoveBack { from: String, to: String },
    /// Point `reference` back at `id`.
    ResetRef { reference: String, id: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    operation: String,
    undo: Vec<Undo>,
}

pub struct Transaction<'h> {
    home: &'h Home,
    journal: Journal,
}

impl<'h> Transaction<'h> {
    /// Starts a transaction; the lock proves the caller holds the home lock.
    pub fn begin(home: &'h Home, _lock: &HomeLock, operation: &str) -> Result<Self> {
        let dir = home.txn_dir();
        crate::fs::remove_any(&dir)?;
        std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        let tx = Transaction { home, journal: Journal { operation: operation.into(), undo: vec![] } };
        tx.save()?;
        Ok(tx)
    }

    fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.journal).expect("the journal serializes");
        crate::fs::write_atomic(&self.home.journal_path(), &json, Some(0o600))
    }

    fn record(&mut self, undo: Undo) -> Result<()> {
        self.journal.undo.push(undo);
        self.save()
    }

    /// Saves a copy of `rel` (if it exists) so that rollback can put it back.
    pub fn protect(&mut self, rel: &str) -> Result<()> {
        let path = self.home.root.join(rel);
        let backup = if path.exists() {
            let name = format!("backup-{}", self.journal.undo.len());
            let dst = self.home.txn_dir().join(&name);
            std::fs::copy(&path, &dst).ctx(|| format!("cannot back up {}", path.display()))?;
            Some(name)
        } else {
            None
        };
        self.record(Undo::Restore { path: rel.into(), backup })
    }

    /// Writes a file of the home (relative path), atomically, after saving its old content.
    pub fn write(&mut self, rel: &str, contents: &[u8], mode: Option<u32>) -> Result<()> {
        self.protect(rel)?;
        crate::interrupt::check()?;
        crate::fs::write_atomic(&self.home.root.join(rel), contents, mode)
    }

    /// Moves a staged folder into the home at `rel` (a rename on the same file system).
    pub fn place(&mut self, staged: &Path, rel: &str) -> Result<()> {
        self.record(Undo::Remove { path: rel.into() })?;
        crate::interrupt::check()?;
        let dst = self.home.root.join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).ctx(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::rename(staged, &dst).ctx(|| format!("cannot move {} to {}", staged.display(), dst.display()))
    }

    /// Creates the folder `rel` (its parent must exist); rollback removes it.
    pub fn mkdir(&mut self, rel: &str) -> Result<()> {
        self.record(Undo::Remove { path: rel.into() })?;
        let dir = self.home.root.join(rel);
        std::fs::create_dir(&dir).ctx(|| format!("cannot create {}", dir.display()))
    }

    /// Moves `rel` out of the way (into the transaction folder); rollback moves it back, finishing
    /// deletes it.
    pub fn move_aside(&mut self, rel: &str) -> Result<()> {
        let to = format!("aside-{}", self.journal.undo.len());
        self.record(Undo::MoveBack { from: rel.into(), to: to.clone() })?;
        crate::interrupt::check()?;
        let src = self.home.root.join(rel);
        std::fs::rename(&src, self.home.txn_dir().join(&to)).ctx(|| format!("cannot move {} aside", src.display()))
    }

    /// Commits `paths` with `message` (see `repo::commit_paths`), undoable like every other step.
    pub fn commit(&mut self, paths: &[String], message: &str) -> Result<Option<String>> {
        let head = repo::head(&self.home.root)?;
        self.protect(".git/index")?;
        if let Some(id) = head.id {
            self.record(Undo::ResetRef { reference: head.reference, id: id.to_string() })?;
        }
        crate::interrupt::check()?;
        Ok(repo::commit_paths(&self.home.root, paths, message)?.map(|id| id.to_string()))
    }

    /// The operation is complete: the journal goes first (the commit point), then the saved copies.
    pub fn finish(self) -> Result<()> {
        std::fs::remove_file(self.home.journal_path()).ctx(|| "cannot remove the transaction journal".into())?;
        let _ = crate::fs::remove_any(&self.home.txn_dir());
        Ok(())
    }

    /// Undoes every step, newest first.
    pub fn rollback(self) -> Result<()> {
        undo_all(self.home, self.journal)
    }

    /// Runs `body` in a transaction: finished when it returns `Ok`, rolled back otherwise.
    pub fn run<T>(
        home: &'h Home,
        lock: &HomeLock,
        operation: &str,
        body: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let mut tx = Self::begin(home, lock, operation)?;
        match body(&mut tx) {
            Ok(value) => {
                tx.finish()?;
                Ok(value)
            }
            Err(e) => {
                if let Err(undo) = tx.rollback() {
                    return Err(Error::Other {
                        message: format!("{e}; then rolling back failed too: {undo}"),
                        hints: vec!["run any atk command to retry the rollback".into()],
                    });
                }
                Err(e)
            }
        }
    }
}

fn undo_all(home: &Home, journal: Journal) -> Result<()> {
    let txn = home.txn_dir();
    for step in journal.undo.into_iter().rev() {
        match step {
            Undo::Restore { path, backup } => {
                let dst = home.root.join(&path);
                match backup {
                    Some(b) => {
                        let src = txn.join(b);
                        if src.exists() {
                            let data = std::fs::read(&src).ctx(|| format!("cannot read {}", src.display()))?;
                            let mode = std::os::unix::fs::PermissionsExt::mode(
                                &std::fs::metadata(&src)
                                    .ctx(|| format!("cannot read {}", src.display()))?
                                    .permissions(),
                            );
                            crate::fs::write_atomic(&dst, &data, Some(mode & 0o7777))?;
                        }
                    }
                    None => crate::fs::remove_any(&dst)?,
                }
            }
            Undo::Remove { path } => crate::fs::remove_any(&home.root.join(path))?,
            Undo::MoveBack { from, to } => {
                let (src, dst) = (txn.join(&to), home.root.join(&from));
                if src.exists() || src.is_symlink() {
                    crate::fs::remove_any(&dst)?;
                    if let Some(parent) = dst.parent() {
                        std::fs::create_dir_all(parent).ctx(|| format!("cannot create {}", parent.display()))?;
                    }
                    std::fs::rename(&src, &dst).ctx(|| format!("cannot move {} back", dst.display()))?;
                }
            }
            Undo::ResetRef { reference, id } => {
                let id = gix::ObjectId::from_hex(id.as_bytes())
                    .map_err(|e| Error::other(format!("bad commit id in the journal: {e}")))?;
                repo::reset_ref(&home.root, &reference, id)?;
            }
        }
    }
    std::fs::remove_file(home.journal_path()).ctx(|| "cannot remove the transaction journal".into())?;
    let _ = crate::fs::remove_any(&txn);
    Ok(())
}

/// Rolls back the operation a killed atk left unfinished; returns its description.
pub fn recover(home: &Home, _lock: &HomeLock) -> Result<Option<String>> {
    let path: PathBuf = home.journal_path();
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = crate::fs::remove_any(&home.staging_root());
            remove_stray_temp_files(home);
            return Ok(None);
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let journal: Journal = serde_json::from_slice(&text).map_err(|e| Error::Other {
        message: format!("{} is damaged: {e}", path.display()),
        hints: vec![format!("check the home with `atk git status`, then delete {}", path.display())],
    })?;
    let operation = journal.operation.clone();
    // The killed run may have held git's locks: they would block moving the branch back.
    clear_stale_git_locks(home)?;
    undo_all(home, journal)?;
    let _ = crate::fs::remove_any(&home.staging_root());
    remove_stray_temp_files(home);
    Ok(Some(operation))
}

/// The lock files git (and gix) take in a repository while changing it. A process holding the
/// home lock that finds a journal knows the atk that took them was killed: they are stale.
const GIT_LOCKS: [&str; 4] = ["HEAD.lock", "index.lock", "packed-refs.lock", "config.lock"];

/// Removes the git lock files a killed atk left in the home's repository: `HEAD.lock`,
/// `index.lock`, `packed-refs.lock`, `config.lock` and `refs/heads/**/*.lock`;
/// nothing else, and nothing outside `.git`. Links are never followed.
fn clear_stale_git_locks(home: &Home) -> Result<()> {
    let git = home.root.join(".git");
    for name in GIT_LOCKS {
        remove_if_lock_file(&git.join(name))?;
    }
    remove_lock_files_below(&git.join("refs/heads"))
}

fn remove_lock_files_below(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            remove_lock_files_below(&entry.path())?;
        } else if entry.file_name().as_encoded_bytes().ends_with(b".lock") {
            remove_if_lock_file(&entry.path())?;
        }
    }
    Ok(())
}

/// Removes `path` when it is a plain file (a lock file is never a folder or a link).
fn remove_if_lock_file(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.is_file() => {
            std::fs::remove_file(path).ctx(|| format!("cannot remove the stale lock file {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The prefix of the temporary files `fs::write_atomic` renames into place.
const TEMP_PREFIX: &str = ".atk-tmp";

/// Removes the temporary files a killed atk left where it writes files atomically: the home's
/// root, `.git`, `.git/atk` and the top of every plugin folder. Only plain files named
/// `.atk-tmp*`, and only in real folders (a link may lead out of the home); best effort.
fn remove_stray_temp_files(home: &Home) {
    let real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let mut dirs = vec![home.root.clone(), home.root.join(".git"), home.state_dir()];
    let plugins = home.root.join("plugins");
    if real_dir(&plugins) {
        if let Ok(entries) = std::fs::read_dir(&plugins) {
            dirs.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
        }
    }
    for dir in dirs {
        // The root is the user's choice (it may be a link, to a dotfiles checkout say).
        if dir != home.root && !real_dir(&dir) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            if entry.file_name().as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes())
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
