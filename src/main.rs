//! The `gmm` binary.

use std::process::ExitCode;

/// The stack for the whole run: parsing and checking recurse on nested input, whose depth the
/// front end bounds; this leaves a wide margin.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    match std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(gmm::cli::main)
    {
        Ok(handle) => handle.join().unwrap_or(ExitCode::from(101)),
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(1)
        }
    }
}
