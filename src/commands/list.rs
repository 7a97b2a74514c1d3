use std::path::PathBuf;

use serde::Serialize;

use super::report::PluginDoc;
use super::Ctx;
use crate::error::Result;
use crate::ui::{Report, Ui};

/// List the installed plugins (from the manifest).
#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let plugins = manifest
        .plugins
        .iter()
        .map(|e| {
            let present = crate::plugin::definition_file(&home.plugin_dir(&e.directory)).is_some();
            Listed { plugin: e.into(), present }
        })
        .collect();
    ctx.ui.print(&List { home: home.root.clone(), plugins });
    Ok(0)
}

/// `atk list`: the home and the plugins of its manifest.
#[derive(Serialize)]
pub struct List {
    pub home: PathBuf,
    pub plugins: Vec<Listed>,
}

#[derive(Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub plugin: PluginDoc,
    /// Whether its files are in the home (a fresh clone has none until `install`).
    pub present: bool,
}

impl Report for List {
    fn render(&self, ui: &Ui) {
        if self.plugins.is_empty() {
            ui.line("No plugins installed.");
            ui.line(ui.dim("Add one with `atk add <name | git URL | ./folder>`."));
            return;
        }
        let table: Vec<[String; 4]> = self
            .plugins
            .iter()
            .map(|Listed { plugin: p, present }| {
                // The manifest may come from a cloned home: its text is shown escaped (the URL is
                // masked already).
                let esc = |s: &str| crate::text::escape(s).into_owned();
                let source = match &p.source.url {
                    Some(url) => format!("{} {}", p.source.kind, esc(url)),
                    None => p.source.kind.to_string(),
                };
                let pin = p.source.commit.as_deref().map_or("-".to_string(), super::report::short_pin);
                let name = if *present { esc(&p.name) } else { format!("{} (not installed here)", esc(&p.name)) };
                [name, p.directory.clone(), source, pin]
            })
            .collect();
        let header = ["NAME", "DIRECTORY", "SOURCE", "PIN"].map(String::from);
        let widths: Vec<usize> =
            (0..4).map(|i| table.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        let fmt = |r: &[String; 4]| {
            let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| crate::text::pad(c, *w)).collect();
            cells.join("  ").trim_end().to_string()
        };
        ui.line(ui.bold(&fmt(&header)));
        for r in &table {
            ui.line(fmt(r));
        }
    }
}
