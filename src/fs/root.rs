//! A folder that atk writes below, and the only way it does: every write, rename and delete under a
//! plugin folder, a staging folder or the home goes through a [`Root`]. Paths are [`RelPath`]s, so
//! they are made of checked names, and they are walked one name at a time from an open folder
//! (`openat` and friends, through `rustix`): each folder on the way is opened with `O_NOFOLLOW`,
//! files are created with `O_EXCL`, and links are read or removed, never followed. A name can be
//! neither `..` nor contain `/`, so no step can leave the folder it starts from, and no link, not
//! even one the same operation created a moment earlier, can carry a write out of the root.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::name::{name_problem, RelPath};
use super::read::{self, Cap};
use crate::error::{Error, IoContext, Result};

/// What is at a path, without following a link there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File {
        executable: bool,
    },
    Dir,
    Link,
    /// A socket, a FIFO, a device.
    Other,
}

impl Kind {
    fn of(st: &rustix::fs::Stat) -> Kind {
        match FileType::from_raw_mode(st.st_mode as _) {
            FileType::Symlink => Kind::Link,
            FileType::Directory => Kind::Dir,
            FileType::RegularFile => Kind::File { executable: st.st_mode & 0o111 != 0 },
            _ => Kind::Other,
        }
    }
}

/// An open folder; everything below it is reached through it.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    /// Folders opened on the way, kept while [`Root::batch`] runs (`None` otherwise): a batch of
    /// thousands of files then opens each folder once. Every rename or removal through this root
    /// forgets what it touches; nothing else runs during a batch.
    opened: Mutex<Option<HashMap<RelPath, Arc<OwnedFd>>>>,
}

/// A folder below a root: the root itself, or one opened on the way.
enum DirFd<'a> {
    Root(BorrowedFd<'a>),
    Owned(Arc<OwnedFd>),
}

impl AsFd for DirFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            DirFd::Root(fd) => *fd,
            DirFd::Owned(fd) => fd.as_fd(),
        }
    }
}

/// Temporary files of [`Root::write_atomic`] get unique names within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The prefix of atk's temporary files; recovery removes what a killed run left.
pub const TEMP_PREFIX: &str = ".atk-tmp";

/// A fresh name for a temporary file: `.atk-tmp-<pid>-<n>`.
pub fn temp_name() -> String {
    format!("{TEMP_PREFIX}-{}-{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Whether `name` is one of [`temp_name`]'s (and not a file a plugin happens to ship).
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX).and_then(|r| r.strip_prefix('-')).and_then(|r| r.split_once('-')).is_some_and(
        |(pid, n)| !pid.is_empty() && !n.is_empty() && (pid.bytes().chain(n.bytes())).all(|b| b.is_ascii_digit()),
    )
}

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);
const NEW_FILE: OFlags =
    OFlags::WRONLY.union(OFlags::CREATE).union(OFlags::EXCL).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

fn os(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

/// A name as the system calls take it.
fn c(name: &str) -> &OsStr {
    OsStr::new(name)
}

/// Creates `name` in `dir` for writing; fails when anything (a link included) is there.
fn create_new(dir: &impl AsFd, name: &str, mode: u32) -> std::io::Result<std::fs::File> {
    rustix::fs::openat(dir, c(name), NEW_FILE, Mode::from_raw_mode(mode)).map(std::fs::File::from).map_err(os)
}

/// The identity of an open file: its device and inode.
fn id_of(fd: &impl AsFd) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd).map_err(os)?;
    Ok((st.st_dev as u64, st.st_ino as u64))
}

/// Gives the owner of the open folder `fd` the right to list it, enter it and change it, when it
/// lacks one (a lifecycle command may leave read-only folders, as Go's module cache is): without
/// them, what is inside cannot be removed. Not the owner: left as it is (the removal then says why).
fn make_owner_rwx(fd: &impl AsFd) {
    if let Ok(st) = rustix::fs::fstat(fd) {
        if st.st_mode & 0o700 != 0o700 {
            let _ = rustix::fs::fchmod(fd, Mode::from_raw_mode((st.st_mode & 0o7777) | 0o700));
        }
    }
}

/// Opens the folder `name` of `dir` for emptying it: never through a link, and a folder its owner
/// may not read (mode 0000, 0300) is given back its owner's rights first (through an `O_PATH`
/// handle on the folder itself, so a link swapped in meanwhile is not followed).
fn open_for_removal(dir: &impl AsFd, name: &OsStr) -> std::io::Result<OwnedFd> {
    let fd = match rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::ACCESS) => {
            let handle = rustix::fs::openat(dir, name, OFlags::PATH | OFlags::DIRECTORY | DIR_FLAGS, Mode::empty())
                .map_err(os)?;
            let st = rustix::fs::fstat(&handle).map_err(os)?;
            let at = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&handle));
            rustix::fs::chmod(at.as_str(), Mode::from_raw_mode((st.st_mode & 0o7777) | 0o700)).map_err(os)?;
            rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()).map_err(os)?
        }
        Err(e) => return Err(os(e)),
    };
    make_owner_rwx(&fd);
    Ok(fd)
}

