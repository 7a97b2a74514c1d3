//! File-system helpers every layer uses: atomic writes and tree copies with a path policy.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The user's home directory: `$HOME`, else what the system says.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `~` and `~/x` become paths under the user's home directory.
pub fn expand_tilde(p: &Path) -> PathBuf {
    match p.to_str() {
        Some("~") => home_dir(),
        Some(s) if s.starts_with("~/") => home_dir().join(&s[2..]),
        _ => p.to_path_buf(),
    }
}

/// Writes `contents` to a temporary file beside `path` and renames it over `path`. The mode is
/// `mode` when given, else the old file's mode, else 0644.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let ctx = || format!("cannot write {}", path.display());
    let mut tmp = tempfile::Builder::new().prefix(".atk-tmp").tempfile_in(dir).ctx(ctx)?;
    tmp.write_all(contents).ctx(ctx)?;
    let mode =
        mode.unwrap_or_else(|| std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644));
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).ctx(ctx)?;
    tmp.as_file().sync_all().ctx(ctx)?;
    tmp.persist(path).map_err(|e| Error::io(ctx(), e.error))?;
    Ok(())
}

/// A relative path made only of normal components (no `..`, no root, no `.git`).
pub fn is_contained_relative(p: &Path) -> bool {
    p.components().all(|c| matches!(c, Component::Normal(n) if n != ".git"))
}

/// Whether a symlink found at `link` (relative to the tree root) with target `target` stays inside
/// the tree: a relative target that never climbs above the root.
pub fn symlink_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = link.components().count() as isize - 1;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Copies the tree `from` into the new folder `to`: files keep their mode, symlinks stay symlinks
/// and must point inside the tree, `.git` is never copied.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fn walk(root: &Path, rel: &Path, to: &Path) -> Result<()> {
        let src = root.join(rel);
        let dst = to.join(rel);
        std::fs::create_dir_all(&dst).ctx(|| format!("cannot create {}", dst.display()))?;
        let entries = std::fs::read_dir(&src).ctx(|| format!("cannot read {}", src.display()))?;
        for entry in entries {
            crate::interrupt::check()?;
            let entry = entry.ctx(|| format!("cannot read {}", src.display()))?;
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let rel = rel.join(&name);
            let (s, d) = (root.join(&rel), to.join(&rel));
            let kind = entry.file_type().ctx(|| format!("cannot read {}", s.display()))?;
            if kind.is_symlink() {
                let target = std::fs::read_link(&s).ctx(|| format!("cannot read {}", s.display()))?;
                if !symlink_stays_inside(&rel, &target) {
                    return Err(Error::refused(
                        format!("{} is a symlink to {}, outside the plugin folder", s.display(), target.display()),
                        vec!["a plugin may only link to files inside its own folder".into()],
                    ));
                }
                std::os::unix::fs::symlink(&target, &d).ctx(|| format!("cannot create {}", d.display()))?;
            } else if kind.is_dir() {
                walk(root, &rel, to)?;
            } else if kind.is_file() {
                std::fs::copy(&s, &d).ctx(|| format!("cannot copy {} to {}", s.display(), d.display()))?;
            }
        }
        Ok(())
    }
    walk(from, Path::new(""), to)
}

/// Removes a file, a symlink or a whole folder; nothing there is fine.
pub fn remove_any(path: &Path) -> Result<()> {
    let res = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    res.ctx(|| format!("cannot remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_policy() {
        assert!(symlink_stays_inside(Path::new("a"), Path::new("b")));
        assert!(symlink_stays_inside(Path::new("d/a"), Path::new("../b")));
        assert!(!symlink_stays_inside(Path::new("a"), Path::new("../b")));
        assert!(!symlink_stays_inside(Path::new("d/a"), Path::new("../../b")));
        assert!(!symlink_stays_inside(Path::new("a"), Path::new("/etc/passwd")));
        assert!(symlink_stays_inside(Path::new("d/a"), Path::new("./x/../y")));
    }

    #[test]
    fn contained_paths() {
        assert!(is_contained_relative(Path::new("a/b")));
        for bad in ["../a", "/a", "a/../../b", ".git/config", "a/.git"] {
            assert!(!is_contained_relative(Path::new(bad)), "{bad}");
        }
    }
}
