//! All-or-nothing changes to the home. Before each step, the way to undo it is appended to a
//! journal on disk (`.git/atk/journal.jsonl`, one JSON record a line); finishing deletes the
//! journal, rolling back replays it backwards. A process killed half-way leaves the journal, and
//! the next atk rolls it back.
//!
//! Rules that keep a rollback from ever doing harm:
//! * a step that creates something is recorded only once nothing is at its path, and is voided
//!   when it fails, so rollback removes only what this operation created;
//! * the journal is appended to, never rewritten (a step costs one small write; it is flushed to
//!   the disk when the transaction begins and before the commit, and the kernel keeps every write
//!   of a process killed in between);
//! * a journal is data from disk: at replay every path must be a [`RelPath`] inside the home and
//!   every saved copy a plain name in the transaction folder; anything else is skipped with a
//!   warning, never acted on.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::lock::HomeLock;
use super::{repo, Home, Locked};
use crate::error::{Error, IoContext, Result};
use crate::fs::{name_problem, Cap, Kind, Links, RelPath, Root};

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
    /// Move `to` (in the home) back to `from`.
    Renamed { from: String, to: String },
    /// Step number `step` did not happen: skip it.
    Void { step: usize },
}

/// The first line of a journal.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    operation: String,
}

/// The journal format of atk before 0.2 (one JSON document, rewritten at every step).
#[derive(Debug, Deserialize)]
struct LegacyJournal {
    operation: String,
    undo: Vec<Undo>,
}

pub struct Transaction<'h> {
    home: &'h Home,
    /// The transaction folder (`.git/atk/txn`): saved copies and what was moved aside.
    txn: Root,
    journal: std::fs::File,
    steps: usize,
    /// It committed with `auto_push` on (see [`Locked::push_due`]).
    pub(super) push_due: bool,
}

/// What recovery did: the operation rolled back, and the journal records it refused to act on.
#[derive(Debug, Default)]
pub struct Recovered {
    pub operation: String,
    pub skipped: Vec<String>,
}

impl<'h> Transaction<'h> {
    /// Starts a transaction in a home whose lock the caller holds.
    pub fn begin(home: &'h Locked, operation: &str) -> Result<Self> {
        let home: &'h Home = home;
        // What the transaction brings into the home (a source's files, what a plugin's commands
        // make) is not atk's own checked content: its commit checks the home's files again.
        repo::forget_checked(&home.root);
        let dir = home.txn_dir();
        // What an earlier transaction saved there is not needed any more; if it cannot be
        // deleted (something a lifecycle command made and atk may not delete), it goes to the trash.
        if crate::fs::remove_any(&dir).is_err() {
            throw_away(home, &dir)?;
        }
        let txn = home.own_folder(&dir)?;
        let path = home.journal_path();
        let mut journal = crate::fs::read::open_for_writing(&path, true)?;
        let mut line = serde_json::to_vec(&Header { operation: operation.into() }).expect("the header serializes");
        line.push(b'\n');
        journal.write_all(&line).ctx(|| format!("cannot write {}", path.display()))?;
        journal.sync_all().ctx(|| format!("cannot write {}", path.display()))?;
        Ok(Transaction { home, txn, journal, steps: 0, push_due: false })
    }

    /// Appends one step; returns its number.
    fn record(&mut self, undo: Undo) -> Result<usize> {
        crate::failpoint::hit("step");
        let mut line = serde_json::to_vec(&undo).expect("a step serializes");
        line.push(b'\n');
        self.journal.write_all(&line).ctx(|| "cannot write the transaction journal".into())?;
        self.steps += 1;
        Ok(self.steps - 1)
    }

    /// Records that step `step` did not take place (its action failed).
    fn void(&mut self, step: usize) {
        let _ = self.record(Undo::Void { step });
    }

    fn files(&self) -> &Root {
        &self.home.files
    }

