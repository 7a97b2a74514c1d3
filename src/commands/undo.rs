use super::rollback::{move_to, Move, Moved};
use super::{parse_sets, report, runner, Ctx};
use crate::error::{Error, Result};
use crate::plugin;
use crate::source::origin::Origins;
use crate::sync::add::{add_as, Added, Restore};
use crate::sync::undo::{self, Step};
use crate::sync::{env, remove};

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
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let plan = undo::plan(&home, &manifest)?;
    let message = plan.message();
    let short = &plan.op.commit.to_string()[..10];
    ctx.ui.line(format!("Undoing {short} \"{}\"", crate::text::escape(&plan.op.subject)));
    let origins = Origins::new(&ctx.settings, &manifest);
    let force = args.force || ctx.ui.yes;
    let (action, entry, commit) = match &plan.step {
        Step::Remove { entry } => {
            let dir = home.plugin_dir(&entry.directory);
            let loaded = plugin::definition_file(&dir).map(|_| plugin::load(&dir));
            match loaded {
                Some(Ok(p)) => {
                    let runner = runner(ctx, &home, &dir, &entry.directory, &p);
                    if !runner.confirm_uninstall(&ctx.ui, "undo", force, &super::environment_secrets())? {
                        ctx.ui.line("Cancelled; nothing was changed.");
                        return Ok(0);
                    }
                    runner.stop_before_uninstall(&ctx.ui)?;
                    if let Err(e) = runner.run("uninstall") {
                        if !args.force || matches!(e, Error::Interrupted) {
                            return Err(e);
                        }
                        ctx.ui.warn(format!("{e}; removing anyway (--force)"));
                    }
                }
                Some(Err(e)) if !args.force => {
                    return Err(Error::plugin_refused(
                        format!("cannot run the uninstall command of '{}': {e}", crate::text::escape(&entry.name)),
                        vec!["`atk undo --force` removes it without running it".into()],
                    ))
                }
                _ => {}
            }
            let commit = remove::remove_as(&home, &lock, &mut manifest, &entry.directory, "atk undo", Some(&message))?;
            ctx.ui.success(format!("Removed '{}' again", crate::text::escape(&entry.name)));
            ("remove", entry.clone(), commit)
        }
        Step::Restore { entry, index } => {
            let staged = undo::stage_restore(&home, &origins, plan.parent, entry)?;
            let files_now = staged.staged.as_ref().map(|s| s.path().to_path_buf()).expect("restored files are staged");
            let env = env::plan(
                &ctx.ui,
                &staged.plugin,
                &files_now.join(".env"),
                &sets,
                None,
                &super::environment_secrets(),
            )?;
            let Added { entry, commit } = add_as(
                &ctx.ui,
                &home,
                &lock,
                &mut manifest,
                &staged,
                &env,
                "atk undo",
                Some(Restore { message: &message, index: *index }),
            )
            .inspect_err(|e| {
                if matches!(e, Error::EnvMissing { .. }) {
                    // Its .env went with the folder: the values are given to undo itself.
                    ctx.ui
                        .note("the plugin's .env was removed with it: give the values with `atk undo --set KEY=VALUE`");
                }
            })?;
            let pin =
                entry.source.commit.as_deref().map(|c| format!(" at {}", &c[..c.len().min(12)])).unwrap_or_default();
            ctx.ui.success(format!("Put '{}' back{pin}", crate::text::escape(&entry.name)));
            ("restore", entry, commit)
        }
        Step::Move { entry, to } => {
            let m = Move { home: &home, lock: &lock, origins: &origins, sets: &sets, dry_run: false, verb: "undo" };
            match move_to(ctx, m, &mut manifest, entry, *to, &|_| message.clone())? {
                Moved::Done(_, commit) => {
                    ctx.ui.success(format!(
                        "Moved '{}' back to {}",
                        crate::text::escape(&entry.name),
                        &to.to_string()[..12]
                    ));
                    let moved = manifest.find(&entry.directory).cloned().unwrap_or_else(|| entry.clone());
                    ("move", moved, commit)
                }
                Moved::Declined(_) => {
                    ctx.ui.line("Cancelled; nothing was changed.");
                    return Ok(0);
                }
                Moved::Same | Moved::Would(_) => {
                    ctx.ui.line(format!(
                        "'{}' has the same files at {}; nothing to do",
                        crate::text::escape(&entry.name),
                        &to.to_string()[..12]
                    ));
                    return Ok(0);
                }
            }
        }
        Step::Agents { entry, plug, unplug } => {
            let (done, commit) = undo_agents(ctx, (&home, &lock), &mut manifest, entry, plug, unplug, &message)?;
            let moved = manifest.find(&entry.directory).cloned().unwrap_or_else(|| entry.clone());
            (done, moved, commit)
        }
    };
    ctx.push_if_configured(&home, &manifest, commit.is_some());
    ctx.ui.json(&report::Undone {
        reverted: plan.op.commit.to_string(),
        subject: plan.op.subject.clone(),
        action,
        plugin: (&entry).into(),
        from: message.get(crate::home::message::FROM).map(str::to_string),
        to: message.get(crate::home::message::TO).map(str::to_string),
        commit,
    });
    Ok(0)
}

