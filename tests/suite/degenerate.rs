//! Degenerate data through `gmm fit`: constant data, more components than distinct values, a
//! far outlier, data scaled by 1e-8 and 1e8, and a collapse without `reg`. Each fit ends in
//! finite numbers with a warning that names the component, or (the collapse) in an error that
//! suggests `reg`; queries stay finite far in the tails.

use crate::common;

use std::path::Path;

const MIX3: &str = "model mix {
    param pi : simplex[3] = [0.3, 0.3, 0.4]
    param mu[3] : real = [1, 2, 3]
    param sigma[3] : positive = [1, 1, 1]
    plate rows {
        z ~ Categorical(pi)
        x ~ Normal(mu[z], sigma[z])
    }
}
";

/// The lecture's 1000 grades.
fn grades() -> Vec<f64> {
    let text = std::fs::read_to_string(common::root().join("examples/lecture_grades.csv"))
        .expect("the lecture data");
    text.lines()
        .skip(1)
        .map(|l| l.trim().parse().expect("a number"))
        .collect()
}

fn write_column(dir: &Path, name: &str, xs: &[f64]) {
    let mut text = String::from("x\n");
    for x in xs {
        text.push_str(&format!("{x:?}\n"));
    }
    std::fs::write(dir.join(name), text).expect("scratch file");
}

/// `gmm fit` in `dir`: exit status, stdout, stderr.
fn fit(dir: &Path, data: &str, extra: &[&str]) -> (i32, String, String) {
    std::fs::write(dir.join("mix.gmm"), MIX3).expect("scratch file");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(["fit", "mix.gmm", "--data", data])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("gmm runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value printed for parameter `name` in a fitted model's source.
fn param(printed: &str, name: &str) -> Vec<f64> {
    let line = printed
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("param {name}")))
        .unwrap_or_else(|| panic!("no `{name}` in\n{printed}"));
    let value = line.split_once(" = ").expect("a value").1;
    common::parse_printed(value).1
}

fn loglik(printed: &str) -> f64 {
    printed
        .lines()
        .find_map(|l| l.strip_prefix("# loglik = "))
        .expect("a loglik line")
        .parse()
        .expect("a number")
}

/// Every printed parameter and the log-likelihood are finite numbers.
fn assert_finite(printed: &str) {
    for name in ["pi", "mu", "sigma"] {
        let v = param(printed, name);
        assert!(v.iter().all(|x| x.is_finite()), "{name} = {v:?}");
    }
    assert!(loglik(printed).is_finite());
    assert!(
        !printed.contains("NaN") && !printed.contains("nan"),
        "{printed}"
    );
}

