use serde::Serialize;

use super::{parse_sets, report, Ctx};
use crate::agents::Apply;
use crate::error::Result;
use crate::sync::add::{AddedEntry, Restore};
use crate::sync::remove::{self, Removal};
use crate::sync::undo::{self, Step};
use crate::sync::upgrade::{self, Move, Record};
use crate::ui::{Report, Ui};

/// Revert the last atk operation of the home: an add becomes a remove, a remove an add at the same
/// pin with the same custom/ files, an upgrade or rollback a move back; undo again redoes
#[derive(clap::Args)]
pub struct Args {
    /// Set a variable without asking (repeatable; a removed plugin's .env is gone with it); KEY
    /// alone takes $KEY from the environment
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
    /// Run an added plugin's uninstall without asking, and remove it even when it fails
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let plan = undo::plan(&home, &manifest)?;
    let message = plan.message();
    let short = report::short(&plan.op.commit);
    ctx.ui.preview(format!("Undoing {short} \"{}\"", crate::text::escape(&plan.op.subject)));
    let origins = ctx.settings.origins(&manifest);
    let force = args.force || ctx.ui.yes;
    let (action, entry, commit, done) = match &plan.step {
        Step::Remove { entry } => {
            let dir = home.plugin_dir(&entry.directory);
            let again = ctx.retry("undo", &["--force"], &[]);
            let plugin = remove::definition(&ctx.ui, &home, entry, args.force, &again)?;
            let runner = plugin.as_ref().map(|p| ctx.runner(&home, &dir, &entry.directory, p));
            if let Some(r) = &runner {
                if !r.confirm_uninstall(&ctx.ui, "undo", force)? {
                    let cancelled = "Cancelled; nothing was changed.";
                    ctx.ui.print(&report::Unchanged::declined("undo", &entry.name, &entry.directory, cancelled));
                    return Ok(0);
                }
            }
            let removal = Removal { entry, runner, force: args.force };
            let done =
                remove::tear_down(&ctx.ui, &ctx.settings, &home, &mut manifest, &removal, "atk undo", Some(&message))?;
            report::hook_outcomes(&ctx.ui, entry, &done.unplugged, "unplug");
            if let Some(e) = done.failed {
                return Err(e);
            }
            ("remove", entry.clone(), done.commit, Done::Removed)
        }
        Step::Restore { entry, index } => {
            let restore = Restore { message: &message, index: *index, was: entry };
            let (AddedEntry { entry, commit }, replugged) =
                undo::re_add(&ctx.ui, &ctx.settings, &home, &mut manifest, plan.parent, restore, &sets)
                    // Its .env went with the folder: the values are given to undo itself.
                    .map_err(|e| e.retry_with(ctx.retry("undo", &[], &sets)))?;
            report::hook_outcomes(&ctx.ui, &entry, &replugged, "plug");
            ("restore", entry, commit, Done::Restored)
        }
        Step::Lock { entry, lock } => {
            let change = crate::sync::lock::Lock::replacing(&entry.lock, lock.clone());
            ctx.ui.preview(ctx.ui.bold(&crate::text::escape(&entry.name)));
            report::lock_plan(&ctx.ui, &entry.name, &change, jiff::Timestamp::now(), true);
            let commit = crate::sync::lock::record(&home, &mut manifest, &entry.directory, lock, &message)?;
            let now = manifest.find(&entry.directory).cloned().unwrap_or_else(|| entry.clone());
            ("lock", now, commit, Done::Relocked)
        }
        Step::Move { entry, to, lock } => {
            let origin = origins.open(&entry.source)?;
            let same = || {
                let line = format!(
                    "'{}' has the same files at {}; nothing to do",
                    crate::text::escape(&entry.name),
                    report::short(to)
                );
                ctx.ui.print(&report::Unchanged::nothing_to_do("undo", &entry.name, &entry.directory, line));
                Ok(0)
            };
            let Some(planned) = upgrade::plan_move(&home, entry, &origin, *to)? else { return same() };
            report::move_plan(&ctx.ui, entry, &planned.plan);
            if !ctx.confirm_move(entry, &planned, "`atk undo --yes`")? {
                let cancelled = "Cancelled; nothing was changed.";
                ctx.ui.print(&report::Unchanged::declined("undo", &entry.name, &entry.directory, cancelled));
                return Ok(0);
            }
            report::lock_plan(
                &ctx.ui,
                &entry.name,
                &crate::sync::lock::Lock::replacing(&entry.lock, lock.clone()),
                jiff::Timestamp::now(),
                true,
            );
            let m = Move { entry, origin: &origin, plan: &planned.plan, lock: Some(lock) };
            let record = Record { operation: &format!("atk undo {}", entry.directory), message: &message };
            let moved = upgrade::move_plugin(&ctx.ui, &ctx.settings, &home, &mut manifest, m, &sets, record)
                .map_err(|e| e.retry_with(ctx.retry("undo", &[], &sets)))?;
            if let Some(e) = moved.stopped {
                return Err(e);
            }
            report::hook_outcomes(&ctx.ui, entry, &moved.replugged, "plug");
            let now = manifest.find(&entry.directory).cloned().unwrap_or_else(|| entry.clone());
            ("move", now, moved.commit, Done::Moved { name: entry.name.clone(), to: report::short(to) })
        }
        Step::Agents { entry, plug, unplug } => {
            let hint = "pass --yes to change the agents without asking: `atk undo --yes`";
            let how = Apply::new(&ctx.settings.agents, &ctx.ui, !ctx.ui.yes, hint);
            let outer = ctx.settings.outer();
            let done = undo::revert_agents(&home, &mut manifest, (entry, plug, unplug), &outer, &how, &message)?;
            if let Some(c) = &done.commit {
                ctx.ui.detail(format!("committed {c}"));
            }
            if let Some(e) = done.stopped {
                return Err(e);
            }
            report::agent_outcomes(&ctx.ui, &done.target.name, &done.unplugged);
            report::agent_outcomes(&ctx.ui, &done.target.name, &done.plugged);
            if let Some(e) = done.problem() {
                return Err(e);
            }
            let now = manifest.find(&entry.directory).cloned().unwrap_or_else(|| entry.clone());
            (done.action(), now, done.commit, Done::Agents)
        }
    };
    ctx.ui.print(&Undone {
        reverted: plan.op.commit.to_string(),
        subject: plan.op.subject.clone(),
        action,
        plugin: (&entry).into(),
        from: message.get(crate::home::message::FROM).map(str::to_string),
        to: message.get(crate::home::message::TO).map(str::to_string),
        commit,
        done,
    });
    Ok(0)
}

