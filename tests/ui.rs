//! Golden diagnostics: every program in tests/ui/ is wrong before it runs, and every program in
//! tests/ui_run/ fails while running; `gmm check` (or `gmm run`) must fail cleanly (exit 1, a
//! location, no panic: [`common::assert_clean_failure`]) and print exactly the diagnostic stored
//! beside it. Run with `BLESS=1` to rewrite the stored files.

mod common;

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
