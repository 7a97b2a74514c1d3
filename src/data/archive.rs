//! The archive format of backups (and later exports): a gzip-compressed tar whose first member,
//! `atk-archive.json`, is the [`ArchiveManifest`]: every folder, file (size, sha256, mode) and link
//! (target) that follows, in the order they follow. With a passphrase the whole archive is
//! encrypted in the age format (scrypt passphrase recipient).
//!
//! * [`pack`] archives a folder tree: regular files with their permission bits (set-user,
//!   set-group and sticky bits are dropped), folders, and links whose target stays inside the
//!   tree. A link leading out, a device, a FIFO or a socket is refused with an error naming it.
//!   The archive is written to a temporary file beside its path, 0600, and renamed into place.
//! * [`verify`] reads the whole archive and checks every member against the manifest before
//!   anything is written anywhere: a changed byte, a member added, missing or renamed, a path that
//!   is absolute or has `..`, a link leading out, a member below a link, a hard link, a device
//!   node or a FIFO is an error naming the member.
//! * [`extract_verified`] verifies, then reads the archive again into an empty staging folder,
//!   checking everything once more as it writes (the file could change between the two reads).
//!   Every write goes through a [`Root`]: no link is ever followed, nothing lands outside.
//!
//! A folder named `.git` is neither archived nor extracted ([`Root::entries`] leaves it out).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::fs::{Kind, RelPath, Root};
use crate::text::escape;

/// The format this atk writes and reads.
pub const FORMAT: u32 = 1;
/// The archive's first member.
pub const MANIFEST_NAME: &str = "atk-archive.json";
/// The most of a manifest atk reads (a million files take about 200 MB; a backup holds far fewer).
pub(super) const MANIFEST_CAP: u64 = 64 << 20;
/// Folders nested deeper than this are refused (the walk must not exhaust the stack).
const MAX_DEPTH: usize = 256;
const AGE_MAGIC: &[u8] = super::age::MAGIC;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// scrypt's work factor (log2 of N) for a new encrypted archive: about a second on a laptop.
pub const DEFAULT_WORK_FACTOR: u8 = 18;
/// The highest work factor atk accepts when it decrypts (a hostile archive must not make it spend
/// minutes and gigabytes).
const MAX_WORK_FACTOR: u8 = 20;

/// What an archive holds, written as its first member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    pub format: u32,
    pub atk_version: String,
    /// RFC 3339.
    pub created: String,
    pub plugin: ArchivedPlugin,
    /// Every member after the manifest, in archive order; a folder comes before what it holds.
    pub files: Vec<ArchivedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedPlugin {
    pub directory: String,
    /// The commit the plugin was at (none for a local plugin).
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    File,
    Dir,
    Link,
}

