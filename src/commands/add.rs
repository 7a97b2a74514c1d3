use std::path::PathBuf;

use serde::Serialize;

use super::report::PluginDoc;
use super::{parse_sets, Ctx};
use crate::error::{Error, Result};
use crate::source::stage;
use crate::sync::add::{add_as, AddedEntry, As};
use crate::sync::env;
use crate::sync::lock::{self, Locker};
use crate::ui::{Report, Ui};

/// Add a plugin: a registry name, a git URL, or a local folder or plugin.yaml file.
#[derive(clap::Args)]
pub struct Args {
    /// `name` (registry), `https://…`/`git@host:org/repo` (git), or `./folder` (local)
    pub source: String,
    /// Set an environment variable without asking (repeatable); KEY alone takes $KEY
    /// from the environment, keeping a secret off the command line
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
    /// Read the registry index now, not from the cache (it is kept for an hour)
    #[arg(long)]
    pub refresh: bool,
    /// The same as --yes (atk-cli's spelling for this command)
    #[arg(long)]
    pub force: bool,
    /// Lock a package the plugin runs to this version, whatever its age (repeatable):
    /// `@scope/pkg@2.1.0`, `pkg==1.4`
    #[arg(long = "pin", value_name = "PKG@VERSION")]
    pub pin: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let input = args.source.trim();
    if input.is_empty() {
        return Err(Error::usage("the source is empty", Some("for example: `atk add ./my-tool`".into())));
    }
    let sets = parse_sets(ctx, &args.set)?;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let cwd = std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let origins = ctx.settings.origins(&manifest);
    let staged = stage::stage(&ctx.ui, &home, &manifest, &origins, input, ctx.relative(&cwd), args.refresh)?;

    if !stage::confirm_maturity(&ctx.ui, &staged.plugin, staged.source.kind)? {
        let (name, directory) = (&staged.plugin.name, &staged.directory);
        ctx.ui.print(&super::report::Unchanged::declined("add", name, directory, "Cancelled; nothing was changed."));
        return Ok(0);
    }
    let target = home.plugin_dir(&staged.directory);
    let files_now = staged.staged.as_ref().map(|s| s.path().to_path_buf()).unwrap_or_else(|| target.clone());
    ctx.ui.detail(format!("'{}' staged in {}", crate::text::escape(&staged.plugin.name), files_now.display()));
    // What the plugin runs from registries, locked before anything is asked or written.
    let locker = Locker::new(&ctx.settings, &manifest, &args.pin)?;
    let found = crate::artifact::of_plugin(&staged.plugin, |f| crate::plugin::text_of(&files_now, f));
    locker.check_pins([&found])?;
    let lock = lock::lock_one(&ctx.ui, &locker, &found, &[], lock::Keep::Nothing)?;
    super::report::lock_plan(&ctx.ui, &staged.plugin.name, &lock, locker.policy.now, false);
    let env = env::plan(&ctx.ui, &staged.plugin, &files_now.join(".env"), &sets, None, &ctx.settings.environment)?;
    let how = As { operation: &format!("atk add {input}"), restore: None, lock: &lock.pins };
    let AddedEntry { entry, commit } =
        add_as(&ctx.ui, &home, &mut manifest, &staged, &env, &ctx.settings.environment, how)
            // Nothing was added: `atk setup` has no plugin to set; the add itself takes the values.
            .map_err(|e| {
                let pins: Vec<String> = args.pin.iter().map(|p| format!("--pin={p}")).collect();
                let pins: Vec<&str> = pins.iter().map(String::as_str).collect();
                e.retry_with(ctx.retry(&format!("add {}", crate::lifecycle::shell_quote(input)), &pins, &sets))
            })?;

    if let Some(c) = &commit {
        ctx.ui.detail(format!("committed {c}"));
    }
    ctx.ui.print(&Added { added: (&entry).into(), path: target, commit, env_missing: env.missing });
    Ok(0)
}

/// `atk add`: the plugin added, its folder, the commit that recorded it, and the variables it
/// still needs.
#[derive(Serialize)]
pub struct Added {
    pub added: PluginDoc,
    pub path: PathBuf,
    pub commit: Option<String>,
    pub env_missing: Vec<String>,
}

impl Report for Added {
    fn render(&self, ui: &Ui) {
        let pin = self
            .added
            .source
            .commit
            .as_deref()
            .map(|c| format!(" at {}", super::report::short_pin(c)))
            .unwrap_or_default();
        ui.success(format!("Added '{}' to {}{pin}", crate::text::escape(&self.added.name), self.path.display()));
    }
}
