//! Moving a remote plugin from one commit of its source to another: the plan (files, lifecycle
//! commands, variables that differ), computed once, and its application in one transaction.

use std::collections::HashMap;

use gix::ObjectId;

use super::env::EnvPlan;
use super::lock::{self, Keep, Lock, Locker};
use super::put_version;
use crate::artifact::Found;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::fs::RelPath;
use crate::home::Message;
use crate::home::{manifest, plugin_rel, Entry, Home, Locked, Manifest, Source, SourceKind, Transaction};
use crate::lifecycle::Runner;
use crate::plugin::{self, EnvVar, Plugin};
use crate::reporter::Reporter;
use crate::settings::Settings;
use crate::source::git::FileEntry;
use crate::source::origin::{installed_ref, latest_of_all, pinned, Lookup, Origin, Origins};

/// What moving one plugin from its commit to another changes.
pub struct MovePlan {
    pub from: ObjectId,
    pub to: ObjectId,
    pub path: String,
    pub old_files: Vec<FileEntry>,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Executable files added or changed.
    pub executables: Vec<String>,
    /// (step, old command, new command) for every lifecycle step that differs.
    pub lifecycle: Vec<(String, Option<String>, Option<String>)>,
    pub env_added: Vec<EnvVar>,
    pub env_removed: Vec<String>,
    pub new_plugin: Plugin,
}

/// Where a plugin is and where it would go: its folder in the source at both commits, and whether
/// the two trees differ.
struct Located {
    from: ObjectId,
    to: ObjectId,
    path: String,
    old_path: String,
    changed: bool,
}

fn locate(home: &Home, entry: &Entry, origin: &Origin, to: ObjectId) -> Result<Located> {
    let from = match installed_ref(home, &entry.directory)? {
        Some(r) => r,
        None => pinned(entry)?,
    };
    let repo = origin.repo();
    let path = origin.path_at(to, &entry.directory)?;
    let old_path =
        if from == to { path.clone() } else { origin.path_at(from, &entry.directory).unwrap_or_else(|_| path.clone()) };
    let new_tree = repo.entry(to, &path)?.map(|(id, _)| id);
    let old_tree = repo.entry(from, &old_path)?.map(|(id, _)| id);
    Ok(Located { from, to, path, old_path, changed: new_tree.is_none() || new_tree != old_tree })
}

/// Plans moving each of `entries` (all of one source, `origin`) to its commit `to`: where each
/// plugin is is looked up once, what the changed plugins need (their new files, their old
/// definitions) fetched in one go per commit, and each plan computed once. `None`: the plugin's
/// folder is the same at both commits. Results are in the order of `entries`.
pub fn plan_all(home: &Home, origin: &Origin, to: ObjectId, entries: &[&Entry]) -> Vec<Result<Option<MovePlan>>> {
    let moves: Vec<Result<Located>> = entries.iter().map(|e| locate(home, e, origin, to)).collect();
    // Best effort: whatever fails to arrive here fails (and is reported) plugin by plugin below.
    let repo = origin.repo();
    let mut new_paths = Vec::new();
    let mut old_paths: std::collections::BTreeMap<ObjectId, Vec<String>> = Default::default();
    for m in moves.iter().flatten().filter(|m| m.changed) {
        new_paths.push(m.path.as_str());
        old_paths
            .entry(m.from)
            .or_default()
            .extend([format!("{}/plugin.yaml", m.old_path), format!("{}/plugin.yml", m.old_path)]);
    }
    let _ = repo.ensure_paths(to, &new_paths);
    for (from, paths) in &old_paths {
        let _ = repo.ensure_paths(*from, &paths.iter().map(String::as_str).collect::<Vec<_>>());
    }
    entries
        .iter()
        .zip(moves)
        .map(|(entry, m)| match m? {
            m if !m.changed => Ok(None),
            m => plan_located(entry, origin, m).map(Some),
        })
        .collect()
}

/// The latest commit of every source of an upgrade run, the plan of each of its plugins, and the
/// lock of what each would run.
pub struct Survey {
    latest: HashMap<String, Lookup>,
    plans: HashMap<String, Result<Option<MovePlan>>>,
    locks: HashMap<String, Result<Lock>>,
    origins: Origins,
}

