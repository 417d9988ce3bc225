//! Benchmarks of the hot paths at the sizes of the performance targets, and 10× smaller:
//! one EM iteration, CSV load, the posterior over data, sampling, load + fit of a two-level
//! model against a flat one with as many configurations, and chains (section 9.4): one
//! Baum-Welch iteration (hmmlearn's `GaussianHMM` side by side, if importable) and the forward
//! pass.
//!
//! ```text
//! cargo bench --profile release --bench perf         # every size; scikit-learn side by side if importable
//! cargo bench --profile release --bench perf -- --small # the 10× smaller sizes only
//! cargo bench --profile release --bench perf -- --chains # chains only
//! ```
//!
//! Each time is the median of several runs. One EM iteration is timed as the difference of a
//! 21-iteration and a 1-iteration fit from the same start, divided by 20, which cancels the
//! set-up; scikit-learn's `GaussianMixture` is timed the same way on the same CSV file, in the
//! same run, so the ratio is measured under the same machine load.

#[path = "../tests/suite/common/mod.rs"]
mod common;

use common::model;
use gmm::array::Array;
use gmm::infer::em::{self, Init, Options};
use gmm::infer::numeric::{rng, standard_normal, uniform};
use gmm::infer::query::{Query, query};
use gmm::infer::sample_model;
use gmm::interp::bind::bind;
use gmm::interp::data::{Dataset, load_csv};
use gmm::model::Model;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let small_only = std::env::args().any(|a| a == "--small");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    std::fs::create_dir_all(&dir).expect("a folder for the benchmark data");
    if std::env::args().any(|a| a == "--chains") {
        return chains(&dir, small_only);
    }
    let sklearn = sklearn_available();
    if !sklearn {
        println!("(scikit-learn is not importable from python3: gmm times only)");
    }
    println!(
        "threads: {}\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let mut sizes = vec![(100_000, 1), (50_000, 2)];
    if !small_only {
        sizes.extend([(1_000_000, 1), (500_000, 2)]);
    }
    println!("One EM iteration (K = 3, full covariance for D = 2)");
    println!(
        "{:>9} {:>2} | {:>10} {:>14} | {:>12} {:>8}",
        "N", "D", "gmm ms", "ns/row/comp", "sklearn ms", "ratio"
    );
    for &(n, d) in &sizes {
        let csv = write_mixture(&dir, n, d, 3, 0);
        let data = load(&csv);
        let m = model(&mixture_source(&data, d, 3));
        let gmm_s = em_iteration(&m, &data);
        let per = gmm_s * 1e9 / (n as f64 * 3.0);
        let (sk, ratio) = if sklearn {
            let s = sklearn_iteration(&csv, d, 3);
            (format!("{:.1}", s * 1e3), format!("{:.1}x", s / gmm_s))
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "{n:>9} {d:>2} | {:>10.2} {per:>14.2} | {sk:>12} {ratio:>8}",
            gmm_s * 1e3
        );
    }

    // Section 9.1: rows missing 10% of their entries at random, against the same rows complete.
    let missing_sizes: Vec<usize> = if small_only {
        vec![100_000]
    } else {
        vec![100_000, 1_000_000]
    };
    println!("\nOne EM iteration with 10% of the entries missing (D = 4, K = 3, full covariance)");
    println!(
        "{:>9} | {:>12} {:>12} {:>8}",
        "N", "complete ms", "missing ms", "ratio"
    );
    for &n in &missing_sizes {
        let csv = write_mixture(&dir, n, 4, 3, 2);
        let data = load(&csv);
        let m = model(&mixture_source(&data, 4, 3));
        let complete = em_iteration(&m, &data);
        let holed = em_iteration(&m, &with_holes(&data, 0.1, 3));
        println!(
            "{n:>9} | {:>12.2} {:>12.2} {:>7.2}x",
            complete * 1e3,
            holed * 1e3,
            holed / complete
        );
    }

    let rows: Vec<usize> = if small_only {
        vec![100_000]
    } else {
        vec![100_000, 1_000_000]
    };
    println!("\nData and queries (the 1-D, K = 3 data)");
    println!(
        "{:>9} | {:>12} {:>18} {:>14}",
        "N", "load ms", "p(z | x = d.x) ms", "sample ms"
    );
    for &n in &rows {
        let csv = write_mixture(&dir, n, 1, 3, 0);
        let load_s = median(5, || {
            std::hint::black_box(load(&csv));
        });
        let data = load(&csv);
        let m = model(&mixture_source(&data, 1, 3));
        let xs = column(&data, "x");
        let q = Query {
            targets: vec![(var(&m, "z"), None)],
            given: vec![(var(&m, "x"), Array::vector(xs))],
            conditional: true,
            log: false,
            entries: None,
            by: None,
        };
        let post_s = median(5, || {
            std::hint::black_box(query(&m, &q).expect("the posterior"));
        });
        let sample_s = median(5, || {
            std::hint::black_box(sample_model(&m, n, &mut rng(1)).expect("draws"));
        });
        println!(
            "{n:>9} | {:>12.1} {:>18.1} {:>14.1}",
            load_s * 1e3,
            post_s * 1e3,
            sample_s * 1e3
        );
    }

    println!(
        "\nload + 50 EM iterations: two levels (g -> z -> x, 2 x 3 configurations) against a flat K = 6 mixture"
    );
    println!(
        "{:>9} | {:>10} {:>10} {:>8}",
        "N", "flat ms", "two ms", "ratio"
    );
    for &n in &rows {
        let csv = write_mixture(&dir, n, 1, 6, 1);
        let data = load(&csv);
        let flat = model(&mixture_source(&data, 1, 6));
        let two = model(&two_level_source(&data));
        let load_fit = |m: &Model| {
            median(3, || {
                let d = load(&csv);
                let bound = bind(m, &d, None).expect("the data bind");
                std::hint::black_box(em::fit(m, &bound, &given(50), &mut |_| true).expect("fits"));
            })
        };
        let (f, t) = (load_fit(&flat), load_fit(&two));
        println!(
            "{n:>9} | {:>10.1} {:>10.1} {:>7.2}x",
            f * 1e3,
            t * 1e3,
            t / f
        );
    }

    chains(&dir, small_only);
}