impl MemberKind {
    fn word(self) -> &'static str {
        match self {
            MemberKind::File => "file",
            MemberKind::Dir => "folder",
            MemberKind::Link => "link",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedFile {
    /// Relative, `/`-separated, no `.` or `..`.
    pub path: String,
    pub kind: MemberKind,
    /// Bytes (0 for folders and links).
    pub size: u64,
    /// Hex, files only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Permission bits (0o777 at most; 0o777 for links).
    pub mode: u32,
    /// A link's target, relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What [`pack`] records beside the files.
#[derive(Debug, Clone)]
pub struct PackMeta {
    pub atk_version: String,
    pub created: jiff::Timestamp,
    pub plugin: ArchivedPlugin,
}

/// A passphrase to encrypt an archive with, and scrypt's work factor.
pub struct Encryption {
    passphrase: String,
    work_factor: u8,
}

impl Encryption {
    pub fn new(passphrase: &str) -> Encryption {
        Encryption { passphrase: passphrase.to_string(), work_factor: DEFAULT_WORK_FACTOR }
    }

    /// scrypt's work factor, log2 of N (the tests use a low one).
    pub fn with_work_factor(mut self, log_n: u8) -> Encryption {
        self.work_factor = log_n;
        self
    }
}

/// A refusal of the archive `archive` because of its member `member`.
pub(super) fn refused(archive: &Path, member: &str, why: impl std::fmt::Display) -> Error {
    Error::unsafe_path(
        format!("{}: member '{}' {why}", archive.display(), escape(member)),
        vec!["the archive was changed or damaged after atk wrote it; use another one".into()],
    )
}

pub(super) fn damaged(archive: &Path, e: io::Error) -> Error {
    Error::damaged(
        format!("{} is damaged or not an atk archive: {e}", archive.display()),
        vec!["use another archive".into()],
    )
}

/// Archives the tree of `source` (the folders and files `keep` takes; a folder it does not take is
/// left out whole) into a new archive at `out`, encrypted when `encryption` is given. Returns the
/// manifest written.
pub fn pack(
    source: &Root,
    keep: &dyn Fn(&RelPath, Kind) -> bool,
    meta: &PackMeta,
    out: &Path,
    encryption: Option<&Encryption>,
) -> Result<ArchiveManifest> {
    let mut files = Vec::new();
    source.batch(|| list(source, keep, &RelPath::root(), 0, &mut files))?;
    let manifest = ArchiveManifest {
        format: FORMAT,
        atk_version: meta.atk_version.clone(),
        created: meta.created.to_string(),
        plugin: meta.plugin.clone(),
        files,
    };
    // What pack wrote, verify must take: the same rules, checked once more.
    check_manifest(&manifest, out)?;
    write_archive(source, &manifest, meta.created.as_second().max(0) as u64, out, encryption)?;
    Ok(manifest)
}

fn list(
    src: &Root,
    keep: &dyn Fn(&RelPath, Kind) -> bool,
    rel: &RelPath,
    depth: usize,
    out: &mut Vec<ArchivedFile>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::unsafe_path(
            format!("{} has folders nested deeper than {MAX_DEPTH}", src.abs(rel).display()),
            vec![],
        ));
    }
    for (name, kind) in src.entries(rel)? {
        crate::error::check_interrupt()?;
        let child = rel.join(&name).map_err(|e| Error::unsafe_path(e.to_string(), vec![]))?;
        if !keep(&child, kind) {
            continue;
        }
        let path = child.as_str().to_string();
        match kind {
            Kind::Dir => {
                let mode = src.mode(&child)? & 0o777;
                out.push(ArchivedFile { path, kind: MemberKind::Dir, size: 0, sha256: None, mode, link: None });
                list(src, keep, &child, depth + 1, out)?;
            }
            Kind::File { .. } => {
                let (mut file, size, mode) = src.open_file(&child)?;
                let mut hasher = HashingWriter::new(io::sink());
                let read =
                    io::copy(&mut file, &mut hasher).ctx(|| format!("cannot read {}", src.abs(&child).display()))?;
                if read != size {
                    return Err(changed(src, &child));
                }
                let sha256 = Some(hasher.hex());
                out.push(ArchivedFile { path, kind: MemberKind::File, size, sha256, mode: mode & 0o777, link: None });
            }
            Kind::Link => {
                let target = src.read_link(&child)?;
                if target.has_root() || src.link_escapes(&child, &target) {
                    return Err(Error::unsafe_path(
                        format!(
                            "{} links to {}, outside {}; an archive keeps only links inside its folder",
                            src.abs(&child).display(),
                            target.display(),
                            src.path().display()
                        ),
                        vec!["replace the link with what it points at, or remove it".into()],
                    ));
                }
                let Some(target) = target.to_str() else {
                    return Err(Error::unsafe_path(
                        format!("{} links to a path that is not UTF-8", src.abs(&child).display()),
                        vec![],
                    ));
                };
                out.push(ArchivedFile {
                    path,
                    kind: MemberKind::Link,
                    size: 0,
                    sha256: None,
                    mode: 0o777,
                    link: Some(target.to_string()),
                });
            }
            Kind::Other => {
                return Err(Error::unsafe_path(
                    format!(
                        "{} is a device, a FIFO or a socket; an archive holds only files, folders and links",
                        src.abs(&child).display()
                    ),
                    vec!["remove it, or leave it out of what the plugin's data is".into()],
                ))
            }
        }
    }
    Ok(())
}

fn changed(src: &Root, rel: &RelPath) -> Error {
    Error::conflict(
        format!("{} changed while it was archived", src.abs(rel).display()),
        vec!["stop what writes there, then try again".into()],
    )
}

/// A writer that hashes what goes through it.
pub(super) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub(super) fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new() }
    }

    pub(super) fn hex(self) -> String {
        hex(&self.hasher.finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what goes through it.
pub(super) struct HashingReader<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the compressed tar goes: the file, or an age stream into it.
enum Sink<'a> {
    Plain(&'a std::fs::File),
    Age(super::age::Writer<&'a std::fs::File>),
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

impl Sink<'_> {
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(_) => Ok(()),
            Sink::Age(w) => w.finish().map(|_| ()),
        }
    }
}

pub(super) fn header(kind: tar::EntryType, size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn write_archive(
    source: &Root,
    manifest: &ArchiveManifest,
    mtime: u64,
    out: &Path,
    encryption: Option<&Encryption>,
) -> Result<()> {
    let ctx = || format!("cannot write {}", out.display());
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(&crate::fs::temp_name()).rand_bytes(0).tempfile_in(dir).ctx(ctx)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600)).ctx(ctx)?;
    let sink = match encryption {
        None => Sink::Plain(tmp.as_file()),
        Some(e) => Sink::Age(super::age::Writer::new(tmp.as_file(), &e.passphrase, e.work_factor).ctx(ctx)?),
    };
    let mut tar = tar::Builder::new(GzEncoder::new(sink, Compression::default()));
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
    let mut h = header(tar::EntryType::Regular, json.len() as u64, 0o600, mtime);
    tar.append_data(&mut h, MANIFEST_NAME, &json[..]).ctx(ctx)?;
    source.batch(|| -> Result<()> {
        for f in &manifest.files {
            crate::error::check_interrupt()?;
            let rel = RelPath::new(&f.path).expect("checked by check_manifest");
            match f.kind {
                MemberKind::Dir => {
                    let mut h = header(tar::EntryType::Directory, 0, f.mode, mtime);
                    tar.append_data(&mut h, &f.path, io::empty()).ctx(ctx)?;
                }
                MemberKind::Link => {
                    let mut h = header(tar::EntryType::Symlink, 0, f.mode, mtime);
                    let target = f.link.as_deref().expect("a link has a target");
                    tar.append_link(&mut h, &f.path, target).ctx(ctx)?;
                }
                MemberKind::File => {
                    let (file, _, _) = source.open_file(&rel)?;
                    let mut reader = HashingReader { inner: file.take(f.size), hasher: Sha256::new() };
                    let mut h = header(tar::EntryType::Regular, f.size, f.mode, mtime);
                    tar.append_data(&mut h, &f.path, &mut reader).ctx(ctx)?;
                    let HashingReader { inner, hasher } = reader;
                    let mut rest = [0u8; 1];
                    let grew = inner.into_inner().read(&mut rest).ctx(ctx)? != 0;
                    if grew || Some(hex(&hasher.finalize())) != f.sha256 {
                        return Err(changed(source, &rel));
                    }
                }
            }
        }
        Ok(())
    })?;
    let sink = tar.into_inner().ctx(ctx)?.finish().ctx(ctx)?;
    sink.finish().ctx(ctx)?;
    tmp.as_file().sync_all().ctx(ctx)?;
    tmp.persist(out).map_err(|e| Error::io(ctx(), e.error))?;
    Ok(())
}

