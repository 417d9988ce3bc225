//! Ctrl-C as a request to stop the computation in progress — a long `fit` or `sample`, a
//! runaway `for` loop — rather than the process. The REPL routes the signal here; long loops
//! poll [`requested`] and stop with an "interrupted" error, and the REPL clears the flag before
//! each input. Outside the REPL the signal keeps its usual meaning.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Routes Ctrl-C to the flag for the rest of the process; false if that was not possible.
pub fn install() -> bool {
    ctrlc::set_handler(|| REQUESTED.store(true, Ordering::SeqCst)).is_ok()
}

/// Whether Ctrl-C was pressed since the last [`clear`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Forgets an earlier Ctrl-C.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
