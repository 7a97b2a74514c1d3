//! `atk undo`: what reverting the last operation of the home takes, read from git alone. The
//! operation is the last commit; the state it returns to is its parent's: the plugin's manifest
//! entry there (absent, or at another pin) and its tracked files there (`custom/`, and a local
//! plugin's whole folder). So an add becomes a remove, a remove an add at the same pin with the
//! same `custom/` files, an upgrade or rollback a move back to the old pin, and an undo is undone
//! like any other operation: it redoes.

use gix::ObjectId;

use super::history::{self, Operation};
use crate::agents::{self, AgentId, AgentOutcome, AgentStatus, Apply, Op, Target};
use crate::error::{Error, Result};
use crate::fs::RelPath;
use crate::home::message::{self, Message};
use crate::home::{Entry, Home, Locked, Manifest, SourceKind};
use crate::plugin::env::Outer;
use crate::source::origin::{Origins, ATK_REF};
use crate::source::stage::Staged;

/// How the plugin goes back to how it was before the operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The operation added it: remove it.
    Remove { entry: Entry },
    /// The operation removed it: add it back as the parent commit had it.
    Restore { entry: Entry, index: usize },
    /// The operation moved its pin: move it back to `to`, with the lock it had there.
    Move { entry: Entry, to: ObjectId, lock: Vec<crate::artifact::Pin> },
    /// The operation moved only what the plugin runs from registries: its lock goes back.
    Lock { entry: Entry, lock: Vec<crate::artifact::Pin> },
    /// The operation plugged it into agents or unplugged it from them: unplug it from `unplug`,
    /// plug it into `plug` (agents by their command-line names, as the manifest records them).
    Agents { entry: Entry, plug: Vec<String>, unplug: Vec<String> },
}

/// The operation to revert and the step that reverts it.
#[derive(Debug, Clone)]
pub struct Undo {
    pub op: Operation,
    /// The commit whose state the plugin returns to.
    pub parent: ObjectId,
    pub step: Step,
}

impl Undo {
    /// The commit message of the undo: `Undo "<subject>"`, with the plugin's pins before and
    /// after, and the commit it reverts.
    pub fn message(&self) -> Message {
        let (directory, from, to) = match &self.step {
            Step::Remove { entry } => (&entry.directory, entry.source.commit.clone(), None),
            Step::Restore { entry, .. } => (&entry.directory, None, entry.source.commit.clone()),
            Step::Move { entry, to, .. } => (&entry.directory, entry.source.commit.clone(), Some(to.to_string())),
            Step::Agents { entry, .. } | Step::Lock { entry, .. } => (&entry.directory, None, None),
        };
        Message::operation(format!("Undo \"{}\"", self.op.subject), "undo", directory, from.as_deref(), to.as_deref())
            .with(message::REVERTS, &self.op.commit.to_string())
    }
}

/// What undoing a plug or unplug did: each agent's outcome, by direction, and the record's commit.
pub struct RevertedAgents {
    /// The plugin as agents know it.
    pub target: Target,
    pub unplugged: Vec<AgentOutcome>,
    pub plugged: Vec<AgentOutcome>,
    /// Whether the record changed (then it was written, and committed unless `auto_commit` is off).
    pub changed: bool,
    pub commit: Option<String>,
    /// What stopped the agents before every one was done (reported once the commit is pushed).
    pub stopped: Option<Error>,
}

impl RevertedAgents {
    /// `plug` when the undo plugged the plugin in again, else `unplug`.
    pub fn action(&self) -> &'static str {
        if self.unplugged.is_empty() {
            "plug"
        } else {
            "unplug"
        }
    }

    /// Why the undo is not complete: an agent it could not be done for (what was done is
    /// committed), or no agent changed at all (no commit was made).
    pub fn problem(&self) -> Option<Error> {
        let not_done: Vec<&str> = (self.unplugged.iter().chain(&self.plugged))
            .filter(|o| {
                matches!(
                    o.status,
                    AgentStatus::Failed | AgentStatus::Conflict | AgentStatus::NotInstalled | AgentStatus::Skipped
                )
            })
            .map(|o| o.agent.label())
            .collect();
        if !not_done.is_empty() {
            return Some(Error::Other {
                message: format!(
                    "the undo could not be done for {}{}",
                    agents::join_labels(&not_done),
                    if self.changed { " (what was done is committed)" } else { "" }
                ),
                hints: vec![
                    "`atk status` shows the agents recorded for each plugin; `atk plug`/`atk unplug` finish it".into(),
                ],
            });
        }
        if !self.changed {
            return Some(Error::Other {
                message: "no agent changed: the undo made no commit".into(),
                hints: vec!["`atk status` shows the agents recorded for each plugin".into()],
            });
        }
        None
    }
}

