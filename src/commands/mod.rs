//! One file per command: its arguments, and a `run` that calls the domain and renders the result.
//! The only layer that talks to a person.

pub mod add;
pub mod completions;
pub mod diff;
pub mod doctor;
pub mod git;
pub mod help;
pub mod history;
pub mod init;
pub mod install;
pub mod list;
pub mod logs;
pub mod mcp;
pub mod new;
pub mod plug;
pub mod registry;
pub mod remove;
pub mod report;
pub mod restart;
pub mod rollback;
pub mod run;
pub mod search;
pub mod setup;
pub mod start;
pub mod status;
pub mod stop;
pub mod undo;
pub mod uninstall;
pub mod unplug;
pub mod upgrade;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::home::{self, Entry, Home, HomeLock, Manifest};
use crate::lifecycle::Runner;
use crate::plugin::Plugin;
use crate::ui::Ui;

/// What every command gets: the printer and the global flags.
pub struct Ctx {
    pub ui: Ui,
    /// Flags and environment, resolved once.
    pub settings: crate::settings::Settings,
    /// The home to push once the command is done (see [`Ctx::push_if_configured`]).
    pub pending_push: std::cell::RefCell<Option<PathBuf>>,
}

impl Ctx {
    pub fn home_path(&self) -> PathBuf {
        self.settings.home.clone()
    }

    /// Opens the home for reading, rolling back what a killed atk left unfinished.
    pub fn open_home(&self) -> Result<Home> {
        let home = Home::open(self.home_path())?;
        if let Some(op) = home.recover_if_abandoned()? {
            self.report_recovery(&op);
        }
        Ok(home)
    }

    /// Opens the home and takes its lock, for a command that changes it.
    pub fn lock_home(&self) -> Result<(Home, HomeLock)> {
        let home = Home::open(self.home_path())?;
        let ui = &self.ui;
        let (lock, recovered) = home.lock(self.settings.waits.lock, &mut || {
            ui.note(format!("waiting for another atk to finish changing {} ...", home.root.display()))
        })?;
        if let Some(op) = recovered {
            self.report_recovery(&op);
        }
        Ok((home, lock))
    }

    fn report_recovery(&self, recovered: &home::Recovered) {
        self.ui.warn(format!(
            "an earlier `{}` was interrupted; the home has been rolled back to how it was before it",
            crate::text::escape(&recovered.operation)
        ));
        for step in &recovered.skipped {
            self.ui.warn(format!(
                "the journal asked to {step}: outside the home, through a link, or not a commit of it; that step was skipped"
            ));
        }
    }

    /// After a committed change: `git push` is due when `auto_push` is on. It runs once, when the
    /// command is done and has let go of the home lock ([`Ctx::push_pending`]), so that a remote
    /// that does not answer never keeps another atk waiting for the lock.
    pub fn push_if_configured(&self, home: &Home, manifest: &Manifest, committed: bool) {
        if committed && manifest.config.auto_commit && manifest.config.auto_push {
            *self.pending_push.borrow_mut() = Some(home.root.clone());
        }
    }

    /// The push a command's commits asked for (best effort: a failure is a warning with a hint,
    /// and the exit code stays the command's). Called after the command returned, which released
    /// the home lock; bounded by the network stall timeout (`ATK_NET_TIMEOUT`) and by Ctrl-C.
    pub fn push_pending(&self) {
        let Some(root) = self.pending_push.borrow_mut().take() else { return };
        let stall = self.settings.waits.net;
        let hint = "the change is committed in the home; push it with `atk git push`";
        use home::repo::PushFailure;
        let why = match home::repo::push(&root, stall) {
            Ok(()) => return,
            Err(PushFailure::Cannot(why) | PushFailure::Refused(why)) => why,
            Err(PushFailure::Stalled { remote, seconds }) => format!(
                "git push to '{}' got no answer for {seconds}s and was stopped (ATK_NET_TIMEOUT sets the bound)",
                crate::text::escape(&remote)
            ),
            Err(PushFailure::TimedOut { remote, seconds }) => format!(
                "git push to '{}' did not finish within {seconds}s and was stopped (ATK_NET_TIMEOUT sets the bound)",
                crate::text::escape(&remote)
            ),
            Err(PushFailure::Interrupted) => "git push was interrupted".into(),
        };
        self.ui.warn(format!("auto-push: {why}"));
        self.ui.hint(hint);
    }
}

