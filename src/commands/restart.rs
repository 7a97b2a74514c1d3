use std::time::Duration;

use super::{report, Ctx, PluginOrAll};
use crate::error::Result;
use crate::lifecycle::batch;

/// Stop, then start a plugin; with --all, stop every plugin (reverse order), then start them all
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// The longest a plugin's status command may take when checking whether it runs already
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = super::parse_seconds)]
    pub timeout: Duration,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entries = super::select(&manifest, args.target.plugin.as_deref())?;
    let opts = batch::Options { timeout: args.timeout };
    let items = batch::restart(ctx.at(&home), &entries, &opts, &ctx.ui)?;
    let report = report::Lifecycle::new("restart", items, args.target.all);
    ctx.ui.print(&report);
    report.exit()
}