    /// The home this transaction changes.
    pub fn home(&self) -> &'h Home {
        self.home
    }

    /// Saves a copy of the file or link `rel` (if there is one) so that rollback can put it back.
    pub fn protect(&mut self, rel: &RelPath) -> Result<()> {
        let backup = format!("backup-{}", self.steps);
        let copy = RelPath::new(&backup).expect("a plain name");
        let saved = match self.files().kind(rel)? {
            None => None,
            Some(Kind::Link) => {
                self.txn.symlink(&self.files().read_link(rel)?, &copy)?;
                Some(backup)
            }
            Some(_) => {
                // Anything but a regular file (a FIFO, a folder) is refused by the read, by name.
                let data = self.files().read(rel, Cap::PluginFile)?;
                // The copy keeps the mode exactly (it is renamed back on rollback).
                let mode = self.files().mode(rel)?;
                self.txn.write_new(&copy, &data, mode)?;
                self.txn.set_mode(&copy, mode)?;
                Some(backup)
            }
        };
        self.record(Undo::Restore { path: rel.as_str().into(), backup: saved })?;
        Ok(())
    }

    /// Writes a file of the home, atomically, after saving its old content.
    pub fn write(&mut self, rel: &RelPath, contents: &[u8], mode: Option<u32>) -> Result<()> {
        self.protect(rel)?;
        crate::error::check_interrupt()?;
        self.files().write_atomic(rel, contents, mode)
    }

    /// Records that `rel` is about to be created; refuses when something is there already, so
    /// that rollback never removes what the operation did not make.
    fn will_create(&mut self, rel: &RelPath) -> Result<usize> {
        if self.files().exists(rel) {
            return Err(Error::conflict(format!("{} exists already", self.files().abs(rel).display()), vec![]));
        }
        self.record(Undo::Remove { path: rel.as_str().into() })
    }

    /// Moves `from` (below `from_root`, a staging folder) into the home at `rel`, where nothing
    /// may be (a rename on the same file system). The parent of `rel` must exist.
    pub fn place(&mut self, from_root: &Root, from: &RelPath, rel: &RelPath) -> Result<()> {
        let step = self.will_create(rel)?;
        let moved = crate::error::check_interrupt().and_then(|_| from_root.rename(from, &self.home.files, rel));
        if moved.is_err() {
            self.void(step);
        }
        moved
    }

    /// Creates the folder `rel` (its parent must exist, nothing may be at `rel`); rollback removes it.
    pub fn mkdir(&mut self, rel: &RelPath) -> Result<()> {
        let step = self.will_create(rel)?;
        let made = self.files().create_dir(rel);
        if made.is_err() {
            self.void(step);
        }
        made
    }

    /// Moves `rel` out of the way (into the transaction folder); rollback moves it back, finishing
    /// deletes it.
    pub fn move_aside(&mut self, rel: &RelPath) -> Result<()> {
        let to = format!("aside-{}", self.steps);
        let step = self.record(Undo::MoveBack { from: rel.as_str().into(), to: to.clone() })?;
        let moved = crate::error::check_interrupt()
            .and_then(|_| self.home.files.rename(rel, &self.txn, &RelPath::new(&to).expect("a plain name")));
        if moved.is_err() {
            self.void(step);
        }
        moved
    }

    /// Renames `from` to `to` inside the home (nothing may be at `to`); rollback moves it back.
    pub fn rename(&mut self, from: &RelPath, to: &RelPath) -> Result<()> {
        if self.files().exists(to) {
            return Err(Error::conflict(format!("{} exists already", self.files().abs(to).display()), vec![]));
        }
        let step = self.record(Undo::Renamed { from: from.as_str().into(), to: to.as_str().into() })?;
        let renamed = crate::error::check_interrupt().and_then(|_| self.home.files.rename(from, &self.home.files, to));
        if renamed.is_err() {
            self.void(step);
        }
        renamed
    }

    /// Commits `paths` with `message` (see `repo::commit_paths`), undoable like every other step.
    pub fn commit(&mut self, paths: &[String], message: &super::Message) -> Result<Option<String>> {
        let repo = repo::open_to_commit(&self.home.root)?;
        let head = repo::head(&repo)?;
        self.protect_index()?;
        if let Some(id) = head.id {
            self.record(Undo::ResetRef { reference: head.reference, id: id.to_string() })?;
        }
        self.journal.sync_all().ctx(|| "cannot write the transaction journal".into())?;
        crate::error::check_interrupt()?;
        Ok(repo::commit_paths(&repo, paths, &message.text())?.map(|id| id.to_string()))
    }

    /// Saves `.git/index` (which is outside the home's files) so that rollback can put it back.
    fn protect_index(&mut self) -> Result<()> {
        let index = self.home.root.join(".git/index");
        let backup = format!("backup-{}", self.steps);
        let saved = match crate::fs::read(&index, Links::Refuse, Cap::GitIndex)? {
            Some(data) => {
                self.txn.write_new(&RelPath::new(&backup).expect("a plain name"), &data, 0o644)?;
                Some(backup)
            }
            None => None,
        };
        self.record(Undo::Restore { path: INDEX.into(), backup: saved })?;
        Ok(())
    }

    /// The operation is complete: the journal goes first (the commit point), then the saved copies.
    pub fn finish(self) -> Result<()> {
        std::fs::remove_file(self.home.journal_path()).ctx(|| "cannot remove the transaction journal".into())?;
        crate::failpoint::hit("finished");
        let _ = crate::fs::remove_any(&self.home.txn_dir());
        Ok(())
    }

    /// Undoes every step, newest first.
    pub fn rollback(self) -> Result<()> {
        let Transaction { home, journal, .. } = self;
        drop(journal);
        let (_, undo) = read_journal(home)?.expect("the journal of a running transaction exists");
        undo_all(home, undo).map(|_| ())
    }

    /// Runs `body` in a transaction: finished when it returns `Ok`, rolled back otherwise.
    pub fn run<T>(home: &'h Locked, operation: &str, body: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let mut tx = Self::begin(home, operation)?;
        match body(&mut tx) {
            Ok(value) => {
                let push_due = tx.push_due;
                tx.finish()?;
                if push_due {
                    home.push_due().store(true, std::sync::atomic::Ordering::Relaxed);
                }
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

/// A journal read back: the operation, and the steps still to undo with their record numbers.
type Journal = (String, Vec<(usize, Undo)>);

/// The journal's name for the git index, which lives outside the home's files.
const INDEX: &str = ".git/index";

/// The text of the journal an unfinished operation left: the journal (`true`), else the legacy
/// one of atk before 0.2 (`false`). An error when what is there cannot be read (a FIFO, a device,
/// a folder: see `fs::read`).
fn journal_text(home: &Home) -> Result<Option<(Vec<u8>, bool)>> {
    if let Some(text) = crate::fs::read(&home.journal_path(), Links::Refuse, Cap::State)? {
        return Ok(Some((text, true)));
    }
    Ok(crate::fs::read(&home.state_dir().join("journal.json"), Links::Refuse, Cap::State)?.map(|t| (t, false)))
}

/// The operation a journal's first line names; `None` when it cannot be read (killed while
/// writing it: nothing happened yet).
fn operation_of(text: &[u8]) -> Option<String> {
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<Header>(first).ok().map(|h| h.operation)
}

/// What a journal names an operation it cannot tell.
const UNKNOWN_OPERATION: &str = "(unknown operation)";

/// The operation an unfinished run left its journal for, if there is a journal (read without
/// acting on it); an error when what is there cannot be read (a FIFO, a device, a folder).
pub fn pending_operation(home: &Home) -> Result<Option<String>> {
    Ok(journal_text(home)?.map(|(text, _)| operation_of(&text).unwrap_or_else(|| UNKNOWN_OPERATION.into())))
}

/// Reads the journal: the operation and its steps, voided ones removed.
fn read_journal(home: &Home) -> Result<Option<Journal>> {
    let path = home.journal_path();
    let damaged = |why: String| Error::Damaged {
        message: format!("{} is damaged: {why}", path.display()),
        hints: vec![format!("check the home with `atk git status`, then delete {}", path.display())],
    };
    let text = match journal_text(home)? {
        Some((t, true)) => t,
        Some((t, false)) => {
            let j: LegacyJournal = serde_json::from_slice(&t).map_err(|e| damaged(e.to_string()))?;
            return Ok(Some((j.operation, j.undo.into_iter().enumerate().collect())));
        }
        None => return Ok(None),
    };
    let Some(operation) = operation_of(&text) else {
        // Killed while writing the first line: nothing happened yet.
        return Ok(Some((UNKNOWN_OPERATION.into(), vec![])));
    };
    let mut lines = text.split(|b| *b == b'\n').peekable();
    lines.next();
    let mut steps: Vec<Option<Undo>> = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() && lines.peek().is_none() {
            break;
        }
        match serde_json::from_slice::<Undo>(line) {
            Ok(Undo::Void { step }) => {
                if let Some(s) = steps.get_mut(step) {
                    *s = None;
                }
                steps.push(None);
            }
            Ok(undo) => steps.push(Some(undo)),
            // Killed while writing the last record: that step had not started.
            Err(_) if lines.peek().is_none_or(|l| l.is_empty()) => {}
            Err(e) => return Err(damaged(format!("line {}: {e}", steps.len() + 2))),
        }
    }
    // Numbered as the records are (a void record names its step by that number).
    Ok(Some((operation, steps.into_iter().enumerate().filter_map(|(n, s)| Some((n, s?))).collect())))
}

/// Undoes `steps`, newest first, then deletes the journal. Returns the steps it refused to act on.
fn undo_all(home: &Home, steps: Vec<(usize, Undo)>) -> Result<Vec<String>> {
    let txn_path = home.txn_dir();
    // The saved copies are in atk's own folder, never wherever a link there leads (a step that
    // needs one is then skipped, with a warning).
    let txn_link = crate::fs::read::describe(&txn_path, Links::Refuse).is_some_and(|what| what != "a folder");
    let txn = if txn_path.is_dir() && !txn_link { Some(Root::open_no_link(&txn_path)?) } else { None };
    let files = &home.files;
    let mut skipped = Vec::new();
    // A folder on the way that is a link (a cloned home may hold one) leads wherever the link
    // does: such a path is not inside the home either, and acting on it would fail every command.
    let inside = |p: &str| RelPath::new(p).ok().filter(|r| !r.is_root() && !through_link(files, r));
    let saved = |name: &str| {
        txn.as_ref().filter(|_| name_problem(name).is_none()).map(|t| (t, RelPath::new(name).expect("a plain name")))
    };
    // Each step undone is recorded in the journal as void: a rollback killed half-way is resumed
    // by the next atk from where it stopped, never replaying a step that a later one built on (an
    // `.atk-ref` moved back, then removed again as "written by the operation").
    let mut progress = crate::fs::read::open_for_writing(&home.journal_path(), false).ok().and_then(|mut f| {
        std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0)).ok()?;
        Some(f)
    });
    // What a killed run left is checked again, and the repository opened once, at the first step
    // that moves a branch back (`None` inside: it cannot be opened, and no branch is moved).
    repo::forget_checked(&home.root);
    let mut repository: Option<Option<gix::Repository>> = None;
    for (number, step) in steps.into_iter().rev() {
        crate::failpoint::hit("undo");
        let undo_one = || -> Result<()> {
            match step {
                Undo::Restore { path, backup } if path == INDEX => match backup.as_deref().map(|b| (b, saved(b))) {
                    Some((_, Some((t, b)))) => match t.kind(&b)? {
                        Some(Kind::File { .. }) => {
                            crate::fs::write_atomic(&home.root.join(INDEX), &t.read(&b, Cap::GitIndex)?, None)?
                        }
                        None => {}
                        Some(_) => skipped.push(format!("restore {INDEX} from a copy that is not a file")),
                    },
                    Some((b, None)) => skipped.push(format!("restore {INDEX} from {}", crate::text::escape(b))),
                    None => crate::fs::remove_any(&home.root.join(INDEX))?,
                },
                Undo::Restore { path, backup } => {
                    let Some(rel) = inside(&path) else {
                        skipped.push(format!("restore {}", crate::text::escape(&path)));
                        return Ok(());
                    };
                    match backup {
                        Some(b) => match saved(&b) {
                            Some((t, b)) if t.exists(&b) => {
                                discard(home, &rel)?;
                                t.rename(&b, files, &rel)?;
                            }
                            Some(_) => {}
                            None => skipped.push(format!("restore {} from {}", rel, crate::text::escape(&b))),
                        },
                        None => discard(home, &rel)?,
                    }
                }
                Undo::Remove { path } => match inside(&path) {
                    Some(rel) => discard(home, &rel)?,
                    None => skipped.push(format!("remove {}", crate::text::escape(&path))),
                },
                Undo::MoveBack { from, to } => match (inside(&from), saved(&to)) {
                    (Some(rel), Some((t, aside))) => {
                        if t.exists(&aside) {
                            discard(home, &rel)?;
                            if let Some(parent) = rel.parent() {
                                files.create_dir_all(&parent)?;
                            }
                            t.rename(&aside, files, &rel)?;
                        }
                    }
                    (Some(_), None) if txn.is_none() && !txn_link => {}
                    _ => skipped.push(format!(
                        "move {} back to {}",
                        crate::text::escape(&to),
                        crate::text::escape(&from)
                    )),
                },
                Undo::ResetRef { reference, id } => {
                    let valid_ref = reference.starts_with("refs/heads/")
                        && gix::refs::FullName::try_from(reference.as_str()).is_ok()
                        && RelPath::new(&reference).is_ok();
                    let target = gix::ObjectId::from_hex(id.as_bytes()).ok().filter(|_| valid_ref);
                    let opened = match target {
                        Some(_) => repository.get_or_insert_with(|| repo::open_to_commit(&home.root).ok()).as_ref(),
                        None => None,
                    };
                    match (target, opened) {
                        // Only to a commit the repository has: anything else would leave a broken HEAD.
                        (Some(target), Some(r)) if repo::has_commit(r, target) => {
                            repo::reset_ref(r, &reference, target)?
                        }
                        _ => skipped.push(format!(
                            "move {} to {}",
                            crate::text::escape(&reference),
                            crate::text::escape(&id)
                        )),
                    }
                }
                Undo::Renamed { from, to } => match (inside(&from), inside(&to)) {
                    (Some(from), Some(to)) => {
                        if files.exists(&to) {
                            discard(home, &from)?;
                            files.rename(&to, files, &from)?;
                        }
                    }
                    _ => skipped.push(format!(
                        "move {} back to {}",
                        crate::text::escape(&to),
                        crate::text::escape(&from)
                    )),
                },
                Undo::Void { .. } => {}
            }
            Ok(())
        };
        undo_one()?;
        if let Some(journal) = progress.as_mut() {
            let mut line = serde_json::to_vec(&Undo::Void { step: number }).expect("a step serializes");
            line.push(b'\n');
            // Best effort: without it, the next run replays this step, as before.
            if journal.write_all(&line).is_err() {
                progress = None;
            }
        }
    }
    for journal in [home.journal_path(), home.state_dir().join("journal.json")] {
        match std::fs::remove_file(&journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot remove the transaction journal", e)),
        }
    }
    let _ = crate::fs::remove_any(&txn_path);
    Ok(skipped)
}

