use std::path::PathBuf;

use serde::Serialize;

use super::report::{Validate, Validated};
use super::Ctx;
use crate::error::{exit, Error, Result};
use crate::plugin;
use crate::ui::{Report, Ui};

/// Check plugin folders or plugin.yaml files against the schema, as a plugin author would (and
/// warn about a folder's SKILL.md: a link, or no Agent Skills front matter).
#[derive(clap::Args)]
pub struct Args {
    /// Plugin folders or plugin.yaml files
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let mut reports = Vec::new();
    for path in &args.paths {
        match plugin::check_path(path) {
            Ok(c) => reports.push(Validated {
                path: Some(path.clone()),
                name: Some(c.plugin.name.clone()),
                directory: Some(c.directory),
                maturity: Some(c.plugin.maturity.as_str()),
                valid: c.problems.is_empty(),
                errors: c.problems,
                warnings: c.warnings,
            }),
            Err(e) => {
                let problems: Vec<String> = match &e {
                    Error::PluginInvalid { problems, .. } => problems.clone(),
                    other => vec![other.to_string()],
                };
                reports.push(Validated {
                    path: Some(path.clone()),
                    name: None,
                    directory: None,
                    maturity: None,
                    valid: false,
                    errors: problems,
                    warnings: vec![],
                });
            }
        }
    }
    let report = Validation(Validate { plugins: reports });
    ctx.ui.print(&report);
    Ok(if report.0.invalid() > 0 { exit::PLUGIN_INVALID } else { exit::SUCCESS })
}

/// `atk validate`: each path checked (the document `registry validate` writes too, with paths).
#[derive(Serialize)]
#[serde(transparent)]
pub struct Validation(pub Validate);

impl Report for Validation {
    fn render(&self, ui: &Ui) {
        let plugins = &self.0.plugins;
        for v in plugins {
            let path = v.path.as_deref().unwrap_or(std::path::Path::new("")).display();
            if v.valid {
                ui.success(format!(
                    "{path}: {} ({}, folder plugins/{})",
                    crate::text::escape(v.name.as_deref().unwrap_or_default()),
                    v.maturity.unwrap_or_default(),
                    v.directory.as_deref().unwrap_or_default()
                ));
                super::report::warnings(ui, &v.warnings);
            } else {
                ui.line(format!("{} {path}", ui.red("✗")));
                for p in &v.errors {
                    ui.line(format!("    {p}"));
                }
            }
        }
        if plugins.len() > 1 {
            ui.line(format!("{} valid, {} invalid", self.0.valid(), self.0.invalid()));
        }
    }
}
