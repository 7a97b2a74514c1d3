use serde::Serialize;

use super::{find, report, Ctx};
use crate::error::Result;
use crate::plugin;
use crate::ui::{Report, Ui};

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
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let entry = find(&manifest, &args.plugin)?;
    let dir = home.plugin_dir(&entry.directory);
    let plugin = plugin::load(&dir)?;
    let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
    if runner.command("uninstall").is_none() {
        ctx.ui.print(&Uninstall {
            name: entry.name.clone(),
            directory: entry.directory.clone(),
            uninstalled: false,
            title: plugin.name,
        });
        return Ok(0);
    }
    if !runner.confirm_uninstall(&ctx.ui, &format!("uninstall {}", entry.directory), args.force)? {
        let cancelled = "Cancelled; nothing was run.";
        ctx.ui.print(&report::Unchanged::declined("uninstall", &entry.name, &entry.directory, cancelled));
        return Ok(0);
    }
    let unplugged = crate::sync::plug::unplug_recorded(&ctx.ui, &ctx.settings, &home, entry)?;
    report::hook_outcomes(&ctx.ui, entry, &unplugged, "unplug");
    runner.tear_down(&ctx.ui, false)?;
    ctx.ui.print(&Uninstall {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        uninstalled: true,
        title: plugin.name.clone(),
    });
    Ok(0)
}

/// `atk uninstall`: whether the plugin's uninstall command ran (false: it has none). The agents
/// unplugged first are shown before its commands run (`report::hook_outcomes`).
#[derive(Serialize)]
pub struct Uninstall {
    pub name: String,
    pub directory: String,
    pub uninstalled: bool,
    /// The name its plugin.yaml gives it.
    #[serde(skip)]
    pub title: String,
}

impl Report for Uninstall {
    fn render(&self, ui: &Ui) {
        if self.uninstalled {
            ui.success(format!(
                "Uninstalled '{}' (still in the manifest; `atk install {}` sets it up again)",
                crate::text::escape(&self.title),
                self.directory
            ));
        } else {
            ui.line(format!("'{}' has no uninstall command; nothing to do", crate::text::escape(&self.title)));
        }
    }
}