/// Removes what is at `rel`, whatever it holds, for a rollback. A folder (one the operation
/// made: it belongs wholly to the operation, whatever a lifecycle command put inside) first leaves
/// the home in one rename, into the trash (`.git/atk/trash`, on the same file system): the home is
/// rid of it at once, even while a process killed with atk's still writes there, and even if
/// what is inside cannot be deleted yet. The trash is then emptied as far as it can be, now and
/// by every later atk. Nothing is followed through a link.
fn discard(home: &Home, rel: &RelPath) -> Result<()> {
    let files = &home.files;
    if files.kind(rel)? == Some(Kind::Dir) {
        if let Ok(trash) = home.own_folder(&home.trash_dir()) {
            let name = RelPath::new(&crate::fs::temp_name()).expect("a plain name");
            if files.rename(rel, &trash, &name).is_ok() {
                let _ = trash.remove(&name);
                return Ok(());
            }
        }
    }
    files.remove(rel)
}

/// Moves `path` (atk's own, under `.git/atk`) into the trash, for a folder that could not be
/// deleted.
fn throw_away(home: &Home, path: &std::path::Path) -> Result<()> {
    let to = home.own_folder(&home.trash_dir())?.path().join(crate::fs::temp_name());
    std::fs::rename(path, &to).ctx(|| format!("cannot remove {}", path.display()))
}

