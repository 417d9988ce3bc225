//! Properties of EM on many model shapes: the likelihood never decreases (reg = 0, also with
//! vectors missing some entries), integer
//! weights equal replicated rows, restarts never lose to their first start, seeds reproduce,
//! degenerate data stay finite with a warning, the thread count changes nothing; and the real
//! data checks on Old Faithful.

use crate::common;

use crate::common::model;
use gmm::infer::em::{self, Data, Fitted, Init, Options};
use gmm::infer::numeric::rng;
use gmm::interp::bind::bind;
use gmm::interp::data::{Cells, Dataset, load_csv, sample_rows};
use gmm::model::Model;

fn csv(path: &str) -> Dataset {
    load_csv(&common::root().join(path), path).expect("readable CSV")
}

fn table(cols: Vec<(&str, Vec<f64>)>) -> Dataset {
    Dataset::from_named(
        cols.into_iter()
            .map(|(n, v)| (n.to_string(), Cells::Num(gmm::array::Array::vector(v))))
            .collect(),
    )
    .expect("columns of equal length")
}

/// `rows` drawn from `m`, keeping only the columns named in `keep`.
fn sample(m: &Model, rows: usize, seed: u64, keep: &[&str]) -> Dataset {
    let d = sample_rows(m, rows, &mut rng(seed)).expect("samples");
    let columns = d
        .columns
        .into_iter()
        .filter(|c| {
            keep.iter()
                .any(|k| c.name == *k || c.name.starts_with(&format!("{k}[")))
        })
        .collect();
    Dataset { columns, ..d }
}

/// `d` with each numeric cell of a vector's columns (`x[0]`, …) missing with probability
/// `frac`, each on its own: rows then miss some entries.
fn holes(d: &Dataset, frac: f64, seed: u64) -> Dataset {
    let mut r = rng(seed);
    let mut d = d.clone();
    for c in &mut d.columns {
        if c.name.contains('[')
            && let gmm::interp::data::ColumnData::Num(v) = &mut c.data
        {
            for x in v.iter_mut() {
                if gmm::infer::numeric::uniform(&mut r) < frac {
                    *x = gmm::array::NA;
                }
            }
        }
    }
    d
}

fn run(m: &Model, d: &Dataset, opts: &Options) -> Fitted {
    let data: Data = bind(m, d, None).expect("binds");
    em::fit(m, &data, opts, &mut |_| true).expect("fits")
}

fn opts(init: Init, max_iter: usize, reg: f64, seed: u64) -> Options {
    Options {
        init,
        max_iter,
        tol: 0.0,
        reg,
        seed,
        ..Options::default()
    }
}

/// The trace never decreases by more than the rounding of a sum of N log terms.
fn assert_monotone(name: &str, f: &Fitted) {
    assert!(
        f.trace.iter().all(|x| x.is_finite()),
        "{name}: non-finite trace"
    );
    for (i, w) in f.trace.windows(2).enumerate() {
        assert!(
            w[1] >= w[0] - 1e-12 * w[0].abs(),
            "{name}: the log-likelihood fell from {} to {} at iteration {}",
            w[0],
            w[1],
            i + 2
        );
    }
}

const GRADES3: &str = "model m {
    param pi : simplex[3]
    param mu[3] : real
    param sigma[3] : positive
    plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sigma[z]) }
}";

