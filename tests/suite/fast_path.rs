//! The fast path for flat models (`infer::flat`) computes what the general enumeration engine
//! computes: per-row log evidence and expected sufficient statistics, on every model shape the
//! fast path takes, with missing values, observed latents, zero weights and impossible rows, and
//! vectors that miss some of their entries (taken pattern by pattern).
//!
//! Tolerances: the two differ only in rounding. The fast path uses its own `exp`/`ln` (within
//! 2 ulps), multiplies by 1/sd or the inverse Cholesky factor where the engine divides, and sums
//! a chunk's rows in eight partial sums where the engine adds row by row. For a sum of n = 2048
//! terms the reordering moves the result by at most n·ε·Σ|terms| ≈ 4.5e-13·Σ|terms|, so
//! statistics are compared at 1e-10 of the largest number of their table entry and evidence at
//! 1e-12 relative. A real mistake (a wrong entry, weight or configuration) moves them by far more.

use crate::common::model;
use gmm::infer::cpd::tables;
use gmm::infer::engine::Engine;
use gmm::infer::flat::Flat;
use gmm::infer::numeric::{rng, uniform};
use gmm::infer::stats::Stats;
use gmm::interp::bind::bind;
use gmm::interp::data::{Cells, ColumnData, Dataset, sample_rows};
use gmm::model::Model;

/// `rows` rows drawn from `m`; columns not in `keep` dropped, and in the columns of `holes` a
/// fifth of the cells made missing.
fn data(m: &Model, rows: usize, keep: &[&str], holes: &[&str]) -> Dataset {
    let mut r = rng(11);
    let d = sample_rows(m, rows, &mut r).expect("samples");
    let stem = |name: &str| name.split('[').next().unwrap_or(name).to_string();
    let columns = d
        .columns
        .into_iter()
        .filter(|c| keep.contains(&stem(&c.name).as_str()))
        .map(|mut c| {
            if holes.contains(&stem(&c.name).as_str())
                && let ColumnData::Num(v) = &mut c.data
            {
                // Whole rows of a vector variable go missing together.
                let mut rr = rng(5);
                for x in v.iter_mut() {
                    if uniform(&mut rr) < 0.2 {
                        *x = gmm::array::NA;
                    }
                }
            }
            c
        })
        .collect();
    Dataset { columns, ..d }
}

/// Row weights with zeros among them.
fn weights(n: usize) -> Vec<f64> {
    let mut r = rng(7);
    (0..n)
        .map(|_| {
            let u = uniform(&mut r);
            if u < 0.1 { 0.0 } else { 2.0 * u }
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol
}

/// Compares the fast path with the engine on every chunk of `d`.
fn agree(m: &Model, d: &Dataset) {
    let bound = bind(m, d, None).expect("binds");
    let cpds = tables(m).expect("tables");
    let obs = &bound.obs;
    let flat = Flat::compile(m, &cpds, obs).expect("the model is flat");
    let n = bound.rows;
    let w = weights(n);
    for start in (0..n).step_by(2048) {
        let range = start..(start + 2048).min(n);
        let engine = Engine::over(m, &cpds, obs, range.clone());
        let (mut fast, mut slow) = (Stats::zero(m, &cpds), Stats::zero(m, &cpds));
        let wr = &w[range.clone()];
        let ev_fast = flat.accumulate(range.clone(), wr, &mut fast);
        let ev_slow = engine.accumulate_data(0, wr, &mut slow).expect("runs");
        let plain = flat.evidence(range.clone());
        let plain_slow = engine.run().expect("runs").local;
        for (l, (((a, b), c), e)) in ev_fast
            .iter()
            .zip(&ev_slow)
            .zip(&plain)
            .zip(&plain_slow)
            .enumerate()
        {
            let tol = 1e-12 * b.abs().max(1.0);
            assert!(close(*a, *b, tol), "row {}: {a} against {b}", start + l);
            assert!(close(*c, *e, tol), "row {}: {c} against {e}", start + l);
            assert_eq!(a.to_bits(), c.to_bits(), "evidence alone differs");
        }
        for v in 0..m.vars.len() {
            let width = fast.width[v];
            for (e, (x, y)) in fast.data[v]
                .chunks(width)
                .zip(slow.data[v].chunks(width))
                .enumerate()
            {
                let scale = y.iter().fold(1.0f64, |s, t| s.max(t.abs()));
                for (a, b) in x.iter().zip(y) {
                    assert!(
                        close(*a, *b, 1e-10 * scale),
                        "`{}` entry {e}: {x:?} against {y:?}",
                        m.vars[v].name
                    );
                }
            }
        }
    }
}

#[test]
fn one_dimension_with_missing_values() {
    let m = model(
        "model m { param pi : simplex[3] = [0.2, 0.3, 0.5]; param mu[3] : real = [-2, 0.5, 3]
         param sd[3] : positive = [0.5, 1, 2]
         plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sd[z]) } }",
    );
    agree(&m, &data(&m, 5000, &["x"], &["x"]));
}