/// Section 9.4: one Baum-Welch iteration against hmmlearn's, and the forward pass.
fn chains(dir: &Path, small_only: bool) {
    // Section 9.4: chains.
    let hmmlearn = hmmlearn_available();
    if !hmmlearn {
        println!("\n(hmmlearn is not importable from python3: gmm times only)");
    }
    let mut chains = vec![(100_000, 1, 4), (10_000, 3, 3)];
    if !small_only {
        chains.extend([(1_000_000, 1, 4), (100_000, 3, 3)]);
    }
    println!(
        "\nChains: one Baum-Welch iteration (full covariance for D = 3), and the forward pass;\n\
         hmmlearn's GaussianHMM as it comes (implementation=\"log\") and with \"scaling\""
    );
    println!(
        "{:>9} {:>2} {:>2} | {:>10} {:>13} | {:>13} {:>8} | {:>13} {:>8}",
        "N", "D", "K", "gmm ms", "forward ms", "log ms", "ratio", "scaling ms", "ratio"
    );
    for &(n, d, k) in &chains {
        let csv = write_chain(dir, n, d, k, 5);
        let data = load(&csv);
        let m = model(&chain_source(&data, d, k));
        let gmm_s = em_iteration(&m, &data);
        let x = if d == 1 {
            Array::vector(column(&data, "x"))
        } else {
            let cols: Vec<Vec<f64>> = (0..d).map(|c| column_at(&data, c)).collect();
            Array::from_vec(
                vec![n, d],
                (0..n)
                    .flat_map(|r| cols.iter().map(move |c| c[r]))
                    .collect(),
            )
        };
        let q = Query {
            targets: vec![(var(&m, "x"), Some(x))],
            given: Vec::new(),
            conditional: false,
            log: true,
            entries: None,
            by: None,
        };
        let forward_s = median(5, || {
            std::hint::black_box(query(&m, &q).expect("the likelihood"));
        });
        let peer = |implementation: &str| -> (String, String) {
            if !hmmlearn {
                return ("-".into(), "-".into());
            }
            let s = hmmlearn_iteration(&csv, d, k, implementation);
            (format!("{:.1}", s * 1e3), format!("{:.1}x", s / gmm_s))
        };
        let ((log, log_ratio), (scaling, scaling_ratio)) = (peer("log"), peer("scaling"));
        println!(
            "{n:>9} {d:>2} {k:>2} | {:>10.2} {:>13.2} | {log:>13} {log_ratio:>8} | \
             {scaling:>13} {scaling_ratio:>8}",
            gmm_s * 1e3,
            forward_s * 1e3
        );
    }
}

