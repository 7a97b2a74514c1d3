use super::{report, Ctx, Probed};
use crate::error::Result;
use crate::lifecycle::batch;

/// Start a plugin, or every plugin in manifest order (those already running are left alone)
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub probed: Probed,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let Probed { target, timeout } = args.probed;
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entries = super::select(&manifest, target.plugin.as_deref())?;
    let items = batch::start(ctx.at(&home), &entries, &batch::Options { timeout }, &ctx.ui)?;
    let report = report::LifecycleReport::new("start", items, target.all);
    Ok(report.print(&ctx.ui))
}
