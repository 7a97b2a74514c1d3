use gix::ObjectId;

use super::{find, parse_sets, report, Ctx, PluginOrAll};
use crate::error::{plural, Error, Result};
use crate::home::Message;
use crate::home::{Entry, Home, HomeLock, Manifest, SourceKind};
use crate::source::origin::{Origin, Origins};
use crate::sync::env;
use crate::sync::upgrade::{self, MovePlan};

/// Move plugins to their source's latest commit, keeping custom/, .env and runtime data (local
/// plugins are skipped by --all).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// Show what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Set a new environment variable without asking (repeatable); KEY alone takes $KEY
    /// from the environment
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

enum UpgradeOutcome {
    UpToDate,
    Upgraded(MovePlan, Option<String>),
    WouldUpgrade(MovePlan),
    Declined(MovePlan),
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let selected: Vec<Entry> = match &args.target.plugin {
        Some(id) => {
            let entry = find(&manifest, id)?.clone();
            if entry.source.kind == SourceKind::Local {
                return Err(Error::nothing_to_do(
                    format!(
                        "'{}' is a local plugin: it has no source to upgrade from",
                        crate::text::escape(&entry.name)
                    ),
                    vec![format!("a local plugin changes by editing its files in plugins/{}", entry.directory)],
                ));
            }
            vec![entry]
        }
        None => manifest.plugins.clone(),
    };
    let origins = Origins::new(&ctx.settings, &manifest);

    let mut survey = upgrade::survey(&ctx.ui, &home, &origins, &selected)?;
    let run = Run { ctx, home: &home, lock: &lock, sets: &sets, dry_run: args.dry_run };
    let (mut upgraded, mut up_to_date, mut skipped, mut failed) = (0, 0, 0, 0);
    let mut reports = Vec::new();
    for entry in &selected {
        if entry.source.kind == SourceKind::Local {
            skipped += 1;
            ctx.ui.line(ctx.ui.dim(&format!("- {}: local plugin, skipped", crate::text::escape(&entry.name))));
            reports.push(status(entry, "skipped", None));
            continue;
        }
        let result = survey.take(entry).and_then(|(origin, plan)| run.one(&mut manifest, entry, origin, plan));
        match result {
            Ok(UpgradeOutcome::UpToDate) => {
                up_to_date += 1;
                ctx.ui.line(format!("{} {}: already up to date", ctx.ui.green("✓"), crate::text::escape(&entry.name)));
                reports.push(status(entry, "up-to-date", None));
            }
            Ok(UpgradeOutcome::Upgraded(plan, commit)) => {
                upgraded += 1;
                ctx.ui.success(format!("Upgraded '{}' to {}", crate::text::escape(&entry.name), short(&plan.to)));
                reports.push(report(entry, "upgraded", &plan, commit));
            }
            Ok(UpgradeOutcome::WouldUpgrade(plan)) => reports.push(report(entry, "would-upgrade", &plan, None)),
            Ok(UpgradeOutcome::Declined(plan)) => {
                skipped += 1;
                ctx.ui.line(format!("- {}: not upgraded (declined)", crate::text::escape(&entry.name)));
                reports.push(report(entry, "declined", &plan, None));
            }
            Err(e) if !args.target.all || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                failed += 1;
                ctx.ui.failure(&entry.name, &e);
                reports.push(status(entry, "failed", Some(&e)));
            }
        }
    }
    if args.target.all {
        let verb = if args.dry_run { "would be upgraded" } else { "upgraded" };
        ctx.ui.line(format!("{upgraded} {verb}, {up_to_date} up to date, {skipped} skipped, {failed} failed"));
    }
    ctx.ui.json(&report::Upgrade {
        dry_run: args.dry_run,
        plugins: reports,
        summary: report::UpgradeSummary { upgraded, up_to_date, skipped, failed },
    });
    Ok(if failed > 0 { 1 } else { 0 })
}

fn short(id: &ObjectId) -> String {
    id.to_string()[..12].to_string()
}

/// What one upgrade of this run shares with the others.
struct Run<'a> {
    ctx: &'a Ctx,
    home: &'a Home,
    lock: &'a HomeLock,
    sets: &'a [(String, String)],
    dry_run: bool,
}

