//! What happened to a home, read from its git history alone: one [`Operation`] per commit of the
//! current branch (first parents, newest first). A commit atk made says what it did in its
//! trailers (see [`crate::home::message`]); a commit made by the Python CLI (same subject, no
//! trailers) is read from its subject, and the plugin's pins before and after from the manifests
//! of the commit and its parent; any other commit is shown by its subject.

use std::path::Path;

use gix::ObjectId;

use crate::error::{Error, Result};
use crate::home::message::{self, Message};
use crate::home::{manifest, Entry, Manifest};

/// One commit of the home, read as an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub commit: ObjectId,
    /// When it was committed, `None` when its date is out of range: a date that cannot be read
    /// (`99999999999999999999 +0000`) or that is no calendar date (git allows both; `git log`
    /// shows such a commit, and so does atk, with its date marked invalid).
    pub time: Option<gix::date::Time>,
    pub subject: String,
    /// `add`, `remove`, `upgrade`, `rollback`, `undo`, `plug`, `unplug`, `init`, `doctor`; `None`
    /// for a commit that is none of them (made by hand).
    pub kind: Option<String>,
    /// The plugin's directory, when the operation was on one plugin.
    pub plugin: Option<String>,
    /// The plugin's display name, when known.
    pub name: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Whether the commit said all this in trailers (atk), or it was read from its subject.
    pub recorded: bool,
    /// For an `undo`: the commit it reverted.
    pub reverts: Option<ObjectId>,
}

impl Operation {
    /// Whether this operation concerns the plugin `id` (a directory or a display name).
    pub fn concerns(&self, id: &str) -> bool {
        self.plugin.as_deref() == Some(id) || self.name.as_deref() == Some(id)
    }
}

fn git_err(e: impl std::fmt::Display) -> Error {
    Error::Git { message: format!("cannot read the home's history: {e}"), hints: vec![] }
}

