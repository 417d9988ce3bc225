//! Files a command writes (`gmm fit --out`, `gmm sample --out`, `save`, `plot(file = …)`) appear
//! whole or not at all: a write that fails part-way — here because the process may write at
//! most 4 KiB to any file (RLIMIT_FSIZE) — ends in an error naming the path, leaves the old file
//! untouched and no temporary file behind. A script may read and write the same path.

use crate::common;

use crate::common::GRADES;
use std::path::Path;
use std::process::Output;

/// `gmm args` in `dir`, allowed to write at most `limit` bytes to a file.
fn gmm_limited(dir: &Path, args: &[&str], limit: u64) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"));
    cmd.args(args).current_dir(dir);
    common::limit(&mut cmd, None, Some(limit));
    common::run_bounded(cmd, 120, None).0
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A failed write: exit 1, the path named, no panic, `old` still holds `before`, and the folder
/// holds exactly `files`.
fn assert_failed_cleanly(out: &Output, dir: &Path, old: &str, before: &str, files: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(old), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join(old)).expect("the old file"),
        before
    );
    assert_eq!(listing(dir), files);
}

#[test]
fn sample_out_fails_whole() {
    let dir = common::scratch("files-sample");
    std::fs::write(dir.join("g.gmm"), GRADES).unwrap();
    std::fs::write(dir.join("d.csv"), "x\n1\n").unwrap();
    // 10 000 rows are far more than 4 KiB.
    let out = gmm_limited(
        &dir,
        &["sample", "g.gmm", "-n", "10000", "--out", "d.csv"],
        4096,
    );
    assert_failed_cleanly(&out, &dir, "d.csv", "x\n1\n", &["d.csv", "g.gmm"]);
    // Without the limit the same command writes the whole file.
    let out = gmm_limited(
        &dir,
        &["sample", "g.gmm", "-n", "10000", "--out", "d.csv"],
        libc::RLIM_INFINITY,
    );
    assert!(out.status.success());
    let text = std::fs::read_to_string(dir.join("d.csv")).unwrap();
    assert_eq!(text.lines().count(), 10001);
}

#[test]
fn fit_out_fails_whole() {
    let dir = common::scratch("files-fit");
    // Many parameters make the fitted model's source longer than the limit.
    let k = 400;
    let model = format!(
        "model big {{
    param pi : simplex[{k}]
    param mu[{k}] : real
    param sigma[{k}] : positive
    plate rows {{
        z ~ Categorical(pi)
        x ~ Normal(mu[z], sigma[z])
    }}
}}
"
    );
    std::fs::write(dir.join("big.gmm"), model).unwrap();
    let mut data = String::from("x\n");
    for i in 0..2 * k {
        data.push_str(&format!("{}\n", f64::from(i as u32) * 0.37));
    }
    std::fs::write(dir.join("d.csv"), data).unwrap();
    std::fs::write(dir.join("fitted.gmm"), "# old\n").unwrap();
    let args = [
        "fit",
        "big.gmm",
        "--data",
        "d.csv",
        "--max-iter",
        "2",
        "--out",
        "fitted.gmm",
    ];
    let out = gmm_limited(&dir, &args, 4096);
    assert_failed_cleanly(
        &out,
        &dir,
        "fitted.gmm",
        "# old\n",
        &["big.gmm", "d.csv", "fitted.gmm"],
    );
    let out = gmm_limited(&dir, &args, libc::RLIM_INFINITY);
    assert!(out.status.success());
    let text = std::fs::read_to_string(dir.join("fitted.gmm")).unwrap();
    assert!(text.len() > 4096 && text.contains("# converged = "));
}

#[test]
fn save_and_plot_fail_whole() {
    let dir = common::scratch("files-save");
    let script = format!(
        "{GRADES}
let d = sample(grades, 5000, seed = 1)
save(d, \"d.csv\")
"
    );
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    std::fs::write(dir.join("d.csv"), "x\n1\n").unwrap();
    let out = gmm_limited(&dir, &["run", "s.gmm"], 4096);
    assert_failed_cleanly(&out, &dir, "d.csv", "x\n1\n", &["d.csv", "s.gmm"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("s.gmm:12:"));

    let script = format!("{GRADES}\nplot(grades, file = \"g.svg\")\n");
    std::fs::write(dir.join("p.gmm"), script).unwrap();
    std::fs::write(dir.join("g.svg"), "old").unwrap();
    let out = gmm_limited(&dir, &["run", "p.gmm"], 2048);
    assert_failed_cleanly(
        &out,
        &dir,
        "g.svg",
        "old",
        &["d.csv", "g.svg", "p.gmm", "s.gmm"],
    );
}

#[test]
fn a_script_reads_and_writes_the_same_path() {
    let dir = common::scratch("files-same-path");
    std::fs::write(dir.join("d.csv"), "x,z\n1.5,0\n2.5,NA\n4,1\n").unwrap();
    let script = "let d = load(\"d.csv\")
save(table(x = d.x * 2, z = d.z), \"d.csv\")
let e = load(\"d.csv\")
print e.x
print e.z
";
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = String::from_utf8(common::gmm_in(&dir, &["run", "s.gmm"], None)).unwrap();
    // A missing cell is NA inside an array too; a NaN computed by arithmetic prints `nan`.
    assert_eq!(out, "[3, 5, 8]\n[0, NA, 1]\n");
    assert_eq!(listing(&dir), ["d.csv", "s.gmm"]);
}

/// `gmm fit m.gmm --out m.gmm` replaces the script with the fitted model, which runs and fits
/// again to the same values.
#[test]
fn a_fitted_model_fits_again_from_where_it_stopped() {
    let dir = common::scratch("files-fit-again");
    std::fs::write(dir.join("m.gmm"), GRADES).unwrap();
    std::fs::copy(
        common::root().join("examples/lecture_grades.csv"),
        dir.join("d.csv"),
    )
    .unwrap();
    let args = ["fit", "m.gmm", "--data", "d.csv", "--out", "f.gmm"];
    common::gmm_in(&dir, &args, None);
    let first = std::fs::read_to_string(dir.join("f.gmm")).unwrap();
    assert!(first.contains("# converged = true"), "{first}");
    assert_eq!(listing(&dir), ["d.csv", "f.gmm", "m.gmm"]);
    // Fitting the fitted model again starts where the first fit stopped (at its tolerance):
    // the log-likelihood does not drop and the values stay within 1e-3.
    let again = String::from_utf8(common::gmm_in(
        &dir,
        &["fit", "f.gmm", "--data", "d.csv"],
        None,
    ))
    .unwrap();
    let loglik = |s: &str| -> f64 {
        let line = s.lines().find_map(|l| l.strip_prefix("# loglik = "));
        line.expect("a loglik line").parse().expect("a number")
    };
    assert!(loglik(&again) >= loglik(&first));
    let values = |s: &str| -> Vec<f64> {
        s.lines()
            .filter(|l| l.contains("param "))
            .filter_map(|l| l.split_once(" = ").map(|(_, v)| v))
            .flat_map(|v| common::parse_printed(v).1)
            .collect()
    };
    let (a, b) = (values(&first), values(&again));
    assert_eq!(a.len(), 6);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-3 * x.abs(), "{x} then {y}");
    }
}
