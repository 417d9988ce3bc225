//! MvNormal rows that miss some entries (LANGUAGE.md §9.1): the density of such a row is the
//! integral of the full density over the missing entries, checked numerically against gmm's own
//! density of complete rows on a fine grid, for random 2-D and 3-D mixtures; posteriors of
//! partial rows are the same whether the rows come one at a time or many at once (the fast
//! path declines a batch with partial rows, the general engine takes it).

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
    assert_eq!(&batch[9..12], &prior[..]);
    assert_eq!(lbatch[3], 0.0);
}
