use serde::Serialize;

use super::report::ErrorDoc;
use super::{select, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::plugin;
use crate::sync::install::{ensure_files, FetchPolicy};
use crate::ui::{Report, Ui};

/// Bring plugins to their pinned commits and run their install commands (the manifest is the lock:
/// it changes only to lock a package or image a plugin runs that it has no lock for).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// Fetches to run at once [default: the number of CPUs; at most 17, the bounded pool's
    /// threads and the calling thread]
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Fail if anything would need to be fetched or locked
    #[arg(long, conflicts_with = "offline")]
    pub frozen: bool,
    /// Use only what the cache has; lock nothing
    #[arg(long)]
    pub offline: bool,
    /// Set a variable in the plugin's .env before its install runs (repeatable); KEY alone takes
    /// $KEY from the environment; with --all, in every plugin that declares KEY
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = super::parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let entries: Vec<crate::home::Entry> =
        select(&manifest, args.target.plugin.as_deref())?.into_iter().cloned().collect();
    let policy =
        FetchPolicy { jobs: crate::sync::install::jobs(args.jobs), frozen: args.frozen, offline: args.offline };
    let refs: Vec<&crate::home::Entry> = entries.iter().collect();
    let files = ensure_files(&ctx.ui, &home, &ctx.settings.origins(&manifest), &refs, policy)?;
    // What a plugin runs from registries and has no lock for (a manifest another tool saved, a
    // plugin added before atk locked) is locked now, every plugin's in one round of requests;
    // what has a lock keeps it.
    let files = lock_missing(ctx, &home, &mut manifest, &entries, files, &args)?;

    let mut reports = Vec::new();
    for (entry, files) in entries.iter().zip(files) {
        let result = files.and_then(|fetched| {
            let dir = home.plugin_dir(&entry.directory);
            let plugin = plugin::load(&dir)?;
            set_values(ctx, &home, entry, &plugin, &sets, args.target.all)?;
            let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
            let ran = runner
                .check_and_install(&ctx.ui)
                .map_err(|e| e.retry_with(ctx.retry(&format!("install {}", entry.directory), &[], &sets)))?;
            Ok((fetched, ran))
        });
        // The agents recorded for the plugin get it again where they lack it (a new laptop, or after
        // `atk uninstall`): each agent's own state decides; a server of the user's is never touched.
        let result = result.and_then(|(fetched, ran)| {
            let outcomes = crate::agents::on_recorded(
                crate::agents::Op::Plug,
                &home,
                entry,
                &ctx.settings.agents,
                &ctx.settings.outer(),
                &ctx.ui,
            )?;
            Ok((fetched, ran, outcomes))
        });
        match result {
            Ok((fetched, ran, outcomes)) => {
                let what = match (fetched, ran) {
                    (true, true) => "files put in place, install ran",
                    (true, false) => "files put in place (no install command)",
                    (false, true) => "install ran",
                    (false, false) => "nothing to do (no install command)",
                };
                ctx.ui.success(format!("{}: {what}", crate::text::escape(&entry.name)));
                super::report::hook_outcomes(&ctx.ui, entry, &outcomes, "plug");
                reports.push(Installed {
                    name: entry.name.clone(),
                    directory: entry.directory.clone(),
                    fetched,
                    installed: ran,
                    agents: outcomes.iter().map(Into::into).collect(),
                    error: None,
                });
            }
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) if !args.target.all => return Err(e),
            Err(e) => {
                ctx.ui.failure(&entry.name, &e);
                reports.push(Installed {
                    name: entry.name.clone(),
                    directory: entry.directory.clone(),
                    fetched: false,
                    installed: false,
                    agents: vec![],
                    error: Some((&e).into()),
                });
            }
        }
    }
    let report = Install { plugins: reports, all: args.target.all };
    ctx.ui.print(&report);
    Ok(if report.failed() == 0 { 0 } else { 1 })
}

/// Writes the values of `--set` that `plugin` declares to its `.env` (0600, as `atk setup` does),
/// before its install runs. For one plugin named, a key it does not declare is a usage error; with
/// `--all`, each plugin takes the keys it declares (as `atk setup --all --set` does).
fn set_values(
    ctx: &Ctx,
    home: &crate::home::Locked,
    entry: &crate::home::Entry,
    plugin: &plugin::Plugin,
    sets: &[(String, String)],
    all: bool,
) -> Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    if !all {
        plugin.check_sets(sets)?;
    }
    let keys: Vec<String> = sets.iter().map(|(k, _)| k.clone()).filter(|k| plugin.declares(k)).collect();
    if keys.is_empty() {
        return Ok(());
    }
    let dir = home.plugin_dir(&entry.directory);
    let plan =
        crate::sync::env::plan(&ctx.ui, plugin, &dir.join(".env"), sets, Some(&keys), &ctx.settings.environment)?;
    plan.write(home, &entry.directory)
}

