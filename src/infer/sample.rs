//! Ancestral sampling: every variable in declaration (topological) order, global variables once
//! for the whole data set, data-plate variables once per copy, from one seeded generator in a
//! fixed order, so a seed gives the same draws on every machine.

use super::InferError;
use super::cpd::{Layout, tables};
use super::engine::is_global;
use super::numeric::Rng;
use crate::array::{Array, MAX_ELEMENTS, checked_len, unravel};
use crate::model::expr::EvalError;
use crate::model::{Model, VarId};

/// Draws `n` data-plate copies. Each variable's values have shape `[n] ++ its fixed plates'
/// sizes ++ its value's shape`; a global variable's single draw is repeated in every copy.
pub fn sample_model(
    model: &Model,
    n: usize,
    rng: &mut Rng,
) -> Result<Vec<(VarId, Array)>, InferError> {
    // Every variable gets n copies of its numbers: refuse before building anything.
    let layout = Layout::all(model);
    let per_row = layout.iter().fold(0usize, |t, l| {
        t.saturating_add(l.inst.saturating_mul(l.event))
    });
    if n.saturating_mul(per_row) > MAX_ELEMENTS {
        return Err(InferError::TooManyDraws { rows: n, per_row });
    }
    let cpds = tables(model)?;
    let nv = model.vars.len();
    let lanes: Vec<usize> = (0..nv)
        .map(|v| if is_global(model, v) { 1 } else { n })
        .collect();
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(nv);
    for v in 0..nv {
        let (var, cpd, lay) = (&model.vars[v], &cpds[v], &layout[v]);
        let len = checked_len(&[lanes[v], lay.inst, lay.event]).map_err(EvalError::from)?;
        let mut out = vec![0.0; len];
        let mut key = Vec::with_capacity(cpd.radix.len());
        for l in 0..lanes[v] {
            if l % 4096 == 0 && crate::interrupt::requested() {
                return Err(InferError::Interrupted);
            }
            // A chained variable after the first row (section 9.4): its `then` table, keyed by
            // the previous row's values of its `prev` variables (declared before it, or
            // itself, so drawn already), then its parents in this row.
            if let Some(nx) = var.next.as_ref().filter(|_| l > 0) {
                key.clear();
                key.extend(
                    nx.prev
                        .iter()
                        .map(|&p| values_of(&values, &out, v, p, l - 1)),
                );
                key.extend(
                    nx.parents
                        .iter()
                        .map(|&p| values_of(&values, &out, v, p, l)),
                );
                cpd.entries[cpd.next_index(&key)].draw(rng, &mut out[l..l + 1]);
                continue;
            }
            for i in 0..lay.inst {
                // This instance's fixed-plate indices; a parent's are a prefix of them.
                let idx = unravel(i, &lay.sizes);
                key.clear();
                for &p in &var.parents {
                    let pl = &layout[p];
                    let pi = idx[..pl.fixed.len()]
                        .iter()
                        .zip(&pl.sizes)
                        .fold(0, |acc, (&x, &s)| acc * s + x);
                    let lane = if lanes[p] == 1 { 0 } else { l };
                    key.push(values[p][lane * pl.inst + pi] as usize);
                }
                key.extend_from_slice(&idx);
                let at = (l * lay.inst + i) * lay.event;
                cpd.entries[cpd.index(&key)].draw(rng, &mut out[at..at + lay.event]);
            }
        }
        values.push(out);
    }
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(v, data)| {
            let lay = &layout[v];
            let data = if lanes[v] == 1 {
                data.iter()
                    .copied()
                    .cycle()
                    .take(n * lay.inst * lay.event)
                    .collect()
            } else {
                data
            };
            let mut shape = vec![n];
            shape.extend(lay.copy_shape(model, v));
            (v, Array::from_vec(shape, data))
        })
        .collect())
}

/// Row `l`'s value of variable `p` while variable `v` (drawn into `out`) is being drawn: a
/// chained variable reads itself in the previous row, and others of its row (one value per row
/// in the chain, or one in all outside it).
fn values_of(values: &[Vec<f64>], out: &[f64], v: VarId, p: VarId, l: usize) -> usize {
    let col = if p == v { out } else { &values[p][..] };
    (if col.len() == 1 { col[0] } else { col[l] }) as usize
}
