//! The cache of remote sources: one bare repository per URL under the cache folder, its name, its
//! lock, and what a killed fetch leaves in it.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::Repo;
use crate::error::{Error, IoContext, Result};
use crate::fs::lock::LockGuard;
use crate::source::net::Waits;

/// The cache key of a URL: case of scheme and host, a trailing `/` or `.git` do not matter.
pub fn normalize(url: &str) -> String {
    let mut u = url.trim().trim_end_matches('/').to_string();
    if let Some(stripped) = u.strip_suffix(".git") {
        u = stripped.to_string();
    }
    match u.find("://") {
        Some(i) => {
            let host_end = u[i + 3..].find('/').map_or(u.len(), |j| i + 3 + j);
            format!("{}{}", u[..host_end].to_lowercase(), &u[host_end..])
        }
        None => u,
    }
}

/// The cache of fetched repositories: where it is, and how long its fetches wait for a lock another
/// atk holds and for a silent server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    pub root: PathBuf,
    pub waits: Waits,
}

/// The cache repository of the source fetched from `fetch_url`, under `cache_root`.
pub fn cache_dir(cache_root: &Path, fetch_url: &str) -> PathBuf {
    cache_root.join("git").join(format!("{}.git", cache_name(fetch_url)))
}

/// A file-name-safe, stable name for `url`: a readable slug and a hash.
pub fn cache_name(url: &str) -> String {
    let key = normalize(url);
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    let slug: String = key
        .rsplit(['/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or("repo")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(40)
        .collect();
    format!("{slug}-{hash:016x}")
}

/// Opens the cache repository `dir` (under `cache_root`), creating it when it is not there (or is
/// what a killed atk left half-made), under its `lock`.
pub(super) fn open_or_create(dir: &Path, lock: &Path, cache: &Cache, shown: &str) -> Result<gix::Repository> {
    let cache_root = &cache.root;
    let repo = match gix::open(dir) {
        Ok(r) => r,
        Err(_) => {
            // Two atk (or two fetch threads) may create it at once: the lock decides who does.
            std::fs::create_dir_all(cache_root.join("git"))
                .ctx(|| format!("cannot create {}", cache_root.display()))?;
            let _held = lock_file(lock, shown, cache.waits.lock, &|| None)?;
            match gix::open(dir) {
                Ok(r) => r,
                Err(_) => {
                    // Not a repository while we hold the lock: a killed atk's half-made one
                    // (whatever is there: a folder, a file, a link).
                    crate::fs::remove_any(dir)?;
                    gix::init_bare(dir).map_err(|e| {
                        Error::other(format!("cannot create the cache repository {}: {e}", dir.display()))
                    })?
                }
            }
        }
    };
    Ok(repo)
}

impl Repo {
    /// Takes the cache repository's lock. Whoever holds it is the only one changing the
    /// repository, so what a killed fetch left there (git's lock files, temporary packs) is
    /// stale, and cleared now: otherwise every later fetch of this source would fail.
    pub(super) fn lock(&self) -> Result<Option<LockGuard>> {
        let Some(path) = self.cache_lock.as_deref() else { return Ok(None) };
        // A transfer of this run that was given up on still holds the lock: waiting for it would
        // wait for the very stall the timeout ended (checked again while waiting, for a transfer
        // of another thread given up on meanwhile).
        let stalled = || abandoned(path).map(|seconds| Error::NetStalled { url: self.shown.clone(), seconds });
        let file = lock_file(path, &self.shown, self.waits.lock, &stalled)?;
        clear_stale_cache_files(self.repo.path())?;
        Ok(Some(file))
    }

    /// Keeps a fetched commit from being garbage-collected, and records it.
    pub(super) fn pin(&self, commit: ObjectId) -> Result<()> {
        let mut repo = self.repo.clone();
        let _ = repo.committer_or_set_fallback("atk", "atk@localhost");
        repo.reference(
            format!("refs/atk/pins/{commit}"),
            commit,
            gix::refs::transaction::PreviousValue::Any,
            "atk: pin",
        )
        .map_err(|e| Error::other(format!("cannot record commit {commit} in the cache: {e}")))?;
        Ok(())
    }
}

/// Cache locks still held by transfers this process gave up on (with the timeout that ended them).
pub(super) static ABANDONED: std::sync::Mutex<Vec<(PathBuf, u64)>> = std::sync::Mutex::new(Vec::new());

fn abandoned(path: &Path) -> Option<u64> {
    ABANDONED.lock().expect("not poisoned").iter().find(|(p, _)| p == path).map(|(_, s)| *s)
}

/// Waits for and takes the cache lock at `path` of the source `shown` (released when the file is
/// dropped). Another atk holds it only while it fetches (bounded by the network timeout); the wait
/// is bounded by the lock `timeout`, and Ctrl-C or `give_up` ends it.
pub(super) fn lock_file(
    path: &Path,
    shown: &str,
    timeout: std::time::Duration,
    give_up: &dyn Fn() -> Option<Error>,
) -> Result<LockGuard> {
    if let Some(e) = give_up() {
        return Err(e);
    }
    crate::fs::lock::acquire(path, timeout, &mut || {}, give_up)?
        .ok_or_else(|| Error::Locked { what: format!("fetching {shown} into the cache"), seconds: timeout.as_secs() })
}

/// Removes from the bare cache repository `git_dir` what a killed fetch leaves: `*.lock` files at
/// its top (`shallow.lock`, `HEAD.lock`, `config.lock`, `packed-refs.lock`) and under `refs/`,
/// and temporary or `.keep` files in `objects/pack/`. Call only while holding the cache lock.
fn clear_stale_cache_files(git_dir: &Path) -> Result<()> {
    fn remove(path: &Path) -> Result<()> {
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.is_file() => {
                std::fs::remove_file(path).ctx(|| format!("cannot remove the stale file {}", path.display()))
            }
            _ => Ok(()),
        }
    }
    /// The files (not links) in `dir`, and in its subfolders when `recurse`; what cannot be read is
    /// passed over.
    fn files(dir: &Path, recurse: bool, out: &mut Vec<PathBuf>) {
        let walk = walkdir::WalkDir::new(dir).min_depth(1).max_depth(if recurse { usize::MAX } else { 1 });
        out.extend(walk.into_iter().flatten().filter(|e| e.file_type().is_file()).map(walkdir::DirEntry::into_path));
    }
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut stale = Vec::new();
    files(git_dir, false, &mut stale);
    files(&git_dir.join("refs"), true, &mut stale);
    stale.retain(|p| name(p).ends_with(".lock"));
    let mut packs = Vec::new();
    files(&git_dir.join("objects/pack"), false, &mut packs);
    stale.extend(packs.into_iter().filter(|p| {
        let n = name(p);
        n.starts_with(".tmp") || n.starts_with("tmp_") || n.ends_with(".keep")
    }));
    for path in stale {
        remove(&path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_ignore_cosmetic_differences() {
        let a = cache_name("https://GitHub.com/Org/Tool.git");
        assert_eq!(a, cache_name("https://github.com/Org/Tool/"));
        assert_ne!(a, cache_name("https://github.com/org/tool"), "paths stay case-sensitive");
        assert!(a.starts_with("Tool-"), "{a}");
        assert!(cache_name("git@host:org/x.git").starts_with("x-"));
    }
}
