use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::sync::export::{export, Export as Options, Exported};
use crate::ui::{Report, Ui};

/// Write the whole setup to one file, for `atk import` on a machine without network: the home's
/// repository, and every remote plugin's files at its pin (secrets never)
#[derive(clap::Args)]
pub struct Args {
    /// Export the whole home (every plugin: the home's repository holds them all)
    #[arg(long)]
    pub all: bool,
    /// The file to write (replaced when it exists; written 0600)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Carry each plugin's newest backup too (`atk backup`; one that holds secrets never)
    #[arg(long)]
    pub with_data: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    if !args.all {
        return Err(Error::usage(
            "say what to export: --all (the whole home)",
            Some("atk export --all -o laptop.atk".into()),
        ));
    }
    let Some(output) = args.output else {
        return Err(Error::usage(
            "say where to write the export: -o FILE",
            Some("atk export --all -o laptop.atk".into()),
        ));
    };
    let out = crate::home::expand_tilde(&output, &ctx.settings.environment.user_home());
    let out = std::path::absolute(&out).unwrap_or(out);
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let (extra, data) = if args.with_data {
        let directories: Vec<String> = manifest.plugins.iter().map(|e| e.directory.clone()).collect();
        ctx.backup_store(&home, &manifest)?.for_export(&directories)?
    } else {
        (vec![], vec![])
    };
    let options = Options { out: &out, atk_version: env!("CARGO_PKG_VERSION"), created: jiff::Timestamp::now(), extra };
    let exported = export(&ctx.ui, &home, &ctx.settings.origins(&manifest), &options)?;
    ctx.ui.print(&ExportReport { exported, data });
    Ok(0)
}

/// `atk export --json`: the file written, the home's commit, every plugin with its pin.
#[derive(Serialize)]
pub struct ExportReport {
    #[serde(flatten)]
    pub exported: Exported,
    /// With --with-data: the backup carried for each plugin that has one, or why none is.
    pub data: Vec<crate::data::store::Carried>,
}

impl Report for ExportReport {
    fn render(&self, ui: &Ui) {
        let e = &self.exported;
        for path in &e.uncommitted {
            ui.warn(format!("{path} has changes that are not committed: they are not in the export"));
        }
        ui.success(format!(
            "Exported the home (commit {}) and {} to {} ({})",
            super::report::short_pin(&e.head),
            crate::error::plural(e.plugins.len(), "plugin"),
            e.file.display(),
            crate::text::size(e.size)
        ));
        for p in &e.plugins {
            let at = p.pin.as_deref().map(|c| format!(" @ {}", super::report::short_pin(c))).unwrap_or_default();
            ui.line(ui.dim(&format!("  {} ({}){at}", p.directory, p.kind.as_str())));
        }
        for d in &self.data {
            match (&d.id, &d.left_out) {
                (Some(id), _) => ui.line(ui.dim(&format!("  with the data of {} (backup {id})", d.directory))),
                (None, Some(why)) => ui.warn(format!("no data of {}: {why}", d.directory)),
                _ => {}
            }
        }
        ui.line(ui.dim(&format!("  on another machine: atk import {}", e.file.display())));
    }
}
