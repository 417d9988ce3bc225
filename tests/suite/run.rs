//! `gmm run` end to end: every example runs cleanly, and the scripts in tests/run/ print exactly
//! the output stored beside them (run in a scratch folder, since some write files). `BLESS=1`
//! rewrites the stored output.

use crate::common;

use std::path::Path;

/// Every example runs without an error or a warning, in a copy of examples/ so that the test
/// never rewrites the repository; the pictures the examples write (plots and plate diagrams,
/// shown in the README) must come out exactly as committed. `BLESS=1` copies them back.
#[test]
fn every_example_runs_cleanly() {
    let files = common::gmm_files("examples");
    assert!(files.len() >= 7, "examples: {files:?}");
    let work = common::scratch("examples");
    let committed = common::root().join("examples");
    for entry in std::fs::read_dir(&committed).expect("examples/") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().expect("a file name");
        if path.extension().is_some_and(|e| e != "svg") {
            std::fs::copy(&path, work.join(name)).expect("copied");
        }
    }
    for f in &files {
        let name = f.file_name().expect("a file").to_str().expect("UTF-8 name");
        let out = common::gmm_at(&work, &["run", name]);
        assert!(
            out.status.success(),
            "examples/{name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "examples/{name} wrote to stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bless = std::env::var_os("BLESS").is_some();
    let mut drawn = 0;
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&work).expect("the copy") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "svg") {
            continue;
        }
        drawn += 1;
        let name = path.file_name().expect("a file name");
        let made = std::fs::read(&path).expect("readable");
        if bless {
            std::fs::write(committed.join(name), &made).expect("writable");
        } else if std::fs::read(committed.join(name)).ok().as_deref() != Some(&made[..]) {
            stale.push(name.to_string_lossy().into_owned());
        }
    }
    assert!(drawn >= 7, "the examples drew only {drawn} pictures");
    assert!(
        stale.is_empty(),
        "examples/ holds other pictures than the examples draw now: {stale:?} \
         (BLESS=1 cargo test --release run:: refreshes them)"
    );
}

#[test]
fn mixture_intro_prints_the_lecture_value() {
    let out = common::gmm(&["run", "examples/mixture_intro.gmm"]);
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_string);
    let v: f64 = first.expect("a line").parse().expect("a number");
    assert!((v - 0.525).abs() < 1e-12);
}

#[test]
fn golden_output() {
    let dir = common::root().join("tests/run");
    let bless = std::env::var_os("BLESS").is_some();
    let scratch = common::scratch("run-golden");
    let mut failures = Vec::new();
    for script in common::gmm_files("tests/run") {
        let name = script.file_name().expect("a file").to_owned();
        let work = scratch.join(Path::new(&name).with_extension(""));
        std::fs::create_dir_all(&work).expect("scratch folder");
        std::fs::copy(&script, work.join(&name)).expect("copied");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
            .arg("run")
            .arg(&name)
            .current_dir(&work)
            .output()
            .expect("gmm runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {:?}\n{}",
                script.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let golden = dir.join(Path::new(&name).with_extension("stdout"));
        if bless {
            std::fs::write(&golden, &stdout).expect("writable");
        } else if std::fs::read_to_string(&golden).unwrap_or_default() != stdout {
            failures.push(format!("{}: output differs:\n{stdout}", script.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A model printed as source and read back is the same model: the same parameters and
/// constants, and the same text when printed again.
#[test]
fn model_source_round_trips() {
    let mut seen = 0;
    for f in common::gmm_files("examples")
        .into_iter()
        .chain(common::gmm_files("tests/reference"))
    {
        let text = std::fs::read_to_string(&f).expect("readable");
        let checked = gmm::check::check_program(&gmm::syntax::parse(&text).expect("parses"));
        for m in checked.models.iter().filter_map(|m| m.model.as_ref()) {
            let source = gmm::interp::source::model_source(m);
            let again = gmm::check::check_program(&gmm::syntax::parse(&source).expect("reparses"));
            assert!(!again.has_errors(), "{source}\n{:?}", again.diags);
            let back = again.models[0].model.as_ref().expect("lowers");
            assert_eq!(back.params, m.params, "{source}");
            assert_eq!(back.consts, m.consts, "{source}");
            assert_eq!(gmm::interp::source::model_source(back), source);
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} models");
}

/// A save that cannot complete leaves nothing behind: no file and no temporary.
#[test]
fn failed_save_leaves_no_file() {
    let work = common::scratch("run-failed-save");
    std::fs::write(
        work.join("s.gmm"),
        "let d = table(x = [1, 2])\nsave(d, \"missing/out.csv\")\n",
    )
    .expect("script written");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(["run", "s.gmm"])
        .current_dir(&work)
        .output()
        .expect("gmm runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s.gmm:2:"), "{stderr}");
    let mut left: Vec<String> = std::fs::read_dir(&work)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["s.gmm"]);
}

/// A statement run on its own (as the REPL will) still refuses assignment to an undefined name,
/// with the checker's diagnostic.
#[test]
fn unchecked_assignment_to_undefined_name() {
    let text = "let total = 1\ntotl = 2\n";
    let program = gmm::syntax::parse(text).expect("parses");
    let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
    let diags = interp.run(&program, text).expect_err("fails");
    assert_eq!(diags[0].message, "assignment to undefined name `totl`");
    assert_eq!(diags[0].span, Some(gmm::syntax::Span::new(14, 18)));
    assert!(diags[0].help.iter().any(|h| h.contains("`total`")));
}
