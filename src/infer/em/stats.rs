//! Expected sufficient statistics of every conditional-table entry, and the E-step that
//! gathers them: one fused pass over the rows, in fixed-size chunks that may run in parallel and
//! are reduced in chunk order, so the result does not depend on the thread count.
//!
//! Continuous statistics are centred on the entry's current mean (`Σ r·(x − μ)`,
//! `Σ r·(x − μ)²`): near convergence the mean moves little, so the variance update subtracts
//! small numbers instead of two huge ones, and stays accurate for data far from zero.

use crate::infer::InferError;
use crate::infer::cpd::{Cpd, Local};
use crate::infer::engine::{Engine, Observed, chunks};
use crate::infer::flat::Flat;
use crate::infer::numeric::logsumexp;
use crate::infer::vmath::sum8_zip;
use crate::model::{Model, Support, VarId};
use rayon::prelude::*;

/// Per variable, per table entry: expected counts of each value (discrete variables), or
/// `[Σr, Σr·d, Σr·d²]` with `d = x − mean` (Normal), or `[Σr, Σr·d (D), Σr·d·dᵀ (D×D)]`
/// (MvNormal).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Numbers per entry, per variable.
    pub width: Vec<usize>,
    /// Per variable, whether it is continuous (its first number is `Σr`).
    pub continuous: Vec<bool>,
    /// `entries × width` numbers per variable.
    pub data: Vec<Vec<f64>>,
}

impl Stats {
    /// Zero statistics for every entry of every table.
    pub fn zero(model: &Model, cpds: &[Cpd]) -> Stats {
        let width: Vec<usize> = model
            .vars
            .iter()
            .map(|v| match v.support {
                Support::Discrete(k) => k,
                Support::Real => 3,
                Support::RealVector(d) => 1 + d + d * d,
            })
            .collect();
        let data = cpds
            .iter()
            .zip(&width)
            .map(|(c, &w)| vec![0.0; c.entries.len() * w])
            .collect();
        let continuous = model
            .vars
            .iter()
            .map(|v| !v.support.is_discrete())
            .collect();
        Stats {
            width,
            continuous,
            data,
        }
    }

    /// The statistics of entry `e` of variable `v`.
    pub fn entry(&self, v: VarId, e: usize) -> &[f64] {
        let w = self.width[v];
        &self.data[v][e * w..(e + 1) * w]
    }

    /// Adds the value `x` of variable `v`, drawn from entry `e` (`local`), with weight `r`.
    pub fn add(&mut self, v: VarId, e: usize, local: &Local, x: &[f64], r: f64) {
        let w = self.width[v];
        let s = &mut self.data[v][e * w..(e + 1) * w];
        match local {
            Local::Categorical { .. } | Local::Bernoulli { .. } => s[x[0] as usize] += r,
            Local::Normal { mean, .. } => {
                let d = x[0] - mean;
                s[0] += r;
                s[1] += r * d;
                s[2] += r * d * d;
            }
            Local::MvNormal(m) => {
                let n = m.dim();
                // The deviation once per row (on the stack up to 16 dimensions).
                let mut buf = [0.0; 16];
                let mut heap = Vec::new();
                let d: &mut [f64] = if n <= buf.len() {
                    &mut buf[..n]
                } else {
                    heap.resize(n, 0.0);
                    &mut heap
                };
                for (i, di) in d.iter_mut().enumerate() {
                    *di = x[i] - m.mean[i];
                }
                // Missing entries: their conditional mean given the others (the deviation
                // G·d_s), and their conditional covariance C in the second moments.
                let given = if d.iter().any(|v| v.is_nan()) {
                    let seen: Vec<usize> = (0..n).filter(|&i| !d[i].is_nan()).collect();
                    // No entry observed: no evidence. A split fails only when interrupted,
                    // and the caller then reports the interruption.
                    let Some(g) = m.given(&seen).filter(|_| !seen.is_empty()) else {
                        return;
                    };
                    let ds: Vec<f64> = seen.iter().map(|&i| d[i]).collect();
                    let mut dh = vec![0.0; g.hidden.len()];
                    g.hidden_deviation(&ds, &mut dh);
                    for (&i, v) in g.hidden.iter().zip(dh) {
                        d[i] = v;
                    }
                    Some(g)
                } else {
                    None
                };
                s[0] += r;
                for i in 0..n {
                    s[1 + i] += r * d[i];
                    let row = &mut s[1 + n + i * n..1 + n + (i + 1) * n];
                    for (out, dj) in row.iter_mut().zip(d.iter()) {
                        *out += r * d[i] * dj;
                    }
                }
                if let Some(g) = given {
                    add_conditional_cov(s, n, &g, r);
                }
            }
        }
    }

