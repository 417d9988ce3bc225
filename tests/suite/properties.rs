//! Properties over random models and data (proptest): the probabilities of a discrete variable
//! sum to 1, a marginal is the sum of its joints, a posterior is joint / marginal, the
//! log-likelihood is the sum of the rows' `logp`, and EM with `reg = 0` never lowers the
//! likelihood. Models are random 1-D or 2-D mixtures, two-level mixtures (z → w → x) and
//! mixtures with an observed Categorical feature; data have missing cells.

use gmm::array::Array;
use proptest::prelude::*;

/// The shape of a random model.
#[derive(Clone, Debug)]
enum Kind {
    /// z → x.
    Mixture,
    /// z → w → x, x indexed by w (`j` values).
    TwoLevel { j: usize },
    /// z → x and z → y, y an observed Categorical with `j` values.
    Feature { j: usize },
}

#[derive(Clone, Debug)]
struct Case {
    k: usize,
    /// The dimension of x: 1 (Normal) or 2 (MvNormal).
    dim: usize,
    kind: Kind,
    /// Raw positive weights, normalised into every simplex.
    weights: Vec<f64>,
    /// Means, spreads and covariance factors, read in order as needed.
    reals: Vec<f64>,
    /// Data rows: x values (NaN missing) and a label for y or w (NaN missing).
    rows: Vec<(Vec<f64>, f64)>,
    /// A point to condition on.
    at: Vec<f64>,
}

/// Numbers for a model: `n` values taken in turn.
struct Take<'a> {
    xs: &'a [f64],
    i: usize,
}

impl Take<'_> {
    fn next(&mut self) -> f64 {
        let x = self.xs[self.i % self.xs.len()];
        self.i += 1;
        x
    }
}

/// A number as gmm source: shortest round-trip form.
fn num(x: f64) -> String {
    format!("{x:?}")
}

fn list(xs: &[String]) -> String {
    format!("[{}]", xs.join(", "))
}

/// `rows` simplexes of size `n` from the raw weights.
fn simplexes(w: &mut Take<'_>, rows: usize, n: usize) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|_| {
            let raw: Vec<f64> = (0..n).map(|_| w.next()).collect();
            let total: f64 = raw.iter().sum();
            list(&raw.iter().map(|x| num(x / total)).collect::<Vec<_>>())
        })
        .collect();
    if rows.len() == 1 {
        rows[0].clone()
    } else {
        list(&rows)
    }
}

impl Case {
    /// The number of values of the variable that indexes x's parameters.
    fn components(&self) -> usize {
        match self.kind {
            Kind::TwoLevel { j } => j,
            _ => self.k,
        }
    }

