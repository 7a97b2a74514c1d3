//! The home's git repository, through gix: init, committing exactly the paths an operation
//! touched, and moving the branch back on rollback. `git` itself is used only to push.

use std::path::Path;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;

use super::gitignore::is_secret;
use crate::error::{Error, Result};

pub const IDENTITY_NAME: &str = "ATK";
pub const IDENTITY_EMAIL: &str = "atk@localhost";

fn git_err(context: &'static str) -> impl Fn(gix::Error) -> Error {
    move |e| Error::Git { message: format!("{context}: {e}"), hints: vec![] }
}

/// The files git reads in a repository that are named, from its git folder.
const GIT_FILES: [&str; 9] = [
    "HEAD",
    "config",
    "index",
    "packed-refs",
    "shallow",
    "commondir",
    "info/exclude",
    "info/attributes",
    "objects/info/alternates",
];

/// The folders of a git folder whose every file git may read (refs, their logs, loose objects).
const GIT_FOLDERS: [&str; 3] = ["refs", "logs", "objects"];

/// The refusal of what is at `path`, where git reads a file.
fn not_for_git(path: &Path, what: &str) -> Error {
    Error::Unreadable {
        path: path.to_path_buf(),
        why: format!("it is {what}, not a regular file; git reads it"),
        hint: "remove it (git never makes one there), then run the command again".into(),
        of_plugin: false,
    }
}

/// Refuses what is at `path` (through a link: git follows one there) unless it is a file, a
/// folder or nothing.
fn check_for_git(path: &Path) -> Result<()> {
    match crate::fs::read::describe(path, crate::fs::Links::Follow) {
        None | Some("a folder") => Ok(()),
        Some(what) => Err(not_for_git(path, what)),
    }
}

/// Checks `path` and, with `every_file`, every file below it, else only the `.gitignore` and
/// `.gitattributes` files below it, with [`check_for_git`].
fn walk_for_git(dir: &Path, every_file: bool) -> Result<()> {
    for entry in walkdir::WalkDir::new(dir).min_depth(1).into_iter().flatten() {
        let name = entry.file_name();
        if every_file || name == ".gitignore" || name == ".gitattributes" {
            check_for_git(entry.path())?;
        }
    }
    Ok(())
}

/// Refuses a repository (`repo`: a work tree with `.git`, or a bare repository) in which a file
/// gix would read at opening it or reading its history is a FIFO, a socket or a device (or a
/// link to one): gix opens its files as any program does, and opening a FIFO for reading waits
/// for a writer for ever (SIGTERM and the first Ctrl-C with it). Nothing is opened, only looked
/// at: `HEAD`, `config`, the index, every ref and loose object. Called before every open of a
/// repository atk did not just make.
pub fn check_repository(repo: &Path) -> Result<()> {
    let dotgit = repo.join(".git");
    let git = if dotgit.is_dir() { dotgit } else { repo.to_path_buf() };
    for rel in GIT_FILES {
        check_for_git(&git.join(rel))?;
    }
    for rel in GIT_FOLDERS {
        walk_for_git(&git.join(rel), true)?;
    }
    Ok(())
}

/// [`check_repository`] for the home, and the `.gitignore` and `.gitattributes` files of the
/// folders a status walks (the top, `plugins/`, each plugin folder and everything in its
/// `custom/`, and any other folder at the top). Called before every open of the home's repository.
pub fn check_files(root: &Path) -> Result<()> {
    check_repository(root)?;
    for name in [".gitignore", ".gitattributes"] {
        check_for_git(&root.join(name))?;
    }
    let plugins = root.join("plugins");
    for top in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = top.path();
        if top.file_name() == ".git" || !top.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if path != plugins {
            walk_for_git(&path, false)?;
            continue;
        }
        // A plugin folder's files are ignored, but for custom/: only those folders are walked.
        for name in [".gitignore", ".gitattributes"] {
            check_for_git(&plugins.join(name))?;
        }
        for plugin in std::fs::read_dir(&plugins).into_iter().flatten().flatten() {
            if plugin.file_type().is_ok_and(|t| t.is_dir()) {
                for name in [".gitignore", ".gitattributes"] {
                    check_for_git(&plugin.path().join(name))?;
                }
                walk_for_git(&plugin.path().join("custom"), false)?;
            }
        }
    }
    Ok(())
}

