//! Replacing one version of a plugin's files with another, inside a transaction: exactly the files
//! the old version shipped make way for the files of the new one. Everything else in the folder
//! (runtime data, logs, virtualenvs) stays where it is, and what belongs to the user (`custom/`,
//! `.env`) is never replaced: a shipped file there is put in place only where the user has none.

use super::{Staging, Transaction};
use crate::error::Result;
use crate::fs::{Kind, RelPath};

/// Whether a path of a plugin folder belongs to the user rather than to the plugin.
pub fn is_users(rel: &RelPath) -> bool {
    let first = rel.components().next().unwrap_or_default();
    rel.as_str() == ".env" || first == "custom"
}

/// Moves aside the files of `old` (paths relative to the plugin folder `rel_dir`), then moves every
/// file of `staged` into `rel_dir`. A file or folder of the user's that stands where a new file
/// goes is moved aside too (and comes back on rollback). Folders the old version used that end up
/// empty are removed. Every path is a [`RelPath`], so none of this can reach outside `rel_dir`;
/// a link where a folder should be is moved aside, never written through.
///
/// Something of the user's that the old version did not ship and that stands where the new
/// version puts a file or needs a folder (a runtime `data/` folder where a file `data` now ships)
/// is never deleted: it is renamed beside itself to `<name>.atk-saved` (`-2`, `-3`, … when taken).
/// Returns those renames, as paths inside the plugin folder.
pub fn replace_shipped(
    tx: &mut Transaction,
    rel_dir: &RelPath,
    old: &[RelPath],
    staged: &Staging,
) -> Result<Vec<(RelPath, RelPath)>> {
    let home = tx.home();
    home.files.batch(|| staged.files.batch(|| replace(tx, rel_dir, old, staged)))
}

/// Renames the user's `rel` (in the plugin folder `rel_dir`) to a free `<name>.atk-saved` name.
fn save_users(
    tx: &mut Transaction,
    rel_dir: &RelPath,
    rel: &RelPath,
    saved: &mut Vec<(RelPath, RelPath)>,
) -> Result<()> {
    let parent = rel.parent().unwrap_or_default();
    for n in 1.. {
        let name = if n == 1 { format!("{}.atk-saved", rel.name()) } else { format!("{}.atk-saved-{n}", rel.name()) };
        let to = parent.join(&name).map_err(|e| crate::Error::other(e.to_string()))?;
        if !tx.home().files.exists(&to) {
            tx.rename(rel, &to)?;
            let inside =
                |p: &RelPath| RelPath::new(p.as_str()[rel_dir.as_str().len() + 1..].as_ref()).expect("below rel_dir");
            saved.push((inside(rel), inside(&to)));
            return Ok(());
        }
    }
    unreachable!("some name is free")
}

fn replace(
    tx: &mut Transaction,
    rel_dir: &RelPath,
    old: &[RelPath],
    staged: &Staging,
) -> Result<Vec<(RelPath, RelPath)>> {
    let mut saved = Vec::new();
    let home = &tx.home().files;
    if home.kind(rel_dir)? != Some(Kind::Dir) {
        if home.exists(rel_dir) {
            tx.move_aside(rel_dir)?;
        }
        tx.mkdir(rel_dir)?;
    }
    for f in old.iter().filter(|f| !is_users(f)) {
        let rel = rel_dir.concat(f);
        // A link on the way (the user replaced a folder) means this is not the shipped file.
        if matches!(tx.home().files.kind(&rel), Ok(Some(Kind::File { .. } | Kind::Link))) {
            tx.move_aside(&rel)?;
        }
    }
    for (f, _) in staged.files.files(&RelPath::root())? {
        crate::error::check_interrupt()?;
        let rel = rel_dir.concat(&f);
        if is_users(&f) && tx.home().files.exists(&rel) {
            continue;
        }
        // Each missing folder on the way is created. The old version's files are aside by now,
        // so whatever still stands in the way is the user's: it is kept under another name.
        let mut dir = rel_dir.clone();
        for part in f.parent().iter().flat_map(|p| p.components()) {
            dir = dir.join(part).expect("the components of a RelPath are names");
            match tx.home().files.kind(&dir)? {
                Some(Kind::Dir) => {}
                Some(_) => {
                    save_users(tx, rel_dir, &dir, &mut saved)?;
                    tx.mkdir(&dir)?;
                }
                None => tx.mkdir(&dir)?,
            }
        }
        if tx.home().files.exists(&rel) {
            save_users(tx, rel_dir, &rel, &mut saved)?;
        }
        tx.place(&staged.files, &f, &rel)?;
    }
    // Folders that held only old files are now empty.
    let mut dirs: Vec<RelPath> = old.iter().filter_map(RelPath::parent).filter(|p| !p.is_root()).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.as_str().len()));
    dirs.dedup();
    for d in dirs {
        let mut at = Some(d);
        while let Some(dir) = at.filter(|a| !a.is_root()) {
            tx.home().files.remove_empty_dir(&rel_dir.concat(&dir));
            at = dir.parent();
        }
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_paths() {
        for p in [".env", "custom", "custom/overrides.yaml"] {
            assert!(is_users(&RelPath::new(p).unwrap()), "{p}");
        }
        for p in ["customs", "a/.env", ".env.example", "src/custom"] {
            assert!(!is_users(&RelPath::new(p).unwrap()), "{p}");
        }
    }
}