/// Undo of `plug` or `unplug` ([`Step::Agents`]): the plugin is unplugged from the agents the
/// operation plugged it into and plugged into those it unplugged it from (each asked as `plug` and
/// `unplug` ask, by `how`), and the record follows what was done, committed with `message`. What
/// was done before an error stopped the agents is committed ([`RevertedAgents::stopped`]).
pub fn revert_agents(
    home: &Locked,
    manifest: &mut Manifest,
    (entry, plug, unplug): (&Entry, &[String], &[String]),
    outer: Outer,
    how: &Apply,
    message: &Message,
) -> Result<RevertedAgents> {
    let known = |names: &[String]| -> Vec<AgentId> { names.iter().filter_map(|n| AgentId::parse(n)).collect() };
    let index = manifest.index_of(&entry.directory).ok_or_else(|| Error::PluginNotFound {
        id: entry.directory.clone(),
        near: vec![],
        stray_dir: false,
    })?;
    // What is plugged again must not give agents a SKILL.md linked out of the plugin folder.
    let target = if plug.is_empty() {
        super::plug::target_to_unplug(home, &manifest.plugins[index], outer, how.reporter)?
    } else {
        agents::target(home, &manifest.plugins[index], outer)?
    };
    let mut done =
        RevertedAgents { target, unplugged: vec![], plugged: vec![], changed: false, commit: None, stopped: None };
    for (op, names) in [(Op::Unplug, unplug), (Op::Plug, plug)] {
        if names.is_empty() || done.stopped.is_some() {
            continue;
        }
        let (outcomes, error) = super::plug::apply_all(home, &done.target, &known(names), op, how);
        match op {
            Op::Unplug => done.unplugged = outcomes,
            Op::Plug => done.plugged = outcomes,
        }
        done.stopped = error;
    }
    let entry = &mut manifest.plugins[index];
    let plugged = super::plug::record_outcomes(entry, Op::Plug, &done.plugged);
    let unplugged = super::plug::record_outcomes(entry, Op::Unplug, &done.unplugged);
    done.changed = !plugged.is_empty() || !unplugged.is_empty();
    done.commit = super::plug::commit_record(home, manifest, done.changed, "atk undo", message)?;
    Ok(done)
}

/// What the home holds that git has not committed: tracked files changed or staged
/// (`untracked: false`), then files git does not track and does not ignore (what `git status`
/// lists), at most `limit` in all. Undo may remove a plugin's folder: a file of the user's there
/// that git never saw would be lost with it. `repo` is the home's.
pub fn uncommitted_changes(repo: &gix::Repository, limit: usize) -> Result<Vec<Uncommitted>> {
    use crate::home::state::status;
    let failed = |e: &dyn std::fmt::Display| Error::Git {
        message: format!("cannot compare the home with its last commit: {e}"),
        hints: vec![],
    };
    let mut found = Vec::new();
    // `repo.is_dirty()`, on one thread.
    let changed = status(repo)
        .map_err(|e| failed(&e))?
        .index_worktree_rewrites(None)
        .index_worktree_submodules(gix::status::Submodule::AsConfigured { check_dirty: true })
        .index_worktree_options_mut(|o| o.dirwalk_options = None)
        .into_iter(None)
        .map_err(|e| failed(&e))?;
    for item in changed.take_while(Result::is_ok).flatten().take(limit) {
        let path = item.location().to_string();
        found.push(Uncommitted { path, untracked: false });
    }
    if found.len() >= limit {
        return Ok(found);
    }
    let untracked = status(repo)
        .map_err(|e| failed(&e))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .into_index_worktree_iter(Vec::new())
        .map_err(|e| failed(&e))?;
    // That walk lists changed tracked files too: only the untracked ones are taken from it.
    for item in untracked {
        if found.len() >= limit {
            break;
        }
        let item = item.map_err(|e| failed(&e))?;
        let gix::status::index_worktree::Item::DirectoryContents { entry, .. } = &item else { continue };
        if entry.status != gix::dir::entry::Status::Untracked {
            continue;
        }
        let path = item.rela_path().to_string();
        if !found.iter().any(|f| f.path == path) {
            found.push(Uncommitted { path, untracked: true });
        }
    }
    Ok(found)
}

