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
    let mut failures: Vec<(String, Error)> = Vec::new();
    for (entry, files) in entries.iter().zip(files) {
        let result = files.and_then(|fetched| {
            let dir = home.plugin_dir(&entry.directory);
            let plugin = plugin::load(&dir)?;
            let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
            Ok((fetched, runner.check_and_install(&ctx.ui)?))
        });
        match result {
            Ok((fetched, ran)) => {
                let what = match (fetched, ran) {
                    (true, true) => "files put in place, install ran",
                    (true, false) => "files put in place (no install command)",
                    (false, true) => "install ran",
                    (false, false) => "nothing to do (no install command)",
                };
                ctx.ui.success(format!("{}: {what}", crate::text::escape(&entry.name)));
                reports.push(Installed {
                    name: entry.name.clone(),
                    directory: entry.directory.clone(),
                    fetched,
                    installed: ran,
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
                    error: Some((&e).into()),
                });
                failures.push((entry.directory.clone(), e));
            }
        }
    }
    ctx.ui.print(&Install { plugins: reports, failed: failures.len(), all: args.target.all });
    Ok(if failures.is_empty() { 0 } else { 1 })
}

/// `atk install`: each plugin's files and install command, and how many failed. Each plugin's
/// line is shown as the batch goes (its install command's output, on stdout too, comes before
/// it); the report's text is the count of an `--all` run.
#[derive(Serialize)]
pub struct Install {
    pub plugins: Vec<Installed>,
    pub failed: usize,
    /// `--all`: the text ends with the counts.
    #[serde(skip)]
    pub all: bool,
}

#[derive(Serialize)]
pub struct Installed {
    pub name: String,
    pub directory: String,
    pub fetched: bool,
    pub installed: bool,
    pub error: Option<ErrorDoc>,
}

impl Report for Install {
    fn render(&self, ui: &Ui) {
        if self.all {
            ui.line(format!("{} installed, {} failed", self.plugins.len() - self.failed, self.failed));
        }
    }
}
