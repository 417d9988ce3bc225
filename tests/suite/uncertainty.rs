//! Standard errors and intervals (LANGUAGE.md §9.3) beyond the NumPy reference
//! (`reference::standard_errors_match_finite_differences`): a component the data never reach
//! gets infinite errors and a warning naming its parameters, never NaN; `confint` is Wald on
//! the natural, log and logit scales, its width following the normal quantile of `level`.

use crate::common;

fn run(dir: &std::path::Path, script: &str) -> (Vec<Vec<f64>>, String) {
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = common::gmm_at(dir, &["run", "s.gmm"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| common::parse_printed(l).1)
        .collect();
    (lines, stderr)
}

const MODEL: &str = "model m {
    param pi : simplex[3] = [0.5, 0.5, 0]
    param q[3] : prob = [0.3, 0.6, 0.5]
    param mu[3] : real = [2.0, 4.0, 9.0]
    param sigma[3] : positive = [1.0, 1.0, 1.0]
    plate rows {
        z ~ Categorical(pi)
        b ~ Bernoulli(q[z])
        x ~ Normal(mu[z], sigma[z])
    }
}
model truth {
    param pi : simplex[2] = [0.6, 0.4]
    param q[2] : prob = [0.2, 0.7]
    param mu[2] : real = [2.5, 4.8]
    param sigma[2] : positive = [0.6, 0.3]
    plate rows {
        z ~ Categorical(pi)
        b ~ Bernoulli(q[z])
        x ~ Normal(mu[z], sigma[z])
    }
}
let s = sample(truth, 400, seed = 2)
let d = table(b = s.b, x = s.x)
let f = fit(m, d, max_iter = 2000, tol = 1e-13, reg = 0, fixed = [\"pi\"])
";

#[test]
fn a_component_without_rows_has_infinite_errors_and_a_warning() {
    let dir = common::scratch("uncertainty-singular");
    let (v, err) = run(
        &dir,
        &format!(
            "{MODEL}let se = stderr(f, d)\nprint se.pi\nprint se.q\nprint se.mu\nprint se.sigma\n"
        ),
    );
    // pi is held: zeros. Component 2 has probability 0: infinite; the others finite, positive.
    assert_eq!(v[0], vec![0.0; 3]);
    for field in &v[1..] {
        assert!(field[0].is_finite() && field[0] > 0.0 && field[1].is_finite() && field[1] > 0.0);
        assert_eq!(field[2], f64::INFINITY);
        assert!(field.iter().all(|x| !x.is_nan()));
    }
    assert!(
        err.contains("the information matrix is singular: the data do not determine `q[2]`, `mu[2]`, `sigma[2]`"),
        "{err}"
    );
}

#[test]
fn wald_intervals_on_their_scales() {
    let dir = common::scratch("uncertainty-confint");
    let (v, _) = run(
        &dir,
        &format!(
            "{MODEL}let se = stderr(f, d)\nlet a = confint(f, d)\nlet b = confint(f, d, level = 0.9)\n\
             print f.mu\nprint se.mu\nprint a.mu\nprint b.mu\n\
             print f.sigma\nprint se.sigma\nprint a.sigma\n\
             print f.q\nprint se.q\nprint a.q\nprint a.pi\n"
        ),
    );
    let (mu, se_mu, a_mu, b_mu) = (&v[0], &v[1], &v[2], &v[3]);
    let (z95, z90) = (1.959963984540054, 1.6448536269514722);
    for k in 0..2 {
        // Natural scale: estimate ± z·se.
        assert!((a_mu[2 * k] - (mu[k] - z95 * se_mu[k])).abs() < 1e-12);
        assert!((a_mu[2 * k + 1] - (mu[k] + z95 * se_mu[k])).abs() < 1e-12);
        let ratio = (b_mu[2 * k + 1] - b_mu[2 * k]) / (a_mu[2 * k + 1] - a_mu[2 * k]);
        assert!((ratio - z90 / z95).abs() < 1e-12, "{ratio}");
    }
    // The undetermined component: the whole line.
    assert_eq!((a_mu[4], a_mu[5]), (f64::NEG_INFINITY, f64::INFINITY));
    // A positive sd: on the log scale, so the interval is positive and its ends' geometric
    // mean is the estimate.
    let (sigma, se_s, a_s) = (&v[4], &v[5], &v[6]);
    for k in 0..2 {
        let (lo, hi) = (a_s[2 * k], a_s[2 * k + 1]);
        assert!(lo > 0.0 && lo < sigma[k] && sigma[k] < hi);
        assert!(((lo * hi).sqrt() - sigma[k]).abs() < 1e-12 * sigma[k]);
        assert!(((hi / sigma[k]).ln() - z95 * se_s[k] / sigma[k]).abs() < 1e-12);
    }
    // A probability: on the logit scale, inside (0, 1).
    let (q, se_q, a_q) = (&v[7], &v[8], &v[9]);
    let logit = |p: f64| (p / (1.0 - p)).ln();
    for k in 0..2 {
        let (lo, hi) = (a_q[2 * k], a_q[2 * k + 1]);
        assert!(0.0 < lo && lo < q[k] && q[k] < hi && hi < 1.0);
        let h = z95 * se_q[k] / (q[k] * (1.0 - q[k]));
        assert!((logit(hi) - logit(q[k]) - h).abs() < 1e-9);
        assert!((logit(q[k]) - logit(lo) - h).abs() < 1e-9);
    }
    assert_eq!((a_q[4], a_q[5]), (0.0, 1.0));
    // pi was held: a point.
    assert_eq!(&v[10], &vec![0.5, 0.5, 0.5, 0.5, 0.0, 0.0]);
}
