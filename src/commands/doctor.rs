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
        let (home, lock) = ctx.lock_home()?;
        let manifest = home.manifest()?;
        let origins = Origins::new(&ctx.settings, &manifest);
        let environment = super::environment_secrets();
        let mut ask = |entry: &crate::home::Entry, drift: &drift::Drift| -> Result<bool> {
            let origin = origins.open(&entry.source)?;
            let scrubber = super::plugin_scrubber(&home, entry, &environment);
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
        fixed = doctor::repair(&home, &lock, &origins, &ctx.ui, &mut ask)?;
        for f in &fixed {
            ctx.ui.success(f);
        }
        drop(lock);
        home
    } else {
        Home::open(ctx.home_path())?
    };
    let manifest = home.manifest().unwrap_or_default();
    let mut checks = doctor::check(&home, &Origins::new(&ctx.settings, &manifest), &ctx.ui);
    checks.extend(agents_check(&home, &manifest));
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

/// The agents recorded in the manifest against what they have on this machine: one that `atk plug`
/// would change is a warning (a fresh clone, a server removed by hand), one not on this machine a
/// note in the details. `None` when no plugin is plugged anywhere.
fn agents_check(home: &Home, manifest: &crate::home::Manifest) -> Option<doctor::Check> {
    use crate::agents::{wiring, Wiring};
    let env = super::plug::agent_env();
    let mut unwired = Vec::new();
    let mut details = Vec::new();
    let mut recorded = 0;
    for entry in manifest.plugins.iter().filter(|e| !e.agents.is_empty()) {
        for (agent, state) in wiring(home, entry, &env, &super::plug::outer) {
            recorded += 1;
            let what = format!("'{}' in {}", crate::text::escape(&entry.name), agent.label());
            match state {
                Wiring::Configured => {}
                Wiring::NotConfigured => {
                    details.push(format!("{what}: recorded, not configured"));
                    unwired.push(what);
                }
                Wiring::Absent => details.push(format!("{what}: {} is not on this machine", agent.label())),
                Wiring::Unknown(why) => {
                    details.push(format!("{what}: {}", crate::text::escape(&why)));
                    unwired.push(what);
                }
            }
        }
    }
    if recorded == 0 {
        return None;
    }
    let mut check = if unwired.is_empty() {
        doctor::Check::new("agents", Severity::Ok, "every recorded agent here has its plugins plugged in")
    } else {
        doctor::Check::new(
            "agents",
            Severity::Warning,
            format!("{} recorded but not configured here", crate::error::plural(unwired.len(), "agent wiring")),
        )
        .fix("atk plug --all")
    };
    check.details = details;
    Some(check)
}
