//! Locking what plugins run (see `crate::artifact`): the references of a plugin as installed or
//! at a commit of its source, resolved for many plugins in one round of requests, compared with
//! the lock the manifest has, and recorded in it.

use std::collections::BTreeMap;

use gix::ObjectId;

use crate::artifact::{self, ArtifactKind, Found, HeldBack, Pin, Policy, Registries};
use crate::error::{Error, Result};
use crate::home::{manifest, Entry, Home, Locked, Manifest, Message, Transaction};
use crate::plugin::Plugin;
use crate::reporter::Reporter;
use crate::settings::Settings;
use crate::source::git::{Cache, Repo as GitRepo};

/// What resolving needs: where to ask, the cache (git references), and what may be chosen.
pub struct Locker {
    pub registries: Registries,
    pub cache: Cache,
    pub policy: Policy,
}

impl Locker {
    /// From the settings, the manifest's `config.min_release_age`, and the versions named with
    /// `--pin`.
    pub fn new(settings: &Settings, manifest: &Manifest, explicit: &[String]) -> Result<Locker> {
        let min_age = manifest
            .config
            .min_release_age()
            .map_err(|detail| Error::Manifest { path: Manifest::path(&settings.home), detail })?;
        let explicit = explicit.iter().map(|p| artifact::resolve::parse_explicit(p)).collect::<Result<_>>()?;
        Ok(Locker {
            registries: Registries::of(&settings.environment, settings.waits.net),
            cache: settings.cache(),
            policy: Policy { min_age, now: jiff::Timestamp::now(), explicit },
        })
    }
}

impl Locker {
    /// Fails when a version named with `--pin` names a package that none of `found` runs (a
    /// misspelled name would otherwise be ignored).
    pub fn check_pins<'a>(&self, found: impl IntoIterator<Item = &'a Found> + Clone) -> Result<()> {
        for (name, version) in &self.policy.explicit {
            let runs = found.clone().into_iter().flat_map(|f| &f.references).any(|r| match &r.want {
                artifact::Want::Npm { name: n, .. } => n == name,
                artifact::Want::Pypi { name: n, .. } => {
                    artifact::resolve::normalize_python(n) == artifact::resolve::normalize_python(name)
                }
                _ => false,
            });
            if !runs {
                return Err(Error::usage(
                    format!("--pin {name}@{version}: nothing here runs a package named '{name}'"),
                    Some("name a package the plugin's MCP server runs (`atk mcp <plugin>` shows its command)".into()),
                ));
            }
        }
        Ok(())
    }
}

/// How a plugin's lock is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every reference resolved anew (add, upgrade).
    Nothing,
    /// The pins the lock has for references the plugin still declares are kept; only the others
    /// are resolved (install on a manifest another tool saved).
    Locked,
}

/// A change of one pin.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PinMove {
    pub kind: ArtifactKind,
    pub spec: String,
    /// What it was locked to (short), when it was.
    pub from: Option<String>,
    /// What it is locked to now (short); `None`: the plugin no longer runs it.
    pub to: Option<String>,
}

/// One plugin's lock, made.
#[derive(Debug, Clone, Default)]
pub struct Lock {
    pub pins: Vec<Pin>,
    /// How it differs from the lock it replaces.
    pub moves: Vec<PinMove>,
    /// Newer releases held back by the cooldown: (the reference, the release).
    pub held: Vec<(String, HeldBack)>,
    /// Withdrawn releases passed over, versions named with `--pin`.
    pub notes: Vec<String>,
    /// Words that name something to run but cannot be locked, and why.
    pub unlockable: Vec<(String, String)>,
}

impl Lock {
    pub fn changed(&self) -> bool {
        !self.moves.is_empty()
    }

    /// The lock of `previous` carried over unchanged (nothing resolved).
    pub fn kept(previous: &[Pin]) -> Lock {
        Lock { pins: previous.to_vec(), ..Lock::default() }
    }

    /// `previous` replaced by `pins` (from another point of the history): the moves between them.
    pub fn replacing(previous: &[Pin], pins: Vec<Pin>) -> Lock {
        let moves = moves(previous, &pins);
        Lock { pins, moves, ..Lock::default() }
    }
}

/// The moves from `previous` to `pins`.
fn moves(previous: &[Pin], pins: &[Pin]) -> Vec<PinMove> {
    let mut out = Vec::new();
    // Pins of a kind a later atk wrote are carried as they are: no move of this atk's.
    let (pins, previous): (Vec<&Pin>, Vec<&Pin>) =
        (pins.iter().filter(|p| p.kind.is_known()).collect(), previous.iter().filter(|p| p.kind.is_known()).collect());
    for p in pins.iter().copied() {
        let was = previous.iter().find(|o| o.kind == p.kind && o.spec == p.spec);
        if was.is_none_or(|w| w.short() != p.short() || w.integrity != p.integrity || w.sha256 != p.sha256) {
            out.push(PinMove {
                kind: p.kind.clone(),
                spec: p.spec.clone(),
                from: was.map(|w| w.short()),
                to: Some(p.short()),
            });
        }
    }
    for o in previous.iter().copied() {
        if !pins.iter().any(|p| p.kind == o.kind && p.spec == o.spec) {
            out.push(PinMove { kind: o.kind.clone(), spec: o.spec.clone(), from: Some(o.short()), to: None });
        }
    }
    out
}

