//! Failpoints for the tests, in debug builds only: with `ATK_FAILPOINT=<name>` set, atk stops for
//! good at the point of that name, after writing its process id to the file named by
//! `ATK_FAILPOINT_READY`, so that a test can kill it exactly there. Release builds compile every
//! failpoint to nothing and never read these variables.

/// Stops here for good when the failpoint `name` is armed (debug builds only).
#[cfg(debug_assertions)]
pub fn hit(name: &str) {
    use std::sync::OnceLock;
    static ARMED: OnceLock<Option<(String, std::path::PathBuf)>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        let name = std::env::var("ATK_FAILPOINT").ok().filter(|n| !n.is_empty())?;
        let ready = std::env::var_os("ATK_FAILPOINT_READY").filter(|r| !r.is_empty())?;
        Some((name, ready.into()))
    });
    if let Some((armed, ready)) = armed {
        if armed == name {
            let _ = std::fs::write(ready, std::process::id().to_string());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_name: &str) {}
