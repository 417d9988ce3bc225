//! Hardening II through the real binary: output to closed pipes and full devices, the time
//! limit reaching every long operation, memory bounded before allocating (each child runs
//! under RLIMIT_AS), numbers that must not pass for missing values, files that are never
//! replaced unsafely, and the file-access policy of LANGUAGE.md §9.6. Every child is bounded
//! in time, runs in its own scratch folder, and devices it needs are made there with mknod.

use crate::common;

use crate::common::GRADES;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const GIB: u64 = 1 << 30;

fn gmm_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
    cmd.args(args).current_dir(dir);
    cmd
}

/// `gmm args` in `dir`, at most 120 s, in at most `memory` bytes of address space.
fn gmm_bounded(dir: &Path, args: &[&str], memory: Option<u64>) -> (Output, Duration) {
    let mut cmd = gmm_cmd(dir, args);
    common::limit(&mut cmd, memory, None);
    common::run_bounded(cmd, 120, None)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit status 1, no panic or abort, and every one of `words` in stderr.
fn assert_error(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "memory allocation",
        "stack overflow",
    ] {
        assert!(!err.contains(bad), "{err}");
    }
    for w in words {
        assert!(err.contains(w), "`{w}` not in\n{err}");
    }
}

/// A device node made in `dir` (root may do this; CI runs as root): `major, minor` 1, 3 is
/// null, 1, 5 zero, 1, 7 full.
fn device(dir: &Path, name: &str, minor: u32) -> PathBuf {
    let path = dir.join(name);
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid C path.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, minor)) };
    assert_eq!(
        rc,
        0,
        "mknod {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    path
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

// ---------------------------------------------------------------- output

/// A pipe whose reader has already gone.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe fills the two descriptors, which are then owned here.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are fresh and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    let dir = common::scratch("hard-pipe");
    let mut many = String::new();
    for i in 0..2000 {
        many.push_str(&format!(
            "model m{i} {{\n    param mu : real = 0\n    plate r {{ x ~ Normal(mu, 1) }}\n}}\n"
        ));
    }
    write(&dir, "many.gmm", &many);
    write(&dir, "g.gmm", GRADES);
    for args in [
        &["check", "many.gmm"][..],
        &["sample", "g.gmm", "-n", "100000"],
        &["run", "many.gmm"],
    ] {
        let mut cmd = gmm_cmd(&dir, args);
        cmd.stdout(closed_pipe()).stderr(Stdio::piped());
        let out = output_within(cmd, 60);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_full_device_is_an_error_and_a_full_stderr_is_a_silent_one() {
    let dir = common::scratch("hard-full");
    let full = device(&dir, "full", 7);
    let to_full = || Stdio::from(std::fs::File::create(&full).unwrap());
    write(&dir, "g.gmm", GRADES);
    write(&dir, "bad.gmm", "print nothing_here\n");
    // stdout full: the error goes to stderr.
    let mut cmd = gmm_cmd(&dir, &["check", "g.gmm"]);
    cmd.stdout(to_full()).stderr(Stdio::piped());
    let out = output_within(cmd, 60);
    assert_error(&out, &["cannot write output", "No space left"]);
    // The REPL and clap's help take the same path.
    let mut cmd = gmm_cmd(&dir, &["--help"]);
    cmd.stdout(to_full()).stderr(Stdio::piped());
    assert_eq!(output_within(cmd, 60).status.code(), Some(1));
    let mut cmd = gmm_cmd(&dir, &["repl"]);
    cmd.stdout(to_full()).stderr(Stdio::piped());
    let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"print 1\n").unwrap();
    let began = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(began.elapsed().as_secs() < 60, "the REPL hangs");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert_error(&out, &["cannot write output", "No space left"]);
    // stderr full: nothing to say it with, but the status still says it.
    let mut cmd = gmm_cmd(&dir, &["run", "bad.gmm"]);
    cmd.stdout(Stdio::piped()).stderr(to_full());
    let out = output_within(cmd, 60);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // A warning lost to a full stderr fails the command too.
    write(&dir, "w.csv", "x\n1\n1\n1\n1\n");
    let mut cmd = gmm_cmd(&dir, &["fit", "g.gmm", "--data", "w.csv"]);
    cmd.stdout(Stdio::piped()).stderr(to_full());
    let out = output_within(cmd, 60);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("# converged"));
}

