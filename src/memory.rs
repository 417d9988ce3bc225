//! The memory budget: every heap byte gmm holds is counted, and a request that would take the
//! total past [`BUDGET`] is refused *before* it allocates, with an error that names the limit,
//! instead of ending in an allocation abort. A large request is also checked against the address
//! space that `ulimit -v` leaves, and large buffers are reserved with `try_reserve`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most heap one run may hold: a script's live values, a file being read, a fit.
pub const BUDGET: usize = 2 << 30;

/// Heap bytes in use now.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting.
pub struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_add(new_size, Ordering::Relaxed);
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

/// Heap bytes in use now.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Whether `bytes` more fit in the budget, and, for a large request, in the address space
/// that `ulimit -v` (RLIMIT_AS) leaves.
pub fn fits(bytes: usize) -> bool {
    if in_use().saturating_add(bytes) > BUDGET {
        return false;
    }
    bytes < 1 << 20 || address_space_left().is_none_or(|left| bytes.saturating_mul(5) / 4 < left)
}

/// What RLIMIT_AS leaves of the address space, if it is set.
fn address_space_left() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    // The first field of /proc/self/statm is the address space in use, in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    Some(
        usize::try_from(lim.rlim_cur)
            .ok()?
            .saturating_sub(pages * page),
    )
}

/// The budget in words, e.g. "2 GiB".
pub fn budget_text() -> String {
    format!("{} GiB", BUDGET >> 30)
}