/// Checks the manifest itself: the format, every path a checked relative path, listed once, its
/// folder a folder listed before it, modes without special bits, a sha256 for each file, and
/// every link's target inside the tree (resolved through the manifest's other links). Returns the
/// entries by path.
fn check_manifest<'m>(m: &'m ArchiveManifest, archive: &Path) -> Result<HashMap<&'m str, &'m ArchivedFile>> {
    if m.format != FORMAT {
        return Err(Error::damaged(
            format!("{} is in archive format {}; this atk reads format {FORMAT}", archive.display(), m.format),
            vec!["use the atk that wrote it, or a newer one".into()],
        ));
    }
    let mut by_path: HashMap<&str, &ArchivedFile> = HashMap::new();
    let mut paths = Vec::new();
    for f in &m.files {
        let rel = member_path(archive, &f.path)?;
        if f.path == MANIFEST_NAME {
            return Err(refused(archive, &f.path, "has the manifest's name"));
        }
        if f.mode & !0o777 != 0 {
            return Err(refused(archive, &f.path, format!("has mode {:o}, with special bits", f.mode)));
        }
        let shape_ok = match f.kind {
            MemberKind::File => {
                f.link.is_none()
                    && f.sha256.as_ref().is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            }
            MemberKind::Dir => f.link.is_none() && f.sha256.is_none() && f.size == 0,
            MemberKind::Link => f.link.is_some() && f.sha256.is_none() && f.size == 0,
        };
        if !shape_ok {
            return Err(refused(archive, &f.path, format!("is not described as a {} is", f.kind.word())));
        }
        if by_path.insert(&f.path, f).is_some() {
            return Err(refused(archive, &f.path, "is listed twice"));
        }
        paths.push(rel);
    }
    let links: HashMap<&str, &str> =
        m.files.iter().filter_map(|f| Some((f.path.as_str(), f.link.as_deref()?))).collect();
    for (path, target) in &links {
        if !link_stays_inside(&links, path, target) {
            return Err(refused(archive, path, format!("links to {}, outside the archive", escape(target))));
        }
    }
    // A folder comes before what it holds, and nothing is below a link or a file.
    let mut before: HashSet<&str> = HashSet::new();
    for (f, rel) in m.files.iter().zip(&paths) {
        if let Some(parent) = rel.parent().filter(|p| !p.is_root()) {
            if !before.contains(parent.as_str()) {
                return Err(refused(
                    archive,
                    &f.path,
                    format!("is below '{}', which is not a folder listed before it", escape(parent.as_str())),
                ));
            }
        }
        if f.kind == MemberKind::Dir {
            before.insert(&f.path);
        }
    }
    Ok(by_path)
}

