use std::process::Command;

use super::Ctx;
use crate::error::{Error, Result};

/// Run git inside the ATK Home (e.g. `atk git log`, `atk git remote add origin URL`).
#[derive(clap::Args)]
pub struct Args {
    /// Arguments passed to git as they are
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let mut command = Command::new("git");
    command.args(&args.args).current_dir(&home.root);
    // Streamed, with the terminal (git may prompt, page, open an editor); Ctrl-C and SIGTERM
    // reach it, and what it leaves running is not waited for.
    let status = crate::process::interactive(&mut command, None, "cannot run git").map_err(|e| match e {
        Error::Io { source, .. } => Error::Git {
            message: format!("cannot run git: {source}"),
            hints: vec!["install git to use `atk git`".into()],
        },
        e => e,
    })?;
    Ok(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}
