use clap::CommandFactory;

use super::Ctx;
use crate::error::Result;

/// Print a shell completion script.
#[derive(clap::Args)]
pub struct Args {
    pub shell: clap_complete::Shell,
}

pub fn run(_ctx: &Ctx, args: Args) -> Result<u8> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "atk", &mut std::io::stdout());
    Ok(0)
}
