//! Dropping a plugin from the home: its folder, its `.gitignore` exemption and its manifest entry,
//! in one transaction and one commit. (Its `stop` and `uninstall` run before, in the command,
//! where the user confirms them.)

use crate::error::Result;
use crate::home::Message;
use crate::home::{gitignore, manifest, plugin_rel, Home, HomeLock, Manifest, Transaction};

/// Removes the entry `directory` and its folder; returns the commit made (none when `auto_commit`
/// is off). On failure the home is as it was and `manifest` unchanged.
pub fn remove(
    home: &Home,
    lock: &HomeLock,
    manifest: &mut Manifest,
    directory: &str,
    operation: &str,
) -> Result<Option<String>> {
    remove_as(home, lock, manifest, directory, operation, None)
}

/// [`remove`], committed with `message` instead of `Remove plugin '<name>'` (undo's remove).
pub fn remove_as(
    home: &Home,
    lock: &HomeLock,
    manifest: &mut Manifest,
    directory: &str,
    operation: &str,
    message: Option<&Message>,
) -> Result<Option<String>> {
    let index = manifest.index_of(directory).expect("the caller found the entry");
    let entry = manifest.plugins[index].clone();
    let rel_dir = plugin_rel(&entry.directory)?;
    let mut updated = manifest.clone();
    let commit = Transaction::run(home, lock, operation, |tx| {
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