/// `atk undo`: the operation reverted and what was done to revert it.
#[derive(Serialize)]
pub struct Undone {
    /// The commit reverted, and its subject.
    pub reverted: String,
    pub subject: String,
    /// `remove`, `restore` or `move` (`plug` or `unplug` for an agents' change, `lock` for a
    /// change of what it runs from registries alone).
    pub action: &'static str,
    pub plugin: report::PluginDoc,
    /// The pin before and after the undo (null for a local plugin or where there is none).
    pub from: Option<String>,
    pub to: Option<String>,
    pub commit: Option<String>,
    #[serde(skip)]
    pub done: Done,
}

/// What the text of an undo ends with.
pub enum Done {
    /// `plugin` removed again.
    Removed,
    /// `plugin` put back, at its pin.
    Restored,
    /// The plugin, as it was named before the move, moved back to `to` (short).
    Moved { name: String, to: String },
    /// What the plugin runs from registries went back to its earlier lock.
    Relocked,
    /// Each agent's line was shown as the agents changed (before the error of one that could not
    /// be changed): nothing more.
    Agents,
}

impl Report for Undone {
    fn render(&self, ui: &Ui) {
        let name = crate::text::escape(&self.plugin.name);
        match &self.done {
            Done::Removed => ui.success(format!("Removed '{name}' again")),
            Done::Restored => {
                let pin = self.plugin.source.commit.as_deref();
                let pin = pin.map(|c| format!(" at {}", report::short_pin(c))).unwrap_or_default();
                ui.success(format!("Put '{name}' back{pin}"))
            }
            Done::Moved { name, to } => ui.success(format!("Moved '{}' back to {to}", crate::text::escape(name))),
            Done::Relocked => ui.success(format!("Put what '{name}' runs back as it was locked before")),
            Done::Agents => {}
        }
    }
}
