//! Failpoints for the tests, in debug builds only. With `ATK_FAILPOINT=<name>` (or `<name>#<n>`:
//! its `n`-th pass, counting from 1) set, atk stops for good at that point, after writing its
//! process id to the file named by `ATK_FAILPOINT_READY`, so that a test can kill it exactly there.
//! With `ATK_FAILPOINT_TRACE=<file>` set, every failpoint passed appends its name as a line to
//! that file: a test learns from it every point an operation passes, and kills it at each in turn.
//! Release builds compile every failpoint to nothing and never read these variables.
//!
//! The failpoints: `init` (the new home is built, before it is renamed into place), `fetch` (half
//! way through receiving a pack), `step` (before each step of a transaction is written to its
//! journal: the steps before it are done), `lifecycle` (a lifecycle command has ended: whatever it
//! wrote is there), `commit` (the branch has moved, git's index lock is held), `finished` (the
//! journal of a finished transaction is gone, its saved copies not yet), `undo` (before each step
//! of a rollback, in process or by the recovery of the next atk), `backup-packed` (a backup's
//! archive is in place, its summary not yet), `restore-path` (a restore has put one declared path
//! in place, in its transaction), `restore-done` (every part is restored, the transaction not yet
//! finished), `import` (a new home imported from an export is built beside its target, the cache
//! filled, before it is renamed into place), `adopt` (a backup an export carried is copied into
//! the backup folder's work file, not yet renamed into place; before an imported home is), `export`
//! (an export is written whole in its work folder, not yet renamed over its file).

/// Stops here for good when the failpoint `name` is armed (debug builds only).
#[cfg(debug_assertions)]
pub fn hit(name: &str) {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};
    struct Armed {
        name: String,
        nth: usize,
        ready: std::path::PathBuf,
    }
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    static PASSES: Mutex<usize> = Mutex::new(0);
    if let Some(trace) = std::env::var_os("ATK_FAILPOINT_TRACE").filter(|t| !t.is_empty()) {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(trace) {
            let _ = writeln!(f, "{name}");
        }
    }
    let armed = ARMED.get_or_init(|| {
        let spec = std::env::var("ATK_FAILPOINT").ok().filter(|n| !n.is_empty())?;
        let ready = std::env::var_os("ATK_FAILPOINT_READY").filter(|r| !r.is_empty())?;
        let (name, nth) = match spec.split_once('#') {
            Some((name, n)) => (name.to_string(), n.parse().ok()?),
            None => (spec, 1),
        };
        Some(Armed { name, nth, ready: ready.into() })
    });
    if let Some(armed) = armed {
        if armed.name == name {
            let mut passes = PASSES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *passes += 1;
            if *passes == armed.nth {
                let _ = std::fs::write(&armed.ready, std::process::id().to_string());
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_name: &str) {}