/// Locks, for each plugin whose files are in place, the references it runs without a pin (see
/// `run`): with `--frozen` such a plugin fails, with `--offline` it is warned about and runs them
/// as written. Each plugin's result is its files' result, or why it could not be locked.
fn lock_missing(
    ctx: &Ctx,
    home: &crate::home::Locked,
    manifest: &mut crate::home::Manifest,
    entries: &[crate::home::Entry],
    files: Vec<Result<bool>>,
    args: &Args,
) -> Result<Vec<Result<bool>>> {
    use crate::sync::lock::{self, Item, Keep, Locker};
    let mut wanting: Vec<(usize, crate::artifact::Found)> = Vec::new();
    let mut files = files;
    for (i, entry) in entries.iter().enumerate() {
        if files[i].is_err() {
            continue;
        }
        let Ok(plugin) = plugin::load(&home.plugin_dir(&entry.directory)) else { continue };
        let found = lock::found_installed(home, &entry.directory, &plugin);
        let unlocked = crate::artifact::Standing::of(&found, &entry.lock).unlocked;
        if unlocked.is_empty() {
            continue;
        }
        let listed = unlocked.iter().map(|s| crate::text::escape(s).into_owned()).collect::<Vec<_>>().join(", ");
        if args.frozen {
            files[i] = Err(Error::conflict(
                format!("--frozen: '{}' runs {listed} without a lock", crate::text::escape(&entry.name)),
                vec![format!("run `atk install {}` without --frozen to lock it", entry.directory)],
            ));
        } else if args.offline {
            ctx.ui.warn(format!(
                "{}: {listed} not locked (--offline locks nothing); it runs whatever its registry serves",
                crate::text::escape(&entry.name)
            ));
        } else {
            wanting.push((i, found));
        }
    }
    if wanting.is_empty() {
        return Ok(files);
    }
    let locker = Locker::new(&ctx.settings, manifest, &[])?;
    let items: Vec<Item> =
        wanting.iter().map(|(i, found)| Item { found, previous: &entries[*i].lock, keep: Keep::Locked }).collect();
    let activity = crate::reporter::Reporter::activity(&ctx.ui, "Looking up the packages plugins run");
    let locks = lock::lock_all(&locker, &items)?;
    drop(activity);
    for ((i, _), result) in wanting.iter().zip(locks) {
        let entry = &entries[*i];
        let recorded = result.and_then(|l| {
            super::report::lock_plan(&ctx.ui, &entry.name, &l, locker.policy.now, false);
            lock::record(home, manifest, &entry.directory, &l.pins, &lock::message(entry, "lock"))
        });
        if let Err(e) = recorded {
            files[*i] = Err(e);
        }
    }
    Ok(files)
}

/// `atk install`: each plugin's files and install command, and how many failed. Each plugin's
/// line is shown as the batch goes (its install command's output, on stdout too, comes before
/// it); the report's text is the count of an `--all` run.
pub struct Install {
    pub plugins: Vec<Installed>,
    /// `--all`: the text ends with the counts.
    pub all: bool,
}

impl Install {
    /// The plugins that failed: those with an error.
    pub fn failed(&self) -> usize {
        self.plugins.iter().filter(|p| p.error.is_some()).count()
    }
}

/// `{plugins, failed}`: the count is serialized from the plugins' errors.
impl Serialize for Install {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("Install", 2)?;
        doc.serialize_field("plugins", &self.plugins)?;
        doc.serialize_field("failed", &self.failed())?;
        doc.end()
    }
}

#[derive(Serialize)]
pub struct Installed {
    pub name: String,
    pub directory: String,
    pub fetched: bool,
    pub installed: bool,
    /// The recorded agents, plugged again where they lacked the plugin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<super::report::AgentDoc>,
    pub error: Option<ErrorDoc>,
}

impl Report for Install {
    fn render(&self, ui: &Ui) {
        if self.all {
            let failed = self.failed();
            ui.line(format!("{} installed, {failed} failed", self.plugins.len() - failed));
        }
    }
}
