use super::Ctx;
use crate::error::Result;

/// Print a shell completion script.
#[derive(clap::Args)]
pub struct Args {
    pub shell: clap_complete::Shell,
}

/// `cmd` is atk's whole command line (the clap tree), given by the caller.
pub fn run(_ctx: &Ctx, args: Args, mut cmd: clap::Command) -> Result<u8> {
    // Written whole, so that a reader that goes away (`| head`) is no panic.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "atk", &mut script);
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
    Ok(0)
}
