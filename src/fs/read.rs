//! The one way atk reads a file. A plugin folder and a home are written by others (a plugin's own
//! commands, whoever made a cloned home), so a file atk expects may be a FIFO (opening it for
//! reading waits for a writer for ever), a device (`/dev/zero` never ends), a socket, a folder, a
//! link out of its folder, or a 2 GB file. Every read therefore:
//! * looks at what is there before opening it, so that a device or a FIFO is never even opened
//!   when it is already there;
//! * opens without blocking (`O_NONBLOCK`, `O_NOCTTY`, `O_CLOEXEC`) and, as the caller asks,
//!   without following a link at all ([`Links::Refuse`], and every [`super::Root`] walk) or
//!   following only links that stay inside the root ([`super::Root::read_inside`]) or, for an
//!   agent's file in the user's home that a dotfiles tool may link, wherever they lead
//!   ([`Links::Follow`]);
//! * checks what was opened (`fstat` of the descriptor: what is read is what was checked) to be
//!   a regular file;
//! * reads at most the [`Cap`] of that kind of file plus one byte, to tell an over-size file
//!   without trusting its size, and never allocates by the size it claims.
//!
//! Anything else is [`Error::Unreadable`], naming the path and what is there; never a hang.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Error, Result};

/// Every open for reading; a link is refused by adding `NOFOLLOW`.
pub(super) const READ_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::NONBLOCK).union(OFlags::NOCTTY).union(OFlags::CLOEXEC);

const MIB: u64 = 1 << 20;

/// `plugin.yaml`, `custom/overrides.yaml`, a definition named on the command line: the registry's
/// largest is a few kB.
const DEFINITION_CAP: u64 = 4 * MIB;
/// A plugin's `.env`: a few dozen `KEY=value` lines in practice.
const ENV_CAP: u64 = 4 * MIB;
/// A plugin's `README.md`, as `atk help` has always capped it.
const README_CAP: u64 = 4 * MIB;
/// Any other file of a plugin folder that atk copies, compares or commits: GitHub refuses a file
/// over 100 MiB, so no plugin from a repository ships a bigger one.
const PLUGIN_FILE_CAP: u64 = 100 * MIB;
/// `manifest.yaml` (and `.gitignore`) at the top of a home: a few lines per plugin.
const MANIFEST_CAP: u64 = 32 * MIB;
/// atk's own state: the transaction journal, the agents record, a `.atk-ref`, the registry's
/// cached index.
const STATE_CAP: u64 = 64 * MIB;
/// The home repository's `.git/index` (about a hundred bytes per tracked file).
const GIT_INDEX_CAP: u64 = 256 * MIB;
/// An agent's configuration in the user's home: `~/.claude.json` keeps a history per project and
/// reaches tens of MB.
const AGENT_CONFIG_CAP: u64 = 128 * MIB;
/// Another tool's settings that atk reads to ask the registries the user's tools ask (`~/.npmrc`,
/// docker's `config.json`).
const TOOL_CONFIG_CAP: u64 = 16 * MIB;

/// What kind of file is read: its size cap, and whom a refusal is about (a plugin's file makes a
/// refusal a broken plugin, exit 5; the others are the home's or the user's, exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    Definition,
    Env,
    Readme,
    PluginFile,
    Manifest,
    State,
    GitIndex,
    AgentConfig,
    ToolConfig,
}

impl Cap {
    const fn bytes(self) -> u64 {
        match self {
            Cap::Definition => DEFINITION_CAP,
            Cap::Env => ENV_CAP,
            Cap::Readme => README_CAP,
            Cap::PluginFile => PLUGIN_FILE_CAP,
            Cap::Manifest => MANIFEST_CAP,
            Cap::State => STATE_CAP,
            Cap::GitIndex => GIT_INDEX_CAP,
            Cap::AgentConfig => AGENT_CONFIG_CAP,
            Cap::ToolConfig => TOOL_CONFIG_CAP,
        }
    }

