use serde::Serialize;

use super::report::ErrorDoc;
use super::{select, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::plugin;
use crate::sync::install::{ensure_files, FetchPolicy};
use crate::ui::{Report, Ui};

/// Bring plugins to their pinned commits and run their install commands (the manifest is the lock:
/// it is never changed).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// Fetches to run at once [default: the number of CPUs; at most 17, the bounded pool's
    /// threads and the calling thread]
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Fail if anything would need to be fetched
    #[arg(long, conflicts_with = "offline")]
    pub frozen: bool,
    /// Use only what the cache has
    #[arg(long)]
    pub offline: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let entries = select(&manifest, args.target.plugin.as_deref())?;
    let policy =
        FetchPolicy { jobs: crate::sync::install::jobs(args.jobs), frozen: args.frozen, offline: args.offline };
    let files = ensure_files(&ctx.ui, &home, &ctx.settings.origins(&manifest), &entries, policy)?;

    let mut reports = Vec::new();
    for (entry, files) in entries.iter().zip(files) {
        let result = files.and_then(|fetched| {
            let dir = home.plugin_dir(&entry.directory);
            let plugin = plugin::load(&dir)?;
            let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
            Ok((fetched, runner.check_and_install(&ctx.ui)?))
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
