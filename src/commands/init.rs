use std::path::PathBuf;

use super::Ctx;
use crate::error::Result;
use crate::home::{self, Home};

/// Create an ATK Home: a git repository with manifest.yaml, .gitignore and plugins/.
#[derive(clap::Args)]
pub struct Args {
    /// Where to create it [default: --home, else $ATK_HOME, else ~/.atk]
    pub dir: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let path = match &args.dir {
        Some(d) => home::expand_tilde(d, &ctx.settings.environment.user_home()),
        None => ctx.home_path(),
    };
    let created = Home::init(&path)?;
    if created {
        ctx.ui.success(format!("Initialized ATK Home at {}", path.display()));
        if args.dir.is_some() && path != ctx.home_path() {
            ctx.ui.line(ctx.ui.dim(&format!("  use it with --home {0} or ATK_HOME={0}", path.display())));
        }
    } else {
        ctx.ui.line(format!("{} is already an ATK Home; nothing to do", path.display()));
    }
    ctx.ui.json(&super::report::Init { home: path, created });
    Ok(0)
}
