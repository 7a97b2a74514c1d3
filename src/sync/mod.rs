//! Plans and their application: bringing plugins to their pins (install, setup on a fresh clone),
//! adding a staged plugin, moving one to another commit (upgrade), and the `.env` values a plugin
//! gets. Each takes the home, its lock and a [`Reporter`]; none prints. And the checks of a home:
//! doctor's checks and repairs, and the home's history read from git.

pub mod add;
pub mod doctor;
pub mod drift;
pub mod env;
pub mod export;
pub mod history;
pub mod install;
pub mod lock;
pub mod plug;
pub mod remove;
pub mod rollback;
pub mod undo;
pub mod upgrade;

use gix::ObjectId;

use crate::error::Result;
use crate::fs::RelPath;
use crate::home::replace::replace_shipped;
use crate::home::{plugin_rel, Home, Transaction};
use crate::reporter::Reporter;
use crate::source::git::Repo as GitRepo;
use crate::source::origin::ATK_REF;

/// Puts version `commit` of a plugin (the folder `path` of `repo`) in `plugins/<directory>`, where
/// the files `old_files` of the previous version make way, and records the commit in `.atk-ref`.
pub fn put_version(
    tx: &mut Transaction,
    home: &Home,
    repo: &GitRepo,
    commit: ObjectId,
    path: &str,
    directory: &str,
    old_files: &[RelPath],
) -> Result<Put> {
    let staged = home.staging()?;
    let skipped = repo.materialize(commit, path, &staged.files)?;
    let rel_dir = plugin_rel(directory)?;
    let atk_ref = RelPath::new(ATK_REF).expect("a plain name");
    let mut old: Vec<RelPath> = old_files.to_vec();
    old.push(atk_ref.clone());
    let saved = replace_shipped(tx, &rel_dir, &old, &staged)?;
    tx.write(&rel_dir.concat(&atk_ref), format!("{commit}\n").as_bytes(), None)?;
    Ok(Put { skipped, saved })
}

/// What putting a version in place did besides the files: submodules it skipped, and the user's
/// things it kept under another name (`data` → `data.atk-saved`) because the new version ships
/// something there.
pub struct Put {
    pub skipped: Vec<String>,
    pub saved: Vec<(RelPath, RelPath)>,
}

impl Put {
    /// Warns about what was skipped and kept.
    pub fn report(&self, reporter: &dyn Reporter, name: &str) {
        let name = crate::text::escape(name);
        for s in &self.skipped {
            reporter.warn(&format!("{s} in '{name}' is a git submodule; submodules are not installed"));
        }
        for (from, to) in &self.saved {
            reporter.warn(&format!(
                "the new version of '{name}' ships {from}, where you had one of your own: yours is kept as {to}"
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
