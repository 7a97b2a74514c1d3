//! Where an installed remote plugin comes from, and putting one of its versions in place. Shared
//! by `install`, `setup` and `upgrade`.

use std::collections::BTreeMap;

use gix::ObjectId;

use super::Ctx;
use crate::error::{Error, Result};
use crate::fs::RelPath;
use crate::home::replace::replace_shipped;
use crate::home::{plugin_rel, Entry, Home, HomeLock, Manifest, Source, SourceKind, Transaction};
use crate::source;
use crate::source::git::Repo as GitRepo;
use crate::source::registry::{self, Registry};
use std::path::Path;

/// The file in a remote plugin's folder that records the commit it came from.
pub const ATK_REF: &str = ".atk-ref";

pub enum Origin {
    Registry(Registry),
    Git(GitRepo),
}

/// The registry this command uses.
pub fn registry_url(ctx: &Ctx, manifest: &Manifest) -> String {
    registry::url(ctx.settings.registry.as_deref(), manifest.config.registry.as_deref())
}

impl Origin {
    /// What identifies the origin of a remote entry (the registry's URL, or the git URL).
    pub fn key(registry_url: &str, source: &Source) -> String {
        match source.kind {
            SourceKind::Git => source.url.clone().unwrap_or_default(),
            _ => registry_url.to_string(),
        }
    }

    /// Opens the origin of `source` (fetched repositories are kept under `cache`).
    pub fn open(registry_url: &str, source: &Source, cache: &Path) -> Result<Origin> {
        match source.kind {
            SourceKind::Registry => Ok(Origin::Registry(Registry::open(registry_url, cache)?)),
            SourceKind::Git => {
                let url = source.url.as_deref().filter(|u| !u.is_empty()).ok_or_else(|| Error::Manifest {
                    path: "manifest.yaml".into(),
                    detail: "a git plugin has no source.url".into(),
                })?;
                let fetch_url = source::git_url(url).unwrap_or_else(|| url.to_string());
                Ok(Origin::Git(GitRepo::open(&fetch_url, url, cache)?))
            }
            SourceKind::Local => Err(Error::other("a local plugin has no remote origin")),
        }
    }

    pub fn repo(&self) -> &GitRepo {
        match self {
            Origin::Registry(r) => &r.repo,
            Origin::Git(g) => g,
        }
    }

    pub fn url(&self) -> String {
        match self {
            Origin::Registry(r) => r.url.clone(),
            Origin::Git(g) => g.shown().to_string(),
        }
    }

    /// The folder holding plugin `directory` at `commit` (fetching the commit's trees if needed).
    pub fn path_at(&self, commit: ObjectId, directory: &str) -> Result<String> {
        match self {
            Origin::Registry(r) => r.path_at(commit, directory),
            Origin::Git(g) => {
                g.ensure_commit(commit)?;
                match g.entry(commit, ".atk")? {
                    Some((_, true)) => Ok(".atk".into()),
                    _ => Err(Error::refused(format!("{} has no .atk/ folder at commit {commit}", g.shown()), vec![])),
                }
            }
        }
    }

    /// The source's latest commit: the registry's HEAD (no cached index), or the git remote's HEAD.
    pub fn latest(&self) -> Result<ObjectId> {
        match self {
            Origin::Registry(r) => Ok(r.latest(&[])?.commit),
            Origin::Git(g) => {
                let head = g.head()?;
                g.ensure_commit(head)?;
                Ok(head)
            }
        }
    }
}

/// How many sources are looked up at once.
const PARALLEL_LOOKUPS: usize = 8;

/// A source's origin and its latest commit, or why they could not be had.
pub type Lookup = Result<(Origin, ObjectId)>;

/// Opens the origin of each of `sources` (one per key) and looks up its latest commit, several
/// sources at a time: the wait is that of the slowest source, not the sum of them all. Each lookup
/// keeps its own bounds (stall timeout, Ctrl-C); after Ctrl-C no other source is contacted.
pub fn latest_of_all(registry_url: &str, cache: &Path, sources: &[(String, Source)]) -> Vec<(String, Lookup)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Lookup>>> = std::sync::Mutex::new(sources.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..sources.len().min(PARALLEL_LOOKUPS) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((_, source)) = sources.get(i) else { break };
                let result = crate::interrupt::check()
                    .and_then(|()| Origin::open(registry_url, source, cache))
                    .and_then(|o| o.latest().map(|c| (o, c)));
                results.lock().expect("not poisoned")[i] = Some(result);
            });
        }
    });
    let results = results.into_inner().expect("not poisoned");
    sources
        .iter()
        .zip(results)
        .map(|((key, _), r)| (key.clone(), r.unwrap_or_else(|| Err(Error::Interrupted))))
        .collect()
}

