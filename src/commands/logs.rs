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

/// The exit code of a child for ours: its own, or 128 + the signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entry = super::find(&manifest, &args.plugin)?;
    let (dir, plugin) = load_installed(&home.root, entry)?;
    let runner = crate::lifecycle::Runner::new(&home.root, &dir, &entry.directory, &plugin, &ctx.ui);
    let status = runner.run_streamed("logs", &args.args)?;
    let code = status.map(exit_code);
    ctx.ui.json(&report::Logs { name: plugin.name.clone(), directory: entry.directory.clone(), exit_code: code });
    match code {
        None => {
            ctx.ui.warn(format!("'{}' has no logs command", crate::text::escape(&plugin.name)));
            Ok(0)
        }
        Some(code) => Ok(u8::try_from(code).unwrap_or(1)),
    }
}
