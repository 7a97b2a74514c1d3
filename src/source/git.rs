//! Git repositories as plugin sources, through gix. A local repository (a path or `file://`) is
//! read in place; a remote one is fetched into a bare cache repository, one per URL, as little as
//! the server allows: the pinned commit at depth 1 with `filter blob:none` (commit and trees only),
//! then by id only the blobs of the paths asked for. A server that cannot filter gets a depth-1
//! fetch of the whole tree instead.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::error::{Error, IoContext, Result};
use crate::fs::lock::Held;
use crate::fs::{name_problem, RelPath, Root};

/// How deep folders of a source may nest (git's own default limit is 4096; a plugin needs far
/// fewer, and the walk must not exhaust the stack).
const MAX_TREE_DEPTH: usize = 256;

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
    /// The connection of the last network step and its handshake, for the next step to reuse.
    session: std::sync::Mutex<Option<Session>>,
}

type Transport = Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>;

/// A connection to a remote after its handshake. Kept between the network steps of one `Repo`
/// (looking up HEAD, fetching the commit, fetching blobs) only where a step is one request of its
/// own: protocol v2 over http(s), where the handshake is a `GET info/refs` and every command after
/// it one `POST`. Reusing it saves that `GET` (a round trip) per step. A connection that persists
/// across requests (git://, ssh) is ended after each step as before.
struct Session {
    transport: Transport,
    handshake: gix::protocol::Handshake,
    /// Whether it came from an earlier step (and may have gone stale since).
    reused: bool,
}

impl Session {
    fn reusable(&self) -> bool {
        self.handshake.server_protocol_version == gix::protocol::transport::Protocol::V2
            && !self.transport.connection_persists_across_multiple_requests()
    }

    /// Connects to `url` and shakes hands, or takes `earlier` when there is one.
    fn open(
        repo: &gix::Repository,
        url: &str,
        shown: &str,
        worker: &super::net::Worker,
        earlier: Option<Session>,
    ) -> Result<Session> {
        if let Some(mut session) = earlier {
            session.reused = true;
            return Ok(session);
        }
        let (mut transport, mut auth) = connect(repo, url, shown)?;
        worker.activity.bump();
        let handshake = gix::protocol::handshake(
            &mut transport,
            gix::protocol::transport::Service::UploadPack,
            &mut auth,
            vec![],
            &mut worker.progress(),
        )
        .map_err(|e| fetch_error(shown, e))?;
        worker.activity.bump();
        Ok(Session { transport, handshake, reused: false })
    }