#[test]
fn likelihood_never_decreases_without_reg() {
    let grades = csv("examples/lecture_grades.csv");
    let blobs = csv("examples/lecture_blobs2d.csv");
    let mut cases: Vec<(&str, Model, Dataset)> = vec![
        ("K = 3 on grades", model(GRADES3), grades.clone()),
        (
            "tied sd",
            model(
                "model m { param pi : simplex[2]; param mu[2] : real; param sigma : positive
                 plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sigma) } }",
            ),
            grades.clone(),
        ),
        (
            "shared mean, separate sds",
            model(
                "model m { param pi : simplex[2]; param mu : real; param sigma[2] : positive
                 plate rows { z ~ Categorical(pi); x ~ Normal(mu, sigma[z]) } }",
            ),
            grades.clone(),
        ),
        (
            "shared 2-D mean, separate covariances",
            model(
                "model m { param pi : simplex[2]; param mu : vector[2]; param S[2] : cov[2]
                 plate rows { z ~ Categorical(pi); x ~ MvNormal(mu, S[z]) } }",
            ),
            blobs.clone(),
        ),
    ];
    for ty in ["cov[2]", "diag[2]", "iso[2]"] {
        for tied in [false, true] {
            let (dims, index) = if tied { ("", "") } else { ("[3]", "[z]") };
            let text = format!(
                "model m {{ param pi : simplex[3]; param mu[3] : vector[2]; param S{dims} : {ty}
                 plate rows {{ z ~ Categorical(pi); x ~ MvNormal(mu[z], S{index}) }} }}"
            );
            let name: &'static str = Box::leak(format!("{ty} tied={tied}").into_boxed_str());
            cases.push((name, model(&text), blobs.clone()));
        }
    }
    // Two levels of latents; a global latent; a fixed plate inside the data plate; Bernoulli
    // features indexed by the latent and the plate.
    let two = csv("tests/reference/twolevel.csv");
    cases.push((
        "two levels",
        model(
            "model m { param pg : simplex[2]; param pz[2] : simplex[3]; param mu[3] : real
             param sigma[3] : positive; param nu[2] : real; param tau : positive
             plate rows { g ~ Categorical(pg); z ~ Categorical(pz[g]); x ~ Normal(mu[z], sigma[z])
                          y ~ Normal(nu[g], tau) } }",
        ),
        two,
    ));
    let global = model(
        "model m { param pi : simplex[2] = [0.3, 0.7]; param mu[2] : real = [0.0, 1.0]
         param sigma : positive = 2.0
         z ~ Categorical(pi)
         plate rows { x ~ Normal(mu[z], sigma) } }",
    );
    let d = sample(&global, 300, 5, &["x"]);
    cases.push(("global latent", global, d));
    let nested = model(
        "model m { param pi : simplex[2] = [0.4, 0.6]
         param mu[2, 3] : real = [[0, 1, 2], [3, 2, 1]]
         param sigma[2, 3] : positive = [[1, 1, 1], [0.5, 0.5, 0.5]]
         param q[2, 4] : prob = [[0.1, 0.2, 0.8, 0.9], [0.7, 0.6, 0.2, 0.5]]
         plate rows {
             z ~ Categorical(pi)
             plate f : 3 { x ~ Normal(mu[z, f], sigma[z, f]) }
             plate j : 4 { b ~ Bernoulli(q[z, j]) }
         } }",
    );
    let d = sample(&nested, 400, 9, &["x", "b"]);
    cases.push(("nested fixed plates", nested, d));
    // Rows that miss some entries of a vector (section 9.1): the fast path by patterns, and the
    // general engine under a global latent.
    let holed = holes(&blobs, 0.2, 4);
    for ty in ["cov[2]", "diag[2]", "iso[2]"] {
        for tied in [false, true] {
            let (dims, index) = if tied { ("", "") } else { ("[3]", "[z]") };
            let text = format!(
                "model m {{ param pi : simplex[3]; param mu[3] : vector[2]; param S{dims} : {ty}
                 plate rows {{ z ~ Categorical(pi); x ~ MvNormal(mu[z], S{index}) }} }}"
            );
            let name: &'static str =
                Box::leak(format!("{ty} tied={tied}, 20% of entries missing").into_boxed_str());
            cases.push((name, model(&text), holed.clone()));
        }
    }
    let global2 = model(
        "model m { param p : simplex[2] = [0.5, 0.5]; param pi : simplex[2] = [0.4, 0.6]
         param mu[2, 2] : vector[2] = [[[0, 0], [2, 2]], [[0, 1], [1, 0]]]
         param S[2] : cov[2] = [[[1, 0.3], [0.3, 1]], [[2, -0.5], [-0.5, 1]]]
         c ~ Categorical(p)
         plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[c, z], S[z]) } }",
    );
    let d = holes(&sample(&global2, 300, 6, &["x"]), 0.25, 8);
    cases.push(("global latent, entries missing", global2, d));
    for (name, m, d) in &cases {
        for (init, seed) in [(Init::KMeans, 1), (Init::Random, 2), (Init::Random, 3)] {
            let f = run(m, d, &opts(init, 60, 0.0, seed));
            assert_monotone(name, &f);
            assert_eq!(f.iterations, 60, "{name}: tol = 0 runs every iteration");
            assert_eq!(f.trace.last().copied(), Some(f.loglik));
        }
    }
}