/// Whether a folder on the way to `rel` is a link (or cannot be looked at).
fn through_link(files: &Root, rel: &RelPath) -> bool {
    let mut at = RelPath::root();
    let mut parents = rel.components().collect::<Vec<_>>();
    parents.pop();
    parents.into_iter().any(|name| {
        at = at.join(name).expect("the components of a RelPath are names");
        matches!(files.kind(&at), Ok(Some(Kind::Link)) | Err(_))
    })
}

/// Rolls back the operation a killed atk left unfinished.
pub fn recover(home: &Home, _lock: &HomeLock) -> Result<Option<Recovered>> {
    let Some((operation, steps)) = read_journal(home)? else {
        // Saved copies of a transaction killed once its journal was gone (it had finished).
        let _ = crate::fs::remove_any(&home.txn_dir());
        let _ = crate::fs::remove_any(&home.staging_root());
        let _ = crate::fs::remove_any(&home.trash_dir());
        remove_stray_temp_files(home);
        return Ok(None);
    };
    // The killed run may have held git's locks: they would block moving the branch back.
    clear_stale_git_locks(home);
    // A step that cannot be undone (a file atk may not delete) stops the rollback there, with the
    // journal kept: the next run resumes from that step (those before it are marked done) once
    // the cause is fixed. Every atk command meets this error until then, so its hints name what
    // works meanwhile (`atk git` would try the rollback too).
    let skipped = undo_all(home, steps).map_err(|e| Error::Other {
        message: format!(
            "cannot finish rolling back the interrupted `{}`: {}",
            crate::text::escape(&operation),
            crate::text::escape(&e.to_string())
        ),
        hints: vec![
            "fix what stops it (the owner or the permissions of that path), then run any atk command: the rollback resumes"
                .into(),
            format!("`git -C {} status` shows what is left to put back", home.root.display()),
        ],
    })?;
    let _ = crate::fs::remove_any(&home.staging_root());
    let _ = crate::fs::remove_any(&home.trash_dir());
    remove_stray_temp_files(home);
    Ok(Some(Recovered { operation, skipped }))
}

