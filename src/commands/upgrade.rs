use gix::ObjectId;

use super::origin::{installed_ref, latest_of_all, pinned, put_version, registry_url, Lookup, Origin};
use super::{find, parse_sets, report, run_install, runner, setup, Ctx, Target};
use crate::error::{plural, Error, Result};
use crate::fs::RelPath;
use crate::home::Message;
use crate::home::{manifest, plugin_rel, Entry, Home, HomeLock, Manifest, Source, SourceKind, Transaction};
use crate::plugin::{self, EnvVar, Plugin};
use crate::source::git::FileEntry;

/// Move plugins to their source's latest commit, keeping custom/, .env and runtime data (local
/// plugins are skipped by --all).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Show what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Set a new environment variable without asking (repeatable); KEY alone takes $KEY
    /// from the environment
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

/// What moving one plugin from its commit to the latest changes.
struct Plan {
    from: ObjectId,
    to: ObjectId,
    path: String,
    old_files: Vec<FileEntry>,
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    /// Executable files added or changed.
    executables: Vec<String>,
    /// (step, old command, new command) for every lifecycle step that differs.
    lifecycle: Vec<(String, Option<String>, Option<String>)>,
    env_added: Vec<EnvVar>,
    env_removed: Vec<String>,
    new_plugin: Plugin,
}

enum Outcome {
    UpToDate,
    Upgraded(Plan, Option<String>),
    WouldUpgrade(Plan),
    Declined(Plan),
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let selected: Vec<Entry> = match &args.target.plugin {
        Some(id) => {
            let entry = find(&manifest, id)?.clone();
            if entry.source.kind == SourceKind::Local {
                return Err(Error::refused(
                    format!(
                        "'{}' is a local plugin: it has no source to upgrade from",
                        crate::text::escape(&entry.name)
                    ),
                    vec![format!("a local plugin changes by editing its files in plugins/{}", entry.directory)],
                ));
            }
            vec![entry]
        }
        None => manifest.plugins.clone(),
    };
    let registry = registry_url(ctx, &manifest);

    // One origin per source: its latest commit is looked up once, for all its plugins, all sources
    // at once; the files of every plugin that changed are fetched together.
    let mut sources: Vec<(String, Source)> = Vec::new();
    for entry in selected.iter().filter(|e| e.source.kind != SourceKind::Local) {
        let key = Origin::key(&registry, &entry.source);
        if !sources.iter().any(|(k, _)| *k == key) {
            sources.push((key, entry.source.clone()));
        }
    }
    let spinner = match sources.as_slice() {
        [] => None,
        [(key, _)] => ctx.ui.spinner(format!("Looking up {key}")),
        many => ctx.ui.spinner(format!("Looking up {} sources", many.len())),
    };
    let latest: std::collections::HashMap<String, Lookup> =
        latest_of_all(&registry, &ctx.settings.cache_dir, &sources).into_iter().collect();
    drop(spinner);
    // Ctrl-C stopped the lookups: no other source was contacted after it.
    crate::interrupt::check()?;
    for (key, source) in &latest {
        if let Ok((origin, to)) = source {
            let members: Vec<&Entry> = selected
                .iter()
                .filter(|e| e.source.kind != SourceKind::Local && Origin::key(&registry, &e.source) == *key)
                .collect();
            prefetch(&home, origin, *to, &members);
        }
    }
    let (mut upgraded, mut up_to_date, mut skipped, mut failed) = (0, 0, 0, 0);
    let mut reports = Vec::new();
    for entry in &selected {
        if entry.source.kind == SourceKind::Local {
            skipped += 1;
            ctx.ui.line(ctx.ui.dim(&format!("- {}: local plugin, skipped", crate::text::escape(&entry.name))));
            reports.push(status(entry, "skipped", None));
            continue;
        }
        let result = match &latest[&Origin::key(&registry, &entry.source)] {
            Ok((origin, to)) => upgrade_one(ctx, &home, &lock, &mut manifest, entry, origin, *to, &sets, args.dry_run),
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(Outcome::UpToDate) => {
                up_to_date += 1;
                ctx.ui.line(format!("{} {}: already up to date", ctx.ui.green("✓"), crate::text::escape(&entry.name)));
                reports.push(status(entry, "up-to-date", None));
            }
            Ok(Outcome::Upgraded(plan, commit)) => {
                upgraded += 1;
                ctx.ui.success(format!("Upgraded '{}' to {}", crate::text::escape(&entry.name), short(&plan.to)));
                reports.push(report(entry, "upgraded", &plan, commit));
            }
            Ok(Outcome::WouldUpgrade(plan)) => reports.push(report(entry, "would-upgrade", &plan, None)),
            Ok(Outcome::Declined(plan)) => {
                skipped += 1;
                ctx.ui.line(format!("- {}: not upgraded (declined)", crate::text::escape(&entry.name)));
                reports.push(report(entry, "declined", &plan, None));
            }
            Err(e) if !args.target.all || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                failed += 1;
                ctx.ui.failure(&entry.name, &e);
                reports.push(status(entry, "failed", Some(&e)));
            }
        }
    }
    if args.target.all {
        let verb = if args.dry_run { "would be upgraded" } else { "upgraded" };
        ctx.ui.line(format!("{upgraded} {verb}, {up_to_date} up to date, {skipped} skipped, {failed} failed"));
    }
    ctx.ui.json(&report::Upgrade {
        dry_run: args.dry_run,
        plugins: reports,
        summary: report::UpgradeSummary { upgraded, up_to_date, skipped, failed },
    });
    Ok(if failed > 0 { 1 } else { 0 })
}

