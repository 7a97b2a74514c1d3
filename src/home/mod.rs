//! The ATK Home: a git repository with `manifest.yaml`, `.gitignore` and `plugins/`. Locating,
//! creating and validating it, its lock, and the transactions that change it.

pub mod gitignore;
pub mod lock;
pub mod manifest;
pub mod message;
pub mod replace;
pub mod repo;
pub mod state;
pub mod transaction;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use lock::HomeLock;

/// A home whose lock this process holds, as one value: what changes the home takes one of these
/// (a [`Transaction`] cannot begin without it). Reads go through it as through the [`Home`].
pub struct Locked {
    home: Home,
    _lock: HomeLock,
    push_due: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Locked {
    /// Becomes true when a transaction of this lock committed with `auto_push` on: the push is
    /// the caller's, once it has let go of the lock (a remote that does not answer must not keep
    /// another atk waiting for it).
    pub fn push_due(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.push_due.clone()
    }

    /// Lets go of the lock; the home stays open for reading.
    pub fn unlock(self) -> Home {
        self.home
    }
}

impl std::ops::Deref for Locked {
    type Target = Home;
    fn deref(&self) -> &Home {
        &self.home
    }
}
pub use manifest::{Entry, Manifest, Source, SourceKind};
pub use message::Message;
pub use transaction::{Recovered, Transaction};

use crate::error::{Error, IoContext, Result};
pub use crate::fs::expand_tilde;
use crate::fs::{RelPath, Root};

pub const INIT_MESSAGE: &str = "Initialize ATK Home";

pub struct Home {
    pub root: PathBuf,
    /// The home's folder: every change to its files goes through it.
    pub files: Root,
}

/// A folder in the staging area (inside the home's `.git/atk/`, on the same file system as
/// `plugins/`, so the final move is a rename) that holds one plugin's files, in `plugin/`.
/// Removed when dropped.
pub struct Staging {
    _guard: tempfile::TempDir,
    /// The staging folder itself, which holds [`Staging::NAME`].
    pub outer: Root,
    /// The plugin's files.
    pub files: Root,
}

impl Staging {
    pub const NAME: &'static str = "plugin";

    /// The plugin folder's name inside [`Staging::outer`].
    pub fn name() -> RelPath {
        RelPath::new(Self::NAME).expect("a plain name")
    }

    pub fn path(&self) -> &Path {
        self.files.path()
    }
}

/// `plugins/<directory>` as a path of the home.
pub fn plugin_rel(directory: &str) -> Result<RelPath> {
    RelPath::new("plugins")
        .expect("a plain name")
        .join(directory)
        .map_err(|e| Error::Manifest { path: manifest::FILE.into(), detail: format!("the plugin folder {e}") })
}

/// Refuses a home whose folder `rel` (relative to it: `plugins`, a plugin's folder, atk's own
/// [`STATE_DIR`]) is a symbolic link or not a folder: atk would read, write, move or delete
/// through it. (`Error::Other`, exit 1: the home is refused as it is, not a path a source brought.)
fn refuse_link(root: &Path, rel: &str) -> Result<()> {
    let path = root.join(rel);
    let md = match std::fs::symlink_metadata(&path) {
        Ok(md) if !md.is_dir() => md,
        _ => return Ok(()),
    };
    let link = md.file_type().is_symlink();
    let (message, hints) = if rel == STATE_DIR {
        // The recovery and every transaction move and delete there, and would do it wherever a
        // link leads.
        (
            format!(
                "{} is {}; atk keeps its own state there and never moves, writes or deletes through one",
                path.display(),
                if link { "a symbolic link" } else { "not a folder" }
            ),
            vec![format!("remove it (`rm {}`): atk makes the folder again", path.display())],
        )
    } else if link {
        (
            format!(
                "{} is a symbolic link (to {}); atk never writes through one",
                path.display(),
                std::fs::read_link(&path)
                    .map(|t| crate::text::escape(&t.to_string_lossy()).into_owned())
                    .unwrap_or_default()
            ),
            vec![
                format!("replace it with a real folder: `rm {0} && mkdir {0}`", path.display()),
                "then `atk install --all` puts the plugins back from their pinned commits".into(),
            ],
        )
    } else {
        (format!("{} is not a folder", path.display()), vec![format!("move it away: `mv {} /tmp/`", path.display())])
    };
    Err(Error::Other { message, hints })
}

/// atk's own folder in a home's repository.
const STATE_DIR: &str = ".git/atk";

/// What is missing for `path` to be a home (empty when it is one).
pub fn problems(path: &Path) -> Vec<String> {
    let mut p = Vec::new();
    // Whatever is there (a FIFO, a link) makes it a home whose manifest the read refuses by name.
    if path.join(manifest::FILE).symlink_metadata().is_err() {
        p.push("no manifest.yaml".to_string());
    }
    if !path.join(".git").is_dir() {
        p.push("no .git directory".to_string());
    }
    p
}

impl Home {
    /// Opens the home at `root`; `NoHome` when there is none.
    pub fn open(root: PathBuf) -> Result<Home> {
        if !root.is_dir() || !problems(&root).is_empty() {
            return Err(Error::NoHome { path: root });
        }
        refuse_link(&root, "plugins")?;
        refuse_link(&root, STATE_DIR)?;
        let files = Root::open(&root)?;
        // A fresh clone has no plugins/ when no plugin has tracked files: it is created on demand.
        let plugins = RelPath::new("plugins").expect("a plain name");
        if !files.exists(&plugins) {
            files.create_dir(&plugins)?;
        }
        Ok(Home { root, files })
    }