#[test]
fn log_posterior_never_decreases_with_priors() {
    // MAP-EM (section 9.2): every kind of prior, from k-means and random starts, reg = 0; the
    // trace is the log posterior.
    let grades = csv("examples/lecture_grades.csv");
    let blobs = csv("examples/lecture_blobs2d.csv");
    let mut cases: Vec<(String, Model, Dataset)> = vec![(
        "grades, K = 3".into(),
        model(
            "model m { param pi : simplex[3] ~ Dirichlet(1.5); param mu[3] : real ~ Normal(3, 2)
             param sigma[3] : positive ~ InvGamma(2, 0.5)
             plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sigma[z]) } }",
        ),
        grades.clone(),
    )];
    for (ty, prior) in [
        ("cov[2]", "InvWishart(4, [[1, 0], [0, 1]])"),
        ("diag[2]", "InvGamma(2, 0.5)"),
        ("iso[2]", "InvGamma(3, 1)"),
    ] {
        for tied in [false, true] {
            let (dims, index) = if tied { ("", "") } else { ("[3]", "[z]") };
            let text = format!(
                "model m {{ param pi : simplex[3] ~ Dirichlet([2, 2, 3]); param mu[3] : vector[2] ~ Normal(0, 5)
                 param S{dims} : {ty} ~ {prior}
                 plate rows {{ z ~ Categorical(pi); x ~ MvNormal(mu[z], S{index}) }} }}"
            );
            cases.push((format!("{ty} tied={tied}"), model(&text), blobs.clone()));
        }
    }
    let two = csv("tests/reference/twolevel.csv");
    cases.push((
        "two levels".into(),
        model(
            "model m { param pg : simplex[2] ~ Dirichlet(2); param pz[2] : simplex[3] ~ Dirichlet(3)
             param mu[3] : real ~ Normal(0, 10); param sigma[3] : positive ~ InvGamma(2, 1)
             param nu[2] : real; param tau : positive ~ InvGamma(3, 1)
             plate rows { g ~ Categorical(pg); z ~ Categorical(pz[g]); x ~ Normal(mu[z], sigma[z])
                          y ~ Normal(nu[g], tau) } }",
        ),
        two,
    ));
    let features = model(
        "model m { param pi : simplex[2] ~ Dirichlet(2); param q[2, 4] : prob ~ Beta(2, 2)
         param mu[2] : real ~ Normal(0, 3); param sigma[2] : positive ~ InvGamma(2, 1)
         plate rows { z ~ Categorical(pi); plate j : 4 { b ~ Bernoulli(q[z, j]) }
                      x ~ Normal(mu[z], sigma[z]) } }",
    );
    let truth = model(
        "model m { param pi : simplex[2] = [0.4, 0.6]
         param q[2, 4] : prob = [[0.1, 0.2, 0.8, 0.9], [0.7, 0.6, 0.2, 0.5]]
         param mu[2] : real = [0, 2]; param sigma[2] : positive = [1, 0.5]
         plate rows { z ~ Categorical(pi); plate j : 4 { b ~ Bernoulli(q[z, j]) }
                      x ~ Normal(mu[z], sigma[z]) } }",
    );
    cases.push((
        "Beta on a fixed plate".into(),
        features,
        sample(&truth, 400, 3, &["b", "x"]),
    ));
    let global = model(
        "model m { param p : simplex[2] ~ Dirichlet(2); param mu[2] : real ~ Normal(0, 5)
         param sigma : positive ~ InvGamma(2, 2)
         c ~ Categorical(p)
         plate rows { x ~ Normal(mu[c], sigma) } }",
    );
    let d = sample(
        &model(
            "model m { param p : simplex[2] = [0.3, 0.7]; param mu[2] : real = [0.0, 1.0]
         param sigma : positive = 2.0
         c ~ Categorical(p)
         plate rows { x ~ Normal(mu[c], sigma) } }",
        ),
        300,
        5,
        &["x"],
    );
    cases.push(("global latent".into(), global, d));
    for (name, m, d) in &cases {
        for (init, seed) in [(Init::KMeans, 1), (Init::Random, 2), (Init::Random, 3)] {
            let f = run(m, d, &opts(init, 60, 0.0, seed));
            assert_monotone(name, &f);
            let lp = f.logpost.expect("a fit with priors has a log posterior");
            assert_eq!(
                f.trace.last().copied(),
                Some(lp),
                "{name}: the trace is the log posterior"
            );
            let prior = gmm::model::prior::logprior(&f.model);
            assert!((lp - (f.loglik + prior)).abs() <= 1e-9 * lp.abs(), "{name}");
        }
    }
}

