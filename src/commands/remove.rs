use serde::Serialize;

use super::report::{self, PluginDoc};
use super::Ctx;
use crate::error::{Error, Result};
use crate::plugin::name::is_valid_directory;
use crate::sync::remove::{self, Removal};
use crate::ui::{Report, Ui};

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
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let id = args.plugin.as_str();
    let Some(index) = manifest.index_of(id) else {
        // Only names of the manifest are accepted: nothing is ever derived from the argument.
        let stray_dir = is_valid_directory(id) && home.plugin_dir(id).is_dir();
        return Err(Error::PluginNotFound { id: id.to_string(), near: manifest.near(id), stray_dir });
    };
    let entry = manifest.plugins[index].clone();
    let dir = home.plugin_dir(&entry.directory);

    // On the same home (and registry) as this run: `ctx.retry` names them.
    let again = ctx.retry(&format!("remove {}", entry.directory), &["--force"], &[]);
    let plugin = remove::definition(&ctx.ui, &home, &entry, args.force, &again)?;
    let runner = plugin.as_ref().map(|p| ctx.runner(&home, &dir, &entry.directory, p));
    if let Some(r) = &runner {
        if !r.confirm_uninstall(&ctx.ui, &format!("remove {}", entry.directory), args.force)? {
            let cancelled = "Cancelled; nothing was changed.";
            ctx.ui.print(&report::Unchanged::declined("remove", &entry.name, &entry.directory, cancelled));
            return Ok(0);
        }
    }
    let removal = Removal { entry: &entry, runner, force: args.force };
    let operation = format!("atk remove {id}");
    let done = remove::tear_down(&ctx.ui, &ctx.settings, &home, &mut manifest, &removal, &operation, None)?;
    report::hook_outcomes(&ctx.ui, &entry, &done.unplugged, "unplug");
    if let Some(e) = done.failed {
        return Err(e);
    }
    if let Some(c) = &done.commit {
        ctx.ui.detail(format!("committed {c}"));
    }
    ctx.ui.print(&Removed { removed: (&entry).into(), commit: done.commit });
    Ok(0)
}

/// `atk remove`: the plugin removed and the commit that recorded it. The agents unplugged on the
/// way are shown before it, with the warnings of those that failed (`report::hook_outcomes`).
#[derive(Serialize)]
pub struct Removed {
    pub removed: PluginDoc,
    pub commit: Option<String>,
}

impl Report for Removed {
    fn render(&self, ui: &Ui) {
        ui.success(format!("Removed '{}'", crate::text::escape(&self.removed.name)));
    }
}
