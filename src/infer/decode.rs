//! The most probable joint values of the latent variables given the data (section 9.4's
//! `decode`): Viterbi for a chain; for a plain model, each row's most probable joint
//! configuration, jointly over the rows where global latents couple them.
//!
//! Every latent configuration is scored by clamping it: the engine then gives log p(row's
//! observations, configuration) with nothing left to sum. A chain's state adds the chained
//! variables' transition factors, maximised by the Viterbi recursion in log space; the other
//! latents of a row are maximised row by row under each state; global latents are tried one
//! joint value at a time.

use super::InferError;
use super::chain::{Sequences, States, Transitions, check, emissions};
use super::cpd::{Cpd, Layout, tables};
use super::engine::{Observed, evidence, is_global};
use super::{TooManyWhat, checked_count, room_for};
use crate::array::unravel;
use crate::model::{Model, Support, VarId};

/// The decoded values: per latent variable, its value in every row (a global one repeated),
/// and the log probability of the whole assignment with the data.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The latent variables, in declaration order, each with one value per row.
    pub values: Vec<(VarId, Vec<f64>)>,
    /// log p(the decoded values, the observations).
    pub logp: f64,
}

/// Decodes the rows of `obs` (`rows` data copies split into `seqs` for a chain).
pub fn decode(
    model: &Model,
    obs: &[Option<Observed>],
    rows: usize,
    seqs: &Sequences,
) -> Result<Decoded, InferError> {
    let result = decode_inner(model, obs, rows, seqs);
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    result
}

fn decode_inner(
    model: &Model,
    obs: &[Option<Observed>],
    rows: usize,
    seqs: &Sequences,
) -> Result<Decoded, InferError> {
    let cpds = tables(model)?;
    let latent = |v: VarId| {
        model.vars[v].support.is_discrete()
            && obs[v]
                .as_ref()
                .is_none_or(|o| o.data.iter().any(|x| x.is_nan()))
    };
    let latents: Vec<VarId> = (0..model.vars.len()).filter(|&v| latent(v)).collect();
    if let Some(&v) = latents.iter().find(|&&v| Layout::of(model, v).inst > 1) {
        return Err(InferError::Query(format!(
            "`{}` sits in a fixed-size plate; decode gives variables with one value per row (or one in all)",
            model.vars[v].name
        )));
    }
    let chain = model.chain().is_some();
    let globals: Vec<VarId> = latents
        .iter()
        .copied()
        .filter(|&v| is_global(model, v))
        .collect();
    let row: Vec<VarId> = latents
        .iter()
        .copied()
        .filter(|&v| !is_global(model, v) && model.vars[v].next.is_none())
        .collect();
    let radix = |vars: &[VarId]| -> Result<Vec<usize>, InferError> {
        let sizes: Vec<(String, usize)> = vars
            .iter()
            .map(|&v| match model.vars[v].support {
                Support::Discrete(k) => (model.vars[v].name.clone(), k),
                _ => unreachable!("discrete"),
            })
            .collect();
        checked_count(&sizes, TooManyWhat::Configurations { plate: None })?;
        Ok(sizes.into_iter().map(|(_, k)| k).collect())
    };
    let (g_radix, c_radix) = (radix(&globals)?, radix(&row)?);
    let (g_count, c_count) = (
        g_radix.iter().product::<usize>(),
        c_radix.iter().product::<usize>(),
    );
    // Per row and state: the best score, its configuration, the state's emission and the
    // Viterbi back pointer; per row: the path, the configurations and the decoded columns.
    let chained = if chain {
        States::of(model)?
    } else {
        States::empty()
    };
    let states = if chain { chained.count } else { 1 };
    let per_row = (4 * states + 4 + latents.len()) * std::mem::size_of::<f64>();
    room_for("decoding", rows, rows.saturating_mul(per_row), 0)?;
    let mut best: Option<Best> = None;
    for g in 0..g_count {
        let mut at_g = obs.to_vec();
        for (&v, x) in globals.iter().zip(unravel(g, &g_radix)) {
            at_g[v] = Some(Observed::new(vec![x as f64], 1));
        }
        // Per row and state: the best configuration of the row's other latents and its score.
        let (score, states, configs) = if chain {
            check(model, &at_g)?;
            let st = &chained;
            let tr = Transitions::of(model, &cpds, &at_g, st);
            let (global, m, arg) =
                best_rows(model, &cpds, &at_g, rows, &row, &c_radix, c_count, Some(st))?;
            let (score, path) = viterbi(&m, &tr, seqs, st.count);
            let configs = (0..rows).map(|t| arg[t * st.count + path[t]]).collect();
            (global + score, path, configs)
        } else {
            let (global, m, arg) =
                best_rows(model, &cpds, &at_g, rows, &row, &c_radix, c_count, None)?;
            (global + m.iter().sum::<f64>(), vec![0; rows], arg)
        };
        if best.as_ref().is_none_or(|b| score > b.logp) {
            best = Some(Best {
                logp: score,
                globals: unravel(g, &g_radix),
                states,
                configs,
            });
        }
    }
    let Best {
        logp,
        globals: gvals,
        states,
        configs,
    } = best.expect("at least one global configuration");
    if logp == f64::NEG_INFINITY {
        return Err(InferError::ZeroCondition("the data".into()));
    }
    let values = latents
        .iter()
        .map(|&v| {
            let col: Vec<f64> = if let Some(i) = globals.iter().position(|&x| x == v) {
                vec![gvals[i] as f64; rows]
            } else if let Some(i) = row.iter().position(|&x| x == v) {
                configs
                    .iter()
                    .map(|&c| unravel(c, &c_radix)[i] as f64)
                    .collect()
            } else {
                let i = chained
                    .chained
                    .iter()
                    .position(|&x| x == v)
                    .expect("chained");
                states.iter().map(|&s| chained.value(s, i) as f64).collect()
            };
            (v, col)
        })
        .collect();
    Ok(Decoded { values, logp })
}

