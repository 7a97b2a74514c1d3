use std::path::PathBuf;

use serde::Serialize;

use super::report::{Validate, Validated};
use super::Ctx;
use crate::error::{exit, plural, Error, Result};
use crate::source::registry::INDEX_FILE;
use crate::source::registry_checks::{check_checkout, index_of, Checked};
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

/// `dir/index.yaml`, shown without a leading `./`.
fn index_path(dir: &std::path::Path) -> PathBuf {
    if dir == std::path::Path::new(".") {
        PathBuf::from(INDEX_FILE)
    } else {
        dir.join(INDEX_FILE)
    }
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
    let text = index_of(&checked).to_yaml();
    let path = index_path(&dir);
    let current = crate::fs::read_text(&path, crate::fs::Links::Follow, crate::fs::Cap::State)?.unwrap_or_default();
    if args.check {
        let up_to_date = current == text;
        let difference = if up_to_date { vec![] } else { diff(&current, &text) };
        let report = IndexCheck { index: path.clone(), up_to_date, plugins: checked.len(), difference };
        if up_to_date {
            ctx.ui.print(&report);
            return Ok(0);
        }
        let stale = Error::conflict(
            format!("{} is not what `atk registry index` would write (the difference is above)", path.display()),
            vec!["run `atk registry index` and commit index.yaml with your change".into()],
        );
        return Ok(ctx.ui.print_failing(&report, &stale));
    }
    if current != text {
        crate::fs::write_atomic(&path, text.as_bytes(), None)?;
    }
    ctx.ui.print(&Index { index: path, plugins: checked.len(), changed: current != text });
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
pub struct Index {
    pub index: PathBuf,
    pub plugins: usize,
    pub changed: bool,
}

impl Report for Index {
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

/// A line diff (`-` old, `+` new), from the longest common subsequence of lines.
fn diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+{}", b[j]));
            j += 1;
        } else {
            out.push(format!("-{}", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_marks_changed_lines() {
        assert_eq!(super::diff("a\nb\nc\n", "a\nx\nc\nd\n"), ["+x", "-b", "+d"]);
        assert!(super::diff("same\n", "same\n").is_empty());
    }
}
