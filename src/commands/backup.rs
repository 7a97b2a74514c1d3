use std::path::PathBuf;

use serde::Serialize;

use super::report::{pin_or_local, Failed};
use super::Ctx;
use crate::data::backup::{self, Made, Options};
use crate::data::store::{Reason, Stored};
use crate::error::{Error, Result};
use crate::ui::{Report, Ui};

/// Back up a plugin's data (as its atk-data.yaml declares it) into the backup folder
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["plugin", "all", "list"])))]
pub struct Args {
    /// The plugin (directory or name); with --list, only its backups
    pub plugin: Option<String>,
    /// Every plugin of the manifest that declares data
    #[arg(long, conflicts_with_all = ["list", "plugin"])]
    pub all: bool,
    /// List the backups there are (when, size, the plugin's pin) instead of making one
    #[arg(long)]
    pub list: bool,
    /// Take files named like secrets (.env) too; the archive is then encrypted with a passphrase
    #[arg(long, conflicts_with = "list")]
    pub include_secrets: bool,
    /// Read the passphrase from FILE (else $ATK_BACKUP_PASSPHRASE, else asked on the terminal)
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    pub passphrase_file: Option<PathBuf>,
    /// How long each status probe may take, in seconds (to tell whether a plugin runs)
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = super::parse_seconds)]
    pub timeout: std::time::Duration,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    if args.list {
        let home = ctx.open_home()?;
        let manifest = home.manifest()?;
        let store = ctx.backup_store(&home, &manifest)?;
        // A plugin removed since keeps its backups: its directory name lists them.
        let directory = match &args.plugin {
            // A plugin no longer in the manifest may still have backups; a name that is no
            // plugin directory (`../x`) names no folder of the store.
            Some(id) => match super::find(&manifest, id) {
                Ok(e) => Some(e.directory.clone()),
                Err(_) if crate::plugin::name::is_valid_directory(id) => Some(id.clone()),
                Err(e) => return Err(e),
            },
            None => None,
        };
        let backups = store.list(directory.as_deref())?;
        ctx.ui.print(&Listing { dir: store.dir.clone(), keep: store.keep, backups });
        return Ok(0);
    }
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let store = ctx.backup_store(&home, &manifest)?;
    let entries = super::select(&manifest, args.plugin.as_deref())?;
    let passphrase =
        if args.include_secrets { Some(ctx.passphrase(args.passphrase_file.as_deref(), true)?) } else { None };
    let opts = Options {
        include_secrets: args.include_secrets,
        passphrase: passphrase.as_deref(),
        work_factor: crate::data::archive::DEFAULT_WORK_FACTOR,
        reason: Reason::Backup,
        probe_timeout: args.timeout,
        manage_stop: true,
        now: jiff::Timestamp::now(),
    };
    let mut report = Backups { all: args.all, dir: store.dir.clone(), made: vec![], skipped: vec![], failed: vec![] };
    for entry in entries {
        let loaded = match backup::load(&home.root, entry) {
            Ok(Some(l)) => l,
            Ok(None) if args.all => {
                report.skipped.push(entry.directory.clone());
                continue;
            }
            Ok(None) => return Err(backup::no_data(entry)),
            Err(e) if args.all && !matches!(e, Error::Interrupted) => {
                ctx.ui.failure(&entry.name, &e);
                report.failed.push(Failed::of(&entry.directory, &e));
                continue;
            }
            Err(e) => return Err(e),
        };
        ctx.ui.note(format!("Backing up '{}' ...", crate::text::escape(&entry.name)));
        match backup::backup(ctx.at(&home), &store, &loaded, &opts, &ctx.ui) {
            Ok(made) => report.made.push(made),
            Err(e) if args.all && !matches!(e, Error::Interrupted) => {
                ctx.ui.failure(&entry.name, &e);
                report.failed.push(Failed::of(&entry.directory, &e));
            }
            Err(e) => return Err(e),
        }
    }
    if report.made.is_empty() && report.failed.is_empty() {
        return Err(Error::nothing_to_do(
            "no plugin of this home declares data to back up",
            vec![format!("a plugin declares its data in {} beside plugin.yaml", crate::plugin::data::FILE)],
        ));
    }
    ctx.ui.print(&report);
    let restart_failed = report.made.iter().any(|m| m.restart_error.is_some());
    Ok(if !report.failed.is_empty() {
        crate::error::exit::GENERAL
    } else if restart_failed {
        crate::error::exit::LIFECYCLE
    } else {
        0
    })
}

