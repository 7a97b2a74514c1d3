//! A container of named blobs, in the archive format's outer shape (a gzip-compressed tar whose
//! first member is a JSON manifest; see [`super::archive`]), for files that are not a folder tree:
//! an export holds a git bundle of the home, the objects of each plugin source, and later plugin
//! backups, each a regular file under a relative name (`home.bundle`, `sources/<name>.objects`,
//! `data/<dir>/<id>.atk-backup`).
//!
//! The manifest is the caller's own JSON document; it lists every member with its size and
//! sha256 as [`Member`]s, which the caller hands back through a function when reading.
//!
//! * [`write`] writes the manifest and then the members, in the order listed, to a temporary file
//!   beside the target, 0600, renamed into place; a member that changed since it was described is
//!   an error naming it.
//! * [`verify`] reads the whole container and checks every member against the manifest before
//!   anything is written anywhere; [`extract_verified`] then reads it again into an empty staging
//!   folder, checking every member once more as it writes. A changed byte, a member added,
//!   missing, listed twice or renamed, a path that is absolute or has `..`, a folder, a link (hard
//!   or symbolic), a device node or a FIFO is an error naming the member.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::archive::{
    check_room, damaged, first_manifest, header, hex, member_name, member_path, open, refused, HashingReader,
    HashingWriter, MemberKind,
};
use crate::error::{Error, IoContext, Result};
use crate::fs::Root;

/// One blob of a container, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Relative, `/`-separated, no `.` or `..`.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// The member `path` of a container with the content of `file` (read once, to hash it).
pub fn describe(path: &str, file: &Path) -> Result<Member> {
    let ctx = || format!("cannot read {}", file.display());
    let mut f = std::fs::File::open(file).ctx(ctx)?;
    let mut w = HashingWriter::new(io::sink());
    let size = io::copy(&mut f, &mut w).ctx(ctx)?;
    Ok(Member { path: path.to_string(), size, sha256: w.hex() })
}

/// Writes a new container at `out`: `manifest` (JSON that lists `members`) as the member
/// `manifest_name`, then each member from its file, in order. Written to a temporary file beside
/// `out`, 0600, synced and renamed into place: a kill leaves the old file or the new one.
pub fn write(
    out: &Path,
    manifest_name: &str,
    manifest: &[u8],
    members: &[(Member, PathBuf)],
    mtime: u64,
) -> Result<()> {
    let listed: Vec<Member> = members.iter().map(|(m, _)| m.clone()).collect();
    check_members(&listed, manifest_name, out)?;
    let ctx = || format!("cannot write {}", out.display());
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(&crate::fs::temp_name()).rand_bytes(0).tempfile_in(dir).ctx(ctx)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600)).ctx(ctx)?;
    let mut tar = tar::Builder::new(GzEncoder::new(tmp.as_file(), Compression::default()));
    let mut h = header(tar::EntryType::Regular, manifest.len() as u64, 0o600, mtime);
    tar.append_data(&mut h, manifest_name, manifest).ctx(ctx)?;
    for (member, file) in members {
        crate::error::check_interrupt()?;
        let changed = || {
            Error::conflict(
                format!("{} changed while it was written into {}", file.display(), out.display()),
                vec!["try again".into()],
            )
        };
        let f = std::fs::File::open(file).ctx(|| format!("cannot read {}", file.display()))?;
        let mut reader = HashingReader { inner: f.take(member.size), hasher: Sha256::new() };
        let mut h = header(tar::EntryType::Regular, member.size, 0o600, mtime);
        tar.append_data(&mut h, &member.path, &mut reader).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => changed(),
            _ => Error::io(ctx(), e),
        })?;
        let HashingReader { inner, hasher } = reader;
        let mut rest = [0u8; 1];
        let grew = inner.into_inner().read(&mut rest).ctx(ctx)? != 0;
        if grew || hex(&hasher.finalize()) != member.sha256 {
            return Err(changed());
        }
    }
    tar.into_inner().ctx(ctx)?.finish().ctx(ctx)?;
    tmp.as_file().sync_all().ctx(ctx)?;
    tmp.persist(out).map_err(|e| Error::io(ctx(), e.error))?;
    Ok(())
}

