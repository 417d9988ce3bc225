//! Query results against values computed independently with SciPy: `tests/reference/queries.py`
//! writes `queries.expected`; this runs `queries.gmm` through the binary and compares every
//! printed value to 1e-12 relative (both sides work in double precision with the same
//! formulas in log space, so they agree to a few ulps; 1e-12 leaves room for the different
//! orders of summation and SciPy's eigendecomposition in the 2-D density).

mod common;

/// Relative tolerance of the comparison.
const TOL: f64 = 1e-12;

fn agree(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TOL * a.abs().max(b.abs())
}

#[test]
fn queries_match_scipy() {
    let out = common::gmm(&["run", "tests/reference/queries.gmm"]);
    assert!(
        out.status.success(),
        "queries.gmm failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8 output");
    let expected = std::fs::read_to_string(common::root().join("tests/reference/queries.expected"))
        .expect("queries.expected is committed");
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
            assert!(g.is_finite() || g.is_infinite(), "{label}: NaN");
            if !agree(*g, *w) {
                failures.push(format!("{label}[{i}]: {g} vs SciPy {w}"));
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
fn printed_values_parse() {
    assert_eq!(
        common::parse_printed("[[1, 2], [3, 4], [5, 6]]"),
        (vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert_eq!(common::parse_printed("2.5e-7"), (vec![], vec![2.5e-7]));
    assert_eq!(common::parse_printed("[]"), (vec![0], vec![]));
}
