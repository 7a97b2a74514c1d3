//! Ctrl-C and SIGTERM set one flag; long operations check it between steps and the transaction
//! rolls back. A second Ctrl-C ends the process at once (the journal is rolled back next time).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// The number of the last of those signals that arrived (0: none).
static LAST: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

fn last() -> &'static Arc<AtomicUsize> {
    LAST.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Installs the handlers. Called once by `main`.
pub fn install() {
    let flag = flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal sets the flag; a second one, with the flag already set, exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(flag));
        let _ = signal_hook::flag::register(signal, Arc::clone(flag));
        let _ = signal_hook::flag::register_usize(signal, Arc::clone(last()), signal as usize);
    }
}

pub fn is_set() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Whether the stop was asked by SIGTERM (sent to atk alone, where a terminal's Ctrl-C reaches
/// its whole process group), so that it is passed on to a child that shares atk's group.
pub fn by_sigterm() -> bool {
    last().load(Ordering::SeqCst) == signal_hook::consts::SIGTERM as usize
}

/// The flag itself, for gix operations that take `&AtomicBool`.
pub fn as_atomic() -> &'static AtomicBool {
    flag()
}

/// Runs `body` as if no stop had been asked yet, then asks it again if it was: for what must
/// happen after Ctrl-C too (a plugin stopped for a backup is started again). A Ctrl-C during
/// `body` stops it as usual.
pub fn deferred<T>(body: impl FnOnce() -> T) -> T {
    let was = flag().swap(false, Ordering::SeqCst);
    let out = body();
    if was {
        flag().store(true, Ordering::SeqCst);
    }
    out
}
