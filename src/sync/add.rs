//! Adding a staged plugin to the home: one transaction that moves its files into
//! `plugins/<directory>`, keeps `.gitignore` in order, writes its `.env`, runs its `install` and
//! commits the new manifest entry.

use super::env::EnvPlan;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::home::Message;
use crate::home::{gitignore, manifest, plugin_rel, Entry, Locked, Manifest, SourceKind, Staging, Transaction};
use crate::lifecycle::Runner;
use crate::reporter::Reporter;
use crate::source::stage::Staged;

/// What adding did: the new entry and the commit made (none when `auto_commit` is off).
pub struct AddedEntry {
    pub entry: Entry,
    pub commit: Option<String>,
}

/// Adds `staged` with the `.env` of `env`. `operation` names the run in the journal. On any
/// failure (or Ctrl-C) the home is left as it was and `manifest` unchanged.
pub fn add(
    reporter: &dyn Reporter,
    home: &Locked,
    manifest: &mut Manifest,
    staged: &Staged,
    env: &EnvPlan,
    outer: &Environment,
    operation: &str,
) -> Result<AddedEntry> {
    add_as(reporter, home, manifest, staged, env, outer, As { operation, restore: None, lock: &[] })
}

/// How an add is recorded: the journal's name for the run, undo's re-add, and the plugin's lock.
pub struct As<'a> {
    pub operation: &'a str,
    pub restore: Option<Restore<'a>>,
    pub lock: &'a [crate::artifact::Pin],
}

/// How undo adds back a plugin an operation removed: its commit message, and the entry's place
/// in the manifest.
pub struct Restore<'a> {
    pub message: &'a Message,
    pub index: usize,
    /// The entry as the manifest had it before the remove: what it recorded beside the source
    /// (the agents it was plugged into, keys of other tools) comes back with it.
    pub was: &'a Entry,
}

/// [`add`], or with `restore` undo's re-add: committed with its message instead of
/// `Add plugin '<name>'`, the entry at its old place in the manifest.
pub fn add_as(
    reporter: &dyn Reporter,
    home: &Locked,
    manifest: &mut Manifest,
    staged: &Staged,
    env: &EnvPlan,
    outer: &Environment,
    As { operation, restore, lock }: As,
) -> Result<AddedEntry> {
    let Staged { plugin, directory, staged, source } = staged;
    let rel_dir = plugin_rel(directory)?;
    let target = home.plugin_dir(directory);
    let mut entry = Entry::new(&plugin.name, directory, source.clone());
    entry.lock = lock.to_vec();
    if let Some(r) = &restore {
        entry.agents = r.was.agents.clone();
        entry.lock = r.was.lock.clone();
        entry.extra = r.was.extra.clone();
    }
    let mut updated = manifest.clone();
    let commit = Transaction::run(home, operation, |tx| {
        if let Some(staged) = staged {
            tx.place(&staged.outer, &Staging::name(), &rel_dir)?;
        }
        let mut paths = vec![manifest::FILE.to_string(), rel_dir.as_str().to_string()];
        // A local plugin's files are tracked; every add leaves the secret block last.
        let text = home.gitignore_text()?;
        let new = match source.kind {
            SourceKind::Local => gitignore::add_exemption(&text, directory),
            _ => gitignore::normalize(&text),
        };
        if new != text {
            home.write_gitignore(tx, &new)?;
            paths.push(gitignore::FILE.into());
        }
        env.write_in(tx, &rel_dir)?;
        if !env.missing.is_empty() && plugin.lifecycle.install.is_none() {
            reporter.warn(
                &Error::EnvMissing { missing: vec![(directory.clone(), env.missing.clone())], retry: None }.to_string(),
            );
        }
        match &restore {
            Some(r) => updated.plugins.insert(r.index.min(updated.plugins.len()), entry.clone()),
            None => updated.plugins.push(entry.clone()),
        }
        // The manifest first: the plugin's install runs compose with the images it locks.
        home.write_manifest(tx, &updated)?;
        Runner::new(&home.root, &target, directory, plugin, reporter, outer).install(reporter)?;
        let to = entry.source.commit.as_deref();
        let added = Message::operation(format!("Add plugin '{}'", plugin.name), "add", directory, None, to);
        home.commit(tx, &updated, &paths, restore.as_ref().map_or(&added, |r| r.message))
    })?;
    *manifest = updated;
    Ok(AddedEntry { entry, commit })
}
