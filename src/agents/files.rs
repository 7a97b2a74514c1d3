//! An agent's own files in the user's home: read and written through the link a dotfiles tool
//! may have made, atomically.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a file of an agent is read and written: the path itself, or, when it is a symbolic link
/// (dotfiles managers link them), the file it leads to, so that the link stays. A link that leads
/// nowhere, or a path that is not a file, is refused.
pub fn file_behind(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) if target.is_file() => Ok(target),
            _ => Err(Error::agent_config(
                format!(
                    "{} is a link to something that is not a file ({}); atk leaves it alone",
                    path.display(),
                    crate::fs::read::describe(path, crate::fs::Links::Follow).unwrap_or("nothing")
                ),
                vec![format!("fix or remove the link, then run the command again")],
            )),
        },
        Ok(m) if m.is_file() => Ok(path.to_path_buf()),
        Ok(_) => Err(Error::agent_config(
            format!(
                "{} is {}, not a file; atk leaves it alone",
                path.display(),
                crate::fs::read::describe(path, crate::fs::Links::Refuse).unwrap_or("not a file")
            ),
            vec!["remove it or replace it with a regular file".into()],
        )),
    }
}

/// An agent's text file (`None` when there is none), through the link a dotfiles tool may have
/// made there, read as `fs::read` says (a regular file, capped, never blocking).
pub fn read_user_file(path: &Path) -> Result<Option<String>> {
    let real = file_behind(path)?;
    match crate::fs::read(&real, crate::fs::Links::Follow, crate::fs::Cap::AgentConfig)? {
        Some(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| Error::agent_config(format!("{} is not UTF-8 text", path.display()), vec![])),
        None => Ok(None),
    }
}

/// Writes an agent's file atomically (a temporary file beside it, renamed over it), keeping its
/// mode, owner and group; a new file is 0600, since these files hold secrets. Through a link, the
/// target is written. When atk runs as root (sudo), a new file and the folders made for it take
/// the owner of the folder they are made in: a user's agent files stay the user's.
pub fn write_user_file(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let real = file_behind(path)?;
    if let Some(dir) = real.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fs::owner::create_dirs(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let mode = std::fs::metadata(&real).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    crate::fs::write_atomic(&real, text.as_bytes(), Some(mode))
}
