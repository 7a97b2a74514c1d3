use std::time::Duration;

use super::{report, Ctx, PluginOrAll};
use crate::error::Result;
use crate::lifecycle::batch::{self, Options};

/// Start a plugin, or every plugin in manifest order (those already running are left alone)
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
    let opts = Options { timeout: args.timeout };
    let items = batch::start(ctx.at(&home), &entries, &opts, &ctx.ui)?;
    let report = report::Lifecycle::new("start", items, args.target.all);
    ctx.ui.print(&report);
    report.exit()
}