    /// Adds another set of statistics of the same shape.
    pub fn merge(&mut self, other: &Stats) {
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// Adds `r·C` (the conditional covariance of the hidden entries) to the hidden block of the
/// second moments of MvNormal statistics `s` (dimension `n`).
pub fn add_conditional_cov(s: &mut [f64], n: usize, g: &crate::infer::numeric::Given, r: f64) {
    let h = g.hidden.len();
    for (a, &i) in g.hidden.iter().enumerate() {
        for (b, &j) in g.hidden.iter().enumerate() {
            s[1 + n + i * n + j] += r * g.cov[a * h + b];
        }
    }
}

/// Data for EM: observations of every variable over `rows` data copies, and row weights.
#[derive(Clone, Debug)]
pub struct Data {
    /// Per variable, its observations (`None`: latent everywhere).
    pub obs: Vec<Option<Observed>>,
    /// The number of data rows.
    pub rows: usize,
    /// Non-negative row weights; `None` weighs every row 1.
    weights: Option<Vec<f64>>,
    /// The number of rows, or the sum of the weights.
    total: f64,
}

impl Data {
    /// Observations over `rows` data copies, with optional row weights.
    pub fn new(obs: Vec<Option<Observed>>, rows: usize, weights: Option<Vec<f64>>) -> Data {
        let total = match &weights {
            Some(w) => w.iter().sum(),
            None => rows as f64,
        };
        Data {
            obs,
            rows,
            weights,
            total,
        }
    }

    /// The row weights, if any.
    pub fn row_weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// The weight of each row of a chunk.
    fn weights(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        match &self.weights {
            Some(w) => w[range].to_vec(),
            None => vec![1.0; range.len()],
        }
    }

    /// The total weight: the number of rows, or the sum of the weights.
    pub fn total_weight(&self) -> f64 {
        self.total
    }

    /// Responsibility mass too small to estimate from: 1e-12 of the total weight. A cell with
    /// no more keeps its value.
    pub fn negligible(&self) -> f64 {
        1e-12 * self.total_weight()
    }

    fn chunks(&self) -> Vec<std::ops::Range<usize>> {
        chunks(self.rows)
    }
}

/// What an E-step found.
#[derive(Clone, Debug)]
pub struct EStep {
    /// The (weighted) observed-data log-likelihood.
    pub loglik: f64,
    /// The expected sufficient statistics, when asked for.
    pub stats: Option<Stats>,
    /// The first row (0-based) whose observations have probability zero, if any.
    pub impossible_row: Option<usize>,
}

/// Σ_l w_l·x_l over one chunk, skipping rows of weight 0; the first impossible row, if any.
fn weighted_sum(ev: &[f64], w: &[f64], first: usize) -> (f64, Option<usize>) {
    let s = sum8_zip(w, ev, |w, x| if w == 0.0 { 0.0 } else { w * x });
    let bad = if s == f64::NEG_INFINITY {
        ev.iter()
            .zip(w)
            .position(|(&x, &w)| w != 0.0 && x == f64::NEG_INFINITY)
            .map(|l| first + l)
    } else {
        None
    };
    (s, bad)
}

/// Runs the E-step under the tables `cpds`: the log-likelihood, and with `want_stats` the
/// expected sufficient statistics.
pub fn estep(
    model: &Model,
    cpds: &[Cpd],
    data: &Data,
    want_stats: bool,
) -> Result<EStep, InferError> {
    let chunks = data.chunks();
    let obs = &data.obs;
    let configs = Engine::over(model, cpds, obs, 0..0).global_configs()?;
    if configs == 1 {
        // No global latents: one pass gives both the likelihood and the statistics, through the
        // fast path when the model is flat.
        let flat = Flat::compile(model, cpds, obs);
        let parts: Vec<(f64, Option<usize>, Option<Stats>)> = chunks
            .par_iter()
            .map(|range| {
                let engine = || Engine::over(model, cpds, obs, range.clone());
                let w = data.weights(range.clone());
                let mut s = want_stats.then(|| Stats::zero(model, cpds));
                let ev = match (&flat, &mut s) {
                    (Some(f), Some(s)) => f.accumulate(range.clone(), &w, s),
                    (Some(f), None) => f.evidence(range.clone()),
                    (None, Some(s)) => engine().accumulate_data(0, &w, s)?,
                    (None, None) => engine().run()?.local,
                };
                let (ll, bad) = weighted_sum(&ev, &w, range.start);
                Ok((ll, bad, s))
            })
            .collect::<Result<_, InferError>>()?;
        // The fast path stops between blocks when asked, leaving its numbers unfinished.
        if crate::interrupt::requested() {
            return Err(InferError::Interrupted);
        }
        let engine = Engine::over(model, cpds, obs, 0..0);
        let mut stats = Stats::zero(model, cpds);
        let mut loglik = engine.accumulate_global(0, 1.0, &mut stats)?;
        let mut impossible_row = None;
        for (ll, bad, s) in parts {
            loglik += ll;
            impossible_row = impossible_row.or(bad);
            if let Some(s) = s {
                stats.merge(&s);
            }
        }
        return Ok(EStep {
            loglik,
            stats: want_stats.then_some(stats),
            impossible_row,
        });
    }
    // Global latents couple the rows: first their posterior from every chunk's evidence, then
    // the statistics under it.
    let parts: Vec<Vec<f64>> = chunks
        .par_iter()
        .map(|range| {
            let ev = Engine::over(model, cpds, obs, range.clone()).run()?;
            let w = data.weights(range.clone());
            Ok((0..configs)
                .map(|g| {
                    let col: Vec<f64> = (0..ev.lanes).map(|l| ev.local[l * configs + g]).collect();
                    weighted_sum(&col, &w, range.start).0
                })
                .collect())
        })
        .collect::<Result<_, InferError>>()?;
    let root = Engine::over(model, cpds, obs, 0..0).run()?;
    let total: Vec<f64> = (0..configs)
        .map(|g| root.global[g] + parts.iter().map(|p| p[g]).sum::<f64>())
        .collect();
    let loglik = logsumexp(&total);
    if !want_stats || loglik == f64::NEG_INFINITY {
        return Ok(EStep {
            loglik,
            stats: None,
            impossible_row: None,
        });
    }
    let post: Vec<f64> = total.iter().map(|t| (t - loglik).exp()).collect();
    let mut stats = Stats::zero(model, cpds);
    let engine = Engine::over(model, cpds, obs, 0..0);
    for (g, &pg) in post.iter().enumerate() {
        if pg == 0.0 {
            continue;
        }
        engine.accumulate_global(g, pg, &mut stats)?;
        let parts: Vec<Stats> = chunks
            .par_iter()
            .map(|range| {
                let engine = Engine::over(model, cpds, obs, range.clone());
                let w: Vec<f64> = data.weights(range.clone()).iter().map(|x| x * pg).collect();
                let mut s = Stats::zero(model, cpds);
                engine.accumulate_data(g, &w, &mut s)?;
                Ok(s)
            })
            .collect::<Result<_, InferError>>()?;
        for s in &parts {
            stats.merge(s);
        }
    }
    Ok(EStep {
        loglik,
        stats: Some(stats),
        impossible_row: None,
    })
}