/// The commit a remote entry of the manifest is pinned to.
pub fn pinned(entry: &Entry) -> Result<ObjectId> {
    let text = entry.source.commit.as_deref().unwrap_or_default();
    ObjectId::from_hex(text.as_bytes()).map_err(|_| Error::Manifest {
        path: "manifest.yaml".into(),
        detail: format!("plugin '{}' has no valid pinned commit (source.ref: '{text}')", entry.directory),
    })
}

/// The commit recorded in `plugins/<directory>/.atk-ref`.
pub fn installed_ref(home: &Home, directory: &str) -> Option<ObjectId> {
    let text = std::fs::read_to_string(home.plugin_dir(directory).join(ATK_REF)).ok()?;
    ObjectId::from_hex(text.trim().as_bytes()).ok()
}

/// Puts version `commit` of a plugin (the folder `path` of `repo`) in `plugins/<directory>`, where
/// the files `old_files` of the previous version make way, and records the commit in `.atk-ref`.
/// Returns the paths of skipped submodules.
pub fn put_version(
    tx: &mut Transaction,
    home: &Home,
    repo: &GitRepo,
    commit: ObjectId,
    path: &str,
    directory: &str,
    old_files: &[RelPath],
) -> Result<Put> {
    let staged = home.staging()?;
    let skipped = repo.materialize(commit, path, &staged.files)?;
    let rel_dir = plugin_rel(directory)?;
    let atk_ref = RelPath::new(ATK_REF).expect("a plain name");
    let mut old: Vec<RelPath> = old_files.to_vec();
    old.push(atk_ref.clone());
    let saved = replace_shipped(tx, &rel_dir, &old, &staged)?;
    tx.write(&rel_dir.concat(&atk_ref), format!("{commit}\n").as_bytes(), None)?;
    Ok(Put { skipped, saved })
}

/// What putting a version in place did besides the files: submodules it skipped, and the user's
/// things it kept under another name (`data` → `data.atk-saved`) because the new version ships
/// something there.
pub struct Put {
    pub skipped: Vec<String>,
    pub saved: Vec<(RelPath, RelPath)>,
}