    /// Creates a home at `root` (an absent or empty directory). `Ok(false)` when it is one already.
    pub fn init(root: &Path) -> Result<bool> {
        if root.exists() {
            if !root.is_dir() {
                return Err(Error::NotAHome {
                    path: root.into(),
                    problems: vec!["it is a file, not a directory".into()],
                });
            }
            if problems(root).is_empty() {
                return Ok(false);
            }
            let mut entries = std::fs::read_dir(root).ctx(|| format!("cannot read {}", root.display()))?;
            if entries.next().is_some() {
                let mut p = vec!["the directory is not empty".to_string()];
                p.extend(problems(root));
                return Err(Error::NotAHome { path: root.into(), problems: p });
            }
        }
        // Built beside the target and renamed into place, so that a kill half-way leaves no
        // half-made home (and no git lock file in one) where the next `atk init` would look.
        let parent = match root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).ctx(|| format!("cannot create {}", parent.display()))?;
        let mode = std::fs::metadata(root).map(|m| m.permissions()).ok();
        // What an `init` of this same home that was killed left beside it goes first.
        let prefix = format!(".atk-init-{}.", root.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        for stale in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            let is_dir = stale.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && stale.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = crate::fs::remove_any(&stale.path());
            }
        }
        let build = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&parent)
            .ctx(|| format!("cannot create a folder in {}", parent.display()))?;
        let tmp = build.path();
        std::fs::create_dir(tmp.join("plugins")).ctx(|| format!("cannot create {}", tmp.display()))?;
        crate::fs::write_atomic(&tmp.join(manifest::FILE), Manifest::new().to_yaml().as_bytes(), None)?;
        crate::fs::write_atomic(&tmp.join(gitignore::FILE), gitignore::TEMPLATE.as_bytes(), None)?;
        repo::init(tmp)?;
        // A trailer of its own makes the first commit of every home unique, even two made in the
        // same second by the same user: backups are kept per home under that commit's id.
        let id = {
            use sha2::Digest;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let seed = format!("{}\n{}\n{}", now.as_nanos(), std::process::id(), tmp.display());
            let digest = sha2::Sha256::digest(seed.as_bytes());
            digest[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        repo::commit_paths(
            &repo::open_to_commit(tmp)?,
            &[manifest::FILE.into(), gitignore::FILE.into()],
            &format!("{INIT_MESSAGE}\n\nAtk-Home-Id: {id}\n"),
        )?;
        crate::failpoint::hit("init");
        use std::os::unix::fs::PermissionsExt;
        let perms = mode.unwrap_or_else(|| std::fs::Permissions::from_mode(0o755));
        std::fs::set_permissions(tmp, perms).ctx(|| format!("cannot write {}", tmp.display()))?;
        // An empty directory at `root` is replaced by the rename.
        std::fs::rename(tmp, root).ctx(|| format!("cannot create {}", root.display()))?;
        std::mem::forget(build);
        Ok(true)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// atk's own folder `path` in [`Home::state_dir`] (the transaction folder, the trash, the
    /// staging area), made when missing, opened as a [`Root`]. Whatever else is there is removed
    /// first (the folder is atk's alone): a link there would carry atk's moves and deletes out of
    /// the home, and removing a link touches nothing it leads to.
    pub fn own_folder(&self, path: &Path) -> Result<Root> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
            crate::fs::remove_any(path)?;
        }
        let state = self.state_dir();
        std::fs::create_dir_all(&state).ctx(|| format!("cannot create {}", state.display()))?;
        match std::fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
        Root::open_no_link(path)
    }
    fn lock_path(&self) -> PathBuf {
        self.state_dir().join("lock")
    }
    pub fn journal_path(&self) -> PathBuf {
        self.state_dir().join("journal.jsonl")
    }
    pub fn txn_dir(&self) -> PathBuf {
        self.state_dir().join("txn")
    }
    /// Where a rollback puts the folders it removes, emptied by every atk that takes the lock.
    pub fn trash_dir(&self) -> PathBuf {
        self.state_dir().join("trash")
    }
    pub fn staging_root(&self) -> PathBuf {
        self.state_dir().join("staging")
    }

    pub fn plugin_dir(&self, directory: &str) -> PathBuf {
        self.root.join("plugins").join(directory)
    }

    /// A file at the top of the home (`manifest.yaml`, `.gitignore`), read without following a
    /// link: a cloned home may commit one that points at a file outside it, whose content would
    /// otherwise be written back into the home and committed (and pushed).
    pub fn read_top_file(&self, name: &str) -> Result<Option<String>> {
        let rel = RelPath::new(name).expect("a plain name");
        match self.files.kind(&rel)? {
            None => Ok(None),
            // A FIFO, a device, a huge file: refused by the read, saying what it is.
            Some(crate::fs::Kind::File { .. } | crate::fs::Kind::Other) => {
                let bytes = self.files.read(&rel, crate::fs::Cap::Manifest)?;
                String::from_utf8(bytes).map(Some).map_err(|_| Error::Other {
                    message: format!("{} is not UTF-8 text", self.root.join(name).display()),
                    hints: vec![],
                })
            }
            Some(kind) => Err(Error::Other {
                message: format!(
                    "{} is not a plain file ({}); atk never reads or writes through one",
                    self.root.join(name).display(),
                    if kind == crate::fs::Kind::Dir { "a folder" } else { "a symbolic link" }
                ),
                hints: vec![format!(
                    "put the file itself there: `atk git checkout HEAD~ -- {name}` or restore it by hand"
                )],
            }),
        }
    }

    fn read_manifest(&self) -> Result<Manifest> {
        let path = Manifest::path(&self.root);
        let text = self
            .read_top_file(manifest::FILE)?
            .ok_or_else(|| Error::Manifest { path: path.clone(), detail: "the file is missing".into() })?;
        Manifest::parse(&text).map_err(|detail| Error::Manifest { path, detail })
    }

    /// The home's `.gitignore` (empty when there is none).
    pub fn gitignore_text(&self) -> Result<String> {
        Ok(self.read_top_file(gitignore::FILE)?.unwrap_or_default())
    }

    /// The manifest, once every plugin folder it names is checked: a cloned home may hold a
    /// committed link where a plugin folder should be.
    pub fn manifest(&self) -> Result<Manifest> {
        let manifest = self.read_manifest()?;
        for e in &manifest.plugins {
            refuse_link(&self.root, plugin_rel(&e.directory)?.as_str())?;
        }
        Ok(manifest)
    }

    /// Takes the home lock (waiting up to `timeout`), then rolls back any unfinished operation.
    /// Returns the locked home and the description of what was rolled back.
    pub fn lock(self, timeout: Duration, on_wait: &mut dyn FnMut()) -> Result<(Locked, Option<Recovered>)> {
        let lock = lock::acquire(&self.lock_path(), &self.root, timeout, on_wait)?;
        let recovered = transaction::recover(&self, &lock)?;
        Ok((Locked { home: self, _lock: lock, push_due: Default::default() }, recovered))
    }

    /// For read-only commands: rolls back an unfinished operation if its process is gone.
    pub fn recover_if_abandoned(&self) -> Result<Option<Recovered>> {
        if !self.journal_path().exists() && !self.state_dir().join("journal.json").exists() {
            return Ok(None);
        }
        match self.try_lock()? {
            Some(lock) => transaction::recover(self, &lock),
            None => Ok(None),
        }
    }

    /// The home lock, only if it is free right now.
    fn try_lock(&self) -> Result<Option<HomeLock>> {
        lock::try_acquire(&self.lock_path())
    }

    /// Whether another atk holds the home lock now (changing the home): the lock is not free, or
    /// cannot be taken at all.
    pub fn is_busy(&self) -> bool {
        !matches!(self.try_lock(), Ok(Some(_)))
    }

    /// A new staging folder with an empty `plugin/` folder in it.
    pub fn staging(&self) -> Result<Staging> {
        let guard = self.work_dir("stage-")?;
        let outer = Root::open(guard.path())?;
        outer.create_dir(&Staging::name())?;
        let files = outer.sub(&Staging::name())?;
        Ok(Staging { _guard: guard, outer, files })
    }

    /// A new folder of an operation's own in the staging area (named `<prefix>…`), where it builds
    /// what it puts in place; removed when dropped (what a killed atk left, the next one removes).
    pub fn work_dir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let root = self.staging_root();
        self.own_folder(&root)?;
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&root)
            .ctx(|| format!("cannot create a folder in {}", root.display()))
    }

    /// Writes the manifest inside a transaction.
    pub fn write_manifest(&self, tx: &mut Transaction, manifest: &Manifest) -> Result<()> {
        tx.write(&RelPath::new(manifest::FILE).expect("a plain name"), manifest.to_yaml().as_bytes(), None)
    }

    /// Writes `.gitignore` inside `tx`.
    pub fn write_gitignore(&self, tx: &mut Transaction, text: &str) -> Result<()> {
        tx.write(&RelPath::new(gitignore::FILE).expect("a plain name"), text.as_bytes(), None)
    }

    /// Commits `paths` when `auto_commit` is on; returns the commit. (Pushing happens after the
    /// transaction, since a push cannot be undone.)
    pub fn commit(
        &self,
        tx: &mut Transaction,
        manifest: &Manifest,
        paths: &[String],
        message: &Message,
    ) -> Result<Option<String>> {
        if !manifest.config.auto_commit {
            return Ok(None);
        }
        let commit = tx.commit(paths, message)?;
        tx.push_due |= commit.is_some() && manifest.config.auto_push;
        Ok(commit)
    }
}
