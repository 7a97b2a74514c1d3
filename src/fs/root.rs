//! A folder that atk writes below, and the only way it does: every write, rename and delete under a
//! plugin folder, a staging folder or the home goes through a [`Root`]. Paths are [`RelPath`]s, so
//! they are made of checked names; each folder on the way is opened without following a symbolic
//! link, and files are created exclusively, so a link can never carry a write out of the root,
//! including a link that the same operation created a moment earlier. The folder handle comes from
//! `cap-std`, which refuses any escape from the root by construction as a second line of defence.

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};

use super::name::{name_problem, RelPath};
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
    fn of(md: &cap_std::fs::Metadata) -> Kind {
        let t = md.file_type();
        if t.is_symlink() {
            Kind::Link
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File { executable: cap_std::fs::PermissionsExt::mode(&md.permissions()) & 0o111 != 0 }
        } else {
            Kind::Other
        }
    }
}

/// An open folder; everything below it is reached through it.
pub struct Root {
    dir: Dir,
    path: PathBuf,
}

/// Temporary files of [`Root::write_atomic`] get unique names within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The prefix of atk's temporary files; recovery removes what a killed run left.
pub const TEMP_PREFIX: &str = ".atk-tmp";

impl Root {
    /// Opens the existing folder `path` (the folder itself may be reached through a link; nothing
    /// below it is).
    pub fn open(path: &Path) -> Result<Root> {
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .ctx(|| format!("cannot open {}", path.display()))?;
        Ok(Root { dir, path: path.to_path_buf() })
    }

    /// Creates the folder `path` and its parents when missing (for folders atk owns, such as the
    /// staging area), then opens it.
    pub fn create(path: &Path) -> Result<Root> {
        std::fs::create_dir_all(path).ctx(|| format!("cannot create {}", path.display()))?;
        Root::open(path)
    }

    /// The folder `rel` below this one, as a root of its own.
    pub fn sub(&self, rel: &RelPath) -> Result<Root> {
        Ok(Root { dir: self.open_dir(rel)?, path: self.abs(rel) })
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

    /// The folder `rel`, reached one name at a time without following links.
    fn open_dir(&self, rel: &RelPath) -> Result<Dir> {
        let mut dir = self.dir.try_clone().ctx(|| format!("cannot open {}", self.path.display()))?;
        let mut walked = RelPath::root();
        for name in rel.components() {
            walked = walked.join(name).expect("the components of a RelPath are names");
            dir = match dir.open_dir_nofollow(name) {
                Ok(d) => d,
                Err(e) => {
                    if let Ok(md) = dir.symlink_metadata(name) {
                        if md.file_type().is_symlink() {
                            return Err(self.link_in_the_way(&walked));
                        }
                    }
                    return Err(Error::io(format!("cannot open {}", self.abs(&walked).display()), e));
                }
            };
        }
        Ok(dir)
    }

    fn link_in_the_way(&self, rel: &RelPath) -> Error {
        Error::refused(
            format!("{} is a symbolic link; atk never writes or reads through one", self.abs(rel).display()),
            vec!["replace the link with a real folder, or remove it".into()],
        )
    }

    /// The folder holding `rel`, and the last name of `rel`.
    fn parent<'r>(&self, rel: &'r RelPath) -> Result<(Dir, &'r str)> {
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
        match dir.symlink_metadata(rel.name()) {
            Ok(md) => Ok(Some(Kind::of(&md))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {}", self.abs(rel).display()), e)),
        }
    }

    /// Whether anything (a link included) is at `rel`. A link on the way counts as something.
    pub fn exists(&self, rel: &RelPath) -> bool {
        !matches!(self.kind(rel), Ok(None))
    }

    /// The content of the regular file `rel` (a link there is refused).
    pub fn read(&self, rel: &RelPath) -> Result<Vec<u8>> {
        let (dir, name) = self.parent(rel)?;
        let mut options = OpenOptions::new();
        options.read(true).follow(FollowSymlinks::No);
        let mut file = dir.open_with(name, &options).map_err(|e| {
            if e.raw_os_error() == Some(40) {
                self.link_in_the_way(rel)
            } else {
                Error::io(format!("cannot read {}", self.abs(rel).display()), e)
            }
        })?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).ctx(self.io("read", rel))?;
        Ok(data)
    }