    /// The model's source.
    fn model(&self) -> String {
        let mut w = Take {
            xs: &self.weights,
            i: 0,
        };
        let mut r = Take {
            xs: &self.reals,
            i: 0,
        };
        let (k, c, d) = (self.k, self.components(), self.dim);
        let mut params = vec![format!(
            "param pi : simplex[{k}] = {}",
            simplexes(&mut w, 1, k)
        )];
        let mut vars = vec!["z ~ Categorical(pi)".to_string()];
        let index = match self.kind {
            Kind::TwoLevel { j } => {
                params.push(format!(
                    "param theta[{k}] : simplex[{j}] = {}",
                    simplexes(&mut w, k, j)
                ));
                vars.push("w ~ Categorical(theta[z])".into());
                "w"
            }
            Kind::Feature { j } => {
                params.push(format!(
                    "param theta[{k}] : simplex[{j}] = {}",
                    simplexes(&mut w, k, j)
                ));
                vars.push("y ~ Categorical(theta[z])".into());
                "z"
            }
            Kind::Mixture => "z",
        };
        if d == 1 {
            let mu: Vec<String> = (0..c).map(|_| num(4.0 * r.next())).collect();
            let sd: Vec<String> = (0..c).map(|_| num(0.3 + 1.5 * r.next().abs())).collect();
            params.push(format!("param mu[{c}] : real = {}", list(&mu)));
            params.push(format!("param sigma[{c}] : positive = {}", list(&sd)));
            vars.push(format!("x ~ Normal(mu[{index}], sigma[{index}])"));
        } else {
            let mu: Vec<String> = (0..c)
                .map(|_| list(&[num(4.0 * r.next()), num(4.0 * r.next())]))
                .collect();
            // A Aᵀ + 0.3 I is symmetric positive-definite.
            let covs: Vec<String> = (0..c)
                .map(|_| {
                    let (a, b, e) = (r.next(), r.next(), r.next());
                    let m = [[a * a + 0.3, a * b], [a * b, b * b + e * e + 0.3]];
                    list(&m.map(|row| list(&row.map(num))))
                })
                .collect();
            params.push(format!("param mu[{c}, 2] : real = {}", list(&mu)));
            params.push(format!("param Sigma[{c}] : cov[2] = {}", list(&covs)));
            vars.push(format!("x ~ MvNormal(mu[{index}], Sigma[{index}])"));
        }
        let mut out = String::from("model m {\n");
        for p in params {
            out.push_str(&format!("    {p}\n"));
        }
        out.push_str("    plate rows {\n");
        for v in vars {
            out.push_str(&format!("        {v}\n"));
        }
        out.push_str("    }\n}\n");
        out
    }

    /// The label column's name, if the data have one.
    fn label(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Mixture => None,
            Kind::TwoLevel { .. } => Some("w"),
            Kind::Feature { .. } => Some("y"),
        }
    }

    /// `let d = table(...)`: x (a row of NA when missing) and the label column.
    fn data(&self) -> String {
        let cell = |x: f64| if x.is_nan() { "NA".into() } else { num(x) };
        let xs: Vec<String> = self
            .rows
            .iter()
            .map(|(x, _)| {
                if self.dim == 1 {
                    cell(x[0])
                } else {
                    list(&x.iter().map(|&v| cell(v)).collect::<Vec<_>>())
                }
            })
            .collect();
        let mut cols = vec![format!("x = {}", list(&xs))];
        if let Some(l) = self.label() {
            let labels: Vec<String> = self.rows.iter().map(|r| cell(r.1)).collect();
            cols.push(format!("{l} = {}", list(&labels)));
        }
        format!("let d = table({})\n", cols.join(", "))
    }

    /// The condition point as source.
    fn at(&self) -> String {
        if self.dim == 1 {
            num(self.at[0])
        } else {
            list(&self.at.iter().map(|&x| num(x)).collect::<Vec<_>>())
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=4, 1usize..=2, 0usize..3, 2usize..=3, 6usize..30).prop_flat_map(
        |(k, dim, kind, j, n)| {
            let kind = match kind {
                0 => Kind::Mixture,
                1 => Kind::TwoLevel { j },
                _ => Kind::Feature { j },
            };
            let labels = match kind {
                Kind::Mixture => 1,
                _ => j,
            };
            // A missing x is a whole row of NA; a label is missing a fifth of the time.
            let row = (
                prop::bool::weighted(0.1),
                prop::collection::vec(-6.0f64..6.0, dim),
                prop::bool::weighted(0.2),
                0..labels,
            )
                .prop_map(|(gone, x, no_label, l)| {
                    let x = if gone { vec![f64::NAN; x.len()] } else { x };
                    (x, if no_label { f64::NAN } else { l as f64 })
                });
            (
                Just(k),
                Just(dim),
                Just(kind),
                prop::collection::vec(0.05f64..1.0, 40),
                prop::collection::vec(-1.0f64..1.0, 40),
                prop::collection::vec(row, n),
                prop::collection::vec(-7.0f64..7.0, dim),
            )
                .prop_map(|(k, dim, kind, weights, reals, rows, at)| Case {
                    k,
                    dim,
                    kind,
                    weights,
                    reals,
                    rows,
                    at,
                })
        },
    )
}

