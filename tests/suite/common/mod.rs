//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fuzz;

use std::path::{Path, PathBuf};

/// The lecture's exam-grade mixture (examples/grades.gmm), as source.
pub const GRADES: &str = "model grades {
    param pi : simplex[2] = [0.6, 0.4]
    param mu[2] : real = [2.5, 4.8]
    param sigma[2] : positive = [0.6, 0.3]
    plate exams {
        z ~ Categorical(pi)
        x ~ Normal(mu[z], sigma[z])
    }
}
";

/// The crate's root folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.gmm` files in a folder of the crate, sorted.
pub fn gmm_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gmm"))
        .collect();
    v.sort();
    v
}

/// The code blocks of the language specification that are complete programs, or `None`
/// (after saying so) when the specification is not beside the checkout.
pub fn spec_programs() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/LANGUAGE.md")).expect("docs/LANGUAGE.md");
    // Syntax schemas such as `model NAME { ITEMS }` are not programs; sections of the second
    // edition whose issue is still open are left out by name.
    sections(&text)
        .into_iter()
        .filter(|(heading, _)| !SPEC_PENDING.iter().any(|p| heading.starts_with(p)))
        .flat_map(|(heading, body)| {
            let (before, after) = SPEC_CONTEXT
                .iter()
                .find(|(h, _, _)| heading.starts_with(h))
                .map_or(("", ""), |(_, b, a)| (*b, *a));
            code_blocks(&body)
                .into_iter()
                .map(move |b| format!("{before}{b}{after}"))
        })
        .filter(|b| !b.contains("ITEMS"))
        .collect()
}

/// What a section's fragments assume, written before and after each of its code blocks: §9.1's
/// queries name `x[0]` to `x[3]` of a mixture's vector and a dataset `d` with a column `x0`;
/// §9.2's parameter lines belong in a model template of size K, which is then made and fitted.
pub const SPEC_CONTEXT: &[(&str, &str, &str)] = &[
    (
        "### 9.2",
        "model mix(K) {\n",
        "    plate rows {
        z ~ Categorical(pi)
        x ~ Normal(mu[z], sigma[z])
        y ~ MvNormal([0, 0], S[z])
        b ~ Bernoulli(theta)
    }
}
let m = mix(2)
let d = sample(m.with(pi = [0.5, 0.5], mu = [0, 3], sigma = [1, 1], S = [eye(2), eye(2)], theta = 0.3), 200, seed = 1)
let f = fit(m, d, seed = 1)
assert close(f.logpost, f.loglik + logprior(f))
",
    ),
    (
    "### 9.1",
    "model m {
    param pi : simplex[2] = [0.4, 0.6]
    param mu[2] : vector[4] = [[0, 0, 0, 0], [2, 1, -1, 0.5]]
    param S[2] : cov[4] = [[[1, 0.5, 0, 0], [0.5, 2, 0.3, 0], [0, 0.3, 1, 0], [0, 0, 0, 1]],
                           [[1, -0.3, 0, 0.1], [-0.3, 1, 0, 0], [0, 0, 2, 0], [0.1, 0, 0, 1]]]
    plate rows {
        z ~ Categorical(pi)
        x ~ MvNormal(mu[z], S[z])
    }
}
let d = table(x0 = [0.5, 1.5, 2.5])
",
    "",
    ),
];

/// Sections of LANGUAGE.md's second edition whose programs do not run yet, each with the open
/// issue that brings it. An entry leaves this list when its issue lands.
pub const SPEC_PENDING: &[&str] = &[];

/// A Markdown text split at its `#` headings: each heading line with the text below it.
pub fn sections(text: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), String::new())];
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            out.push((line.to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The fenced code blocks of a Markdown text.
pub fn code_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_start().starts_with("```")) {
            (None, true) => cur = Some(String::new()),
            (Some(b), true) => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), false) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// A small deterministic generator (xorshift64*), so tests need no extra crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A fresh, empty folder for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch folder");
    d
}

