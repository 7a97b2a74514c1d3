use std::path::PathBuf;

use serde::Serialize;

use super::report::{Validate, Validated};
use super::Ctx;
use crate::error::{exit, plural, Error, Result};
use crate::source::registry::INDEX_FILE;
use crate::source::registry_checks::{check_checkout, index_state, Checked};
use crate::ui::{Report, Ui};

/// Tools for registry maintainers: check every plugin, write the index.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand)]
pub enum Sub {
    /// Check every plugin of a registry checkout against every rule
    Validate(ValidateArgs),
    /// Write index.yaml from the plugins (or, with --check, verify it is current)
    Index(IndexArgs),
}

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The registry checkout [default: the current directory]
    pub dir: Option<PathBuf>,
    /// Accept plugins whose maturity is not `verified` (a community registry)
    #[arg(long)]
    pub allow_unverified: bool,
}

#[derive(clap::Args)]
pub struct IndexArgs {
    /// The registry checkout [default: the current directory]
    pub dir: Option<PathBuf>,
    /// Write nothing; fail if index.yaml is not exactly what would be written
    #[arg(long)]
    pub check: bool,
    /// Accept plugins whose maturity is not `verified` (a community registry)
    #[arg(long)]
    pub allow_unverified: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    match args.command {
        Sub::Validate(a) => validate(ctx, a),
        Sub::Index(a) => index(ctx, a),
    }
}

fn dir_or_cwd(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from("."))
}

/// The document of `registry validate`: one row per plugin folder (named by its folder).
fn checks(checked: &[Checked]) -> Checks {
    Checks(Validate {
        plugins: checked
            .iter()
            .map(|c| Validated {
                path: None,
                name: Some(c.name.clone()),
                directory: Some(c.name.clone()),
                maturity: None,
                valid: c.problems.is_empty(),
                errors: c.problems.clone(),
                warnings: c.warnings.clone(),
            })
            .collect(),
    })
}

fn validate(ctx: &Ctx, args: ValidateArgs) -> Result<u8> {
    let checked = check_checkout(&dir_or_cwd(args.dir), args.allow_unverified)?;
    let report = checks(&checked);
    let invalid = report.0.invalid();
    ctx.ui.print(&report);
    Ok(if invalid > 0 { exit::PLUGIN_INVALID } else { exit::SUCCESS })
}

fn index(ctx: &Ctx, args: IndexArgs) -> Result<u8> {
    let dir = dir_or_cwd(args.dir);
    let checked = check_checkout(&dir, args.allow_unverified)?;
    if checked.iter().any(|c| !c.problems.is_empty()) {
        // The plugins' problems: for a person, listed above the error; for a program (--json,
        // whose one document is the error's), the error's details.
        let details = if ctx.ui.json {
            let invalid = checked.iter().filter(|c| !c.problems.is_empty());
            invalid.flat_map(|c| c.problems.iter().map(move |p| format!("{}: {p}", c.name))).collect()
        } else {
            checks(&checked).render(&ctx.ui);
            vec![]
        };
        let listed = if ctx.ui.json { "named in the details" } else { "listed above" };
        return Err(Error::plugin_refused_with(
            format!("{INDEX_FILE} was not written: the registry has invalid plugins"),
            details,
            vec![format!("fix the plugins {listed}; `atk registry validate` checks them again")],
        ));
    }
    let state = index_state(&dir, &checked)?;
    if args.check {
        let report = IndexCheck {
            index: state.path.clone(),
            up_to_date: state.up_to_date,
            plugins: checked.len(),
            difference: state.difference,
        };
        if report.up_to_date {
            ctx.ui.print(&report);
            return Ok(0);
        }
        let stale = Error::conflict(
            format!(
                "{} is not what `atk registry index` would write (the difference is above)",
                report.index.display()
            ),
            vec!["run `atk registry index` and commit index.yaml with your change".into()],
        );
        return Ok(ctx.ui.print_failing(&report, &stale));
    }
    let changed = state.write()?;
    ctx.ui.print(&IndexWritten { index: state.path, plugins: checked.len(), changed });
    Ok(0)
}

/// `atk registry validate`: each plugin folder of the checkout and its problems.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Checks(pub Validate);

impl Report for Checks {
    fn render(&self, ui: &Ui) {
        let plugins = &self.0.plugins;
        for v in plugins {
            let name = v.name.as_deref().unwrap_or_default();
            if v.valid {
                ui.success(name);
                super::report::warnings(ui, &v.warnings);
            } else {
                ui.line(format!("{} {name}", ui.red("✗")));
                for p in &v.errors {
                    ui.line(format!("    {p}"));
                }
            }
        }
        ui.line(format!("{} valid, {} invalid", self.0.valid(), self.0.invalid()));
    }
}

/// `atk registry index`: the index written, how many plugins it lists, and whether it changed.
#[derive(Serialize)]
pub struct IndexWritten {
    pub index: PathBuf,
    pub plugins: usize,
    pub changed: bool,
}

impl Report for IndexWritten {
    fn render(&self, ui: &Ui) {
        ui.success(format!("Wrote {} ({})", self.index.display(), plural(self.plugins, "plugin")));
    }
}

/// `atk registry index --check`: whether the index is what `registry index` would write. When it
/// is not, the text is the difference (the error that follows says so).
#[derive(Serialize)]
pub struct IndexCheck {
    pub index: PathBuf,
    pub up_to_date: bool,
    #[serde(skip)]
    pub plugins: usize,
    /// The lines that differ (`-` in the index, `+` to be written).
    #[serde(skip)]
    pub difference: Vec<String>,
}

impl Report for IndexCheck {
    fn render(&self, ui: &Ui) {
        if self.up_to_date {
            ui.success(format!("{} is up to date ({})", self.index.display(), plural(self.plugins, "plugin")));
        }
        for line in &self.difference {
            ui.line(line);
        }
    }
}