impl Put {
    /// Warns about what was skipped and kept.
    pub fn report(&self, ctx: &Ctx, name: &str) {
        for s in &self.skipped {
            ctx.ui.warn(format!(
                "{s} in '{}' is a git submodule; submodules are not installed",
                crate::text::escape(name)
            ));
        }
        for (from, to) in &self.saved {
            ctx.ui.warn(format!(
                "the new version of '{}' ships {from}, where you had one of your own: yours is kept as {to}",
                crate::text::escape(name)
            ));
        }
    }
}

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
    ctx: &Ctx,
    home: &Home,
    lock: &HomeLock,
    manifest: &Manifest,
    entries: &[&Entry],
    policy: FetchPolicy,
) -> Result<Vec<Result<bool>>> {
    let registry_url = registry_url(ctx, manifest);
    let cache = ctx.settings.cache_dir.as_path();
    let mut results: Vec<Option<Result<bool>>> = entries.iter().map(|_| None).collect();
    // (origin key, commit) -> indexes of the entries that need it.
    let mut groups: BTreeMap<(String, ObjectId), Vec<usize>> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let dir = home.plugin_dir(&entry.directory);
        let has_files = crate::plugin::definition_file(&dir).is_some();
        if entry.source.kind == SourceKind::Local {
            results[i] = Some(if has_files {
                Ok(false)
            } else {
                Err(Error::refused(
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
        match pinned(entry) {
            Ok(commit) if has_files && installed_ref(home, &entry.directory) == Some(commit) => {
                results[i] = Some(Ok(false))
            }
            Ok(commit) => groups.entry((Origin::key(&registry_url, &entry.source), commit)).or_default().push(i),
            Err(e) => results[i] = Some(Err(e)),
        }
    }

    if policy.frozen {
        let mut needs = Vec::new();
        for ((_, commit), members) in &groups {
            for &i in members {
                let entry = entries[i];
                let complete = Origin::open(&registry_url, &entry.source, cache).is_ok_and(|o| {
                    let path = if entry.source.kind == SourceKind::Git {
                        ".atk".into()
                    } else {
                        format!("plugins/{}", entry.directory)
                    };
                    o.repo().is_complete(*commit, &path)
                });
                if !complete {
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
    let progress = ctx.ui.progress(work.len() as u64, "fetching");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let fetched: Vec<std::sync::Mutex<Option<Result<Vec<String>>>>> =
        work.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..policy.jobs.max(1).min(work.len().max(1)) {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(((_, commit), members)) = work.get(n) else { break };
                let result = fetch_group(&registry_url, cache, entries, members, *commit, policy.offline);
                if let Some(p) = &progress {
                    p.inc(1);
                } else if result.is_ok() {
                    let first = entries[members[0]];
                    ctx.ui.note(format!(
                        "fetched {} @ {} ({})",
                        Origin::key(&registry_url, &first.source),
                        &commit.to_string()[..12],
                        members.iter().map(|&i| entries[i].directory.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
                *fetched[n].lock().expect("not poisoned") = Some(result);
            });
        }
    });
    drop(progress);
    crate::interrupt::check()?;

    // Materialize, one transaction per plugin, in manifest order.
    let mut order: Vec<(usize, ObjectId, String)> = Vec::new();
    for (n, ((_, commit), members)) in work.iter().enumerate() {
        match fetched[n].lock().expect("not poisoned").take().expect("every group was fetched") {
            Ok(paths) => order.extend(members.iter().zip(paths).map(|(&i, p)| (i, *commit, p))),
            Err(e) => {
                for &i in members {
                    results[i] = Some(Err(e.clone()));
                }
            }
        }
    }
    order.sort_by_key(|(i, _, _)| *i);
    // Each source is opened once for all its plugins.
    let mut opened: std::collections::HashMap<String, Origin> = std::collections::HashMap::new();
    for (i, commit, path) in order {
        let entry = entries[i];
        let key = Origin::key(&registry_url, &entry.source);
        let origin = match opened.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => Ok(o.into_mut()),
            std::collections::hash_map::Entry::Vacant(v) => {
                Origin::open(&registry_url, &entry.source, cache).map(|o| v.insert(o))
            }
        };
        let result = origin.and_then(|origin| {
            let repo = origin.repo();
            let old_files: Vec<RelPath> = match installed_ref(home, &entry.directory) {
                Some(old) if repo.is_complete(old, &path) || repo.has(&old) => {
                    repo.list_files(old, &path).unwrap_or_default().into_iter().map(|f| f.path).collect()
                }
                _ => Vec::new(),
            };
            Transaction::run(home, lock, &format!("atk install {}", entry.directory), |tx| {
                put_version(tx, home, repo, commit, &path, &entry.directory, &old_files)?.report(ctx, &entry.name);
                Ok(true)
            })
        });
        results[i] = Some(result);
    }
    Ok(results.into_iter().map(|r| r.unwrap_or(Ok(false))).collect())
}

/// Fetches one commit of one source, with the files of every plugin of `members`; returns each
/// plugin's folder in the source.
fn fetch_group(
    registry_url: &str,
    cache: &Path,
    entries: &[&Entry],
    members: &[usize],
    commit: ObjectId,
    offline: bool,
) -> Result<Vec<String>> {
    let first = entries[members[0]];
    let origin = Origin::open(registry_url, &first.source, cache)?;
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
            let e = entries[i];
            let path =
                if e.source.kind == SourceKind::Git { ".atk".to_string() } else { format!("plugins/{}", e.directory) };
            if !repo.is_complete(commit, &path) {
                return Err(Error::Git {
                    message: format!("--offline: commit {commit} of {} is not in the cache", origin.url()),
                    hints: vec!["run without --offline to fetch it".into()],
                });
            }
            paths.push(path);
        }
        return Ok(paths);
    }
    let paths: Vec<String> = members
        .iter()
        .map(|&i| origin.path_at(commit, &entries[i].directory))
        .collect::<Result<_>>()
        .map_err(describe)?;
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    repo.ensure_paths(commit, &refs).map_err(describe)?;
    Ok(paths)
}
