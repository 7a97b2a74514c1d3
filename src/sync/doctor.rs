//! `atk doctor`: is the home healthy? Each check reads the home (and the cache) and says ok,
//! warning or problem, with the command that fixes it. The repairs that are safe (the `.gitignore`
//! layout, untracking committed secrets, leftovers of killed runs, broken cache repositories,
//! shipped files that went missing) are in [`repair`]; a shipped file the user changed is put back
//! only once the caller has shown the change and the user agreed.

use std::path::{Path, PathBuf};

use gix::ObjectId;
use serde::Serialize;

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::fs::{Kind, RelPath};
use crate::home::transaction::{pending_operation, GIT_LOCKS};
use crate::home::{gitignore, plugin_rel, Entry, Home, Locked, Manifest, Message, Source, SourceKind, Transaction};
use crate::plugin::env::EnvFile;
use crate::reporter::Reporter;
use crate::settings::Settings;
use crate::source::origin::{installed_ref, pinned, Opened, Origins};
use crate::sync::drift::{drift, Drift};
use crate::sync::put_version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Problem,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `manifest`, `gitignore`, `secrets`, `plugin`, `strays`, `leftovers`,
    /// `cache`, `git`, `agents`.
    pub check: &'static str,
    /// The plugin's directory, for a check of one plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    pub status: Severity,
    pub message: String,
    /// One line per finding.
    pub details: Vec<String>,
    /// The command that fixes it.
    pub fix: Option<String>,
}