/// The lock files git (and gix) take in a repository while changing it (at the top of `.git`;
/// a branch's own lock is below `refs/heads/`). A process holding the home lock that finds a
/// journal knows the atk that took them was killed: they are stale.
pub const GIT_LOCKS: [&str; 4] = ["index.lock", "HEAD.lock", "packed-refs.lock", "config.lock"];

/// Removes the git lock files a killed atk left in the home's repository: `HEAD.lock`,
/// `index.lock`, `packed-refs.lock`, `config.lock` and `refs/heads/**/*.lock`, plain files only;
/// nothing else, and nothing outside `.git` (no link is followed). Best effort: a lock that
/// stays makes the rollback fail with git's own message.
fn clear_stale_git_locks(home: &Home) {
    let Ok(git) = Root::open(&home.root.join(".git")) else { return };
    for name in GIT_LOCKS {
        let rel = RelPath::new(name).expect("a plain name");
        if matches!(git.kind(&rel), Ok(Some(Kind::File { .. }))) {
            let _ = git.remove(&rel);
        }
    }
    let heads = RelPath::new("refs/heads").expect("a plain path");
    for (rel, kind) in git.files(&heads).unwrap_or_default() {
        if matches!(kind, Kind::File { .. }) && rel.name().ends_with(".lock") {
            let _ = git.remove(&heads.concat(&rel));
        }
    }
}

