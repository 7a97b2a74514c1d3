use serde::Serialize;

use super::{parse_sets, select, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::plugin;
use crate::sync::env::plan;
use crate::sync::install::ensure_definitions;
use crate::ui::{Report, Ui};

/// Set a plugin's environment variables (written to plugins/<dir>/.env, never committed).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// Set a value without asking (repeatable); KEY alone takes $KEY from the environment;
    /// with --all, in every plugin that declares KEY
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let entries = select(&manifest, args.target.plugin.as_deref())?;
    // On a fresh clone, remote plugins' files are not there yet: they are put in place at their
    // pinned commits first (no lifecycle), since their plugin.yaml says what to ask for.
    let mut unavailable = Vec::new();
    for (entry, result) in ensure_definitions(&ctx.ui, &home, &ctx.settings.origins(&manifest), &entries)? {
        match result {
            Ok(_) => {}
            Err(e) if args.target.plugin.is_some() || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                ctx.ui.warn(format!("{}: {e}", entry.directory));
                unavailable.push(entry.directory.clone());
            }
        }
    }
    let mut reports = Vec::new();
    for entry in entries.into_iter().filter(|e| !unavailable.contains(&e.directory)) {
        let dir = home.plugin_dir(&entry.directory);
        let plugin = plugin::load(&dir)?;
        if args.target.plugin.is_some() {
            plugin.check_sets(&sets)?;
        }
        let configured = if plugin.env_vars.is_empty() {
            Configured {
                name: entry.name.clone(),
                directory: entry.directory.clone(),
                configured: 0,
                missing: vec![],
                written: false,
                title: plugin.name,
                declares: false,
            }
        } else {
            let plan = plan(&ctx.ui, &plugin, &dir.join(".env"), &sets, None, &ctx.settings.environment)?;
            plan.write(&home, &entry.directory)?;
            Configured {
                name: entry.name.clone(),
                directory: entry.directory.clone(),
                configured: plan.configured,
                missing: plan.missing,
                written: plan.changed,
                title: plugin.name,
                declares: true,
            }
        };
        if args.target.all {
            // Shown now: the next plugin's questions come after it.
            configured.render(&ctx.ui, false);
        }
        reports.push(configured);
    }
    let report = Setup { plugins: reports, all: args.target.all };
    let missing: Vec<(String, Vec<String>)> = report
        .plugins
        .iter()
        .filter(|p| !p.missing.is_empty())
        .map(|p| (p.directory.clone(), p.missing.clone()))
        .collect();
    if !missing.is_empty() {
        return Ok(ctx.ui.print_failing(&report, &Error::EnvMissing { missing, retry: None }));
    }
    ctx.ui.print(&report);
    Ok(if unavailable.is_empty() { 0 } else { 1 })
}

/// `atk setup`: per plugin, how many variables are set, which required ones are still missing,
/// and whether its `.env` was written. With `--all`, each plugin's line is shown as the batch goes
/// (the next plugin's questions come after it), and the report has no text of its own.
#[derive(Serialize)]
pub struct Setup {
    pub plugins: Vec<Configured>,
    #[serde(skip)]
    pub all: bool,
}

#[derive(Serialize)]
pub struct Configured {
    pub name: String,
    pub directory: String,
    pub configured: usize,
    pub missing: Vec<String>,
    pub written: bool,
    /// The name its plugin.yaml gives it.
    #[serde(skip)]
    pub title: String,
    /// Whether it declares any variable.
    #[serde(skip)]
    pub declares: bool,
}

impl Configured {
    /// The plugin's line: its variables configured (none when some are missing: the error says
    /// which), or, for the one plugin named, that it has none.
    fn render(&self, ui: &Ui, named: bool) {
        if !self.declares {
            if named {
                ui.line(format!("Plugin '{}' has no environment variables", crate::text::escape(&self.title)));
            }
        } else if self.missing.is_empty() {
            ui.success(format!(
                "Configured {} for '{}'",
                crate::error::plural(self.configured, "variable"),
                crate::text::escape(&self.title)
            ));
        }
    }
}

impl Report for Setup {
    fn render(&self, ui: &Ui) {
        if !self.all {
            for p in &self.plugins {
                p.render(ui, true);
            }
        }
    }
}