    /// Whether the file belongs to a plugin (its folder or its definition).
    const fn of_plugin(self) -> bool {
        matches!(self, Cap::Definition | Cap::Env | Cap::Readme | Cap::PluginFile)
    }

    /// The file, in a sentence ("the most atk reads of {this}").
    fn what(self) -> &'static str {
        match self {
            Cap::Definition => "a plugin definition",
            Cap::Env => "a .env file",
            Cap::Readme => "a README",
            Cap::PluginFile => "a plugin's file",
            Cap::Manifest => "a home's top file",
            Cap::State => "a file of atk's state",
            Cap::GitIndex => "a git index",
            Cap::AgentConfig => "an agent's configuration",
            Cap::ToolConfig => "a tool's settings",
        }
    }
}

/// What [`read`] does with a link at the path (the folders above it are the caller's to trust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// A link there is refused.
    Refuse,
    /// A link there is followed wherever it leads: only for a file the user owns and may manage
    /// with links (an agent's configuration, a path given on the command line).
    Follow,
}

/// The refusal of what is at `path`.
pub(super) fn refuse(path: &Path, cap: Cap, why: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Unreadable { path: path.to_path_buf(), why: why.into(), hint: hint.into(), of_plugin: cap.of_plugin() }
}

/// A link where none may be.
pub(super) fn link_refused(path: &Path, cap: Cap) -> Error {
    refuse(path, cap, "it is a symbolic link; atk never reads through one", "replace the link with the file itself")
}

/// A link that leads out of the folder `root`.
pub(super) fn link_out(path: &Path, root: &Path, cap: Cap) -> Error {
    let folder = if cap.of_plugin() { "the plugin folder".to_string() } else { root.display().to_string() };
    refuse(
        path,
        cap,
        format!("it is a symbolic link that leads out of {folder}"),
        "replace the link with the file itself",
    )
}

/// What a status says is there, in words, unless it is a regular file.
fn not_a_file(st: &rustix::fs::Stat) -> Option<&'static str> {
    Some(match FileType::from_raw_mode(st.st_mode as _) {
        FileType::RegularFile => return None,
        FileType::Directory => "a folder",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Symlink => "a symbolic link",
        FileType::Unknown => "not a file",
    })
}

/// What is at `path` (through links when `links` says so), in words, unless it is a regular file
/// or nothing; nothing is opened.
pub fn describe(path: &Path, links: Links) -> Option<&'static str> {
    match links {
        Links::Refuse => rustix::fs::lstat(path),
        Links::Follow => rustix::fs::stat(path),
    }
    .ok()
    .and_then(|st| not_a_file(&st))
}

/// Refuses anything but a regular file of at most the cap, from its status.
pub(super) fn check(st: &rustix::fs::Stat, path: &Path, cap: Cap) -> Result<()> {
    match not_a_file(st) {
        // A file that says it is too big is; a file that says it is small is read up to the cap
        // all the same.
        None if st.st_size as u64 > cap.bytes() => Err(too_big(path, cap)),
        None => Ok(()),
        Some(_) if FileType::from_raw_mode(st.st_mode as _) == FileType::Symlink => Err(link_refused(path, cap)),
        Some(what) => Err(refuse(
            path,
            cap,
            format!("it is {what}, not a regular file"),
            "remove it or replace it with a regular file",
        )),
    }
}

fn too_big(path: &Path, cap: Cap) -> Error {
    refuse(
        path,
        cap,
        format!("it is bigger than {} MiB, the most atk reads of {}", cap.bytes() / MIB, cap.what()),
        match cap {
            Cap::PluginFile => {
                "keep files this big out of the plugin folder: the home is a git repository (and GitHub refuses \
                 a file over 100 MiB)"
            }
            _ => "remove it or replace it with the file it should be",
        },
    )
}

