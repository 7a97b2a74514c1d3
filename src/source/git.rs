//! Git repositories as plugin sources, through gix. A local repository (a path or `file://`) is
//! read in place; a remote one is fetched into a bare cache repository, one per URL, as little as
//! the server allows: the pinned commit at depth 1 with `filter blob:none` (commit and trees only),
//! then by id only the blobs of the paths asked for. A server that cannot filter gets a depth-1
//! fetch of the whole tree instead.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::ObjectId;

use crate::error::{Error, IoContext, Result};
use crate::fs::{name_problem, RelPath, Root};

/// A source repository, ready to be read at any commit it has (or can fetch).
pub struct Repo {
    repo: gix::Repository,
    /// The URL to fetch from; `None` for a repository read in place.
    remote: Option<String>,
    /// What the user knows the source as, for messages.
    shown: String,
    /// Held while fetching into the cache repository.
    cache_lock: Option<PathBuf>,
    /// Bytes of packs received by this process (for `-v` and benchmarks).
    pub received: std::cell::Cell<u64>,
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

fn fetch_error(shown: &str, e: impl std::fmt::Display) -> Error {
    if crate::interrupt::is_set() {
        return Error::Interrupted;
    }
    Error::Git {
        message: format!("cannot fetch from {shown}: {e}"),
        hints: vec!["check the URL, your network connection and your git credentials for this host".into()],
    }
}

fn read_error(shown: &str, e: impl std::fmt::Display) -> Error {
    Error::Git { message: format!("cannot read the repository {shown}: {e}"), hints: vec![] }
}

impl Repo {
    /// Opens the source at `fetch_url`: in place when it is on this machine, else through its cache
    /// repository under `cache_root`.
    pub fn open(fetch_url: &str, shown: &str, cache_root: &Path) -> Result<Repo> {
        if let Some(path) = local_path(fetch_url) {
            let repo = gix::open(&path).map_err(|e| Error::Git {
                message: format!("{shown} is not a git repository: {e}"),
                hints: vec!["a local source must be a git repository (bare or not)".into()],
            })?;
            return Ok(Repo { repo, remote: None, shown: shown.into(), cache_lock: None, received: 0.into() });
        }
        let dir = cache_root.join("git").join(format!("{}.git", cache_name(fetch_url)));
        let lock = dir.with_extension("lock");
        let repo = match gix::open(&dir) {
            Ok(r) => r,
            Err(_) => {
                // Two atk (or two fetch threads) may create it at once: the lock decides who does.
                std::fs::create_dir_all(cache_root.join("git"))
                    .ctx(|| format!("cannot create {}", cache_root.display()))?;
                let _held = lock_file(&lock)?;
                match gix::open(&dir) {
                    Ok(r) => r,
                    Err(_) => gix::init_bare(&dir).map_err(|e| {
                        Error::other(format!("cannot create the cache repository {}: {e}", dir.display()))
                    })?,
                }
            }
        };
        Ok(Repo {
            repo,
            remote: Some(fetch_url.into()),
            shown: shown.into(),
            cache_lock: Some(lock),
            received: 0.into(),
        })
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
        use gix::remote::Direction;
        let remote = self.repo.remote_at(url.as_str()).map_err(|e| fetch_error(&self.shown, e))?;
        let spec = gix::refspec::parse("HEAD".into(), gix::refspec::parse::Operation::Fetch)
            .map_err(|e| fetch_error(&self.shown, e))?
            .to_owned();
        let (ref_map, _) = remote
            .connect(Direction::Fetch)
            .map_err(|e| fetch_error(&self.shown, e))?
            .ref_map(
                gix::progress::Discard,
                gix::remote::ref_map::Options { extra_refspecs: vec![spec], ..Default::default() },
            )
            .map_err(|e| fetch_error(&self.shown, e))?;
        for r in &ref_map.remote_refs {
            let (name, target, peeled) = r.unpack();
            if name == "HEAD" {
                if let Some(id) = peeled.or(target) {
                    return Ok(id.to_owned());
                }
            }
        }
        Err(Error::Git {
            message: format!("{} has no HEAD commit", self.shown),
            hints: vec!["is the repository empty?".into()],
        })
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
        let _lock = self.lock()?;
        if !self.has(&commit) {
            self.fetch(&[commit], true)?;
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
        if missing.is_empty() {
            return Ok(());
        }
        if self.remote.is_none() {
            return Err(Error::Git {
                message: format!("{} is missing objects of commit {commit}", self.shown),
                hints: vec![],
            });
        }
        let _lock = self.lock()?;
        missing.retain(|id| !self.has(id));
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            if let Err(e) = self.fetch(&missing, false) {
                // A server that refuses wants by blob id: take the whole tree of the commit instead.
                if matches!(e, Error::Interrupted) {
                    return Err(e);
                }
                self.fetch(&[commit], false)?;
            }
        }
        Ok(())
    }