/// Runs `script` and returns the value of each expression statement, as numbers.
fn values(script: &str) -> Result<Vec<Array>, String> {
    let program = gmm::syntax::parse(script).map_err(|d| format!("{d:?}\n{script}"))?;
    let checked = gmm::check::check_program(&program);
    if checked.has_errors() {
        return Err(format!("{:?}\n{script}", checked.diags));
    }
    let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
    let mut out = Vec::new();
    for s in &program.stmts {
        match interp.exec(s, script) {
            Ok(Some(v)) => out.push(v.as_array().expect("a numeric value")),
            Ok(None) => {}
            Err(d) => return Err(format!("{d:?}\n{script}")),
        }
    }
    Ok(out)
}

fn logsumexp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// |a − b| within `rel` of the larger magnitude (or of 1).
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Runs `script`, which prints the starting log-likelihood and then a fit's trace: every
/// iteration's log-likelihood is at least the one before (up to rounding), unless the fit
/// stopped on a collapsed component.
fn never_lower(script: &str) -> Result<(), TestCaseError> {
    match values(script) {
        Ok(v) => {
            let mut last = v[0].as_scalar().unwrap();
            for &ll in v[1].data() {
                prop_assert!(ll.is_finite());
                prop_assert!(ll >= last - 1e-9 * last.abs().max(1.0), "{last} then {ll}");
                last = ll;
            }
        }
        Err(e) => prop_assert!(e.contains("collapsed to zero"), "{}", e),
    }
    Ok(())
}

/// 64 cases per property from a fixed seed, so every run checks the same cases.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6d6d),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// p(z), p(z | x = v) and (two latents) p(z, w | x = v) each sum to 1; p(x = v) is the
    /// sum over k of p(z = k, x = v); p(z = k | x = v) is p(z = k, x = v) / p(x = v).
    #[test]
    fn probabilities_marginals_and_posteriors(c in case()) {
        let at = c.at();
        let k = c.k;
        let mut script = c.model();
        script.push_str(&format!("p(z)\np(z | x = {at})\nlogp(x = {at})\n"));
        for z in 0..k {
            script.push_str(&format!("logp(z = {z}, x = {at})\n"));
        }
        if let Kind::TwoLevel { .. } = c.kind {
            script.push_str(&format!("p(z, w | x = {at})\n"));
        }
        let v = values(&script).map_err(TestCaseError::fail)?;
        let total = |a: &Array| a.data().iter().sum::<f64>();
        // Rounding in a sum of at most 12 probabilities from a log-sum-exp.
        prop_assert!(close(total(&v[0]), 1.0, 1e-12), "p(z) = {:?}", v[0]);
        prop_assert!(close(total(&v[1]), 1.0, 1e-12), "p(z | x) = {:?}", v[1]);
        let marginal = v[2].as_scalar().unwrap();
        let joints: Vec<f64> = (0..k).map(|z| v[3 + z].as_scalar().unwrap()).collect();
        prop_assert!(marginal.is_finite());
        prop_assert!(
            close(marginal, logsumexp(&joints), 1e-12),
            "log p(x) = {marginal}, log Σ_k p(z = k, x) = {}", logsumexp(&joints)
        );
        for (z, (&post, &joint)) in v[1].data().iter().zip(&joints).enumerate() {
            let ratio = (joint - marginal).exp();
            prop_assert!((post - ratio).abs() <= 1e-12, "p(z = {z} | x) = {post}, ratio {ratio}");
        }
        if let Kind::TwoLevel { .. } = c.kind {
            prop_assert!(close(total(&v[3 + k]), 1.0, 1e-12), "p(z, w | x) = {:?}", v[3 + k]);
        }
    }

    /// loglik(m, d) is the sum of the rows' logp, each row giving what it observes.
    #[test]
    fn loglik_is_the_sum_of_row_logps(c in case()) {
        let mut script = c.model();
        script.push_str(&c.data());
        let obs = match c.label() {
            Some(l) => format!("x = d.x, {l} = d.{l}"),
            None => "x = d.x".into(),
        };
        script.push_str(&format!("loglik(m, d)\nlogp({obs})\n"));
        let v = values(&script).map_err(TestCaseError::fail)?;
        let ll = v[0].as_scalar().unwrap();
        let rows = v[1].data();
        prop_assert_eq!(rows.len(), c.rows.len());
        let sum: f64 = rows.iter().sum();
        prop_assert!(ll.is_finite());
        // Both add up to at most 30 per-row values that each carry a few ulps of rounding.
        prop_assert!(close(ll, sum, 1e-12), "loglik {ll}, Σ logp {sum}");
    }

    /// With reg = 0, every EM iteration's log-likelihood is at least the one before, from the
    /// starting value on (up to rounding); a fit may instead stop on a collapsed component.
    #[test]
    fn em_never_lowers_the_likelihood(c in case()) {
        let mut script = c.model();
        script.push_str(&c.data());
        script.push_str("loglik(m, d)\n");
        script.push_str(
            "let f = fit(m, d, reg = 0, tol = 0, max_iter = 15, init = \"given\")\nf.trace\n",
        );
        never_lower(&script)?;
    }
}

