use super::{runner, Ctx};
use crate::error::{Error, Result};
use crate::plugin::{self, name::is_valid_directory};

/// Remove a plugin: run its stop and uninstall commands, delete its folder, drop it from the manifest.
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name, as in `atk list`)
    pub plugin: String,
    /// Don't ask, and remove even when uninstall fails or plugin.yaml is broken
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let id = args.plugin.as_str();
    let Some(index) = manifest.index_of(id) else {
        // Only names of the manifest are accepted: nothing is ever derived from the argument.
        let stray_dir = is_valid_directory(id) && home.plugin_dir(id).is_dir();
        return Err(Error::PluginNotFound { id: id.to_string(), near: manifest.near(id), stray_dir });
    };
    let entry = manifest.plugins[index].clone();
    let dir = home.plugin_dir(&entry.directory);

    let loaded = if plugin::definition_file(&dir).is_some() { Some(plugin::load(&dir)) } else { None };
    let plugin = match loaded {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) if args.force => {
            ctx.ui.warn(format!("{e}; removing without running its lifecycle commands"));
            None
        }
        Some(Err(e)) => {
            ctx.ui.warn(e.to_string());
            for d in e.details() {
                ctx.ui.note(format!("  - {d}"));
            }
            return Err(Error::plugin_refused(
                format!(
                    "cannot run the stop and uninstall commands of '{}' because its plugin.yaml is broken",
                    entry.name
                ),
                vec![format!("`atk remove {} --force` removes it without running them", entry.directory)],
            ));
        }
        None => {
            ctx.ui.detail(format!("{} has no plugin files here; nothing to stop or uninstall", dir.display()));
            None
        }
    };

    if let Some(p) = &plugin {
        let runner = runner(ctx, &home, &dir, &entry.directory, p);
        if !runner.confirm_uninstall(
            &ctx.ui,
            &format!("remove {}", entry.directory),
            args.force,
            &super::environment_secrets(),
        )? {
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

    super::plug::unplug_recorded(ctx, &home, &entry)?;
    let commit =
        crate::sync::remove::remove(&home, &lock, &mut manifest, &entry.directory, &format!("atk remove {id}"))?;
    ctx.push_if_configured(&home, &manifest, commit.is_some());
    if let Some(c) = &commit {
        ctx.ui.detail(format!("committed {c}"));
    }
    ctx.ui.success(format!("Removed '{}'", crate::text::escape(&entry.name)));
    ctx.ui.json(&super::report::Removed { removed: (&entry).into(), commit });
    Ok(0)
}