/// Checks the list of members itself: every path a checked relative path, listed once, not the
/// manifest's name, not a folder of another member, a sha256 in hex. Returns them by path.
fn check_members<'m>(
    members: &'m [Member],
    manifest_name: &str,
    archive: &Path,
) -> Result<HashMap<&'m str, &'m Member>> {
    let mut by_path: HashMap<&str, &Member> = HashMap::new();
    for m in members {
        member_path(archive, &m.path)?;
        if m.path == manifest_name {
            return Err(refused(archive, &m.path, "has the manifest's name"));
        }
        if !(m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))) {
            return Err(refused(archive, &m.path, "has no valid sha256 in the manifest"));
        }
        if by_path.insert(&m.path, m).is_some() {
            return Err(refused(archive, &m.path, "is listed twice"));
        }
    }
    for m in members {
        let mut at = m.path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            if by_path.contains_key(parent) {
                return Err(refused(archive, &m.path, format!("is below '{parent}', another member")));
            }
            at = parent;
        }
    }
    Ok(by_path)
}

/// Reads the whole container at `archive` and checks every member against the manifest (its
/// first member, `manifest_name`, parsed as `M`, whose members `members` gives); nothing is
/// written. Returns the manifest.
pub fn verify<M: DeserializeOwned>(archive: &Path, manifest_name: &str, members: fn(&M) -> &[Member]) -> Result<M> {
    walk(archive, manifest_name, members, None)
}

/// [`verify`], then extracts every member into `staging`, an empty folder (itself not a link),
/// checking each once more as it is written: the file could change between the two reads. On an
/// error, what was written stays in `staging` for the caller to remove with it.
pub fn extract_verified<M: DeserializeOwned + Serialize>(
    archive: &Path,
    manifest_name: &str,
    members: fn(&M) -> &[Member],
    staging: &Path,
) -> Result<M> {
    let verified: M = verify(archive, manifest_name, members)?;
    check_room(archive, members(&verified).iter().map(|m| m.size), staging)?;
    let root = Root::open_no_link(staging)?;
    if std::fs::read_dir(staging).ctx(|| format!("cannot read {}", staging.display()))?.next().is_some() {
        return Err(Error::conflict(format!("{} is not empty", staging.display()), vec![]));
    }
    let written: M = root.batch(|| walk(archive, manifest_name, members, Some(&root)))?;
    let same = serde_json::to_value(&written).ok() == serde_json::to_value(&verified).ok();
    if !same {
        return Err(Error::conflict(format!("{} changed while it was read", archive.display()), vec![]));
    }
    Ok(written)
}

fn walk<M: DeserializeOwned>(
    archive: &Path,
    manifest_name: &str,
    members: fn(&M) -> &[Member],
    into: Option<&Root>,
) -> Result<M> {
    let mut tar = tar::Archive::new(open(archive, None)?);
    let manifest = {
        let mut entries = tar.entries().map_err(|e| damaged(archive, e))?;
        let manifest: M = first_manifest(&mut entries, archive, manifest_name)?;
        let listed = members(&manifest);
        let expected = check_members(listed, manifest_name, archive)?;
        let mut seen: HashSet<String> = HashSet::new();
        for entry in entries {
            crate::error::check_interrupt()?;
            let mut entry = entry.map_err(|e| damaged(archive, e))?;
            let (name, kind) = member_name(archive, &entry)?;
            match kind {
                MemberKind::File => {}
                MemberKind::Dir => return Err(refused(archive, &name, "is a folder; a container holds only files")),
                MemberKind::Link => return Err(refused(archive, &name, "is a symbolic link")),
            }
            let rel = member_path(archive, &name)?;
            let Some(want) = expected.get(name.as_str()) else {
                return Err(refused(archive, &name, "is not in the manifest"));
            };
            if !seen.insert(name.clone()) {
                return Err(refused(archive, &name, "is in the archive twice"));
            }
            if entry.size() != want.size {
                return Err(refused(archive, &name, "has another size than the manifest says"));
            }
            let sha256 = match into {
                Some(root) => {
                    if let Some(parent) = rel.parent().filter(|p| !p.is_root()) {
                        root.create_dir_all(&parent)?;
                    }
                    let file = root.create_file(&rel, 0o600)?;
                    let mut w = HashingWriter::new(&file);
                    io::copy(&mut entry, &mut w).map_err(|e| damaged(archive, e))?;
                    w.hex()
                }
                None => {
                    let mut w = HashingWriter::new(io::sink());
                    io::copy(&mut entry, &mut w).map_err(|e| damaged(archive, e))?;
                    w.hex()
                }
            };
            if sha256 != want.sha256 {
                return Err(refused(archive, &name, "differs from the manifest (sha256)"));
            }
        }
        if let Some(missing) = listed.iter().find(|m| !seen.contains(&m.path)) {
            return Err(refused(archive, &missing.path, "is missing"));
        }
        manifest
    };
    // To the end of the stream: gzip's checksum is checked there.
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(|e| damaged(archive, e))?;
    Ok(manifest)
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
