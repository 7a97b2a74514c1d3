use serde::Serialize;

use super::{find, parse_sets, report, Ctx, PluginOrAll};
use crate::error::{Error, Result};
use crate::home::{Entry, Locked, Manifest, SourceKind};
use crate::source::origin::Origin;
use crate::sync::lock::{self, Lock, Locker};
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
    /// Lock a package a plugin runs to this version, whatever its age (repeatable):
    /// `@scope/pkg@2.1.0`, `pkg==1.4`
    #[arg(long = "pin", value_name = "PKG@VERSION")]
    pub pin: Vec<String>,
}

enum UpgradeOutcome {
    UpToDate,
    Upgraded(MovePlan, Option<String>),
    WouldUpgrade(MovePlan),
    Declined(MovePlan),
    /// Only what it runs from registries moved (its commit did not).
    Relocked(Option<String>),
    WouldRelock,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let selected: Vec<Entry> = match &args.target.plugin {
        Some(id) => vec![find(&manifest, id)?.clone()],
        None => manifest.plugins.clone(),
    };
    let origins = ctx.settings.origins(&manifest);
    let locker = Locker::new(&ctx.settings, &manifest, &args.pin)?;

    let mut survey = upgrade::survey(&ctx.ui, &home, &origins, &locker, &selected)?;
    let pins = args.pin.iter().map(|p| format!("--pin={p}")).collect();
    let run = Run { ctx, home: &home, sets: &sets, dry_run: args.dry_run, now: locker.policy.now, pins };
    let mut reports = Vec::new();
    for entry in &selected {
        let lock = survey.take_lock(entry).transpose();
        let result = lock.and_then(|lock| {
            if entry.source.kind != SourceKind::Local {
                let (origin, plan) = survey.take(entry)?;
                return run.one(&mut manifest, entry, origin, plan, lock.as_ref()).map(|o| (o, lock));
            }
            // A local plugin has no source to move to; what it runs from registries may move.
            match lock {
                Some(lock) if lock.changed() => run.relock(&mut manifest, entry, &lock).map(|o| (o, Some(lock))),
                _ if args.target.plugin.is_some() => Err(Error::plugin_refused(
                    format!(
                        "'{}' is a local plugin: it has no source to upgrade from, and what it runs is locked already",
                        crate::text::escape(&entry.name)
                    ),
                    vec![format!("a local plugin changes by editing its files in plugins/{}", entry.directory)],
                )),
                _ => Ok((UpgradeOutcome::UpToDate, None)),
            }
        });
        let name = crate::text::escape(&entry.name);
        match result {
            Ok((UpgradeOutcome::UpToDate, _)) if entry.source.kind == SourceKind::Local => {
                ctx.ui.line(ctx.ui.dim(&format!("- {name}: local plugin, skipped")));
                reports.push(report::unmoved(entry, "skipped", None));
            }
            Ok((UpgradeOutcome::UpToDate, _)) => {
                ctx.ui.line(format!("{} {name}: already up to date", ctx.ui.green("✓")));
                reports.push(report::unmoved(entry, "up-to-date", None));
            }
            Ok((UpgradeOutcome::Upgraded(plan, commit), lock)) => {
                ctx.ui.success(format!("Upgraded '{name}' to {}", report::short(&plan.to)));
                reports.push(report::moved(entry, "upgraded", &plan, commit).with_lock(lock.as_ref()));
            }
            Ok((UpgradeOutcome::WouldUpgrade(plan), lock)) => {
                reports.push(report::moved(entry, "would-upgrade", &plan, None).with_lock(lock.as_ref()))
            }
            Ok((UpgradeOutcome::Declined(plan), lock)) => {
                ctx.ui.line(format!("- {name}: not upgraded (declined)"));
                reports.push(report::moved(entry, "declined", &plan, None).with_lock(lock.as_ref()));
            }
            Ok((UpgradeOutcome::Relocked(commit), lock)) => {
                ctx.ui.success(format!("Upgraded what '{name}' runs"));
                let mut r = report::unmoved(entry, "upgraded", None).with_lock(lock.as_ref());
                r.commit = commit;
                reports.push(r);
            }
            Ok((UpgradeOutcome::WouldRelock, lock)) => {
                reports.push(report::unmoved(entry, "would-upgrade", None).with_lock(lock.as_ref()))
            }
            Err(e) if !args.target.all || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                ctx.ui.failure(&entry.name, &e);
                reports.push(report::unmoved(entry, "failed", Some(&e)));
            }
        }
    }
    let summary = UpgradeSummary::of(&reports);
    let failed = summary.failed;
    ctx.ui.print(&Upgrade { dry_run: args.dry_run, plugins: reports, summary, all: args.target.all });
    Ok(if failed > 0 { 1 } else { 0 })
}

