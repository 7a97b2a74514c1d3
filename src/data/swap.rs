//! Putting restored data in place: a folder replaced by another so that a kill -9 at any point
//! leaves the old data or the new, never a mix.
//!
//! [`swap_in`] renames the old folder aside (to `<name>.atk-old` beside it), renames the staged
//! folder to its name, then deletes the aside folder. Each rename is atomic; between them the
//! target is missing and the aside folder holds the old data whole. [`recover_swap`], run before
//! anything else touches the target (by `swap_in` itself, and by the next atk after a crash),
//! finishes what a killed swap left:
//! * aside folder, no target: killed between the two renames → the old data is renamed back;
//! * aside folder and target: killed after the new data was in place, maybe half way through
//!   deleting the old → the rest of the old is deleted;
//! * no aside folder: nothing to do.
//!
//! The staging folder of a killed swap is the caller's to remove (it is never half swapped in).

use crate::error::{Error, Result};
use crate::failpoint;
use crate::fs::{RelPath, Root};

/// What [`recover_swap`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    /// No swap was left half done.
    Nothing,
    /// A swap was killed before the new data was in place: the old is back.
    RestoredOld,
    /// A swap was killed after the new data was in place: the old data's leftovers are deleted.
    RemovedOld,
}

/// Where the old folder of `target` waits while a swap runs: `<name>.atk-old` beside it.
pub fn aside(target: &RelPath) -> Result<RelPath> {
    let parent = target.parent().ok_or_else(|| Error::other("the root itself cannot be swapped"))?;
    parent.join(&format!("{}.atk-old", target.name())).map_err(|e| Error::unsafe_path(e.to_string(), vec![]))
}

/// Finishes a swap of `target` (below `root`) that a crash left half done; see the module's notes.
pub fn recover_swap(root: &Root, target: &RelPath) -> Result<Recovered> {
    let old = aside(target)?;
    if !root.exists(&old) {
        return Ok(Recovered::Nothing);
    }
    if root.exists(target) {
        root.remove(&old)?;
        Ok(Recovered::RemovedOld)
    } else {
        root.rename(&old, root, target)?;
        Ok(Recovered::RestoredOld)
    }
}

/// Replaces the folder `target` (which may be missing) with the folder `staging`, both below
/// `root` and so on one file system. A swap a crash left half done is finished first.
pub fn swap_in(root: &Root, staging: &RelPath, target: &RelPath) -> Result<()> {
    recover_swap(root, target)?;
    let old = aside(target)?;
    if root.exists(target) {
        root.rename(target, root, &old)?;
        failpoint::hit("swap-aside");
    }
    root.rename(staging, root, target)?;
    failpoint::hit("swap-in");
    root.remove(&old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn setup() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path()).unwrap();
        (dir, root)
    }

    fn folder(root: &Root, path: &str, content: &str) {
        root.create_dir_all(&rel(path)).unwrap();
        root.write_new(&rel(&format!("{path}/f")), content.as_bytes(), 0o644).unwrap();
    }

    fn content(root: &Root, path: &str) -> String {
        String::from_utf8(root.read(&rel(&format!("{path}/f")), crate::fs::Cap::State).unwrap()).unwrap()
    }

    #[test]
    fn swap_replaces_the_old_folder_and_leaves_nothing_aside() {
        let (_d, root) = setup();
        folder(&root, "p/data", "old");
        folder(&root, "p/staging", "new");
        swap_in(&root, &rel("p/staging"), &rel("p/data")).unwrap();
        assert_eq!(content(&root, "p/data"), "new");
        assert!(!root.exists(&rel("p/staging")));
        assert!(!root.exists(&rel("p/data.atk-old")));
        // A target that does not exist yet is fine.
        folder(&root, "p/staging2", "first");
        swap_in(&root, &rel("p/staging2"), &rel("p/fresh")).unwrap();
        assert_eq!(content(&root, "p/fresh"), "first");
    }

    #[test]
    fn a_swap_killed_between_the_renames_gets_the_old_data_back() {
        let (_d, root) = setup();
        // As left by a kill after the old folder was renamed aside.
        folder(&root, "p/data.atk-old", "old");
        folder(&root, "p/staging", "new");
        assert_eq!(recover_swap(&root, &rel("p/data")).unwrap(), Recovered::RestoredOld);
        assert_eq!(content(&root, "p/data"), "old");
        assert!(!root.exists(&rel("p/data.atk-old")));
        assert_eq!(recover_swap(&root, &rel("p/data")).unwrap(), Recovered::Nothing);
    }

    #[test]
    fn a_swap_killed_after_the_new_data_was_in_place_keeps_the_new() {
        let (_d, root) = setup();
        // As left by a kill after the rename in, the old folder half deleted.
        folder(&root, "p/data.atk-old", "old");
        root.create_dir(&rel("p/data.atk-old/sub")).unwrap();
        folder(&root, "p/data", "new");
        assert_eq!(recover_swap(&root, &rel("p/data")).unwrap(), Recovered::RemovedOld);
        assert_eq!(content(&root, "p/data"), "new");
        assert!(!root.exists(&rel("p/data.atk-old")));
    }

    #[test]
    fn swap_in_first_finishes_a_swap_left_half_done() {
        let (_d, root) = setup();
        folder(&root, "p/data.atk-old", "old");
        folder(&root, "p/staging", "new");
        swap_in(&root, &rel("p/staging"), &rel("p/data")).unwrap();
        assert_eq!(content(&root, "p/data"), "new");
        assert!(!root.exists(&rel("p/data.atk-old")));
    }
}