// ---- Chains (section 9.4) ----

/// A random chain: z of `k` states with a first distribution and transitions, x ~ Normal by z;
/// rows may miss x or give z, and `seq` splits them into sequences.
#[derive(Clone, Debug)]
struct ChainCase {
    k: usize,
    start: Vec<f64>,
    /// Row-major k×k, each row a simplex.
    trans: Vec<f64>,
    mu: Vec<f64>,
    sd: Vec<f64>,
    /// Per row: x (NaN missing), z (NaN latent) and its sequence label.
    rows: Vec<(f64, f64, u8)>,
}

fn normalised(raw: &[f64]) -> Vec<f64> {
    let t: f64 = raw.iter().sum();
    raw.iter().map(|x| x / t).collect()
}

fn chain_case(rows: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = ChainCase> {
    (2usize..=3, rows).prop_flat_map(|(k, n)| {
        let row = (
            prop::bool::weighted(0.15),
            -4.0f64..6.0,
            prop::bool::weighted(0.15),
            0..k,
            0u8..2,
        )
            .prop_map(|(gone, x, label, z, s)| {
                (
                    if gone { f64::NAN } else { x },
                    if label { z as f64 } else { f64::NAN },
                    s,
                )
            });
        (
            prop::collection::vec(0.05f64..1.0, k),
            prop::collection::vec(0.05f64..1.0, k * k),
            prop::collection::vec(-2.0f64..4.0, k),
            prop::collection::vec(0.5f64..2.0, k),
            prop::collection::vec(row, n),
        )
            .prop_map(move |(start, trans, mu, sd, rows)| ChainCase {
                k,
                start: normalised(&start),
                trans: trans.chunks(k).flat_map(normalised).collect(),
                mu,
                sd,
                rows,
            })
    })
}

impl ChainCase {
    fn script(&self) -> String {
        let k = self.k;
        let nums = |xs: &[f64]| list(&xs.iter().map(|&x| num(x)).collect::<Vec<_>>());
        let rows: Vec<String> = self.trans.chunks(k).map(nums).collect();
        let cell = |x: f64| if x.is_nan() { "NA".into() } else { num(x) };
        let col = |f: &dyn Fn(&(f64, f64, u8)) -> String| {
            list(&self.rows.iter().map(f).collect::<Vec<_>>())
        };
        format!(
            "model m {{\n    param start : simplex[{k}] = {}\n    param A[{k}] : simplex[{k}] = {}\n    param mu[{k}] : real = {}\n    param sd[{k}] : positive = {}\n    chain t by seq {{\n        z ~ Categorical(start) then Categorical(A[prev(z)])\n        x ~ Normal(mu[z], sd[z])\n    }}\n}}\nlet d = table(x = {}, z = {}, seq = {})\n",
            nums(&self.start),
            list(&rows),
            nums(&self.mu),
            nums(&self.sd),
            col(&|r| cell(r.0)),
            col(&|r| cell(r.1)),
            col(&|r| r.2.to_string()),
        )
    }

    /// Brute force: log p(observations) summed over every path of every sequence, and per row
    /// the posterior of z.
    fn brute(&self) -> (f64, Vec<Vec<f64>>) {
        let k = self.k;
        let mut total = 0.0;
        let mut post = vec![vec![0.0; k]; self.rows.len()];
        for label in 0..2u8 {
            let rows: Vec<usize> = (0..self.rows.len())
                .filter(|&r| self.rows[r].2 == label)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut paths = Vec::new();
            for code in 0..k.pow(rows.len() as u32) {
                let path: Vec<usize> = (0..rows.len())
                    .map(|t| code / k.pow((rows.len() - 1 - t) as u32) % k)
                    .collect();
                let mut lp = 0.0;
                for (t, (&r, &z)) in rows.iter().zip(&path).enumerate() {
                    let (x, given, _) = self.rows[r];
                    if !given.is_nan() && given as usize != z {
                        lp = f64::NEG_INFINITY;
                    }
                    lp += if t == 0 {
                        self.start[z].ln()
                    } else {
                        self.trans[path[t - 1] * k + z].ln()
                    };
                    if !x.is_nan() {
                        let u = (x - self.mu[z]) / self.sd[z];
                        lp += -0.5 * u * u
                            - self.sd[z].ln()
                            - 0.5 * (2.0 * std::f64::consts::PI).ln();
                    }
                }
                paths.push((lp, path));
            }
            let lps: Vec<f64> = paths.iter().map(|p| p.0).collect();
            let z = logsumexp(&lps);
            total += z;
            for (lp, path) in &paths {
                for (&r, &s) in rows.iter().zip(path) {
                    post[r][s] += (lp - z).exp();
                }
            }
        }
        (total, post)
    }
}

proptest! {
    #![proptest_config(config())]

    /// For sequences of up to 6 rows, the chain's likelihood (forward recursion) is the sum
    /// over every path, and its posteriors (forward-backward) are the paths' marginals, with
    /// missing cells, labelled rows and two sequences.
    #[test]
    fn chain_marginal_is_the_sum_over_paths(c in chain_case(1..=6)) {
        let mut script = c.script();
        script.push_str("logp(z = d.z, x = d.x, seq = d.seq)\n");
        script.push_str("p(z | x = d.x, seq = d.seq)\n");
        let v = values(&script).map_err(TestCaseError::fail)?;
        let (total, _) = c.brute();
        let got = v[0].as_scalar().unwrap();
        prop_assert!(close(got, total, 1e-12), "logp {got}, Σ over paths {total}");
        // The posteriors without the labels: brute force over a copy that gives none.
        let free = ChainCase {
            rows: c.rows.iter().map(|&(x, _, s)| (x, f64::NAN, s)).collect(),
            ..c.clone()
        };
        let (_, post) = free.brute();
        for (r, want) in post.iter().enumerate() {
            for (s, &w) in want.iter().enumerate() {
                let g = v[1].data()[r * c.k + s];
                prop_assert!((g - w).abs() <= 1e-12, "row {r}, z = {s}: {g} vs {w}");
            }
        }
    }

    /// With reg = 0, Baum-Welch never lowers the likelihood, from the starting value on.
    #[test]
    fn baum_welch_never_lowers_the_likelihood(c in chain_case(8..=40)) {
        let mut script = c.script();
        script.push_str("loglik(m, d)\n");
        script.push_str(
            "let f = fit(m, d, reg = 0, tol = 0, max_iter = 15, init = \"given\")\nf.trace\n",
        );
        never_lower(&script)?;
    }
}
