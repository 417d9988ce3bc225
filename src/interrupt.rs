//! Requests to stop the computation in progress — a long `fit` or `sample`, a runaway `for`
//! loop — rather than the process: Ctrl-C in the REPL, or a time limit (`gmm run
//! --time-limit`, the fuzzer's budget). Long loops poll [`requested`] and stop with an error
//! whose help is [`why`]; the REPL clears the request before each input. Outside the REPL
//! Ctrl-C keeps its usual meaning.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Set when the request came from a notebook's interrupt rather than Ctrl-C.
static BY_MESSAGE: AtomicBool = AtomicBool::new(false);
/// The deadline in nanoseconds after [`epoch`], 0 for none.
static DEADLINE: AtomicU64 = AtomicU64::new(0);
/// The time limit last set, in nanoseconds, for messages.
static LIMIT: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Routes Ctrl-C to the flag for the rest of the process; false if that was not possible.
pub fn install() -> bool {
    ctrlc::set_handler(|| REQUESTED.store(true, Ordering::SeqCst)).is_ok()
}

/// Asks the computation in progress to stop, as Ctrl-C does: a notebook's interrupt.
pub fn request() {
    BY_MESSAGE.store(true, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Stops whatever runs once `limit` has passed from now; `None` removes the limit.
pub fn set_time_limit(limit: Option<Duration>) {
    match limit {
        Some(limit) => {
            let at = nanos(epoch().elapsed()).saturating_add(nanos(limit)).max(1);
            LIMIT.store(nanos(limit), Ordering::SeqCst);
            DEADLINE.store(at, Ordering::SeqCst);
        }
        None => {
            LIMIT.store(0, Ordering::SeqCst);
            DEADLINE.store(0, Ordering::SeqCst);
        }
    }
}

fn out_of_time() -> bool {
    let at = DEADLINE.load(Ordering::Relaxed);
    at != 0 && nanos(epoch().elapsed()) >= at
}

/// Whether Ctrl-C was pressed since the last [`clear`], or the time limit has passed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed) || out_of_time()
}

/// Why the computation stopped, as a help line for its error.
pub fn why() -> String {
    if out_of_time() {
        let limit = Duration::from_nanos(LIMIT.load(Ordering::Relaxed));
        format!(
            "the time limit of {} s ran out; raise it with --time-limit",
            limit.as_secs_f64()
        )
    } else if BY_MESSAGE.load(Ordering::Relaxed) {
        "the notebook's interrupt stopped it".to_string()
    } else {
        "Ctrl-C stopped it".to_string()
    }
}

/// Forgets an earlier Ctrl-C and starts the time limit, if there is one, afresh.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    BY_MESSAGE.store(false, Ordering::SeqCst);
    let limit = LIMIT.load(Ordering::SeqCst);
    if limit != 0 {
        set_time_limit(Some(Duration::from_nanos(limit)));
    }
}
