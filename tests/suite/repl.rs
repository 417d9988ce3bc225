//! The REPL end to end: driven in a pseudo-terminal (declaring a model over several lines, a
//! query, an error and recovery, tab completion, `:vars`, `:help fit`, Ctrl-C at the prompt and
//! during a long fit, history kept between sessions), and scripted through a pipe.

use crate::common;

use rexpect::session::{Options, PtySession, spawn_with_options};
use std::io::Write;
use std::process::{Command, Stdio};

/// A REPL in a pseudo-terminal, with its history under `data`.
fn repl(data: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
    cmd.arg("repl")
        .current_dir(common::root())
        .env("XDG_DATA_HOME", data)
        .env("TERM", "xterm-256color");
    let opts = Options::new()
        .timeout_ms(Some(60_000))
        .strip_ansi_escape_codes(true);
    let mut p = spawn_with_options(cmd, opts).expect("the REPL starts in a pty");
    p.exp_string("gmm> ").expect("a prompt");
    p
}

/// Types `line` and Enter, and waits for the next prompt: `...> ` while the input continues,
/// `gmm> ` after it ran (rustyline redraws the prompt on every key, so only a prompt right
/// after a line break is a new one). Typing ahead of the prompt can be lost.
fn enter(p: &mut PtySession, line: &str, prompt: &str) -> String {
    p.send_line(line).unwrap();
    let pattern = format!(r"\n\r?{}", regex_escape(prompt));
    p.exp_regex(&pattern).unwrap().0
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

const GRADES: [&str; 9] = [
    "model grades {",
    "    param pi : simplex[2] = [0.6, 0.4]",
    "    param mu[2] : real = [2.5, 4.8]",
    "    param sigma[2] : positive = [0.6, 0.3]",
    "    plate exams {",
    "        z ~ Categorical(pi)",
    "        x ~ Normal(mu[z], sigma[z])",
    "    }",
    "}",
];

#[test]
fn a_session_in_a_terminal() {
    let data = common::scratch("repl-session");
    let mut p = repl(&data);
    // A model over several lines: a continuation prompt while the brace is open.
    let mut shown = String::new();
    for (i, line) in GRADES.iter().enumerate() {
        let last = i + 1 == GRADES.len();
        shown = enter(&mut p, line, if last { "gmm> " } else { "...> " });
    }
    assert!(
        shown.contains("model grades: z ~ Categorical (latent), x ~ Normal (observed); plates: exams (data); 5 free parameters"),
        "{shown}"
    );
    // A query echoes its value (tests/reference/queries.expected: grades_posterior).
    let shown = enter(&mut p, "p(z | x = 3.0)", "gmm> ");
    assert!(
        shown.contains("[0.9999999712634422, 2.873655779312976e-8]"),
        "{shown}"
    );
    // An error points into the line just typed, and the session goes on.
    let shown = enter(&mut p, "print mu + 1", "gmm> ");
    assert!(shown.contains("unknown name `mu`"), "{shown}");
    assert!(shown.contains("<repl>:1:7"), "{shown}");
    let shown = enter(&mut p, "40 + 2", "gmm> ");
    assert!(shown.contains("42"), "{shown}");
    // Tab completes a name in scope, then a model's field.
    p.send("let s = grad\t").unwrap();
    p.flush().unwrap();
    p.exp_string("let s = grades").unwrap();
    p.send(".sig\t").unwrap();
    p.flush().unwrap();
    p.exp_string("grades.sigma").unwrap();
    enter(&mut p, "", "gmm> ");
    // A path inside a string completes from the files.
    p.send("let d = load(\"examples/lecture_gr\t").unwrap();
    p.flush().unwrap();
    p.exp_string("examples/lecture_grades.csv").unwrap();
    let shown = enter(&mut p, "\")", "gmm> ");
    assert!(!shown.contains("error"), "{shown}");
    let shown = enter(&mut p, "len(d)", "gmm> ");
    assert!(shown.contains("1000"), "{shown}");
    let shown = enter(&mut p, "s * 2", "gmm> ");
    assert!(shown.contains("[1.2, 0.6]"), "{shown}");
    // :vars lists names with kind and shape; :help fit explains the options.
    let shown = enter(&mut p, ":vars", "gmm> ");
    assert!(shown.contains("a vector of 2 numbers  [2]"), "{shown}");
    let shown = enter(&mut p, ":help fit", "gmm> ");
    assert!(
        shown.contains("max_iter") && shown.contains("example:"),
        "{shown}"
    );
    // Ctrl-C at the prompt clears the line.
    p.send("print 1").unwrap();
    p.flush().unwrap();
    p.exp_string("print 1").unwrap();
    p.send_control('c').unwrap();
    p.exp_regex(r"\n\r?gmm> ").unwrap();
    let shown = enter(&mut p, "print 7 * 6", "gmm> ");
    assert!(shown.contains("42") && !shown.contains("17"), "{shown}");
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
    // The history survives the session.
    let history = std::fs::read_to_string(data.join("gmm/history")).expect("a history file");
    assert!(history.contains("p(z | x = 3.0)"), "{history}");
    let mut again = repl(&data);
    // Up recalls the last input of the earlier session.
    again.send("\x1b[A").unwrap();
    again.flush().unwrap();
    again.exp_string(":quit").unwrap();
    again.send_control('c').unwrap();
    again.exp_regex(r"\n\r?gmm> ").unwrap();
    again.send_control('d').unwrap();
    again.exp_eof().unwrap();
}

#[test]
fn ctrl_c_stops_a_long_fit_and_keeps_the_session() {
    let data = common::scratch("repl-interrupt");
    let mut p = repl(&data);
    let mut shown = String::new();
    for (i, line) in GRADES.iter().enumerate() {
        let last = i + 1 == GRADES.len();
        shown = enter(&mut p, line, if last { "gmm> " } else { "...> " });
    }
    assert!(shown.contains("5 free parameters"), "{shown}");
    enter(&mut p, "let d = sample(grades, 100000, seed = 1)", "gmm> ");
    // verbose prints every iteration, so the fit is known to be running before Ctrl-C.
    p.send_line("let f = fit(grades, d, tol = 0, max_iter = 1000000, verbose = true)")
        .unwrap();
    p.exp_string("iteration 2: loglik").unwrap();
    p.send_control('c').unwrap();
    let shown = p.exp_regex(r"\n\r?gmm> ").unwrap().0;
    assert!(shown.contains("interrupted after"), "{shown}");
    assert!(shown.contains("the value is the fit so far"), "{shown}");
    // The fit so far is kept: whole iterations, not converged.
    let shown = enter(&mut p, "f.iterations >= 2 and not f.converged", "gmm> ");
    assert!(shown.contains("true"), "{shown}");
    let shown = enter(&mut p, "f.loglik == f.trace[len(f.trace) - 1]", "gmm> ");
    assert!(shown.contains("true"), "{shown}");
    // Without verbose, a fit longer than a second reports once a second, as `gmm fit` does.
    p.send_line("let g = fit(grades, d, tol = 0, max_iter = 1000000)")
        .unwrap();
    p.exp_regex(r"fit grades: iteration \d+, loglik = -?[0-9.e]+, \d+\.\d s")
        .unwrap();
    p.send_control('c').unwrap();
    let shown = p.exp_regex(r"\n\r?gmm> ").unwrap().0;
    assert!(shown.contains("interrupted after"), "{shown}");
    // The session is intact: earlier names are there, new statements run.
    let shown = enter(&mut p, "len(d) + 1", "gmm> ");
    assert!(shown.contains("100001"), "{shown}");
    // A runaway loop stops too, and keeps what it set so far.
    enter(&mut p, "let n = 0", "gmm> ");
    // It prints as it goes, so it is known to be running before Ctrl-C.
    enter(&mut p, "for i in 0..100000 { print \"outer\", i", "...> ");
    p.send_line("for j in 0..100000 { n = n + 1 } }").unwrap();
    p.exp_string("outer 1").unwrap();
    p.send_control('c').unwrap();
    let shown = p.exp_regex(r"\n\r?gmm> ").unwrap().0;
    assert!(shown.contains("interrupted"), "{shown}");
    let shown = enter(&mut p, "n > 0", "gmm> ");
    assert!(shown.contains("true"), "{shown}");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Runs `gmm repl` with `input` on stdin.
fn piped(input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gmm"))
        .arg("repl")
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gmm starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("gmm ends")
}

#[test]
fn statements_from_a_pipe() {
    let out = piped("print 1 + 1\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
    assert!(out.status.success());
    // Several statements, one across lines, an error in the middle, a command.
    let script = format!(
        "{}\nlet xs = [1,\n  2, 3]\nsum(xs)\nprint nope\ngrades.mu\n:models\n",
        GRADES.join("\n")
    );
    let out = piped(&script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout,
        "model grades: z ~ Categorical (latent), x ~ Normal (observed); plates: exams (data); 5 free parameters\n\
         6\n[2.5, 4.8]\n\
         model grades: z ~ Categorical (latent), x ~ Normal (observed); plates: exams (data); 5 free parameters\n"
    );
    assert!(stderr.contains("unknown name `nope`"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "an input failed");
    // `gmm repl FILE` runs the file first; its paths are relative to its folder.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(["repl", "examples/em_lecture.gmm"])
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"f.iterations\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("100\n"));
}
