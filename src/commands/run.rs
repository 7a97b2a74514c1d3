use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::lifecycle::{scripts, status::load_installed};
use crate::ui::{Report, Ui};

/// Run one of a plugin's scripts (custom/ first); without SCRIPT, list them
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// The script: custom/SCRIPT, custom/SCRIPT.sh, SCRIPT or SCRIPT.sh in the plugin folder
    pub script: Option<String>,
    /// Arguments for the script (all of them, `--help` included)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `atk run PLUGIN SCRIPT`: the file run and its exit code.
#[derive(Serialize)]
pub struct Run {
    pub name: String,
    pub directory: String,
    pub script: String,
    pub path: String,
    pub exit_code: i32,
}

impl Report for Run {
    /// Nothing: the script had the terminal (its output went where it was going).
    fn render(&self, _: &Ui) {}
}

/// `atk run PLUGIN`: the scripts it can run.
#[derive(Serialize)]
pub struct Scripts {
    pub name: String,
    pub directory: String,
    pub scripts: Vec<scripts::Script>,
}

impl Report for Scripts {
    fn render(&self, ui: &Ui) {
        let name = crate::text::escape(&self.name);
        if self.scripts.is_empty() {
            ui.line(format!("'{name}' has no scripts to run (executable files in its folder or custom/)"));
            return;
        }
        ui.line(format!("Scripts of '{name}' (atk run {} SCRIPT [ARGS...]):", self.directory));
        let width = self.scripts.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
        for s in &self.scripts {
            let mut from = if s.origin == "custom" { format!("{} (yours)", s.path) } else { s.path.clone() };
            if !s.overrides.is_empty() {
                from.push_str(&format!(", instead of the plugin's {}", s.overrides.join(", ")));
            }
            let padded = crate::text::pad(&crate::text::escape(&s.name), width);
            ui.line(format!("  {}  {}", ui.bold(&padded), ui.dim(&crate::text::escape(&from))));
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entry = super::find(&manifest, &args.plugin)?;
    let (dir, plugin) = load_installed(&home.root, entry)?;
    let Some(script) = args.script else {
        let scripts = scripts::list(&dir)?;
        ctx.ui.print(&Scripts { name: plugin.name.clone(), directory: entry.directory.clone(), scripts });
        return Ok(0);
    };
    let (path, rel) = scripts::resolve(&dir, &script)?;
    let runner = ctx.runner(&home, &dir, &entry.directory, &plugin);
    let code = crate::process::exit_code(runner.run_script(&path, &args.args, &[])?);
    ctx.ui.print(&Run {
        name: plugin.name.clone(),
        directory: entry.directory.clone(),
        script,
        path: rel,
        exit_code: code,
    });
    Ok(u8::try_from(code).unwrap_or(1))
}
