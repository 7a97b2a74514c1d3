//! Drift: where a plugin's files differ from its pinned commit (by git blob ids, so nothing is
//! fetched to tell), and the unified diff of each difference. `diff`, `doctor` and `rollback` use it.

use std::collections::HashSet;

use gix::ObjectId;

use crate::error::{Error, Result};
use crate::fs::{Cap, Kind, RelPath, Root};
use crate::home::replace::is_users;
use crate::home::{plugin_rel, Entry, Home};
use crate::source::git::FileEntry;
use crate::source::origin::{pinned, Origin, ATK_REF};

/// Where a plugin's files differ from its pinned commit (paths inside its folder; `custom/`,
/// `.env` and `.atk-ref` are the user's and atk's, never counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    pub commit: Option<ObjectId>,
    /// The plugin's folder in its source at that commit.
    pub path: String,
    /// Shipped files whose content, mode or kind differ.
    pub modified: Vec<RelPath>,
    /// Shipped files that are gone.
    pub missing: Vec<RelPath>,
    /// Files in a folder the plugin ships that it does not ship (may be runtime data).
    pub extra: Vec<RelPath>,
    /// The pinned files.
    pub files: Vec<FileEntry>,
}

impl Drift {
    pub fn is_clean(&self) -> bool {
        self.modified.is_empty() && self.missing.is_empty()
    }
}

/// The git blob id of `data` (what `git hash-object` says).
pub fn blob_id(data: &[u8]) -> ObjectId {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, data).expect("sha1 hashing works")
}

/// How the plugin's folder differs from one shipped file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Gone (or not reachable).
    Missing,
    /// Content, mode or kind differ.
    Modified,
}

/// Whether the drift looks at the shipped file `f`: `custom/`, `.env` and `.atk-ref` are the
/// user's and atk's.
fn counted(f: &FileEntry) -> bool {
    !is_users(&f.path) && f.path.as_str() != ATK_REF
}

/// How the plugin's folder `root` holds the shipped file `f` (`None`: as shipped), by blob id.
fn compare(root: &Root, f: &FileEntry) -> Result<Option<Change>> {
    let same = match root.kind(&f.path) {
        Ok(None) | Err(_) => return Ok(Some(Change::Missing)),
        Ok(Some(Kind::Link)) => f.link && blob_id(root.read_link(&f.path)?.as_os_str().as_encoded_bytes()) == f.id,
        // A file too big to read (the cap is far above any shipped file) is not the shipped one.
        Ok(Some(Kind::File { executable })) => {
            !f.link
                && executable == f.executable
                && match root.read(&f.path, Cap::PluginFile) {
                    Ok(data) => blob_id(&data) == f.id,
                    Err(Error::Unreadable { .. }) => false,
                    Err(e) => return Err(e),
                }
        }
        Ok(Some(_)) => false,
    };
    Ok((!same).then_some(Change::Modified))
}

/// The shipped files of `files` (one version of the plugin, paths inside its folder) whose
/// content, mode or kind the plugin's folder `directory` has changed; gone files are not
/// counted. What `rollback` and `undo` warn that the other version replaces: `files` are the
/// ones the move goes from.
pub fn modified(home: &Home, directory: &str, files: &[FileEntry]) -> Result<Vec<RelPath>> {
    let root = home.files.sub(&plugin_rel(directory)?)?;
    let mut out = Vec::new();
    for f in files.iter().filter(|f| counted(f)) {
        crate::error::check_interrupt()?;
        if compare(&root, f)? == Some(Change::Modified) {
            out.push(f.path.clone());
        }
    }
    Ok(out)
}

