use std::os::unix::process::CommandExt;

use super::Ctx;
use crate::error::{Error, Result};

/// Start a plugin's stdio MCP server, as agents do: with its values and secrets read from the home
/// now, in place of atk (stdin, stdout and signals are the server's)
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name, as in `atk list`)
    pub plugin: String,
}

/// `atk exec PLUGIN`: becomes the plugin's server, or says in one line on stderr (an agent's log)
/// why it cannot, with a non-zero exit code. Nothing is written on stdout: it is the server's.
pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let prefix = format!("atk exec {}", crate::text::escape(&args.plugin));
    let error = match start(ctx, &args, &prefix) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    if matches!(error, Error::Interrupted) {
        return Err(error);
    }
    ctx.ui.error_line(&prefix, &error);
    Ok(error.exit_code())
}

fn start(ctx: &Ctx, args: &Args, prefix: &str) -> Result<std::convert::Infallible> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    // By folder name only, as agents are given it: a stale entry never starts whichever plugin is
    // later given that display name.
    let entry = manifest.plugins.iter().find(|e| e.directory == args.plugin).ok_or_else(|| {
        crate::Error::PluginNotFound { id: args.plugin.clone(), near: manifest.near(&args.plugin), stray_dir: false }
    })?;
    let launch = crate::agents::launch(&home, entry, &ctx.settings.outer())?;
    for name in &launch.missing {
        ctx.ui.warn(format!(
            "{prefix}: the required variable {name} has no value; the server starts without it (`atk setup {}` sets it)",
            entry.directory
        ));
    }
    if !launch.unlocked.is_empty() {
        ctx.ui.warn(format!(
            "{prefix}: {} not locked and runs whatever its registry serves now (`atk install {}` locks it)",
            launch.unlocked.iter().map(|s| crate::text::escape(s).into_owned()).collect::<Vec<_>>().join(", "),
            entry.directory
        ));
    }
    let mut command = std::process::Command::new(&launch.program);
    command.args(&launch.args).envs(launch.env.iter().map(|(k, v)| (k, v)));
    // Only returns when the server could not be started.
    let e = command.exec();
    Err(Error::Other {
        message: format!(
            "cannot start the MCP server of '{}' ({}): {e}",
            crate::text::escape(&entry.name),
            crate::text::escape(&launch.shown_program)
        ),
        hints: vec![format!("`atk mcp {}` shows the command it runs", entry.directory)],
    })
}
