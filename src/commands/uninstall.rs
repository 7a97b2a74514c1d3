use serde_json::json;

use super::Ctx;
use crate::error::{Error, Result};
use crate::lifecycle::Runner;
use crate::plugin;

/// Tear down what a plugin set up (its stop and uninstall commands); it stays in the manifest.
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// Don't ask for confirmation
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let (home, _lock) = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let entry = manifest.find(&args.plugin).ok_or_else(|| Error::PluginNotFound {
        id: args.plugin.clone(),
        near: manifest.near(&args.plugin),
        stray_dir: false,
    })?;
    let dir = home.plugin_dir(&entry.directory);
    let plugin = plugin::load(&dir)?;
    let runner = Runner {
        home: &home.root,
        plugin_dir: &dir,
        directory: &entry.directory,
        plugin: &plugin,
        stdout_to_stderr: ctx.ui.json,
    };
    let Some(cmd) = runner.command("uninstall") else {
        ctx.ui.line(format!("'{}' has no uninstall command; nothing to do", plugin.name));
        ctx.ui.json(&json!({"plugin": entry.directory, "uninstalled": false}));
        return Ok(0);
    };
    if !args.force {
        ctx.ui.note(format!("Uninstalling '{}' runs this command, which may delete data:\n    {cmd}", plugin.name));
        let hint = format!("pass --force (or --yes) to run it: `atk uninstall {} --force`", entry.directory);
        if !ctx.ui.confirm("Continue?", &hint)? {
            ctx.ui.line("Cancelled; nothing was run.");
            return Ok(0);
        }
    }
    if let Err(e) = runner.run("stop") {
        if matches!(e, Error::Interrupted) {
            return Err(e);
        }
        ctx.ui.warn(format!("{e}; going on with uninstall"));
    }
    runner.run("uninstall")?;
    ctx.ui.success(format!(
        "Uninstalled '{}' (still in the manifest; `atk install {}` sets it up again)",
        plugin.name, entry.directory
    ));
    ctx.ui.json(&json!({"plugin": entry.directory, "uninstalled": true}));
    Ok(0)
}
