use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::plugin::name::{is_valid_directory, DIRECTORY_RULE};
use crate::plugin::scaffold::{self, Template};
use crate::ui::{Report, Ui};

/// Scaffold a plugin folder that passes validation: plugin.yaml, working lifecycle scripts,
/// README.md and SKILL.md to fill in.
#[derive(clap::Args)]
pub struct Args {
    /// The plugin's name (also its folder and registry name)
    pub name: String,
    /// Where to create NAME/ [default: ./plugins in a registry checkout, else .]
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// What runs the plugin's service
    #[arg(long = "type", value_enum, default_value_t = TemplateArg::Script)]
    pub kind: TemplateArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TemplateArg {
    Script,
    DockerCompose,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let name = args.name.trim();
    if !is_valid_directory(name) {
        return Err(Error::usage(format!("'{name}' cannot be a plugin name"), Some(format!("use {DIRECTORY_RULE}"))));
    }
    let parent = args.dir.unwrap_or_else(|| {
        if Path::new("plugins").is_dir() {
            PathBuf::from("plugins")
        } else {
            PathBuf::from(".")
        }
    });
    let dir = parent.join(name);
    if dir.exists() {
        return Err(Error::conflict(
            format!("{} already exists", dir.display()),
            vec!["choose another name or --dir".into()],
        ));
    }
    let template = match args.kind {
        TemplateArg::Script => Template::Script,
        TemplateArg::DockerCompose => Template::DockerCompose,
    };
    let files = scaffold::create(&dir, name, template)?;
    ctx.ui.print(&New { path: dir, files });
    Ok(0)
}

/// `atk new`: the plugin folder created and its files.
#[derive(Serialize)]
pub struct New {
    pub path: PathBuf,
    pub files: Vec<String>,
}

impl Report for New {
    fn render(&self, ui: &Ui) {
        ui.success(format!("Created {}", self.path.display()));
        ui.line(ui.dim(
            "Next: fill in README.md and SKILL.md (its description too), adjust plugin.yaml and atk-data.yaml, then `atk validate` it.",
        ));
    }
}