    /// Whether everything below `path` at `commit` is here already (nothing to fetch).
    pub fn is_complete(&self, commit: ObjectId, path: &str) -> bool {
        if !self.has(&commit) {
            return false;
        }
        let Ok(Some((id, is_tree))) = self.entry(commit, path) else { return false };
        if !is_tree {
            return self.has(&id);
        }
        let mut complete = true;
        let walked = self.walk(id, "", &mut |_, _, mode, id| {
            if !mode.is_commit() && !self.has(&id) {
                complete = false;
            }
            Ok(())
        });
        walked.is_ok() && complete
    }

    /// The object at `path` in `commit` (and whether it is a folder), if there is one.
    pub fn entry(&self, commit: ObjectId, path: &str) -> Result<Option<(ObjectId, bool)>> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| read_error(&self.shown, format!("commit {commit}: {e}")))?;
        if path.is_empty() {
            return Ok(Some((tree.id, true)));
        }
        let entry = tree.lookup_entry_by_path(path).map_err(|e| read_error(&self.shown, e))?;
        Ok(entry.map(|e| (e.object_id(), e.mode().is_tree())))
    }

    /// The content of the file at `path` in `commit`.
    pub fn read_file(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(commit, path)? {
            Some((id, false)) => {
                let blob = self.repo.find_blob(id).map_err(|e| read_error(&self.shown, e))?;
                Ok(Some(blob.data.clone()))
            }
            _ => Ok(None),
        }
    }

    /// Calls `f(relative path, entry name, mode, id)` for every entry below the tree `id`, parents
    /// first. The entry's own name is passed apart: a crafted name may hold a `/`, which the path
    /// alone would hide (`sub/x` named in one entry looks like `x` in a folder `sub`).
    fn walk(
        &self,
        id: ObjectId,
        prefix: &str,
        f: &mut dyn FnMut(&str, &str, gix::object::tree::EntryMode, ObjectId) -> Result<()>,
    ) -> Result<()> {
        let tree = self.repo.find_tree(id).map_err(|e| read_error(&self.shown, e))?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| read_error(&self.shown, e))?;
            let name = entry.filename().to_string();
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let (mode, oid) = (entry.mode(), entry.oid().to_owned());
            f(&rel, &name, mode, oid)?;
            if mode.is_tree() {
                self.walk(oid, &rel, f)?;
            }
        }
        Ok(())
    }

    /// Every file (blob or symlink) below the folder `path` at `commit`: relative path, mode, id.
    /// Needs only the trees. Submodules are left out. An entry whose name could not be a file
    /// name here (see [`name_problem`]) is refused, naming it.
    pub fn list_files(&self, commit: ObjectId, path: &str) -> Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        if let Some((tree, true)) = self.entry(commit, path)? {
            self.walk(tree, "", &mut |rel, name, mode, id| {
                let checked = match name_problem(name) {
                    Some(why) => return Err(self.refuse_entry(path, rel, why)),
                    None => RelPath::new(rel).map_err(|e| self.refuse_entry(path, rel, e.why))?,
                };
                if !mode.is_tree() && !mode.is_commit() {
                    out.push(FileEntry { path: checked, executable: mode.is_executable(), link: mode.is_link(), id });
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    fn refuse_entry(&self, path: &str, rel: &str, why: &str) -> Error {
        Error::refused(
            format!("{path}/{} in {} has {why}", crate::text::escape(rel), self.shown),
            vec!["the plugin cannot be installed safely; report it to its maintainers".into()],
        )
    }

    /// Writes the folder `path` of `commit` into the empty folder `dest`: modes and symlinks kept.
    /// Refused, naming the entry, before anything outside `dest` could change: a name that could
    /// not be a file name (`..`, `.git`, `a/b`, `/x`), an entry that appears twice, and a link
    /// that leads out of `dest` once every link is in place. Submodules are skipped; their paths
    /// come back for a warning.
    pub fn materialize(&self, commit: ObjectId, path: &str, dest: &Root) -> Result<Vec<String>> {
        let Some((tree, true)) = self.entry(commit, path)? else {
            return Err(Error::Git {
                message: format!("{path}/ is not a folder at commit {commit} of {}", self.shown),
                hints: vec![],
            });
        };
        let mut skipped = Vec::new();
        let twice = |rel: &str, e: Error| match e {
            Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                self.refuse_entry(path, rel, "a name that appears twice")
            }
            e => e,
        };
        self.walk(tree, "", &mut |rel, name, mode, id| {
            crate::interrupt::check()?;
            if let Some(why) = name_problem(name) {
                return Err(self.refuse_entry(path, rel, why));
            }
            let out = RelPath::new(rel).map_err(|e| self.refuse_entry(path, rel, e.why))?;
            if mode.is_tree() {
                return dest.create_dir(&out).map_err(|e| twice(rel, e));
            }
            if mode.is_commit() {
                skipped.push(rel.to_string());
                return Ok(());
            }
            let blob = self.repo.find_blob(id).map_err(|e| read_error(&self.shown, e))?;
            if mode.is_link() {
                let target = PathBuf::from(String::from_utf8_lossy(&blob.data).to_string());
                if blob.data.contains(&0) || dest.link_escapes(&out, &target) {
                    return Err(self.refuse_entry(
                        path,
                        rel,
                        &format!(
                            "a link to {}, outside the plugin folder",
                            crate::text::escape(&target.to_string_lossy())
                        ),
                    ));
                }
                return dest.symlink(&target, &out).map_err(|e| twice(rel, e));
            }
            let mode = if mode.is_executable() { 0o755 } else { 0o644 };
            dest.write_new(&out, &blob.data, mode).map_err(|e| twice(rel, e))
        })?;
        // A link made later can change where an earlier one leads: check them all again.
        if let Some((link, target)) = dest.first_escaping_link()? {
            return Err(self.refuse_entry(
                path,
                link.as_str(),
                &format!("a link to {}, outside the plugin folder", crate::text::escape(&target.to_string_lossy())),
            ));
        }
        Ok(skipped)
    }

    fn lock(&self) -> Result<Option<std::fs::File>> {
        self.cache_lock.as_deref().map(lock_file).transpose()
    }

    /// Keeps a fetched commit from being garbage-collected, and records it.
    fn pin(&self, commit: ObjectId) -> Result<()> {
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

    /// One fetch of `wants`. With `commit_only`, at depth 1 and with `filter blob:none` when the
    /// server supports it; returns whether the filter was used.
    fn fetch(&self, wants: &[ObjectId], commit_only: bool) -> Result<bool> {
        use gix::protocol::fetch::{Arguments, Context, Negotiate, Options, Shallow, Tags};
        let url = self.remote.as_deref().expect("only remote sources fetch");
        let shown = self.shown.as_str();
        let remote = self.repo.remote_at(url).map_err(|e| fetch_error(shown, e))?;
        let mut con = remote.connect(gix::remote::Direction::Fetch).map_err(|e| fetch_error(shown, e))?;
        let mut auth = con.configured_credentials_for_current_url();
        if let Some(options) = self.repo.transport_options(url, None).map_err(|e| fetch_error(shown, e))? {
            con.transport_mut().configure(&*options).map_err(|e| fetch_error(shown, e))?;
        }
        let mut handshake = gix::protocol::handshake(
            con.transport_mut(),
            gix::protocol::transport::Service::UploadPack,
            &mut auth,
            vec![],
            &mut gix::progress::Discard,
        )
        .map_err(|e| fetch_error(shown, e))?;

        struct Wants<'a> {
            ids: &'a [ObjectId],
            filter: bool,
            filtered: bool,
        }
        impl Negotiate for Wants<'_> {
            fn mark_complete_and_common_ref(&mut self) -> gix::Result<gix::protocol::fetch::negotiate::Action> {
                Ok(gix::protocol::fetch::negotiate::Action::MustNegotiate {
                    remote_ref_target_known: vec![false; self.ids.len()],
                })
            }
            fn add_wants(&mut self, arguments: &mut Arguments, _known: &[bool]) -> bool {
                for id in self.ids {
                    arguments.want(id);
                }
                if self.filter && arguments.can_use_filter() {
                    arguments.filter("blob:none");
                    self.filtered = true;
                }
                !self.ids.is_empty()
            }
            fn one_round(
                &mut self,
                _state: &mut gix::protocol::fetch::negotiate::one_round::State,
                _arguments: &mut Arguments,
                _previous: Option<&gix::protocol::fetch::Response>,
            ) -> gix::Result<(gix::protocol::fetch::negotiate::Round, bool)> {
                // Nothing to negotiate: we want exact objects and say `done` at once.
                let round = gix::protocol::fetch::negotiate::Round {
                    haves_sent: 0,
                    in_vain: 0,
                    haves_to_send: 0,
                    previous_response_had_at_least_one_in_common: false,
                };
                Ok((round, true))
            }
        }

        let mut negotiate = Wants { ids: wants, filter: commit_only, filtered: false };
        let shallow =
            if commit_only { Shallow::DepthAtRemote(1.try_into().expect("1 is not 0")) } else { Shallow::NoChange };
        let shallow_file = self.repo.shallow_file().map_err(|e| fetch_error(shown, e))?;
        let pack_dir = self.repo.objects.store_ref().path().join("pack");
        let objects = self.repo.objects.clone();
        let hash = self.repo.object_hash();
        let received = &self.received;
        let interrupt: &AtomicBool = crate::interrupt::as_atomic();
        let result = gix::protocol::fetch(
            &mut negotiate,
            |reader, progress, should_interrupt| {
                let mut counting = CountingRead { inner: reader, count: 0 };
                let mut outcome = gix::odb::pack::Bundle::write_to_directory(
                    &mut counting,
                    Some(&pack_dir),
                    progress,
                    should_interrupt,
                    Some(objects),
                    hash,
                    Default::default(),
                )?;
                received.set(received.get() + counting.count);
                if let Some(keep) = outcome.keep_path.take() {
                    let _ = std::fs::remove_file(keep);
                }
                Ok(true)
            },
            gix::progress::Discard,
            interrupt,
            Context {
                handshake: &mut handshake,
                transport: con.transport_mut(),
                user_agent: ("agent", Some(format!("atk/{}", env!("CARGO_PKG_VERSION")))),
                trace_packetlines: false,
            },
            Options { shallow_file, shallow: &shallow, tags: Tags::None, reject_shallow_remote: false },
        );
        if handshake.server_protocol_version == gix::protocol::transport::Protocol::V2 {
            let _ = gix::protocol::indicate_end_of_interaction(con.transport_mut(), false);
        }
        result.map_err(|e| fetch_error(shown, e))?;
        Ok(negotiate.filtered)
    }
}

/// Waits for and takes the file lock at `path` (released when the file is dropped).
fn lock_file(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx(|| format!("cannot open {}", path.display()))?;
    file.lock().ctx(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// Counts the bytes of a pack as it is read.
struct CountingRead<'a> {
    inner: &'a mut dyn std::io::BufRead,
    count: u64,
}

impl std::io::Read for CountingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl std::io::BufRead for CountingRead<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.count += amt as u64;
        self.inner.consume(amt)
    }
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