impl Check {
    pub fn new(check: &'static str, status: Severity, message: impl Into<String>) -> Check {
        Check { check, directory: None, status, message: message.into(), details: vec![], fix: None }
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// The fetch URL of a remote source, and whether it is a repository on this machine.
fn fetch_url(ctx: &Origins, source: &Source) -> Option<String> {
    let url = match source.kind {
        SourceKind::Registry => ctx.registry_url.clone(),
        SourceKind::Git => source.url.clone()?,
        SourceKind::Local => return None,
    };
    Some(crate::source::git_url(&url).unwrap_or(url))
}

/// Runs every check. Reads only; a plugin's source is opened through the cache of `settings`
/// (which may fetch the trees of its pinned commit when the cache lacks them), its `.env` read
/// with the environment of `settings`, and its agents looked for where `settings` says.
pub fn check(home: &Home, settings: &Settings, reporter: &dyn Reporter) -> Vec<Check> {
    let mut out = Vec::new();
    let manifest = match home.manifest() {
        Ok(m) => Some(m),
        Err(e) => {
            out.push(
                Check::new("manifest", Severity::Problem, e.to_string())
                    .fix("edit manifest.yaml, or restore it: `atk git checkout HEAD -- manifest.yaml`"),
            );
            None
        }
    };
    out.push(check_gitignore(home));
    out.push(check_secrets(home));
    out.push(check_leftovers(home));
    let ctx = &settings.origins(manifest.as_ref().unwrap_or(&Manifest::default()));
    if let Some(m) = &manifest {
        out.push(check_cache(m, ctx));
        let mut origins = Opened::default();
        for entry in &m.plugins {
            reporter.detail(&format!("checking {}", entry.directory));
            out.push(check_plugin(home, entry, ctx, &settings.environment, &mut origins));
        }
        out.push(check_strays(home, m));
        out.push(check_git(home, m));
    }
    out.extend(check_agents(home, manifest.as_ref().unwrap_or(&Manifest::default()), settings));
    out
}

/// The agents recorded in the manifest against what they have on this machine: one that `atk plug`
/// would change is a warning (a fresh clone, a server removed by hand), one not on this machine a
/// note in the details. `None` when no plugin is plugged anywhere.
fn check_agents(home: &Home, manifest: &Manifest, settings: &Settings) -> Option<Check> {
    use crate::agents::{wiring, Wiring};
    let mut unwired = Vec::new();
    let mut details = Vec::new();
    let mut recorded = 0;
    let outer = settings.outer();
    for entry in manifest.plugins.iter().filter(|e| !e.agents.is_empty()) {
        for (agent, state) in wiring(home, entry, &settings.agents, &outer) {
            recorded += 1;
            let what = format!("'{}' in {}", crate::text::escape(&entry.name), agent.label());
            match state {
                Wiring::Configured => {}
                Wiring::NotConfigured => {
                    details.push(format!("{what}: recorded, not configured"));
                    unwired.push(what);
                }
                Wiring::Absent => details.push(format!("{what}: {} is not on this machine", agent.label())),
                Wiring::Unknown(why) => {
                    details.push(format!("{what}: {}", crate::text::escape(&why)));
                    unwired.push(what);
                }
            }
        }
    }
    if recorded == 0 {
        return None;
    }
    let mut check = if unwired.is_empty() {
        Check::new("agents", Severity::Ok, "every recorded agent here has its plugins plugged in")
    } else {
        Check::new(
            "agents",
            Severity::Warning,
            format!("{} recorded but not configured here", crate::error::plural(unwired.len(), "agent wiring")),
        )
        .fix("atk plug --all")
    };
    check.details = details;
    Some(check)
}

fn check_gitignore(home: &Home) -> Check {
    match home.gitignore_text() {
        Ok(text) if gitignore::normalize(&text) == text => {
            Check::new("gitignore", Severity::Ok, ".gitignore keeps the secret patterns last")
        }
        Ok(text) if text.is_empty() => Check::new(
            "gitignore",
            Severity::Problem,
            "the home has no .gitignore: plugin files and secrets could be committed",
        )
        .fix("atk doctor --fix"),
        Ok(_) => Check::new(
            "gitignore",
            Severity::Problem,
            ".gitignore does not keep the secret patterns last (a later line can re-include a .env)",
        )
        .fix("atk doctor --fix"),
        Err(e) => Check::new("gitignore", Severity::Problem, e.to_string()),
    }
}

/// The tracked files of the home whose name is a secret's (`.env`, `*.env`, `.env.*`).
pub fn tracked_secrets(root: &Path) -> Result<Vec<String>> {
    let repo = crate::home::repo::open_checked(root)?;
    let index = repo
        .index_or_empty()
        .map_err(|e| Error::Git { message: format!("cannot read the git index: {e}"), hints: vec![] })?;
    let mut out: Vec<String> = index
        .entries()
        .iter()
        .map(|e| e.path(&index).to_string())
        .filter(|p| gitignore::is_secret(p.rsplit('/').next().unwrap_or(p)))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn check_secrets(home: &Home) -> Check {
    match tracked_secrets(&home.root) {
        Ok(s) if s.is_empty() => Check::new("secrets", Severity::Ok, "no secret file is tracked by git"),
        Ok(s) => {
            let mut c = Check::new(
                "secrets",
                Severity::Problem,
                format!(
                    "{} tracked by git (their values are in the history)",
                    crate::error::plural(s.len(), "secret file is").replace("files is", "files are")
                ),
            )
            .fix("atk doctor --fix, then rotate the keys they hold");
            c.details = s.iter().map(|p| crate::text::escape(p).into_owned()).collect();
            c
        }
        Err(e) => Check::new("secrets", Severity::Warning, format!("cannot read the git index: {e}")),
    }
}

fn check_leftovers(home: &Home) -> Check {
    let mut details = Vec::new();
    let mut status = Severity::Ok;
    let busy = home.is_busy();
    // A journal that cannot be read (a FIFO, say) is removed by hand: recovery cannot read it either.
    let mut remove_by_hand = None;
    let journal = pending_operation(home).unwrap_or_else(|e| {
        if let Error::Unreadable { path, .. } = &e {
            remove_by_hand = Some(format!("rm {}", path.display()));
        }
        details.push(e.to_string());
        status = Severity::Problem;
        None
    });
    if let Some(op) = journal {
        if busy {
            details.push(format!("`{}` is running now (its journal is there)", crate::text::escape(&op)));
            status = status.max(Severity::Warning);
        } else {
            details.push(format!(
                "the interrupted `{}` left its journal: the home may be half-changed",
                crate::text::escape(&op)
            ));
            status = Severity::Problem;
        }
    }
    let staged = std::fs::read_dir(home.staging_root()).map(|d| d.count()).unwrap_or(0);
    if staged > 0 && !busy {
        details.push(format!("{} left in .git/atk/staging", crate::error::plural(staged, "staging folder")));
        status = status.max(Severity::Warning);
    }
    let trashed = std::fs::read_dir(home.trash_dir()).map(|d| d.count()).unwrap_or(0);
    if trashed > 0 && !busy {
        details.push(format!(
            "{} that a rollback took out of the home could not be deleted yet; what is left is in {} (files atk may not delete: `sudo rm -rf` it, or `chattr -i` what is immutable)",
            crate::error::plural(trashed, "folder"),
            home.trash_dir().display()
        ));
        status = status.max(Severity::Warning);
    }
    for name in GIT_LOCKS {
        if home.root.join(".git").join(name).is_file() && !busy {
            details.push(format!(".git/{name} is there: git (or a killed atk) holds the repository"));
            status = status.max(Severity::Problem);
        }
    }
    let message = match status {
        Severity::Ok if busy => "another atk is changing the home right now".to_string(),
        Severity::Ok => "no leftover journal, staging folder or git lock".to_string(),
        _ => "a run that was interrupted left things behind".to_string(),
    };
    let mut c = Check::new("leftovers", status, message);
    c.details = details;
    if let Some(rm) = remove_by_hand {
        c = c.fix(rm);
    } else if status != Severity::Ok {
        c = c.fix("atk doctor --fix");
    }
    c
}

fn check_cache(manifest: &Manifest, ctx: &Origins) -> Check {
    let mut status = Severity::Ok;
    let mut details = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut opened: std::collections::HashMap<PathBuf, std::result::Result<gix::Repository, String>> =
        Default::default();
    for entry in manifest.plugins.iter().filter(|e| e.source.kind != SourceKind::Local) {
        let Some(url) = fetch_url(ctx, &entry.source) else {
            details.push(format!("{}: a git plugin without source.url", entry.directory));
            status = Severity::Problem;
            continue;
        };
        let Ok(pin) = pinned(entry) else { continue };
        let shown = crate::text::mask_credentials(&url);
        let (path, local) = match crate::source::git::local_path(&url) {
            Some(p) => (p, true),
            None => (crate::source::git::cache_dir(&ctx.cache.root, &url), false),
        };
        if !local && !path.exists() {
            if !seen.contains(&url) {
                details.push(format!("{shown}: not cached yet (fetched when needed)"));
                seen.push(url);
            }
            continue;
        }
        // Each repository opened once, for all its plugins.
        let opened = opened.entry(path.clone()).or_insert_with(|| {
            crate::home::repo::check_repository(&path).map_err(|e| e.to_string())?;
            gix::open(&path).map_err(|e| e.to_string())
        });
        match opened {
            Err(e) => {
                if !seen.contains(&url) {
                    if local {
                        details.push(format!("{shown} cannot be opened as a git repository: {e}"));
                        status = Severity::Problem;
                    } else {
                        details.push(format!("the cache of {shown} ({}) cannot be opened: {e}", path.display()));
                        status = status.max(Severity::Warning);
                    }
                    seen.push(url);
                }
            }
            Ok(repo) if !repo.has_object(pin) => {
                if local {
                    details.push(format!("{}: {shown} does not have the pinned commit {pin}", entry.directory));
                    status = Severity::Problem;
                } else {
                    details.push(format!(
                        "{}: the cache of {shown} lacks the pinned commit {} (fetched when needed)",
                        entry.directory,
                        &crate::text::short(&pin)
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    let message = match status {
        Severity::Ok => "the sources' repositories open and have the pinned commits".to_string(),
        Severity::Warning => "a cache repository is broken (it is fetched again once removed)".to_string(),
        Severity::Problem => "a source cannot give a plugin's pinned commit".to_string(),
    };
    let mut c = Check::new("cache", status, message);
    c.details = details;
    match status {
        Severity::Warning => c.fix("atk doctor --fix"),
        Severity::Problem => c.fix("`atk upgrade <plugin>` moves a plugin to a commit its source has"),
        Severity::Ok => c,
    }
}

fn check_plugin(home: &Home, entry: &Entry, ctx: &Origins, outer: &Environment, origins: &mut Opened) -> Check {
    let dir = &entry.directory;
    let path = home.plugin_dir(dir);
    let mut c = Check::new("plugin", Severity::Ok, "");
    c.directory = Some(dir.clone());
    let mut fixes: Vec<String> = Vec::new();
    let mut find = |c: &mut Check, status: Severity, line: String, fix: Option<String>| {
        c.status = c.status.max(status);
        c.details.push(line);
        if let Some(f) = fix {
            if !fixes.contains(&f) {
                fixes.push(f);
            }
        }
    };
    if !path.is_dir() {
        let fix = if entry.source.kind == SourceKind::Local {
            "`atk git status` shows what happened to its files; `atk remove` drops it".to_string()
        } else {
            format!("atk install {dir}")
        };
        find(&mut c, Severity::Problem, format!("plugins/{dir} is missing"), Some(fix));
    } else {
        // The definition, as the user has it (with custom/overrides.yaml).
        match crate::plugin::load(&path) {
            Ok(plugin) => {
                // What it runs from registries against its lock.
                let found = super::lock::found_installed(home, dir, &plugin);
                let standing = crate::artifact::Standing::of(&found, &entry.lock);
                if !standing.unlocked.is_empty() {
                    let why = if entry.lock.is_empty() {
                        " (the manifest has no lock for it: saved by another tool, such as atk-cli, or before atk locked)"
                    } else {
                        " (its plugin.yaml changed since it was locked)"
                    };
                    find(
                        &mut c,
                        Severity::Warning,
                        format!(
                            "runs without a lock, whatever its registry serves: {}{why}",
                            standing
                                .unlocked
                                .iter()
                                .map(|s| crate::text::escape(s).into_owned())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Some(format!("atk install {dir}")),
                    );
                }
                if !standing.stale.is_empty() {
                    find(
                        &mut c,
                        Severity::Warning,
                        format!(
                            "its lock names what it no longer runs: {}",
                            crate::text::escape(&standing.stale.join(", "))
                        ),
                        Some(format!("atk upgrade {dir}")),
                    );
                }
                let env = EnvFile::read(&path.join(".env"), &|k| outer.var(k));
                if let Err(e) = &env {
                    find(&mut c, Severity::Problem, e.to_string(), e.hints().into_iter().next());
                }
                if let Ok(env) = env {
                    let missing = crate::lifecycle::missing_required(&plugin, &env, outer);
                    if !missing.is_empty() {
                        find(
                            &mut c,
                            Severity::Problem,
                            format!("required variables without a value: {}", missing.join(", ")),
                            Some(format!("atk setup {dir}")),
                        );
                    }
                }
            }
            Err(e) => {
                let mut line = format!("{e}");
                for d in e.details() {
                    line.push_str(&format!("; {d}"));
                }
                find(
                    &mut c,
                    Severity::Problem,
                    line,
                    Some(format!(
                        "edit plugins/{dir}/custom/overrides.yaml (or plugin.yaml), then `atk validate {}`",
                        crate::text::escape(&crate::lifecycle::shell_quote(&path.to_string_lossy()))
                    )),
                );
            }
        }
        if entry.source.kind != SourceKind::Local {
            match (pinned(entry), installed_ref(home, dir)) {
                (Err(e), _) | (_, Err(e)) => find(&mut c, Severity::Problem, e.to_string(), None),
                (Ok(pin), Ok(installed)) if installed != Some(pin) => {
                    let has = installed
                        .map_or("no .atk-ref".to_string(), |i| format!(".atk-ref says {}", &crate::text::short(&i)));
                    find(
                        &mut c,
                        Severity::Problem,
                        format!("{has}, the manifest pins {}", &crate::text::short(&pin)),
                        Some(format!("atk install {dir}")),
                    );
                }
                (Ok(_), _) => {
                    match ctx
                        .open_once(origins, &entry.source)
                        .as_ref()
                        .map_err(Clone::clone)
                        .and_then(|o| drift(home, entry, o))
                    {
                        Ok(d) => {
                            let names = |v: &[RelPath]| {
                                v.iter()
                                    .map(|p| crate::text::escape(p.as_str()).into_owned())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            };
                            if !d.modified.is_empty() {
                                find(
                                    &mut c,
                                    Severity::Problem,
                                    format!(
                                        "changed since the pinned commit (lost at the next upgrade): {}",
                                        names(&d.modified)
                                    ),
                                    Some(format!(
                                        "atk diff {dir}; `atk doctor --fix` puts the pinned files back (it asks first)"
                                    )),
                                );
                            }
                            if !d.missing.is_empty() {
                                find(
                                    &mut c,
                                    Severity::Problem,
                                    format!("shipped files missing: {}", names(&d.missing)),
                                    Some("atk doctor --fix".into()),
                                );
                            }
                            // What the plugin does not ship, its install or service wrote: runtime
                            // data, not drift (upgrades keep it). Named, never a warning.
                            if !d.extra.is_empty() {
                                find(
                                    &mut c,
                                    Severity::Ok,
                                    format!(
                                        "files it wrote itself (runtime data, kept by upgrades): {}",
                                        names(&d.extra)
                                    ),
                                    None,
                                );
                            }
                        }
                        Err(e) => {
                            find(&mut c, Severity::Warning, format!("cannot compare with the pinned commit: {e}"), None)
                        }
                    }
                }
            }
        }
    }
    c.message = match c.status {
        Severity::Ok if entry.source.kind == SourceKind::Local => {
            format!("{dir}: local plugin, files and definition in order")
        }
        Severity::Ok if c.details.is_empty() => format!("{dir}: files equal its pinned commit"),
        Severity::Ok => format!("{dir}: shipped files equal its pinned commit"),
        _ => format!("{dir}: {}", crate::error::plural(c.details.len(), "finding")),
    };
    if !fixes.is_empty() {
        c.fix = Some(fixes.join("; "));
    }
    c
}

fn check_strays(home: &Home, manifest: &Manifest) -> Check {
    let plugins = RelPath::new("plugins").expect("a plain name");
    let strays: Vec<String> = home
        .files
        .entries(&plugins)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, kind)| {
            *kind == Kind::Dir
                && manifest.plugins.iter().all(|e| e.directory != *name)
                && !crate::fs::is_temp_name(name)
        })
        .map(|(name, _)| name)
        .collect();
    if strays.is_empty() {
        return Check::new("strays", Severity::Ok, "every folder under plugins/ is a plugin of the manifest");
    }
    let mut c = Check::new(
        "strays",
        Severity::Warning,
        format!("{} under plugins/ that no manifest entry names", crate::error::plural(strays.len(), "folder")),
    )
    // The folder's whole path: `atk add` reads a path from where it runs.
    .fix(match strays.as_slice() {
        [one] => format!(
            "`atk add {}` makes it a plugin again; else move it out of the home",
            crate::text::escape(&crate::lifecycle::shell_quote(&home.plugin_dir(one).to_string_lossy()))
        ),
        _ => format!(
            "`atk add {}/<folder>` makes one a plugin again; else move it out of the home",
            crate::text::escape(&crate::lifecycle::shell_quote(&home.root.join("plugins").to_string_lossy()))
        ),
    });
    c.details = strays.iter().map(|s| format!("plugins/{}", crate::text::escape(s))).collect();
    c
}

fn check_git(home: &Home, manifest: &Manifest) -> Check {
    let mut status = Severity::Ok;
    let mut details = Vec::new();
    let mut fix = None;
    let repo = match crate::home::repo::open_checked(&home.root) {
        Ok(r) => r,
        Err(e) => return Check::new("git", Severity::Problem, e.to_string()),
    };
    let identity = |a: Option<std::result::Result<gix::actor::SignatureRef<'_>, gix::Error>>| matches!(a, Some(Ok(_)));
    if !identity(repo.committer()) {
        details.push("no git identity: commits are made as ATK <atk@localhost>".to_string());
        status = Severity::Warning;
        fix = Some("atk git config user.name 'Your Name' && atk git config user.email you@example.com".to_string());
    }
    let remotes: Vec<String> = repo.remote_names().iter().map(|n| n.to_string()).collect();
    let config = &manifest.config;
    if config.auto_push && remotes.is_empty() {
        details.push("auto_push is on but the home has no remote".into());
        status = Severity::Problem;
        fix = Some("atk git remote add origin <url>".into());
    }
    if config.auto_push && !config.auto_commit {
        details.push("auto_push is on but auto_commit is off: nothing is ever pushed".into());
        status = status.max(Severity::Warning);
    }
    if !config.auto_commit {
        details.push(
            "auto_commit is off: operations are not recorded, and history, rollback and undo do not see them".into(),
        );
        status = status.max(Severity::Warning);
    }
    if repo.head_name().ok().flatten().is_none() {
        details.push("HEAD is detached: commits are made on no branch".into());
        status = status.max(Severity::Warning);
    }
    let message = match status {
        Severity::Ok if remotes.is_empty() => "identity set; no remote (auto_push off)".to_string(),
        Severity::Ok => format!(
            "identity set; remote {}; auto_push {}",
            remotes.join(", "),
            if config.auto_push { "on" } else { "off" }
        ),
        _ => "git settings need attention".to_string(),
    };
    let mut c = Check::new("git", status, message);
    c.details = details;
    c.fix = fix;
    c
}

/// What [`repair`] did, one line each.
pub type Repairs = Vec<String>;

/// The safe repairs, under the home lock (taking it already rolled back a leftover journal):
/// stale staging folders and git lock files removed, `.gitignore` normalized and tracked secrets
/// untracked in one commit, broken cache repositories removed, and shipped files that are
/// missing or changed put back from the pinned commit. A changed file is only put back when
/// `replace_changed(directory, drift)` says so (the caller shows the change and asks).
pub fn repair(
    home: &Locked,
    ctx: &Origins,
    reporter: &dyn Reporter,
    replace_changed: &mut dyn FnMut(&Entry, &Drift) -> Result<bool>,
) -> Result<Repairs> {
    let mut done = Vec::new();
    // Leftovers: the lock is ours, so nothing else uses them (taking it cleared the staging
    // folders already).
    for name in GIT_LOCKS {
        let p = home.root.join(".git").join(name);
        let old = std::fs::metadata(&p).ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
        // A git command of the user's may be running: only a lock untouched for a minute goes.
        if old.is_some_and(|age| age.as_secs() >= 60) {
            match std::fs::remove_file(&p) {
                Ok(()) => done.push(format!("removed the stale .git/{name}")),
                Err(e) => reporter.warn(&format!("cannot remove {}: {e}", p.display())),
            }
        } else if old.is_some() {
            reporter.warn(&format!(".git/{name} is less than a minute old: a git command may be running; left alone"));
        }
    }

    // .gitignore and tracked secrets, in one commit. A repair that fails is said, and the others
    // go on: each stands alone.
    let manifest = home.manifest()?;
    if let Err(e) = repair_gitignore(home, &manifest, reporter, &mut done) {
        if matches!(e, Error::Interrupted) {
            return Err(e);
        }
        reporter.warn(&format!("cannot repair .gitignore and the tracked secrets: {e}"));
    }

    // Broken cache repositories: they are made again on the next fetch.
    let mut seen = Vec::new();
    for entry in manifest.plugins.iter().filter(|e| e.source.kind != SourceKind::Local) {
        let Some(url) = fetch_url(ctx, &entry.source) else { continue };
        if crate::source::git::local_path(&url).is_some() || seen.contains(&url) {
            continue;
        }
        let path = crate::source::git::cache_dir(&ctx.cache.root, &url);
        if path.exists() && (crate::home::repo::check_repository(&path).is_err() || gix::open(&path).is_err()) {
            match crate::fs::remove_any(&path) {
                Ok(()) => done.push(format!("removed the broken cache repository {}", path.display())),
                Err(e) => reporter.warn(&format!("cannot remove the broken cache repository: {e}")),
            }
        }
        seen.push(url);
    }
    repair_shipped(home, ctx, &manifest, reporter, replace_changed, &mut done)?;
    Ok(done)
}

/// `.gitignore` normalized and the tracked secrets untracked, in one commit.
fn repair_gitignore(home: &Locked, manifest: &Manifest, reporter: &dyn Reporter, done: &mut Repairs) -> Result<()> {
    let text = home.gitignore_text()?;
    let normalized = gitignore::normalize(&text);
    let secrets = tracked_secrets(&home.root)?;
    if normalized != text || !secrets.is_empty() {
        let committed = Transaction::run(home, "atk doctor --fix", |tx| {
            let mut paths = vec![gitignore::FILE.to_string()];
            if normalized != text {
                home.write_gitignore(tx, &normalized)?;
            }
            paths.extend(secrets.iter().cloned());
            home.commit(tx, manifest, &paths, &Message::from(crate::sync::history::DOCTOR_SUBJECT))
        })?;
        if normalized != text {
            done.push("rewrote .gitignore with the secret patterns last".into());
        }
        if !secrets.is_empty() {
            if committed.is_some() {
                done.push(format!(
                    "untracked {} (kept on disk): {}. Their values stay in the git history (and in every clone or push of it): rotate those keys",
                    crate::error::plural(secrets.len(), "secret file"),
                    secrets.join(", ")
                ));
            } else {
                reporter.warn(&format!(
                    "auto_commit is off: untrack the secret files yourself: `atk git rm --cached -- {}` and commit",
                    secrets.join(" ")
                ));
            }
        }
    }
    Ok(())
}

/// Shipped files: missing ones come back; changed ones only when the user agrees. Each plugin,
/// and within it the missing and the changed files, stands alone.
fn repair_shipped(
    home: &Locked,
    ctx: &Origins,
    manifest: &Manifest,
    reporter: &dyn Reporter,
    replace_changed: &mut dyn FnMut(&Entry, &Drift) -> Result<bool>,
    done: &mut Repairs,
) -> Result<()> {
    let mut origins = Opened::default();
    for entry in manifest.plugins.iter().filter(|e| e.source.kind != SourceKind::Local) {
        let dir = &entry.directory;
        let Ok(pin) = pinned(entry) else { continue };
        if !home.plugin_dir(dir).is_dir() || !matches!(installed_ref(home, dir), Ok(Some(i)) if i == pin) {
            continue;
        }
        let origin = match ctx.open_once(&mut origins, &entry.source) {
            Ok(o) => o,
            Err(e) => {
                reporter.warn(&format!("{dir}: {e}"));
                continue;
            }
        };
        let d = match drift(home, entry, origin) {
            Ok(d) => d,
            Err(e) => {
                reporter.warn(&format!("{dir}: cannot compare with the pinned commit: {e}"));
                continue;
            }
        };
        if d.is_clean() {
            continue;
        }
        // Each repair stands alone: changes the user keeps do not keep the missing files away.
        let replace = d.modified.is_empty() || replace_changed(entry, &d)?;
        if !replace {
            reporter.note(&format!("{dir}: your changes are kept"));
            if d.missing.is_empty() {
                continue;
            }
        }
        let repo = origin.repo();
        let put = repo.ensure_paths(pin, &[d.path.as_str()]).and_then(|_| {
            Transaction::run(home, &format!("atk doctor --fix {dir}"), |tx| {
                if replace {
                    let old: Vec<RelPath> = d.files.iter().map(|f| f.path.clone()).collect();
                    put_version(tx, home, repo, pin, &d.path, dir, &old).map(|_| ())
                } else {
                    put_back(tx, home, repo, pin, &d.path, dir, &d.missing)
                }
            })
        });
        match put {
            Err(e @ Error::Interrupted) => return Err(e),
            Err(e) => reporter.warn(&format!("{dir}: cannot put back its shipped files: {e}")),
            Ok(()) if replace => done.push(format!(
                "{dir}: put back {} from commit {}",
                crate::error::plural(d.modified.len() + d.missing.len(), "shipped file"),
                &crate::text::short(&pin)
            )),
            Ok(()) => done.push(format!(
                "{dir}: put back {} from commit {}: {}; your changes to {} are kept",
                crate::error::plural(d.missing.len(), "missing shipped file"),
                &crate::text::short(&pin),
                d.missing.iter().map(|p| crate::text::escape(p.as_str()).into_owned()).collect::<Vec<_>>().join(", "),
                crate::error::plural(d.modified.len(), "file"),
            )),
        }
    }
    Ok(())
}

/// Puts back only the shipped files `missing` of version `commit` (the folder `path` of `repo`)
/// in `plugins/<directory>`, making the folders they need; every other file stays as it is.
fn put_back(
    tx: &mut Transaction,
    home: &Home,
    repo: &crate::sync::GitRepo,
    commit: ObjectId,
    path: &str,
    directory: &str,
    missing: &[RelPath],
) -> Result<()> {
    let staged = home.staging()?;
    repo.materialize(commit, path, &staged.files)?;
    let rel_dir = plugin_rel(directory)?;
    for p in missing {
        let mut walked = RelPath::root();
        for name in p.parent().iter().flat_map(|d| d.components()) {
            walked = walked.join(name).expect("the components of a RelPath are names");
            let at = rel_dir.concat(&walked);
            if !home.files.exists(&at) {
                tx.mkdir(&at)?;
            }
        }
        tx.place(&staged.files, p, &rel_dir.concat(p))?;
    }
    Ok(())
}

#[cfg(test)]
mod drift_tests {
    use std::time::Duration;

    use super::*;
    use crate::reporter::Recorder;
    use crate::sync::drift::drift_diff;
    use crate::sync::tests::{home as new_home, origins as test_origins, write};

    #[test]
    fn drift_names_changed_missing_and_extra_shipped_files_and_repair_puts_them_back() {
        let t = tempfile::tempdir().unwrap();
        let home = new_home(t.path());
        let origins = test_origins(t.path());
        let src = t.path().join("tool");
        write(&src.join(".atk/plugin.yaml"), "schema_version: \"2026-08-20\"\nname: Tool\ndescription: a tool\n");
        write(&src.join(".atk/a.txt"), "a\n");
        write(&src.join(".atk/sub/b.txt"), "b\n");
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"])
                .args(args)
                .current_dir(&src)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        };
        git(&["init", "-q"]);
        git(&["add", "-A"]);
        git(&["commit", "-qm", "v1"]);
        let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
        let reporter = Recorder::answering(false);
        let mut manifest = home.manifest().unwrap();
        crate::sync::tests::add_source(&reporter, &home, &mut manifest, &origins, &src, t.path());
        let entry = manifest.plugins[0].clone();
        let origin = origins.open(&entry.source).unwrap();
        assert!(drift(&home, &entry, &origin).unwrap().is_clean());

        let dir = home.plugin_dir("tool");
        write(&dir.join("a.txt"), "mine\n");
        std::fs::remove_file(dir.join("sub/b.txt")).unwrap();
        write(&dir.join("sub/extra.txt"), "x\n");
        write(&dir.join("runtime/data"), "not in a shipped folder\n");
        write(&dir.join("custom/c.txt"), "the user's\n");
        let d = drift(&home, &entry, &origin).unwrap();
        let names = |v: &[RelPath]| v.iter().map(|p| p.as_str().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&d.modified), ["a.txt"]);
        assert_eq!(names(&d.missing), ["sub/b.txt"]);
        assert_eq!(names(&d.extra), ["sub/extra.txt"]);
        assert!(drift_diff(&home, &entry, &origin, &d, &|s| s.to_string()).unwrap().contains("-a\n+mine\n"));

        // Declined: the changed file stays, the missing one comes back all the same. Agreed: the
        // pinned files are back, the rest stays.
        let mut no = |_: &Entry, _: &Drift| Ok(false);
        let done = repair(&home, &origins, &reporter, &mut no).unwrap();
        assert!(done.iter().any(|l| l.contains("put back 1 missing shipped file")), "{done:?}");
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "mine\n");
        assert!(dir.join("sub/b.txt").is_file());
        assert_eq!(names(&drift(&home, &entry, &origin).unwrap().missing), Vec::<String>::new());
        std::fs::remove_file(dir.join("sub/b.txt")).unwrap();
        let mut yes = |_: &Entry, d: &Drift| Ok(d.modified.len() == 1);
        let done = repair(&home, &origins, &reporter, &mut yes).unwrap();
        assert!(done.iter().any(|l| l.contains("put back 2 shipped files")), "{done:?}");
        assert!(drift(&home, &entry, &origin).unwrap().is_clean());
        assert_eq!(std::fs::read_to_string(dir.join("custom/c.txt")).unwrap(), "the user's\n");
        assert!(dir.join("runtime/data").is_file() && dir.join("sub/extra.txt").is_file());
    }
}
