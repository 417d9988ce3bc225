//! `gmm fit` keeps its peak memory below twice the CSV file plus 64 MB, and so holds no N×K
//! responsibility matrix: with N = 150 000 rows and K = 64 components such a matrix alone would
//! take 77 MB, on top of the process and its data. (Alone in this file: the peak is read from
//! `getrusage(RUSAGE_CHILDREN)`, the largest child this test process has waited for.)

mod common;

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
    common::gmm_in(&dir, &args, None);
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage struct to the pointer it is given.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let peak = usage.ru_maxrss as f64 * 1024.0; // kilobytes on Linux
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