/// Runs the `gmm` binary with `args` in `dir`, on `threads` rayon threads (the default for
/// `None`), and returns what it printed; the test fails if it fails.
pub fn gmm_in(dir: &Path, args: &[&str], threads: Option<&str>) -> Vec<u8> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"));
    cmd.args(args).current_dir(dir);
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    let out = cmd.output().expect("the gmm binary runs");
    assert!(
        out.status.success(),
        "gmm {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The last model declared in `text`, lowered.
pub fn model(text: &str) -> gmm::model::Model {
    lowered(text, None)
}

/// The model `name` declared in `text`, lowered.
pub fn named_model(text: &str, name: &str) -> gmm::model::Model {
    lowered(text, Some(name))
}

fn lowered(text: &str, name: Option<&str>) -> gmm::model::Model {
    let program = gmm::syntax::parse(text).expect("parses");
    let checked = gmm::check::check_program(&program);
    assert!(!checked.has_errors(), "{:?}", checked.diags);
    let found = match name {
        Some(_) => checked.find(name),
        None => checked.models.last(),
    };
    found
        .and_then(|m| m.model.clone())
        .expect("a lowered model")
}

/// Runs the `gmm` binary with `args` from the crate's root folder.
pub fn gmm(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the gmm binary runs")
}

/// Runs the `gmm` binary with `args` in `dir`.
pub fn gmm_at(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the gmm binary runs")
}

/// The numbers of a printed value (`3`, `[1, 2]`, `[[1, 2], [3, 4]]`, `inf`, `nan`) and its
/// shape.
pub fn parse_printed(text: &str) -> (Vec<usize>, Vec<f64>) {
    fn value(s: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut Vec<f64>) -> Vec<usize> {
        while s.peek() == Some(&' ') {
            s.next();
        }
        if s.peek() == Some(&'[') {
            s.next();
            let mut n = 0;
            let mut inner = Vec::new();
            loop {
                while s.peek() == Some(&' ') {
                    s.next();
                }
                if s.peek() == Some(&']') {
                    s.next();
                    break;
                }
                inner = value(s, out);
                n += 1;
                while s.peek() == Some(&' ') {
                    s.next();
                }
                if s.peek() == Some(&',') {
                    s.next();
                }
            }
            let mut shape = vec![n];
            shape.extend(inner);
            return shape;
        }
        let mut tok = String::new();
        while let Some(&c) = s.peek() {
            if c == ',' || c == ']' {
                break;
            }
            tok.push(c);
            s.next();
        }
        out.push(tok.trim().parse::<f64>().expect("a printed number"));
        Vec::new()
    }
    let mut out = Vec::new();
    let shape = value(&mut text.trim().chars().peekable(), &mut out);
    (shape, out)
}

/// Whether `text` holds `file:LINE:COL` with LINE and COL numbers.
pub fn has_script_location(text: &str, file: &str) -> bool {
    text.match_indices(&format!("{file}:")).any(|(at, m)| {
        let rest = &text[at + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap_or("");
        let col: String = parts
            .next()
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        !line.is_empty() && line.chars().all(|c| c.is_ascii_digit()) && !col.is_empty()
    })
}

/// Whether `text` names `file` with a line (`file, line N`) or a column and row
/// (`file: column `x`, row N`).
pub fn has_csv_location(text: &str, file: &str) -> bool {
    let number_after = |s: &str, key: &str| {
        s.find(key).is_some_and(|i| {
            s[i + key.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    };
    text.lines().any(|l| {
        l.find(file).is_some_and(|i| {
            let rest = &l[i + file.len()..];
            (rest.starts_with(", line ") && number_after(rest, ", line "))
                || (rest.starts_with(": column `") && number_after(rest, "`, row "))
        })
    })
}

/// Exit status 1, some location, no panic, and a message on stderr only.
pub fn assert_clean_failure(
    what: &str,
    out: &std::process::Output,
    located: impl Fn(&str) -> bool,
) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: exit status\n{stderr}");
    assert!(stderr.starts_with("error"), "{what}: {stderr}");
    assert!(located(&stderr), "{what}: no location in\n{stderr}");
    for bad in ["panicked", "RUST_BACKTRACE", "stack overflow"] {
        assert!(!stderr.contains(bad), "{what}: {stderr}");
    }
}

/// Runs `cmd` with its output read as it comes (so a child writing much never blocks on a full
/// pipe), `stdin` written to it, and kills it after `secs` seconds: a hang fails the test.
/// Returns the output and how long it ran.
pub fn run_bounded(
    mut cmd: std::process::Command,
    secs: u64,
    stdin: Option<Vec<u8>>,
) -> (std::process::Output, std::time::Duration) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let began = std::time::Instant::now();
    let mut child = cmd.spawn().expect("the command starts");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = loop {
        if let Some(s) = child.try_wait().expect("waits") {
            break s;
        }
        if began.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let took = began.elapsed();
    let output = std::process::Output {
        status,
        stdout: out.join().expect("stdout read"),
        stderr: err.join().expect("stderr read"),
    };
    (output, took)
}

/// Limits what a child may take: its address space (RLIMIT_AS) and the size of any file it
/// writes (RLIMIT_FSIZE), in bytes.
pub fn limit(cmd: &mut std::process::Command, address_space: Option<u64>, file_size: Option<u64>) {
    use std::os::unix::process::CommandExt;
    let set = |what, n: u64| {
        let lim = libc::rlimit {
            rlim_cur: n,
            rlim_max: n,
        };
        // SAFETY: setrlimit is async-signal-safe, as pre_exec requires.
        if unsafe { libc::setrlimit(what, &lim) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: the closure calls only setrlimit.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(n) = address_space {
                set(libc::RLIMIT_AS, n)?;
            }
            if let Some(n) = file_size {
                set(libc::RLIMIT_FSIZE, n)?;
            }
            Ok(())
        });
    }
}

/// The Python of a virtual environment in the target folder with `packages` installed by pip,
/// made on first use. A failed `venv` or install fails the test: it never skips.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    if !python.exists() {
        let mut make = std::process::Command::new("python3");
        make.args(["-m", "venv"]).arg(&venv);
        let (out, _) = run_bounded(make, 120, None);
        assert!(
            out.status.success(),
            "python3 -m venv failed (this test needs Python 3 with venv):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut pip = std::process::Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(packages);
    let (out, _) = run_bounded(pip, 600, None);
    assert!(
        out.status.success(),
        "pip install {} failed:\n{}",
        packages.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    python
}

/// Runs the Python client `script` (under tests/) as `script GMM EXAMPLES SCRATCH` in the
/// scratch folder `name`, with `python` and within `secs` seconds; the test fails with what it
/// printed unless it succeeds. `prepare` adjusts the command (its environment).
pub fn python_client(
    python: &Path,
    script: &str,
    name: &str,
    secs: u64,
    prepare: impl FnOnce(&mut std::process::Command, &Path),
) {
    let scratch = scratch(name);
    let mut run = std::process::Command::new(python);
    run.arg(root().join(script))
        .arg(env!("CARGO_BIN_EXE_gmm"))
        .arg(root().join("examples"))
        .arg(&scratch)
        .current_dir(&scratch);
    prepare(&mut run, &scratch);
    let (out, _) = run_bounded(run, secs, None);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
