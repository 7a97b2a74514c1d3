use super::{report, Ctx};
use crate::error::Result;
use crate::lifecycle::status::load_installed;

/// Show a plugin's logs (its logs command, streamed); its exit code is atk's
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// Arguments appended to the logs command (after `--`: `atk logs PLUGIN -- --tail 50`)
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entry = super::find(&manifest, &args.plugin)?;
    let (dir, plugin) = load_installed(&home.root, entry)?;
    let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
    let status = runner.run_streamed("logs", &args.args)?;
    let code = status.map(crate::process::exit_code);
    ctx.ui.json(&report::Logs { name: plugin.name.clone(), directory: entry.directory.clone(), exit_code: code });
    match code {
        None => {
            ctx.ui.warn(format!("'{}' has no logs command", crate::text::escape(&plugin.name)));
            Ok(0)
        }
        Some(code) => Ok(u8::try_from(code).unwrap_or(1)),
    }
}
