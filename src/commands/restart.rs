use super::{report, Ctx, Probed};
use crate::error::Result;
use crate::lifecycle::batch;

/// Stop, then start a plugin; with --all, stop every plugin (reverse order), then start them all
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
    let items = batch::restart(ctx.at(&home), &entries, &batch::Options { timeout }, &ctx.ui)?;
    let report = report::LifecycleReport::new("restart", items, target.all);
    Ok(report.print(&ctx.ui))
}