impl Run<'_> {
    /// Shows the plan, asks where the new version changes commands, works out the new variables'
    /// values, and applies it.
    fn one(
        &self,
        manifest: &mut Manifest,
        entry: &Entry,
        origin: &Origin,
        plan: Option<MovePlan>,
    ) -> Result<UpgradeOutcome> {
        let ctx = self.ctx;
        let Some(plan) = plan else { return Ok(UpgradeOutcome::UpToDate) };
        show(ctx, entry, &plan);
        if self.dry_run {
            return Ok(UpgradeOutcome::WouldUpgrade(plan));
        }
        if plan.changes_commands() {
            let hint = format!("review the changes above, then pass --yes: `atk upgrade {} --yes`", entry.directory);
            let question = format!(
                "The new version of '{}' changes commands that run on this machine. Upgrade?",
                crate::text::escape(&entry.name)
            );
            if !ctx.ui.confirm(&question, &hint)? {
                return Ok(UpgradeOutcome::Declined(plan));
            }
        }
        let message = Message::operation(
            format!("Upgrade plugin '{}'", entry.name),
            "upgrade",
            &entry.directory,
            Some(&plan.from.to_string()),
            Some(&plan.to.to_string()),
        );
        let operation = format!("atk upgrade {}", entry.directory);
        let at = (self.home, self.lock, self.sets);
        let commit = apply_move(ctx, at, manifest, entry, origin, &plan, (&operation, &message))?;
        Ok(UpgradeOutcome::Upgraded(plan, commit))
    }
}

/// What every move of a plugin to another commit shares (upgrade, rollback, undo): the values of
/// the variables the other version adds, the move in one transaction, the push, and the recorded
/// agents plugged in again where their server or skill changed.
pub(super) fn apply_move(
    ctx: &Ctx,
    (home, lock, sets): (&Home, &HomeLock, &[(String, String)]),
    manifest: &mut Manifest,
    entry: &Entry,
    origin: &Origin,
    plan: &MovePlan,
    (operation, message): (&str, &Message),
) -> Result<Option<String>> {
    let dir = home.plugin_dir(&entry.directory);
    let new_names: Vec<String> = plan.env_added.iter().map(|v| v.name.clone()).collect();
    let env =
        env::plan(&ctx.ui, &plan.new_plugin, &dir.join(".env"), sets, Some(&new_names), &super::environment_secrets())?;
    if !env.missing.is_empty() {
        return Err(Error::EnvMissing { missing: vec![(entry.directory.clone(), env.missing)] });
    }
    let commit = upgrade::apply(&ctx.ui, home, lock, manifest, entry, origin, plan, &env, operation, message)?;
    ctx.push_if_configured(home, manifest, commit.is_some());
    super::plug::replug_recorded(ctx, home, entry)?;
    Ok(commit)
}

pub(super) fn show(ctx: &Ctx, entry: &Entry, plan: &MovePlan) {
    let ui = &ctx.ui;
    ui.line(ui.bold(&format!("{} {} → {}", crate::text::escape(&entry.name), short(&plan.from), short(&plan.to))));
    for f in &plan.added {
        ui.line(format!("  {} {}", ui.green("+"), crate::text::escape(f)));
    }
    for f in &plan.changed {
        ui.line(format!("  {} {}", ui.yellow("~"), crate::text::escape(f)));
    }
    for f in &plan.removed {
        ui.line(format!("  {} {}", ui.red("-"), crate::text::escape(f)));
    }
    for (step, old, new) in &plan.lifecycle {
        let show = |c: &Option<String>| c.as_deref().map_or("(none)".into(), |c| crate::text::escape(c).into_owned());
        ui.line(format!("  lifecycle {step}: {} → {}", show(old), show(new)));
    }
    for v in &plan.env_added {
        ui.line(format!("  new variable {}{}", v.name, if v.required { " (required)" } else { "" }));
    }
    for v in &plan.env_removed {
        ui.line(format!("  variable no longer used: {v}"));
    }
    if plan.added.len() + plan.changed.len() + plan.removed.len() > 0 {
        ui.detail(format!(
            "  {} changed in {}",
            plural(plan.added.len() + plan.changed.len() + plan.removed.len(), "file"),
            plan.path
        ));
    }
}

/// A plugin's line of the report when there was no plan (skipped, up to date, failed).
pub(super) fn status(entry: &Entry, status: &'static str, error: Option<&Error>) -> report::Upgraded {
    report::Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: None,
        commit: None,
        error: error.map(Into::into),
    }
}

pub(super) fn report(entry: &Entry, status: &'static str, plan: &MovePlan, commit: Option<String>) -> report::Upgraded {
    report::Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: Some(report::PlanDoc {
            from: plan.from.to_string(),
            to: plan.to.to_string(),
            files: report::FilesDoc {
                added: plan.added.clone(),
                changed: plan.changed.clone(),
                removed: plan.removed.clone(),
            },
            lifecycle: plan
                .lifecycle
                .iter()
                .map(|(step, old, new)| report::StepDoc { step: step.clone(), old: old.clone(), new: new.clone() })
                .collect(),
            env: report::EnvDoc {
                added: plan
                    .env_added
                    .iter()
                    .map(|v| report::VarDoc { name: v.name.clone(), required: v.required })
                    .collect(),
                removed: plan.env_removed.clone(),
            },
        }),
        commit,
        error: None,
    }
}
