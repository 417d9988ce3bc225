//! Ancestral sampling: every variable in declaration (topological) order, global variables once
//! for the whole data set, data-plate variables once per copy, from one seeded generator in a
//! fixed order, so a seed gives the same draws on every machine.

use super::InferError;
use super::cpd::{fixed_plates, plate_size, tables};
use super::engine::is_global;
use super::numeric::Rng;
use crate::array::{Array, checked_len};
use crate::model::expr::EvalError;
use crate::model::{Model, VarId};

/// Draws `n` data-plate copies. Each variable's values have shape `[n] ++ its fixed plates'
/// sizes ++ its value's shape`; a global variable's single draw is repeated in every copy.
pub fn sample_model(
    model: &Model,
    n: usize,
    rng: &mut Rng,
) -> Result<Vec<(VarId, Array)>, InferError> {
    let cpds = tables(model)?;
    let nv = model.vars.len();
    let fixed: Vec<Vec<usize>> = (0..nv).map(|v| fixed_plates(model, v)).collect();
    let sizes: Vec<Vec<usize>> = fixed
        .iter()
        .map(|f| f.iter().map(|&p| plate_size(model, p)).collect())
        .collect();
    let inst: Vec<usize> = sizes.iter().map(|s| s.iter().product()).collect();
    let event: Vec<usize> = model
        .vars
        .iter()
        .map(|v| v.support.shape().iter().product())
        .collect();
    let lanes: Vec<usize> = (0..nv)
        .map(|v| if is_global(model, v) { 1 } else { n })
        .collect();
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(nv);
    for v in 0..nv {
        let var = &model.vars[v];
        let cpd = &cpds[v];
        let len = checked_len(&[lanes[v], inst[v], event[v]]).map_err(EvalError::from)?;
        let mut out = vec![0.0; len];
        let mut idx = vec![0usize; sizes[v].len()];
        let mut key = Vec::with_capacity(cpd.radix.len());
        for l in 0..lanes[v] {
            for i in 0..inst[v] {
                // idx: this instance's fixed-plate indices; a parent's are a prefix of them.
                let mut rest = i;
                for a in (0..idx.len()).rev() {
                    idx[a] = rest % sizes[v][a];
                    rest /= sizes[v][a];
                }
                key.clear();
                for &p in &var.parents {
                    let np = fixed[p].len();
                    let pi = idx[..np]
                        .iter()
                        .zip(&sizes[p])
                        .fold(0, |acc, (&x, &s)| acc * s + x);
                    let pl = if lanes[p] == 1 { 0 } else { l };
                    key.push(values[p][pl * inst[p] + pi] as usize);
                }
                key.extend_from_slice(&idx);
                let at = (l * inst[v] + i) * event[v];
                cpd.entries[cpd.index(&key)].draw(rng, &mut out[at..at + event[v]]);
            }
        }
        values.push(out);
    }
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(v, data)| {
            let per = inst[v] * event[v];
            let data = if lanes[v] == 1 {
                data.iter().copied().cycle().take(n * per).collect()
            } else {
                data
            };
            let mut shape = vec![n];
            shape.extend(&sizes[v]);
            shape.extend(model.vars[v].support.shape());
            (v, Array::from_vec(shape, data))
        })
        .collect())
}