/// Looks up the latest commit of each distinct source of `entries` once, all sources at once
/// (local entries have none and are left out), then plans every plugin against it with
/// [`plan_all`]. Fails only on Ctrl-C: no source is contacted after it. Each source's failure is
/// its plugins' (see [`Survey::take`]).
pub fn survey(
    reporter: &dyn Reporter,
    home: &Home,
    origins: &Origins,
    locker: &Locker,
    entries: &[Entry],
) -> Result<Survey> {
    let remote: Vec<&Entry> = entries.iter().filter(|e| e.source.kind != SourceKind::Local).collect();
    let mut sources: Vec<(String, Source)> = Vec::new();
    for entry in &remote {
        let key = origins.key(&entry.source);
        if !sources.iter().any(|(k, _)| *k == key) {
            sources.push((key, entry.source.clone()));
        }
    }
    let activity = match sources.as_slice() {
        [] => crate::reporter::Progress(None),
        [(key, _)] => reporter.activity(&format!("Looking up {key}")),
        many => reporter.activity(&format!("Looking up {} sources", many.len())),
    };
    let latest: HashMap<String, Lookup> = latest_of_all(origins, &sources).into_iter().collect();
    drop(activity);
    crate::error::check_interrupt()?;
    // Each source's plans, computed once: what they need is fetched together, per commit.
    let mut plans = HashMap::new();
    for (key, lookup) in &latest {
        if let Ok((origin, to)) = lookup {
            let members: Vec<&Entry> = remote.iter().copied().filter(|e| origins.key(&e.source) == *key).collect();
            let planned = plan_all(home, origin, *to, &members);
            plans.extend(members.iter().map(|e| e.directory.clone()).zip(planned));
        }
    }
    // What each plugin would run after the upgrade (its new version's, else the one installed),
    // every reference of them all resolved in one round of requests.
    let mut found: Vec<(&Entry, Found)> = Vec::new();
    for entry in entries {
        let moved = plans.get(&entry.directory).and_then(|p| p.as_ref().ok()).and_then(Option::as_ref);
        let origin = latest.get(&origins.key(&entry.source)).and_then(|l| l.as_ref().ok()).map(|(o, _)| o);
        let declared = match (moved, origin) {
            (Some(plan), Some(origin)) => {
                lock::found_at(home, &entry.directory, origin.repo(), plan.to, &plan.path, &plan.new_plugin)
            }
            _ => match plugin::load(&home.plugin_dir(&entry.directory)) {
                Ok(p) => lock::found_installed(home, &entry.directory, &p),
                Err(_) => continue,
            },
        };
        found.push((entry, declared));
    }
    locker.check_pins(found.iter().map(|(_, f)| f))?;
    let items: Vec<lock::LockRequest> =
        found.iter().map(|(e, f)| lock::LockRequest { found: f, previous: &e.lock, keep: Keep::Nothing }).collect();
    let asks = items.iter().any(|i| !i.found.references.is_empty());
    let activity = asks.then(|| reporter.activity("Looking up the packages plugins run"));
    let locked = lock::lock_all(locker, &items)?;
    drop(activity);
    let locks = found.iter().map(|(e, _)| e.directory.clone()).zip(locked).collect();
    Ok(Survey { latest, plans, locks, origins: origins.clone() })
}

impl Survey {
    /// The lock `entry` would have (each lock is taken once): `None` when its definition could
    /// not be read (its upgrade says why).
    pub fn take_lock(&mut self, entry: &Entry) -> Option<Result<Lock>> {
        self.locks.remove(&entry.directory)
    }

    /// The origin and the plan of a remote `entry` of the survey (each plan is taken once), or why
    /// there is none: its source's lookup failed, or planning it did.
    pub fn take(&mut self, entry: &Entry) -> Result<(&Origin, Option<MovePlan>)> {
        let plan = self.plans.remove(&entry.directory);
        match self.latest.get(&self.origins.key(&entry.source)) {
            Some(Ok((origin, _))) => Ok((origin, plan.expect("every entry of a source found was planned")?)),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::other(format!("'{}' was not part of this upgrade", entry.directory))),
        }
    }
}

/// Plans moving one plugin to `to` (any commit of its source that has it: newer, or older for a
/// rollback).
pub fn plan(home: &Home, entry: &Entry, origin: &Origin, to: ObjectId) -> Result<Option<MovePlan>> {
    plan_all(home, origin, to, &[entry]).pop().expect("one result per entry")
}

