use std::path::PathBuf;

use serde::Serialize;

use super::report::{pin_or_local, Failed};
use super::Ctx;
use crate::data::backup;
use crate::data::restore::{self, Options, PathChange, Restored};
use crate::error::{Error, Result};
use crate::ui::{Report, Ui};

/// Put a backup's data back in place of a plugin's (the current data is backed up first)
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["plugin", "all"])))]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: Option<String>,
    /// Every plugin that declares data and has a backup: each from its newest (after `atk import
    /// --with-data` and `atk install --all`, the data of the machine it came from)
    #[arg(long, conflicts_with = "from")]
    pub all: bool,
    /// The backup's ID (see `atk backup --list`); the newest when not given
    #[arg(long, value_name = "ID")]
    pub from: Option<String>,
    /// Show what would be replaced, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Read the passphrase of an encrypted backup from FILE (else $ATK_BACKUP_PASSPHRASE, else
    /// asked on the terminal)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// How long each status probe may take, in seconds (to tell whether the plugin runs)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = super::parse_seconds)]
    pub timeout: std::time::Duration,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let store = ctx.backup_store(&home, &manifest)?;
    // Every backup is found, decrypted and verified before anything is asked or changed.
    let mut passphrase: Option<String> = None;
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    // With --all, a plugin whose backup cannot be read (damaged, not decrypted) is reported and the
    // others are restored: its data is left as it is.
    let mut failed = Vec::new();
    let entries = super::select(&manifest, args.plugin.as_deref())?;
    for entry in entries {
        let loaded = match backup::load(&home.root, entry) {
            Ok(l) => l,
            Err(crate::Error::NotInstalled { .. }) if args.all => None,
            // As `backup --all`: a plugin whose declaration cannot be read is reported, the
            // others are restored.
            Err(e) if args.all && !matches!(e, Error::Interrupted) => {
                ctx.ui.failure(&entry.name, &e);
                failed.push(Failed::of(&entry.directory, &e));
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(loaded) = loaded else {
            if args.all {
                skipped.push(entry.directory.clone());
                continue;
            }
            return Err(backup::no_data(entry));
        };
        let stored = match store.find(&entry.directory, args.from.as_deref()) {
            Ok(s) => s,
            Err(crate::Error::NothingToDo { .. }) if args.all => {
                skipped.push(entry.directory.clone());
                continue;
            }
            Err(e) => return Err(e),
        };
        if passphrase.is_none() && (stored.summary.encrypted || crate::data::archive::is_encrypted(&stored.file)?) {
            passphrase = Some(ctx.passphrase(args.passphrase_file.as_deref(), false)?);
        }
        let prepared = match restore::prepare(&home, ctx.at(&home), &loaded, stored, passphrase.as_deref(), &ctx.ui) {
            Ok(p) => p,
            Err(e) if args.all && !matches!(e, Error::Interrupted) => {
                ctx.ui.failure(&entry.name, &e);
                failed.push(Failed::of(&entry.directory, &e));
                continue;
            }
            Err(e) => return Err(e),
        };
        ready.push((loaded, prepared));
    }
    if ready.is_empty() && !failed.is_empty() {
        ctx.ui.print(&Restores { all: true, plans: vec![], done: vec![], skipped, failed });
        return Ok(crate::error::exit::GENERAL);
    }
    if ready.is_empty() {
        return Err(Error::nothing_to_do(
            "no plugin of this home has a backup to restore",
            vec!["`atk backup --list` shows the backups there are".into()],
        ));
    }
    let plans: Vec<RestorePlan> = ready.iter().map(|(l, p)| RestorePlan::of(l, p, args.dry_run)).collect();
    if args.dry_run {
        let code = if failed.is_empty() { 0 } else { crate::error::exit::GENERAL };
        if args.all {
            ctx.ui.print(&Restores { all: true, plans, done: vec![], skipped, failed });
        } else {
            ctx.ui.print(&plans[0]);
        }
        return Ok(code);
    }
    if !ctx.ui.json {
        for plan in &plans {
            plan.render(&ctx.ui);
        }
    }
    confirm(ctx, if args.all { "all" } else { &plans[0].directory })?;
    let opts = Options {
        passphrase: passphrase.as_deref(),
        work_factor: crate::data::archive::DEFAULT_WORK_FACTOR,
        probe_timeout: args.timeout,
        now: jiff::Timestamp::now(),
    };
    let mut report = Restores { all: args.all, plans: vec![], done: vec![], skipped, failed };
    for ((loaded, prepared), plan) in ready.into_iter().zip(plans) {
        match restore::apply(&home, ctx.at(&home), &store, &loaded, prepared, &opts, &ctx.ui) {
            Ok(restored) => report.done.push(Done { plan, restored }),
            Err(e) if args.all && !matches!(e, Error::Interrupted) => {
                ctx.ui.failure(&loaded.entry.name, &e);
                report.failed.push(Failed::of(&loaded.entry.directory, &e));
            }
            Err(e) => return Err(e),
        }
    }
    let restart_failed = report.done.iter().any(|d| d.restored.restart_error.is_some());
    // One plugin: its own document, as `atk restore X` always gave.
    if !args.all {
        ctx.ui.print(&report.done[0]);
    } else {
        ctx.ui.print(&report);
    }
    Ok(if !report.failed.is_empty() {
        crate::error::exit::GENERAL
    } else if restart_failed {
        crate::error::exit::LIFECYCLE
    } else {
        0
    })
}

/// A typed confirmation on a terminal (the plugin's directory), `--yes` otherwise.
fn confirm(ctx: &Ctx, directory: &str) -> Result<()> {
    if ctx.ui.yes {
        return Ok(());
    }
    if !ctx.ui.interactive {
        return Err(Error::NeedsConfirmation {
            message: format!("restoring replaces the data of '{directory}' (no terminal to ask)"),
            hint: format!(
                "pass --yes to restore: `atk restore {directory} --yes` (the current data is backed up first)"
            ),
        });
    }
    let typed = ctx.ui.input(&format!("Type '{directory}' to replace its data"), None)?;
    if typed.trim() != directory {
        return Err(Error::NothingToDo {
            message: "not confirmed; nothing was changed".into(),
            hints: vec![format!("type the plugin's directory, {directory}, to restore")],
        });
    }
    Ok(())
}

/// What a restore replaces.
#[derive(Serialize)]
pub struct RestorePlan {
    pub directory: String,
    pub name: String,
    pub id: String,
    pub created: String,
    pub pin_backup: Option<String>,
    pub pin_now: Option<String>,
    pub changes: Vec<PathChange>,
    pub volumes: Vec<String>,
    pub script: Option<String>,
    pub secrets: bool,
    pub dry_run: bool,
}

impl RestorePlan {
    fn of(l: &backup::Loaded, p: &restore::Prepared, dry_run: bool) -> RestorePlan {
        RestorePlan {
            directory: l.entry.directory.clone(),
            name: l.plugin.name.clone(),
            id: p.stored.summary.id.clone(),
            created: p.stored.summary.created.clone(),
            pin_backup: p.pin_backup.clone(),
            pin_now: p.pin_now.clone(),
            changes: p.changes.clone(),
            volumes: p.volumes.clone(),
            script: p.script.clone(),
            secrets: p.contents.secrets,
            dry_run,
        }
    }
}

/// `atk restore --all` (with --dry-run: the plans alone).
#[derive(Serialize)]
pub struct Restores {
    pub all: bool,
    /// With --dry-run: what each restore would replace.
    pub plans: Vec<RestorePlan>,
    pub done: Vec<Done>,
    /// Plugins that declare no data or have no backup (with --all).
    pub skipped: Vec<String>,
    pub failed: Vec<Failed>,
}

impl Report for Restores {
    fn render(&self, ui: &Ui) {
        for p in &self.plans {
            p.render(ui);
        }
        for d in &self.done {
            d.render(ui);
        }
        if self.all && !self.skipped.is_empty() {
            ui.line(ui.dim(&format!("No data or no backup (skipped): {}", self.skipped.join(", "))));
        }
        if !self.failed.is_empty() {
            ui.line(format!("{} failed.", crate::error::plural(self.failed.len(), "restore")));
        }
    }
}

fn ago(rfc3339: Option<&str>) -> String {
    let now = jiff::Timestamp::now();
    rfc3339
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| crate::text::ago_or_just_now((now.as_second() - t.as_second()).max(0)))
        .unwrap_or_else(|| "?".into())
}

