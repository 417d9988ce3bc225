//! Reading and writing files safely, and the file-access policy of scripts (LANGUAGE.md §9.6).
//!
//! A script reads and writes only inside its own folder and the working directory, unless
//! `--allow-read`, `--allow-write` or `--allow-all` say otherwise, as Deno's permission flags
//! do. Paths are resolved canonically (every link followed) before they are checked, and the
//! file actually opened is checked again through its descriptor, so a link swapped in between
//! gains nothing. Reads take regular files only (a pipe or a device needs its path allowed by
//! name) and stop at [`MAX_READ_BYTES`]. Writes go to an unpredictable temporary file beside
//! the target, created exclusively, then renamed over it: the target keeps its permissions,
//! is never a device or a pipe, and a signal removes the temporary file before the process
//! ends.

use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use thiserror::Error;

/// The largest file gmm reads (a script, a CSV file).
pub const MAX_READ_BYTES: u64 = 512 << 20;

/// Why a file could not be read or written. `path` is as the user wrote it.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum FileError {
    /// Outside the folders the script may use.
    #[error("cannot {} {path}: it is outside the script's folder and the working directory", if *.write { "write" } else { "read" })]
    Denied { path: String, write: bool },
    /// A system folder of live process data.
    #[error("cannot read {path}: it is live system data ({real}), not a file of yours")]
    System { path: String, real: String },
    /// A device, a pipe, a socket or a folder.
    #[error("cannot {} {path}: it is {kind}, not a regular file", if *.write { "write" } else { "read" })]
    NotRegular {
        path: String,
        kind: &'static str,
        write: bool,
    },
    /// Larger than gmm reads, or than memory holds.
    #[error("cannot read {path}: it is larger than the limit of {} MiB, or than the memory left", MAX_READ_BYTES >> 20)]
    TooLarge { path: String },
    /// An output that is also an input of the same command.
    #[error("cannot write {path}: it is also an input of this command ({input})")]
    Overwrite { path: String, input: String },
    /// The system refused.
    #[error("cannot {} {path}: {why}", if *.write { "write" } else { "read" })]
    Io {
        path: String,
        why: String,
        write: bool,
    },
}

impl FileError {
    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            FileError::Denied { path, write } => format!(
                "a script may use files in its own folder and the working directory; to allow this one, run gmm with {} {path} (or --allow-all)",
                if *write {
                    "--allow-write"
                } else {
                    "--allow-read"
                }
            ),
            FileError::System { path, .. } => {
                format!("to read it anyway, run gmm with --allow-read {path}")
            }
            FileError::NotRegular {
                path, write: false, ..
            } => format!(
                "save the data to a regular file first; to read this one anyway, run gmm with --allow-read {path}"
            ),
            FileError::NotRegular { write: true, .. } => {
                "write to a regular file; without --out the output goes to stdout".into()
            }
            FileError::TooLarge { .. } => "split the file, or keep the columns you need".into(),
            FileError::Overwrite { .. } => {
                "write to another file, then rename it if you want to replace the input".into()
            }
            FileError::Io { write: true, .. } => {
                "check that the folder exists and is writable".into()
            }
            FileError::Io { write: false, .. } => "check the path: in a script it is relative to the script's folder, on the command line to the working directory".into(),
        }
    }
}

/// The folders and files a script may read and write.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Folders (and below) and files readable and writable.
    roots: Vec<PathBuf>,
    /// Extra readable folders or files (`--allow-read`).
    read: Vec<PathBuf>,
    /// Extra writable folders or files (`--allow-write`).
    write: Vec<PathBuf>,
    /// `--allow-all`.
    all: bool,
}

/// The canonical form of a path that may not exist yet: its folder canonical, its name kept.
fn canonical_or_planned(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            canonical_or_planned(dir).join(name)
        }
        _ => p.to_path_buf(),
    }
}

impl Access {
    /// The working directory; a script's own folder is added with [`Access::allow_folder`].
    pub fn working_dir() -> Access {
        let mut a = Access::default();
        a.allow_folder(Path::new("."));
        a
    }

