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
                    if let Some(cmd) = runner.command("uninstall").filter(|_| !force) {
                        ctx.ui.note(format!(
                            "This runs the uninstall command of '{}', which may delete data:\n    {}",
                            crate::text::escape(&p.name),
                            crate::text::escape(&cmd)
                        ));
                        if !ctx.ui.confirm("Continue?", "pass --force (or --yes) to run it: `atk undo --force`")? {
                            ctx.ui.line("Cancelled; nothing was changed.");
                            return Ok(0);
                        }
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
                    return Err(Error::refused(
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
            let env = env::plan(&ctx.ui, &staged.plugin, &files_now.join(".env"), &sets, None)?;
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
