use std::path::PathBuf;

use super::Ctx;
use crate::error::{Error, IoContext, Result};

/// Write the man pages of atk and of every command (`atk.1`, `atk-<command>.1`) into DIR; for
/// packagers and the release script, hidden from help.
#[derive(clap::Args)]
pub struct Args {
    /// The folder the pages are written to (created if missing)
    pub dir: PathBuf,
}

/// `cmd` is atk's whole command line (the clap tree), given by the caller: every command that is
/// not hidden gets a page, commands of commands too (`atk-registry-index.1`).
pub fn run(ctx: &Ctx, args: Args, cmd: clap::Command) -> Result<u8> {
    std::fs::create_dir_all(&args.dir).ctx(|| format!("cannot create {}", args.dir.display()))?;
    // As `clap_mangen::generate_to`, with atk and its version as every page's source.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut written = 0;
    write_pages(&cmd, &args.dir, &mut written)
        .map_err(|e| Error::io(format!("cannot write the man pages to {}", args.dir.display()), e))?;
    ctx.ui.success(format!("Wrote {} to {}", crate::error::plural(written, "man page"), args.dir.display()));
    Ok(0)
}

/// The page of `cmd` and of each command under it that is not hidden.
fn write_pages(cmd: &clap::Command, dir: &std::path::Path, written: &mut usize) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let source = format!("atk {}", env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone()).source(source).manual("atk manual");
    let mut page = Vec::new();
    man.render(&mut page)?;
    // Written beside and renamed over: a link already at the page's name is replaced, never
    // written through.
    crate::fs::write_atomic(&dir.join(man.get_filename()), &page, Some(0o644)).map_err(std::io::Error::other)?;
    *written += 1;
    Ok(())
}