/// The roots whose [`check_files`] passed in this process (see [`open_checked`]).
fn checked_roots() -> &'static std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>> {
    static CHECKED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>> =
        std::sync::OnceLock::new();
    CHECKED.get_or_init(Default::default)
}

/// [`check_files`] of `root`, once per process: a check that passed is remembered until
/// [`forget_checked`] (a failed one is made again at the next open).
fn check_once(root: &Path) -> Result<()> {
    let known = |roots: &std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>| {
        roots.lock().map(|r| r.contains(root)).unwrap_or(false)
    };
    if known(checked_roots()) {
        return Ok(());
    }
    check_files(root)?;
    if let Ok(mut roots) = checked_roots().lock() {
        roots.insert(root.to_path_buf());
    }
    Ok(())
}

/// Makes the next [`open_checked`] of `root` check its files again. Called where content that is
/// not atk's own checked writes may have come into the home: a transaction begins (it places
/// files from a source and runs a plugin's commands) and a rollback (it moves back what a killed
/// run left).
pub fn forget_checked(root: &Path) {
    if let Ok(mut roots) = checked_roots().lock() {
        roots.remove(root);
    }
}

/// The home's repository at `root`, opened by gix once its files are checked ([`check_files`]:
/// no FIFO, socket or device where git reads). The only way atk opens the home's repository. The
/// walk is made once per root per process, and again after [`forget_checked`]. A refused file is
/// [`Error::Unreadable`]; a repository gix cannot open, [`Error::Git`].
pub fn open_checked(root: &Path) -> Result<gix::Repository> {
    check_once(root)?;
    gix::open(root).map_err(|e| Error::Git {
        message: format!("cannot open the git repository of {}: {e}", root.display()),
        hints: vec![],
    })
}

/// [`open_checked`], with the identity commits are made with: the user's when git has one, else
/// ATK's; set in memory only, never in .git/config.
pub fn open_to_commit(root: &Path) -> Result<gix::Repository> {
    let mut repo = open_checked(root)?;
    let missing =
        |id: Option<std::result::Result<gix::actor::SignatureRef<'_>, gix::Error>>| !matches!(id, Some(Ok(_)));
    if missing(repo.author()) || missing(repo.committer()) {
        use gix::config::tree::gitoxide::{Author, Committer};
        let mut config = repo.config_snapshot_mut();
        let set = |c: &mut gix::config::SnapshotMut<'_>| -> std::result::Result<(), gix::Error> {
            c.set_raw_value(Author::NAME_FALLBACK, IDENTITY_NAME)?;
            c.set_raw_value(Author::EMAIL_FALLBACK, IDENTITY_EMAIL)?;
            c.set_raw_value(Committer::NAME_FALLBACK, IDENTITY_NAME)?;
            c.set_raw_value(Committer::EMAIL_FALLBACK, IDENTITY_EMAIL)?;
            Ok(())
        };
        set(&mut config).map_err(git_err("cannot set the commit identity"))?;
        config.commit().map_err(git_err("cannot set the commit identity"))?;
    }
    Ok(repo)
}

/// Creates the repository with its branch `main`.
pub fn init(root: &Path) -> Result<()> {
    gix::init(root).map_err(|e| Error::Git {
        message: format!("cannot create a git repository in {}: {e}", root.display()),
        hints: vec![],
    })?;
    let head = root.join(".git/HEAD");
    crate::fs::write_atomic(&head, b"ref: refs/heads/main\n", None)
}

/// The branch HEAD points at, and its commit (none before the first commit).
pub struct Head {
    pub reference: String,
    pub id: Option<ObjectId>,
}

/// The head of the repository `repo`.
pub fn head(repo: &gix::Repository) -> Result<Head> {
    let reference = repo
        .head_name()
        .map_err(git_err("cannot read HEAD"))?
        .map(|n| n.as_bstr().to_string())
        .unwrap_or_else(|| "HEAD".to_string());
    let id = repo.head_id().ok().map(|id| id.detach());
    Ok(Head { reference, id })
}