/// Removes the temporary files of atomic writes a killed atk left: in the home's root, `.git`,
/// `.git/atk` and the top of every plugin folder. Only plain files named `.atk-tmp*`, only in
/// real folders (through a `Root`, so no link is followed); best effort.
fn remove_stray_temp_files(home: &Home) {
    fn clean(root: &Root, dir: &RelPath) {
        for (name, kind) in root.entries(dir).unwrap_or_default() {
            if matches!(kind, Kind::File { .. }) && crate::fs::is_temp_name(&name) {
                if let Ok(rel) = dir.join(&name) {
                    let _ = root.remove(&rel);
                }
            }
        }
    }
    let top = RelPath::root();
    clean(&home.files, &top);
    let plugins = RelPath::new("plugins").expect("a plain name");
    for (name, kind) in home.files.entries(&plugins).unwrap_or_default() {
        if let (Kind::Dir, Ok(dir)) = (kind, plugins.join(&name)) {
            clean(&home.files, &dir);
        }
    }
    for dir in [home.root.join(".git"), home.state_dir()] {
        if let Ok(root) = Root::open(&dir) {
            clean(&root, &top);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::Staging;
    use std::time::Duration;

    fn home() -> (tempfile::TempDir, Home) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("home");
        Home::init(&root).unwrap();
        (t, Home::open(root).unwrap())
    }

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn a_failed_create_is_not_undone_as_a_removal() {
        let (_t, home) = home();
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        home.files.create_dir(&rel("plugins/mine")).unwrap();
        home.files.write_new(&rel("plugins/mine/data"), b"precious", 0o600).unwrap();
        let staged = home.staging().unwrap();
        staged.files.write_new(&rel("f"), b"new", 0o644).unwrap();
        let result: Result<()> = Transaction::run(&home, "test", |tx| {
            // Both steps find something there already: neither may be undone as "remove it".
            assert!(tx.mkdir(&rel("plugins/mine")).is_err());
            assert!(tx.place(&staged.outer, &Staging::name(), &rel("plugins/mine")).is_err());
            Err(Error::other("give up"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read(home.root.join("plugins/mine/data")).unwrap(), b"precious");
    }

    #[test]
    fn rollback_puts_back_what_was_changed_and_removes_what_was_made() {
        let (_t, home) = home();
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        home.files.create_dir(&rel("plugins/p")).unwrap();
        home.files.write_new(&rel("plugins/p/old"), b"old", 0o644).unwrap();
        home.files.write_new(&rel("plugins/p/.env"), b"S=1\n", 0o600).unwrap();
        let result: Result<()> = Transaction::run(&home, "test", |tx| {
            tx.move_aside(&rel("plugins/p/old"))?;
            tx.mkdir(&rel("plugins/p/new"))?;
            tx.write(&rel("plugins/p/.env"), b"S=2\n", Some(0o600))?;
            tx.write(&rel("plugins/p/made"), b"x", None)?;
            Err(Error::other("give up"))
        });
        assert!(result.is_err());
        let p = home.root.join("plugins/p");
        assert_eq!(std::fs::read(p.join("old")).unwrap(), b"old");
        assert_eq!(std::fs::read(p.join(".env")).unwrap(), b"S=1\n");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p.join(".env")).unwrap().permissions()) & 0o777,
            0o600
        );
        assert!(!p.join("new").exists() && !p.join("made").exists());
        assert!(!home.journal_path().exists() && !home.txn_dir().exists());
    }

    #[test]
    fn the_journal_grows_by_one_line_a_step() {
        let (_t, home) = home();
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        let mut tx = Transaction::begin(&home, "test").unwrap();
        let size = || std::fs::metadata(home.journal_path()).unwrap().len();
        let mut sizes = vec![size()];
        for i in 0..50 {
            tx.mkdir(&rel(&format!("plugins/d{i}"))).unwrap();
            sizes.push(size());
        }
        let steps: Vec<u64> = sizes.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(steps.iter().all(|s| *s < 60), "every step appends one short line: {steps:?}");
        tx.rollback().unwrap();
        assert!(!home.root.join("plugins/d0").exists());
    }

    #[test]
    fn a_record_cut_short_by_a_kill_is_ignored() {
        let (_t, home) = home();
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        let mut tx = Transaction::begin(&home, "atk test").unwrap();
        tx.mkdir(&rel("plugins/made")).unwrap();
        drop(tx);
        let mut f = std::fs::OpenOptions::new().append(true).open(home.journal_path()).unwrap();
        f.write_all(br#"{"undo":"remove","pa"#).unwrap();
        drop(f);
        let root = home.root.clone();
        drop(home);
        let (home, recovered) = Home::open(root).unwrap().lock(Duration::from_secs(5), &mut || {}).unwrap();
        let recovered = recovered.unwrap();
        assert_eq!(recovered.operation, "atk test");
        assert!(recovered.skipped.is_empty());
        assert!(!home.root.join("plugins/made").exists());
    }
}