    /// Runs `step` on `earlier` (or a new session), once more on a new one when a reused session
    /// fails (its server may have dropped what it kept of it), unless the worker was told to stop.
    fn run<T>(
        repo: &gix::Repository,
        url: &str,
        shown: &str,
        worker: &super::net::Worker,
        earlier: Option<Session>,
        step: &mut dyn FnMut(&mut Session) -> Result<T>,
    ) -> Result<(T, Option<Session>)> {
        let mut session = Session::open(repo, url, shown, worker, earlier)?;
        let result = match step(&mut session) {
            Err(_) if session.reused && !worker.cancel.load(std::sync::atomic::Ordering::SeqCst) => {
                session = Session::open(repo, url, shown, worker, None)?;
                step(&mut session)
            }
            result => result,
        };
        let value = result?;
        if session.reusable() {
            return Ok((value, Some(session)));
        }
        if session.handshake.server_protocol_version == gix::protocol::transport::Protocol::V2 {
            let _ = gix::protocol::indicate_end_of_interaction(&mut session.transport, false);
        }
        Ok((value, None))
    }
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
                received: 0.into(),
                session: Default::default(),
            });
        }
        // Every remote URL (an added one, a registry, one read from a cloned home) comes here.
        super::check_no_credentials(fetch_url)?;
        let dir = cache_dir(cache_root, fetch_url);
        let lock = dir.with_extension("lock");
        crate::home::repo::check_repository(&dir)?;
        let repo = match gix::open(&dir) {
            Ok(r) => r,
            Err(_) => {
                // Two atk (or two fetch threads) may create it at once: the lock decides who does.
                std::fs::create_dir_all(cache_root.join("git"))
                    .ctx(|| format!("cannot create {}", cache_root.display()))?;
                let _held = lock_file(&lock, shown, &|| None)?;
                match gix::open(&dir) {
                    Ok(r) => r,
                    Err(_) => {
                        // Not a repository while we hold the lock: a killed atk's half-made one.
                        if std::fs::symlink_metadata(&dir).is_ok() {
                            std::fs::remove_dir_all(&dir)
                                .ctx(|| format!("cannot remove the broken cache repository {}", dir.display()))?;
                        }
                        gix::init_bare(&dir).map_err(|e| {
                            Error::other(format!("cannot create the cache repository {}: {e}", dir.display()))
                        })?
                    }
                }
            }
        };
        Ok(Repo {
            repo,
            remote: Some(fetch_url.into()),
            shown: shown.into(),
            cache_lock: Some(lock),
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
        let (repo, url, shown) = (self.repo.clone(), url.clone(), self.shown.clone());
        let earlier = self.take_session();
        let (head, session) = super::net::bounded(&self.shown, move |worker| {
            Session::run(&repo, &url, &shown, worker, earlier, &mut |session| {
                let refs = match session.handshake.refs.clone() {
                    Some(refs) => refs, // protocol v1: the handshake listed them
                    None => {
                        let mut prefixes = gix::protocol::ls_refs::RefPrefixes::new();
                        prefixes.extend([gix::bstr::BString::from("HEAD")]);
                        gix::protocol::LsRefsCommand::new(
                            Some(prefixes),
                            &session.handshake.capabilities,
                            ("agent", Some(format!("atk/{}", env!("CARGO_PKG_VERSION")))),
                        )
                        .invoke_blocking(&mut session.transport, &mut worker.progress(), false)
                        .map_err(|e| fetch_error(&shown, e))?
                    }
                };
                worker.activity.bump();
                for r in &refs {
                    let (name, target, peeled) = r.unpack();
                    if name == "HEAD" {
                        if let Some(id) = peeled.or(target) {
                            return Ok(Some(id.to_owned()));
                        }
                    }
                }
                Ok(None)
            })
        })?;
        self.keep_session(session);
        if let Some(id) = head {
            return Ok(id);
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
        let lock = self.lock()?;
        if !self.has(&commit) {
            self.fetch(lock.as_ref().map(Held::file), &[commit], true)?;
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
            if let Err(e) = self.fetch(lock.as_ref().map(Held::file), &missing, false) {
                // A server that refuses wants by blob id: take the whole tree of the commit instead.
                if matches!(e, Error::Interrupted | Error::NetStalled { .. }) {
                    return Err(e);
                }
                self.fetch(lock.as_ref().map(Held::file), &[commit], false)?;
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
                // A crafted tree can nest folders until the stack runs out; no plugin needs this.
                if rel.matches('/').count() + 1 >= MAX_TREE_DEPTH {
                    return Err(Error::refused(
                        format!(
                            "{} nests folders more than {MAX_TREE_DEPTH} deep (at {})",
                            self.shown,
                            crate::text::escape(&rel.chars().take(120).collect::<String>())
                        ),
                        vec!["the plugin cannot be installed safely; report it to its maintainers".into()],
                    ));
                }
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
        dest.batch(|| {
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
            })
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

    /// Takes the cache repository's lock. Whoever holds it is the only one changing the
    /// repository, so what a killed fetch left there (git's lock files, temporary packs) is
    /// stale, and cleared now: otherwise every later fetch of this source would fail.
    fn lock(&self) -> Result<Option<Held>> {
        let Some(path) = self.cache_lock.as_deref() else { return Ok(None) };
        // A transfer of this run that was given up on still holds the lock: waiting for it would
        // wait for the very stall the timeout ended (checked again while waiting, for a transfer
        // of another thread given up on meanwhile).
        let stalled = || abandoned(path).map(|seconds| Error::NetStalled { url: self.shown.clone(), seconds });
        let file = lock_file(path, &self.shown, &stalled)?;
        clear_stale_cache_files(self.repo.path())?;
        Ok(Some(file))
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
    /// server supports it; returns whether the filter was used. The network part runs on a worker
    /// thread bounded by the stall timeout and Ctrl-C (see `net`); it holds a clone of the cache
    /// `lock` for as long as it runs, even when given up on.
    fn fetch(&self, lock: Option<&std::fs::File>, wants: &[ObjectId], commit_only: bool) -> Result<bool> {
        let url = self.remote.clone().expect("only remote sources fetch");
        let held = lock.map(|f| f.try_clone()).transpose().ctx(|| "cannot share the cache lock".into())?;
        let (repo, shown, wants) = (self.repo.clone(), self.shown.clone(), wants.to_vec());
        let earlier = self.take_session();
        let ((filtered, received), session) = super::net::bounded(&self.shown, move |worker| {
            let _held = held;
            Session::run(&repo, &url, &shown, worker, earlier, &mut |session| {
                fetch_now(&repo, session, &shown, &wants, commit_only, worker)
            })
        })
        .inspect_err(|e| {
            if let (Error::NetStalled { seconds, .. }, Some(path)) = (e, self.cache_lock.as_deref()) {
                ABANDONED.lock().expect("not poisoned").push((path.to_path_buf(), *seconds));
            }
        })?;
        self.keep_session(session);
        self.received.set(self.received.get() + received);
        Ok(filtered)
    }
}

/// Connects to the remote for fetching. For ssh, unless the user configured an ssh command
/// (`core.sshCommand`, `GIT_SSH_COMMAND`, `GIT_SSH`), ssh itself gets a connect timeout and
/// keep-alives from the stall timeout, so it never hangs for ever on its own either; http(s) gets
/// the stall timeout as its connect timeout.
fn connect(
    repo: &gix::Repository,
    fetch_url: &str,
    shown: &str,
) -> Result<(Transport, gix::remote::AuthenticateFn<'static>)> {
    use gix::protocol::transport::client::blocking_io::{connect, ssh};
    let remote = repo.remote_at(fetch_url).map_err(|e| fetch_error(shown, e))?;
    let (url, version) =
        remote.sanitized_url_and_version(gix::remote::Direction::Fetch).map_err(|e| fetch_error(shown, e))?;
    let mut ssh_options = ssh::connect::Options::default();
    if url.scheme == gix::url::Scheme::Ssh {
        ssh_options = repo.ssh_connect_options().map_err(|e| fetch_error(shown, e))?;
        if ssh_options.command.is_none() && ssh_options.kind.is_none() {
            let seconds = super::net::timeout().as_secs().max(1);
            ssh_options.command = Some(
                format!(
                    "ssh -o ConnectTimeout={seconds} -o ServerAliveInterval={} -o ServerAliveCountMax=3",
                    seconds.div_ceil(3)
                )
                .into(),
            );
            ssh_options.kind = Some(ssh::ProgramKind::Ssh);
            ssh_options.disallow_shell = false; // the options need splitting: run it as git does
        }
    }
    let mut transport: Transport = connect::connect(url, connect::Options { version, ssh: ssh_options, trace: false })
        .map_err(|e| fetch_error(shown, e))?;
    let mut con = remote.to_connection_with_transport(&mut transport);
    // The transport's options from git's configuration (for http(s): proxies, `http.sslCAInfo`, …).
    if let Some(mut options) = repo.transport_options(fetch_url, None).map_err(|e| fetch_error(shown, e))? {
        // http(s): libcurl waits minutes for a connection by default; give it the stall timeout,
        // unless `gitoxide.http.connectTimeout` says otherwise.
        use gix::protocol::transport::client::blocking_io::http;
        if let Some(http) = options.downcast_mut::<http::Options>() {
            http.connect_timeout.get_or_insert_with(super::net::timeout);
        }
        con.transport_mut().configure(&*options).map_err(|e| fetch_error(shown, e))?;
    }
    let auth = con.configured_credentials_for_current_url();
    // Dropped, the connection would end the interaction on the transport (a flush packet) before
    // it began; it owns nothing on the heap (the transport is borrowed), so forgetting leaks nothing.
    std::mem::forget(con);
    Ok((transport, auth))
}

/// The network part of `Repo::fetch`, on the worker thread, over `session`: returns whether the
/// filter was used and the bytes of pack received.
fn fetch_now(
    repo: &gix::Repository,
    session: &mut Session,
    shown: &str,
    wants: &[ObjectId],
    commit_only: bool,
    worker: &super::net::Worker,
) -> Result<(bool, u64)> {
    use gix::protocol::fetch::{Arguments, Context, Negotiate, Options, Shallow, Tags};

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
    let shallow_file = repo.shallow_file().map_err(|e| fetch_error(shown, e))?;
    let pack_dir = repo.objects.store_ref().path().join("pack");
    let objects = repo.objects.clone();
    let hash = repo.object_hash();
    let mut received = 0;
    let activity = &worker.activity;
    let result = gix::protocol::fetch(
        &mut negotiate,
        |reader, progress, should_interrupt| {
            let mut counting = CountingRead { inner: reader, count: 0, activity };
            let mut outcome = gix::odb::pack::Bundle::write_to_directory(
                &mut counting,
                Some(&pack_dir),
                progress,
                should_interrupt,
                Some(objects),
                hash,
                Default::default(),
            )?;
            received = counting.count;
            if let Some(keep) = outcome.keep_path.take() {
                let _ = std::fs::remove_file(keep);
            }
            Ok(true)
        },
        worker.progress(),
        &worker.cancel,
        Context {
            handshake: &mut session.handshake,
            transport: &mut session.transport,
            user_agent: ("agent", Some(format!("atk/{}", env!("CARGO_PKG_VERSION")))),
            trace_packetlines: false,
        },
        Options { shallow_file, shallow: &shallow, tags: Tags::None, reject_shallow_remote: false },
    );
    result.map_err(|e| fetch_error(shown, e))?;
    Ok((negotiate.filtered, received))
}

/// Cache locks still held by transfers this process gave up on (with the timeout that ended them).
static ABANDONED: std::sync::Mutex<Vec<(PathBuf, u64)>> = std::sync::Mutex::new(Vec::new());

fn abandoned(path: &Path) -> Option<u64> {
    ABANDONED.lock().expect("not poisoned").iter().find(|(p, _)| p == path).map(|(_, s)| *s)
}

/// Waits for and takes the cache lock at `path` of the source `shown` (released when the file is
/// dropped). Another atk holds it only while it fetches (bounded by the network timeout); the wait
/// is bounded by the lock timeout, and Ctrl-C or `give_up` ends it.
fn lock_file(path: &Path, shown: &str, give_up: &dyn Fn() -> Option<Error>) -> Result<Held> {
    if let Some(e) = give_up() {
        return Err(e);
    }
    let timeout = crate::fs::lock::timeout();
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

/// Counts the bytes of a pack as it is read.
struct CountingRead<'a> {
    inner: &'a mut dyn std::io::BufRead,
    count: u64,
    activity: &'a super::net::Activity,
}

impl std::io::Read for CountingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.saw(n);
        Ok(n)
    }
}

impl std::io::BufRead for CountingRead<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.saw(amt);
        self.inner.consume(amt)
    }
}

impl CountingRead<'_> {
    fn saw(&mut self, n: usize) {
        self.count += n as u64;
        if n > 0 {
            self.activity.bump();
            // The shallow file is locked and a temporary pack is open: a kill here is the worst.
            crate::failpoint::hit("fetch");
        }
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

    /// Raw object bytes, written as they are (names are not checked, as a forge would not).
    struct Raw(gix::object::Kind, Vec<u8>);

    impl gix::objs::WriteTo for Raw {
        fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            out.write_all(&self.1)
        }
        fn kind(&self) -> gix::object::Kind {
            self.0
        }
        fn size(&self) -> u64 {
            self.1.len() as u64
        }
    }

    /// A small deterministic random source (xorshift), so that a failing case can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() % items.len() as u64) as usize]
        }
    }

    const NAMES: &[&str] = &["a", "b", "c", "d", "ok", "sub"];
    const HOSTILE_NAMES: &[&str] = &[
        "..",
        ".",
        "",
        ".git",
        ".GIT",
        "a/b",
        "../x",
        "../../../../escaped",
        "x\\y",
        "/ABS/escaped-abs",
        "d/../../escaped",
    ];
    const TARGETS: &[&str] = &[
        ".",
        "..",
        "../..",
        "a",
        "b",
        "d",
        "sub",
        "b/b/b/b/../../../..",
        "d/../..",
        "/etc",
        "missing/../..",
        "a/../b",
        "sub/../../..",
        "ok/../../x",
        "b/b",
        "",
    ];

    /// A random tree (at most `depth` levels) written into `repo`; `abs` replaces `/ABS`.
    fn random_tree(repo: &gix::Repository, rng: &mut Rng, depth: u32, abs: &str) -> ObjectId {
        let mut bytes = Vec::new();
        for _ in 0..1 + rng.next() % 6 {
            let pool = if rng.next().is_multiple_of(12) { HOSTILE_NAMES } else { NAMES };
            let name = rng.pick(pool).replace("/ABS", abs);
            let (mode, id) = match rng.next() % 4 {
                0 if depth > 0 => ("40000", random_tree(repo, rng, depth - 1, abs)),
                1 => ("120000", repo.write_blob(rng.pick(TARGETS).as_bytes()).unwrap().detach()),
                2 => ("100755", repo.write_blob(b"#!/bin/sh\n").unwrap().detach()),
                _ => ("100644", repo.write_blob(b"data").unwrap().detach()),
            };
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        repo.write_object(Raw(gix::object::Kind::Tree, bytes)).unwrap().detach()
    }

    /// Every path below `dir` with what it is (and a file's content, a link's target).
    fn listing(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in walkdir::WalkDir::new(dir).min_depth(1).into_iter().filter_entry(|e| e.path() != skip) {
            let e = e.unwrap();
            let p = e.path().to_path_buf();
            let what = if e.file_type().is_dir() {
                b"dir".to_vec()
            } else if e.path_is_symlink() {
                std::fs::read_link(&p).unwrap().as_os_str().as_encoded_bytes().to_vec()
            } else {
                std::fs::read(&p).unwrap()
            };
            out.push((p, what));
        }
        out.sort();
    }

    /// Property: whatever a tree holds (hostile names, links, chains, duplicates), materializing
    /// it creates and removes nothing outside the destination, and every link that is left
    /// resolves inside it.
    #[test]
    fn hostile_trees_never_reach_outside_the_destination() {
        let base = tempfile::tempdir().unwrap();
        let base = base.path().canonicalize().unwrap();
        let objects = tempfile::tempdir().unwrap();
        let src = objects.path().join("source.git");
        let repo = gix::init_bare(&src).unwrap();
        std::fs::create_dir_all(base.join("box/stage")).unwrap();
        std::fs::write(base.join("sentinel"), b"keep").unwrap();
        std::fs::write(base.join("box/sentinel"), b"keep").unwrap();
        let source = Repo::open(src.to_str().unwrap(), "test source", &objects.path().join("cache")).unwrap();
        let (mut refused, mut accepted) = (0, 0);
        let abs = base.to_string_lossy().to_string();
        // The attacks found by hand come first: a chain through `b -> .`, the same chain followed
        // by a folder of the link's name, and a name that walks up.
        let entry = |mode: &str, name: &str, id: ObjectId| {
            let mut e = format!("{mode} {name}\0").into_bytes();
            e.extend_from_slice(id.as_bytes());
            e
        };
        let blob = |data: &str| repo.write_blob(data.as_bytes()).unwrap().detach();
        let tree =
            |entries: Vec<Vec<u8>>| repo.write_object(Raw(gix::object::Kind::Tree, entries.concat())).unwrap().detach();
        let inner = tree(vec![entry("100644", "pwned", blob("x"))]);
        let known = [
            tree(vec![entry("120000", "b", blob(".")), entry("120000", "d", blob("b/b/b/b/../../../.."))]),
            tree(vec![
                entry("120000", "b", blob(".")),
                entry("120000", "d", blob("b/b/b/b/../../../..")),
                entry("40000", "d", inner),
            ]),
            tree(vec![entry("100644", "../../escaped", blob("x"))]),
            tree(vec![entry("100644", &format!("{abs}/escaped"), blob("x"))]),
        ];
        for seed in 1..=300u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let plugin = match known.get(seed as usize - 1) {
                Some(t) => *t,
                None => random_tree(&repo, &mut rng, 2, &abs),
            };
            let mut root = Vec::from(b"40000 p\0".as_slice());
            root.extend_from_slice(plugin.as_bytes());
            let tree = repo.write_object(Raw(gix::object::Kind::Tree, root)).unwrap().detach();
            let commit = format!("tree {tree}\nauthor t <t@t> 0 +0000\ncommitter t <t@t> 0 +0000\n\ncase {seed}\n");
            let commit = repo.write_object(Raw(gix::object::Kind::Commit, commit.into_bytes())).unwrap().detach();

            let stage = base.join("box/stage/plugin");
            let mut before = Vec::new();
            listing(&base, &stage, &mut before);
            std::fs::create_dir(&stage).unwrap();
            let result = source.materialize(commit, "p", &Root::open(&stage).unwrap());
            let mut after = Vec::new();
            listing(&base, &stage, &mut after);
            assert_eq!(before, after, "case {seed} changed something outside the destination");
            if result.is_ok() {
                accepted += 1;
                let mut inside = Vec::new();
                listing(&stage, Path::new("/nonexistent"), &mut inside);
                for (p, _) in inside {
                    if std::fs::symlink_metadata(&p).unwrap().is_symlink() {
                        if let Ok(real) = std::fs::canonicalize(&p) {
                            assert!(
                                real.starts_with(&stage),
                                "case {seed}: {} leads to {}",
                                p.display(),
                                real.display()
                            );
                        }
                    }
                }
            } else {
                refused += 1;
            }
            std::fs::remove_dir_all(&stage).unwrap();
        }
        // The generator must exercise both outcomes, or the property says nothing.
        assert!(refused > 50 && accepted > 20, "refused {refused}, accepted {accepted}");
    }

    /// A tree nested 20,000 deep is refused, not a stack overflow.
    #[test]
    fn trees_nested_too_deep_are_refused() {
        let objects = tempfile::tempdir().unwrap();
        let src = objects.path().join("source.git");
        let repo = gix::init_bare(&src).unwrap();
        let mut id = repo.write_blob(b"x").unwrap().detach();
        let mut mode = "100644";
        for _ in 0..20_000 {
            let mut entry = format!("{mode} d\0").into_bytes();
            entry.extend_from_slice(id.as_bytes());
            id = repo.write_object(Raw(gix::object::Kind::Tree, entry)).unwrap().detach();
            mode = "40000";
        }
        let mut root = Vec::from(b"40000 p\0".as_slice());
        root.extend_from_slice(id.as_bytes());
        let tree = repo.write_object(Raw(gix::object::Kind::Tree, root)).unwrap().detach();
        let commit = format!("tree {tree}\nauthor t <t@t> 0 +0000\ncommitter t <t@t> 0 +0000\n\ndeep\n");
        let commit = repo.write_object(Raw(gix::object::Kind::Commit, commit.into_bytes())).unwrap().detach();
        let source = Repo::open(src.to_str().unwrap(), "deep source", &objects.path().join("cache")).unwrap();
        let dest = tempfile::tempdir().unwrap();
        for result in [
            source.ensure_paths(commit, &["p"]).map(|_| ()),
            source.list_files(commit, "p").map(|_| ()),
            source.materialize(commit, "p", &Root::open(dest.path()).unwrap()).map(|_| ()),
        ] {
            let e = result.unwrap_err();
            assert!(matches!(e, Error::Refused { .. }) && e.to_string().contains("more than 256 deep"), "{e}");
        }
    }
}