/// A file of the home that git has not committed: changed (or staged), or not tracked at all.
pub struct Uncommitted {
    /// Relative to the home, `/`-separated.
    pub path: String,
    pub untracked: bool,
}

/// The refusal of an undo while the home has uncommitted changes: the files, and how to get them
/// out of the way (a commit by hand is no way: undo reverts only atk's own last operation).
fn uncommitted_refusal(changes: &[Uncommitted], limit: usize) -> Error {
    let shown: Vec<String> = changes.iter().map(|c| crate::text::escape(&c.path).into_owned()).collect();
    let more = if changes.len() >= limit { ", … (more: `atk git status` lists them all)" } else { "" };
    let mut hints = Vec::new();
    // Each path as a literal pathspec: git reads `*`, `?`, `[` and a leading `:` as patterns,
    // which would reach files the hint does not name.
    let quoted = |untracked: bool| {
        changes
            .iter()
            .filter(|c| c.untracked == untracked)
            .map(|c| crate::text::escape(&crate::lifecycle::shell_quote(&format!(":(literal){}", c.path))).into_owned())
            .collect::<Vec<_>>()
    };
    let new = quoted(true);
    if !new.is_empty() {
        hints.push(format!(
            "files git does not track: move them out of the home, or delete them (`atk git clean -f -- {}`), then run `atk undo` again",
            new.join(" ")
        ));
    }
    let edited = quoted(false);
    if !edited.is_empty() {
        hints.push(format!(
            "changed files: keep a copy outside the home if you need it, drop the change (`atk git restore --source=HEAD --staged --worktree -- {}`), then run `atk undo` again",
            edited.join(" ")
        ));
    }
    hints.push("a commit by hand is no way out: undo reverts only the last commit atk made".into());
    Error::conflict(
        format!("the home has uncommitted changes: undo would mix them with the revert ({}{more})", shown.join(", ")),
        hints,
    )
}