/// `atk backup PLUGIN | --all`: the backups made.
#[derive(Serialize)]
pub struct Backups {
    pub all: bool,
    /// The backup folder.
    pub dir: PathBuf,
    pub made: Vec<Made>,
    /// Plugins that declare no data (with --all).
    pub skipped: Vec<String>,
    pub failed: Vec<Failed>,
}

impl Report for Backups {
    fn render(&self, ui: &Ui) {
        for m in &self.made {
            let s = &m.summary;
            let mut parts = vec![format!("{} entries", s.entries), crate::text::size(s.size)];
            if !m.volumes.is_empty() {
                parts.push(crate::error::plural(m.volumes.len(), "volume"));
            }
            if m.script {
                parts.push("its backup script's files".into());
            }
            if s.encrypted {
                parts.push("encrypted, with secrets".into());
            }
            ui.success(format!("Backed up '{}': {} ({})", crate::text::escape(&s.name), s.id, parts.join(", ")));
            ui.detail(format!("  {}", m.file.display()));
            for l in &m.left_out {
                let why = match &l.why {
                    crate::plugin::data::LeftOutWhy::Secret => "a secret (--include-secrets takes it)".to_string(),
                    crate::plugin::data::LeftOutWhy::LinkOut { target } => {
                        format!(
                            "a link out of the plugin folder, to {}",
                            crate::text::escape(&target.to_string_lossy())
                        )
                    }
                    crate::plugin::data::LeftOutWhy::Special => "a FIFO, a socket or a device".into(),
                };
                ui.line(ui.dim(&format!("  left out {}: {why}", crate::text::escape(l.path.as_str()))));
            }
            for p in &m.missing {
                ui.line(ui.dim(&format!("  {} is not there yet (nothing to take)", crate::text::escape(p))));
            }
            for v in &m.missing_volumes {
                ui.warn(format!(
                    "docker has no volume '{}' (not started yet?); nothing taken from it",
                    crate::text::escape(v)
                ));
            }
            if !m.pruned.is_empty() {
                ui.line(ui.dim(&format!("  older backups deleted (config.backup.keep): {}", m.pruned.join(", "))));
            }
            if let Some(e) = &m.restart_error {
                ui.warn(format!(
                    "'{}' was stopped for the backup and did not start again: {e}",
                    crate::text::escape(&s.name)
                ));
                ui.hint(format!("start it with `atk start {}`", s.directory));
            }
        }
        if self.all && !self.skipped.is_empty() {
            ui.line(ui.dim(&format!("No data declared (skipped): {}", self.skipped.join(", "))));
        }
        if !self.failed.is_empty() {
            ui.line(format!("{} failed.", crate::error::plural(self.failed.len(), "backup")));
        }
    }
}

/// `atk backup --list`.
#[derive(Serialize)]
pub struct Listing {
    pub dir: PathBuf,
    pub keep: usize,
    pub backups: Vec<Stored>,
}

impl Report for Listing {
    fn render(&self, ui: &Ui) {
        if self.backups.is_empty() {
            ui.line(format!("No backups in {}.", self.dir.display()));
            ui.line(ui.dim("Make one with `atk backup PLUGIN` (or --all)."));
            return;
        }
        let now = jiff::Timestamp::now();
        let rows: Vec<[String; 6]> = self
            .backups
            .iter()
            .map(|b| {
                let s = &b.summary;
                let when = s
                    .created
                    .parse::<jiff::Timestamp>()
                    .map(|t| crate::text::ago_or_just_now((now.as_second() - t.as_second()).max(0)))
                    .unwrap_or_else(|_| "?".into());
                let mut notes = Vec::new();
                if s.encrypted {
                    notes.push("encrypted");
                }
                if s.secrets {
                    notes.push("with secrets");
                }
                match s.reason {
                    Reason::BeforeRestore => notes.push("before a restore"),
                    Reason::Imported => notes.push("imported"),
                    Reason::Backup => {}
                }
                [
                    crate::text::escape(&s.directory).into_owned(),
                    s.id.clone(),
                    when,
                    crate::text::size(s.size),
                    pin_or_local(s.pin.as_deref()),
                    notes.join(", "),
                ]
            })
            .collect();
        let header = ["PLUGIN", "ID", "WHEN", "SIZE", "PIN", ""].map(str::to_string);
        let mut widths = [0usize; 6];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 6]| {
            row.iter()
                .zip(widths)
                .map(|(c, w)| crate::text::pad(c, w))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        ui.line(ui.bold(&line(&header)));
        for row in &rows {
            ui.line(line(row));
        }
        ui.line(ui.dim(&format!("In {} (the newest {} of each plugin are kept).", self.dir.display(), self.keep)));
    }
}