/// The first commit of the history HEAD is on (following first parents): what a home and every
/// clone of it share, and another home does not. `None` before the first commit.
pub fn root_commit(repo: &gix::Repository) -> Option<ObjectId> {
    let mut id = repo.head_id().ok()?.detach();
    // A history longer than this is no home's; what is found by then stands for it.
    for _ in 0..10_000_000 {
        let commit = repo.find_commit(id).ok()?;
        let parent = commit.parent_ids().next().map(|p| p.detach());
        match parent {
            Some(parent) => id = parent,
            None => return Some(id),
        }
    }
    Some(id)
}

/// Whether `id` is a commit of the repository.
pub fn has_commit(repo: &gix::Repository, id: ObjectId) -> bool {
    repo.find_commit(id).is_ok()
}

/// Points `reference` back at `id` (rollback of a commit). `repo` is opened by
/// [`open_to_commit`]: the reflog entry needs an identity.
pub fn reset_ref(repo: &gix::Repository, reference: &str, id: ObjectId) -> Result<()> {
    repo.reference(reference, id, gix::refs::transaction::PreviousValue::Any, "atk: roll back an unfinished operation")
        .map_err(git_err("cannot move the branch back"))?;
    Ok(())
}

/// What a walk of the paths to commit finds. An ignored folder is entered only when the index
/// tracks a file in it: nothing else there is committed, and a plugin's runtime data may hold a
/// folder its user cannot even list (a database a container owns), which would fail the walk.
struct Found<'i> {
    index: &'i gix::index::State,
    collect: gix::dir::walk::delegate::Collect,
}

impl gix::dir::walk::Delegate for Found<'_> {
    fn emit(
        &mut self,
        entry: gix::dir::EntryRef<'_>,
        collapsed_directory_status: Option<gix::dir::entry::Status>,
    ) -> gix::dir::walk::Action {
        self.collect.emit(entry, collapsed_directory_status)
    }

    fn can_recurse(
        &mut self,
        entry: gix::dir::EntryRef<'_>,
        for_deletion: Option<gix::dir::walk::ForDeletionMode>,
        worktree_root_is_repository: bool,
    ) -> bool {
        if matches!(entry.status, gix::dir::entry::Status::Ignored(_)) {
            let mut prefix = entry.rela_path.clone().into_owned();
            prefix.push(b'/');
            if self.index.prefixed_entries(prefix.as_bstr()).is_none_or(<[_]>::is_empty) {
                return false;
            }
        }
        self.collect.can_recurse(entry, for_deletion, worktree_root_is_repository)
    }
}

fn is_under(path: &BStr, prefix: &str) -> bool {
    let p = prefix.as_bytes();
    path == p || (path.starts_with(p) && path.get(p.len()) == Some(&b'/'))
}