/// Works out how to revert the last commit of the home, or why it cannot be.
pub fn plan(home: &Home, manifest: &Manifest) -> Result<Undo> {
    if !manifest.config.auto_commit {
        return Err(Error::conflict(
            "auto_commit is off: atk's operations are not committed, so there is no last operation to undo",
            vec!["`atk git log` shows what was committed; `atk git checkout` puts files back by hand".into()],
        ));
    }
    let repo = crate::home::repo::open_checked(&home.root)?;
    const SHOWN: usize = 10;
    let changes = uncommitted_changes(&repo, SHOWN)?;
    if !changes.is_empty() {
        return Err(uncommitted_refusal(&changes, SHOWN));
    }
    let head = repo
        .head_id()
        .map_err(|_| Error::nothing_to_do("the home has no commit yet: there is nothing to undo", vec![]))?
        .detach();
    let (op, parent) = history::read_commit(&repo, head)?;
    let subject = crate::text::escape(&op.subject).into_owned();
    let hint_git = "to revert it by hand: `atk git revert HEAD`".to_string();
    match op.kind.as_deref() {
        Some("add" | "remove" | "upgrade" | "rollback" | "undo" | "plug" | "unplug" | "lock") => {}
        Some("init") => {
            return Err(Error::nothing_to_do("the last commit is the home's first: there is nothing to undo", vec![]))
        }
        Some("doctor") => {
            return Err(Error::conflict(
                format!("the last commit ('{subject}') keeps secrets out of git; undoing it would track them again"),
                vec![],
            ))
        }
        _ => {
            return Err(Error::conflict(
                format!("the last commit ('{subject}') is not an atk operation: undo only reverts what atk did"),
                vec![hint_git],
            ))
        }
    }
    let Some(parent) = parent else {
        return Err(Error::nothing_to_do(format!("the last commit ('{subject}') has no parent to go back to"), vec![]));
    };
    let Some(directory) = op.plugin.clone() else {
        return Err(Error::conflict(
            format!("cannot tell which plugin the last commit ('{subject}') changed"),
            vec![hint_git],
        ));
    };
    let before = history::manifest_at(&repo, parent).ok_or_else(|| {
        Error::conflict(format!("the manifest before '{subject}' cannot be read"), vec![hint_git.clone()])
    })?;
    let index = before.plugins.iter().position(|e| e.directory == directory);
    let was = index.map(|i| before.plugins[i].clone());
    let now = manifest.plugins.iter().find(|e| e.directory == directory).cloned();
    let step = match (was, now) {
        (None, Some(entry)) => Step::Remove { entry },
        (Some(entry), None) => Step::Restore { entry, index: index.unwrap_or_default() },
        (Some(was), Some(entry)) => {
            let to = was.source.commit.as_deref().and_then(|c| ObjectId::from_hex(c.as_bytes()).ok());
            let plug: Vec<String> = was.agents.iter().filter(|a| !entry.agents.contains(a)).cloned().collect();
            let unplug: Vec<String> = entry.agents.iter().filter(|a| !was.agents.contains(a)).cloned().collect();
            match to {
                Some(to) if was.source.commit != entry.source.commit && entry.source.kind != SourceKind::Local => {
                    Step::Move { entry, to, lock: was.lock }
                }
                _ if !plug.is_empty() || !unplug.is_empty() => Step::Agents { entry, plug, unplug },
                _ if was.lock != entry.lock => Step::Lock { entry, lock: was.lock },
                _ => {
                    return Err(Error::nothing_to_do(
                        format!("'{subject}' left plugin '{directory}' at the pin it had: there is nothing to undo"),
                        vec![hint_git],
                    ))
                }
            }
        }
        (None, None) => {
            return Err(Error::conflict(
                format!("plugin '{directory}' is in neither the manifest before '{subject}' nor now"),
                vec![hint_git],
            ))
        }
    };
    Ok(Undo { op, parent, step })
}

/// Undo's re-add of the plugin an operation removed (`restore.was`): its files staged as they were
/// in `parent` ([`stage_restore`]: the same pin, the same `custom/`), its `.env` values asked for
/// again or taken from `sets`, added at its old place in the manifest with undo's message, then
/// plugged again into the agents the remove unplugged it from, as an undo of an unplug plugs it
/// back (a failure there is that agent's outcome, as in a move).
pub fn re_add(
    reporter: &dyn crate::reporter::Reporter,
    settings: &crate::settings::Settings,
    home: &Locked,
    manifest: &mut Manifest,
    parent: ObjectId,
    restore: super::add::Restore,
    sets: &[(String, String)],
) -> Result<(super::add::AddedEntry, Vec<AgentOutcome>)> {
    let staged = stage_restore(home, &settings.origins(manifest), parent, restore.was)?;
    let files_now = staged.staged.as_ref().map(|s| s.path().to_path_buf()).expect("restored files are staged");
    let environment = &settings.environment;
    let env = super::env::plan(reporter, &staged.plugin, &files_now.join(".env"), sets, None, environment)?;
    let how = super::add::As { operation: "atk undo", restore: Some(restore), lock: &[] };
    let added = super::add::add_as(reporter, home, manifest, &staged, &env, environment, how)?;
    let outer = settings.outer();
    let replugged = agents::on_recorded(Op::Plug, home, &added.entry, &settings.agents, &outer, reporter)?;
    Ok((added, replugged))
}