/// The best assignment found so far: its score, the global latents' values, and per row the
/// chain's state and the row latents' configuration.
struct Best {
    logp: f64,
    globals: Vec<usize>,
    states: Vec<usize>,
    configs: Vec<usize>,
}

/// For each row (and chain state, when `st` is given), the best joint value of the row's
/// latents `row` and its log score; and the log weight of everything outside the data plate.
#[allow(clippy::too_many_arguments)]
fn best_rows(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    rows: usize,
    row: &[VarId],
    radix: &[usize],
    count: usize,
    st: Option<&States>,
) -> Result<(f64, Vec<f64>, Vec<usize>), InferError> {
    let states = st.map_or(1, |s| s.count);
    let mut m = vec![f64::NEG_INFINITY; rows * states];
    let mut arg = vec![0usize; rows * states];
    let mut global = 0.0;
    for c in 0..count {
        let mut at_c = obs.to_vec();
        let values = unravel(c, radix);
        for (&v, &x) in row.iter().zip(&values) {
            at_c[v] = Some(Observed::new(vec![x as f64], 1));
        }
        let (g, e) = match st {
            Some(st) => emissions(model, cpds, &at_c, rows, st)?,
            None => {
                let ev = evidence(model, cpds, &at_c, rows)?;
                (ev.global[0], ev.local)
            }
        };
        global = g;
        for t in 0..rows {
            // A row that observes one of these variables rules out the values that disagree.
            let agrees = row.iter().zip(&values).all(|(&v, &x)| {
                obs[v].as_ref().is_none_or(|o| {
                    let y = o.data[if o.lanes == 1 { 0 } else { t }];
                    y.is_nan() || y == x as f64
                })
            });
            if !agrees {
                continue;
            }
            for s in 0..states {
                let x = e[t * states + s];
                if x > m[t * states + s] {
                    m[t * states + s] = x;
                    arg[t * states + s] = c;
                }
            }
        }
    }
    Ok((global, m, arg))
}

/// The Viterbi recursion over each sequence: the best path's log score (the sum over
/// sequences) and each row's state on it.
fn viterbi(m: &[f64], tr: &Transitions, seqs: &Sequences, n: usize) -> (f64, Vec<usize>) {
    let mut path = vec![0usize; seqs.len()];
    let mut total = 0.0;
    for k in 0..seqs.count() {
        let rows = seqs.rows(k);
        if rows.is_empty() {
            continue;
        }
        let mut back = vec![0usize; rows.len() * n];
        let mut delta: Vec<f64> = (0..n).map(|s| tr.first[s] + m[rows[0] * n + s]).collect();
        let mut next = vec![0.0; n];
        for (t, &r) in rows.iter().enumerate().skip(1) {
            for to in 0..n {
                let (mut b, mut arg) = (f64::NEG_INFINITY, 0);
                for (from, &d) in delta.iter().enumerate() {
                    let x = d + tr.next[from * n + to];
                    if x > b {
                        (b, arg) = (x, from);
                    }
                }
                next[to] = b + m[r * n + to];
                back[t * n + to] = arg;
            }
            std::mem::swap(&mut delta, &mut next);
        }
        let (mut s, best) =
            delta.iter().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |b, (i, &x)| if x > b.1 { (i, x) } else { b },
            );
        total += best;
        for t in (0..rows.len()).rev() {
            path[rows[t]] = s;
            s = back[t * n + s];
        }
    }
    (total, path)
}