/// Commits the current content of `paths` (files or folders, relative to the root) and nothing
/// else: what `.gitignore` ignores and secret files are left out, whatever else is changed in the
/// home stays unstaged. The index is updated for those paths only. Returns the new commit, or
/// `None` when the paths are as in HEAD already. `repo` is the home's, opened by
/// [`open_to_commit`].
pub fn commit_paths(repo: &gix::Repository, paths: &[String], message: &str) -> Result<Option<ObjectId>> {
    let root =
        repo.workdir().ok_or_else(|| Error::Git { message: "the home's repository is bare".into(), hints: vec![] })?;
    let head_tree = repo.head_tree_id_or_empty().map_err(git_err("cannot read HEAD"))?.detach();
    let mut index = if repo.index_path().exists() {
        repo.open_index().map_err(git_err("cannot read the git index"))?
    } else {
        gix::index::File::from_state(gix::index::State::new(repo.object_hash()), repo.index_path())
    };

    let options = repo
        .dirwalk_options()
        .map_err(git_err("cannot walk the home"))?
        .emit_tracked(true)
        .emit_untracked(gix::dir::walk::EmissionMode::Matching)
        .emit_ignored(None)
        .emit_empty_directories(false)
        .recurse_repositories(false);
    let mut found = Found { index: &index, collect: Default::default() };
    let specs: Vec<BString> = paths.iter().map(|p| BString::from(format!(":(literal){p}"))).collect();
    repo.dirwalk(&index, specs, crate::interrupt::as_atomic(), options, &mut found)
        .map_err(git_err("cannot walk the home"))?;
    let found = found.collect;
    crate::error::check_interrupt()?;

    let mut editor = repo.edit_tree(head_tree).map_err(git_err("cannot read HEAD's tree"))?;
    for p in paths {
        editor.remove(p.as_str()).map_err(git_err("cannot edit the tree"))?;
    }
    index.remove_entries(|_, path, _| paths.iter().any(|p| is_under(path, p)));

    for (entry, _) in found.into_entries_by_path() {
        use gix::dir::entry::{Kind, Status};
        if !matches!(entry.status, Status::Tracked | Status::Untracked)
            || !paths.iter().any(|p| is_under(entry.rela_path.as_bstr(), p))
        {
            continue;
        }
        let rela = entry.rela_path.to_str_lossy().into_owned();
        let file_name = rela.rsplit('/').next().unwrap_or(&rela);
        if is_secret(file_name) {
            continue;
        }
        let abs = root.join(&rela);
        let io = |e: std::io::Error| Error::io(format!("cannot read {}", abs.display()), e);
        // Stat before reading, so that a concurrent edit shows as a change later, never as clean.
        let md = gix::index::fs::Metadata::from_path_no_follow(&abs).map_err(io)?;
        let (mode, id) = match entry.disk_kind {
            Some(Kind::File) => {
                // What a plugin's command left there may have become anything since the walk.
                let data = crate::fs::read(&abs, crate::fs::Links::Refuse, crate::fs::Cap::PluginFile)?
                    .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
                let id = repo.write_blob(&data).map_err(git_err("cannot store a file"))?.detach();
                let mode = if md.is_executable() {
                    gix::object::tree::EntryKind::BlobExecutable
                } else {
                    gix::object::tree::EntryKind::Blob
                };
                (mode, id)
            }
            Some(Kind::Symlink) => {
                let target = std::fs::read_link(&abs).map_err(io)?;
                let id = repo
                    .write_blob(target.as_os_str().as_encoded_bytes())
                    .map_err(git_err("cannot store a symlink"))?
                    .detach();
                (gix::object::tree::EntryKind::Link, id)
            }
            _ => continue,
        };
        editor.upsert(rela.as_str(), mode, id).map_err(git_err("cannot edit the tree"))?;
        let stat = gix::index::entry::Stat::from_fs(&md)
            .map_err(|e| Error::other(format!("bad file time on {}: {e}", abs.display())))?;
        index.dangerously_push_entry(
            stat,
            id,
            gix::index::entry::Flags::empty(),
            mode.into(),
            entry.rela_path.as_bstr(),
        );
    }
    let tree = editor.write().map_err(git_err("cannot write the tree"))?.detach();
    if tree == head_tree && repo.head_id().is_ok() {
        return Ok(None);
    }
    crate::error::check_interrupt()?;
    // Like git, hold the index lock from before the branch moves until the new index is in place.
    let index_lock =
        gix::lock::File::acquire_to_update_resource(repo.index_path(), gix::lock::acquire::Fail::Immediately, None, 0)
            .map_err(git_err("cannot lock the git index"))?;
    let parents: Vec<ObjectId> = repo.head_id().ok().map(|i| i.detach()).into_iter().collect();
    let commit = repo.commit("HEAD", message, tree, parents).map_err(git_err("cannot commit"))?.detach();
    crate::failpoint::hit("commit");
    index.sort_entries();
    index.remove_tree();
    index.remove_resolve_undo();
    let mut out = std::io::BufWriter::new(index_lock);
    index.write_to(&mut out, Default::default()).map_err(git_err("cannot write the git index"))?;
    out.into_inner()
        .map_err(|e| Error::io("cannot write the git index", e.into_error()))?
        .commit()
        .map_err(|e| Error::Git { message: format!("cannot write the git index: {e}"), hints: vec![] })?;
    Ok(Some(commit))
}

