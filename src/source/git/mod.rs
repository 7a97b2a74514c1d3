//! Git repositories as plugin sources, through gix. A local repository (a path or `file://`) is
//! read in place; a remote one is fetched into a bare cache repository, one per URL, as little as
//! the server allows: the pinned commit at depth 1 with `filter blob:none` (commit and trees only),
//! then by id only the blobs of the paths asked for. A server that cannot filter gets a depth-1
//! fetch of the whole tree instead.

mod cache;
mod objects;
mod transport;
mod tree;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::error::{Error, Result};
use crate::fs::lock::LockGuard;
use crate::fs::RelPath;

pub use cache::{cache_dir, cache_name, normalize, Cache};
pub(crate) use transport::init_curl;
use transport::Session;

/// A source repository, ready to be read at any commit it has (or can fetch).
pub struct Repo {
    repo: gix::Repository,
    /// The URL to fetch from; `None` for a repository read in place.
    remote: Option<String>,
    /// What the user knows the source as, for messages.
    shown: String,
    /// Held while fetching into the cache repository.
    cache_lock: Option<PathBuf>,
    /// How long a fetch waits for the cache lock and for a silent server.
    waits: crate::source::net::Waits,
    /// Bytes of packs received by this process (for `-v` and benchmarks).
    pub received: std::cell::Cell<u64>,
    /// The connection of the last network step and its handshake, for the next step to reuse.
    session: std::sync::Mutex<Option<Session>>,
}

/// A file of a plugin version, as recorded in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: RelPath,
    pub executable: bool,
    pub link: bool,
    pub id: ObjectId,
}

/// The local repository a URL or path names, when it names one on this machine.
pub fn local_path(fetch_url: &str) -> Option<PathBuf> {
    if let Some(rest) = fetch_url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    let p = Path::new(fetch_url);
    (!fetch_url.contains("://") && p.exists()).then(|| p.to_path_buf())
}

pub(super) fn fetch_error(shown: &str, e: impl std::error::Error) -> Error {
    if crate::interrupt::is_set() {
        return Error::Interrupted;
    }
    // gix says "Transport handshake failed"; why is further down its chain of causes (libcurl's).
    let mut causes = Vec::new();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        causes.push(c.to_string());
        cause = c.source();
    }
    let hint = if let Some(why) = causes.iter().rev().find(|c| is_untrusted_certificate(c)) {
        // libcurl's own words, "SSL certificate problem: self-signed certificate", when it has them.
        let why = match why.find("SSL certificate problem") {
            Some(at) => why[at..].trim_end_matches(')').to_string(),
            None => why.trim().to_string(),
        };
        format!(
            "the server's certificate is not trusted ({why}): add its CA to the system's CA store, or name a file that holds it: `git config --global http.sslCAInfo FILE` (for one run: GIT_SSL_CAINFO=FILE)"
        )
    } else {
        "check the URL, your network connection and your git credentials for this host".into()
    };
    Error::Git { message: format!("cannot fetch from {shown}: {e}"), hints: vec![hint] }
}

/// Whether libcurl's words say the server's certificate could not be verified (an unknown CA, a
/// self-signed or expired certificate, a name it was not issued for).
fn is_untrusted_certificate(cause: &str) -> bool {
    let c = cause.to_ascii_lowercase();
    c.contains("ssl certificate problem")
        || c.contains("certificate verify failed")
        || c.contains("peer certificate")
        || c.contains("ssl: no alternative certificate subject name")
        || c.contains("self-signed certificate")
        || c.contains("unable to get local issuer certificate")
}

pub(super) fn read_error(shown: &str, e: impl std::fmt::Display) -> Error {
    Error::Git { message: format!("cannot read the repository {shown}: {e}"), hints: vec![] }
}

impl Repo {
    /// Opens the source at `fetch_url`: in place when it is on this machine, else through its cache
    /// repository in `cache`.
    pub fn open(fetch_url: &str, shown: &str, cache: &Cache) -> Result<Repo> {
        // A local source that is not on this machine, whose commits `atk import` put in the
        // cache: read from the cache, as a remote one.
        let imported = |path: &Path| path.symlink_metadata().is_err() && cache_dir(&cache.root, fetch_url).is_dir();
        if let Some(path) = local_path(fetch_url).filter(|p| !imported(p)) {
            crate::home::repo::check_repository(&path)?;
            let repo = gix::open(&path).map_err(|e| Error::Git {
                message: format!("{shown} is not a git repository: {e}"),
                hints: vec!["a local source must be a git repository (bare or not)".into()],
            })?;
            return Ok(Repo {
                repo,
                remote: None,
                shown: shown.into(),
                cache_lock: None,
                waits: cache.waits,
                received: 0.into(),
                session: Default::default(),
            });
        }
        Repo::open_cache(fetch_url, shown, cache)
    }

