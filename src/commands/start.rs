use std::time::Duration;

use super::{report, Ctx, PluginOrAll};
use crate::error::Result;
use crate::lifecycle::batch::{self, Item, Options, StepOutcome};

/// Start a plugin, or every plugin in manifest order (those already running are left alone)
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// The longest a plugin's status command may take when checking whether it runs already
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = super::status::parse_seconds)]
    pub timeout: Duration,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entries = super::select(&manifest, args.target.plugin.as_deref())?;
    let opts = Options { timeout: args.timeout };
    let items = batch::start(&home.root, &entries, &opts, &ctx.ui)?;
    render(ctx, "start", items, args.target.all)
}

fn past(outcome: StepOutcome, step: &str) -> &'static str {
    match (outcome, step) {
        (StepOutcome::Started, _) => "Started",
        (StepOutcome::Stopped, _) => "Stopped",
        (StepOutcome::AlreadyRunning, _) => "Already running:",
        (StepOutcome::NoCommand, "start") => "No start command:",
        (StepOutcome::NoCommand, _) => "No stop command:",
        (StepOutcome::Failed, _) => "Failed:",
    }
}

/// Prints the items of `action` (`start`, `stop`, `restart`) and its JSON document. One plugin:
/// its failure is the command's error (exit 6 for a failed command). Every plugin: a summary, and
/// exit 1 when any failed.
pub fn render(ctx: &Ctx, action: &'static str, items: Vec<Item>, all: bool) -> Result<u8> {
    let summary = batch::summarize(&items);
    ctx.ui.json(&report::Lifecycle {
        action,
        plugins: items
            .iter()
            .map(|i| report::LifecycleStep {
                name: i.name.clone(),
                directory: i.directory.clone(),
                step: i.step,
                outcome: i.outcome,
                error: i.error.as_ref().map(Into::into),
            })
            .collect(),
        summary,
    });
    if !all {
        // One plugin (a restart has its stop, then its start).
        for i in &items {
            if let Some(e) = &i.error {
                return Err(e.clone());
            }
        }
        for i in &items {
            let name = crate::text::escape(&i.name);
            match i.outcome {
                StepOutcome::Started | StepOutcome::Stopped => {
                    ctx.ui.success(format!("{} '{name}'", past(i.outcome, i.step)))
                }
                StepOutcome::AlreadyRunning => ctx.ui.line(format!("'{name}' is already running; left alone")),
                StepOutcome::NoCommand => ctx.ui.warn(format!("'{name}' has no {} command; nothing to do", i.step)),
                StepOutcome::Failed => {}
            }
        }
        return Ok(0);
    }
    if items.is_empty() {
        ctx.ui.line("No plugins installed.");
        return Ok(0);
    }
    for outcome in [StepOutcome::Stopped, StepOutcome::Started, StepOutcome::AlreadyRunning, StepOutcome::NoCommand] {
        for i in items.iter().filter(|i| i.outcome == outcome) {
            let name = crate::text::escape(&i.name);
            match outcome {
                StepOutcome::Started | StepOutcome::Stopped => {
                    ctx.ui.success(format!("{} '{name}'", past(outcome, i.step)))
                }
                _ => ctx.ui.line(format!("{} {} '{name}'", ctx.ui.dim("-"), past(outcome, i.step))),
            }
        }
    }
    for i in items.iter().filter(|i| i.outcome == StepOutcome::Failed) {
        if let Some(e) = &i.error {
            // The problems of an invalid plugin go on its line (a failure line has no details).
            let shown = match e.details() {
                [] => e.clone(),
                details => crate::Error::Other { message: format!("{e}: {}", details.join("; ")), hints: e.hints() },
            };
            ctx.ui.failure(&format!("{} of {}", i.step, i.name), &shown);
        }
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (summary.stopped, "stopped"),
        (summary.started, "started"),
        (summary.already_running, "already running"),
        (summary.no_command, "without the command"),
        (summary.failed, "failed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    ctx.ui.line(format!("{}: {}", action_title(action), parts.join(", ")));
    Ok(if summary.failed > 0 { crate::error::exit::GENERAL } else { 0 })
}

fn action_title(action: &str) -> &'static str {
    match action {
        "start" => "Start",
        "stop" => "Stop",
        _ => "Restart",
    }
}
