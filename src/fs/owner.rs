//! Who owns what atk writes into a person's files. A file atk rewrites keeps its owner and group;
//! what atk creates takes the owner and group of the folder it is made in when atk runs as root,
//! so that `sudo atk plug` leaves a user's `~/.cursor/mcp.json`, `CLAUDE.md` or skill links theirs.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Gid, Uid, CWD};

/// A user and a group, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub fn of(m: &std::fs::Metadata) -> Owner {
        Owner { uid: m.uid(), gid: m.gid() }
    }
}

/// Whether atk runs as root (an effective user id of 0, as under sudo).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The owner of what atk writes at `path`: that of `existing` (what is there now), else, when atk
/// runs as root, that of the folder it is made in. `None`: whoever atk runs as.
pub fn wanted(existing: Option<&std::fs::Metadata>, path: &Path) -> Option<Owner> {
    match existing {
        Some(m) => Some(Owner::of(m)),
        None if is_root() => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::metadata(dir).ok().map(|m| Owner::of(&m))
        }
        None => None,
    }
}

/// Gives the open file `file` to `owner` unless it has it. For root, a failure is an error (the
/// user's file would become root's). Any other user cannot give a file away: what cannot be kept
/// is left as it is, as a rewrite always left it (they can write the folder; a user repairing a
/// file an older atk left root's under sudo is not stopped), and a group is kept where it can be.
pub fn give(file: &std::fs::File, owner: Owner) -> std::io::Result<()> {
    if Owner::of(&file.metadata()?) == owner {
        return Ok(());
    }
    match rustix::fs::fchown(file, Some(Uid::from_raw(owner.uid)), Some(Gid::from_raw(owner.gid))) {
        Err(e) if is_root() => Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("cannot give it back to user {} and group {} ({e})", owner.uid, owner.gid),
        )),
        _ => Ok(()),
    }
}

/// Gives the link `link` itself (never what it leads to) to `owner` unless it has it.
pub fn give_link(link: &Path, owner: Owner) -> std::io::Result<()> {
    if std::fs::symlink_metadata(link).is_ok_and(|m| Owner::of(&m) == owner) {
        return Ok(());
    }
    rustix::fs::chownat(
        CWD,
        link,
        Some(Uid::from_raw(owner.uid)),
        Some(Gid::from_raw(owner.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(Into::into)
}

/// `std::fs::create_dir_all`, where, when atk runs as root, each folder it makes takes the owner
/// and group of the folder it is made in.
pub fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    if !is_root() {
        return Ok(());
    }
    for d in missing.iter().rev() {
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let owner = Owner::of(&std::fs::metadata(parent)?);
        give_link(d, owner)?;
    }
    Ok(())
}
