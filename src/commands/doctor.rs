use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::home::Home;
use crate::sync::doctor::{self, Check, Severity};
use crate::sync::drift;
use crate::ui::{Report, Ui};

/// Check the home: .gitignore and secrets, plugin files against their pinned commits, leftovers,
/// environment, sources and git settings; --fix repairs what is safe
#[derive(clap::Args)]
pub struct Args {
    /// Repair what can be repaired safely (a file you changed is replaced only if you agree)
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let mut fixed = Vec::new();
    // Without --fix nothing is changed, not even an interrupted run's journal: it is reported.
    let home = if args.fix {
        let home = ctx.lock_home()?;
        let manifest = home.manifest()?;
        let origins = ctx.settings.origins(&manifest);
        let mut ask = |entry: &crate::home::Entry, drift: &drift::Drift| -> Result<bool> {
            let origin = origins.open(&entry.source)?;
            ctx.ui.line(drift::scrubbed_patch(&home, entry, &origin, drift, &ctx.settings.environment)?.trim_end());
            let answer = ctx.ui.confirm(
                &format!(
                    "Put back the pinned version of {} in '{}'? Your changes to them are lost",
                    crate::error::plural(drift.modified.len(), "file"),
                    crate::text::escape(&entry.name)
                ),
                "pass --yes to put them back, or keep them and leave --fix out",
            );
            match answer {
                // No one to ask: the changes stay, and the other repairs go on.
                Err(crate::Error::NeedsConfirmation { message, hint }) => {
                    ctx.ui.warn(format!("{message}: not asked (no terminal); {hint}"));
                    Ok(false)
                }
                answer => answer,
            }
        };
        fixed = doctor::repair(&home, &origins, &ctx.ui, &mut ask)?;
        home.unlock()
    } else {
        Home::open(ctx.home_path())?
    };
    let checks = doctor::check(&home, &ctx.settings, &ctx.ui);
    let count = |s: Severity| checks.iter().filter(|c| c.status == s).count();
    let summary = DoctorSummary {
        ok: count(Severity::Ok),
        warnings: count(Severity::Warning),
        problems: count(Severity::Problem),
    };
    let problems = summary.problems;
    ctx.ui.print(&Doctor { home: home.root.clone(), checks, fixed, summary });
    Ok(if problems > 0 { 1 } else { 0 })
}

/// `atk doctor`: every check, what `--fix` repaired, and the counts.
#[derive(Serialize)]
pub struct Doctor {
    pub home: PathBuf,
    pub checks: Vec<Check>,
    pub fixed: Vec<String>,
    pub summary: DoctorSummary,
}

#[derive(Serialize)]
pub struct DoctorSummary {
    pub ok: usize,
    pub warnings: usize,
    pub problems: usize,
}

impl Report for Doctor {
    fn render(&self, ui: &Ui) {
        for f in &self.fixed {
            ui.success(f);
        }
        for c in &self.checks {
            let mark = match c.status {
                Severity::Ok => ui.green("✓"),
                Severity::Warning => ui.yellow("!"),
                Severity::Problem => ui.red("✗"),
            };
            ui.line(format!("{mark} {}: {}", c.check, c.message));
            for d in &c.details {
                ui.line(format!("    {d}"));
            }
            if let (Some(fix), false) = (&c.fix, c.status == Severity::Ok) {
                ui.line(ui.dim(&format!("    fix: {fix}")));
            }
        }
        let DoctorSummary { ok, warnings, problems } = self.summary;
        ui.line(format!(
            "{ok} ok, {warnings} {}, {problems} {}",
            if warnings == 1 { "warning" } else { "warnings" },
            if problems == 1 { "problem" } else { "problems" }
        ));
    }
}
