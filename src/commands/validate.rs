use std::path::PathBuf;

use super::Ctx;
use crate::error::{exit, Error, Result};
use crate::plugin;

/// Check plugin folders or plugin.yaml files against the schema, as a plugin author would.
#[derive(clap::Args)]
pub struct Args {
    /// Plugin folders or plugin.yaml files
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let mut reports = Vec::new();
    let mut invalid = 0;
    for path in &args.paths {
        let result = if path.is_dir() {
            plugin::load(path)
        } else if path.is_file() {
            plugin::load_file(path)
        } else {
            Err(Error::PluginInvalid {
                what: path.display().to_string(),
                problems: vec!["no such file or folder".into()],
            })
        };
        let result = result.and_then(|p| plugin::directory_for(&p, path).map(|dir| (p, dir)));
        match result {
            Ok((p, dir)) => {
                ctx.ui.success(format!(
                    "{}: {} ({}, folder plugins/{dir})",
                    path.display(),
                    p.name,
                    p.maturity.as_str()
                ));
                reports.push(super::report::Validated {
                    path: Some(path.clone()),
                    name: Some(p.name.clone()),
                    directory: Some(dir),
                    maturity: Some(p.maturity.as_str()),
                    valid: true,
                    errors: vec![],
                });
            }
            Err(e) => {
                invalid += 1;
                let problems: Vec<String> = match &e {
                    Error::PluginInvalid { problems, .. } => problems.clone(),
                    other => vec![other.to_string()],
                };
                ctx.ui.line(format!("{} {}", ctx.ui.red("✗"), path.display()));
                for p in &problems {
                    ctx.ui.line(format!("    {p}"));
                }
                reports.push(super::report::Validated {
                    path: Some(path.clone()),
                    name: None,
                    directory: None,
                    maturity: None,
                    valid: false,
                    errors: problems,
                });
            }
        }
    }
    let valid = reports.len() - invalid;
    let checked = reports.len();
    ctx.ui.json(&super::report::Validate { plugins: reports, valid, invalid });
    if checked > 1 {
        ctx.ui.line(format!("{valid} valid, {invalid} invalid"));
    }
    Ok(if invalid > 0 { exit::PLUGIN_INVALID } else { exit::SUCCESS })
}