#[test]
fn shared_spread() {
    let m = model(
        "model m { param pi : simplex[2] = [0.4, 0.6]; param mu[2] : real = [-1, 2]
         param sd : positive = 1.5
         plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sd) } }",
    );
    agree(&m, &data(&m, 3000, &["x"], &[]));
}

#[test]
fn full_covariance_in_three_dimensions() {
    let m = model(
        "model m { param pi : simplex[2] = [0.6, 0.4]
         param mu[2] : vector[3] = [[0, 0, 0], [3, 3, -1]]
         param S[2] : cov[3] = [[[1, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 2]], [[2, 0, 0.5], [0, 0.5, 0], [0.5, 0, 1]]]
         plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]) } }",
    );
    agree(&m, &data(&m, 5000, &["x"], &["x"]));
}

/// `d` with each cell of the columns of vector `name` missing with probability `frac`, on its
/// own: rows then miss some entries, all or none.
fn holes_in_entries(mut d: Dataset, name: &str, frac: f64) -> Dataset {
    let mut r = rng(23);
    for c in &mut d.columns {
        if c.name.starts_with(&format!("{name}["))
            && let ColumnData::Num(v) = &mut c.data
        {
            for x in v.iter_mut() {
                if uniform(&mut r) < frac {
                    *x = gmm::array::NA;
                }
            }
        }
    }
    d
}

#[test]
fn vectors_missing_some_entries() {
    // Full covariances per component, a tied diagonal one, and a vector beside a Normal; a
    // third of the cells missing leaves every pattern of 3 entries in the data.
    let full = model(
        "model m { param pi : simplex[2] = [0.6, 0.4]
         param mu[2] : vector[3] = [[0, 0, 0], [3, 3, -1]]
         param S[2] : cov[3] = [[[1, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 2]], [[2, 0, 0.5], [0, 0.5, 0], [0.5, 0, 1]]]
         plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]) } }",
    );
    let tied = model(
        "model m { param pi : simplex[3] = [0.3, 0.3, 0.4]
         param mu[3] : vector[2] = [[0, 0], [3, 1], [-1, 2]]
         param S : diag[2] = [[1, 0], [0, 2]]
         param nu[3] : real = [0, 1, 2]; param sd[3] : positive = [1, 0.5, 2]
         plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[z], S); y ~ Normal(nu[z], sd[z]) } }",
    );
    for (m, keep) in [(&full, &["x"][..]), (&tied, &["x", "y"][..])] {
        let d = holes_in_entries(data(m, 5000, keep, &["y"]), "x", 0.33);
        let bound = bind(m, &d, None).expect("binds");
        let d0 = m.vars[m.var_id("x").expect("x")].support;
        let gmm::model::Support::RealVector(dim) = d0 else {
            panic!("x is a vector")
        };
        let patterns = bound.obs[m.var_id("x").expect("x")]
            .as_ref()
            .and_then(|o| o.patterns(dim))
            .expect("patterns");
        assert_eq!(patterns.masks.len(), 1 << dim, "every pattern occurs");
        agree(m, &d);
    }
}