/// Removes every entry of the open folder `fd` that is not a folder (files, links, FIFOs,
/// sockets, devices: unlinked, never opened or followed); returns the names of its folders.
fn clear_non_dirs(fd: &impl AsFd) -> std::io::Result<Vec<Vec<u8>>> {
    let mut dirs = Vec::new();
    for entry in rustix::fs::Dir::read_from(fd).map_err(os)? {
        let entry = entry.map_err(os)?;
        let n = entry.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        let name = OsStr::from_bytes(n);
        match rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode as _) == FileType::Directory => dirs.push(n.to_vec()),
            Ok(_) => match rustix::fs::unlinkat(fd, name, AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                // Became a folder meanwhile.
                Err(rustix::io::Errno::ISDIR) => dirs.push(n.to_vec()),
                Err(e) => return Err(os(e)),
            },
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(os(e)),
        }
    }
    Ok(dirs)
}

/// How many times a folder is listed again when something appeared in it while it was being
/// emptied (a process still writing there), before its removal gives up.
const REREADS: u32 = 8;

/// Removes the folder `name` of `dir` with everything in it, whatever a program left there:
/// links (removed, never followed: nothing outside is touched), FIFOs and sockets (unlinked, never
/// opened), read-only folders (their owner's rights are given back first), folders nested
/// arbitrarily deep (walked with one open folder at a time, climbing back through `..`, which is
/// checked to be the folder it came from).
fn remove_dir_all_at(dir: &impl AsFd, name: &OsStr) -> std::io::Result<()> {
    struct Level {
        name: Vec<u8>,
        /// The folder's identity, to check `..` against when coming back up from a subfolder.
        id: (u64, u64),
        /// Subfolders still to remove; `None`: not listed yet.
        pending: Option<Vec<Vec<u8>>>,
        rereads: u32,
    }
    let base = dir.as_fd().try_clone_to_owned()?;
    let base_id = id_of(&base)?;
    let mut cur = open_for_removal(&base, name)?;
    let mut levels = vec![Level { name: name.as_bytes().to_vec(), id: id_of(&cur)?, pending: None, rereads: 0 }];
    while let Some(top) = levels.len().checked_sub(1) {
        if levels[top].pending.is_none() {
            levels[top].pending = Some(clear_non_dirs(&cur)?);
        }
        if let Some(sub) = levels[top].pending.as_mut().and_then(Vec::pop) {
            match open_for_removal(&cur, OsStr::from_bytes(&sub)) {
                Ok(fd) => {
                    levels.push(Level { name: sub, id: id_of(&fd)?, pending: None, rereads: 0 });
                    cur = fd;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // Replaced by a file or a link meanwhile: the next listing removes it.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
                    levels[top].pending = None;
                }
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                    levels[top].pending = None;
                }
                Err(e) => return Err(e),
            }
            continue;
        }
        let mut level = levels.pop().expect("the top level");
        let (parent, parent_id) = match levels.last() {
            Some(up) => (rustix::fs::openat(&cur, c(".."), DIR_FLAGS, Mode::empty()).map_err(os)?, up.id),
            None => (base.try_clone()?, base_id),
        };
        if id_of(&parent)? != parent_id {
            return Err(std::io::Error::other("a folder was moved while it was being removed"));
        }
        match rustix::fs::unlinkat(&parent, OsStr::from_bytes(&level.name), AtFlags::REMOVEDIR) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => cur = parent,
            // Something was written into it meanwhile: list it again.
            Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST) if level.rereads < REREADS => {
                level.rereads += 1;
                level.pending = None;
                levels.push(level);
            }
            Err(e) => return Err(os(e)),
        }
    }
    Ok(())
}

/// Removes the file, link or folder at `path` with everything in it as [`Root::remove`] does
/// (folders on the way to `path` may be links: for paths atk owns outright); nothing there is fine.
pub(crate) fn remove_path(path: &Path) -> std::io::Result<()> {
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => (if p.as_os_str().is_empty() { Path::new(".") } else { p }, n),
        _ => return Err(std::io::Error::other("not a path to remove")),
    };
    let dir = match rustix::fs::open(parent, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(d) => d,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(os(e)),
    };
    match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode as _) == FileType::Directory => remove_dir_all_at(&dir, name),
        Ok(_) => match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(os(e)),
        },
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(os(e)),
    }
}

