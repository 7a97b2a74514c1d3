use super::{report, Ctx, PluginOrAll};
use crate::error::Result;
use crate::lifecycle::batch;

/// Stop a plugin, or every plugin in reverse manifest order
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: PluginOrAll,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let mut entries = super::select(&manifest, args.target.plugin.as_deref())?;
    entries.reverse();
    let items = batch::stop(ctx.at(&home), &entries, &ctx.ui)?;
    let report = report::LifecycleReport::new("stop", items, args.target.all);
    Ok(report.print(&ctx.ui))
}
