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
    let status = Command::new("git").args(&args.args).current_dir(&home.root).status().map_err(|e| Error::Git {
        message: format!("cannot run git: {e}"),
        hints: vec!["install git to use `atk git`".into()],
    })?;
    Ok(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}