fn describe(size: &Option<restore::Size>) -> String {
    match size {
        None => "nothing".into(),
        Some(s) => format!(
            "{} in {}, changed {}",
            crate::text::size(s.bytes),
            crate::error::plural(s.files, "file"),
            ago(s.changed.as_deref())
        ),
    }
}

impl Report for RestorePlan {
    fn render(&self, ui: &Ui) {
        let name = crate::text::escape(&self.name);
        ui.line(format!("Restoring backup {} of '{name}' (made {}) replaces:", self.id, ago(Some(&self.created))));
        for c in &self.changes {
            ui.line(format!(
                "  {}  now: {}  →  backup: {}",
                ui.bold(&crate::text::escape(&c.path)),
                describe(&c.now),
                match &c.backup {
                    None => "nothing (it is removed)".into(),
                    Some(_) => describe(&c.backup),
                }
            ));
        }
        for v in &self.volumes {
            ui.line(format!(
                "  docker volume {}: emptied, then filled from the backup",
                ui.bold(&crate::text::escape(v))
            ));
        }
        if let Some(s) = &self.script {
            ui.line(format!("  and runs {} to put back what its backup script took", crate::text::escape(s)));
        }
        if self.pin_backup != self.pin_now {
            ui.warn(format!(
                "the backup was made at {} of '{name}'; it is at {} now",
                pin_or_local(self.pin_backup.as_deref()),
                pin_or_local(self.pin_now.as_deref())
            ));
        }
        if self.dry_run {
            ui.line(ui.dim("(dry run: nothing was changed)"));
        }
    }
}

/// `atk restore`: the plan and what was done.
#[derive(Serialize)]
pub struct Done {
    #[serde(flatten)]
    pub plan: RestorePlan,
    #[serde(flatten)]
    pub restored: Restored,
}

impl Report for Done {
    fn render(&self, ui: &Ui) {
        let r = &self.restored;
        ui.success(format!(
            "Restored '{}' from backup {} ({})",
            crate::text::escape(&self.plan.name),
            r.id,
            crate::error::plural(r.paths.len() + r.volumes.len() + usize::from(r.script.is_some()), "part")
        ));
        ui.line(ui.dim(&format!(
            "  the data it replaced is in backup {} (`atk restore {} --from {}` puts it back)",
            r.before.summary.id, self.plan.directory, r.before.summary.id
        )));
        if !r.kept_secrets.is_empty() {
            ui.line(ui.dim(&format!("  kept its secret files: {}", r.kept_secrets.join(", "))));
        }
        if let Some(e) = &r.restart_error {
            ui.warn(format!("'{}' did not start again: {e}", crate::text::escape(&self.plan.name)));
            ui.hint(format!("start it with `atk start {}`", self.plan.directory));
        }
    }
}