/// `PLUGIN` or `--all`, for the commands that take either.
#[derive(clap::Args)]
pub struct PluginOrAll {
    /// The plugin (directory or name)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub plugin: Option<String>,
    /// Every plugin of the manifest, in its order
    #[arg(long)]
    pub all: bool,
}

/// The manifest entry named `id` (directory, else display name), or a not-found error with hints.
pub fn find<'m>(manifest: &'m Manifest, id: &str) -> Result<&'m Entry> {
    index_of(manifest, id).map(|i| &manifest.plugins[i])
}

/// The position of the plugin `id` in the manifest, or a not-found error with hints.
pub fn index_of(manifest: &Manifest, id: &str) -> Result<usize> {
    manifest.index_of(id).ok_or_else(|| crate::Error::PluginNotFound {
        id: id.to_string(),
        near: manifest.near(id),
        stray_dir: false,
    })
}

/// The one plugin named, or every plugin of the manifest (in its order).
pub fn select<'m>(manifest: &'m Manifest, id: Option<&str>) -> Result<Vec<&'m Entry>> {
    match id {
        Some(id) => Ok(vec![find(manifest, id)?]),
        None => Ok(manifest.plugins.iter().collect()),
    }
}

/// A lifecycle runner for a plugin of the home.
pub fn runner<'a>(ctx: &Ctx, home: &'a Home, dir: &'a Path, directory: &'a str, plugin: &'a Plugin) -> Runner<'a> {
    Runner::new(&home.root, dir, directory, plugin, &ctx.ui)
}

/// The values of this process's variables that are named like secrets (`GITHUB_TOKEN`, …): text
/// that may repeat one (a program that inherited them, a value the user pasted one into) is
/// scrubbed of them. Read here, at the edge, and passed down.
pub fn environment_secrets() -> Vec<String> {
    std::env::vars_os()
        .filter(|(k, _)| k.to_str().is_some_and(crate::plugin::secret::looks_secret))
        .filter_map(|(_, v)| v.into_string().ok())
        .collect()
}

/// What takes a plugin's secrets out of text about it that atk repeats (a diff of its files, a
/// program's words): its `.env`'s secrets (`crate::plugin::secrets`: declared, named like one,
/// taking one in by `${NAME}`, or not declared at all; every value when the plugin cannot be
/// loaded), and the environment's.
/// `environment` is [`environment_secrets`], read once by the caller.
pub fn plugin_scrubber(home: &Home, entry: &Entry, environment: &[String]) -> crate::plugin::secret::Scrubber {
    let dir = home.plugin_dir(&entry.directory);
    let plugin = crate::plugin::load(&dir).ok();
    let file = crate::plugin::env::EnvFile::read(&dir.join(".env"), &|k| std::env::var(k).ok());
    let secrets = file.map(|f| crate::plugin::secrets(plugin.as_ref(), &f)).unwrap_or_default();
    secrets.scrubber(environment)
}

/// The pairs of `--set`: `KEY=VALUE`, or `KEY` alone to take the value from the environment
/// variable `KEY` (so that a secret need not be on the command line, where `ps` shows it). No
/// error ever shows a value.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| {
            let (key, value) = match s.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (s.as_str(), None),
            };
            if !crate::plugin::schema::is_env_name(key) {
                let shown = if value.is_some() { format!("{}=…", crate::text::escape(key)) } else { "…".into() };
                return Err(crate::Error::usage(
                    format!("--set '{shown}' is not KEY=VALUE or KEY with an upper-case KEY"),
                    Some(
                        "for example: --set API_KEY=abc123, or API_KEY=abc123 in the environment and --set API_KEY"
                            .into(),
                    ),
                ));
            }
            match value {
                Some(v) => Ok((key.to_string(), v)),
                None => match std::env::var(key) {
                    Ok(v) => Ok((key.to_string(), v)),
                    Err(_) => Err(crate::Error::usage(
                        format!("--set {key}: the environment variable {key} is not set"),
                        Some(format!("export {key} first, or give the value: --set {key}=VALUE")),
                    )),
                },
            }
        })
        .collect()
}
