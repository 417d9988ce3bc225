//! The E-step: the log-likelihood and the expected sufficient statistics ([`Stats`]) under the
//! current tables, in one fused pass over the rows, in fixed-size chunks that may run in
//! parallel and are reduced in chunk order, so the result does not depend on the thread count.

use crate::infer::InferError;
use crate::infer::cpd::Cpd;
use crate::infer::engine::Engine;
use crate::infer::flat::Flat;
use crate::infer::numeric::logsumexp;
use crate::infer::stats::{Data, Stats};
use crate::infer::vmath::sum8_zip;
use crate::model::Model;
use rayon::prelude::*;

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
/// expected sufficient statistics. A chain's goes by the forward–backward recursions.
pub fn estep(
    model: &Model,
    cpds: &[Cpd],
    data: &Data,
    want_stats: bool,
) -> Result<EStep, InferError> {
    match model.chain() {
        Some(_) => crate::infer::chain::estep(model, cpds, data, &data.sequences(), want_stats),
        None => plate_estep(model, cpds, data, want_stats),
    }
}

/// The E-step of a model whose data rows are independent given what lies outside the data
/// plate.
pub(crate) fn plate_estep(
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
