//! The `gmm` binary.

use std::process::ExitCode;

/// The stack for the whole run: parsing and checking recurse on nested input, whose depth the
/// front end bounds; this leaves a wide margin.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    // A write past the file-size limit (`ulimit -f`) then fails with an error, which removes
    // the temporary file, instead of killing the process mid-write.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(gmm::cli::main)
    {
        Ok(handle) => handle.join().unwrap_or(ExitCode::from(101)),
        Err(e) => {
            gmm::console::err(&format!("error: cannot start: {e}\n"));
            ExitCode::from(1)
        }
    }
}
