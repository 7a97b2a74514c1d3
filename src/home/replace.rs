//! Replacing one version of a plugin's files with another, inside a transaction: exactly the files
//! the old version shipped make way for the files of the new one. Everything else in the folder
//! (runtime data, logs, virtualenvs) stays where it is, and what belongs to the user (`custom/`,
//! `.env`) is never replaced: a shipped file there is put in place only where the user has none.

use std::path::Path;

use super::Transaction;
use crate::error::{IoContext, Result};

/// Moves aside the files of `old` (paths relative to the plugin folder `rel_dir`), then moves every
/// file of the folder `staged` into `rel_dir`. A file or folder of the user's that stands where a
/// new file goes is moved aside too (and comes back on rollback). Folders the old version used
/// that end up empty are removed.
/// Whether a path of a plugin folder belongs to the user rather than to the plugin.
pub fn is_users(rel: &str) -> bool {
    rel == ".env" || rel == "custom" || rel.starts_with("custom/")
}

pub fn replace_shipped(tx: &mut Transaction, home: &Path, rel_dir: &str, old: &[String], staged: &Path) -> Result<()> {
    if !home.join(rel_dir).is_dir() {
        let parent = Path::new(rel_dir).parent().map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
        std::fs::create_dir_all(home.join(&parent)).ctx(|| format!("cannot create {parent}"))?;
        tx.mkdir(rel_dir)?;
    }
    for f in old.iter().filter(|f| !is_users(f)) {
        let rel = format!("{rel_dir}/{f}");
        let abs = home.join(&rel);
        if abs.is_symlink() || abs.is_file() {
            tx.move_aside(&rel)?;
        }
    }
    let mut new_files = Vec::new();
    collect_files(staged, Path::new(""), &mut new_files)?;
    for f in &new_files {
        let rel = format!("{rel_dir}/{f}");
        let taken = home.join(&rel).exists() || home.join(&rel).is_symlink();
        if is_users(f) && taken {
            continue;
        }
        // Each missing folder on the way is created; a file in the way of a folder is moved aside.
        let mut dir = String::from(rel_dir);
        for part in Path::new(f).parent().into_iter().flat_map(|p| p.components()) {
            dir = format!("{dir}/{}", part.as_os_str().to_string_lossy());
            let abs = home.join(&dir);
            if abs.is_symlink() || (abs.exists() && !abs.is_dir()) {
                tx.move_aside(&dir)?;
            }
            if !abs.exists() {
                tx.mkdir(&dir)?;
            }
        }
        let abs = home.join(&rel);
        if abs.exists() || abs.is_symlink() {
            tx.move_aside(&rel)?;
        }
        tx.place(&staged.join(f), &rel)?;
    }
    // Folders that held only old files are now empty.
    let mut dirs: Vec<&str> =
        old.iter().filter_map(|f| Path::new(f).parent()).filter_map(|p| p.to_str()).filter(|p| !p.is_empty()).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.len()));
    dirs.dedup();
    for d in dirs {
        for ancestor in Path::new(d).ancestors().filter(|a| !a.as_os_str().is_empty()) {
            let _ = std::fs::remove_dir(home.join(rel_dir).join(ancestor));
        }
    }
    Ok(())
}

/// Relative paths of the files and symlinks below `root`.
fn collect_files(root: &Path, rel: &Path, out: &mut Vec<String>) -> Result<()> {
    let dir = root.join(rel);
    for entry in std::fs::read_dir(&dir).ctx(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.ctx(|| format!("cannot read {}", dir.display()))?;
        let rel = rel.join(entry.file_name());
        let kind = entry.file_type().ctx(|| format!("cannot read {}", rel.display()))?;
        if kind.is_dir() {
            collect_files(root, &rel, out)?;
        } else {
            out.push(rel.to_string_lossy().to_string());
        }
    }
    Ok(())
}