/// Reads what `fd` (opened with [`READ_FLAGS`]) is, if it is a regular file within the cap.
pub(super) fn read_opened(fd: OwnedFd, path: &Path, cap: Cap) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::io(format!("cannot read {}", path.display()), e);
    let st = rustix::fs::fstat(&fd).map_err(|e| io(e.into()))?;
    check(&st, path, cap)?;
    let mut data = Vec::new();
    std::fs::File::from(fd).take(cap.bytes() + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > cap.bytes() {
        return Err(too_big(path, cap));
    }
    Ok(data)
}

/// Reads the regular file at `path` (`None`: nothing is there), as the module says.
pub fn read(path: &Path, links: Links, cap: Cap) -> Result<Option<Vec<u8>>> {
    let io = |e: rustix::io::Errno| Error::io(format!("cannot read {}", path.display()), e.into());
    let looked = match links {
        Links::Refuse => rustix::fs::lstat(path),
        Links::Follow => rustix::fs::stat(path),
    };
    match looked {
        Ok(st) => check(&st, path, cap)?,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    let flags = match links {
        Links::Refuse => READ_FLAGS | OFlags::NOFOLLOW,
        Links::Follow => READ_FLAGS,
    };
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => read_opened(fd, path, cap).map(Some),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(rustix::io::Errno::LOOP) if links == Links::Refuse => Err(link_refused(path, cap)),
        Err(e) => Err(io(e)),
    }
}

/// Opens the regular file at `path` to stream it (an archive: no cap), following a link only when
/// `links` says so; a FIFO, a device, a folder or a socket is refused before it is opened, and
/// what was opened is checked again.
pub fn open_regular(path: &Path, links: Links) -> Result<std::fs::File> {
    let io = |e: rustix::io::Errno| Error::io(format!("cannot read {}", path.display()), e.into());
    let refused = |what: &str| Error::Unreadable {
        path: path.to_path_buf(),
        why: format!("it is {what}, not a regular file"),
        hint: "give the path of the file itself".into(),
        of_plugin: false,
    };
    let looked = match links {
        Links::Refuse => rustix::fs::lstat(path),
        Links::Follow => rustix::fs::stat(path),
    };
    if let Some(what) = not_a_file(&looked.map_err(io)?) {
        return Err(refused(what));
    }
    let flags = match links {
        Links::Refuse => READ_FLAGS | OFlags::NOFOLLOW,
        Links::Follow => READ_FLAGS,
    };
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(io)?;
    if let Some(what) = not_a_file(&rustix::fs::fstat(&fd).map_err(io)?) {
        return Err(refused(what));
    }
    Ok(std::fs::File::from(fd))
}

/// [`read`] as UTF-8 text.
pub fn read_text(path: &Path, links: Links, cap: Cap) -> Result<Option<String>> {
    read(path, links, cap)?.map(|bytes| utf8(bytes, path, cap)).transpose()
}

/// The text of `bytes` read from `path`.
pub fn utf8(bytes: Vec<u8>, path: &Path, cap: Cap) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        refuse(path, cap, "it is not UTF-8 text", "save it as UTF-8, or replace it with the file it should be")
    })
}

/// Opens `path` for writing (creating it when missing) as a regular file atk keeps open: a lock
/// file, the journal. Never blocks on a FIFO there (`O_NONBLOCK`: with no reader the open fails,
/// and with one the check refuses it), never follows a link there, and truncates (`truncate`)
/// only once the descriptor is known to be a regular file.
pub fn open_for_writing(path: &Path, truncate: bool) -> Result<std::fs::File> {
    let cap = Cap::State;
    let io = |e: rustix::io::Errno| Error::io(format!("cannot open {}", path.display()), e.into());
    if let Ok(st) = rustix::fs::lstat(path) {
        check_writable(&st, path, cap)?;
    }
    let flags =
        OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o666)).map_err(|e| match e {
        rustix::io::Errno::LOOP => link_refused(path, cap),
        e => io(e),
    })?;
    check_writable(&rustix::fs::fstat(&fd).map_err(io)?, path, cap)?;
    let file = std::fs::File::from(fd);
    if truncate {
        file.set_len(0).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    Ok(file)
}