/// Undo of `plug` or `unplug`: the plugin is unplugged from the agents the operation plugged it
/// into and plugged into those it unplugged it from (each confirmed as `plug`/`unplug` confirm),
/// and the record follows what was done, in one commit.
fn undo_agents(
    ctx: &Ctx,
    (home, lock): (&crate::home::Home, &crate::home::HomeLock),
    manifest: &mut crate::home::Manifest,
    entry: &crate::home::Entry,
    plug: &[String],
    unplug: &[String],
    message: &crate::home::message::Message,
) -> Result<(&'static str, Option<String>)> {
    use crate::agents::{self, AgentId, AgentStatus, Op};
    let env = super::plug::agent_env();
    let ask = !ctx.ui.yes;
    let known = |names: &[String]| -> Vec<AgentId> { names.iter().filter_map(|n| AgentId::parse(n)).collect() };
    let index = super::index_of(manifest, &entry.directory)?;
    let target = agents::target(home, &manifest.plugins[index], &super::plug::outer);
    // What is plugged again must not give agents a SKILL.md linked out of the plugin folder.
    let t = match target.and_then(|t| if plug.is_empty() { Ok(t) } else { t.check_skill().map(|()| t) }) {
        Ok(t) => t,
        Err(e) if plug.is_empty() => {
            ctx.ui.detail(format!("{e}; unplugging what atk knows of it"));
            agents::bare_target(home, &manifest.plugins[index])
        }
        Err(e) => return Err(e),
    };
    let hint = "pass --yes to change the agents without asking: `atk undo --yes`";
    let mut outcomes = Vec::new();
    let mut failure = None;
    for (op, names) in [(Op::Unplug, unplug), (Op::Plug, plug)] {
        if names.is_empty() || failure.is_some() {
            continue;
        }
        let (done, error) = super::plug::apply_all(ctx, home, &t, &known(names), op, &env, ask, hint);
        outcomes.extend(done.into_iter().map(|o| (op, o)));
        failure = error;
    }
    let entry = &mut manifest.plugins[index];
    let mut changed = false;
    for (op, o) in &outcomes {
        changed |= match (op, o.status) {
            (Op::Plug, AgentStatus::Configured | AgentStatus::AlreadyConfigured) => agents::record(entry, o.agent),
            (Op::Unplug, AgentStatus::Removed | AgentStatus::NotConfigured) => agents::forget(entry, o.agent),
            _ => false,
        };
    }
    let commit = super::plug::record(ctx, home, lock, manifest, changed, "atk undo", message)?;
    if let Some(e) = failure {
        return Err(e);
    }
    let plugged: Vec<_> = outcomes.iter().filter(|(op, _)| *op == Op::Plug).map(|(_, o)| o.clone()).collect();
    let unplugged: Vec<_> = outcomes.iter().filter(|(op, _)| *op == Op::Unplug).map(|(_, o)| o.clone()).collect();
    super::plug::render(ctx, &t, &unplugged);
    super::plug::render(ctx, &t, &plugged);
    let not_done: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o.status, AgentStatus::Failed | AgentStatus::NotInstalled | AgentStatus::Skipped))
        .map(|(_, o)| o.agent.label())
        .collect();
    if !not_done.is_empty() {
        return Err(Error::Other {
            message: format!(
                "the undo could not be done for {}{}",
                agents::join_labels(&not_done),
                if changed { " (what was done is committed)" } else { "" }
            ),
            hints: vec![
                "`atk status` shows the agents recorded for each plugin; `atk plug`/`atk unplug` finish it".into()
            ],
        });
    }
    if !changed {
        return Err(Error::Other {
            message: "no agent changed: the undo made no commit".into(),
            hints: vec!["`atk status` shows the agents recorded for each plugin".into()],
        });
    }
    Ok((if unplug.is_empty() { "plug" } else { "unplug" }, commit))
}
