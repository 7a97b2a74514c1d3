//! The file system. Below a plugin folder, a staging folder or the home, atk writes, renames and
//! deletes only through a [`Root`] with [`RelPath`]s (see `root.rs` and `name.rs`). The helpers
//! here are for paths the user gave or atk owns outright (the cache, a file named on the command
//! line).

pub mod lock;
mod name;
pub mod owner;
pub mod read;
mod root;
pub mod work;

pub use name::{name_problem, BadPath, RelPath};
pub use read::{read, read_text, Cap, Links};
pub use root::{copy_tree, is_temp_name, temp_name, Kind, Root, TEMP_PREFIX};

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// `~` and `~/x` become paths under the user's home folder `home`.
pub fn expand_tilde(p: &Path, home: &Path) -> PathBuf {
    match p.to_str() {
        Some("~") => home.to_path_buf(),
        Some(s) if s.starts_with("~/") => home.join(&s[2..]),
        _ => p.to_path_buf(),
    }
}

/// Writes `contents` to a temporary file beside `path` and renames it over `path`. The mode is
/// `mode` when given, else the old file's mode, else 0644. The old file's owner and group are
/// kept (see [`owner`]: under sudo, a user's file stays theirs); a new file takes its folder's
/// when atk runs as root.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let ctx = || format!("cannot write {}", path.display());
    let old = std::fs::metadata(path).ok();
    let mut tmp = tempfile::Builder::new().prefix(&temp_name()).rand_bytes(0).tempfile_in(dir).ctx(ctx)?;
    tmp.write_all(contents).ctx(ctx)?;
    let mode = mode.unwrap_or_else(|| old.as_ref().map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644));
    // Before the mode: a change of owner clears the set-user and set-group bits.
    if let Some(owner) = owner::wanted(old.as_ref(), path) {
        owner::give(tmp.as_file(), owner).ctx(ctx)?;
    }
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).ctx(ctx)?;
    tmp.as_file().sync_all().ctx(ctx)?;
    tmp.persist(path).map_err(|e| Error::io(ctx(), e.error))?;
    Ok(())
}

/// Removes a file, a symlink or a whole folder, whatever is inside (read-only folders, FIFOs,
/// links: removed, never followed); nothing there is fine.
pub fn remove_any(path: &Path) -> Result<()> {
    root::remove_path(path).ctx(|| format!("cannot remove {}", path.display()))
}