/// Compares the folder of a remote plugin with the files of its pinned commit, by blob ids.
pub fn drift(home: &Home, entry: &Entry, origin: &Origin) -> Result<Drift> {
    let commit = pinned(entry)?;
    let path = origin.path_at(commit, &entry.directory)?;
    let files = origin.repo().list_files(commit, &path)?;
    let root = home.files.sub(&plugin_rel(&entry.directory)?)?;
    let mut d = Drift { commit: Some(commit), path, ..Drift::default() };
    let shipped: HashSet<&RelPath> = files.iter().map(|f| &f.path).collect();
    let mut shipped_dirs = HashSet::from([String::new()]);
    for f in &files {
        let mut p = f.path.parent();
        while let Some(dir) = p {
            shipped_dirs.insert(dir.as_str().to_string());
            p = dir.parent();
        }
        if !counted(f) {
            continue;
        }
        crate::error::check_interrupt()?;
        match compare(&root, f)? {
            Some(Change::Missing) => d.missing.push(f.path.clone()),
            Some(Change::Modified) => d.modified.push(f.path.clone()),
            None => {}
        }
    }
    for (rel, _) in root.files(&RelPath::root())? {
        let parent = rel.parent().map(|p| p.as_str().to_string()).unwrap_or_default();
        let atk_own =
            rel.as_str() == ATK_REF || rel.name().contains(".atk-saved") || crate::fs::is_temp_name(rel.name());
        if !shipped.contains(&rel) && !atk_own && !is_users(&rel) && shipped_dirs.contains(&parent) {
            d.extra.push(rel);
        }
    }
    d.files = files;
    Ok(d)
}

