use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::home::Home;
use crate::source::registry::{self, Registry};
use crate::text::escape;
use crate::ui::{Report, Ui};

/// Search the registry's plugins by name or description (no home needed).
#[derive(clap::Args)]
pub struct Args {
    /// Words to look for; all plugins when empty
    pub query: Option<String>,
    /// Read the registry index now, not from the cache (it is kept for an hour)
    #[arg(long)]
    pub refresh: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    // The home is optional: it marks what is installed and may name the registry.
    let manifest = match Home::open(ctx.home_path()) {
        Ok(home) => Some(home.manifest()?),
        Err(_) => None,
    };
    let url =
        registry::url(ctx.settings.registry.as_deref(), manifest.as_ref().and_then(|m| m.config.registry.as_deref()));
    let registry = Registry::open(&url, &ctx.settings.cache())?;
    let spinner = ctx.ui.spinner(format!("Reading the index of {url}"));
    let snapshot = registry.snapshot(args.refresh, &[])?;
    drop(spinner);
    if let Some(why) = &snapshot.stale_because {
        ctx.ui.warn(why);
    }
    let query = args.query.as_deref().unwrap_or("").trim();
    let found = if query.is_empty() { snapshot.index.plugins.iter().collect() } else { snapshot.index.search(query) };
    let installed = |name: &str| manifest.as_ref().is_some_and(|m| m.plugins.iter().any(|e| e.directory == name));
    ctx.ui.print(&Search {
        registry: url,
        commit: snapshot.commit.to_string(),
        plugins: found
            .iter()
            .map(|p| SearchHit {
                name: p.name.clone(),
                path: p.path.clone(),
                description: p.description.clone(),
                installed: installed(&p.name),
            })
            .collect(),
        query: query.to_string(),
    });
    Ok(0)
}

/// `atk search`: the registry read, at which commit, and the plugins found.
#[derive(Serialize)]
pub struct Search {
    pub registry: String,
    #[serde(rename = "ref")]
    pub commit: String,
    pub plugins: Vec<SearchHit>,
    /// The words looked for (empty: every plugin).
    #[serde(skip)]
    pub query: String,
}

#[derive(Serialize)]
pub struct SearchHit {
    pub name: String,
    pub path: String,
    pub description: String,
    pub installed: bool,
}

impl Report for Search {
    fn render(&self, ui: &Ui) {
        let query = self.query.as_str();
        if self.plugins.is_empty() {
            if query.is_empty() {
                ui.line(format!("The registry {} has no plugins.", self.registry));
            } else {
                ui.line(format!("No plugin matches '{}'.", escape(query)));
                ui.line(ui.dim("`atk search` with no words lists them all."));
            }
            return;
        }
        let matching = if query.is_empty() { String::new() } else { format!(" matching '{}'", escape(query)) };
        ui.line(ui.bold(&format!("{}{matching}", crate::error::plural(self.plugins.len(), "plugin"))));
        // Names and descriptions come from the registry: shown with control characters escaped.
        let width = self.plugins.iter().map(|p| escape(&p.name).chars().count()).max().unwrap_or(0);
        for p in &self.plugins {
            let mark = if p.installed { ui.green("✓") } else { " ".into() };
            ui.line(format!("{mark} {}  {}", crate::text::pad(&escape(&p.name), width), escape(&p.description)));
        }
        ui.line(ui.dim("Install one with `atk add <name>` (✓: installed)."));
    }
}
