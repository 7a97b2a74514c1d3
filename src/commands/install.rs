use serde::Serialize;

use super::report::{self, ErrorDoc};
use super::{select, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::home::Entry;
use crate::sync::install::{self, FetchPolicy};
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
    let entries: Vec<Entry> = select(&manifest, args.target.plugin.as_deref())?.into_iter().cloned().collect();
    let policy = FetchPolicy { jobs: install::jobs(args.jobs), frozen: args.frozen, offline: args.offline };
    let refs: Vec<&Entry> = entries.iter().collect();
    let files = install::ensure_files(&ctx.ui, &home, &ctx.settings.origins(&manifest), &refs, policy)?;
    // What a plugin runs from registries and has no lock for (a manifest another tool saved, a
    // plugin added before atk locked) is locked now; what has a lock keeps it.
    let (files, made) = install::lock_missing(&ctx.ui, &ctx.settings, &home, &mut manifest, &entries, files, policy)?;
    for (i, lock) in &made.locks {
        report::lock_plan(&ctx.ui, &entries[*i].name, lock, made.now, false);
    }

    let mut reports = Vec::new();
    for (entry, files) in entries.iter().zip(files) {
        let result = files.and_then(|fetched| {
            let done =
                install::install_one(&ctx.ui, &ctx.settings, &home, entry, &sets, !args.target.all).map_err(|e| {
                    // The command to run again is for this plugin alone, which refuses a key it
                    // does not declare: `--all` gave it only the keys it declares.
                    let declared = crate::plugin::load(&home.plugin_dir(&entry.directory))
                        .map(|p| sets.iter().filter(|(k, _)| p.declares(k)).cloned().collect())
                        .unwrap_or_else(|_| sets.clone());
                    e.retry_with(ctx.retry(&format!("install {}", entry.directory), &[], &declared))
                })?;
            Ok((fetched, done))
        });
        match result {
            Ok((fetched, done)) => {
                let what = match (fetched, done.ran) {
                    (true, true) => "files put in place, install ran",
                    (true, false) => "files put in place (no install command)",
                    (false, true) => "install ran",
                    (false, false) => "nothing to do (no install command)",
                };
                ctx.ui.success(format!("{}: {what}", crate::text::escape(&entry.name)));
                report::hook_outcomes(&ctx.ui, entry, &done.agents, "plug");
                reports.push(Installed {
                    name: entry.name.clone(),
                    directory: entry.directory.clone(),
                    fetched,
                    installed: done.ran,
                    agents: done.agents.iter().map(Into::into).collect(),
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
    pub agents: Vec<report::AgentDoc>,
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