/// One file's change from its pinned version (`None`: absent) to what is on disk, as a unified
/// diff with `a/<name>` and `b/<name>` headers (`Binary files … differ` for binary content).
pub fn unified(name: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    use gix::diff::blob::{unified_diff::ConsumeBinaryHunk, unified_diff::ContextSize, InternedInput, UnifiedDiff};
    let mut out = format!("diff --git a/{name} b/{name}\n");
    match (old, new) {
        (Some(_), None) => out.push_str("deleted file\n"),
        (None, Some(_)) => out.push_str("new file\n"),
        _ => {}
    }
    let (a, b) = (old.unwrap_or_default(), new.unwrap_or_default());
    if a.contains(&0) || b.contains(&0) {
        out.push_str(&format!("Binary files a/{name} and b/{name} differ\n"));
        return out;
    }
    out.push_str(&format!(
        "--- {}\n+++ {}\n",
        if old.is_some() { format!("a/{name}") } else { "/dev/null".into() },
        if new.is_some() { format!("b/{name}") } else { "/dev/null".into() }
    ));
    let input = InternedInput::new(a, b);
    let diff = gix::diff::blob::diff_with_slider_heuristics(gix::diff::blob::Algorithm::Histogram, &input);
    let hunks = UnifiedDiff::new(
        &diff,
        &input,
        ConsumeBinaryHunk::new(gix::bstr::BString::default(), "\n"),
        ContextSize::symmetrical(3),
    )
    .consume()
    .unwrap_or_default();
    for line in String::from_utf8_lossy(&hunks).split_inclusive('\n') {
        out.push_str(&git_hunk_header(line).unwrap_or_else(|| line.to_string()));
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A hunk header as git writes it: a range of one line without its length, an empty range
/// starting at the line before it (`@@ -1,1 +1,0 @@` is git's `@@ -1 +0,0 @@`).
fn git_hunk_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix("@@ -")?.trim_end().strip_suffix(" @@")?;
    let (before, after) = inner.split_once(" +")?;
    let range = |r: &str| -> Option<String> {
        let (start, len) = r.split_once(',')?;
        let (start, len): (u32, u32) = (start.parse().ok()?, len.parse().ok()?);
        Some(match len {
            0 => format!("{},0", start.saturating_sub(1)),
            1 => start.to_string(),
            _ => format!("{start},{len}"),
        })
    };
    Some(format!("@@ -{} +{} @@\n", range(before)?, range(after)?))
}

/// [`drift_diff`] as a person may see it (`atk diff`, `doctor --fix`'s question): a file the user
/// edited may hold a secret of theirs or of the environment ([`crate::plugin::scrubber_of`]).
/// Each side of each file is scrubbed before the two are compared (a secret that spans lines is
/// taken out whole), then the whole patch again: its headers (the files' names) and mode lines
/// are in neither side.
pub fn scrubbed_patch(
    home: &Home,
    entry: &Entry,
    origin: &Origin,
    drift: &Drift,
    outer: &crate::environment::Environment,
) -> Result<String> {
    let var = |name: &str| outer.var(name);
    let scrubber = crate::plugin::scrubber_of(&home.plugin_dir(&entry.directory), &var, outer.secrets());
    let patch = drift_diff(home, entry, origin, drift, &|s| scrubber.scrub(s))?;
    Ok(scrubber.scrub(&patch))
}

/// The unified diff of every shipped file of `drift` that changed or went missing (paths shown
/// as `plugins/<directory>/<path>`). Fetches the pinned blobs when the cache lacks them.
///
/// `scrub` takes secrets out of each side's text before the two are compared: a secret that spans
/// lines (a PEM key) is taken out whole there, where in the diff each of its lines has a `+` or
/// `-` before it.
pub fn drift_diff(
    home: &Home,
    entry: &Entry,
    origin: &Origin,
    drift: &Drift,
    scrub: &dyn Fn(&str) -> String,
) -> Result<String> {
    let Some(commit) = drift.commit else { return Ok(String::new()) };
    let repo = origin.repo();
    let wanted: Vec<String> =
        drift.modified.iter().chain(&drift.missing).map(|p| format!("{}/{p}", drift.path)).collect();
    repo.ensure_paths(commit, &wanted.iter().map(String::as_str).collect::<Vec<_>>())?;
    let root = home.files.sub(&plugin_rel(&entry.directory)?)?;
    let mut out = String::new();
    let mut paths: Vec<&RelPath> = drift.modified.iter().chain(&drift.missing).collect();
    paths.sort();
    for p in paths {
        let shipped = drift.files.iter().find(|f| f.path == *p);
        let old = repo.read_file(commit, &format!("{}/{p}", drift.path))?;
        let kind = root.kind(p)?;
        let new = match kind {
            None => None,
            Some(Kind::Link) => Some(root.read_link(p)?.as_os_str().as_encoded_bytes().to_vec()),
            Some(Kind::File { .. }) => match root.read(p, Cap::PluginFile) {
                Ok(data) => Some(data),
                Err(e @ Error::Unreadable { .. }) => Some(format!("({e})\n").into_bytes()),
                Err(e) => return Err(e),
            },
            Some(_) => Some(b"(not a file)\n".to_vec()),
        };
        let clean = |b: Vec<u8>| if b.contains(&0) { b } else { scrub(&String::from_utf8_lossy(&b)).into_bytes() };
        let (old, new) = (old.map(clean), new.map(clean));
        let name = format!("plugins/{}/{p}", entry.directory);
        // A file named like a secret (`*.env`, `*.key`, …) may hold one: its lines are not shown.
        let mut text = if crate::home::gitignore::is_secret(p.name()) {
            format!("diff --git a/{name} b/{name}\nSecret file a/{name} and b/{name} differ (content not shown)\n")
        } else {
            unified(&name, old.as_deref(), new.as_deref())
        };
        if let (Some(f), Some(Kind::File { executable })) = (shipped, kind) {
            if f.executable != executable {
                let mode = |x: bool| if x { "100755" } else { "100644" };
                text = text.replacen(
                    '\n',
                    &format!("\nold mode {}\nnew mode {}\n", mode(f.executable), mode(executable)),
                    1,
                );
            }
        }
        out.push_str(&text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(blob_id(b"hello\n").to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn a_changed_line_reads_as_git_diff_shows_it() {
        let d = unified("p/f", Some(b"a\nb\nc\n"), Some(b"a\nB\nc\n"));
        assert_eq!(d, "diff --git a/p/f b/p/f\n--- a/p/f\n+++ b/p/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        let gone = unified("p/f", Some(b"x\n"), None);
        assert!(gone.contains("deleted file\n--- a/p/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"), "{gone}");
        assert!(unified("p/b", Some(b"\0"), Some(b"\x01\0")).contains("Binary files"));
    }
}