    /// Allows a folder (and below) for reading and writing.
    pub fn allow_folder(&mut self, dir: &Path) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(c) = std::fs::canonicalize(dir) {
            self.roots.push(c);
        }
    }

    /// `--allow-read PATH`.
    pub fn allow_read(&mut self, p: &Path) {
        self.read.push(canonical_or_planned(p));
    }

    /// `--allow-write PATH`.
    pub fn allow_write(&mut self, p: &Path) {
        self.write.push(canonical_or_planned(p));
    }

    /// `--allow-all`.
    pub fn allow_all(&mut self) {
        self.all = true;
    }

    fn under(list: &[PathBuf], real: &Path) -> bool {
        list.iter().any(|root| real.starts_with(root))
    }

    /// Whether `real` (canonical) may be read; `named` when an `--allow-read` names exactly it.
    fn may_read(&self, real: &Path) -> (bool, bool) {
        let named = self.all || self.read.iter().any(|p| p == real);
        let ok = self.all || Self::under(&self.roots, real) || Self::under(&self.read, real);
        (ok, named)
    }

    fn may_write(&self, real: &Path) -> bool {
        self.all || Self::under(&self.roots, real) || Self::under(&self.write, real)
    }

    /// Reads the file at `path` (resolved by the caller; `shown` as written) under the policy.
    pub fn read(&self, path: &Path, shown: &str) -> Result<Vec<u8>, FileError> {
        let io = |e: std::io::Error| FileError::Io {
            path: shown.to_string(),
            why: e.to_string(),
            write: false,
        };
        let real = std::fs::canonicalize(path).map_err(io)?;
        let (ok, named) = self.may_read(&real);
        if !ok {
            return Err(FileError::Denied {
                path: shown.to_string(),
                write: false,
            });
        }
        let system = ["/proc", "/sys", "/dev"]
            .iter()
            .any(|s| real.starts_with(s));
        if system && !named && !Self::under(&self.read, &real) {
            return Err(FileError::System {
                path: shown.to_string(),
                real: real.display().to_string(),
            });
        }
        let file = open_read(&real).map_err(io)?;
        // The file opened is the one checked: look again through its descriptor.
        if let Some(opened) = opened_path(&file)
            && opened != real
            && !self.may_read(&opened).0
        {
            return Err(FileError::Denied {
                path: shown.to_string(),
                write: false,
            });
        }
        read_opened(file, shown, named)
    }

    /// Writes `bytes` to `path` (resolved by the caller) under the policy, atomically.
    pub fn write(&self, path: &Path, shown: &str, bytes: &[u8]) -> Result<(), FileError> {
        let denied = || FileError::Denied {
            path: shown.to_string(),
            write: true,
        };
        // Where the path leads, checked before anything about the file itself is said.
        if !self.may_write(&canonical_or_planned(path)) {
            return Err(denied());
        }
        let target = write_target(path, shown)?;
        if !self.may_write(&target) {
            return Err(denied());
        }
        write_atomic_at(&target, shown, bytes, &[])
    }
}

/// Opens for reading without blocking on a pipe and without following a last link.
fn open_read(real: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(real)
}

/// Where an open file really is, on systems that say so.
fn opened_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

/// What kind of file a non-regular one is, for messages.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Reads an opened file up to the limit; a non-regular one only when `special_ok`.
fn read_opened(mut file: File, shown: &str, special_ok: bool) -> Result<Vec<u8>, FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: shown.to_string(),
        why: e.to_string(),
        write: false,
    };
    let meta = file.metadata().map_err(io)?;
    // A folder never; a pipe or a device only where its path was allowed by name.
    let readable = meta.is_file() || (special_ok && !meta.is_dir());
    if !readable {
        return Err(FileError::NotRegular {
            path: shown.to_string(),
            kind: kind_of(&meta),
            write: false,
        });
    }
    if meta.len() > MAX_READ_BYTES {
        return Err(FileError::TooLarge {
            path: shown.to_string(),
        });
    }
    if !meta.is_file() {
        set_blocking(&file);
    }
    // Read in pieces, each reserved first: a device without end (`/dev/zero`) or a file larger
    // than memory allows is an error, never an allocation abort.
    let too_large = || FileError::TooLarge {
        path: shown.to_string(),
    };
    let mut bytes: Vec<u8> = Vec::new();
    let mut piece = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut piece) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if (bytes.len() + n) as u64 > MAX_READ_BYTES {
            return Err(too_large());
        }
        if bytes.capacity() - bytes.len() < n {
            let more = bytes.len().max(n);
            if !crate::memory::fits(more) || bytes.try_reserve(more).is_err() {
                return Err(too_large());
            }
        }
        bytes.extend_from_slice(&piece[..n]);
        if crate::interrupt::requested() {
            return Err(FileError::Io {
                path: shown.to_string(),
                why: format!("interrupted: {}", crate::interrupt::why()),
                write: false,
            });
        }
    }
}

fn set_blocking(file: &File) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function borrows.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Reads a file named on the command line (allowed as named; a pipe such as `<(zcat …)` too).
pub fn read_named(path: &Path) -> Result<Vec<u8>, FileError> {
    let shown = path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| FileError::Io {
            path: shown.clone(),
            why: e.to_string(),
            write: false,
        })?;
    read_opened(file, &shown, true)
}