fn short(id: &ObjectId) -> String {
    id.to_string()[..12].to_string()
}

#[allow(clippy::too_many_arguments)]
fn upgrade_one(
    ctx: &Ctx,
    home: &Home,
    lock: &HomeLock,
    manifest: &mut Manifest,
    entry: &Entry,
    origin: &Origin,
    to: ObjectId,
    sets: &[(String, String)],
    dry_run: bool,
) -> Result<Outcome> {
    let Some(plan) = plan(home, entry, origin, to)? else { return Ok(Outcome::UpToDate) };
    show(ctx, entry, &plan);
    if dry_run {
        return Ok(Outcome::WouldUpgrade(plan));
    }
    if !plan.lifecycle.is_empty() || !plan.executables.is_empty() {
        let hint = format!("review the changes above, then pass --yes: `atk upgrade {} --yes`", entry.directory);
        if !ctx.ui.confirm(
            &format!(
                "The new version of '{}' changes commands that run on this machine. Upgrade?",
                crate::text::escape(&entry.name)
            ),
            &hint,
        )? {
            return Ok(Outcome::Declined(plan));
        }
    }
    let dir = home.plugin_dir(&entry.directory);
    let new_names: Vec<String> = plan.env_added.iter().map(|v| v.name.clone()).collect();
    let env = setup::plan(ctx, &plan.new_plugin, &dir.join(".env"), sets, Some(&new_names))?;
    if !env.missing.is_empty() {
        return Err(Error::EnvMissing { missing: vec![(entry.directory.clone(), env.missing)] });
    }
    let repo = origin.repo();
    let paths: Vec<&str> = vec![plan.path.as_str()];
    repo.ensure_paths(plan.to, &paths)?;
    let rel_dir = plugin_rel(&entry.directory)?;
    let old_files: Vec<RelPath> = plan.old_files.iter().map(|f| f.path.clone()).collect();
    let commit = Transaction::run(home, lock, &format!("atk upgrade {}", entry.directory), |tx| {
        put_version(tx, home, repo, plan.to, &plan.path, &entry.directory, &old_files)?.report(ctx, &entry.name);
        if env.changed {
            tx.write(&rel_dir.join(".env").expect("a plain name"), env.file.text().as_bytes(), Some(0o600))?;
        }
        let index = manifest.index_of(&entry.directory).expect("the entry is in the manifest");
        manifest.plugins[index].source.commit = Some(plan.to.to_string());
        home.write_manifest(tx, manifest)?;
        // Install as the user has it: with custom/overrides.yaml applied.
        let plugin = plugin::load(&dir)?;
        run_install(ctx, &runner(ctx, home, &dir, &entry.directory, &plugin))?;
        home.commit(
            tx,
            manifest,
            &[manifest::FILE.to_string(), rel_dir.as_str().to_string()],
            &Message::operation(
                format!("Upgrade plugin '{}'", entry.name),
                "upgrade",
                &entry.directory,
                Some(&plan.from.to_string()),
                Some(&plan.to.to_string()),
            ),
        )
    });
    match commit {
        Ok(commit) => {
            ctx.push_if_configured(home, manifest, commit.is_some());
            Ok(Outcome::Upgraded(plan, commit))
        }
        Err(e) => {
            // The transaction put the old version back; the in-memory manifest follows it.
            *manifest = home.manifest()?;
            Err(e)
        }
    }
}