/// Runs `cmd` with the standard streams it was given, killed after `secs` seconds.
fn output_within(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd.stdin(Stdio::null()).spawn().expect("gmm runs");
    let began = std::time::Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if began.elapsed().as_secs() >= secs {
            let _ = child.kill();
            panic!("{cmd:?} still ran after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

// ---------------------------------------------------------------- the time limit

/// `script` under `--time-limit limit` stops with "interrupted" well before it would finish.
fn assert_stops(dir: &Path, name: &str, script: &str, limit: &str, extra: &[&str]) {
    write(dir, name, script);
    let mut args = vec!["run", "--time-limit", limit];
    args.extend(extra);
    args.push(name);
    let (out, took) = gmm_bounded(dir, &args, Some(4 * GIB));
    assert_error(&out, &["interrupted", "time limit"]);
    let bound = limit.parse::<f64>().unwrap() + 6.0;
    assert!(took.as_secs_f64() < bound, "{name}: {took:?}");
}

#[test]
fn the_time_limit_stops_matrix_operations() {
    let dir = common::scratch("hard-time-matrix");
    // Each takes tens of seconds at this size without the limit (debug build).
    let big = "let a = zeros([2000, 2000]) + eye(2000) * 2000 + 1\n";
    for op in ["a @ a", "inv(a)", "det(a)", "chol(a)"] {
        let name = format!("m{}.gmm", op.len());
        assert_stops(&dir, &name, &format!("{big}let b = {op}\n"), "1", &[]);
    }
}

#[test]
fn the_time_limit_stops_one_iteration_of_a_wide_fit() {
    let dir = common::scratch("hard-time-wide");
    let d = 600;
    let mut csv: Vec<String> = vec![
        (0..d)
            .map(|i| format!("x[{i}]"))
            .collect::<Vec<_>>()
            .join(","),
    ];
    let mut state = 7u64;
    for _ in 0..400 {
        let row: Vec<String> = (0..d)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("{:.3}", (state >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect();
        csv.push(row.join(","));
    }
    write(&dir, "wide.csv", &(csv.join("\n") + "\n"));
    let model = format!(
        "model m {{\n    param pi : simplex[3]\n    param mu[3] : vector[{d}]\n    param S[3] : cov[{d}]\n    plate r {{\n        z ~ Categorical(pi)\n        x ~ MvNormal(mu[z], S[z])\n    }}\n}}\n"
    );
    write(&dir, "wide.gmm", &model);
    let (out, took) = gmm_bounded(
        &dir,
        &["fit", "--time-limit", "1", "wide.gmm", "--data", "wide.csv"],
        Some(4 * GIB),
    );
    assert_error(&out, &["interrupted", "time limit"]);
    // One iteration takes about a minute here without the limit.
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}

#[test]
fn the_time_limit_stops_loops_queries_and_reads() {
    let dir = common::scratch("hard-time-misc");
    // A range is counted through, never built: memory stays small.
    assert_stops(
        &dir,
        "loop.gmm",
        "let s = 0\nfor i in 0..10000000000 {\n    s = s + i\n}\n",
        "0.5",
        &[],
    );
    let q20 = std::fs::read_to_string(
        common::root().join("tests/malformed/gmm/query_at_config_limit.gmm"),
    )
    .unwrap();
    assert_stops(&dir, "q20.gmm", &q20, "0.5", &[]);
}

#[test]
fn wide_headers_many_misspellings_and_long_inputs_take_linear_time() {
    let dir = common::scratch("hard-linear");
    // 100 000 columns: the duplicate check is linear, and the help lists a few names.
    let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let ones = vec!["1"; 100_000].join(",");
    write(&dir, "wide.csv", &format!("{}\n{ones}\n", header.join(",")));
    write(
        &dir,
        "wide.gmm",
        "let d = load(\"wide.csv\")\nprint d.c99999\nprint d.nope\n",
    );
    let (out, took) = gmm_bounded(&dir, &["run", "wide.gmm"], Some(2 * GIB));
    assert_error(&out, &["no column `nope`", "… and 99988 more"]);
    assert_eq!(stdout(&out), "[1]\n");
    assert!(took.as_secs() < 30, "{took:?}");
    // Thousands of misspelt names among thousands: the suggestions' work is capped.
    let script =
        std::fs::read(common::root().join("tests/malformed/gmm/many_misspellings.gmm")).unwrap();
    std::fs::write(dir.join("typos.gmm"), script).unwrap();
    let (out, took) = gmm_bounded(&dir, &["run", "typos.gmm"], Some(2 * GIB));
    assert_error(
        &out,
        &[
            "unknown name `name_numbr_0`",
            "did you mean `name_number_0`?",
        ],
    );
    assert!(took.as_secs() < 40, "{took:?}");
    // A piped REPL with a bracket open over 240 KB scans each line once.
    let mut input = String::from("print len([\n");
    for _ in 0..60_000 {
        input.push_str("  1,\n");
    }
    input.push_str("  1])\n");
    let cmd = gmm_cmd(&dir, &["repl"]);
    let (out, took) = common::run_bounded(cmd, 120, Some(input.into_bytes()));
    assert_eq!(stdout(&out), "60001\n", "{}", stderr(&out));
    assert!(took.as_secs() < 40, "{took:?}");
}

#[test]
fn a_file_that_loads_itself_and_a_named_pipe_are_errors() {
    let dir = common::scratch("hard-cycle");
    let text = std::fs::read_to_string(common::root().join("tests/malformed/gmm/loads_itself.gmm"))
        .unwrap();
    write(&dir, "loads_itself.gmm", &text);
    let (out, _) = gmm_bounded(&dir, &["run", "loads_itself.gmm"], Some(2 * GIB));
    assert_error(&out, &["loads itself: loads_itself.gmm → loads_itself.gmm"]);
    // A named pipe with no writer: refused at once instead of waiting forever.
    let fifo = std::ffi::CString::new(dir.join("p.csv").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    write(&dir, "pipe.gmm", "let d = load(\"p.csv\")\n");
    let (out, took) = gmm_bounded(&dir, &["run", "pipe.gmm"], Some(2 * GIB));
    assert_error(
        &out,
        &["p.csv", "a named pipe, not a regular file", "--allow-read"],
    );
    assert!(took.as_secs() < 10);
}

// ---------------------------------------------------------------- memory

#[test]
fn large_text_files_and_arrays_stop_at_the_memory_limit() {
    let dir = common::scratch("hard-memory");
    // 50 MB of one-letter text cells (26 million): shared labels keep them near 16 bytes a
    // cell, and where even that does not fit, the file is refused before the cells are built.
    let mut csv = String::from("a,b,c,d,e,f,g,h,i,j\n");
    let row = "q,w,e,r,t,y,u,i,o,p\n";
    while csv.len() < 50 << 20 {
        csv.push_str(row);
    }
    write(&dir, "text.csv", &csv);
    write(
        &dir,
        "text.gmm",
        "let d = load(\"text.csv\")\nprint len(d)\n",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "text.gmm"], Some(GIB + GIB / 2));
    assert_eq!(stdout(&out), "2621439\n", "{}", stderr(&out));
    let (out, _) = gmm_bounded(&dir, &["run", "text.gmm"], Some(600 << 20));
    assert_error(&out, &["text.csv", "memory limit"]);
    // Arrays alive together: the total is bounded, not only each one.
    let many = std::fs::read_to_string(
        common::root().join("tests/malformed/gmm/too_many_live_arrays.gmm"),
    )
    .unwrap();
    write(&dir, "many.gmm", &many);
    let (out, _) = gmm_bounded(&dir, &["run", "many.gmm"], Some(3 * GIB));
    assert_error(&out, &["past the limit of 2 GiB"]);
    // Results of arithmetic count too.
    let ops =
        std::fs::read_to_string(common::root().join("tests/malformed/gmm/too_many_results.gmm"))
            .unwrap();
    write(&dir, "ops.gmm", &ops);
    let (out, _) = gmm_bounded(&dir, &["run", "ops.gmm"], Some(3 * GIB));
    assert_error(&out, &["past the limit of 2 GiB", "let go of large values"]);
    // A device without end: read up to the limit, then refused.
    device(&dir, "zero", 5);
    write(&dir, "zero.gmm", "let d = load(\"zero\")\n");
    let (out, _) = gmm_bounded(&dir, &["run", "zero.gmm"], Some(GIB));
    assert_error(&out, &["a character device, not a regular file"]);
    let (out, _) = gmm_bounded(
        &dir,
        &["run", "--allow-read", "zero", "zero.gmm"],
        Some(GIB),
    );
    assert_error(&out, &["cannot read zero", "larger than the limit"]);
    // So is the real one, unread, by the access policy.
    write(&dir, "devzero.gmm", "let d = load(\"/dev/zero\")\n");
    let (out, _) = gmm_bounded(&dir, &["run", "devzero.gmm"], Some(GIB));
    assert_error(&out, &["outside the script's folder"]);
}

#[test]
fn printing_and_plotting_fifty_million_numbers_stream_and_thin() {
    let dir = common::scratch("hard-stream");
    // 400 MB of numbers; printing them would take several GB as strings.
    write(&dir, "print.gmm", "let a = zeros(50000000)\nprint a\n");
    let (out, _) = gmm_bounded(
        &dir,
        &["run", "--time-limit", "3", "print.gmm"],
        Some(GIB + GIB / 2),
    );
    let printed = out.stdout.len();
    match out.status.code() {
        Some(0) => assert_eq!(printed, 150_000_001),
        _ => assert_error(&out, &["interrupted"]),
    }
    assert!(out.stdout.starts_with(b"[0, 0, 0"), "{printed} bytes");
    write(
        &dir,
        "plot.gmm",
        "let a = zeros(50000000)\nplot(a, file = \"a.svg\")\n",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "plot.gmm"], Some(GIB + GIB / 2));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("a.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("the SVG is XML");
    assert!(svg.contains("50000000 points, drawn as"), "legend");
    assert!(svg.len() < 2 << 20, "{} bytes", svg.len());
}

#[test]
fn restarts_and_templates_do_not_multiply_memory() {
    let dir = common::scratch("hard-restarts");
    let text =
        std::fs::read_to_string(common::root().join("tests/malformed/gmm/restarts_huge.gmm"))
            .unwrap();
    write(&dir, "r.gmm", &text);
    let (out, _) = gmm_bounded(&dir, &["run", "r.gmm"], Some(GIB));
    assert_error(
        &out,
        &["restarts must be a whole number from 0 to 100000, got 1e15"],
    );
    // Twenty templates capture an 80 MB value: shared, not copied twenty times.
    let mut script = String::from("let big = zeros(10000000) + 1\n");
    for i in 0..20 {
        script.push_str(&format!(
            "model t{i}(K) {{\n    param mu[K] : real = 0\n    plate r {{ x ~ Normal(mu[0], 1) }}\n}}\n"
        ));
    }
    script.push_str("print len(big)\n");
    write(&dir, "t.gmm", &script);
    let (out, _) = gmm_bounded(&dir, &["run", "t.gmm"], Some(GIB));
    assert_eq!(stdout(&out), "10000000\n", "{}", stderr(&out));
}

/// A chain's passes hold a few numbers per row and state, and per-row posteriors a few per row
/// and component: where they would not fit, a fit checkpoints, and the queries and decoding
/// say so before allocating, instead of aborting.
#[test]
fn chains_too_long_for_the_memory_left_checkpoint_or_are_refused_before_allocating() {
    let dir = common::scratch("hard-chain-memory");
    // The same numbers twice: one sequence, and three sequences of consecutive rows (`s`).
    let (mut csv, mut by) = (
        String::with_capacity(8 << 20),
        String::with_capacity(12 << 20),
    );
    csv.push_str("x\n");
    by.push_str("s,x\n");
    let mut u: u64 = 1;
    for i in 0..1_000_000 {
        u = u
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = format!("{:.3}", (u >> 11) as f64 / (1u64 << 53) as f64 * 8.0);
        csv.push_str(&format!("{x}\n"));
        by.push_str(&format!("{},{x}\n", 1 + i / 400_000));
    }
    write(&dir, "d.csv", &csv);
    write(&dir, "by.csv", &by);
    let row = format!("[{}]", ["0.125"; 8].join(", "));
    let model = format!(
        "model hmm {{\n    param start : simplex[8] = {row}\n    \
         param A[8] : simplex[8] = [{}]\n    \
         param mu[8] : real = [0, 1, 2, 3, 4, 5, 6, 7]\n    param sd[8] : positive = 1\n    \
         chain t {{\n        z ~ Categorical(start) then Categorical(A[prev(z)])\n        \
         x ~ Normal(mu[z], sd[z])\n    }}\n}}\n",
        [row.as_str(); 8].join(", ")
    );
    write(&dir, "hmm.gmm", &model);
    let fit = ["fit", "hmm.gmm", "--data", "d.csv", "--max-iter", "3"];
    // 8 states over 10^6 rows: the full pass needs about 200 MB, more than 250 MB of address
    // space leaves once the program and the data are in (the posterior query below is refused
    // for it). A fit then keeps one segment of rows at a time and its checkpoints, and gives
    // the same model as with room.
    let (limited, _) = gmm_bounded(&dir, &fit, Some(250 << 20));
    assert_eq!(limited.status.code(), Some(0), "{}", stderr(&limited));
    let (free, _) = gmm_bounded(&dir, &fit, Some(2 * GIB));
    assert_eq!(free.status.code(), Some(0), "{}", stderr(&free));
    assert!(stdout(&free).contains("param A[8] : simplex[8] = ["));
    assert_eq!(stdout(&limited), stdout(&free));
    // Each sequence checkpointed in turn.
    write(
        &dir,
        "by.gmm",
        &model.replace("chain t {", "chain t by s {"),
    );
    let fit = ["fit", "by.gmm", "--data", "by.csv", "--max-iter", "3"];
    let (limited, _) = gmm_bounded(&dir, &fit, Some(250 << 20));
    assert_eq!(limited.status.code(), Some(0), "{}", stderr(&limited));
    let (free, _) = gmm_bounded(&dir, &fit, Some(2 * GIB));
    assert_eq!(free.status.code(), Some(0), "{}", stderr(&free));
    // The same model; the final likelihood, streamed a sequence at a time instead of taken
    // in one pass, sums the rows' shifts in another order.
    let (limited, free) = (stdout(&limited), stdout(&free));
    let parts = |out: &str| {
        let (model, loglik): (Vec<&str>, Vec<&str>) =
            out.lines().partition(|l| !l.starts_with("# loglik = "));
        let loglik: f64 = loglik[0]["# loglik = ".len()..].parse().unwrap();
        (model.join("\n"), loglik)
    };
    let ((m1, l1), (m2, l2)) = (parts(&limited), parts(&free));
    assert_eq!(m1, m2);
    assert!((l1 - l2).abs() <= 1e-12 * l2.abs(), "{l1} {l2}");
    let load = format!("{model}let d = load(\"d.csv\")\n");
    write(
        &dir,
        "post.gmm",
        &format!("{load}print len(p(z | x = d.x))\n"),
    );
    let (out, _) = gmm_bounded(&dir, &["run", "post.gmm"], Some(250 << 20));
    assert_error(
        &out,
        &["post.gmm:", "the forward-backward pass over 1000000 rows"],
    );
    write(
        &dir,
        "dec.gmm",
        &format!("{load}print len(decode(hmm, d).z)\n"),
    );
    let (out, _) = gmm_bounded(&dir, &["run", "dec.gmm"], Some(250 << 20));
    assert_error(&out, &["dec.gmm:", "decoding over 1000000 rows needs"]);
    // A mixture's per-row posteriors, 32 components: about 290 MB with their work.
    let mus: Vec<String> = (0..32).map(|k| k.to_string()).collect();
    let mix = format!(
        "model mix {{\n    param w : simplex[32] = [{}]\n    param mu[32] : real = [{}]\n    \
         plate i {{\n        z ~ Categorical(w)\n        x ~ Normal(mu[z], 1)\n    }}\n}}\n\
         let d = load(\"d.csv\")\nprint len(p(z | x = d.x))\n",
        ["0.03125"; 32].join(", "),
        mus.join(", ")
    );
    write(&dir, "mix.gmm", &mix);
    let (out, _) = gmm_bounded(&dir, &["run", "mix.gmm"], Some(250 << 20));
    assert_error(&out, &["mix.gmm:", "the query over 1000000 rows needs"]);
    // With room, the same work runs.
    let (out, _) = gmm_bounded(&dir, &["run", "dec.gmm"], Some(2 * GIB));
    assert_eq!(stdout(&out), "1000000\n", "{}", stderr(&out));
}

// ---------------------------------------------------------------- numbers

#[test]
fn numbers_that_are_not_missing_values() {
    let dir = common::scratch("hard-numbers");
    let model = "model m {\n    param mu : real = 0\n    plate r { x ~ Normal(mu, 1) }\n}\n";
    let run = |name: &str, body: &str| {
        write(&dir, name, &format!("{model}{body}"));
        gmm_bounded(&dir, &["run", name], Some(2 * GIB)).0
    };
    let out = run("nan_query.gmm", "print p(x = 0/0)\n");
    assert_error(&out, &["holds NaN", "0/0", "nan_query.gmm:5:13"]);
    let out = run("nan_fit.gmm", "let f = fit(m, table(x = [1, 0/0, 2]))\n");
    assert_error(&out, &["column `x`, row 2", "NaN"]);
    // NA stays missing, through arithmetic too.
    let out = run(
        "na.gmm",
        "print p(x = [0, NA]), NA + 1, fit(m, table(x = [1, NA, 2])).mu\n",
    );
    assert_eq!(
        stdout(&out),
        "[0.39894228040143265, 1] NA 1.5\n",
        "{}",
        stderr(&out)
    );
    write(
        &dir,
        "den.gmm",
        &std::fs::read_to_string(common::root().join("tests/malformed/gmm/denormal_sd.gmm"))
            .unwrap(),
    );
    let (out, _) = gmm_bounded(&dir, &["run", "den.gmm"], None);
    assert_error(&out, &["1e-320 is below the smallest normal 64-bit float"]);
    write(
        &dir,
        "soft.gmm",
        "print softmax([1/0, 1]), softmax([1/0, 1/0, 0]), softmax([-1/0, 0])\n",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "soft.gmm"], None);
    assert_eq!(
        stdout(&out),
        "[1, 0] [0.5, 0.5, 0] [0, 1]\n",
        "{}",
        stderr(&out)
    );
    write(
        &dir,
        "scale.gmm",
        &std::fs::read_to_string(common::root().join("tests/malformed/gmm/fit_huge_scale.gmm"))
            .unwrap(),
    );
    let (out, _) = gmm_bounded(&dir, &["run", "scale.gmm"], None);
    assert_error(&out, &["the data of `x` reach 1e200", "rescale `x`"]);
    write(&dir, "big.csv", "x\n1\n1e400\n");
    write(&dir, "g.gmm", GRADES);
    let (out, _) = gmm_bounded(&dir, &["fit", "g.gmm", "--data", "big.csv"], None);
    assert_error(
        &out,
        &[
            "big.csv: column `x`, row 2 (line 3 of the file): \"1e400\" is beyond the largest 64-bit float",
        ],
    );
}

// ---------------------------------------------------------------- files

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn outputs_never_replace_devices_inputs_or_permissions() {
    let dir = common::scratch("hard-outputs");
    write(&dir, "g.gmm", GRADES);
    write(&dir, "d.csv", "x\n1.5\n4.5\n2.5\n5\n");
    // A device is refused and stays a device.
    let null = device(&dir, "null", 3);
    let (out, _) = gmm_bounded(&dir, &["sample", "g.gmm", "-n", "5", "--out", "null"], None);
    assert_error(
        &out,
        &["cannot write null: it is a character device, not a regular file"],
    );
    assert!(
        std::fs::metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // An input of the same command is refused and unchanged.
    for (args, file) in [
        (
            &["sample", "g.gmm", "-n", "5", "--out", "g.gmm"][..],
            "g.gmm",
        ),
        (
            &["fit", "g.gmm", "--data", "d.csv", "--out", "d.csv"],
            "d.csv",
        ),
        (
            &["fit", "g.gmm", "--data", "d.csv", "--out", "./g.gmm"],
            "g.gmm",
        ),
    ] {
        let before = std::fs::read(dir.join(file)).unwrap();
        let (out, _) = gmm_bounded(&dir, args, None);
        assert_error(&out, &["it is also an input of this command"]);
        assert_eq!(std::fs::read(dir.join(file)).unwrap(), before);
    }
    // The replaced file keeps its permissions.
    for mode in [0o444, 0o600, 0o640] {
        let p = dir.join("out.csv");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        let (out, _) = gmm_bounded(
            &dir,
            &["sample", "g.gmm", "-n", "5", "--out", "out.csv"],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            mode
        );
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("z,x\n"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::remove_file(&p).unwrap();
    }
}

#[test]
fn a_link_planted_at_a_temporary_name_is_not_followed() {
    let dir = common::scratch("hard-planted");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    write(&out_dir, "g.gmm", GRADES);
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    // Every name the old scheme (`.NAME.PID.tmp`) would use for the next few thousand pids.
    let me = std::process::id();
    for pid in me..me + 3000 {
        let _ = std::os::unix::fs::symlink(&victim, out_dir.join(format!(".d.csv.{pid}.tmp")));
    }
    let (out, _) = gmm_bounded(
        &out_dir,
        &["sample", "g.gmm", "-n", "50", "--out", "d.csv"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let d = std::fs::symlink_metadata(out_dir.join("d.csv")).unwrap();
    assert!(d.file_type().is_file());
    assert_eq!(
        std::fs::read_to_string(out_dir.join("d.csv"))
            .unwrap()
            .lines()
            .count(),
        51
    );
}

#[test]
fn a_signal_during_a_write_leaves_no_temporary_file() {
    let dir = common::scratch("hard-signal");
    write(&dir, "g.gmm", GRADES);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        std::fs::write(dir.join("big.csv"), "old\n").unwrap();
        let mut child = gmm_cmd(
            &dir,
            &["sample", "g.gmm", "-n", "3000000", "--out", "big.csv"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Wait for the temporary file, then send the signal while it is being written.
        let began = std::time::Instant::now();
        let mut seen = false;
        while began.elapsed().as_secs() < 120 && child.try_wait().unwrap().is_none() {
            if listing(&dir).iter().any(|n| n.ends_with(".tmp")) {
                // SAFETY: kill on a child we started.
                unsafe { libc::kill(child.id() as i32, signal) };
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = child.wait().unwrap();
        assert!(seen, "the write was never seen under way");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        assert_eq!(listing(&dir), ["big.csv", "g.gmm"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("big.csv")).unwrap(),
            "old\n"
        );
    }
}

#[test]
fn text_round_trips_and_odd_inputs() {
    let dir = common::scratch("hard-text");
    // save then load gives back the same text: "NA", empty, padded, digits, quotes.
    write(
        &dir,
        "rt.gmm",
        "let d = table(a = [\"NA\", \"\", \"  pad \", \"007\", \"x\\\"y\", NA], b = [1, NA, 3, 4, 5, 6])
save(d, \"rt.csv\")
let e = load(\"rt.csv\")
assert e.a == d.a
assert len(e.a) == 6
print codes(e.a), e.b
",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "rt.gmm"], None);
    assert_eq!(
        stdout(&out),
        "[3, 0, 1, 2, 4, NA] [1, NA, 3, 4, 5, 6]\n",
        "{}",
        stderr(&out)
    );
    // A digit column saved as text stays text.
    write(
        &dir,
        "digits.gmm",
        "save(table(code = [\"01\", \"10\"]), \"c.csv\")\nprint load(\"c.csv\").code\n",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "digits.gmm"], None);
    assert_eq!(stdout(&out), "[\"01\", \"10\"]\n", "{}", stderr(&out));
    // A piped REPL reports a line that is not UTF-8 and goes on.
    let cmd = gmm_cmd(&dir, &["repl"]);
    let (out, _) =
        common::run_bounded(cmd, 60, Some(b"print 1\n\xff\xfe oops\nprint 2\n".to_vec()));
    assert_eq!(stdout(&out), "1\n2\n");
    assert_error(&out, &["<stdin>:2:1: the line is not UTF-8 text"]);
    // An empty column name.
    write(&dir, "e.csv", "x,\n1,2\n");
    write(&dir, "e.gmm", "let d = load(\"e.csv\")\n");
    let (out, _) = gmm_bounded(&dir, &["run", "e.gmm"], None);
    assert_error(&out, &["e.csv, line 1: column 2 of the header has no name"]);
    // A model without variables samples n rows.
    write(
        &dir,
        "n.gmm",
        "model m {\n    param mu : real = 0\n}\nprint len(sample(m, 3))\n",
    );
    let (out, _) = gmm_bounded(&dir, &["run", "n.gmm"], None);
    assert_eq!(stdout(&out), "3\n", "{}", stderr(&out));
    // A control character in a title makes no invalid XML.
    write(
        &dir,
        "t.gmm",
        &format!("{GRADES}plot(grades, title = \"a\\u0001b\", file = \"t.svg\")\n")
            .replace("\\u0001", "\u{1}"),
    );
    let (out, _) = gmm_bounded(&dir, &["run", "t.gmm"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("t.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("valid XML");
    assert!(svg.contains("a\\u{1}b"));
}

// ---------------------------------------------------------------- file access

/// inside/ holds the script and its data, outside/ other files; the working directory is
/// inside/ unless said otherwise.
fn policy_folders(name: &str) -> (PathBuf, PathBuf) {
    let dir = common::scratch(name);
    let (inside, outside) = (dir.join("inside"), dir.join("outside"));
    for d in [&inside, &outside] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("data.csv"), "x\n1\n2\n").unwrap();
    }
    std::os::unix::fs::symlink("../outside/data.csv", inside.join("link.csv")).unwrap();
    (inside, outside)
}

#[test]
fn scripts_use_only_their_folder_and_the_working_directory() {
    let (inside, outside) = policy_folders("hard-policy");
    let cases = [
        (
            "print load(\"/proc/self/environ\")\n",
            "cannot read /proc/self/environ",
            "--allow-read /proc/self/environ",
        ),
        (
            "print load(\"../outside/data.csv\")\n",
            "cannot read ../outside/data.csv",
            "--allow-read ../outside/data.csv",
        ),
        (
            "print load(\"link.csv\")\n",
            "cannot read link.csv",
            "--allow-read link.csv",
        ),
        (
            "print load(\"/etc/passwd\")\n",
            "cannot read /etc/passwd",
            "--allow-read /etc/passwd",
        ),
        (
            "save(\"x\", \"../outside/new.txt\")\n",
            "cannot write ../outside/new.txt",
            "--allow-write ../outside/new.txt",
        ),
    ];
    for (i, (script, message, option)) in cases.iter().enumerate() {
        let name = format!("s{i}.gmm");
        write(&inside, &name, script);
        let (out, _) = gmm_bounded(&inside, &["run", &name], None);
        assert_error(
            &out,
            &[
                message,
                "outside the script's folder and the working directory",
                option,
                "--allow-all",
            ],
        );
        assert!(!stdout(&out).contains("PATH="), "the environment leaked");
    }
    assert!(!outside.join("new.txt").exists());
    // Allowed by name, by folder, or all.
    write(
        &inside,
        "ok.gmm",
        "print load(\"../outside/data.csv\").x\nsave(\"x\", \"../outside/new.txt\")\n",
    );
    let (out, _) = gmm_bounded(
        &inside,
        &[
            "run",
            "--allow-read",
            "../outside",
            "--allow-write",
            "../outside/new.txt",
            "ok.gmm",
        ],
        None,
    );
    assert_eq!(stdout(&out), "[1, 2]\n", "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(outside.join("new.txt")).unwrap(),
        "x\n"
    );
    std::fs::remove_file(outside.join("new.txt")).unwrap();
    let (out, _) = gmm_bounded(&inside, &["run", "--allow-all", "ok.gmm"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    write(&inside, "link.gmm", "print load(\"link.csv\").x\n");
    let (out, _) = gmm_bounded(
        &inside,
        &["run", "--allow-read", "../outside/data.csv", "link.gmm"],
        None,
    );
    assert_eq!(stdout(&out), "[1, 2]\n", "{}", stderr(&out));
    // From another working directory, the script's own folder is allowed too.
    write(&inside, "own.gmm", "print load(\"data.csv\").x\n");
    let (out, _) = gmm_bounded(&outside, &["run", "../inside/own.gmm"], None);
    assert_eq!(stdout(&out), "[1, 2]\n", "{}", stderr(&out));
    // The REPL starts with the working directory allowed, and nothing else.
    let cmd = gmm_cmd(&inside, &["repl"]);
    let input = b"print load(\"data.csv\").x\nprint load(\"../outside/data.csv\").x\n".to_vec();
    let (out, _) = common::run_bounded(cmd, 60, Some(input));
    assert_eq!(stdout(&out), "[1, 2]\n");
    assert_error(&out, &["cannot read ../outside/data.csv", "--allow-read"]);
}