    /// The target of the link `rel`, as written in it.
    pub fn read_link(&self, rel: &RelPath) -> Result<PathBuf> {
        let (dir, name) = self.parent(rel)?;
        dir.read_link_contents(name).ctx(self.io("read the link", rel))
    }

    /// Creates the folder `rel`; its parent must exist, and nothing may be at `rel`.
    pub fn create_dir(&self, rel: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        dir.create_dir(name).ctx(self.io("create", rel))
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
                    return Err(Error::other(format!("{} is in the way of a folder", self.abs(&walked).display())))
                }
                None => self.create_dir(&walked)?,
            }
        }
        Ok(())
    }

    /// Creates the file `rel` with `data` and `mode`; fails when anything is at `rel` already.
    pub fn write_new(&self, rel: &RelPath, data: &[u8], mode: u32) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).follow(FollowSymlinks::No);
        let file = dir.open_with(name, &options).ctx(self.io("create", rel))?;
        let mut file = file.into_std();
        file.write_all(data).ctx(self.io("write", rel))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode)).ctx(self.io("write", rel))?;
        Ok(())
    }

    /// Writes `rel` through a temporary file beside it, renamed over it (a link at `rel` is
    /// replaced, never followed). The mode is `mode`, else the old file's, else 0644.
    pub fn write_atomic(&self, rel: &RelPath, data: &[u8], mode: Option<u32>) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        let mode = mode.unwrap_or_else(|| match dir.symlink_metadata(name) {
            Ok(md) if md.is_file() => cap_std::fs::PermissionsExt::mode(&md.permissions()) & 0o7777,
            _ => 0o644,
        });
        let tmp = format!("{TEMP_PREFIX}-{}-{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true).follow(FollowSymlinks::No);
            let mut file = dir.open_with(&tmp, &options)?.into_std();
            file.write_all(data)?;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            file.sync_all()?;
            dir.rename(&tmp, &dir, name)
        })();
        if written.is_err() {
            let _ = dir.remove_file(&tmp);
        }
        written.ctx(self.io("write", rel))
    }

    /// Creates the link `rel` pointing at `target` (a relative target; see [`Root::link_escapes`]).
    pub fn symlink(&self, target: &Path, rel: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        dir.symlink(target, name).ctx(self.io("create the link", rel))
    }

    /// Moves `from` to `to` below `to_root` (the same file system); nothing may be at `to`.
    pub fn rename(&self, from: &RelPath, to_root: &Root, to: &RelPath) -> Result<()> {
        if to_root.exists(to) {
            return Err(Error::other(format!("cannot move to {}: it exists", to_root.abs(to).display())));
        }
        let (from_dir, from_name) = self.parent(from)?;
        let (to_dir, to_name) = to_root.parent(to)?;
        from_dir
            .rename(from_name, &to_dir, to_name)
            .ctx(|| format!("cannot move {} to {}", self.abs(from).display(), to_root.abs(to).display()))
    }

    /// Removes the file, link or whole folder at `rel` (links inside are removed, never
    /// followed); nothing there is fine.
    pub fn remove(&self, rel: &RelPath) -> Result<()> {
        let Some(kind) = self.kind(rel)? else { return Ok(()) };
        let (dir, name) = self.parent(rel)?;
        match kind {
            Kind::Dir => dir.remove_dir_all(name),
            _ => dir.remove_file_or_symlink(name),
        }
        .ctx(self.io("remove", rel))
    }

    /// Removes the folder `rel` if it is empty; whether it did.
    pub fn remove_empty_dir(&self, rel: &RelPath) -> bool {
        self.parent(rel).is_ok_and(|(dir, name)| dir.remove_dir(name).is_ok())
    }

    /// Sets the mode of the regular file `rel`.
    pub fn set_mode(&self, rel: &RelPath, mode: u32) -> Result<()> {
        let (dir, name) = self.parent(rel)?;
        let mut options = OpenOptions::new();
        options.read(true).follow(FollowSymlinks::No);
        let file = dir.open_with(name, &options).ctx(self.io("open", rel))?.into_std();
        file.set_permissions(std::fs::Permissions::from_mode(mode)).ctx(self.io("change the mode of", rel))
    }

    /// The entries of the folder `rel`, sorted by name. A name that is not UTF-8 or could not be
    /// a path component is refused; `.git` is left out.
    pub fn entries(&self, rel: &RelPath) -> Result<Vec<(String, Kind)>> {
        let dir = self.open_dir(rel)?;
        let mut out = Vec::new();
        for entry in dir.entries().ctx(self.io("read", rel))? {
            crate::interrupt::check()?;
            let entry = entry.ctx(self.io("read", rel))?;
            let raw = entry.file_name();
            let Some(name) = raw.to_str() else {
                return Err(Error::refused(
                    format!("{} holds a file whose name is not UTF-8", self.abs(rel).display()),
                    vec!["rename it".into()],
                ));
            };
            if name.eq_ignore_ascii_case(".git") {
                continue;
            }
            if let Some(why) = name_problem(name) {
                return Err(Error::refused(
                    format!("{}/{} has {why}", self.abs(rel).display(), crate::text::escape(name)),
                    vec!["rename it".into()],
                ));
            }
            let md = entry.metadata().ctx(self.io("read", rel))?;
            out.push((name.to_string(), Kind::of(&md)));
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
        if target.as_os_str().is_empty() {
            return true;
        }
        // Where the walk is (folders below the root), and what is left to walk.
        let mut at: Vec<String> =
            link.parent().map(|p| p.components().map(str::to_string).collect()).unwrap_or_default();
        let mut pending: VecDeque<String> = parts(target).into();
        let mut hops = 0;
        while let Some(c) = pending.pop_front() {
            match c.as_str() {
                "/" => return true,
                "." => {}
                ".." => {
                    if at.pop().is_none() {
                        return true;
                    }
                }
                name => {
                    let Ok(rel) = RelPath::new([at.join("/"), name.to_string()].join("/").trim_start_matches('/'))
                    else {
                        return true;
                    };
                    match self.kind(&rel) {
                        Ok(Some(Kind::Link)) => {
                            hops += 1;
                            let Ok(next) = self.read_link(&rel) else { return true };
                            if hops > 40 || next.as_os_str().is_empty() || next.has_root() {
                                return true;
                            }
                            for p in parts(&next).into_iter().rev() {
                                pending.push_front(p);
                            }
                        }
                        Ok(_) => at.push(name.to_string()),
                        Err(_) => return true,
                    }
                }
            }
        }
        false
    }

    /// Checks every link below this root against [`Root::link_escapes`], as things are now; the
    /// first that leads out comes back with its target.
    pub fn first_escaping_link(&self) -> Result<Option<(RelPath, PathBuf)>> {
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

/// Copies the folder `from_rel` of `from` into the folder `to_rel` (which must exist, empty) of
/// `to`: files keep their executable bit, links are copied as links, `.git` is left out. Nothing
/// is read through a link. The caller checks the links of the result.
pub fn copy_tree(from: &Root, from_rel: &RelPath, to: &Root, to_rel: &RelPath) -> Result<()> {
    for (name, kind) in from.entries(from_rel)? {
        crate::interrupt::check()?;
        let (src, dst) = (from_rel.join(&name).expect("checked"), to_rel.join(&name).expect("checked"));
        match kind {
            Kind::Dir => {
                to.create_dir(&dst)?;
                copy_tree(from, &src, to, &dst)?;
            }
            Kind::File { executable } => {
                to.write_new(&dst, &from.read(&src)?, if executable { 0o755 } else { 0o644 })?;
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
        assert!(root.read(&rel("out")).is_err());
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