/// How a push did not happen (the mutation it followed stands either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailure {
    /// There is nothing to push to, or git could not be run.
    Cannot(String),
    /// git said no (the remote refused, an unknown host, …): its words.
    Refused(String),
    /// Nothing came from the remote for the stall bound: git and everything it started were
    /// stopped.
    Stalled { remote: String, seconds: u64 },
    /// It did not finish within [`PUSH_TIME_FACTOR`] times the stall bound, though something kept
    /// coming (a remote that trickles, a hook that prints for ever): stopped the same way.
    TimedOut { remote: String, seconds: u64 },
    /// Ctrl-C.
    Interrupted,
}

/// How many stall bounds a whole push may take: a remote that sends a byte now and then (or a
/// hook that prints for ever) never stalls, and is stopped at this bound instead.
pub const PUSH_TIME_FACTOR: u32 = 10;

/// `git push` of the current branch, setting its upstream on the first push, bounded by `stall`:
/// git runs in a process group of its own (with its transport helpers and `ssh`), with progress
/// on, and is killed with all of them when nothing arrives for `stall` (connecting included), or
/// when the whole push took [`PUSH_TIME_FACTOR`] times `stall`.
/// Below that, HTTP gets libcurl's low-speed abort (`http.lowSpeedLimit`/`lowSpeedTime`), so
/// that git itself says why. It never prompts (`GIT_TERMINAL_PROMPT=0`, stdin empty).
pub fn push(root: &Path, stall: std::time::Duration) -> std::result::Result<(), PushFailure> {
    let repo = open_checked(root).map_err(|e| PushFailure::Cannot(e.to_string()))?;
    let remotes: Vec<String> = repo.remote_names().iter().map(|n| n.to_string()).collect();
    let Some(remote) = remotes.iter().find(|r| *r == "origin").or(remotes.first()) else {
        return Err(PushFailure::Cannot(
            "auto_push is on but the home has no remote (add one with `atk git remote add origin <url>`)".into(),
        ));
    };
    let branch = head(&repo).map_err(|e| PushFailure::Cannot(e.to_string()))?.reference;
    let branch = branch.strip_prefix("refs/heads/").unwrap_or(&branch).to_string();
    let seconds = stall.as_secs().max(1);
    let mut command = std::process::Command::new("git");
    command
        .args(["-c", "http.lowSpeedLimit=1", "-c", &format!("http.lowSpeedTime={seconds}")])
        .args(["push", "--progress", "--set-upstream", remote, &branch])
        .env("GIT_TERMINAL_PROMPT", "0")
        .current_dir(root);
    use crate::process::{Bounds, End};
    let limit = stall.saturating_mul(PUSH_TIME_FACTOR).max(std::time::Duration::from_secs(1));
    let bounds = Bounds { time: Some(limit), stall: Some(stall) };
    let out = match crate::process::output(&mut command, bounds, "cannot run git push") {
        Ok(out) => out,
        Err(Error::Interrupted) => return Err(PushFailure::Interrupted),
        Err(e) => return Err(PushFailure::Cannot(e.to_string())),
    };
    match out.end {
        End::Exited(status) if status.success() => Ok(()),
        End::Exited(_) => {
            Err(PushFailure::Refused(format!("git push to '{remote}' failed: {}", git_said(&out.stderr))))
        }
        End::Stalled => Err(PushFailure::Stalled { remote: remote.clone(), seconds }),
        End::TimedOut => Err(PushFailure::TimedOut { remote: remote.clone(), seconds: limit.as_secs().max(1) }),
    }
}

/// What git said when it failed, without its progress lines: its `fatal:`/`error:` lines, else
/// its last line.
pub(crate) fn git_said(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).collect();
    let errors: Vec<&str> =
        lines.iter().copied().filter(|l| l.starts_with("fatal:") || l.starts_with("error:")).collect();
    if errors.is_empty() {
        lines.last().copied().unwrap_or("no message").to_string()
    } else {
        errors.join("; ")
    }
}