impl Root {
    /// Opens the existing folder `path` (the folder itself may be reached through a link; nothing
    /// below it is).
    pub fn open(path: &Path) -> Result<Root> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(os)
            .ctx(|| format!("cannot open {}", path.display()))?;
        Ok(Root { fd, path: path.to_path_buf(), opened: Mutex::new(None) })
    }

    /// Opens the existing folder `path` where a link at `path` itself is refused too (for a
    /// folder atk owns outright, such as its state under `.git/atk`: a link there would carry
    /// atk's moves and deletes out of the home).
    pub fn open_no_link(path: &Path) -> Result<Root> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty())
            .map_err(os)
            .ctx(|| format!("cannot open {}", path.display()))?;
        Ok(Root { fd, path: path.to_path_buf(), opened: Mutex::new(None) })
    }

    /// Runs `body` with the folders it opens kept open, for work on many files in a row (no
    /// other process may rename folders under the root meanwhile: no lifecycle command runs).
    pub fn batch<T>(&self, body: impl FnOnce() -> T) -> T {
        *self.opened.lock().expect("not poisoned") = Some(HashMap::new());
        let result = body();
        *self.opened.lock().expect("not poisoned") = None;
        result
    }

    /// Forgets the opened folders at or below `rel` (they were moved or removed).
    fn forget(&self, rel: &RelPath) {
        if let Some(map) = self.opened.lock().expect("not poisoned").as_mut() {
            map.retain(|k, _| !k.starts_with(rel));
        }
    }

    /// Creates the folder `path` and its parents when missing (for folders atk owns, such as the
    /// staging area), then opens it.
    pub fn create(path: &Path) -> Result<Root> {
        std::fs::create_dir_all(path).ctx(|| format!("cannot create {}", path.display()))?;
        Root::open(path)
    }

    /// The folder `rel` below this one, as a root of its own.
    pub fn sub(&self, rel: &RelPath) -> Result<Root> {
        let fd =
            self.open_dir(rel)?.as_fd().try_clone_to_owned().ctx(|| format!("cannot open {}", self.path.display()))?;
        Ok(Root { fd, path: self.abs(rel), opened: Mutex::new(None) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The absolute path of `rel`, for messages and for running commands in it.
    pub fn abs(&self, rel: &RelPath) -> PathBuf {
        if rel.is_root() {
            self.path.clone()
        } else {
            self.path.join(rel.as_str())
        }
    }

    fn io(&self, what: &str, rel: &RelPath) -> impl FnOnce() -> String + '_ {
        let what = what.to_string();
        let rel = rel.clone();
        move || format!("cannot {what} {}", self.abs(&rel).display())
    }

    /// The folder `rel`, reached one name at a time without following links (from the nearest
    /// folder a batch has open).
    fn open_dir(&self, rel: &RelPath) -> Result<DirFd<'_>> {
        let mut opened = self.opened.lock().expect("not poisoned");
        let names: Vec<&str> = rel.components().collect();
        let mut dir = DirFd::Root(self.fd.as_fd());
        let mut start = 0;
        if let Some(map) = opened.as_ref() {
            let mut prefix = rel.clone();
            for depth in (1..=names.len()).rev() {
                if let Some(fd) = map.get(&prefix) {
                    dir = DirFd::Owned(Arc::clone(fd));
                    start = depth;
                    break;
                }
                prefix = prefix.parent().unwrap_or_default();
            }
        }
        let mut walked = RelPath::new(&names[..start].join("/")).expect("components of a RelPath");
        for name in &names[start..] {
            walked = walked.join(name).expect("the components of a RelPath are names");
            dir = match rustix::fs::openat(&dir, c(name), DIR_FLAGS, Mode::empty()) {
                Ok(fd) => {
                    let fd = Arc::new(fd);
                    if let Some(map) = opened.as_mut() {
                        map.insert(walked.clone(), Arc::clone(&fd));
                    }
                    DirFd::Owned(fd)
                }
                Err(e) => {
                    if let Ok(st) = rustix::fs::statat(&dir, c(name), AtFlags::SYMLINK_NOFOLLOW) {
                        if Kind::of(&st) == Kind::Link {
                            return Err(self.link_in_the_way(&walked));
                        }
                    }
                    return Err(Error::io(format!("cannot open {}", self.abs(&walked).display()), os(e)));
                }
            };
        }
        Ok(dir)
    }

    fn link_in_the_way(&self, rel: &RelPath) -> Error {
        Error::unsafe_path(
            format!("{} is a symbolic link; atk never writes or reads through one", self.abs(rel).display()),
            vec!["replace the link with a real folder, or remove it".into()],
        )
    }

    /// The folder holding `rel`, and the last name of `rel`.
    fn parent<'r>(&self, rel: &'r RelPath) -> Result<(DirFd<'_>, &'r str)> {
        let parent = rel.parent().ok_or_else(|| Error::other("the root itself has no parent"))?;
        Ok((self.open_dir(&parent)?, rel.name()))
    }

    /// What is at `rel`, without following a link; `None` when nothing is (or a folder on the way
    /// is missing). A link on the way is an error.
    pub fn kind(&self, rel: &RelPath) -> Result<Option<Kind>> {
        if rel.is_root() {
            return Ok(Some(Kind::Dir));
        }
        let parent = rel.parent().expect("not the root");
        let dir = match self.open_dir(&parent) {
            Ok(d) => d,
            Err(Error::Io { source, .. })
                if matches!(source.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        match rustix::fs::statat(&dir, c(rel.name()), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Kind::of(&st))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {}", self.abs(rel).display()), os(e))),
        }
    }

    /// Whether anything (a link included) is at `rel`. A link on the way counts as something.
    pub fn exists(&self, rel: &RelPath) -> bool {
        !matches!(self.kind(rel), Ok(None))
    }

    /// The mode bits of the file or folder at `rel` (a link is not followed).
    pub fn mode(&self, rel: &RelPath) -> Result<u32> {
        let (dir, name) = self.parent(rel)?;
        let st = rustix::fs::statat(&dir, c(name), AtFlags::SYMLINK_NOFOLLOW).map_err(os).ctx(self.io("read", rel))?;
        Ok(st.st_mode & 0o7777)
    }

    /// The content of the regular file `rel`, read as [`super::read`] says, with no link on the
    /// way or at `rel` (a link is refused); a missing file is an error.
    pub fn read(&self, rel: &RelPath, cap: Cap) -> Result<Vec<u8>> {
        self.read_opt(rel, cap)?.ok_or_else(|| {
            Error::io(format!("cannot read {}", self.abs(rel).display()), std::io::ErrorKind::NotFound.into())
        })
    }

    /// [`Root::read`], `None` when nothing is at `rel` (or a folder on the way is missing).
    pub fn read_opt(&self, rel: &RelPath, cap: Cap) -> Result<Option<Vec<u8>>> {
        self.read_at(rel, &self.abs(rel), cap)
    }

    /// The content of the regular file `rel` (`None`: nothing is there), where links on the way
    /// and at `rel` are followed as long as they stay inside this root (a plugin may link its
    /// README to docs/README.md); a link that leads out to something is refused.
    pub fn read_inside(&self, rel: &RelPath, cap: Cap) -> Result<Option<Vec<u8>>> {
        let shown = self.abs(rel);
        let Some(real) = self.resolve(RelPath::root(), rel.components().map(String::from).collect()) else {
            // Nothing there (a link out to nothing, a file missing below a folder linked out) is
            // no file: only its existence is looked at, never what it is.
            if std::fs::metadata(&shown).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
                return Ok(None);
            }
            return Err(read::link_out(&shown, &self.path, cap));
        };
        if real.is_root() {
            return Err(read::refuse(&shown, cap, "it leads to its folder itself", "replace it with a regular file"));
        }
        self.read_at(&real, &shown, cap)
    }

    /// [`Root::read`], `None` when nothing is at `rel` (or a folder on the way is missing);
    /// messages name `shown`.
    fn read_at(&self, rel: &RelPath, shown: &Path, cap: Cap) -> Result<Option<Vec<u8>>> {
        let io = |e: rustix::io::Errno| Error::io(format!("cannot read {}", shown.display()), os(e));
        let (dir, name) = match self.parent(rel) {
            Ok(found) => found,
            Err(Error::Io { source, .. })
                if matches!(source.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                return Ok(None)
            }
            Err(e @ Error::UnsafePath { .. }) => {
                return Err(read::refuse(shown, cap, e.to_string(), "replace the link with a real folder"))
            }
            Err(e) => return Err(e),
        };
        match rustix::fs::statat(&dir, c(name), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => read::check(&st, shown, cap)?,
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        match rustix::fs::openat(&dir, c(name), read::READ_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => read::read_opened(fd, shown, cap).map(Some),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(rustix::io::Errno::LOOP) => Err(read::link_refused(shown, cap)),
            Err(e) => Err(io(e)),
        }
    }

    /// The target of the link `rel`, as written in it.
    pub fn read_link(&self, rel: &RelPath) -> Result<PathBuf> {
        let (dir, name) = self.parent(rel)?;
        let target =
            rustix::fs::readlinkat(&dir, c(name), Vec::new()).map_err(os).ctx(self.io("read the link", rel))?;
        Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
    }

    /// Creates the folder `rel`; its parent must exist, and nothing may be at `rel`.
    pub fn create_dir(&self, rel: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        rustix::fs::mkdirat(&dir, c(name), Mode::from_raw_mode(0o777)).map_err(os).ctx(self.io("create", rel))
    }

    /// Creates the folder `rel` and its missing parents; a link or a file on the way is an error.
    pub fn create_dir_all(&self, rel: &RelPath) -> Result<()> {
        let mut walked = RelPath::root();
        for name in rel.components() {
            walked = walked.join(name).expect("the components of a RelPath are names");
            match self.kind(&walked)? {
                Some(Kind::Dir) => {}
                Some(Kind::Link) => return Err(self.link_in_the_way(&walked)),
                Some(_) => {
                    return Err(Error::conflict(
                        format!("{} is in the way of a folder", self.abs(&walked).display()),
                        vec![],
                    ))
                }
                None => self.create_dir(&walked)?,
            }
        }
        Ok(())
    }

    /// Creates the file `rel` with `data` and `mode` (less the umask, as git checks files out);
    /// fails when anything is at `rel` already.
    pub fn write_new(&self, rel: &RelPath, data: &[u8], mode: u32) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        let mut file = create_new(&dir, name, mode).ctx(self.io("create", rel))?;
        file.write_all(data).ctx(self.io("write", rel))
    }

    /// Creates the file `rel` with `mode` (less the umask) and opens it for writing, for content
    /// too large to hold in memory; fails when anything (a link included) is at `rel`.
    pub fn create_file(&self, rel: &RelPath, mode: u32) -> Result<std::fs::File> {
        let (dir, name) = self.parent(rel)?;
        create_new(&dir, name, mode).ctx(self.io("create", rel))
    }

    /// Opens the regular file `rel` for reading, with no link on the way or at `rel`; anything
    /// but a regular file (a link, a FIFO, a device) is refused. Its size and mode come along,
    /// read from the open file.
    pub fn open_file(&self, rel: &RelPath) -> Result<(std::fs::File, u64, u32)> {
        let (dir, name) = self.parent(rel)?;
        let fd = rustix::fs::openat(&dir, c(name), read::READ_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .map_err(os)
            .ctx(self.io("open", rel))?;
        let st = rustix::fs::fstat(&fd).map_err(os).ctx(self.io("read", rel))?;
        if !matches!(Kind::of(&st), Kind::File { .. }) {
            return Err(Error::unsafe_path(
                format!("{} is not a regular file", self.abs(rel).display()),
                vec!["remove it or replace it with a regular file".into()],
            ));
        }
        // Reads block as usual from here on.
        rustix::fs::fcntl_setfl(&fd, OFlags::empty()).map_err(os).ctx(self.io("open", rel))?;
        Ok((std::fs::File::from(fd), st.st_size as u64, st.st_mode & 0o7777))
    }

    /// Writes `rel` through a temporary file beside it, renamed over it (a link at `rel` is
    /// replaced, never followed). The mode is `mode`, else the old file's, else 0644. The old
    /// file's owner and group are kept, and a new file takes its folder's when atk runs as root
    /// (see [`super::owner`]: under sudo, a user's manifest and `.env` stay the user's).
    pub fn write_atomic(&self, rel: &RelPath, data: &[u8], mode: Option<u32>) -> Result<()> {
        use super::owner::{self, Owner};
        let (dir, name) = self.parent(rel)?;
        let old =
            rustix::fs::statat(&dir, c(name), AtFlags::SYMLINK_NOFOLLOW).ok().filter(|st| Kind::of(st) != Kind::Link);
        let mode = mode.unwrap_or_else(|| old.as_ref().map_or(0o644, |st| st.st_mode & 0o7777));
        let wanted = match &old {
            Some(st) => Some(Owner { uid: st.st_uid, gid: st.st_gid }),
            None if owner::is_root() => rustix::fs::fstat(&dir).ok().map(|st| Owner { uid: st.st_uid, gid: st.st_gid }),
            None => None,
        };
        let tmp = temp_name();
        let written = (|| {
            let mut file = create_new(&dir, &tmp, 0o600)?;
            file.write_all(data)?;
            if let Some(o) = wanted {
                owner::give(&file, o)?;
            }
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).map_err(os)?;
            file.sync_all()?;
            rustix::fs::renameat(&dir, c(&tmp), &dir, c(name)).map_err(os)
        })();
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&dir, c(&tmp), AtFlags::empty());
        }
        written.ctx(self.io("write", rel))
    }

    /// Creates the link `rel` pointing at `target`, a relative path (see [`Root::link_escapes`]).
    pub fn symlink(&self, target: &Path, rel: &RelPath) -> Result<()> {
        if target.has_root() || target.as_os_str().is_empty() {
            return Err(Error::unsafe_path(
                format!("{} would link to {}, outside its folder", self.abs(rel).display(), target.display()),
                vec![],
            ));
        }
        let (dir, name) = self.parent(rel)?;
        rustix::fs::symlinkat(target.as_os_str(), &dir, c(name)).map_err(os).ctx(self.io("create the link", rel))
    }

    /// Moves `from` to `to` below `to_root` (the same file system); nothing may be at `to`.
    pub fn rename(&self, from: &RelPath, to_root: &Root, to: &RelPath) -> Result<()> {
        if to_root.exists(to) {
            return Err(Error::conflict(format!("cannot move to {}: it exists", to_root.abs(to).display()), vec![]));
        }
        self.forget(from);
        to_root.forget(to);
        let (from_dir, from_name) = self.parent(from)?;
        let (to_dir, to_name) = to_root.parent(to)?;
        rustix::fs::renameat(&from_dir, c(from_name), &to_dir, c(to_name))
            .map_err(os)
            .ctx(|| format!("cannot move {} to {}", self.abs(from).display(), to_root.abs(to).display()))
    }

    /// Removes the file, link or whole folder at `rel` (links inside are removed, never
    /// followed); nothing there is fine.
    pub fn remove(&self, rel: &RelPath) -> Result<()> {
        let Some(kind) = self.kind(rel)? else { return Ok(()) };
        self.forget(rel);
        let (dir, name) = self.parent(rel)?;
        match kind {
            Kind::Dir => remove_dir_all_at(&dir, c(name)),
            _ => rustix::fs::unlinkat(&dir, c(name), AtFlags::empty()).map_err(os),
        }
        .ctx(self.io("remove", rel))
    }

    /// Removes the folder `rel` if it is empty; whether it did.
    pub fn remove_empty_dir(&self, rel: &RelPath) -> bool {
        self.forget(rel);
        self.parent(rel).is_ok_and(|(dir, name)| rustix::fs::unlinkat(&dir, c(name), AtFlags::REMOVEDIR).is_ok())
    }

    /// Sets the mode of the regular file `rel`.
    pub fn set_mode(&self, rel: &RelPath, mode: u32) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        let fd = rustix::fs::openat(&dir, c(name), OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
            .map_err(os)
            .ctx(self.io("open", rel))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(os).ctx(self.io("change the mode of", rel))
    }

    /// The entries of the folder `rel`, sorted by name. A name that is not UTF-8 or could not be
    /// a path component is refused; `.git` is left out.
    pub fn entries(&self, rel: &RelPath) -> Result<Vec<(String, Kind)>> {
        let dir = self.open_dir(rel)?;
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir).map_err(os).ctx(self.io("read", rel))? {
            crate::error::check_interrupt()?;
            let entry = entry.map_err(os).ctx(self.io("read", rel))?;
            let raw = entry.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let Ok(name) = std::str::from_utf8(raw) else {
                return Err(Error::unsafe_path(
                    format!("{} holds a file whose name is not UTF-8", self.abs(rel).display()),
                    vec!["rename it".into()],
                ));
            };
            if name.eq_ignore_ascii_case(".git") {
                continue;
            }
            if let Some(why) = name_problem(name) {
                return Err(Error::unsafe_path(
                    format!("{}/{} has {why}", self.abs(rel).display(), crate::text::escape(name)),
                    vec!["rename it".into()],
                ));
            }
            let st =
                rustix::fs::statat(&dir, c(name), AtFlags::SYMLINK_NOFOLLOW).map_err(os).ctx(self.io("read", rel))?;
            out.push((name.to_string(), Kind::of(&st)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every file and link below the folder `rel` (folders themselves are not listed), paths
    /// relative to `rel`.
    pub fn files(&self, rel: &RelPath) -> Result<Vec<(RelPath, Kind)>> {
        fn walk(root: &Root, base: &RelPath, rel: &RelPath, out: &mut Vec<(RelPath, Kind)>) -> Result<()> {
            for (name, kind) in root.entries(&base.concat(rel))? {
                let child = rel.join(&name).expect("entries are checked names");
                match kind {
                    Kind::Dir => walk(root, base, &child, out)?,
                    kind => out.push((child, kind)),
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(self, rel, &RelPath::root(), &mut out)?;
        Ok(out)
    }

    /// Whether the link `link` with target `target` leads out of this root, resolved against what
    /// is on disk now: each link met on the way is followed (at most 40), each folder that does
    /// not exist (yet) counts as a plain folder, and the walk may never climb above the root.
    pub fn link_escapes(&self, link: &RelPath, target: &Path) -> bool {
        target.as_os_str().is_empty() || self.resolve(link.parent().unwrap_or_default(), parts(target).into()).is_none()
    }

    /// Where the path `pending` (names, `.`, `..`, `/`) leads from the folder `at`, resolved
    /// against what is on disk now: each link met on the way is followed (at most 40), each folder
    /// that does not exist (yet) counts as a plain folder. `None`: the walk leaves the root.
    fn resolve(&self, mut at: RelPath, mut pending: VecDeque<String>) -> Option<RelPath> {
        let mut hops = 0;
        while let Some(c) = pending.pop_front() {
            match c.as_str() {
                "/" => return None,
                "." => {}
                ".." => at = at.parent()?,
                name => {
                    let rel = at.join(name).ok()?;
                    match self.kind(&rel) {
                        Ok(Some(Kind::Link)) => {
                            hops += 1;
                            let next = self.read_link(&rel).ok()?;
                            if hops > 40 || next.as_os_str().is_empty() || next.has_root() {
                                return None;
                            }
                            for p in parts(&next).into_iter().rev() {
                                pending.push_front(p);
                            }
                        }
                        Ok(_) => at = rel,
                        Err(_) => return None,
                    }
                }
            }
        }
        Some(at)
    }

    /// Checks every link below this root against [`Root::link_escapes`], as things are now; the
    /// first that leads out comes back with its target.
    pub fn first_escaping_link(&self) -> Result<Option<(RelPath, PathBuf)>> {
        self.batch(|| self.find_escaping_link())
    }

    fn find_escaping_link(&self) -> Result<Option<(RelPath, PathBuf)>> {
        for (rel, kind) in self.files(&RelPath::root())? {
            if kind == Kind::Link {
                let target = self.read_link(&rel)?;
                if self.link_escapes(&rel, &target) {
                    return Ok(Some((rel, target)));
                }
            }
        }
        Ok(None)
    }
}

/// The components of a link's target, as [`Root::resolve`] walks them.
fn parts(p: &Path) -> Vec<String> {
    p.components()
        .map(|c| match c {
            Component::Normal(n) => n.to_string_lossy().to_string(),
            Component::ParentDir => "..".into(),
            Component::CurDir => ".".into(),
            Component::RootDir | Component::Prefix(_) => "/".into(),
        })
        .collect()
}

/// Copies the folder `from_rel` of `from` into the folder `to_rel` (which must exist, empty) of
/// `to`: files keep their executable bit, links are copied as links, `.git` is left out. Nothing
/// is read through a link. The caller checks the links of the result.
/// Folders nested deeper than this are refused (a plugin needs far fewer, and the walk must not
/// exhaust the stack).
pub const MAX_COPY_DEPTH: usize = 256;

pub fn copy_tree(from: &Root, from_rel: &RelPath, to: &Root, to_rel: &RelPath) -> Result<()> {
    from.batch(|| to.batch(|| copy_below(from, from_rel, to, to_rel, 0)))
}

fn copy_below(from: &Root, from_rel: &RelPath, to: &Root, to_rel: &RelPath, depth: usize) -> Result<()> {
    if depth > MAX_COPY_DEPTH {
        return Err(Error::unsafe_path(
            format!("{} nests folders more than {MAX_COPY_DEPTH} deep", from.abs(from_rel).display()),
            vec!["a plugin folder cannot be copied from there".into()],
        ));
    }
    for (name, kind) in from.entries(from_rel)? {
        crate::error::check_interrupt()?;
        let (src, dst) = (from_rel.join(&name).expect("checked"), to_rel.join(&name).expect("checked"));
        match kind {
            Kind::Dir => {
                to.create_dir(&dst)?;
                copy_below(from, &src, to, &dst, depth + 1)?;
            }
            Kind::File { executable } => {
                to.write_new(&dst, &from.read(&src, Cap::PluginFile)?, if executable { 0o755 } else { 0o644 })?;
            }
            Kind::Link => to.symlink(&from.read_link(&src)?, &dst)?,
            Kind::Other => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn writes_never_go_through_links() {
        let outside = tempfile::tempdir().unwrap();
        let t = tempfile::tempdir().unwrap();
        let root = Root::open(t.path()).unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("out")).unwrap();
        assert!(root.write_new(&rel("out/x"), b"x", 0o644).is_err());
        assert!(root.write_atomic(&rel("out/x"), b"x", None).is_err());
        assert!(root.create_dir_all(&rel("out/d")).is_err());
        assert!(root.create_dir(&rel("out/d")).is_err());
        assert!(root.read(&rel("out"), Cap::PluginFile).is_err());
        // A link at the final name is replaced by write_atomic, never followed.
        root.write_atomic(&rel("out"), b"replaced", None).unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(std::fs::symlink_metadata(t.path().join("out")).unwrap().is_file());
        // Removing a folder with a link inside removes the link only.
        std::fs::write(outside.path().join("keep"), b"k").unwrap();
        root.create_dir(&rel("d")).unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("d/l")).unwrap();
        root.remove(&rel("d")).unwrap();
        assert!(outside.path().join("keep").exists());
    }

    #[test]
    fn remove_takes_whatever_a_program_left_and_nothing_outside() {
        use std::os::unix::fs::PermissionsExt;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"k").unwrap();
        std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let t = tempfile::tempdir().unwrap();
        let root = Root::open(t.path()).unwrap();
        let d = t.path().join("d");
        std::fs::create_dir_all(d.join("gomod/m/sub")).unwrap();
        std::fs::write(d.join("gomod/m/sub/f.go"), b"x").unwrap();
        std::fs::create_dir_all(d.join("locked/inner")).unwrap();
        std::fs::write(d.join("locked/inner/f"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("keep"), d.join("gomod/m/keep")).unwrap();
        rustix::fs::mknodat(rustix::fs::CWD, d.join("fifo"), FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
        // Read-only as Go leaves its module cache, and folders their owner may not even list.
        for (p, m) in [("gomod/m/sub", 0o555), ("gomod/m", 0o555), ("gomod", 0o555), ("locked/inner", 0o000)] {
            std::fs::set_permissions(d.join(p), std::fs::Permissions::from_mode(m)).unwrap();
        }
        std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o300)).unwrap();
        // Deeper than a process may hold folders open at once.
        let mut at = rustix::fs::open(&d, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        for _ in 0..3000 {
            rustix::fs::mkdirat(&at, "n", Mode::from_raw_mode(0o755)).unwrap();
            at = rustix::fs::openat(&at, "n", DIR_FLAGS, Mode::empty()).unwrap();
        }
        rustix::fs::symlinkat(outside.path(), &at, "deep-out").unwrap();
        drop(at);
        root.remove(&rel("d")).unwrap();
        assert!(!d.exists() && std::fs::symlink_metadata(&d).is_err(), "the folder is gone");
        assert_eq!(std::fs::read(outside.path().join("keep")).unwrap(), b"k", "nothing outside was touched");
        assert_eq!(mode_of(outside.path()), 0o555, "not even the mode of a folder a link leads to");
        // The same through the path helper, for folders atk owns outright.
        std::fs::create_dir_all(d.join("ro")).unwrap();
        std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
        crate::fs::remove_any(&d).unwrap();
        assert!(!d.exists());
        std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn mode_of(p: &Path) -> u32 {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o7777
    }

    #[test]
    fn reads_follow_only_links_that_stay_inside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "secret").unwrap();
        let t = tempfile::tempdir().unwrap();
        let root = Root::open(t.path()).unwrap();
        root.create_dir(&rel("docs")).unwrap();
        root.write_new(&rel("docs/README.md"), b"inside", 0o644).unwrap();
        root.symlink(Path::new("docs/README.md"), &rel("README.md")).unwrap();
        root.symlink(Path::new("docs"), &rel("d")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), t.path().join("out")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", t.path().join("zero")).unwrap();
        root.symlink(Path::new(".."), &rel("up")).unwrap();
        root.symlink(Path::new("."), &rel("self")).unwrap();
        // Inside: followed, through a linked folder too.
        assert_eq!(root.read_inside(&rel("README.md"), Cap::Readme).unwrap().unwrap(), b"inside");
        assert_eq!(root.read_inside(&rel("d/README.md"), Cap::Readme).unwrap().unwrap(), b"inside");
        // Out: refused by name, whatever it leads to.
        for name in ["out", "zero", "up"] {
            let e = root.read_inside(&rel(name), Cap::Readme).unwrap_err().to_string();
            assert!(e.contains("leads out of the plugin folder") && e.contains(name), "{name}: {e}");
        }
        assert!(root.read_inside(&rel("self"), Cap::Readme).unwrap_err().to_string().contains("its folder itself"));
        assert!(root.read_inside(&rel("missing"), Cap::Readme).unwrap().is_none());
        assert!(root.read_inside(&rel("docs/missing/x"), Cap::Readme).unwrap().is_none());
        // A link out to nothing is no file; nothing is read through it.
        root.symlink(Path::new("../nothing-here"), &rel("gone")).unwrap();
        assert!(root.read_inside(&rel("gone"), Cap::Readme).unwrap().is_none());
        // `read` follows no link at all.
        assert!(root.read(&rel("README.md"), Cap::Readme).unwrap_err().to_string().contains("symbolic link"));
        assert!(root.read(&rel("d/README.md"), Cap::Readme).unwrap_err().to_string().contains("symbolic link"));
        // A FIFO is refused at once by both.
        rustix::fs::mknodat(&root.fd, "fifo", FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
        assert!(root.read(&rel("fifo"), Cap::State).unwrap_err().to_string().contains("FIFO"));
        assert!(root.read_inside(&rel("fifo"), Cap::State).unwrap_err().to_string().contains("FIFO"));
    }

    #[test]
    fn link_resolution_follows_chains() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::open(t.path()).unwrap();
        root.create_dir(&rel("sub")).unwrap();
        assert!(!root.link_escapes(&rel("a"), Path::new("sub")));
        assert!(!root.link_escapes(&rel("sub/a"), Path::new("../x")));
        assert!(root.link_escapes(&rel("a"), Path::new("../x")));
        assert!(root.link_escapes(&rel("a"), Path::new("/etc/passwd")));
        assert!(root.link_escapes(&rel("a"), Path::new("")));
        // b -> . makes b/b/b/b the root itself: lexically fine, really four levels up.
        root.symlink(Path::new("."), &rel("b")).unwrap();
        let chain = Path::new("b/b/b/b/../../../..");
        assert!(root.link_escapes(&rel("d"), chain));
        assert!(!root.link_escapes(&rel("d"), Path::new("b/b/sub")));
        // A loop is refused rather than followed for ever.
        root.symlink(Path::new("l2"), &rel("l1")).unwrap();
        root.symlink(Path::new("l1"), &rel("l2")).unwrap();
        assert!(root.link_escapes(&rel("x"), Path::new("l1")));
        // Missing folders count as folders: missing/../.. climbs out.
        assert!(root.link_escapes(&rel("m"), Path::new("missing/../..")));
        root.symlink(Path::new("b/b/b/b/../../../.."), &rel("d")).unwrap();
        assert_eq!(root.first_escaping_link().unwrap().map(|(r, _)| r.as_str().to_string()), Some("d".into()));
    }
}
