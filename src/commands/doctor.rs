use super::{report, Ctx};
use crate::error::Result;
use crate::home::Home;
use crate::source::origin::Origins;
use crate::sync::doctor::{self, Severity};
use crate::sync::drift;

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
        let origins = Origins::new(&ctx.settings, &manifest);
        let environment = ctx.environment_secrets();
        let mut ask = |entry: &crate::home::Entry, drift: &drift::Drift| -> Result<bool> {
            let origin = origins.open(&entry.source)?;
            let scrubber = ctx.plugin_scrubber(&home, entry, &environment);
            let diff = drift::drift_diff(&home, entry, &origin, drift, &|s| scrubber.scrub(s))?;
            ctx.ui.line(scrubber.scrub(diff.trim_end()));
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
        for f in &fixed {
            ctx.ui.success(f);
        }
        home.unlock()
    } else {
        Home::open(ctx.home_path())?
    };
    let checks = doctor::check(&home, &ctx.settings, &ctx.ui);
    let count = |s: Severity| checks.iter().filter(|c| c.status == s).count();
    let summary = report::DoctorSummary {
        ok: count(Severity::Ok),
        warnings: count(Severity::Warning),
        problems: count(Severity::Problem),
    };
    for c in &checks {
        let mark = match c.status {
            Severity::Ok => ctx.ui.green("✓"),
            Severity::Warning => ctx.ui.yellow("!"),
            Severity::Problem => ctx.ui.red("✗"),
        };
        ctx.ui.line(format!("{mark} {}: {}", c.check, c.message));
        for d in &c.details {
            ctx.ui.line(format!("    {d}"));
        }
        if let (Some(fix), false) = (&c.fix, c.status == Severity::Ok) {
            ctx.ui.line(ctx.ui.dim(&format!("    fix: {fix}")));
        }
    }
    ctx.ui.line(format!(
        "{} ok, {} {}, {} {}",
        summary.ok,
        summary.warnings,
        if summary.warnings == 1 { "warning" } else { "warnings" },
        summary.problems,
        if summary.problems == 1 { "problem" } else { "problems" }
    ));
    let problems = summary.problems;
    ctx.ui.json(&report::Doctor {
        home: home.root.clone(),
        checks: checks.iter().map(Into::into).collect(),
        fixed,
        summary,
    });
    Ok(if problems > 0 { 1 } else { 0 })
}
