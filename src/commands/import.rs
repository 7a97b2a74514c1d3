use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::sync::export::{import_into, import_new, Import, Imported};
use crate::ui::{Report, Ui};

/// Make a home from a file `atk export` wrote (or, with --into, add its plugins to this home), and
/// fill the cache so that `atk install --all --offline` needs no network
#[derive(clap::Args)]
pub struct Args {
    /// The file `atk export` wrote
    pub file: PathBuf,
    /// Add the plugins the home (--home, else $ATK_HOME, else ~/.atk) lacks, one commit each,
    /// instead of making a new home; the plugins it has are left as they are
    #[arg(long)]
    pub into: bool,
    /// Take the backups the file carries (`export --with-data`) into the backup folder, for
    /// `atk restore` once the plugins are installed
    #[arg(long)]
    pub with_data: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let user_home = ctx.settings.environment.user_home();
    let file = crate::home::expand_tilde(&args.file, &user_home);
    let file = std::path::absolute(&file).unwrap_or(file);
    if !file.is_file() {
        let what = if file.exists() { "is not a file" } else { "does not exist" };
        return Err(crate::Error::usage(
            format!("{} {what}", file.display()),
            Some("name the file `atk export --all -o FILE` wrote".into()),
        ));
    }
    let cache = ctx.settings.cache();
    let target = std::path::absolute(ctx.home_path()).unwrap_or_else(|_| ctx.home_path());
    let with_data = args.with_data.then_some(&ctx.settings.environment);
    let import = Import { file: &file, cache: &cache, with_data };
    let (mut imported, configured) = if args.into {
        let home = ctx.lock_home()?;
        let imported = import_into(&ctx.ui, &home, &import)?;
        let configured = home.manifest()?.config.registry;
        (imported, configured)
    } else {
        let imported = import_new(&ctx.ui, &import, &target)?;
        let configured = crate::home::Home::open(target)?.manifest()?.config.registry;
        (imported, configured)
    };
    // The registry plugins are cached under the URL they came from: install must use it.
    let registry = imported
        .registry
        .clone()
        .filter(|r| *r != crate::source::registry::url(ctx.settings.registry.as_deref(), configured.as_deref()));
    let mut next = ctx.retry("install --all --offline", &[], &[]);
    if let (Some(r), None) = (&registry, &ctx.settings.registry) {
        next = next.replacen("atk", &format!("atk --registry {}", crate::lifecycle::shell_quote(r)), 1);
    }
    // The data of a plugin the home had (`--into`) is left as it is, like the plugin: its backup
    // is in the backup folder, and restoring it is the user's call (`restore --all` would).
    let data = std::mem::take(&mut imported.data);
    let had = |directory: &str| imported.kept.iter().any(|p| p.directory == directory);
    let carried: Vec<&str> = data.iter().filter(|d| d.id.is_some()).map(|d| d.directory.as_str()).collect();
    if !carried.is_empty() && !carried.iter().any(|d| had(d)) {
        next.push_str(", then atk restore --all --yes");
    } else {
        for d in carried.iter().filter(|d| !had(d)) {
            next.push_str(&format!(", then atk restore {d} --yes"));
        }
    }
    ctx.ui.print(&ImportReport { imported, next, registry, data });
    Ok(0)
}

/// `atk import --json`: the home, the plugins added and kept, the sources cached, and the command
/// that installs the plugins.
#[derive(Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub imported: Imported,
    /// What to run next.
    pub next: String,
    /// The registry the registry plugins came from, when it is not the one atk would use.
    #[serde(skip)]
    pub registry: Option<String>,
    /// With --with-data: the backups taken into the backup folder.
    pub data: Vec<crate::data::store::Carried>,
}

impl Report for ImportReport {
    fn render(&self, ui: &Ui) {
        let i = &self.imported;
        if i.created {
            ui.success(format!(
                "Imported {} into a new home at {} ({})",
                i.file.display(),
                i.home.display(),
                crate::error::plural(i.added.len(), "plugin")
            ));
        } else {
            ui.success(format!(
                "Imported {} into {}: {} added",
                i.file.display(),
                i.home.display(),
                crate::error::plural(i.added.len(), "plugin")
            ));
        }
        for p in &i.added {
            let at = p.pin.as_deref().map(|c| format!(" @ {}", super::report::short_pin(c))).unwrap_or_default();
            ui.line(format!("  + {} ({}){at}", crate::text::escape(&p.name), p.kind.as_str()));
        }
        for p in &i.kept {
            ui.line(ui.dim(&format!("  = {} (already in the home; left as it is)", crate::text::escape(&p.name))));
        }
        for url in &i.in_place {
            ui.line(ui.dim(&format!("  {} is on this machine: read in place", crate::text::escape(url))));
        }
        if let Some(r) = &self.registry {
            ui.note(format!("the registry plugins come from {}: install them with --registry", crate::text::escape(r)));
        }
        if i.created {
            ui.line(ui.dim("  the home has no git remote: `atk git remote add origin URL` sets one"));
        }
        for d in &self.data {
            let Some(id) = &d.id else { continue };
            if i.kept.iter().any(|p| p.directory == d.directory) {
                ui.line(ui.dim(&format!(
                    "  backup {id} of {} is in the backup folder; the home had the plugin, so its data is left as it is (`atk restore {} --from {id}` puts the backup in place)",
                    d.directory, d.directory
                )));
            } else {
                ui.line(ui.dim(&format!("  backup {id} of {} is in the backup folder", d.directory)));
            }
        }
        ui.line(format!("next: {}", self.next));
    }
}