/// The checked relative path of a member (not empty, not absolute, no `.`, `..` or empty names).
pub(super) fn member_path(archive: &Path, path: &str) -> Result<RelPath> {
    match RelPath::new(path) {
        Ok(rel) if !rel.is_root() => Ok(rel),
        Ok(_) => Err(refused(archive, path, "has an empty path")),
        Err(bad) => Err(refused(archive, path, format!("has a path atk refuses ({})", bad.why))),
    }
}

/// Whether the link `path` with `target` leads somewhere inside the tree, following the other
/// links of the archive (at most 40), as `Root::link_escapes` does on disk.
fn link_stays_inside(links: &HashMap<&str, &str>, path: &str, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut at: Vec<&str> = path.split('/').collect();
    at.pop();
    let mut pending: VecDeque<&str> = target.split('/').collect();
    let mut hops = 0;
    while let Some(c) = pending.pop_front() {
        match c {
            "" | "." => {}
            ".." => {
                if at.pop().is_none() {
                    return false;
                }
            }
            name => {
                at.push(name);
                if let Some(next) = links.get(at.join("/").as_str()) {
                    hops += 1;
                    if hops > 40 || next.is_empty() || next.starts_with('/') {
                        return false;
                    }
                    at.pop();
                    for p in next.split('/').rev() {
                        pending.push_front(p);
                    }
                }
            }
        }
    }
    true
}

/// Whether the archive at `archive` is encrypted (age), from its first bytes.
pub fn is_encrypted(archive: &Path) -> Result<bool> {
    let mut file = crate::fs::read::open_regular(archive, crate::fs::Links::Follow)?;
    let mut head = [0u8; 22];
    let n = file.read(&mut head).ctx(|| format!("cannot read {}", archive.display()))?;
    Ok(head[..n].starts_with(AGE_MAGIC))
}

/// What the tar member `name` of type `kind` is: a file, a folder or a link; anything else (a
/// hard link, a device node, a FIFO, a type atk never writes) is refused, naming it.
pub(super) fn member_kind(archive: &Path, name: &str, kind: tar::EntryType) -> Result<MemberKind> {
    match kind {
        tar::EntryType::Regular => Ok(MemberKind::File),
        tar::EntryType::Directory => Ok(MemberKind::Dir),
        tar::EntryType::Symlink => Ok(MemberKind::Link),
        tar::EntryType::Link => Err(refused(archive, name, "is a hard link")),
        tar::EntryType::Char | tar::EntryType::Block => Err(refused(archive, name, "is a device node")),
        tar::EntryType::Fifo => Err(refused(archive, name, "is a FIFO")),
        other => Err(refused(archive, name, format!("has a type atk never writes ({other:?})"))),
    }
}

/// The name and kind of the tar member `entry`: a file, a folder or a link with a UTF-8 name;
/// anything else is refused, naming it (see [`member_kind`]).
pub(super) fn member_name<R: Read>(archive: &Path, entry: &tar::Entry<'_, R>) -> Result<(String, MemberKind)> {
    let raw = entry.path_bytes();
    let name = String::from_utf8_lossy(&raw).into_owned();
    let kind = member_kind(archive, &name, entry.header().entry_type())?;
    if std::str::from_utf8(&raw).is_err() {
        return Err(refused(archive, &name, "has a name that is not UTF-8"));
    }
    Ok((name, kind))
}