/// The components a "varies less than reg" warning names.
fn floored(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("varies less than reg"))
        .map(|l| {
            let at = l.find("where z = ").expect("names the component") + "where z = ".len();
            l[at..].split(' ').next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn constant_data_warns_for_every_component() {
    let dir = common::scratch("degenerate-constant");
    write_column(&dir, "d.csv", &[3.0; 50]);
    let (code, out, err) = fit(&dir, "d.csv", &["--init", "given"]);
    assert_eq!(code, 0, "{err}");
    assert_finite(&out);
    assert_eq!(floored(&err), ["0", "1", "2"], "{err}");
    assert!(err.contains("`sigma[1]` is mostly reg"), "{err}");
    // Each spread is √reg: the data's own variance is 0.
    for s in param(&out, "sigma") {
        assert!((s - 1e-3).abs() < 1e-9, "{s}");
    }
}

/// Every start — the given values, k-means, random — on constant data and on two distinct
/// values ends in finite numbers and at least one warning.
#[test]
fn every_start_stays_finite_and_warns() {
    let dir = common::scratch("degenerate-starts");
    write_column(&dir, "constant.csv", &[5.0; 50]);
    write_column(&dir, "two.csv", &[vec![1.0; 20], vec![2.0; 20]].concat());
    for data in ["constant.csv", "two.csv"] {
        for init in ["given", "kmeans", "random"] {
            let (code, out, err) = fit(&dir, data, &["--init", init]);
            assert_eq!(code, 0, "{data} with {init}: {err}");
            assert_finite(&out);
            assert!(err.contains("warning"), "{data} with {init}: no warning");
            if init == "kmeans" && data == "constant.csv" {
                // One cluster: the other components' means are named.
                assert!(err.contains("`mu["), "{err}");
            }
        }
    }
}

#[test]
fn more_components_than_distinct_values() {
    let dir = common::scratch("degenerate-distinct");
    write_column(&dir, "d.csv", &[1.0, 1.0, 2.0, 2.0, 2.0]);
    let (code, out, err) = fit(&dir, "d.csv", &["--init", "kmeans"]);
    assert_eq!(code, 0, "{err}");
    assert_finite(&out);
    // k-means finds two clusters; the third component is empty from the start and named.
    assert!(
        err.contains("`x` where z = 2 got no rows from the k-means initialisation"),
        "{err}"
    );
    assert_eq!(floored(&err), ["0", "1"], "{err}");
    let mut mu = param(&out, "mu")[..2].to_vec();
    mu.sort_by(f64::total_cmp);
    assert_eq!(mu, [1.0, 2.0]);
}

#[test]
fn a_far_outlier_gets_its_own_component() {
    let dir = common::scratch("degenerate-outlier");
    let mut xs = grades()[..200].to_vec();
    xs.push(1e8);
    write_column(&dir, "d.csv", &xs);
    let (code, out, err) = fit(&dir, "d.csv", &["--init", "given"]);
    assert_eq!(code, 0, "{err}");
    assert_finite(&out);
    let mu = param(&out, "mu");
    let pi = param(&out, "pi");
    // Component 2 (started at 3) moves to the outlier and holds exactly one row of 201.
    assert_eq!(mu[2], 1e8);
    assert!((pi[2] - 1.0 / 201.0).abs() < 1e-12, "{pi:?}");
    assert_eq!(floored(&err), ["2"], "{err}");
    // The other two still describe the grades.
    assert!(mu[..2].iter().all(|m| (1.0..6.0).contains(m)), "{mu:?}");
}

#[test]
fn a_collapse_without_reg_is_an_error_suggesting_reg() {
    let dir = common::scratch("degenerate-collapse");
    write_column(&dir, "d.csv", &[3.0; 50]);
    let (code, out, err) = fit(&dir, "d.csv", &["--init", "given", "--reg", "0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("collapsed to zero"), "{err}");
    assert!(err.contains("use reg > 0"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// With reg = 0, EM (k-means start included) is equivariant under scaling: the fit to a·x is
/// a times the fit to x, up to rounding, and its log-likelihood is lower by N·ln a.
#[test]
fn scaled_data_fit_to_scaled_parameters() {
    let dir = common::scratch("degenerate-scaled");
    let xs = grades();
    write_column(&dir, "x.csv", &xs);
    let base = fit(&dir, "x.csv", &["--init", "kmeans", "--reg", "0"]);
    assert_eq!(base.0, 0, "{}", base.2);
    for scale in [1e-8, 1e8] {
        let name = format!("scaled_{scale}.csv");
        let scaled: Vec<f64> = xs.iter().map(|x| x * scale).collect();
        write_column(&dir, &name, &scaled);
        let (code, out, err) = fit(&dir, &name, &["--init", "kmeans", "--reg", "0"]);
        assert_eq!(code, 0, "{err}");
        assert_finite(&out);
        // Rounding differs between the scales, and EM amplifies it along 60-odd iterations
        // that stop at tol; 1e-6 relative is far above that and far below any real change.
        for (p, unit) in [("pi", 1.0), ("mu", scale), ("sigma", scale)] {
            for (a, b) in param(&base.1, p).iter().zip(param(&out, p)) {
                assert!(
                    ((a * unit - b) / b).abs() < 1e-6,
                    "{p}: {a} × {scale} vs {b}"
                );
            }
        }
        let expect = loglik(&base.1) - xs.len() as f64 * scale.ln();
        assert!(((loglik(&out) - expect) / expect).abs() < 1e-6);
        // With the default reg, the 1e-8 data lie below √reg: every component says so.
        let (code, out, err) = fit(&dir, &name, &["--init", "kmeans"]);
        assert_eq!(code, 0, "{err}");
        assert_finite(&out);
        let warned = floored(&err);
        if scale < 1.0 {
            assert_eq!(warned, ["0", "1", "2"], "{err}");
        } else {
            assert!(warned.is_empty(), "{err}");
        }
    }
}

#[test]
fn queries_stay_finite_in_the_tails() {
    let dir = common::scratch("degenerate-tails");
    let script = format!(
        "{}
print p(z | x = 1e8)
print p(z | x = -1e150)
print logp(x = [1e10, -1e10])
print p(z | x = [40, -40])
print logp(z = 1, x = 1e100)
",
        common::GRADES
    );
    std::fs::write(dir.join("tails.gmm"), script).unwrap();
    let out = common::gmm_in(&dir, &["run", "tails.gmm"], None);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<(Vec<usize>, Vec<f64>)> = text.lines().map(common::parse_printed).collect();
    for (_, v) in &lines {
        assert!(v.iter().all(|x| x.is_finite()), "{text}");
    }
    // Far out, the wider component (sigma 0.6) explains x on either side.
    assert_eq!(lines[0].1, [1.0, 0.0]);
    assert_eq!(lines[1].1, [1.0, 0.0]);
    // log N(1e10 | 2.5, 0.6) + log 0.6 dominates: −(1e10 − 2.5)²/(2·0.36) − log(0.6√(2π)).
    let expect = -(1e10f64 - 2.5).powi(2) / 0.72;
    assert!(((lines[2].1[0] - expect) / expect).abs() < 1e-12, "{text}");
    // At ±40 both sides have the wide component.
    assert_eq!(lines[3].1, [1.0, 0.0, 1.0, 0.0]);
    assert!(lines[4].1[0] < -1e200, "{text}");
}

#[test]
fn constant_vectors_warn_for_the_covariance() {
    let dir = common::scratch("degenerate-constant-2d");
    std::fs::copy(
        common::root().join("tests/malformed/models.gmm"),
        dir.join("models.gmm"),
    )
    .unwrap();
    // Points on the line y = 2x: each component's covariance is singular in one direction.
    let mut text = String::from("x[0],x[1]\n");
    for i in 0..40 {
        let t = f64::from(i % 7);
        text.push_str(&format!("{t},{}\n", 2.0 * t));
    }
    std::fs::write(dir.join("line.csv"), text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(["fit", "models.gmm", "--model", "two", "--data", "line.csv"])
        .args(["--init", "given"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(floored(&stderr), ["0", "1"], "{stderr}");
    assert!(stderr.contains("`Sigma[0]` is mostly reg"), "{stderr}");
    assert!(loglik(&stdout).is_finite());
    assert!(!stdout.contains("NaN"));
}