/// Fetches, in one go per commit, what planning and applying the upgrades of `entries` (all of one
/// source) will read: the new files of every plugin whose folder changed, and the old definitions.
/// Best effort: whatever fails here is fetched (and reported) plugin by plugin later.
fn prefetch(home: &Home, origin: &Origin, to: ObjectId, entries: &[&Entry]) {
    let repo = origin.repo();
    let mut new_paths = Vec::new();
    let mut old_paths: std::collections::BTreeMap<ObjectId, Vec<String>> = Default::default();
    for entry in entries {
        let Ok(from) = installed_ref(home, &entry.directory).map_or_else(|| pinned(entry), Ok) else { continue };
        let (Ok(path), Ok(old_path)) = (origin.path_at(to, &entry.directory), origin.path_at(from, &entry.directory))
        else {
            continue;
        };
        let tree = |c: ObjectId, p: &str| repo.entry(c, p).ok().flatten().map(|(id, _)| id);
        if tree(to, &path) != tree(from, &old_path) {
            new_paths.push(path);
            old_paths
                .entry(from)
                .or_default()
                .extend([format!("{old_path}/plugin.yaml"), format!("{old_path}/plugin.yml")]);
        }
    }
    let _ = repo.ensure_paths(to, &new_paths.iter().map(String::as_str).collect::<Vec<_>>());
    for (from, paths) in &old_paths {
        let _ = repo.ensure_paths(*from, &paths.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// Compares the plugin's folder at its current commit with the one at `to`; `None` when the two
/// trees are the same (a registry commit that does not touch this plugin).
fn plan(home: &Home, entry: &Entry, origin: &Origin, to: ObjectId) -> Result<Option<Plan>> {
    let from = match installed_ref(home, &entry.directory) {
        Some(r) => r,
        None => pinned(entry)?,
    };
    let repo = origin.repo();
    let path = origin.path_at(to, &entry.directory)?;
    let old_path =
        if from == to { path.clone() } else { origin.path_at(from, &entry.directory).unwrap_or_else(|_| path.clone()) };
    let new_tree = repo.entry(to, &path)?.map(|(id, _)| id);
    let old_tree = repo.entry(from, &old_path)?.map(|(id, _)| id);
    if new_tree.is_some() && new_tree == old_tree {
        return Ok(None);
    }
    // The new version is refused if a name in it could not be a file here; names like that in the
    // old version cannot be files of the plugin folder, so they have nothing to replace.
    let old_files = match repo.list_files(from, &old_path) {
        Err(Error::Refused { .. }) => Vec::new(),
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
                return plugin::parse_bytes(&bytes, &format!("{p} at {}", &commit.to_string()[..12])).map(Some);
            }
        }
        Ok(None)
    };
    let new_plugin = definition(to, &path)?.ok_or_else(|| {
        Error::refused(format!("the new version of '{}' has no plugin.yaml", crate::text::escape(&entry.name)), vec![])
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
    Ok(Some(Plan {
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
    }))
}

fn show(ctx: &Ctx, entry: &Entry, plan: &Plan) {
    let ui = &ctx.ui;
    ui.line(ui.bold(&format!("{} {} → {}", crate::text::escape(&entry.name), short(&plan.from), short(&plan.to))));
    for f in &plan.added {
        ui.line(format!("  {} {}", ui.green("+"), crate::text::escape(f)));
    }
    for f in &plan.changed {
        ui.line(format!("  {} {}", ui.yellow("~"), crate::text::escape(f)));
    }
    for f in &plan.removed {
        ui.line(format!("  {} {}", ui.red("-"), crate::text::escape(f)));
    }
    for (step, old, new) in &plan.lifecycle {
        let show = |c: &Option<String>| c.as_deref().map_or("(none)".into(), |c| crate::text::escape(c).into_owned());
        ui.line(format!("  lifecycle {step}: {} → {}", show(old), show(new)));
    }
    for v in &plan.env_added {
        ui.line(format!("  new variable {}{}", v.name, if v.required { " (required)" } else { "" }));
    }
    for v in &plan.env_removed {
        ui.line(format!("  variable no longer used: {v}"));
    }
    if plan.added.len() + plan.changed.len() + plan.removed.len() > 0 {
        ui.detail(format!(
            "  {} changed in {}",
            plural(plan.added.len() + plan.changed.len() + plan.removed.len(), "file"),
            plan.path
        ));
    }
}

/// A plugin's line of the report when there was no plan (skipped, up to date, failed).
fn status(entry: &Entry, status: &'static str, error: Option<&Error>) -> report::Upgraded {
    report::Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: None,
        commit: None,
        error: error.map(Into::into),
    }
}

fn report(entry: &Entry, status: &'static str, plan: &Plan, commit: Option<String>) -> report::Upgraded {
    report::Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: Some(report::PlanDoc {
            from: plan.from.to_string(),
            to: plan.to.to_string(),
            files: report::FilesDoc {
                added: plan.added.clone(),
                changed: plan.changed.clone(),
                removed: plan.removed.clone(),
            },
            lifecycle: plan
                .lifecycle
                .iter()
                .map(|(step, old, new)| report::StepDoc { step: step.clone(), old: old.clone(), new: new.clone() })
                .collect(),
            env: report::EnvDoc {
                added: plan
                    .env_added
                    .iter()
                    .map(|v| report::VarDoc { name: v.name.clone(), required: v.required })
                    .collect(),
                removed: plan.env_removed.clone(),
            },
        }),
        commit,
        error: None,
    }
}