    /// Opens (or creates) the cache repository of the source at `fetch_url`, also for a local one
    /// (`atk import` fills it for a local source that is not on this machine).
    pub fn open_cache(fetch_url: &str, shown: &str, cache: &Cache) -> Result<Repo> {
        // Every remote URL (an added one, a registry, one read from a cloned home) comes here.
        super::check_no_credentials(fetch_url)?;
        let dir = cache_dir(&cache.root, fetch_url);
        let lock = dir.with_extension("lock");
        crate::home::repo::check_repository(&dir)?;
        let repo = cache::open_or_create(&dir, &lock, cache, shown)?;
        Ok(Repo {
            repo,
            remote: Some(fetch_url.into()),
            shown: shown.into(),
            cache_lock: Some(lock),
            waits: cache.waits,
            received: 0.into(),
            session: Default::default(),
        })
    }

    fn take_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|mut s| s.take())
    }

    fn keep_session(&self, session: Option<Session>) {
        if let Ok(mut s) = self.session.lock() {
            *s = session;
        }
    }

    /// The source as the user knows it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn is_local(&self) -> bool {
        self.remote.is_none()
    }

    /// The commit the source's HEAD points at now.
    pub fn head(&self) -> Result<ObjectId> {
        let Some(url) = &self.remote else {
            return self
                .repo
                .head_id()
                .map(|id| id.detach())
                .map_err(|e| read_error(&self.shown, format!("no HEAD commit ({e})")));
        };
        let head = self.remote_head(url)?;
        if let Some(id) = head {
            return Ok(id);
        }
        Err(Error::Git {
            message: format!("{} has no HEAD commit", self.shown),
            hints: vec!["is the repository empty?".into()],
        })
    }

    /// The commit that the branch or tag `committish` (the default branch when none) names at
    /// the source now; `None` when it has no such ref.
    pub fn resolve(&self, committish: Option<&str>) -> Result<Option<ObjectId>> {
        let Some(url) = &self.remote else {
            let names = match committish {
                None => vec!["HEAD".to_string()],
                Some(c) => vec![format!("refs/heads/{c}"), format!("refs/tags/{c}")],
            };
            return Ok(names
                .iter()
                .find_map(|n| Some(self.repo.find_reference(n.as_str()).ok()?.peel_to_commit().ok()?.id)));
        };
        let Some(name) = committish else { return self.remote_head(url) };
        let wanted = [format!("refs/heads/{name}"), format!("refs/tags/{name}")];
        let found = self.remote_refs(url, &wanted)?;
        Ok(wanted.iter().find_map(|w| found.iter().find(|(n, _)| n == w).map(|(_, id)| *id)))
    }

    pub fn has(&self, id: &ObjectId) -> bool {
        self.repo.has_object(id)
    }

    /// Makes sure the commit and its trees are here (fetching them when needed).
    pub fn ensure_commit(&self, commit: ObjectId) -> Result<()> {
        if self.has(&commit) {
            return Ok(());
        }
        if self.remote.is_none() {
            return Err(Error::Git {
                message: format!("{} does not have the commit {commit}", self.shown),
                hints: vec![],
            });
        }
        let lock = self.lock()?;
        if !self.has(&commit) {
            self.fetch(lock.as_ref().map(LockGuard::file), &[commit], true)?;
            self.pin(commit)?;
        }
        Ok(())
    }

    /// Makes sure every blob under `paths` (files or folders) at `commit` is here.
    pub fn ensure_paths(&self, commit: ObjectId, paths: &[&str]) -> Result<()> {
        let mut missing = Vec::new();
        for path in paths {
            if let Some((id, is_tree)) = self.entry(commit, path)? {
                if is_tree {
                    self.walk(id, "", &mut |_, _, mode, id| {
                        if !mode.is_tree() && !mode.is_commit() && !self.has(&id) {
                            missing.push(id);
                        }
                        Ok(())
                    })?;
                } else if !self.has(&id) {
                    missing.push(id);
                }
            }
        }
        self.fetch_missing(commit, missing)
    }

    /// Makes sure the blobs of `files` (listed from `commit` by [`Repo::list_files`]) are here:
    /// the same as [`Repo::ensure_paths`] of their folder, without walking it again.
    pub fn ensure_files(&self, commit: ObjectId, files: &[FileEntry]) -> Result<()> {
        self.fetch_missing(commit, files.iter().map(|f| f.id).filter(|id| !self.has(id)).collect())
    }

    /// Fetches the blobs `missing` of `commit` by id (or, from a server that refuses that, the
    /// commit's whole tree).
    fn fetch_missing(&self, commit: ObjectId, mut missing: Vec<ObjectId>) -> Result<()> {
        if missing.is_empty() {
            return Ok(());
        }
        if self.remote.is_none() {
            return Err(Error::Git {
                message: format!("{} is missing objects of commit {commit}", self.shown),
                hints: vec![],
            });
        }
        let lock = self.lock()?;
        missing.retain(|id| !self.has(id));
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            if let Err(e) = self.fetch(lock.as_ref().map(LockGuard::file), &missing, false) {
                // A server that refuses wants by blob id: take the whole tree of the commit instead.
                if matches!(e, Error::Interrupted | Error::NetStalled { .. }) {
                    return Err(e);
                }
                self.fetch(lock.as_ref().map(LockGuard::file), &[commit], false)?;
            }
        }
        Ok(())
    }
}
