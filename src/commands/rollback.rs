use serde::Serialize;

use super::{find, parse_sets, report, Ctx};
use crate::error::Result;
use crate::sync::rollback;
use crate::sync::upgrade::{self, Move, Record};
use crate::ui::{Report, Ui};

/// Move a remote plugin back to the pin it had before its last upgrade (or to --to REF), with the
/// upgrade's preview and confirmation, keeping custom/, .env and runtime data
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// A commit of the plugin's source that has the plugin: its full id, or the start of a pin
    /// `atk history <plugin>` shows
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
    /// Show what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Set a variable the old version needs without asking (repeatable); KEY alone takes $KEY
    /// from the environment
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
    /// Lock a package the old version runs to this version, whatever its age (repeatable), when
    /// the history has no lock for it: `@scope/pkg@2.1.0`, `pkg==1.4`
    #[arg(long = "pin", value_name = "PKG@VERSION")]
    pub pin: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let entry = find(&manifest, &args.plugin)?.clone();
    let to = rollback::target(&home, &entry, args.to.as_deref())?;
    let origins = ctx.settings.origins(&manifest);
    let origin = origins.open(&entry.source)?;
    let report = match upgrade::plan_move(&home, &entry, &origin, to)? {
        None => RolledBack { rollback: report::unmoved(&entry, "up-to-date", None), to: report::short(&to) },
        Some(planned) => {
            report::move_plan(&ctx.ui, &entry, &planned.plan);
            // What it runs goes back too: as the home had it at that pin, else (or with --pin)
            // resolved now.
            let how = (&planned.plan, args.pin.as_slice());
            let lock = rollback::lock_at(&ctx.ui, &ctx.settings, &home, &manifest, &entry, &origin, how)?;
            report::lock_plan(&ctx.ui, &entry.name, &lock, jiff::Timestamp::now(), true);
            let again = format!("`atk rollback {} --yes`", entry.directory);
            let to = report::short(&planned.plan.to);
            if args.dry_run {
                RolledBack { rollback: report::moved(&entry, "would-roll-back", &planned.plan, None), to }
            } else if !ctx.confirm_move(&entry, &planned, &again)? {
                RolledBack { rollback: report::moved(&entry, "declined", &planned.plan, None), to }
            } else {
                let plan = &planned.plan;
                let current = crate::source::origin::pinned(&entry)?.to_string();
                let message = upgrade::move_message("rollback", &entry, &current, plan.to);
                let record = Record { operation: &format!("atk rollback {}", entry.directory), message: &message };
                let m = Move { entry: &entry, origin: &origin, plan, lock: Some(&lock.pins) };
                let moved = upgrade::move_plugin(&ctx.ui, &ctx.settings, &home, &mut manifest, m, &sets, record)
                    .map_err(|e| {
                        let mut flags: Vec<String> = args.to.iter().map(|t| format!("--to={t}")).collect();
                        flags.extend(args.pin.iter().map(|p| format!("--pin={p}")));
                        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                        e.retry_with(ctx.retry(&format!("rollback {}", entry.directory), &flags, &sets))
                    })?;
                if let Some(e) = moved.stopped {
                    return Err(e);
                }
                report::hook_outcomes(&ctx.ui, &entry, &moved.replugged, "plug");
                RolledBack { rollback: report::moved(&entry, "rolled-back", plan, moved.commit), to }
            }
        }
    };
    ctx.ui.print(&report);
    Ok(0)
}

/// `atk rollback`: the plugin's move, as `upgrade` reports one (`status`: `rolled-back`,
/// `would-roll-back`, `declined`, `up-to-date`).
#[derive(Serialize)]
pub struct RolledBack {
    pub rollback: report::Upgraded,
    /// The commit it was to go to, short.
    #[serde(skip)]
    pub to: String,
}

impl Report for RolledBack {
    fn render(&self, ui: &Ui) {
        let (name, to) = (crate::text::escape(&self.rollback.name), &self.to);
        match self.rollback.status {
            "up-to-date" => {
                ui.line(format!("{} {name}: the files at {to} are those it has now; nothing to do", ui.green("✓")))
            }
            "declined" => ui.line(format!("- {name}: not rolled back (declined)")),
            "rolled-back" => ui.success(format!("Rolled back '{name}' to {to}")),
            // A dry run: the plan shown is the answer.
            _ => {}
        }
    }
}