/// The median of `reps` timings of `f`, in seconds.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

/// Seconds per EM iteration: (a 21-iteration fit − a 1-iteration fit) / 20, each a median of 3.
fn em_iteration(m: &Model, d: &Dataset) -> f64 {
    let data = bind(m, d, None).expect("the data bind");
    let fit = |iters: usize| {
        let opts = given(iters);
        median(3, || {
            std::hint::black_box(em::fit(m, &data, &opts, &mut |_| true).expect("fits"));
        })
    };
    let one = fit(1);
    (fit(21) - one).max(0.0) / 20.0
}

/// `iters` EM iterations from the model's values, with tol 0.
fn given(iters: usize) -> Options {
    Options {
        max_iter: iters,
        tol: 0.0,
        init: Init::Given,
        ..Options::default()
    }
}

/// Writes `n` rows of a K-component mixture in D dimensions (component means drawn from
/// N(0, 4²), unit noise) to a CSV file, once.
fn write_mixture(dir: &Path, n: usize, d: usize, k: usize, seed: u64) -> PathBuf {
    let path = dir.join(format!("mix_{n}_{d}_{k}_{seed}.csv"));
    write_rows(path, (n, d, k), seed, 4.0, |r, _| {
        ((uniform(r) * k as f64) as usize).min(k - 1)
    })
}