/// The manifest as it was at `commit` (`None` when it is missing or unreadable there).
pub fn manifest_at(repo: &gix::Repository, commit: ObjectId) -> Option<Manifest> {
    let bytes = file_at(repo, commit, manifest::FILE).ok()??;
    Manifest::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

/// The content of the file `path` at `commit`.
pub fn file_at(repo: &gix::Repository, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(git_err)?;
    let Some(entry) = tree.lookup_entry_by_path(path).map_err(git_err)? else { return Ok(None) };
    if !entry.mode().is_blob() {
        return Ok(None);
    }
    Ok(Some(entry.object().map_err(git_err)?.detach().data))
}

/// Every file below the folder `path` at `commit`: (path inside the folder, content, executable).
/// Links and submodules are left out.
pub fn files_at(repo: &gix::Repository, commit: ObjectId, path: &str) -> Result<Vec<(String, Vec<u8>, bool)>> {
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(git_err)?;
    let Some(entry) = tree.lookup_entry_by_path(path).map_err(git_err)? else { return Ok(vec![]) };
    if !entry.mode().is_tree() {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), entry.object_id())];
    while let Some((prefix, id)) = stack.pop() {
        let tree = repo.find_tree(id).map_err(git_err)?;
        for e in tree.iter() {
            let e = e.map_err(git_err)?;
            let rel = if prefix.is_empty() { e.filename().to_string() } else { format!("{prefix}/{}", e.filename()) };
            let mode = e.mode();
            if mode.is_tree() {
                stack.push((rel, e.oid().to_owned()));
            } else if mode.is_blob() {
                let blob = repo.find_blob(e.oid()).map_err(git_err)?;
                out.push((rel, blob.data.clone(), mode.is_executable()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The subjects the Python CLI (and atk) give each operation, and the operation they name.
fn from_subject(subject: &str) -> Option<(&'static str, Option<String>)> {
    const PER_PLUGIN: [(&str, &str); 6] = [
        ("Add plugin '", "add"),
        ("Remove plugin '", "remove"),
        ("Upgrade plugin '", "upgrade"),
        ("Rollback plugin '", "rollback"),
        ("Plug plugin '", "plug"),
        ("Unplug plugin '", "unplug"),
    ];
    for (prefix, kind) in PER_PLUGIN {
        if let Some(rest) = subject.strip_prefix(prefix).and_then(|r| r.strip_suffix('\'')) {
            return Some((kind, Some(rest.to_string())));
        }
    }
    match subject {
        crate::home::INIT_MESSAGE => Some(("init", None)),
        DOCTOR_SUBJECT => Some(("doctor", None)),
        _ => None,
    }
}

/// The subject of the commit of `atk doctor --fix` (the Python CLI's `atk doctor` uses it too).
pub const DOCTOR_SUBJECT: &str = "atk doctor: keep secrets out of git";

/// The entry for `name` in `before` or `after`: by display name, else the only entry that differs.
fn changed_entry<'m>(before: Option<&'m Manifest>, after: Option<&'m Manifest>, name: &str) -> Option<&'m Entry> {
    let all = || before.into_iter().chain(after).flat_map(|m| m.plugins.iter());
    if let Some(e) = all().find(|e| e.name == name) {
        return Some(e);
    }
    let find = |m: Option<&'m Manifest>, dir: &str| m.and_then(|m| m.plugins.iter().find(|e| e.directory == dir));
    let mut differing = all().filter(|e| find(before, &e.directory) != find(after, &e.directory));
    let first = differing.next()?;
    differing.all(|e| e.directory == first.directory).then_some(first)
}

/// Reads one commit.
pub fn read_commit(repo: &gix::Repository, id: ObjectId) -> Result<(Operation, Option<ObjectId>)> {
    let commit = repo.find_commit(id).map_err(git_err)?;
    let parent = commit.parent_ids().next().map(|p| p.detach());
    let text = commit.message_raw_sloppy().to_string();
    let time = commit.time().ok().filter(|t| t.format(gix::date::time::format::ISO8601_STRICT).is_ok());
    let msg = Message::parse(&text);
    let mut op = Operation {
        commit: id,
        time,
        subject: msg.subject.clone(),
        kind: None,
        plugin: None,
        name: None,
        from: None,
        to: None,
        recorded: false,
        reverts: None,
    };
    if let Some(kind) = msg.get(message::OPERATION) {
        op.kind = Some(kind.to_string());
        op.plugin = msg.get(message::PLUGIN).map(str::to_string);
        op.from = msg.get(message::FROM).map(str::to_string);
        op.to = msg.get(message::TO).map(str::to_string);
        op.reverts = msg.get(message::REVERTS).and_then(|r| ObjectId::from_hex(r.as_bytes()).ok());
        op.recorded = true;
        let after = manifest_at(repo, id);
        let before = parent.and_then(|p| manifest_at(repo, p));
        let named = |m: &Option<Manifest>| {
            m.as_ref()?.plugins.iter().find(|e| Some(&e.directory) == op.plugin.as_ref()).map(|e| e.name.clone())
        };
        op.name = named(&after).or_else(|| named(&before));
    } else if let Some((kind, name)) = from_subject(&msg.subject) {
        op.kind = Some(kind.to_string());
        if let Some(name) = name {
            let after = manifest_at(repo, id);
            let before = parent.and_then(|p| manifest_at(repo, p));
            if let Some(entry) = changed_entry(before.as_ref(), after.as_ref(), &name) {
                let pin = |m: &Option<Manifest>| {
                    m.as_ref()?.plugins.iter().find(|e| e.directory == entry.directory)?.source.commit.clone()
                };
                op.plugin = Some(entry.directory.clone());
                op.from = pin(&before);
                op.to = pin(&after);
            }
            op.name = Some(name);
        }
    }
    Ok((op, parent))
}

/// The operations of the home, newest first: every commit of the current branch (following first
/// parents), or only those about the plugin `plugin` (directory or name). At most `limit`.
pub fn read(root: &Path, plugin: Option<&str>, limit: Option<usize>) -> Result<Vec<Operation>> {
    let repo = crate::home::repo::open_checked(root)?;
    let Ok(head) = repo.head_id() else { return Ok(vec![]) };
    let mut next = Some(head.detach());
    let mut out = Vec::new();
    while let Some(id) = next {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        crate::error::check_interrupt()?;
        let (op, parent) = read_commit(&repo, id)?;
        if plugin.is_none_or(|p| op.concerns(p)) {
            out.push(op);
        }
        next = parent;
    }
    Ok(out)
}

/// The pin `directory` had before the newest upgrade that brought it to `current`: where
/// `rollback` goes. `None` when no upgrade in the history brought it there.
pub fn previous_pin_id(root: &Path, directory: &str, current: &str) -> Result<Option<ObjectId>> {
    let ops = read(root, Some(directory), None)?;
    let previous = ops
        .into_iter()
        .find(|op| {
            op.plugin.as_deref() == Some(directory)
                && matches!(op.kind.as_deref(), Some("upgrade"))
                && op.to.as_deref() == Some(current)
        })
        .and_then(|op| op.from);
    let Some(previous) = previous else { return Ok(None) };
    ObjectId::from_hex(previous.as_bytes()).map(Some).map_err(|_| {
        Error::conflict(format!("the history records an invalid pin '{}'", crate::text::escape(&previous)), vec![])
    })
}

/// The lock the plugin `directory` had when the home last had it at `commit` (newest first), for
/// a rollback that takes it back there: `None` when the history has it there without one.
pub fn lock_at_pin(root: &Path, directory: &str, commit: ObjectId) -> Result<Option<Vec<crate::artifact::Pin>>> {
    let repo = crate::home::repo::open_checked(root)?;
    let pin = commit.to_string();
    for op in read(root, Some(directory), None)? {
        if op.to.as_deref() != Some(pin.as_str()) && op.from.as_deref() != Some(pin.as_str()) {
            continue;
        }
        // The manifest after the operation has the plugin at `to`; before it (its parent), at `from`.
        let at =
            if op.to.as_deref() == Some(pin.as_str()) { Some(op.commit) } else { read_commit(&repo, op.commit)?.1 };
        let Some(manifest) = at.and_then(|c| manifest_at(&repo, c)) else { continue };
        if let Some(e) = manifest
            .plugins
            .iter()
            .find(|e| e.directory == directory && e.source.commit.as_deref() == Some(pin.as_str()))
        {
            if !e.lock.is_empty() {
                return Ok(Some(e.lock.clone()));
            }
        }
    }
    Ok(None)
}

/// `r` as a commit of the plugin `directory`'s source: a full id, or the start (4 or more hex
/// digits) of exactly one pin the plugin had in the history of the home at `root` (`rollback
/// --to`).
pub fn resolve_pin(root: &Path, directory: &str, r: &str) -> Result<ObjectId> {
    let r = r.trim();
    if let Ok(id) = ObjectId::from_hex(r.as_bytes()) {
        return Ok(id);
    }
    let hex = r.len() >= 4 && r.chars().all(|c| c.is_ascii_hexdigit());
    let mut known: Vec<String> = read(root, Some(directory), None)?
        .into_iter()
        .flat_map(|op| [op.from, op.to])
        .flatten()
        .filter(|p| hex && p.starts_with(&r.to_ascii_lowercase()))
        .collect();
    known.sort();
    known.dedup();
    match known.as_slice() {
        [one] => ObjectId::from_hex(one.as_bytes()).map_err(|_| {
            Error::conflict(format!("the history records an invalid pin '{}'", crate::text::escape(one)), vec![])
        }),
        [] => Err(Error::usage(
            format!(
                "--to {}: not a commit id, nor the start of a pin of '{directory}' in the history",
                crate::text::escape(r),
            ),
            Some(format!("give the full commit id, or one `atk history {directory}` shows")),
        )),
        many => Err(Error::usage(
            format!("--to {}: the start of {} pins of '{directory}'", crate::text::escape(r), many.len()),
            Some("give more of the commit id".into()),
        )),
    }
}

/// `2026-11-25 15:40:12 +0100`: the time as the committer's clock showed it.
pub fn absolute(t: gix::date::Time) -> String {
    t.format_or_unix(gix::date::time::format::ISO8601)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_of_the_python_cli_name_their_operation() {
        assert_eq!(from_subject("Add plugin 'Open Memory'"), Some(("add", Some("Open Memory".into()))));
        assert_eq!(from_subject("Upgrade plugin 'x'"), Some(("upgrade", Some("x".into()))));
        assert_eq!(from_subject("Initialize ATK Home"), Some(("init", None)));
        assert_eq!(from_subject(DOCTOR_SUBJECT), Some(("doctor", None)));
        assert_eq!(from_subject("my customization"), None);
    }

    #[test]
    fn absolute_times_are_the_committers_clock() {
        assert_eq!(absolute(gix::date::Time::new(0, 3600)), "1970-01-01 01:00:00 +0100");
    }
}