/// The archive's tar stream, decrypted when it is encrypted.
pub(super) fn open(archive: &Path, passphrase: Option<&str>) -> Result<Box<dyn Read>> {
    let file = crate::fs::read::open_regular(archive, crate::fs::Links::Follow)?;
    let mut reader = BufReader::new(file);
    let head = reader.fill_buf().ctx(|| format!("cannot read {}", archive.display()))?;
    if head.starts_with(GZIP_MAGIC) {
        return Ok(Box::new(GzDecoder::new(reader)));
    }
    if !head.starts_with(AGE_MAGIC) {
        return Err(damaged(archive, io::Error::other("it is neither gzip nor age")));
    }
    let Some(passphrase) = passphrase else {
        return Err(Error::usage(
            format!("{} is encrypted; a passphrase is needed to read it", archive.display()),
            Some("give the passphrase it was written with".into()),
        ));
    };
    match super::age::decrypt(reader, passphrase, MAX_WORK_FACTOR) {
        Ok(stream) => Ok(Box::new(GzDecoder::new(stream))),
        Err(super::age::DecryptError::WrongPassphrase) => Err(Error::Usage {
            message: format!("wrong passphrase for {}", archive.display()),
            hint: Some("give the passphrase it was written with".into()),
        }),
        Err(super::age::DecryptError::Invalid(why)) => Err(damaged(archive, io::Error::other(why))),
        Err(super::age::DecryptError::Io(e)) => Err(damaged(archive, e)),
    }
}

/// Reads the whole archive and checks every member against its manifest; nothing is written.
pub fn verify(archive: &Path, passphrase: Option<&str>) -> Result<ArchiveManifest> {
    walk(archive, passphrase, None)
}

/// Verifies the archive, then extracts it into `staging`, an empty folder (itself not a link),
/// checking every member again as it writes. On an error, what was written stays in `staging`
/// for the caller to remove with it.
pub fn extract_verified(archive: &Path, passphrase: Option<&str>, staging: &Path) -> Result<ArchiveManifest> {
    let verified = verify(archive, passphrase)?;
    check_room(archive, verified.files.iter().map(|f| f.size), staging)?;
    let root = Root::open_no_link(staging)?;
    if std::fs::read_dir(staging).ctx(|| format!("cannot read {}", staging.display()))?.next().is_some() {
        return Err(Error::conflict(format!("{} is not empty", staging.display()), vec![]));
    }
    let written = root.batch(|| walk(archive, passphrase, Some(&root)))?;
    if written != verified {
        return Err(Error::conflict(format!("{} changed while it was read", archive.display()), vec![]));
    }
    Ok(written)
}

/// What an archive unpacks to is known once it is verified: one that would fill the disk of
/// `staging` (a gzip bomb, or a backup bigger than the room left) is refused before a byte is
/// written.
pub(super) fn check_room(archive: &Path, sizes: impl Iterator<Item = u64>, staging: &Path) -> Result<()> {
    let total = sizes.fold(0, u64::saturating_add);
    let Ok(fs) = rustix::fs::statvfs(staging) else { return Ok(()) };
    let free = fs.f_bavail.saturating_mul(fs.f_frsize);
    if total <= free {
        return Ok(());
    }
    Err(Error::Other {
        message: format!(
            "{} unpacks to {total} bytes, more than the {free} free on the disk of {}",
            archive.display(),
            staging.display()
        ),
        hints: vec!["make room on that disk, then try again".into()],
    })
}

/// The first member of the tar `entries` of `archive`: its manifest `name` (a regular file of at
/// most [`MANIFEST_CAP`]), read as JSON.
pub(super) fn first_manifest<M: serde::de::DeserializeOwned, R: Read>(
    entries: &mut tar::Entries<'_, R>,
    archive: &Path,
    name: &str,
) -> Result<M> {
    let mut first = match entries.next() {
        Some(first) => first.map_err(|e| damaged(archive, e))?,
        None => return Err(damaged(archive, io::Error::other("it is empty"))),
    };
    if &*first.path_bytes() != name.as_bytes()
        || first.header().entry_type() != tar::EntryType::Regular
        || first.size() > MANIFEST_CAP
    {
        return Err(damaged(archive, io::Error::other(format!("its first member is not {name}"))));
    }
    let mut json = Vec::new();
    first.read_to_end(&mut json).map_err(|e| damaged(archive, e))?;
    serde_json::from_slice(&json).map_err(|e| damaged(archive, io::Error::other(format!("{name}: {e}"))))
}