/// The files of a plugin the operation removed, in a staging folder, as they were in `parent`: a
/// remote plugin's from its source at its pin (with `.atk-ref`), then the tracked files the home
/// kept of it (its `custom/`; a local plugin's whole folder). `.env` is not in git: it is asked
/// for again.
pub fn stage_restore(home: &Home, origins: &Origins, parent: ObjectId, entry: &Entry) -> Result<Staged> {
    let staging = home.staging()?;
    let dir = &entry.directory;
    if entry.source.kind != SourceKind::Local {
        let pin = crate::source::origin::pinned(entry)?;
        let origin = origins.open(&entry.source)?;
        let path = origin.path_at(pin, dir)?;
        origin.repo().ensure_paths(pin, &[path.as_str()])?;
        origin.repo().materialize(pin, &path, &staging.files)?;
        staging.files.write_atomic(
            &RelPath::new(ATK_REF).expect("a plain name"),
            format!("{pin}\n").as_bytes(),
            None,
        )?;
    }
    let repo = crate::home::repo::open_checked(&home.root)?;
    let tracked =
        if entry.source.kind == SourceKind::Local { format!("plugins/{dir}") } else { format!("plugins/{dir}/custom") };
    let prefix = if entry.source.kind == SourceKind::Local { String::new() } else { "custom/".to_string() };
    for (path, data, executable) in history::files_at(&repo, parent, &tracked)? {
        let rel = RelPath::new(&format!("{prefix}{path}"))
            .map_err(|e| Error::unsafe_path(format!("the home's history holds {e}"), vec![]))?;
        if let Some(p) = rel.parent() {
            staging.files.create_dir_all(&p)?;
        }
        staging.files.write_atomic(&rel, &data, Some(if executable { 0o755 } else { 0o644 }))?;
    }
    let plugin = crate::plugin::load(staging.path())?;
    Ok(Staged { plugin, directory: dir.clone(), staged: Some(staging), source: entry.source.clone() })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::reporter::Recorder;

    use crate::sync::tests::{home as new_home, origins as test_origins, write};

    #[test]
    fn each_operation_is_undone_by_its_inverse_read_from_git() {
        let t = tempfile::tempdir().unwrap();
        let home = new_home(t.path());
        let origins = test_origins(t.path());
        let src = t.path().join("tool");
        write(&src.join("plugin.yaml"), "schema_version: \"2026-08-20\"\nname: Tool\ndescription: a tool\n");
        write(&src.join("docs/a.md"), "a\n");
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        let reporter = Recorder::default();

        let mut manifest = home.manifest().unwrap();
        let err = plan(&home, &manifest).unwrap_err();
        assert!(err.to_string().contains("nothing to undo"), "{err}");

        crate::sync::tests::add_source(&reporter, &home, &mut manifest, &origins, &src, t.path());
        let undo = plan(&home, &manifest).unwrap();
        assert!(matches!(&undo.step, Step::Remove { entry } if entry.directory == "tool"), "{:?}", undo.step);
        assert_eq!(undo.op.kind.as_deref(), Some("add"));
        assert_eq!(undo.message().subject, "Undo \"Add plugin 'Tool'\"");
        assert_eq!(undo.message().get(message::REVERTS), Some(undo.op.commit.to_string().as_str()));

        crate::sync::remove::remove_as(&home, &mut manifest, "tool", "test remove", None).unwrap();
        let undo = plan(&home, &manifest).unwrap();
        let Step::Restore { entry, index } = &undo.step else { panic!("{:?}", undo.step) };
        assert_eq!((entry.directory.as_str(), *index), ("tool", 0));
        let restored = stage_restore(&home, &origins, undo.parent, entry).unwrap();
        let files = restored.staged.as_ref().unwrap().path().to_path_buf();
        assert_eq!(std::fs::read_to_string(files.join("docs/a.md")).unwrap(), "a\n", "from the home's history");

        // A changed home, then a commit made by hand: refused.
        write(
            &home.root.join("manifest.yaml"),
            &home.manifest().unwrap().to_yaml().replace("auto_push: false", "auto_push: true"),
        );
        let err = plan(&home, &manifest).unwrap_err();
        assert!(err.to_string().contains("uncommitted changes"), "{err}");
        crate::home::repo::commit_paths(
            &crate::home::repo::open_to_commit(&home.root).unwrap(),
            &["manifest.yaml".into()],
            "by hand",
        )
        .unwrap();
        let err = plan(&home, &home.manifest().unwrap()).unwrap_err();
        assert!(err.to_string().contains("not an atk operation"), "{err}");

        let ops = history::read(&home.root, None, None).unwrap();
        let kinds: Vec<Option<&str>> = ops.iter().map(|o| o.kind.as_deref()).collect();
        assert_eq!(kinds, [None, Some("remove"), Some("add"), Some("init")]);
        assert!(ops[1].recorded && ops[2].recorded && !ops[3].recorded);
        assert_eq!(history::read(&home.root, Some("Tool"), None).unwrap().len(), 2, "by display name too");
    }
}