/// The files, commands and variables that differ between the two versions of a move.
fn plan_located(entry: &Entry, origin: &Origin, m: Located) -> Result<MovePlan> {
    let Located { from, to, path, old_path, .. } = m;
    let repo = origin.repo();
    // The new version is refused if a name in it could not be a file here; names like that in the
    // old version cannot be files of the plugin folder, so they have nothing to replace.
    let old_files = match repo.list_files(from, &old_path) {
        Err(Error::UnsafePath { .. }) => Vec::new(),
        listed => listed?,
    };
    let new_files = repo.list_files(to, &path)?;
    let find = |list: &[FileEntry], p: &RelPath| list.iter().find(|f| f.path == *p).cloned();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut executables = Vec::new();
    for f in &new_files {
        match find(&old_files, &f.path) {
            None => added.push(f.path.as_str().to_string()),
            Some(o) if o.id != f.id || o.executable != f.executable || o.link != f.link => {
                changed.push(f.path.as_str().to_string())
            }
            Some(_) => continue,
        }
        if f.executable {
            executables.push(f.path.as_str().to_string());
        }
    }
    let removed: Vec<String> =
        old_files.iter().filter(|o| find(&new_files, &o.path).is_none()).map(|o| o.path.as_str().to_string()).collect();

    let definition = |commit: ObjectId, dir: &str| -> Result<Option<Plugin>> {
        for name in ["plugin.yaml", "plugin.yml"] {
            let p = format!("{dir}/{name}");
            repo.ensure_paths(commit, &[&p])?;
            if let Some(bytes) = repo.read_file(commit, &p)? {
                return plugin::parse_bytes(&bytes, &format!("{p} at {}", &crate::text::short(&commit))).map(Some);
            }
        }
        Ok(None)
    };
    let new_plugin = definition(to, &path)?.ok_or_else(|| {
        Error::plugin_refused(
            format!("the new version of '{}' has no plugin.yaml", crate::text::escape(&entry.name)),
            vec![],
        )
    })?;
    let old_plugin = definition(from, &old_path).ok().flatten();
    let lifecycle = plugin::schema::Lifecycle::STEPS
        .iter()
        .filter_map(|step| {
            let old = old_plugin.as_ref().and_then(|p| p.lifecycle.get(step)).map(str::to_string);
            let new = new_plugin.lifecycle.get(step).map(str::to_string);
            (old != new).then(|| (step.to_string(), old, new))
        })
        .collect();
    let old_vars: Vec<&str> =
        old_plugin.as_ref().map(|p| p.env_vars.iter().map(|v| v.name.as_str()).collect()).unwrap_or_default();
    let env_added = new_plugin.env_vars.iter().filter(|v| !old_vars.contains(&v.name.as_str())).cloned().collect();
    let env_removed =
        old_vars.iter().filter(|n| !new_plugin.env_vars.iter().any(|v| v.name == **n)).map(|n| n.to_string()).collect();
    Ok(MovePlan {
        from,
        to,
        path,
        old_files,
        added,
        changed,
        removed,
        executables,
        lifecycle,
        env_added,
        env_removed,
        new_plugin,
    })
}

/// One plugin's move, planned: its entry, its source opened, and the plan.
#[derive(Clone, Copy)]
pub struct Move<'a> {
    pub entry: &'a Entry,
    pub origin: &'a Origin,
    pub plan: &'a MovePlan,
    /// The plugin's lock at the other commit (`None`: the lock is kept as it is).
    pub lock: Option<&'a [crate::artifact::Pin]>,
}

/// The commit message of a move of `entry` by `op` (`upgrade`, `rollback`) from the pin `from`
/// to `to`: `Upgrade plugin '<name>'`, with the trailers history and undo read.
pub fn move_message(op: &str, entry: &Entry, from: &str, to: ObjectId) -> Message {
    let title = format!("{}{} plugin '{}'", op[..1].to_uppercase(), &op[1..], entry.name);
    Message::operation(title, op, &entry.directory, Some(from), Some(&to.to_string()))
}

/// How a change is recorded: the journal's name for the run, and the commit's message.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    pub operation: &'a str,
    pub message: &'a Message,
}

/// Moving `entry` to a commit the caller names (rollback, undo), planned with the upgrade's
/// machinery: the plan, and the plugin's shipped files the user changed since it was installed
/// (the other version replaces them). `None` when the plugin's files are the same at `to`.
pub struct Planned {
    pub plan: MovePlan,
    pub edited: Vec<String>,
}

/// Plans moving `entry` to commit `to` of `origin`, fetching it when the cache lacks it.
pub fn plan_move(home: &Home, entry: &Entry, origin: &Origin, to: ObjectId) -> Result<Option<Planned>> {
    origin.repo().ensure_commit(to).map_err(|e| match e {
        Error::Git { message, mut hints } => {
            hints.push(format!("is {to} a commit of {}?", origin.url()));
            Error::Git { message, hints }
        }
        e => e,
    })?;
    let Some(plan) = plan(home, entry, origin, to)? else { return Ok(None) };
    let edited = edited(home, entry, &plan)?;
    Ok(Some(Planned { plan, edited }))
}

