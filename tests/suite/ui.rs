//! Golden diagnostics: every program in tests/ui/ is wrong before it runs, and every program in
//! tests/ui_run/ fails while running; `gmm check` (or `gmm run`) must fail cleanly (exit 1, a
//! location, no panic: [`common::assert_clean_failure`]) and print exactly the diagnostic stored
//! beside it. The programs in tests/ui_warn/ pass `gmm check` with warnings, and the inputs in
//! tests/ui_repl/ are typed into a piped REPL, which reports each error and goes on. Run with
//! `BLESS=1` to rewrite the stored files.

use crate::common;

use std::path::Path;
use std::process::Command;

#[test]
fn ui_corpus() {
    corpus("tests/ui", "check", 25);
}

#[test]
fn runtime_errors() {
    corpus("tests/ui_run", "run", 15);
}

#[test]
fn warnings() {
    for (path, out) in outputs("tests/ui_warn", "gmm", 1, |rel| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
        cmd.arg("check").arg(rel);
        cmd
    }) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{path}: {stderr}");
        assert!(stderr.starts_with("warning"), "{path}: {stderr}");
        assert!(
            common::has_script_location(&stderr, &path),
            "{path}: {stderr}"
        );
    }
}

#[test]
fn repl_inputs() {
    for (path, out) in outputs("tests/ui_repl", "in", 1, |rel| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
        cmd.arg("repl")
            .stdin(std::fs::File::open(rel).expect("readable input"));
        cmd
    }) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        assert!(
            common::has_script_location(&stderr, "<repl>"),
            "{path}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{path}: {stderr}");
    }
}

/// Runs `make(path)` for every file ending in `.ext` in `dir`, from the crate's root, and
/// compares its stderr (and stdout, when a `.stdout` file is stored) with the stored files.
/// Returns each file's path and output for further checks.
fn outputs(
    dir: &str,
    ext: &str,
    at_least: usize,
    make: impl Fn(&Path) -> Command,
) -> Vec<(String, std::process::Output)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
        .expect("the corpus folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(files.len() >= at_least, "{dir} has {} inputs", files.len());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut results = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(root).expect("inside the crate");
        let out = make(rel).current_dir(root).output().expect("gmm runs");
        for (stream, text) in [("stderr", &out.stderr), ("stdout", &out.stdout)] {
            let stored = path.with_extension(stream);
            let text = String::from_utf8_lossy(text).into_owned();
            if bless && (stream == "stderr" || !text.is_empty()) {
                std::fs::write(&stored, &text).expect("writable");
                continue;
            }
            let expected = std::fs::read_to_string(&stored).unwrap_or_default();
            if expected != text {
                failures.push(format!(
                    "{}: {stream} differs\n--- expected\n{expected}\n--- got\n{text}",
                    rel.display()
                ));
            }
        }
        results.push((rel.display().to_string(), out));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    results
}

/// Runs `gmm COMMAND` on every program in `dir` and compares its diagnostic.
fn corpus(dir: &str, command: &str, at_least: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
        .expect("the corpus folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gmm"))
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "{dir} has {} programs",
        files.len()
    );
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(root).expect("inside the crate");
        let out = Command::new(env!("CARGO_BIN_EXE_gmm"))
            .arg(command)
            .arg(rel)
            .current_dir(root)
            .output()
            .expect("gmm runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let expected_path = path.with_extension("stderr");
        let shown = rel.display().to_string();
        common::assert_clean_failure(&shown, &out, |e| common::has_script_location(e, &shown));
        if bless {
            std::fs::write(&expected_path, &stderr).expect("writable");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != stderr {
            failures.push(format!(
                "{}: diagnostic differs\n--- expected\n{expected}\n--- got\n{stderr}",
                rel.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
