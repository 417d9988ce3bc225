//! Every bad input ends the same way through the real binary: exit status 1, a message that
//! says where (`file:line:col` for a script; the CSV file with its line, or its column and row),
//! and no panic ([`common::assert_clean_failure`], which tests/ui.rs applies to every program in
//! tests/ui/ and tests/ui_run/). The inputs here are the corpus in tests/malformed/: scripts in
//! gmm/ (a first line `# gmm: ARGS` gives the command, else `run`) and CSV files in csv/ fitted
//! to tests/malformed/models.gmm (`vec_*.csv` to model `two`, the others to `one`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join(dir))
        .expect("folder exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// `gmm args` in `dir`, killed after 60 s (a hang fails the test).
fn gmm(dir: &Path, args: &[String]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"));
    cmd.args(args).current_dir(dir);
    common::run_bounded(cmd, 60, None).0
}

#[test]
fn malformed_scripts_fail_cleanly() {
    let dir = common::root().join("tests/malformed/gmm");
    let scripts = files("tests/malformed/gmm", "gmm");
    for path in &scripts {
        let file = name(path);
        let text = std::fs::read(path).expect("readable");
        let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let mut args: Vec<String> = match std::str::from_utf8(first)
            .ok()
            .and_then(|l| l.strip_prefix("# gmm: "))
        {
            Some(a) => a.split_whitespace().map(str::to_string).collect(),
            None => vec!["run".into()],
        };
        args.push(file.clone());
        let out = gmm(&dir, &args);
        common::assert_clean_failure(&file, &out, |e| common::has_script_location(e, &file));
    }
    assert!(scripts.len() >= 30, "{} scripts", scripts.len());
}

#[test]
fn malformed_csv_files_fail_cleanly() {
    let dir = common::root().join("tests/malformed");
    let csvs = files("tests/malformed/csv", "csv");
    for path in &csvs {
        let file = format!("csv/{}", name(path));
        let model = if name(path).starts_with("vec_") {
            "two"
        } else {
            "one"
        };
        let args: Vec<String> = ["fit", "models.gmm", "--model", model, "--data", &file]
            .map(str::to_string)
            .to_vec();
        let out = gmm(&dir, &args);
        common::assert_clean_failure(&file, &out, |e| common::has_csv_location(e, &file));
        assert!(out.stdout.is_empty(), "{file}: printed a model");
    }
    assert!(csvs.len() >= 30, "{} files", csvs.len());
}

/// The location checks themselves.
#[test]
fn locations_are_recognised() {
    assert!(common::has_script_location("  ┌─ a.gmm:3:14\n", "a.gmm"));
    assert!(common::has_script_location(
        "error: a.gmm:2:10: the file",
        "a.gmm"
    ));
    assert!(!common::has_script_location("error: a.gmm is bad", "a.gmm"));
    assert!(!common::has_script_location("a.gmm:x:1", "a.gmm"));
    assert!(common::has_csv_location(
        "error: d.csv, line 3: 1 cell",
        "d.csv"
    ));
    assert!(common::has_csv_location(
        "error: d.csv: column `x`, row 2 (line 3)",
        "d.csv"
    ));
    assert!(!common::has_csv_location("error: d.csv: bad", "d.csv"));
    assert!(!common::has_csv_location("error: no file named", "d.csv"));
}

/// Messy but valid files load as the clean one does: a byte-order mark, CRLF line endings,
/// a quoted header, white space around cells, and missing cells written empty or `NA` give the
/// same fit as the plain file with empty cells. (Quoted cells are text, as Python's
/// QUOTE_NONNUMERIC and R's write.csv have it, so numbers stay unquoted.)
#[test]
fn messy_but_valid_csv_fits_like_the_clean_file() {
    let dir = common::scratch("malformed-messy-valid");
    std::fs::copy(
        common::root().join("tests/malformed/models.gmm"),
        dir.join("models.gmm"),
    )
    .unwrap();
    let xs = [1.2, 0.4, 3.3, 2.9, 0.1, 3.8, 2.2, 0.7];
    let mut clean = String::from("x,z\n");
    let mut messy = String::from("\u{feff}\"x\",z \r\n");
    for (i, x) in xs.iter().enumerate() {
        let z = if i % 3 == 0 { "" } else { "1" };
        clean.push_str(&format!("{x},{z}\n"));
        let z = match (i % 3, i % 2) {
            (0, 0) => " NA ".to_string(),
            (0, _) => "".to_string(),
            _ => format!(" {z}"),
        };
        messy.push_str(&format!("  {x} ,{z}\r\n"));
    }
    std::fs::write(dir.join("clean.csv"), clean).unwrap();
    std::fs::write(dir.join("messy.csv"), messy).unwrap();
    let fit = |file: &str| {
        common::gmm_in(
            &dir,
            &["fit", "models.gmm", "--model", "one", "--data", file],
            None,
        )
    };
    let clean = fit("clean.csv");
    assert!(String::from_utf8_lossy(&clean).contains("# converged = true"));
    assert_eq!(fit("messy.csv"), clean);
}