/// The shipped files of `entry` the user changed since it was installed, which the move of
/// `plan` replaces. The user's edits are to the files of the version the move goes from
/// (`.atk-ref`, which may not be the manifest's pin). A folder that cannot be read has no edits
/// to keep; Ctrl-C stops.
pub fn edited(home: &Home, entry: &Entry, plan: &MovePlan) -> Result<Vec<String>> {
    match super::drift::modified(home, &entry.directory, &plan.old_files) {
        Ok(edited) => Ok(edited.iter().map(|p| p.as_str().to_string()).collect()),
        Err(Error::Interrupted) => Err(Error::Interrupted),
        Err(_) => Ok(Vec::new()),
    }
}

/// What a move did: its commit, and the recorded agents plugged in again.
pub struct Moved {
    pub commit: Option<String>,
    pub replugged: Vec<crate::agents::AgentOutcome>,
    /// What stopped the re-plug after the move was committed (Ctrl-C, `agents.json` that cannot
    /// be read or written): the caller reports it as the run's error once the commit is pushed.
    pub stopped: Option<Error>,
}

/// What every move of a plugin to another commit shares (upgrade, rollback, undo), once the user
/// has seen the plan and agreed: the values of the variables the other version adds (from `sets`,
/// else asked), the move in one transaction, and the agents recorded for the plugin plugged in
/// again where their server or skill changed (a failure there is an outcome, not an error).
pub fn move_plugin(
    reporter: &dyn Reporter,
    settings: &Settings,
    home: &Locked,
    manifest: &mut Manifest,
    m: Move,
    sets: &[(String, String)],
    record: Record,
) -> Result<Moved> {
    let dir = home.plugin_dir(&m.entry.directory);
    let new_names: Vec<String> = m.plan.env_added.iter().map(|v| v.name.clone()).collect();
    let env = super::env::plan(
        reporter,
        &m.plan.new_plugin,
        &dir.join(".env"),
        sets,
        Some(&new_names),
        &settings.environment,
    )?;
    if !env.missing.is_empty() {
        return Err(Error::EnvMissing { missing: vec![(m.entry.directory.clone(), env.missing)], retry: None });
    }
    let commit = apply(reporter, home, manifest, m, &env, &settings.environment, record)?;
    let outer = settings.outer();
    Ok(match crate::agents::on_recorded(crate::agents::Op::Plug, home, m.entry, &settings.agents, &outer, reporter) {
        Ok(replugged) => Moved { commit, replugged, stopped: None },
        Err(e) => Moved { commit, replugged: vec![], stopped: Some(e) },
    })
}

/// Applies `plan` to `entry` in one transaction: the new version's files in place (keeping
/// `custom/`, `.env` and files the plugin did not ship), the `.env` of `env`, the manifest's pin,
/// the plugin's `install` (with `custom/overrides.yaml` applied), and the commit `message`. On
/// failure the home is as it was and `manifest` is left as it was. Returns the commit made.
pub fn apply(
    reporter: &dyn Reporter,
    home: &Locked,
    manifest: &mut Manifest,
    Move { entry, origin, plan, lock }: Move,
    env: &EnvPlan,
    outer: &Environment,
    Record { operation, message }: Record,
) -> Result<Option<String>> {
    let repo = origin.repo();
    repo.ensure_paths(plan.to, &[plan.path.as_str()])?;
    let rel_dir = plugin_rel(&entry.directory)?;
    let dir = home.plugin_dir(&entry.directory);
    let old_files: Vec<RelPath> = plan.old_files.iter().map(|f| f.path.clone()).collect();
    let mut updated = manifest.clone();
    let index = updated.index_of(&entry.directory).expect("the entry is in the manifest");
    updated.plugins[index].source.commit = Some(plan.to.to_string());
    if let Some(lock) = lock {
        updated.plugins[index].lock = lock.to_vec();
    }
    let committed = Transaction::run(home, operation, |tx| {
        put_version(tx, home, repo, plan.to, &plan.path, &entry.directory, &old_files)?.report(reporter, &entry.name);
        env.write_in(tx, &rel_dir)?;
        home.write_manifest(tx, &updated)?;
        // Install as the user has it: with custom/overrides.yaml applied.
        let plugin = plugin::load(&dir)?;
        Runner::new(&home.root, &dir, &entry.directory, &plugin, reporter, outer).install(reporter)?;
        home.commit(tx, &updated, &[manifest::FILE.to_string(), rel_dir.as_str().to_string()], message)
    })?;
    *manifest = updated;
    Ok(committed)
}

impl MovePlan {
    /// Whether the new version changes what runs on this machine: a lifecycle command, or an
    /// executable file (such a change is confirmed by the user).
    pub fn changes_commands(&self) -> bool {
        !self.lifecycle.is_empty() || !self.executables.is_empty()
    }
}
