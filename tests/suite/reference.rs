//! Numbers against values computed independently with NumPy/SciPy:
//! - `tests/reference/queries.py` writes `queries.expected` for the queries of `queries.gmm`;
//! - `tests/reference/missing.py` writes `missing.expected` for the queries of `missing.gmm` on
//!   MvNormal rows that miss some entries (2 to 4 dimensions; full, diagonal, spherical and
//!   tied covariances), and for sub-vector distributions (GMM regression: the conditional
//!   mixture's weights, component means and variances, its mean, variance, pdf and cdf);
//! - `tests/reference/em.py` writes `em.expected` for the EM runs of `em.gmm` (textbook EM with
//!   an N×K responsibility matrix and uncentred sums; the tied/diagonal/spherical runs also by
//!   scikit-learn from the same start).
//! - `tests/reference/em_missing.py` writes `em_missing.expected` for the EM runs of
//!   `em_missing.gmm` on 3-D rows with 20% of the entries missing (EM with the exact
//!   missing-data E-step; full, diagonal, spherical and tied covariances);
//! - `tests/reference/em_priors.py` writes `em_priors.expected` for the MAP-EM runs of
//!   `em_priors.gmm` (every kind of prior: Dirichlet on a simplex and on rows of simplexes,
//!   Beta, Normal on real and vector means, InvGamma on an sd, a diagonal and a spherical
//!   covariance, InvWishart on full and tied covariances);
//! - `tests/reference/stderr.py` writes `stderr.expected` for the standard errors of
//!   `stderr.gmm` (a central finite-difference Hessian of the marginal log-likelihood or log
//!   posterior in NumPy, the delta method, simplex errors from either free coordinate);
//! - `tests/reference/hmm.py` writes `hmm.expected` for the chains of `hmm.gmm` (section 9.4):
//!   log-likelihoods, posteriors and Viterbi paths from a NumPy forward-backward in log space,
//!   checked there against hmmlearn, for K = 2 and 3, 1-D and 2-D, with and without `by`; 20
//!   Baum-Welch iterations against NumPy and hmmlearn; and brute force over every path of short
//!   sequences with two chained latents, a row latent, a discrete observation, missing cells
//!   and labelled rows (likelihood, posteriors, the most probable joint path, one EM step).
//!
//! Each test runs the script through the binary and compares every printed value.

use crate::common;

/// Relative tolerance for queries: both sides evaluate the same formulas in log space in double
/// precision, so they agree to a few ulps; 1e-12 leaves room for different orders of summation
/// and SciPy's eigendecomposition in the 2-D density.
const QUERY_TOL: f64 = 1e-12;

/// Relative tolerance for EM: up to 100 iterations from the same start, where each iteration
/// feeds the previous one's rounding back in. The two sides sum in different orders (and gmm
/// centres its sums on the current means), and agree to about 1e-13 here; 1e-10 leaves room for
/// other platforms' `exp`/`ln` while still catching any real difference in an update.
const EM_TOL: f64 = 1e-10;

fn agree(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * a.abs().max(b.abs())
}

/// Runs `script` and compares its `label value` lines with `expected`, line by line.
fn compare(script: &str, expected: &str, tol: f64) {
    let out = common::gmm(&["run", script]);
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8 output");
    let expected = std::fs::read_to_string(common::root().join(expected))
        .expect("the expected values are committed");
    let got: Vec<(&str, &str)> = printed
        .lines()
        .map(|l| l.split_once(' ').expect("label then value"))
        .collect();
    let want: Vec<&str> = expected.lines().collect();
    assert_eq!(got.len(), want.len(), "one printed line per expected line");
    let mut failures = Vec::new();
    for ((label, text), line) in got.iter().zip(&want) {
        let mut parts = line.split('\t');
        let (wl, ws, wv) = (
            parts.next().expect("label"),
            parts.next().expect("shape"),
            parts.next().unwrap_or(""),
        );
        assert_eq!(*label, wl, "lines in the same order");
        let (shape, values) = common::parse_printed(text);
        let want_shape: Vec<usize> = if ws == "scalar" {
            Vec::new()
        } else {
            ws.split('x').map(|d| d.parse().expect("a size")).collect()
        };
        let want_values: Vec<f64> = wv
            .split_whitespace()
            .map(|v| v.parse().expect("a number"))
            .collect();
        if shape != want_shape {
            failures.push(format!("{label}: shape {shape:?}, expected {want_shape:?}"));
            continue;
        }
        for (i, (g, w)) in values.iter().zip(&want_values).enumerate() {
            assert!(!g.is_nan(), "{label}: NaN");
            if !agree(*g, *w, tol) {
                failures.push(format!("{label}[{i}]: {g} vs reference {w}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

#[test]
fn queries_match_scipy() {
    compare(
        "tests/reference/queries.gmm",
        "tests/reference/queries.expected",
        QUERY_TOL,
    );
}

#[test]
fn partial_rows_match_scipy() {
    compare(
        "tests/reference/missing.gmm",
        "tests/reference/missing.expected",
        QUERY_TOL,
    );
}

#[test]
fn em_matches_numpy_and_scikit_learn() {
    compare(
        "tests/reference/em.gmm",
        "tests/reference/em.expected",
        EM_TOL,
    );
}

#[test]
fn em_with_missing_entries_matches_numpy() {
    // 20 iterations from the same start; the issue asks for 1e-8 relative, and the two agree
    // to about 1e-13, so EM_TOL holds with room to spare.
    compare(
        "tests/reference/em_missing.gmm",
        "tests/reference/em_missing.expected",
        EM_TOL,
    );
}

#[test]
fn map_em_matches_numpy() {
    // 20 iterations from the same start with every kind of prior; the issue asks for 1e-8
    // relative, and the two agree to about 1e-13.
    compare(
        "tests/reference/em_priors.gmm",
        "tests/reference/em_priors.expected",
        EM_TOL,
    );
}

#[test]
fn chains_match_numpy_hmmlearn_and_brute_force() {
    // Queries and the brute-force step are one pass of the same sums in another order; 20
    // Baum-Welch iterations feed rounding back in. The issue asks for 1e-7 relative against
    // hmmlearn; gmm agrees with the NumPy reference to about 1e-12 here, so EM_TOL holds.
    compare(
        "tests/reference/hmm.gmm",
        "tests/reference/hmm.expected",
        EM_TOL,
    );
}

/// Relative tolerance for standard errors: the reference differentiates the log-likelihood
/// twice by central differences (step 1e-4 of each coordinate's scale), which agrees with gmm
/// to between 1e-8 and 2e-5 here (the K = 3 case is the least well conditioned); the issue asks
/// for 1e-4.
const SE_TOL: f64 = 1e-4;

#[test]
fn standard_errors_match_finite_differences() {
    compare(
        "tests/reference/stderr.gmm",
        "tests/reference/stderr.expected",
        SE_TOL,
    );
}

#[test]
fn printed_values_parse() {
    assert_eq!(
        common::parse_printed("[[1, 2], [3, 4], [5, 6]]"),
        (vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert_eq!(common::parse_printed("2.5e-7"), (vec![], vec![2.5e-7]));
    assert_eq!(common::parse_printed("[]"), (vec![0], vec![]));
}