/// One plugin to lock: what it declares, the lock it has, and how.
pub struct LockRequest<'a> {
    pub found: &'a Found,
    pub previous: &'a [Pin],
    pub keep: Keep,
}

/// Locks every item, all of their references resolved in one round of requests. Per item, its
/// lock or the first of its references that could not be resolved. Fails as a whole only on
/// Ctrl-C.
pub fn lock_all(locker: &Locker, items: &[LockRequest]) -> Result<Vec<Result<Lock>>> {
    let mut wanted = Vec::new();
    let mut owners = Vec::new();
    for (i, item) in items.iter().enumerate() {
        for r in &item.found.references {
            let kept = item.keep == Keep::Locked && artifact::pin_of(item.previous, r).is_some();
            let again = wanted
                .iter()
                .zip(&owners)
                .any(|(w, o): (&artifact::Reference, &usize)| *o == i && w.spec == r.spec && w.kind() == r.kind());
            if !kept && !again {
                wanted.push(r.clone());
                owners.push(i);
            }
        }
    }
    let resolved = if wanted.is_empty() {
        vec![]
    } else {
        artifact::resolve_all(&locker.registries, &locker.cache, &locker.policy, &wanted)?
    };
    let mut by_item: BTreeMap<usize, Vec<(&artifact::Reference, &Result<artifact::Resolved>)>> = BTreeMap::new();
    for ((r, result), owner) in wanted.iter().zip(&resolved).zip(&owners) {
        by_item.entry(*owner).or_default().push((r, result));
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut lock = Lock { unlockable: item.found.unlockable.clone(), ..Lock::default() };
            let answers = by_item.remove(&i).unwrap_or_default();
            for r in &item.found.references {
                if lock.pins.iter().any(|p| p.locks(r)) {
                    continue;
                }
                if let Some((_, result)) = answers.iter().find(|(w, _)| w.spec == r.spec && w.kind() == r.kind()) {
                    let resolved = (*result).clone()?;
                    lock.held.extend(resolved.held.map(|h| (r.spec.clone(), h)));
                    lock.notes.extend(resolved.notes);
                    lock.pins.push(resolved.pin);
                } else if let Some(p) = artifact::pin_of(item.previous, r) {
                    lock.pins.push(p.clone());
                }
            }
            // Pins of a kind a later atk wrote stay, as they were.
            lock.pins.extend(item.previous.iter().filter(|p| !p.kind.is_known()).cloned());
            lock.moves = moves(item.previous, &lock.pins);
            Ok(lock)
        })
        .collect())
}

/// [`lock_all`] for one plugin, with the activity shown while registries are asked: its lock, or
/// why it could not be made.
pub fn lock_one(reporter: &dyn Reporter, locker: &Locker, found: &Found, previous: &[Pin], keep: Keep) -> Result<Lock> {
    let asks = found.references.iter().any(|r| keep == Keep::Nothing || artifact::pin_of(previous, r).is_none());
    let _activity = asks.then(|| reporter.activity("Looking up the packages it runs"));
    let item = LockRequest { found, previous, keep };
    lock_all(locker, &[item])?.pop().expect("one result per item")
}

/// The references of the plugin installed in `plugins/<directory>` (with its overrides).
pub fn found_installed(home: &Home, directory: &str, plugin: &Plugin) -> Found {
    let dir = home.plugin_dir(directory);
    artifact::of_plugin(plugin, |f| crate::plugin::text_of(&dir, f))
}

/// The references of the version at `commit` (the folder `path` of `repo`) of the plugin in
/// `plugins/<directory>`, with that plugin's `custom/overrides.yaml` applied (`plugin`, the
/// version's own definition, when the two cannot be read together).
pub fn found_at(home: &Home, directory: &str, repo: &GitRepo, commit: ObjectId, path: &str, plugin: &Plugin) -> Found {
    let dir = home.plugin_dir(directory);
    let merged = ["plugin.yaml", "plugin.yml"].iter().find_map(|name| {
        let p = format!("{path}/{name}");
        let bytes = repo.read_file(commit, &p).ok()??;
        crate::plugin::with_overrides_of(&bytes, &p, &dir).ok()
    });
    let plugin = merged.as_ref().unwrap_or(plugin);
    artifact::of_plugin(plugin, |f| {
        let p = format!("{path}/{f}");
        repo.ensure_paths(commit, &[&p]).ok()?;
        String::from_utf8(repo.read_file(commit, &p).ok()??).ok()
    })
}

/// Records `lock` as the lock of the plugin in `directory`, in one transaction committed with
/// `message`. On failure the home and `manifest` are as they were.
pub fn record(
    home: &Locked,
    manifest: &mut Manifest,
    directory: &str,
    lock: &[Pin],
    message: &Message,
) -> Result<Option<String>> {
    let mut updated = manifest.clone();
    let index = updated.index_of(directory).expect("the entry is in the manifest");
    updated.plugins[index].lock = lock.to_vec();
    let commit = Transaction::run(home, &format!("atk lock {directory}"), |tx| {
        home.write_manifest(tx, &updated)?;
        home.commit(tx, &updated, &[manifest::FILE.to_string()], message)
    })?;
    *manifest = updated;
    Ok(commit)
}

/// The commit message of a change of `entry`'s lock alone.
pub fn message(entry: &Entry, op: &str) -> Message {
    let commit = entry.source.commit.as_deref();
    Message::operation(format!("Lock what '{}' runs", entry.name), op, &entry.directory, commit, commit)
}
