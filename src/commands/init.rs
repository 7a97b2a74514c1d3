use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::home::{self, Home};
use crate::ui::{Report, Ui};

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
    let elsewhere = args.dir.is_some() && path != ctx.home_path();
    ctx.ui.print(&Init { home: path, created, elsewhere });
    Ok(0)
}

/// `atk init`: the home, and whether it was created (else it was one already).
#[derive(Serialize)]
pub struct Init {
    pub home: PathBuf,
    pub created: bool,
    /// Created somewhere else than the home atk uses: the text says how to use it.
    #[serde(skip)]
    pub elsewhere: bool,
}

impl Report for Init {
    fn render(&self, ui: &Ui) {
        if self.created {
            ui.success(format!("Initialized ATK Home at {}", self.home.display()));
            if self.elsewhere {
                ui.line(ui.dim(&format!("  use it with --home {0} or ATK_HOME={0}", self.home.display())));
            }
        } else {
            ui.line(format!("{} is already an ATK Home; nothing to do", self.home.display()));
        }
    }
}