#[test]
fn two_levels_and_two_observed_variables() {
    let m = model(
        "model m { param pg : simplex[2] = [0.5, 0.5]
         param pz[2] : simplex[3] = [[0.4, 0.3, 0.3], [0.3, 0.3, 0.4]]
         param mu[3] : real = [-1, 0.5, 3]; param sigma[3] : positive = [1, 1, 1]
         param nu[2] : real = [-0.5, 2]; param tau : positive = 1.5
         plate rows { g ~ Categorical(pg); z ~ Categorical(pz[g])
                      x ~ Normal(mu[z], sigma[z]); y ~ Normal(nu[g], tau) } }",
    );
    agree(&m, &data(&m, 4000, &["x", "y"], &["y"]));
}

#[test]
fn partly_observed_latent_and_observed_features() {
    // z is labelled in some rows (semi-supervised); c (Categorical) and b (Bernoulli) are
    // observed discrete features the fast path enumerates and rules out.
    let m = model(
        "model m { param pi : simplex[2] = [0.5, 0.5]
         param theta[2] : simplex[3] = [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]
         param q[2] : prob = [0.2, 0.7]
         param mu[2] : real = [-0.5, 2]; param sigma[2] : positive = [1, 1]
         plate rows { z ~ Categorical(pi); c ~ Categorical(theta[z]); b ~ Bernoulli(q[z])
                      x ~ Normal(mu[z], sigma[z]) } }",
    );
    agree(&m, &data(&m, 4000, &["z", "c", "b", "x"], &["z", "x"]));
}

#[test]
fn impossible_rows() {
    // Component 1 has probability 0, so rows labelled 1 are impossible in both paths.
    let m = model(
        "model m { param pi : simplex[2] = [1, 0]; param mu[2] : real = [0, 1]
         param sd[2] : positive = [1, 1]
         plate rows { z ~ Categorical(pi); x ~ Normal(mu[z], sd[z]) } }",
    );
    let x: Vec<f64> = (0..100).map(|i| f64::from(i) / 10.0).collect();
    let z: Vec<f64> = (0..100)
        .map(|i| if i % 7 == 0 { 1.0 } else { gmm::array::NA })
        .collect();
    let d = Dataset::from_named(vec![
        ("x".into(), Cells::Num(gmm::array::Array::vector(x))),
        ("z".into(), Cells::Num(gmm::array::Array::vector(z))),
    ])
    .expect("a table");
    agree(&m, &d);
    let bound = bind(&m, &d, None).expect("binds");
    let cpds = tables(&m).expect("tables");
    let ev = Flat::compile(&m, &cpds, &bound.obs)
        .expect("flat")
        .evidence(0..100);
    assert_eq!(ev[0], f64::NEG_INFINITY);
    assert!(ev[1].is_finite());
}

#[test]
fn other_shapes_go_to_the_engine() {
    // A global latent and a plate inside the data plate are not flat.
    let global = model(
        "model m { param p : simplex[2] = [0.5, 0.5]; param mu[2] : real = [0, 1]
         c ~ Categorical(p)
         plate rows { x ~ Normal(mu[c], 1) } }",
    );
    let nested = model(
        "model m { param pi : simplex[2] = [0.5, 0.5]; param q[2] : prob = [0.2, 0.8]
         plate rows { z ~ Categorical(pi); plate f : 3 { b ~ Bernoulli(q[z]) } } }",
    );
    for (m, keep) in [(&global, "x"), (&nested, "b")] {
        let d = data(m, 50, &[keep], &[]);
        let bound = bind(m, &d, None).expect("binds");
        let cpds = tables(m).expect("tables");
        assert!(Flat::compile(m, &cpds, &bound.obs).is_none());
    }
}