#[test]
fn integer_weights_equal_replicated_rows() {
    let m = model(
        "model m { param pi : simplex[2] = [0.5, 0.5]; param mu[2] : real = [2.0, 4.0]
         param sigma[2] : positive = [1.0, 1.0]
         plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sigma[z]) } }",
    );
    let grades = csv("examples/lecture_grades.csv");
    let Cells::Num(x) = grades.get("x").expect("x") else {
        panic!("numeric")
    };
    let x: Vec<f64> = x.data()[..300].to_vec();
    let w: Vec<f64> = (0..x.len()).map(|i| (i * 7 % 4) as f64).collect();
    let replicated: Vec<f64> = x
        .iter()
        .zip(&w)
        .flat_map(|(&v, &k)| std::iter::repeat_n(v, k as usize))
        .collect();
    let o = opts(Init::Given, 50, 1e-6, 0);
    let weighted = {
        let data = bind(&m, &table(vec![("x", x.clone())]), Some(w.clone())).expect("binds");
        em::fit(&m, &data, &o, &mut |_| true).expect("fits")
    };
    let plain = run(&m, &table(vec![("x", replicated)]), &o);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * a.abs().max(b.abs());
    assert!(
        close(weighted.loglik, plain.loglik),
        "{} vs {}",
        weighted.loglik,
        plain.loglik
    );
    for (p, q) in weighted.model.params.iter().zip(&plain.model.params) {
        let (a, b) = (p.value.as_ref().unwrap(), q.value.as_ref().unwrap());
        for (x, y) in a.data().iter().zip(b.data()) {
            assert!(close(*x, *y), "{}: {x} vs {y}", p.name);
        }
    }
}

#[test]
fn restarts_never_lose_to_their_first_start() {
    let m = model(GRADES3);
    let d = csv("examples/lecture_grades.csv");
    for seed in 0..4 {
        for init in [Init::KMeans, Init::Random] {
            let one = run(
                &m,
                &d,
                &Options {
                    init,
                    seed,
                    ..Options::default()
                },
            );
            let many = run(
                &m,
                &d,
                &Options {
                    init,
                    seed,
                    restarts: 8,
                    ..Options::default()
                },
            );
            assert!(
                many.loglik >= one.loglik,
                "seed {seed} {init:?}: 8 restarts gave {} < first start {}",
                many.loglik,
                one.loglik
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_fit() {
    let m = model(GRADES3);
    let d = csv("examples/lecture_grades.csv");
    let o = Options {
        init: Init::Random,
        restarts: 5,
        sieve_iter: 3,
        sieve_keep: Some(2),
        seed: 42,
        ..Options::default()
    };
    let a = run(&m, &d, &o);
    let b = run(&m, &d, &o);
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.model, b.model);
    let c = run(&m, &d, &Options { seed: 43, ..o });
    assert!(c.trace.iter().all(|x| x.is_finite()));
}

#[test]
fn thread_count_changes_nothing() {
    // Enough rows for several chunks, so that chunks can run on different threads.
    let m = model(
        "model m { param pi : simplex[2] = [0.6, 0.4]; param mu[2] : vector[2] = [[0, 0], [3, 3]]
         param S[2] : cov[2] = [[[1, 0.3], [0.3, 1]], [[2, 0], [0, 0.5]]]
         plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]) } }",
    );
    let dir = common::scratch("em-thread-count-changes-nothing");
    let d = sample(&m, 20_000, 3, &["x"]);
    std::fs::write(dir.join("d.csv"), d.to_csv()).unwrap();
    std::fs::write(dir.join("m.gmm"), gmm::interp::source::model_source(&m)).unwrap();
    let fit_with = |threads: &str| {
        let args = [
            "fit",
            "m.gmm",
            "--data",
            "d.csv",
            "--init",
            "kmeans",
            "--restarts",
            "2",
        ];
        common::gmm_in(&dir, &args, Some(threads))
    };
    let one = fit_with("1");
    assert_eq!(one, fit_with("2"), "1 and 2 threads differ");
    assert_eq!(one, fit_with("3"), "1 and 3 threads differ");
}