fn walk(archive: &Path, passphrase: Option<&str>, into: Option<&Root>) -> Result<ArchiveManifest> {
    let mut tar = tar::Archive::new(open(archive, passphrase)?);
    let manifest = {
        let mut entries = tar.entries().map_err(|e| damaged(archive, e))?;
        let manifest: ArchiveManifest = first_manifest(&mut entries, archive, MANIFEST_NAME)?;
        let expected = check_manifest(&manifest, archive)?;
        let mut seen: HashSet<String> = HashSet::new();
        for entry in entries {
            crate::error::check_interrupt()?;
            let mut entry = entry.map_err(|e| damaged(archive, e))?;
            let (name, kind) = member_name(archive, &entry)?;
            let path = match kind {
                MemberKind::Dir => name.strip_suffix('/').unwrap_or(&name),
                _ => &name,
            };
            let rel = member_path(archive, path)?;
            let Some(want) = expected.get(path) else {
                return Err(refused(archive, path, "is not in the manifest"));
            };
            if !seen.insert(path.to_string()) {
                return Err(refused(archive, path, "is in the archive twice"));
            }
            if let Some(parent) = rel.parent().filter(|p| !p.is_root()) {
                if !seen.contains(parent.as_str()) {
                    return Err(refused(archive, path, "comes before its folder"));
                }
            }
            if want.kind != kind {
                return Err(refused(
                    archive,
                    path,
                    format!("is a {} but the manifest says a {}", kind.word(), want.kind.word()),
                ));
            }
            let mode = entry.header().mode().map_err(|e| damaged(archive, e))?;
            if mode != want.mode {
                return Err(refused(archive, path, format!("has mode {mode:o}, the manifest says {:o}", want.mode)));
            }
            match kind {
                MemberKind::Dir => {
                    if let Some(root) = into {
                        root.create_dir(&rel)?;
                    }
                }
                MemberKind::Link => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                    if target.as_deref() != want.link.as_deref() {
                        return Err(refused(archive, path, "links elsewhere than the manifest says"));
                    }
                    if let Some(root) = into {
                        root.symlink(Path::new(target.as_deref().unwrap_or_default()), &rel)?;
                    }
                }
                MemberKind::File => {
                    if entry.size() != want.size {
                        return Err(refused(archive, path, "has another size than the manifest says"));
                    }
                    let sha256 = match into {
                        Some(root) => {
                            let file = root.create_file(&rel, 0o600)?;
                            let mut w = HashingWriter::new(&file);
                            io::copy(&mut entry, &mut w).map_err(|e| damaged(archive, e))?;
                            file.set_permissions(std::fs::Permissions::from_mode(want.mode))
                                .ctx(|| format!("cannot write {}", root.abs(&rel).display()))?;
                            w.hex()
                        }
                        None => {
                            let mut w = HashingWriter::new(io::sink());
                            io::copy(&mut entry, &mut w).map_err(|e| damaged(archive, e))?;
                            w.hex()
                        }
                    };
                    if Some(&sha256) != want.sha256.as_ref() {
                        return Err(refused(archive, path, "differs from the manifest (sha256)"));
                    }
                }
            }
        }
        if let Some(missing) = manifest.files.iter().find(|f| !seen.contains(&f.path)) {
            return Err(refused(archive, &missing.path, "is missing"));
        }
        manifest
    };
    // To the end of the stream: gzip's checksum and age's last chunk are checked there.
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(|e| damaged(archive, e))?;
    if let Some(root) = into {
        // Last, as a read-only folder could not have been written into.
        for f in manifest.files.iter().rev().filter(|f| f.kind == MemberKind::Dir) {
            root.set_mode(&RelPath::new(&f.path).expect("checked"), f.mode)?;
        }
    }
    Ok(manifest)
}

#[cfg(test)]
#[path = "archive_tests.rs"]
pub(super) mod tests;
