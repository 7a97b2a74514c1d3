//! The home repository's state for `atk status`, read with gix (no `git` process): the branch, its
//! remote, ahead/behind its upstream branch as last fetched, the last commit, and how many paths
//! are modified or untracked. Nothing here fails the command: what cannot be read is left out.

use std::path::Path;

use gix::bstr::ByteSlice;
use serde::Serialize;

use super::repo;
use crate::error::{Error, Result};

/// The remote the branch tracks (else `origin`, else the first one by name) and its fetch URL.
#[derive(Debug, Clone, Serialize)]
pub struct Remote {
    pub name: String,
    pub url: Option<String>,
}

/// Commits on each side of the branch and its upstream, as last fetched.
#[derive(Debug, Clone, Serialize)]
pub struct Sync {
    /// `refs/remotes/origin/main`.
    pub upstream: String,
    pub ahead: usize,
    pub behind: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastCommit {
    pub id: String,
    pub subject: String,
    /// Seconds since the Unix epoch (the committer's time).
    pub time: i64,
}

/// `git status --porcelain` counted: untracked paths (a new folder counts once), and every other
/// changed path (staged or not, once each).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WorkingDir {
    pub modified: usize,
    pub untracked: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoState {
    /// `None`: HEAD is detached.
    pub branch: Option<String>,
    pub remote: Option<Remote>,
    /// `None`: no remote, or the branch has no upstream (or it was never fetched).
    pub sync: Option<Sync>,
    /// `None`: no commit yet.
    pub last_commit: Option<LastCommit>,
    /// `None`: it could not be read.
    pub working_dir: Option<WorkingDir>,
}

/// Reads the home's repository at `root` (opened by [`repo::open_checked`]); `Ok(None)` when it
/// is not a repository gix can open, an error when a file git would read there is refused.
pub fn read(root: &Path) -> Result<Option<RepoState>> {
    let repo = match repo::open_checked(root) {
        Ok(repo) => repo,
        Err(Error::Git { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let head_name = repo.head_name().ok().flatten();
    let branch = head_name.as_ref().map(|n| n.shorten().to_str_lossy().into_owned());
    let remote = remote(&repo, branch.as_deref());
    let sync = match (&head_name, &remote) {
        (Some(name), Some(_)) => sync(&repo, name.as_ref()),
        _ => None,
    };
    let last_commit = repo.head_commit().ok().and_then(|c| {
        let subject = c.message().ok()?.summary().to_str_lossy().into_owned();
        let time = c.time().ok()?.seconds;
        Some(LastCommit { id: c.id.to_string(), subject, time })
    });
    Ok(Some(RepoState { branch, remote, sync, last_commit, working_dir: working_dir(&repo) }))
}

/// `repo.status()`, on one thread: gix's parallel comparison panics when a thread cannot be had
/// (a process limit), and a home's index is small. Every status of the home goes through it.
pub fn status(
    repo: &gix::Repository,
) -> std::result::Result<gix::status::Platform<'_, gix::progress::Discard>, gix::Error> {
    Ok(repo.status(gix::progress::Discard)?.index_worktree_options_mut(|o| o.thread_limit = Some(1)))
}

fn remote(repo: &gix::Repository, branch: Option<&str>) -> Option<Remote> {
    let names: Vec<String> = repo.remote_names().iter().map(|n| n.to_str_lossy().into_owned()).collect();
    let tracked = branch
        .and_then(|b| repo.branch_remote_name(b, gix::remote::Direction::Fetch))
        .map(|n| n.as_bstr().to_str_lossy().into_owned())
        .filter(|n| names.contains(n));
    let name = tracked.or_else(|| names.iter().find(|n| *n == "origin").cloned()).or_else(|| names.first().cloned())?;
    let url = repo
        .find_remote(name.as_str())
        .ok()
        .and_then(|r| r.url(gix::remote::Direction::Fetch).map(|u| u.to_bstring().to_str_lossy().into_owned()));
    // Shown to a person: a token in the URL is not.
    Some(Remote { name, url: url.as_deref().map(crate::text::mask_credentials) })
}

fn sync(repo: &gix::Repository, head: &gix::refs::FullNameRef) -> Option<Sync> {
    let tracking = repo.branch_remote_tracking_ref_name(head, gix::remote::Direction::Fetch)?.ok()?;
    let upstream = repo.find_reference(tracking.as_ref()).ok()?.peel_to_id().ok()?.detach();
    let local = repo.head_id().ok()?.detach();
    let count = |tip: gix::ObjectId, hidden: gix::ObjectId| -> Option<usize> {
        Some(repo.rev_walk([tip]).with_hidden([hidden]).all().ok()?.filter_map(Result::ok).count())
    };
    Some(Sync {
        upstream: tracking.as_bstr().to_str_lossy().into_owned(),
        ahead: count(local, upstream)?,
        behind: count(upstream, local)?,
    })
}

fn working_dir(repo: &gix::Repository) -> Option<WorkingDir> {
    use gix::status::index_worktree::Item as Worktree;
    use gix::status::Item;
    let iter = status(repo).ok()?.untracked_files(gix::status::UntrackedFiles::Collapsed).into_iter(None).ok()?;
    let mut modified = std::collections::BTreeSet::new();
    let mut untracked = 0;
    for item in iter {
        let item = item.ok()?;
        match &item {
            Item::IndexWorktree(Worktree::DirectoryContents { entry, .. }) => {
                if entry.status == gix::dir::entry::Status::Untracked {
                    untracked += 1;
                }
            }
            Item::IndexWorktree(Worktree::Modification { status, .. }) => {
                use gix::status::plumbing::index_as_worktree::EntryStatus;
                if !matches!(status, EntryStatus::NeedsUpdate(_)) {
                    modified.insert(item.location().to_owned());
                }
            }
            _ => {
                modified.insert(item.location().to_owned());
            }
        }
    }
    Some(WorkingDir { modified: modified.len(), untracked })
}
