//! MvNormal rows that miss some entries (LANGUAGE.md §9.1): the density of such a row is the
//! integral of the full density over the missing entries, checked numerically against gmm's own
//! density of complete rows on a fine grid, for random 2-D and 3-D mixtures; posteriors of
//! partial rows are the same whether the rows come one at a time or many at once (one row
//! takes the general engine, a batch the fast path's patterns).

use crate::common;

/// A number in [lo, hi).
fn uniform(rng: &mut common::Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random K-component mixture in `d` dimensions, with full covariances A·Aᵀ + 0.3·I.
fn mixture(rng: &mut common::Rng, k: usize, d: usize) -> String {
    let mut w: Vec<f64> = (0..k).map(|_| uniform(rng, 0.2, 1.0)).collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= total);
    let list = |v: &[f64]| {
        format!(
            "[{}]",
            v.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let means: Vec<String> = (0..k)
        .map(|_| list(&(0..d).map(|_| uniform(rng, -2.0, 2.0)).collect::<Vec<_>>()))
        .collect();
    let covs: Vec<String> = (0..k)
        .map(|_| {
            let a: Vec<f64> = (0..d * d).map(|_| uniform(rng, -1.0, 1.0)).collect();
            let rows: Vec<String> = (0..d)
                .map(|i| {
                    let row: Vec<f64> = (0..d)
                        .map(|j| {
                            let s: f64 = (0..d).map(|t| a[i * d + t] * a[j * d + t]).sum();
                            s + if i == j { 0.3 } else { 0.0 }
                        })
                        .collect();
                    list(&row)
                })
                .collect();
            format!("[{}]", rows.join(", "))
        })
        .collect();
    format!(
        "model m {{\n    param pi : simplex[{k}] = {}\n    param mu[{k}] : vector[{d}] = [{}]\n    param S[{k}] : cov[{d}] = [{}]\n    plate r {{\n        z ~ Categorical(pi)\n        x ~ MvNormal(mu[z], S[z])\n    }}\n}}\n",
        list(&w),
        means.join(", "),
        covs.join(", ")
    )
}

fn run(dir: &std::path::Path, script: &str) -> Vec<f64> {
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = common::gmm_at(dir, &["run", "s.gmm"]);
    assert!(
        out.status.success(),
        "{}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .flat_map(|l| common::parse_printed(l).1)
        .collect()
}

#[test]
fn a_partial_row_has_the_integral_of_the_full_density() {
    let dir = common::scratch("missing-integral");
    let mut rng = common::Rng(0x5eed_1234_abcd);
    for case in 0..6 {
        let k = 2 + case % 2;
        let model = mixture(&mut rng, k, 2);
        let a = uniform(&mut rng, -1.5, 1.5);
        // The trapezoid rule on [-15, 15] with 6001 points: the tails beyond are below 1e-12
        // and the error of the rule for these smooth densities far below the 1e-7 asked.
        let script = format!(
            "{model}let t = linspace(-15, 15, 6001)\n\
             let rows = transpose([{a:?} * ones(6001), t])\n\
             let f = p(x = rows)\n\
             print p(x = [{a:?}, NA])\n\
             print (sum(f) - 0.5 * (f[0] + f[6000])) * 0.005\n\
             print p(x = [NA, {a:?}])\n\
             let g = p(x = transpose([t, {a:?} * ones(6001)]))\n\
             print (sum(g) - 0.5 * (g[0] + g[6000])) * 0.005\n"
        );
        let v = run(&dir, &script);
        for (exact, integral) in [(v[0], v[1]), (v[2], v[3])] {
            assert!(
                (exact - integral).abs() <= 1e-7 * exact,
                "case {case}: {exact} vs the integral {integral}\n{model}"
            );
        }
    }
}

#[test]
fn partial_rows_one_at_a_time_and_many_at_once_agree() {
    let dir = common::scratch("missing-batch");
    let mut rng = common::Rng(0x0dd_ba11);
    let model = mixture(&mut rng, 3, 3);
    let rows = "[[0.5, NA, -1], [NA, NA, 0.2], [1, 2, NA], [NA, NA, NA], [0.1, 0.2, 0.3]]";
    let script = format!(
        "{model}let rows = {rows}\n\
         print p(z | x = rows)\n\
         for i in 0..5 {{\n    print p(z | x = rows[i])\n}}\n\
         print logp(x = rows)\n\
         for i in 0..5 {{\n    print logp(x = rows[i])\n}}\n"
    );
    let v = run(&dir, &script);
    // 5×3 posteriors at once, then one row at a time; then 5 log densities, then one at a time.
    let (batch, single) = (&v[0..15], &v[15..30]);
    let (lbatch, lsingle) = (&v[30..35], &v[35..40]);
    for (a, b) in batch.iter().zip(single).chain(lbatch.iter().zip(lsingle)) {
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
    }
    // A row that misses everything is the prior, and has log density 0.
    let prior = run(&dir, &format!("{model}print m.pi\n"));
    // The batch goes through the fast path, which forms exp(log π − log Σ π) with its own
    // `exp` (within 2 ulps): the prior to a few ulps.
    for (a, b) in batch[9..12].iter().zip(&prior) {
        assert!((a - b).abs() <= 1e-15, "{a} vs the prior {b}");
    }
    assert!(lbatch[3].abs() <= 1e-15, "log Σπ = {} is not 0", lbatch[3]);
}

const BLOBS: &str = "model m {
    param pi : simplex[2] = [0.4, 0.6]
    param mu[2] : vector[2] = [[0, 0], [2.5, 1]]
    param S[2] : cov[2] = [[[1, 0.6], [0.6, 2]], [[0.5, -0.2], [-0.2, 0.8]]]
    plate r {
        z ~ Categorical(pi)
        x ~ MvNormal(mu[z], S[z])
    }
}
";

#[test]
fn gmm_impute_fills_the_csv_and_keeps_its_columns() {
    let dir = common::scratch("missing-impute");
    std::fs::write(dir.join("m.gmm"), BLOBS).unwrap();
    // Columns under other names, in another order, with a text column the model does not use.
    let csv = "id,b,z,a\nr1,NA,NA,1.2\nr2,0.4,1,\nr3,NA,NA,NA\nr4,NA,0,0.5\nr5,2.0,NA,0.1\n";
    std::fs::write(dir.join("d.csv"), csv).unwrap();
    let out = common::gmm_at(
        &dir,
        &[
            "impute",
            "m.gmm",
            "--data",
            "d.csv",
            "--columns",
            "x[0]=a,x[1]=b",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "id,b,z,a",
        "the input's columns, in order, under their names"
    );
    assert_eq!(lines.len(), 6);
    assert!(!text.contains("NA"), "every cell is filled:\n{text}");
    // The same numbers as impute() in a script (which the NumPy reference checks).
    let script = format!(
        "{BLOBS}let d = table(z = [NA, 1, NA, 0, NA], x = [[1.2, NA], [NA, 0.4], [NA, NA], [0.5, NA], [0.1, 2.0]])\n\
         print columns(impute(m, d), \"x[1]\", \"z\", \"x[0]\")\n"
    );
    let want = run(&dir, &script);
    let got: Vec<f64> = lines[1..]
        .iter()
        .flat_map(|l| {
            l.split(',')
                .skip(1)
                .map(|c| c.parse::<f64>().expect("a number"))
        })
        .collect();
    assert_eq!(got, want);
    // --out writes the file, and nothing to stdout.
    let out = common::gmm_at(
        &dir,
        &[
            "impute",
            "m.gmm",
            "--data",
            "d.csv",
            "--columns",
            "x[0]=a,x[1]=b",
            "--out",
            "f.csv",
        ],
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(dir.join("f.csv")).unwrap(), text);
    // A bad cell names its row and column, and writes nothing.
    std::fs::write(dir.join("bad.csv"), "x[0],x[1],z\n1,2,0\n1,2,7\n").unwrap();
    let out = common::gmm_at(
        &dir,
        &["impute", "m.gmm", "--data", "bad.csv", "--out", "g.csv"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column `z`, row 2"), "{err}");
    assert!(!dir.join("g.csv").exists());
}
