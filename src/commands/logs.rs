use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::lifecycle::status::load_installed;
use crate::ui::{Report, Ui};

/// Show a plugin's logs (its logs command, streamed); its exit code is atk's
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// Arguments appended to the logs command (after `--`: `atk logs PLUGIN -- --tail 50`)
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `atk logs`: the logs command's exit code (`null` when the plugin has none).
#[derive(Serialize)]
pub struct Logs {
    pub name: String,
    pub directory: String,
    pub exit_code: Option<i32>,
}

impl Report for Logs {
    /// Nothing: the logs themselves were streamed while the command ran.
    fn render(&self, _: &Ui) {}
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entry = super::find(&manifest, &args.plugin)?;
    let (dir, plugin) = load_installed(&home.root, entry)?;
    let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
    let status = runner.run_streamed("logs", &args.args)?;
    let code = status.map(crate::process::exit_code);
    ctx.ui.print(&Logs { name: plugin.name.clone(), directory: entry.directory.clone(), exit_code: code });
    match code {
        None => {
            ctx.ui.warn(format!("'{}' has no logs command", crate::text::escape(&plugin.name)));
            Ok(0)
        }
        Some(code) => Ok(u8::try_from(code).unwrap_or(1)),
    }
}
