use serde::Serialize;

use super::{find, parse_sets, report, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::home::{Entry, Locked, Manifest, Message, SourceKind};
use crate::source::origin::Origin;
use crate::sync::upgrade::{self, Move, MovePlan, Record};
use crate::ui::{Report, Ui};

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
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let selected: Vec<Entry> = match &args.target.plugin {
        Some(id) => {
            let entry = find(&manifest, id)?.clone();
            if entry.source.kind == SourceKind::Local {
                return Err(Error::plugin_refused(
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
    let origins = ctx.settings.origins(&manifest);

    let mut survey = upgrade::survey(&ctx.ui, &home, &origins, &selected)?;
    let run = Run { ctx, home: &home, sets: &sets, dry_run: args.dry_run };
    let mut reports = Vec::new();
    for entry in &selected {
        if entry.source.kind == SourceKind::Local {
            ctx.ui.line(ctx.ui.dim(&format!("- {}: local plugin, skipped", crate::text::escape(&entry.name))));
            reports.push(report::unmoved(entry, "skipped", None));
            continue;
        }
        let result = survey.take(entry).and_then(|(origin, plan)| run.one(&mut manifest, entry, origin, plan));
        match result {
            Ok(UpgradeOutcome::UpToDate) => {
                ctx.ui.line(format!("{} {}: already up to date", ctx.ui.green("✓"), crate::text::escape(&entry.name)));
                reports.push(report::unmoved(entry, "up-to-date", None));
            }
            Ok(UpgradeOutcome::Upgraded(plan, commit)) => {
                ctx.ui.success(format!(
                    "Upgraded '{}' to {}",
                    crate::text::escape(&entry.name),
                    report::short(&plan.to)
                ));
                reports.push(report::moved(entry, "upgraded", &plan, commit));
            }
            Ok(UpgradeOutcome::WouldUpgrade(plan)) => reports.push(report::moved(entry, "would-upgrade", &plan, None)),
            Ok(UpgradeOutcome::Declined(plan)) => {
                ctx.ui.line(format!("- {}: not upgraded (declined)", crate::text::escape(&entry.name)));
                reports.push(report::moved(entry, "declined", &plan, None));
            }
            Err(e) if !args.target.all || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                ctx.ui.failure(&entry.name, &e);
                reports.push(report::unmoved(entry, "failed", Some(&e)));
            }
        }
    }
    let summary = Summary::of(&reports);
    let failed = summary.failed;
    ctx.ui.print(&Upgrade { dry_run: args.dry_run, plugins: reports, summary, all: args.target.all });
    Ok(if failed > 0 { 1 } else { 0 })
}

/// `atk upgrade`: each plugin's move (or why there was none), and the counts.
#[derive(Serialize)]
pub struct Upgrade {
    pub dry_run: bool,
    pub plugins: Vec<report::Upgraded>,
    pub summary: Summary,
    /// `--all`: the text ends with the counts.
    #[serde(skip)]
    pub all: bool,
}

/// The counts of a run; with `--dry-run`, `upgraded` counts the plugins that would be.
#[derive(Serialize)]
pub struct Summary {
    pub upgraded: usize,
    pub up_to_date: usize,
    pub skipped: usize,
    pub failed: usize,
}

impl Summary {
    /// The counts of the plugins' statuses.
    fn of(plugins: &[report::Upgraded]) -> Summary {
        let count = |of: &[&str]| plugins.iter().filter(|p| of.contains(&p.status)).count();
        Summary {
            upgraded: count(&["upgraded", "would-upgrade"]),
            up_to_date: count(&["up-to-date"]),
            skipped: count(&["skipped", "declined"]),
            failed: count(&["failed"]),
        }
    }
}

/// Each plugin's line is shown as the run goes (its plan comes before its question, and the next
/// plugin's plan after its answer): the text of the report is the counts of an `--all` run.
impl Report for Upgrade {
    fn render(&self, ui: &Ui) {
        if self.all {
            let Summary { upgraded, up_to_date, skipped, failed } = self.summary;
            let verb = if self.dry_run { "would be upgraded" } else { "upgraded" };
            ui.line(format!("{upgraded} {verb}, {up_to_date} up to date, {skipped} skipped, {failed} failed"));
        }
    }
}

/// What one upgrade of this run shares with the others.
struct Run<'a> {
    ctx: &'a Ctx,
    home: &'a Locked,
    sets: &'a [(String, String)],
    dry_run: bool,
}

impl Run<'_> {
    /// Shows the plan, asks where the new version changes commands, and moves the plugin.
    fn one(
        &self,
        manifest: &mut Manifest,
        entry: &Entry,
        origin: &Origin,
        plan: Option<MovePlan>,
    ) -> Result<UpgradeOutcome> {
        let ctx = self.ctx;
        let Some(plan) = plan else { return Ok(UpgradeOutcome::UpToDate) };
        report::move_plan(&ctx.ui, entry, &plan);
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
        let record = Record { operation: &format!("atk upgrade {}", entry.directory), message: &message };
        let m = Move { entry, origin, plan: &plan };
        let moved = upgrade::move_plugin(&ctx.ui, &ctx.settings, self.home, manifest, m, self.sets, record)?;
        if let Some(e) = moved.stopped {
            return Err(e);
        }
        report::hook_outcomes(&ctx.ui, entry, &moved.replugged, "plug");
        Ok(UpgradeOutcome::Upgraded(plan, moved.commit))
    }
}