/// The real file a write to `path` replaces or creates: links followed, the folder canonical.
fn write_target(path: &Path, shown: &str) -> Result<PathBuf, FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: shown.to_string(),
        why: e.to_string(),
        write: true,
    };
    match std::fs::symlink_metadata(path) {
        Ok(_) => {
            let real = std::fs::canonicalize(path).map_err(|_| FileError::Io {
                path: shown.to_string(),
                why: "it is a symbolic link to nothing".into(),
                write: true,
            })?;
            let meta = std::fs::metadata(&real).map_err(io)?;
            if !meta.is_file() {
                return Err(FileError::NotRegular {
                    path: shown.to_string(),
                    kind: kind_of(&meta),
                    write: true,
                });
            }
            Ok(real)
        }
        Err(_) => {
            let name = path.file_name().ok_or_else(|| FileError::Io {
                path: shown.to_string(),
                why: "the path names no file".into(),
                write: true,
            })?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::fs::canonicalize(dir).map_err(|e| FileError::Io {
                path: shown.to_string(),
                why: format!("its folder cannot be used: {e}"),
                write: true,
            })?;
            Ok(dir.join(name))
        }
    }
}

/// Writes a file named on the command line (`--out`) atomically, refusing to replace any of
/// `inputs`, the files the same command reads.
pub fn write_named(path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<(), FileError> {
    let shown = path.display().to_string();
    let target = write_target(path, &shown)?;
    write_atomic_at(&target, &shown, bytes, inputs)
}

/// The identity of a file: device and inode.
fn identity(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Temporary files being written, for the signal handler to remove; slots hold leaked C
/// strings, so the handler never reads freed memory.
const SLOTS: usize = 32;
static TEMPS: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// Remembers a temporary file until [`forget_temp`]; returns its slot.
fn register_temp(p: &Path) -> Option<usize> {
    let c = CString::new(p.as_os_str().as_bytes()).ok()?;
    let raw = c.into_raw();
    for (i, slot) in TEMPS.iter().enumerate() {
        if slot
            .compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            return Some(i);
        }
    }
    // SAFETY: `raw` came from `into_raw` above and was not stored.
    drop(unsafe { CString::from_raw(raw) });
    None
}

/// Stops remembering a temporary file. Its C string is leaked on purpose: a signal handler may
/// be reading it.
fn forget_temp(slot: Option<usize>) {
    if let Some(i) = slot {
        TEMPS[i].store(std::ptr::null_mut(), Ordering::SeqCst);
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &TEMPS {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: unlink is async-signal-safe and `p` is a leaked, never-freed C string.
            unsafe { libc::unlink(p) };
        }
    }
    // SAFETY: restoring the default action and raising again ends the process as the signal
    // would have; both are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Removes temporary files when SIGTERM or SIGHUP (and SIGINT, where `sigint` is true; the REPL
/// keeps Ctrl-C for itself) ends the process.
pub fn clean_up_on_signals(sigint: bool) {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    let mut signals = vec![libc::SIGTERM, libc::SIGHUP];
    if sigint {
        signals.push(libc::SIGINT);
    }
    for sig in signals {
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            libc::signal(sig, handler);
        }
    }
}

/// Writes `bytes` to the real path `target` through a temporary file beside it.
fn write_atomic_at(
    target: &Path,
    shown: &str,
    bytes: &[u8],
    inputs: &[&Path],
) -> Result<(), FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: shown.to_string(),
        why: e.to_string(),
        write: true,
    };
    let old = std::fs::metadata(target).ok();
    if let Some(id) = old.as_ref().map(|m| (m.dev(), m.ino()))
        && let Some(input) = inputs.iter().find(|i| identity(i) == Some(id))
    {
        return Err(FileError::Overwrite {
            path: shown.to_string(),
            input: input.display().to_string(),
        });
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let mode = old
        .as_ref()
        .map_or(0o666, |m| m.permissions().mode() & 0o7777);
    // The name is registered for the signal handler before the file exists, so a signal can
    // never find a temporary file it does not know.
    let slot = std::cell::Cell::new(None);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .make_in(dir, |path| {
            forget_temp(slot.take());
            slot.set(register_temp(path));
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
        })
        .map_err(|e| {
            forget_temp(slot.take());
            io(e)
        })?;
    let slot = slot.take();
    let result = (|| {
        tmp.write_all(bytes)?;
        let file = tmp.as_file();
        match &old {
            // The replaced file's owner and mode; the owner only where allowed.
            Some(m) => {
                use std::os::fd::AsRawFd;
                // SAFETY: fchown on a descriptor we hold; failure leaves our own ownership.
                unsafe { libc::fchown(file.as_raw_fd(), m.uid(), m.gid()) };
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            None => file.set_permissions(std::fs::Permissions::from_mode(new_file_mode()))?,
        }
        file.sync_all()?;
        Ok(())
    })();
    let result = result.and_then(|()| tmp.persist(target).map(|_| ()).map_err(|e| e.error));
    forget_temp(slot);
    result.map_err(io)
}

/// 0666 less the umask, as a newly created file gets.
fn new_file_mode() -> u32 {
    static MODE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| {
        // SAFETY: umask is read by setting it and restoring it at once, before files are made.
        let mask = unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m
        };
        0o666 & !(mask as u32)
    })
}
