//! `gmm fit` keeps its peak memory below twice the CSV file plus 64 MB, and so holds no N×K
//! responsibility matrix: with N = 150 000 rows and K = 64 components such a matrix alone would
//! take 77 MB, on top of the process and its data. The peak is the child's own
//! (see [`peak_rss`]), so tests running beside this one in the same process do not count.

use crate::common;

use std::fmt::Write as _;

#[test]
fn fit_holds_no_rows_by_components_matrix() {
    const N: usize = 150_000;
    const K: usize = 64;
    let dir = common::scratch("memory");
    let mut csv = String::from("x\n");
    for i in 0..N {
        // K well-separated clusters, deterministic.
        let x = (i % K) as f64 * 10.0 + ((i * 7919) % 1000) as f64 / 1000.0;
        writeln!(csv, "{x}").unwrap();
    }
    std::fs::write(dir.join("d.csv"), &csv).unwrap();
    let list = |f: &dyn Fn(usize) -> f64| {
        let items: Vec<String> = (0..K).map(|k| format!("{:?}", f(k))).collect();
        format!("[{}]", items.join(", "))
    };
    let model = format!(
        "model wide {{\n  param pi : simplex[{K}] = {}\n  param mu[{K}] : real = {}\n  param sd[{K}] : positive = {}\n  plate rows {{\n    z ~ Categorical(pi)\n    x ~ Normal(mu[z], sd[z])\n  }}\n}}\n",
        list(&|_| 1.0 / K as f64),
        list(&|k| k as f64 * 10.0 + 0.5),
        list(&|_| 1.0)
    );
    std::fs::write(dir.join("m.gmm"), model).unwrap();
    let args = [
        "fit",
        "m.gmm",
        "--data",
        "d.csv",
        "--init",
        "given",
        "--max-iter",
        "2",
        "--tol",
        "0",
    ];
    let peak = peak_rss(&dir, &args);
    let bound = 2.0 * csv.len() as f64 + 64.0 * 1024.0 * 1024.0;
    let matrix = (N * K * 8) as f64;
    assert!(
        peak < bound,
        "peak {:.1} MB, bound {:.1} MB",
        peak / 1e6,
        bound / 1e6
    );
    // The bound is tight enough to catch the matrix the fit must not build.
    assert!(bound - peak < matrix, "the test cannot see an N×K matrix");
}

/// Runs `gmm ARGS` in `dir` (its output to files there), checks it succeeds, and returns the
/// peak resident size of that process alone, in bytes.
///
/// Linux carries a process's high-water mark across `exec`, so a child spawned straight from
/// this test process (which hosts the other tests and their data) would report this process's
/// size. A small Python parent spawns gmm instead and reports `RUSAGE_CHILDREN`: its one child.
fn peak_rss(dir: &std::path::Path, args: &[&str]) -> f64 {
    const PARENT: &str = "import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=open('stdout', 'wb'), stderr=open('stderr', 'wb'))
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(PARENT)
        .arg(env!("CARGO_BIN_EXE_gmm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    let fields: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(
        fields.first(),
        Some(&"0"),
        "gmm {}: {stderr}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let kb: f64 = fields[1].parse().expect("a size in kilobytes");
    kb * 1024.0
}