#[test]
fn queries_and_the_general_engine_ignore_the_thread_count() {
    // A posterior over 20 000 rows (the fast path, in parallel chunks), and a fit of a model
    // with a global latent (the general engine, whose chunks also run in parallel).
    let dir = common::scratch("em-queries-and-the-general-engine-ignore-th");
    let script = "
model flat {
    param pi : simplex[2] = [0.6, 0.4]
    param mu[2] : real = [0, 3]
    param sd[2] : positive = [1, 0.5]
    plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sd[z]) }
}
model global {
    param p : simplex[2] = [0.5, 0.5]
    param q : simplex[2] = [0.5, 0.5]
    param mu[2] : real = [0, 1]
    c ~ Categorical(p)
    plate rows { z ~ Categorical(q); x ~ Normal(mu[c], 1) }
}
let d = sample(flat, 20000, seed = 5)
let post = p(z | x = d.x)
print post
print logp(x = d.x)
let g = fit(global, d, max_iter = 5, tol = 0)
print g.mu, g.p, g.q, g.loglik
";
    std::fs::write(dir.join("t.gmm"), script).unwrap();
    let run_with = |threads: &str| common::gmm_in(&dir, &["run", "t.gmm"], Some(threads));
    let one = run_with("1");
    assert!(one.len() > 100_000, "the posterior is printed whole");
    assert_eq!(one, run_with("2"), "1 and 2 threads differ");
}

#[test]
fn old_faithful_selects_two_components_near_scikit_learns_best() {
    let dir = common::scratch("em-old-faithful-selects-two-components-near");
    let faithful = common::root().join("examples/faithful.csv");
    let script = format!(
        "model mix(K) {{
            param pi : simplex[K]
            param mu[K] : vector[2]
            param S[K] : cov[2]
            plate rows {{ z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]) }}
        }}
        let raw = load(\"{}\")
        let d = table(x = columns(raw, \"eruptions\", \"waiting\"))
        let best = select(mix, 1..5, d, seed = 3)
        print len(best.pi)
        let k2 = fit(mix(2), d, restarts = 10, seed = 3)
        print k2.loglik",
        faithful.display()
    );
    std::fs::write(dir.join("f.gmm"), script).unwrap();
    let out = common::gmm(&["run", dir.join("f.gmm").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The BIC table (header and four rows), then the chosen K and the K = 2 log-likelihood.
    assert_eq!(lines.len(), 7, "{text}");
    assert!(
        lines[2].trim_end().ends_with('*'),
        "K = 2 is starred:\n{text}"
    );
    assert_eq!(lines[5], "2", "select picks K = 2:\n{text}");
    let ll: f64 = lines[6].parse().unwrap();
    let expected =
        std::fs::read_to_string(common::root().join("tests/reference/faithful.expected")).unwrap();
    let best: f64 = expected
        .trim()
        .rsplit('\t')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (ll - best).abs() < 1e-3,
        "K = 2 with 10 restarts: {ll}; scikit-learn's best of 100 starts: {best}"
    );
}

#[test]
fn a_saved_fit_loads_back_bit_for_bit() {
    let dir = common::scratch("em-a-saved-fit-loads-back-bit-for-bit");
    let script = format!(
        "model mix {{
            param pi : simplex[2]
            param mu[2] : vector[2]
            param S[2] : cov[2]
            plate rows {{ z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]) }}
        }}
        let f = fit(mix, load(\"{}\"), seed = 4)
        save(f, \"fitted.gmm\")
        let g = load(\"fitted.gmm\")
        assert all(g.pi == f.pi) and all(g.mu == f.mu) and all(g.S == f.S)
        print \"ok\"",
        common::root()
            .join("examples/lecture_blobs2d.csv")
            .display()
    );
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = common::gmm(&["run", dir.join("s.gmm").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
}
