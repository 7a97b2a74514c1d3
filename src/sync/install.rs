//! Bringing plugins to their pinned commits: what `install` and `setup` do on a fresh clone. The
//! manifest is the lock; it is never changed here.

use std::collections::{BTreeMap, HashMap};

use gix::ObjectId;

use super::put_version;
use crate::error::{Error, Result};
use crate::fs::RelPath;
use crate::home::{Entry, Locked, SourceKind, Transaction};
use crate::reporter::Reporter;
use crate::source::origin::{installed_ref, pinned, Origin, Origins};

/// How `install` and `setup` may reach sources.
#[derive(Clone, Copy, Default)]
pub struct FetchPolicy {
    pub jobs: usize,
    /// Refuse if anything would need the network.
    pub frozen: bool,
    /// Use only what the cache has.
    pub offline: bool,
}

/// Makes sure every entry's files are in place at its pinned commit: a plugin folder with a
/// `plugin.yaml` and an `.atk-ref` equal to the pin is left alone; any other remote plugin is
/// fetched (all fetches first, in parallel, one per distinct source and commit) and materialized,
/// keeping `custom/`, `.env` and any file the plugin did not ship. Returns, per entry, whether
/// files were put in place, or why not. Fails as a whole only for `--frozen`.
pub fn ensure_files(
    reporter: &dyn Reporter,
    home: &Locked,
    origins: &Origins,
    entries: &[&Entry],
    policy: FetchPolicy,
) -> Result<Vec<Result<bool>>> {
    let mut results: Vec<Option<Result<bool>>> = entries.iter().map(|_| None).collect();
    // The commit each plugin's `.atk-ref` records, read once.
    let mut installed_at = vec![None; entries.len()];
    // (origin key, commit) -> indexes of the entries that need it.
    let mut groups: BTreeMap<(String, ObjectId), Vec<usize>> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let dir = home.plugin_dir(&entry.directory);
        let has_files = crate::plugin::definition_file(&dir).is_some();
        if entry.source.kind == SourceKind::Local {
            results[i] = Some(if has_files {
                Ok(false)
            } else {
                Err(Error::conflict(
                    format!(
                        "the files of the local plugin '{}' are missing from {}",
                        crate::text::escape(&entry.name),
                        dir.display()
                    ),
                    vec![
                        "a local plugin's files live in the home's git repository: `atk git status` shows what happened"
                            .into(),
                        format!("or drop it: `atk remove {}`", entry.directory),
                    ],
                ))
            });
            continue;
        }
        let installed = match installed_ref(home, &entry.directory) {
            Ok(installed) => {
                installed_at[i] = installed;
                installed
            }
            Err(e) => {
                results[i] = Some(Err(e));
                continue;
            }
        };
        match pinned(entry) {
            Ok(commit) if has_files && installed == Some(commit) => results[i] = Some(Ok(false)),
            Ok(commit) => groups.entry((origins.key(&entry.source), commit)).or_default().push(i),
            Err(e) => results[i] = Some(Err(e)),
        }
    }

    if policy.frozen {
        // Each source opened once; a source that cannot be opened has nothing in the cache.
        let mut opened: HashMap<String, Option<Origin>> = HashMap::new();
        let mut needs = Vec::new();
        for ((key, commit), members) in &groups {
            let origin = opened.entry(key.clone()).or_insert_with(|| origins.open(&entries[members[0]].source).ok());
            for &i in members {
                let entry = entries[i];
                if !origin.as_ref().is_some_and(|o| o.repo().is_complete(*commit, &Origins::default_path(entry))) {
                    needs.push(entry.directory.clone());
                }
            }
        }
        if !needs.is_empty() {
            return Err(Error::Git {
                message: format!(
                    "--frozen: {} would need a fetch: {}",
                    crate::error::plural(needs.len(), "plugin"),
                    needs.join(", ")
                ),
                hints: vec!["run without --frozen to fetch them (or with --offline to use only the cache)".into()],
            });
        }
    }

    // Fetch: every (source, commit) once, in parallel.
    let work: Vec<((String, ObjectId), Vec<usize>)> = groups.into_iter().collect();
    let progress = reporter.progress(work.len() as u64, "fetching");
    // `jobs` at once at most, on the bounded pool.
    let fetched: Vec<Result<Fetched>> = crate::pool::map(&work, policy.jobs, |((_, commit), members)| {
        let result = fetch_group(origins, entries, members, *commit, policy.offline);
        progress.inc();
        if !progress.shown() && result.is_ok() {
            let first = entries[members[0]];
            reporter.note(&format!(
                "fetched {} @ {} ({})",
                origins.key(&first.source),
                &crate::text::short(commit),
                members.iter().map(|&i| entries[i].directory.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        result
    });
    drop(progress);
    crate::error::check_interrupt()?;

    // Materialize, one transaction per plugin, in manifest order; each source was opened once, by
    // the fetch of its first commit.
    let mut opened: HashMap<String, Origin> = HashMap::new();
    let mut order: Vec<(usize, ObjectId, String)> = Vec::new();
    for (((key, commit), members), result) in work.iter().zip(fetched) {
        match result {
            Ok((origin, paths)) => {
                opened.entry(key.clone()).or_insert(origin);
                order.extend(members.iter().zip(paths).map(|(&i, p)| (i, *commit, p)));
            }
            Err(e) => {
                for &i in members {
                    results[i] = Some(Err(e.clone()));
                }
            }
        }
    }
    order.sort_by_key(|(i, _, _)| *i);
    for (i, commit, path) in order {
        let entry = entries[i];
        let repo = opened[&origins.key(&entry.source)].repo();
        let old_files: Vec<RelPath> = match installed_at[i] {
            Some(old) if repo.has(&old) => {
                repo.list_files(old, &path).unwrap_or_default().into_iter().map(|f| f.path).collect()
            }
            _ => Vec::new(),
        };
        let result = Transaction::run(home, &format!("atk install {}", entry.directory), |tx| {
            put_version(tx, home, repo, commit, &path, &entry.directory, &old_files)?.report(reporter, &entry.name);
            Ok(true)
        });
        results[i] = Some(result);
    }
    Ok(results.into_iter().map(|r| r.unwrap_or(Ok(false))).collect())
}

/// A source opened and fetched, and each plugin's folder in it.
type Fetched = (Origin, Vec<String>);

/// Fetches one commit of one source, with the files of every plugin of `members`; returns each
/// plugin's folder in the source.
fn fetch_group(
    origins: &Origins,
    entries: &[&Entry],
    members: &[usize],
    commit: ObjectId,
    offline: bool,
) -> Result<Fetched> {
    let first = entries[members[0]];
    let origin = origins.open(&first.source)?;
    let repo = origin.repo();
    // Only a fetch that failed at the source may mean its history was rewritten; a stall, an
    // interrupt or a refusal keeps its own kind and hint.
    let describe = |e: Error| match e {
        e @ Error::Git { .. } => Error::Git {
            message: format!(
                "cannot get commit {commit} of {} for {}: {e}",
                origin.url(),
                members.iter().map(|&i| format!("'{}'", entries[i].directory)).collect::<Vec<_>>().join(", ")
            ),
            hints: vec![
                "if the source rewrote its history, `atk upgrade <plugin>` moves the plugin to what it has now".into(),
            ],
        },
        e => e,
    };
    if offline {
        let mut paths = Vec::new();
        for &i in members {
            let path = Origins::default_path(entries[i]);
            if !repo.is_complete(commit, &path) {
                return Err(Error::Git {
                    message: format!("--offline: commit {commit} of {} is not in the cache", origin.url()),
                    hints: vec!["run without --offline to fetch it".into()],
                });
            }
            paths.push(path);
        }
        return Ok((origin, paths));
    }
    let paths: Vec<String> = members
        .iter()
        .map(|&i| origin.path_at(commit, &entries[i].directory))
        .collect::<Result<_>>()
        .map_err(describe)?;
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    repo.ensure_paths(commit, &refs).map_err(describe)?;
    Ok((origin, paths))
}

/// Puts in place, at their pinned commits, the files of the remote plugins of `entries` whose
/// folder has no plugin definition yet (a fresh clone: `atk setup` asks for what it declares),
/// running nothing. Returns each such plugin with its result (see [`ensure_files`]).
pub fn ensure_definitions<'e>(
    reporter: &dyn Reporter,
    home: &Locked,
    origins: &Origins,
    entries: &[&'e Entry],
) -> Result<Vec<(&'e Entry, Result<bool>)>> {
    let absent: Vec<&Entry> = entries
        .iter()
        .copied()
        .filter(|e| {
            e.source.kind != SourceKind::Local
                && crate::plugin::definition_file(&home.plugin_dir(&e.directory)).is_none()
        })
        .collect();
    if absent.is_empty() {
        return Ok(vec![]);
    }
    let policy = FetchPolicy { jobs: jobs(None), ..FetchPolicy::default() };
    let results = ensure_files(reporter, home, origins, &absent, policy)?;
    Ok(absent.into_iter().zip(results).collect())
}

/// The locks [`lock_missing`] made, by the index of their plugin in its `entries`, and the time
/// they were looked up at (what a lock's cooldown is measured from).
pub struct LocksMade {
    pub locks: Vec<(usize, crate::sync::lock::Lock)>,
    pub now: jiff::Timestamp,
}

/// Locks, for each plugin whose files are in place (`files`, each plugin's result of
/// [`ensure_files`]), what it runs from registries without a pin, every plugin's in one round of
/// requests, and records each lock in its own commit. With `policy.frozen` such a plugin fails;
/// with `policy.offline` it is warned about and runs them as written. Returns each plugin's
/// result (its files' result, or why it could not be locked) and the locks made.
pub fn lock_missing(
    reporter: &dyn Reporter,
    settings: &crate::settings::Settings,
    home: &Locked,
    manifest: &mut crate::home::Manifest,
    entries: &[Entry],
    mut files: Vec<Result<bool>>,
    policy: FetchPolicy,
) -> Result<(Vec<Result<bool>>, LocksMade)> {
    use crate::sync::lock::{self, Keep, LockRequest, Locker};
    let mut wanting: Vec<(usize, crate::artifact::Found)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if files[i].is_err() {
            continue;
        }
        let Ok(plugin) = crate::plugin::load(&home.plugin_dir(&entry.directory)) else { continue };
        let found = lock::found_installed(home, &entry.directory, &plugin);
        let unlocked = crate::artifact::Standing::of(&found, &entry.lock).unlocked;
        if unlocked.is_empty() {
            continue;
        }
        let listed = unlocked.iter().map(|s| crate::text::escape(s).into_owned()).collect::<Vec<_>>().join(", ");
        if policy.frozen {
            files[i] = Err(Error::conflict(
                format!("--frozen: '{}' runs {listed} without a lock", crate::text::escape(&entry.name)),
                vec![format!("run `atk install {}` without --frozen to lock it", entry.directory)],
            ));
        } else if policy.offline {
            reporter.warn(&format!(
                "{}: {listed} not locked (--offline locks nothing); it runs whatever its registry serves",
                crate::text::escape(&entry.name)
            ));
        } else {
            wanting.push((i, found));
        }
    }
    let mut made = LocksMade { locks: vec![], now: jiff::Timestamp::now() };
    if wanting.is_empty() {
        return Ok((files, made));
    }
    let locker = Locker::new(settings, manifest, &[])?;
    made.now = locker.policy.now;
    let items: Vec<LockRequest> = wanting
        .iter()
        .map(|(i, found)| LockRequest { found, previous: &entries[*i].lock, keep: Keep::Locked })
        .collect();
    let activity = reporter.activity("Looking up the packages plugins run");
    let locks = lock::lock_all(&locker, &items)?;
    drop(activity);
    for ((i, _), result) in wanting.iter().zip(locks) {
        let entry = &entries[*i];
        let recorded = result.and_then(|l| {
            lock::record(home, manifest, &entry.directory, &l.pins, &lock::message(entry, "lock"))?;
            Ok(l)
        });
        match recorded {
            Ok(l) => made.locks.push((*i, l)),
            Err(e) => files[*i] = Err(e),
        }
    }
    Ok((files, made))
}

/// What [`install_one`] did: whether the plugin's install command ran, and the recorded agents
/// it plugged the plugin into again.
pub struct InstallDone {
    pub ran: bool,
    pub agents: Vec<crate::agents::AgentOutcome>,
}

/// Installs one plugin whose files are in place: the values of `sets` it declares are written to
/// its `.env` (0600, as `atk setup` does; with `strict`, for one plugin named, a key it does not
/// declare is a usage error), its install command runs (after its required values are checked),
/// and the agents recorded for it get it again where they lack it (a new laptop, or after `atk
/// uninstall`): each agent's own state decides; a server of the user's is never touched.
pub fn install_one(
    reporter: &dyn Reporter,
    settings: &crate::settings::Settings,
    home: &Locked,
    entry: &Entry,
    sets: &[(String, String)],
    strict: bool,
) -> Result<InstallDone> {
    let dir = home.plugin_dir(&entry.directory);
    let plugin = crate::plugin::load(&dir)?;
    if !sets.is_empty() {
        if strict {
            plugin.check_sets(sets)?;
        }
        let keys: Vec<String> = sets.iter().map(|(k, _)| k.clone()).filter(|k| plugin.declares(k)).collect();
        if !keys.is_empty() {
            let env_path = dir.join(".env");
            let plan = super::env::plan(reporter, &plugin, &env_path, sets, Some(&keys), &settings.environment)?;
            plan.write(home, &entry.directory)?;
        }
    }
    let outer = settings.outer();
    let runner =
        crate::lifecycle::Runner::new(&home.root, &dir, &entry.directory, &plugin, reporter, &settings.environment);
    let ran = runner.check_and_install(reporter)?;
    let agents = crate::agents::on_recorded(crate::agents::Op::Plug, home, entry, &settings.agents, &outer, reporter)?;
    Ok(InstallDone { ran, agents })
}

/// `-j N`, else the number of CPUs; capped by the bounded pool (see `crate::pool::WIDEST`).
pub fn jobs(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, crate::pool::WIDEST)
}
