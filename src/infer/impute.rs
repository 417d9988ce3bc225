//! Imputation (section 9.1): every missing cell of a data set filled from the rest of its row
//! under the model. A continuous value becomes its conditional mean, E[x_h | the row], mixed
//! over the posterior of its parents; a discrete value becomes its most probable value given
//! the row.

use super::InferError;
use super::cpd::{Layout, Local, tables};
use super::engine::is_global;
use super::numeric::logsumexp;
use super::query::{Ctx, conditional};
use super::stats::Data;
use crate::array::unravel;
use crate::model::{Model, Support, VarId};

/// Per variable of `data`, its observations with every missing cell filled; `None` for a
/// variable the data do not give, and for one outside the data plate (its cells are left as
/// they are).
pub fn impute(model: &Model, data: &Data) -> Result<Vec<Option<Vec<f64>>>, InferError> {
    let result = impute_inner(model, data);
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    result
}

fn impute_inner(model: &Model, data: &Data) -> Result<Vec<Option<Vec<f64>>>, InferError> {
    if let Some(p) = model.chain_plate() {
        return Err(InferError::Query(format!(
            "impute fills each row from that row alone, but `{}` is a chain, whose rows depend on each other; use decode(m, d) for the states, or p(z | ...) for their posteriors",
            model.plates[p].name
        )));
    }
    let cpds = tables(model)?;
    let ctx = Ctx::rows(model, &cpds, data.rows);
    let obs = &data.obs;
    let mut out = Vec::with_capacity(model.vars.len());
    for (v, var) in model.vars.iter().enumerate() {
        let Some(o) = obs[v].as_ref().filter(|_| !is_global(model, v)) else {
            out.push(None);
            continue;
        };
        let mut values = o.data.to_vec();
        if !values.iter().any(|x| x.is_nan()) {
            out.push(Some(values));
            continue;
        }
        if Layout::of(model, v).inst > 1 {
            return Err(InferError::Query(format!(
                "`{}` sits in a fixed-size plate inside the data plate; impute fills variables that have one value per row",
                var.name
            )));
        }
        match var.support {
            Support::Discrete(k) => {
                // The most probable value given the row (the lowest on a tie).
                let table = ctx.posterior(&[v], obs)?;
                for (x, row) in values.iter_mut().zip(table.chunks(k)) {
                    if x.is_nan() {
                        let best =
                            row.iter()
                                .enumerate()
                                .fold(
                                    (0, f64::NEG_INFINITY),
                                    |b, (i, &l)| if l > b.1 { (i, l) } else { b },
                                );
                        *x = best.0 as f64;
                    }
                }
            }
            _ => fill_continuous(model, &cpds, &ctx, obs, v, &mut values)?,
        }
        out.push(Some(values));
    }
    Ok(out)
}

/// Fills the missing entries of the continuous `v`'s rows with Σ_t p(parents = t | row) ·
/// E[x_h | x_s, t].
fn fill_continuous(
    model: &Model,
    cpds: &[super::cpd::Cpd],
    ctx: &Ctx<'_>,
    obs: &[Option<super::engine::Observed>],
    v: VarId,
    values: &mut [f64],
) -> Result<(), InferError> {
    let parents = &model.vars[v].parents;
    let radix: Vec<usize> = parents
        .iter()
        .map(|&p| match model.vars[p].support {
            Support::Discrete(k) => k,
            _ => unreachable!("parents are discrete"),
        })
        .collect();
    let k: usize = radix.iter().product();
    // log p(parents = t, row) per row (one shared row when no parent varies by row).
    let table = if parents.is_empty() {
        vec![0.0]
    } else {
        ctx.posterior(parents, obs)?
    };
    let per_row = table.len() / k;
    let dim = Layout::of(model, v).event;
    let cpd = &cpds[v];
    let keys: Vec<usize> = (0..k).map(|t| cpd.index(&unravel(t, &radix))).collect();
    for (i, row) in values.chunks_mut(dim).enumerate() {
        let missing: Vec<usize> = (0..dim).filter(|&e| row[e].is_nan()).collect();
        if missing.is_empty() {
            continue;
        }
        if i % 1024 == 0 && crate::interrupt::requested() {
            return Err(InferError::Interrupted);
        }
        let lt = &table[(i % per_row.max(1)) * k..(i % per_row.max(1) + 1) * k];
        let den = logsumexp(lt);
        let mut mean = vec![0.0; missing.len()];
        for (t, &l) in lt.iter().enumerate() {
            let w = if den == f64::NEG_INFINITY {
                0.0
            } else {
                (l - den).exp()
            };
            if w == 0.0 {
                continue;
            }
            let part: Vec<f64> = match &cpd.entries[keys[t]] {
                Local::Normal { mean, .. } => vec![*mean],
                Local::MvNormal(m) => conditional(m, row, &missing)?.0,
                _ => unreachable!("a continuous variable is Normal or MvNormal"),
            };
            for (m, p) in mean.iter_mut().zip(part) {
                *m += w * p;
            }
        }
        if den == f64::NEG_INFINITY {
            // An impossible row has no conditional; its cells stay missing.
            continue;
        }
        for (&e, m) in missing.iter().zip(mean) {
            row[e] = m;
        }
    }
    Ok(())
}