/// Writes `n` rows of D numbers to `path`, once: row i is component c's mean (drawn from
/// N(0, spread²)) plus unit noise, c = `pick(rng, the previous row's c)`.
fn write_rows(
    path: PathBuf,
    (n, d, k): (usize, usize, usize),
    seed: u64,
    spread: f64,
    mut pick: impl FnMut(&mut gmm::infer::numeric::Rng, usize) -> usize,
) -> PathBuf {
    if path.exists() {
        return path;
    }
    let mut r = rng(seed);
    let means: Vec<f64> = (0..k * d)
        .map(|_| spread * standard_normal(&mut r))
        .collect();
    let mut text = if d == 1 {
        "x\n".to_string()
    } else {
        (0..d)
            .map(|j| format!("x[{j}]"))
            .collect::<Vec<_>>()
            .join(",")
            + "\n"
    };
    let mut c = 0;
    for _ in 0..n {
        c = pick(&mut r, c);
        for j in 0..d {
            let x = means[c * d + j] + standard_normal(&mut r);
            let sep = if j + 1 == d { '\n' } else { ',' };
            write!(text, "{x:.9}{sep}").expect("writing to a string");
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("the benchmark data are written");
    std::fs::rename(&tmp, &path).expect("the benchmark data are renamed");
    path
}

/// `data` with each cell missing with probability `frac`, on its own (rows keep their first
/// K cells, the starting means).
fn with_holes(data: &Dataset, frac: f64, seed: u64) -> Dataset {
    let mut r = rng(seed);
    let mut d = data.clone();
    for c in &mut d.columns {
        if let gmm::interp::data::ColumnData::Num(v) = &mut c.data {
            for x in v.iter_mut().skip(3) {
                if uniform(&mut r) < frac {
                    *x = gmm::array::NA;
                }
            }
        }
    }
    d
}

fn load(path: &Path) -> Dataset {
    load_csv(path, &path.display().to_string()).expect("the benchmark CSV loads")
}

fn column(d: &Dataset, name: &str) -> Vec<f64> {
    d.numeric(
        d.columns
            .iter()
            .position(|c| c.name == name)
            .expect("column"),
    )
    .expect("numbers")
}

/// The first K rows, as the starting means.
fn first_rows(data: &Dataset, d: usize, k: usize) -> Vec<Vec<f64>> {
    let cols: Vec<Vec<f64>> = (0..data.columns.len())
        .map(|c| column_at(data, c))
        .collect();
    (0..k)
        .map(|i| (0..d).map(|j| cols[j][i]).collect())
        .collect()
}

fn column_at(d: &Dataset, c: usize) -> Vec<f64> {
    d.numeric(c).expect("numbers")
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// The scikit-learn comparison's model: equal weights, the first K rows as means, unit spreads.
fn mixture_source(data: &Dataset, d: usize, k: usize) -> String {
    let pi = list(&vec![1.0 / k as f64; k]);
    let (mean, spread, x) = emission(data, d, k);
    format!(
        "model big {{\n  param pi : simplex[{k}] = {pi}\n  {mean}\n  {spread}\n  plate rows {{\n    z ~ Categorical(pi)\n    {x}\n  }}\n}}\n"
    )
}

/// The comparisons' x given z: the first K rows as means, unit spreads (an identity
/// covariance for D > 1); the two parameters' declarations and x's.
fn emission(data: &Dataset, d: usize, k: usize) -> (String, String, &'static str) {
    let mu = first_rows(data, d, k);
    if d == 1 {
        let means: Vec<f64> = mu.iter().map(|m| m[0]).collect();
        return (
            format!("param mu[{k}] : real = {}", list(&means)),
            format!("param sd[{k}] : positive = {}", list(&vec![1.0; k])),
            "x ~ Normal(mu[z], sd[z])",
        );
    }
    let eye: Vec<String> = (0..d)
        .map(|i| {
            list(
                &(0..d)
                    .map(|j| f64::from(u8::from(i == j)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let eye = format!("[{}]", eye.join(", "));
    let means: Vec<String> = mu.iter().map(|m| list(m)).collect();
    (
        format!("param mu[{k}] : vector[{d}] = [{}]", means.join(", ")),
        format!("param S[{k}] : cov[{d}] = [{}]", vec![eye; k].join(", ")),
        "x ~ MvNormal(mu[z], S[z])",
    )
}

/// g → z → x with 2 × 3 configurations, x's mean picked by (g, z).
fn two_level_source(data: &Dataset) -> String {
    let mu: Vec<f64> = first_rows(data, 1, 6).iter().map(|m| m[0]).collect();
    format!(
        "model two {{\n  param pg : simplex[2] = [0.5, 0.5]\n  param pz[2] : simplex[3] = [[0.4, 0.3, 0.3], [0.3, 0.3, 0.4]]\n  param mu[2, 3] : real = [{}, {}]\n  param sd[3] : positive = [1.0, 1.0, 1.0]\n  plate rows {{\n    g ~ Categorical(pg)\n    z ~ Categorical(pz[g])\n    x ~ Normal(mu[g, z], sd[z])\n  }}\n}}\n",
        list(&mu[..3]),
        list(&mu[3..])
    )
}

fn var(m: &Model, name: &str) -> usize {
    m.vars
        .iter()
        .position(|v| v.name == name)
        .expect("the variable")
}

fn sklearn_available() -> bool {
    python_has("sklearn, pandas")
}

/// scikit-learn's seconds per EM iteration on the same file and start, timed as
/// [`em_iteration`] times gmm.
fn sklearn_iteration(csv: &Path, d: usize, k: usize) -> f64 {
    const SCRIPT: &str = r#"
from sklearn.mixture import GaussianMixture
prec = np.stack([np.eye(d)] * k)
def model(iters):
    return GaussianMixture(k, covariance_type="full", weights_init=np.full(k, 1.0 / k),
                           means_init=X[:k], precisions_init=prec, max_iter=iters, tol=0.0,
                           reg_covar=1e-6)
"#;
    python_seconds(SCRIPT, csv, d, k)
}

/// Writes `n` rows of a K-state Gaussian hidden Markov chain in D dimensions (staying with
/// probability 0.95, state means drawn from N(0, 3²), unit noise) to a CSV file, once.
fn write_chain(dir: &Path, n: usize, d: usize, k: usize, seed: u64) -> PathBuf {
    let path = dir.join(format!("chain_{n}_{d}_{k}_{seed}.csv"));
    write_rows(path, (n, d, k), seed, 3.0, |r, z| {
        if uniform(r) >= 0.95 {
            (z + 1 + (uniform(r) * (k - 1) as f64) as usize % (k - 1)) % k
        } else {
            z
        }
    })
}

/// The hmmlearn comparison's chain: uniform first state, staying with probability 0.8, the
/// first K rows as means, unit spreads.
fn chain_source(data: &Dataset, d: usize, k: usize) -> String {
    let start = list(&vec![1.0 / k as f64; k]);
    let rows: Vec<String> = (0..k)
        .map(|i| {
            list(
                &(0..k)
                    .map(|j| if i == j { 0.8 } else { 0.2 / (k - 1) as f64 })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let (mean, spread, x) = emission(data, d, k);
    format!(
        "model chain {{\n  param start : simplex[{k}] = {start}\n  param A[{k}] : simplex[{k}] = [{}]\n  {mean}\n  {spread}\n  chain t {{\n    z ~ Categorical(start) then Categorical(A[prev(z)])\n    {x}\n  }}\n}}\n",
        rows.join(", ")
    )
}

fn hmmlearn_available() -> bool {
    python_has("hmmlearn, pandas")
}

/// hmmlearn's seconds per Baum-Welch iteration on the same file and start (its MAP terms and
/// floors off), with its recursions in `implementation` ("log", its default, or "scaling"),
/// timed as [`em_iteration`] times gmm.
fn hmmlearn_iteration(csv: &Path, d: usize, k: usize, implementation: &str) -> f64 {
    const SCRIPT: &str = r#"
from hmmlearn.hmm import GaussianHMM
A = np.full((k, k), 0.2 / (k - 1)); np.fill_diagonal(A, 0.8)
def model(iters):
    m = GaussianHMM(k, covariance_type="diag" if d == 1 else "full", n_iter=iters, tol=0.0,
                    init_params="", params="stmc", min_covar=0.0, covars_prior=0.0,
                    implementation=IMPLEMENTATION)
    m.startprob_ = np.full(k, 1.0 / k); m.transmat_ = A.copy(); m.means_ = X[:k].copy()
    m.covars_ = np.ones((k, d)) if d == 1 else np.stack([np.eye(d)] * k)
    return m
"#;
    let script = SCRIPT.replace("IMPLEMENTATION", &format!("{implementation:?}"));
    python_seconds(&script, csv, d, k)
}

/// Whether python3 imports `modules` (`"sklearn, pandas"`).
fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Seconds per iteration of the estimator that `setup`'s `model(iters)` builds (with `X`, `d`
/// and `k` given), on `csv`: (a 21-iteration fit − a 1-iteration fit) / 20, each a median of
/// 3, as [`em_iteration`] times gmm.
fn python_seconds(setup: &str, csv: &Path, d: usize, k: usize) -> f64 {
    const HEAD: &str = r#"
import sys, time, statistics, numpy as np, pandas as pd, warnings
warnings.filterwarnings("ignore")
path, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = pd.read_csv(path).to_numpy()
"#;
    const TAIL: &str = r#"
def fit(iters):
    times = []
    for _ in range(3):
        m = model(iters)
        t = time.perf_counter()
        m.fit(X)
        times.append(time.perf_counter() - t)
    return statistics.median(times)
one = fit(1)
print(max(fit(21) - one, 0.0) / 20)
"#;
    let script = format!("{HEAD}{setup}{TAIL}");
    let out = Command::new("python3")
        .args(["-c", &script])
        .arg(csv)
        .args([d.to_string(), k.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("seconds")
}
