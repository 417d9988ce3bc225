//! The one path for everything gmm writes to stdout and stderr. A reader that stops early
//! (`gmm sample … | head`) ends the output quietly; a full device is an error on stderr and
//! exit status 1; when stderr itself cannot be written, the process still ends with status 1,
//! silently. Nothing here panics, unlike `println!`.

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to stderr failed for a reason other than a closed reader.
static ERR_LOST: AtomicBool = AtomicBool::new(false);

/// Why output stopped.
#[derive(Debug)]
pub enum Stopped {
    /// The reader went away: end quietly.
    Closed,
    /// The device refused the bytes (full, an I/O error): an error.
    Failed(io::Error),
}

impl Stopped {
    /// Sorts a write error.
    pub fn from_io(e: io::Error) -> Stopped {
        if e.kind() == ErrorKind::BrokenPipe {
            Stopped::Closed
        } else {
            Stopped::Failed(e)
        }
    }
}

/// Writes `bytes` to stdout and flushes.
pub fn out(bytes: &[u8]) -> Result<(), Stopped> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(Stopped::from_io)
}

/// Writes `text` to stderr and flushes; a failure is remembered for the exit status.
pub fn err(text: &str) {
    let mut stderr = io::stderr().lock();
    if let Err(e) = stderr
        .write_all(text.as_bytes())
        .and_then(|_| stderr.flush())
    {
        note_err_failure(&e);
    }
}

fn note_err_failure(e: &io::Error) {
    if e.kind() != ErrorKind::BrokenPipe {
        ERR_LOST.store(true, Ordering::SeqCst);
    }
}

/// Whether something meant for stderr was lost.
pub fn err_lost() -> bool {
    ERR_LOST.load(Ordering::SeqCst)
}

/// The exit status for a run that succeeded (`ok`) or not: 1 also when stderr lost a message.
pub fn exit_code(ok: bool) -> ExitCode {
    if ok && !err_lost() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Standard output as a writer for the interpreter and the REPL; its errors pass through for
/// the caller to sort with [`Stopped::from_io`].
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// Standard error as a writer: a failure is remembered for the exit status and not passed on,
/// since there is nowhere left to report it.
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match io::stderr().lock().write(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                note_err_failure(&e);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = io::stderr().lock().flush() {
            note_err_failure(&e);
        }
        Ok(())
    }
}
