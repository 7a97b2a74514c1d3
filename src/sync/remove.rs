//! Dropping a plugin from the home: its `stop` and `uninstall` commands (once the user agreed),
//! the agents recorded for it unplugged, then its folder, its `.gitignore` exemption and its
//! manifest entry removed in one transaction and one commit. `remove` and undo's remove share it.

use crate::agents::AgentOutcome;
use crate::error::Result;
use crate::home::Message;
use crate::home::{gitignore, manifest, plugin_rel, Entry, Home, Locked, Manifest, Transaction};
use crate::lifecycle::Runner;
use crate::reporter::Reporter;
use crate::settings::Settings;

/// The definition of the plugin a removal tears down, whose `stop` and `uninstall` it runs: `None`
/// when its folder has none here (nothing to run). A broken one is refused, naming `again` (the
/// command with `--force`); with `force` the plugin is removed without running them, as a warning
/// says.
pub fn definition(
    reporter: &dyn Reporter,
    home: &Home,
    entry: &Entry,
    force: bool,
    again: &str,
) -> Result<Option<crate::plugin::Plugin>> {
    let dir = home.plugin_dir(&entry.directory);
    if crate::plugin::definition_file(&dir).is_none() {
        reporter.detail(&format!("{} has no plugin files here; nothing to stop or uninstall", dir.display()));
        return Ok(None);
    }
    match crate::plugin::load(&dir) {
        Ok(plugin) => Ok(Some(plugin)),
        Err(e) if force => {
            reporter.warn(&format!("{e}; removing without running its lifecycle commands"));
            Ok(None)
        }
        Err(e) => {
            let mut details = vec![e.to_string()];
            details.extend(e.details().iter().cloned());
            Err(crate::Error::plugin_refused_with(
                format!(
                    "cannot run the stop and uninstall commands of '{}': its plugin.yaml is broken",
                    crate::text::escape(&entry.name)
                ),
                details,
                vec![format!("`{again}` removes it without running them")],
            ))
        }
    }
}

/// What a removal tears down: the entry, and the runner of its commands when its definition
/// could be read (`--force` removes a plugin whose `plugin.yaml` is broken without running them).
pub struct Removal<'a> {
    pub entry: &'a Entry,
    pub runner: Option<Runner<'a>>,
    /// A failing uninstall is a warning, and the removal goes on.
    pub force: bool,
}

/// What a removal did: the agents it was unplugged from, and the commit.
pub struct TornDown {
    pub unplugged: Vec<AgentOutcome>,
    pub commit: Option<String>,
    /// Why the removal failed after the agents were unplugged (the home is as it was): the caller
    /// shows what happened to the agents, then reports it as the run's error.
    pub failed: Option<crate::Error>,
}

/// Tears `removal` down and removes it, once the user agreed (see `Runner::confirm_uninstall`):
/// its `stop` and `uninstall`, the agents recorded for it unplugged (a failure there is an
/// outcome), and [`remove_as`] with `operation` and `message`.
pub fn tear_down(
    reporter: &dyn Reporter,
    settings: &Settings,
    home: &Locked,
    manifest: &mut Manifest,
    removal: &Removal,
    operation: &str,
    message: Option<&Message>,
) -> Result<TornDown> {
    if let Some(runner) = &removal.runner {
        runner.tear_down(reporter, removal.force)?;
    }
    let unplugged = super::plug::unplug_recorded(reporter, settings, home, removal.entry)?;
    Ok(match remove_as(home, manifest, &removal.entry.directory, operation, message) {
        Ok(commit) => TornDown { unplugged, commit, failed: None },
        Err(e) => TornDown { unplugged, commit: None, failed: Some(e) },
    })
}

/// Removes the entry `directory` and its folder, committed with `message` (undo's), else `Remove
/// plugin '<name>'`; returns the commit made (none when `auto_commit` is off). On failure the home
/// is as it was and `manifest` unchanged.
pub fn remove_as(
    home: &Locked,
    manifest: &mut Manifest,
    directory: &str,
    operation: &str,
    message: Option<&Message>,
) -> Result<Option<String>> {
    let index = manifest.index_of(directory).expect("the caller found the entry");
    let entry = manifest.plugins[index].clone();
    let rel_dir = plugin_rel(&entry.directory)?;
    let mut updated = manifest.clone();
    let commit = Transaction::run(home, operation, |tx| {
        if home.files.exists(&rel_dir) {
            tx.move_aside(&rel_dir)?;
        }
        let text = home.gitignore_text()?;
        let new = gitignore::remove_exemption(&text, &entry.directory);
        if new != text {
            home.write_gitignore(tx, &new)?;
        }
        updated.plugins.remove(index);
        home.write_manifest(tx, &updated)?;
        let paths = [manifest::FILE.to_string(), gitignore::FILE.to_string(), rel_dir.as_str().to_string()];
        let from = entry.source.commit.as_deref();
        let removed =
            Message::operation(format!("Remove plugin '{}'", entry.name), "remove", &entry.directory, from, None);
        home.commit(tx, &updated, &paths, message.unwrap_or(&removed))
    })?;
    *manifest = updated;
    Ok(commit)
}