/// `atk upgrade`: each plugin's move (or why there was none), and the counts.
#[derive(Serialize)]
pub struct Upgrade {
    pub dry_run: bool,
    pub plugins: Vec<report::Upgraded>,
    pub summary: UpgradeSummary,
    /// `--all`: the text ends with the counts.
    #[serde(skip)]
    pub all: bool,
}

/// The counts of a run; with `--dry-run`, `upgraded` counts the plugins that would be.
#[derive(Serialize)]
pub struct UpgradeSummary {
    pub upgraded: usize,
    pub up_to_date: usize,
    pub skipped: usize,
    pub failed: usize,
}

impl UpgradeSummary {
    /// The counts of the plugins' statuses.
    fn of(plugins: &[report::Upgraded]) -> UpgradeSummary {
        let count = |of: &[&str]| plugins.iter().filter(|p| of.contains(&p.status)).count();
        UpgradeSummary {
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
            let UpgradeSummary { upgraded, up_to_date, skipped, failed } = self.summary;
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
    now: jiff::Timestamp,
    /// `--pin=…` as given, for a hint that runs the upgrade again.
    pins: Vec<String>,
}

impl Run<'_> {
    /// Shows the plan, asks where the new version changes commands, and moves the plugin.
    fn one(
        &self,
        manifest: &mut Manifest,
        entry: &Entry,
        origin: &Origin,
        plan: Option<MovePlan>,
        lock: Option<&Lock>,
    ) -> Result<UpgradeOutcome> {
        let ctx = self.ctx;
        let Some(plan) = plan else {
            return match lock {
                Some(lock) if lock.changed() => self.relock(manifest, entry, lock),
                _ => Ok(UpgradeOutcome::UpToDate),
            };
        };
        report::move_plan(&ctx.ui, entry, &plan);
        if let Some(lock) = lock {
            report::lock_plan(&ctx.ui, &entry.name, lock, self.now, true);
        }
        let edited = upgrade::edited(self.home, entry, &plan)?;
        let again = format!("`atk upgrade {} --yes`", entry.directory);
        if self.dry_run {
            ctx.warn_edited(entry, &edited, &report::short(&plan.to));
            return Ok(UpgradeOutcome::WouldUpgrade(plan));
        }
        if !ctx.confirm_edited(entry, &edited, &report::short(&plan.to), &again)? {
            return Ok(UpgradeOutcome::Declined(plan));
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
        let message = upgrade::move_message("upgrade", entry, &plan.from.to_string(), plan.to);
        let record = Record { operation: &format!("atk upgrade {}", entry.directory), message: &message };
        let m = Move { entry, origin, plan: &plan, lock: lock.map(|l| l.pins.as_slice()) };
        // The installed version does not declare what the new one adds: the upgrade takes the values.
        let moved =
            upgrade::move_plugin(&ctx.ui, &ctx.settings, self.home, manifest, m, self.sets, record).map_err(|e| {
                let pins: Vec<&str> = self.pins.iter().map(String::as_str).collect();
                e.retry_with(ctx.retry(&format!("upgrade {}", entry.directory), &pins, self.sets))
            })?;
        if let Some(e) = moved.stopped {
            return Err(e);
        }
        report::hook_outcomes(&ctx.ui, entry, &moved.replugged, "plug");
        Ok(UpgradeOutcome::Upgraded(plan, moved.commit))
    }

    /// Moves what `entry` runs from registries to `lock` (its commit stays): the moves shown,
    /// then recorded in the manifest, one commit.
    fn relock(&self, manifest: &mut Manifest, entry: &Entry, lock: &Lock) -> Result<UpgradeOutcome> {
        let ctx = self.ctx;
        ctx.ui.preview(ctx.ui.bold(&crate::text::escape(&entry.name)));
        report::lock_plan(&ctx.ui, &entry.name, lock, self.now, true);
        if self.dry_run {
            return Ok(UpgradeOutcome::WouldRelock);
        }
        let commit = lock::record(self.home, manifest, &entry.directory, &lock.pins, &lock::message(entry, "lock"))?;
        Ok(UpgradeOutcome::Relocked(commit))
    }
}
