//! Ctrl-C and SIGTERM set one flag; long operations check it between steps and the transaction
//! rolls back. A second Ctrl-C ends the process at once (the journal is rolled back next time).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

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
    }
}

pub fn is_set() -> bool {
    flag().load(Ordering::SeqCst)
}

/// The flag itself, for gix operations that take `&AtomicBool`.
pub fn as_atomic() -> &'static AtomicBool {
    flag()
}

/// `Err(Interrupted)` once the user asked to stop.
pub fn check() -> crate::Result<()> {
    if is_set() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}