/// A file atk writes and keeps: a regular file of any size.
fn check_writable(st: &rustix::fs::Stat, path: &Path, cap: Cap) -> Result<()> {
    if FileType::from_raw_mode(st.st_mode as _) == FileType::RegularFile {
        return Ok(());
    }
    check(st, path, cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mkfifo(p: &Path) {
        rustix::fs::mknodat(rustix::fs::CWD, p, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
    }

    /// `f` in a thread, failing the test if it has not returned within a few seconds (a read that
    /// blocks on a FIFO would hang the test otherwise).
    fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(Duration::from_secs(5)).expect("returned within 5 s")
    }

    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(".env");
        mkfifo(&p);
        let start = Instant::now();
        let e = bounded({
            let p = p.clone();
            move || read(&p, Links::Refuse, Cap::Env).unwrap_err()
        });
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::PLUGIN_INVALID);
        // Also when it is opened (the look before is skipped): the fstat refuses it.
        let opened = bounded({
            let p = p.clone();
            move || {
                let fd = rustix::fs::open(&p, READ_FLAGS, Mode::empty()).unwrap();
                read_opened(fd, &p, Cap::State).unwrap_err().to_string()
            }
        });
        assert!(opened.contains("FIFO"), "{opened}");
        // Writing a lock or journal there neither blocks nor writes into it.
        let written = bounded(move || open_for_writing(&p, true).unwrap_err().to_string());
        assert!(written.contains("FIFO"), "{written}");
    }

    #[test]
    fn the_cap_is_read_not_trusted() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("plugin.yaml");
        std::fs::write(&p, vec![b'a'; DEFINITION_CAP as usize]).unwrap();
        assert_eq!(read(&p, Links::Refuse, Cap::Definition).unwrap().unwrap().len() as u64, DEFINITION_CAP);
        std::fs::write(&p, vec![b'a'; DEFINITION_CAP as usize + 1]).unwrap();
        let e = read(&p, Links::Refuse, Cap::Definition).unwrap_err();
        assert!(e.to_string().contains("bigger than 4 MiB"), "{e}");
        // A file whose size says nothing (a /proc file says 0) is cut at cap + 1 bytes all the same.
        let fd = rustix::fs::open(Path::new("/dev/zero"), READ_FLAGS, Mode::empty()).unwrap();
        let mut data = Vec::new();
        std::fs::File::from(fd).take(Cap::Definition.bytes() + 1).read_to_end(&mut data).unwrap();
        assert_eq!(data.len() as u64, DEFINITION_CAP + 1);
        // A sparse 2 GB file is refused without being read.
        let big = t.path().join("big");
        std::fs::File::create(&big).unwrap().set_len(2 << 30).unwrap();
        let start = Instant::now();
        assert!(read(&big, Links::Refuse, Cap::PluginFile).unwrap_err().to_string().contains("bigger than 100 MiB"));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn links_devices_and_folders() {
        let t = tempfile::tempdir().unwrap();
        let zero = t.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read(&zero, Links::Refuse, Cap::Env).unwrap_err().to_string().contains("symbolic link"));
        // Followed, it is a device all the same.
        assert!(read(&zero, Links::Follow, Cap::AgentConfig).unwrap_err().to_string().contains("character device"));
        assert!(read(Path::new("/dev/null"), Links::Follow, Cap::Env).unwrap_err().to_string().contains("device"));
        assert!(read(t.path(), Links::Refuse, Cap::Env).unwrap_err().to_string().contains("a folder"));
        let file = t.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let link = t.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read(&link, Links::Follow, Cap::AgentConfig).unwrap().unwrap(), b"x");
        assert!(read(&t.path().join("missing"), Links::Refuse, Cap::Env).unwrap().is_none());
        assert_eq!(read_text(&file, Links::Refuse, Cap::Env).unwrap().unwrap(), "x");
    }
}
