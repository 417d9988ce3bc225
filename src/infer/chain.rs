//! Chains (section 9.4): exact inference by the forward–backward recursions.
//!
//! The chain's *state* in a row is the joint value of its chained variables (`v ~ FIRST then
//! NEXT`); a model with one chained `z` of K values has K states. Given the state, a row's
//! other variables are independent of every other row, so the row's *emission* — log p(the
//! row's other observations | state s), every other latent of the row summed out — is what the
//! engine computes for a data plate with the chained variables clamped to s and their own
//! factors left out (they are the chain's). The transition factors come from the chained
//! variables' tables: `FIRST` at a sequence's first row, `NEXT` (reading `prev`) after it.
//!
//! The recursions run per sequence in scaled form: each row's emissions are shifted by their
//! largest before exponentiating, and each forward message is normalised, its sum's logarithm
//! added to the log-likelihood, so nothing underflows however long the sequence (Rabiner's
//! scaling, as hmmlearn's `implementation="scaling"`). Forward messages are kept (O(N·S)
//! memory); backward messages are computed on the fly from the end, so the work is O(N·S²) per
//! pass. Sequences are independent and run in parallel, each in its own order, so the result
//! does not depend on the thread count.

use super::cpd::{Cpd, Local};
use super::em::estep::{EStep, plate_estep};
use super::engine::{Engine, Observed, evidence, is_global};
use super::stats::{Data, Stats};
use super::{InferError, TooManyWhat, checked_count};
use crate::array::unravel;
use crate::model::{Model, Support, VarId};
use rayon::prelude::*;

/// The rows of a data set split into sequences: each sequence's rows in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequences {
    /// Every row, sequence after sequence; `None` when that is `0..rows` (sequences of
    /// consecutive rows).
    order: Option<Vec<usize>>,
    /// Where each sequence starts in `order`, and the number of rows at the end.
    starts: Vec<usize>,
}

impl Sequences {
    /// All `rows` rows as one sequence.
    pub fn one(rows: usize) -> Sequences {
        Sequences {
            order: None,
            starts: vec![0, rows],
        }
    }

    /// Rows with equal keys form a sequence, in file order; sequences in order of their first
    /// row.
    pub fn by_keys<K: std::hash::Hash + Eq>(keys: &[K]) -> Sequences {
        let mut ids: std::collections::HashMap<&K, usize> = Default::default();
        let of_row: Vec<usize> = keys
            .iter()
            .map(|k| {
                let n = ids.len();
                *ids.entry(k).or_insert(n)
            })
            .collect();
        let mut sizes = vec![0usize; ids.len()];
        for &s in &of_row {
            sizes[s] += 1;
        }
        let mut starts = vec![0usize; ids.len() + 1];
        for s in 0..ids.len() {
            starts[s + 1] = starts[s] + sizes[s];
        }
        let mut next = starts.clone();
        let mut order = vec![0usize; keys.len()];
        for (r, &s) in of_row.iter().enumerate() {
            order[next[s]] = r;
            next[s] += 1;
        }
        let consecutive = order.iter().enumerate().all(|(i, &r)| i == r);
        Sequences {
            order: (!consecutive).then_some(order),
            starts,
        }
    }

    /// The number of sequences.
    pub fn count(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rows of sequence `s`, in order.
    pub fn rows(&self, s: usize) -> Vec<usize> {
        let range = self.starts[s]..self.starts[s + 1];
        match &self.order {
            Some(o) => o[range].to_vec(),
            None => range.collect(),
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        *self.starts.last().expect("at least one entry")
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The chain's states: the joint values of its chained variables.
#[derive(Clone, Debug)]
pub struct States {
    /// The chained variables, in declaration order.
    pub chained: Vec<VarId>,
    /// Their numbers of values.
    pub radix: Vec<usize>,
    /// The number of states.
    pub count: usize,
}

impl States {
    /// The states of `model`'s chain, refused when S² transitions would be too many.
    pub fn of(model: &Model) -> Result<States, InferError> {
        let chained = model.chained();
        let radix: Vec<usize> = chained
            .iter()
            .map(|&v| match model.vars[v].support {
                Support::Discrete(k) => k,
                _ => unreachable!("lowering admits only discrete chained variables"),
            })
            .collect();
        // The transition table holds S² entries.
        let named: Vec<(String, usize)> = chained
            .iter()
            .zip(&radix)
            .flat_map(|(&v, &k)| {
                let n = &model.vars[v].name;
                [(n.clone(), k), (format!("prev({n})"), k)]
            })
            .collect();
        checked_count(
            &named,
            TooManyWhat::Table {
                var: "the chain's transitions".into(),
            },
        )?;
        let count = radix.iter().product();
        Ok(States {
            chained,
            radix,
            count,
        })
    }

    /// No chained variables: one state.
    pub fn empty() -> States {
        States {
            chained: Vec::new(),
            radix: Vec::new(),
            count: 1,
        }
    }

    /// The value of chained variable number `i` in state `s`.
    fn value(&self, s: usize, i: usize) -> usize {
        unravel(s, &self.radix)[i]
    }

    /// The value of variable `p` in state `s`: a chained variable's, else its one observed
    /// value (outside the chain).
    fn parent_value(&self, p: VarId, s: usize, obs: &[Option<Observed>]) -> usize {
        match self.chained.iter().position(|&c| c == p) {
            Some(i) => self.value(s, i),
            None => obs[p].as_ref().expect("observed outside the chain").data[0] as usize,
        }
    }
}

/// log p(first state), and log p(state | previous state), of one chain.
#[derive(Clone, Debug)]
pub struct Transitions {
    /// Per state.
    pub first: Vec<f64>,
    /// Per pair, `from · S + to`.
    pub next: Vec<f64>,
    /// Per state and chained variable: its first-table entry.
    first_entry: Vec<usize>,
    /// Per pair and chained variable: its `then`-table entry.
    next_entry: Vec<usize>,
}

impl Transitions {
    /// The transition factors under the tables `cpds`.
    pub fn of(model: &Model, cpds: &[Cpd], obs: &[Option<Observed>], st: &States) -> Transitions {
        let n = st.count;
        let m = st.chained.len();
        let (mut first, mut first_entry) = (vec![0.0; n], Vec::with_capacity(n * m));
        let (mut next, mut next_entry) = (vec![0.0; n * n], Vec::with_capacity(n * n * m));
        for (s, lp) in first.iter_mut().enumerate() {
            for (i, &v) in st.chained.iter().enumerate() {
                let key: Vec<usize> = model.vars[v]
                    .parents
                    .iter()
                    .map(|&p| st.parent_value(p, s, obs))
                    .collect();
                let e = cpds[v].index(&key);
                *lp += cpds[v].entries[e].logp(&[st.value(s, i) as f64]);
                first_entry.push(e);
            }
        }
        for from in 0..n {
            for to in 0..n {
                for (i, &v) in st.chained.iter().enumerate() {
                    let nx = model.vars[v].next.as_ref().expect("chained");
                    let key: Vec<usize> = (nx.prev.iter().map(|&p| st.parent_value(p, from, obs)))
                        .chain(nx.parents.iter().map(|&p| st.parent_value(p, to, obs)))
                        .collect();
                    let e = cpds[v].next_index(&key);
                    next[from * n + to] += cpds[v].entries[e].logp(&[st.value(to, i) as f64]);
                    next_entry.push(e);
                }
            }
        }
        Transitions {
            first,
            next,
            first_entry,
            next_entry,
        }
    }
}

/// Refuses what chains do not take: latent variables outside the chain.
pub fn check(model: &Model, obs: &[Option<Observed>]) -> Result<(), InferError> {
    let latent = (0..model.vars.len()).find(|&v| {
        is_global(model, v)
            && model.vars[v].support.is_discrete()
            && obs[v]
                .as_ref()
                .is_none_or(|o| o.data.iter().any(|x| x.is_nan()))
    });
    match latent {
        Some(v) => Err(InferError::Query(format!(
            "`{}` is outside the chain and has no value here; inference on a chain sums out only the latents of its rows, so give `{0}` a value (a column of the data, or `{0} = ...` in a query), or declare it inside the chain",
            model.vars[v].name
        ))),
        None => Ok(()),
    }
}

/// The tables with the chained variables' own factors set to 1 (they are the chain's).
fn neutral(cpds: &[Cpd], st: &States) -> Vec<Cpd> {
    let mut out = cpds.to_vec();
    for &v in &st.chained {
        let first = out[v].first_len();
        for e in &mut out[v].entries[..first] {
            if let Local::Categorical { p, logp } = e {
                p.iter_mut().for_each(|x| *x = 1.0);
                logp.iter_mut().for_each(|x| *x = 0.0);
            } else if let Local::Bernoulli { .. } = e {
                *e = Local::Categorical {
                    p: vec![1.0; 2],
                    logp: vec![0.0; 2],
                };
            }
        }
    }
    out
}

/// The observations with the chained variables clamped to state `s`.
fn clamped(obs: &[Option<Observed>], st: &States, s: usize) -> Vec<Option<Observed>> {
    let mut out = obs.to_vec();
    for (i, &v) in st.chained.iter().enumerate() {
        out[v] = Some(Observed::new(vec![st.value(s, i) as f64], 1));
    }
    out
}

/// The emissions of every row: `rows × S` log densities, and the log weight of everything
/// outside the chain.
pub fn emissions(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    rows: usize,
    st: &States,
) -> Result<(f64, Vec<f64>), InferError> {
    let n = st.count;
    let neutral = neutral(cpds, st);
    let mut out = vec![0.0; rows * n];
    let mut global = 0.0;
    for s in 0..n {
        let ev = evidence(model, &neutral, &clamped(obs, st, s), rows)?;
        global = ev.global[0];
        for (t, &x) in ev.local.iter().enumerate() {
            out[t * n + s] = x;
        }
    }
    // A row that observes a chained variable rules out the states that disagree (one value
    // given for every row counts in each).
    for (i, &v) in st.chained.iter().enumerate() {
        let Some(o) = obs[v].as_ref() else {
            continue;
        };
        for t in 0..rows {
            let x = o.data[if o.lanes == 1 { 0 } else { t }];
            if x.is_nan() {
                continue;
            }
            for s in 0..n {
                if st.value(s, i) as f64 != x {
                    out[t * n + s] = f64::NEG_INFINITY;
                }
            }
        }
    }
    Ok((global, out))
}

/// What the forward–backward recursions found for one sequence.
struct Smoothed {
    loglik: f64,
    /// Per row of the sequence (in its order), the state posteriors: `len × S`.
    gamma: Vec<f64>,
    /// Expected transition counts, `from · S + to`, each weighted by the later row's weight.
    trans: Vec<f64>,
}

/// The forward–backward recursions over one sequence's rows. `want` asks for the posteriors
/// and counts; without it only the log-likelihood.
fn smooth(
    rows: &[usize],
    e: &[f64],
    tr: &Transitions,
    weights: Option<&[f64]>,
    want: bool,
) -> Smoothed {
    let n = tr.first.len();
    let len = rows.len();
    let a: Vec<f64> = tr.next.iter().map(|x| x.exp()).collect();
    let pi: Vec<f64> = tr.first.iter().map(|x| x.exp()).collect();
    // Scaled emissions b_t(s) = exp(e − max_t), and the shift.
    let mut b = vec![0.0; len * n];
    let mut shift = vec![0.0; len];
    let mut alpha = vec![0.0; len * n];
    let mut scale = vec![0.0; len];
    let mut loglik = 0.0;
    for (t, &r) in rows.iter().enumerate() {
        let row = &e[r * n..(r + 1) * n];
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        shift[t] = m;
        let bt = &mut b[t * n..(t + 1) * n];
        for (x, &y) in bt.iter_mut().zip(row) {
            *x = if m == f64::NEG_INFINITY {
                0.0
            } else {
                (y - m).exp()
            };
        }
        let (done, rest) = alpha.split_at_mut(t * n);
        let at = &mut rest[..n];
        if t == 0 {
            for s in 0..n {
                at[s] = pi[s] * bt[s];
            }
        } else {
            let prev = &done[(t - 1) * n..];
            at.fill(0.0);
            for (from, &p) in prev.iter().enumerate() {
                if p == 0.0 {
                    continue;
                }
                for (x, &y) in at.iter_mut().zip(&a[from * n..(from + 1) * n]) {
                    *x += p * y;
                }
            }
            for (x, &y) in at.iter_mut().zip(bt.iter()) {
                *x *= y;
            }
        }
        let c: f64 = at.iter().sum();
        scale[t] = c;
        if c == 0.0 || m == f64::NEG_INFINITY {
            return Smoothed {
                loglik: f64::NEG_INFINITY,
                gamma: Vec::new(),
                trans: Vec::new(),
            };
        }
        at.iter_mut().for_each(|x| *x /= c);
        loglik += c.ln() + m;
    }
    if !want {
        return Smoothed {
            loglik,
            gamma: Vec::new(),
            trans: Vec::new(),
        };
    }
    let weight = |t: usize| weights.map_or(1.0, |w| w[rows[t]]);
    let mut gamma = alpha;
    let mut trans = vec![0.0; n * n];
    let mut beta = vec![1.0; n];
    let mut next_beta = vec![0.0; n];
    let mut bb = vec![0.0; n];
    for t in (0..len).rev() {
        if t + 1 < len {
            // bb = b_{t+1} · β_{t+1} / c_{t+1}; ξ_t(from, to) = α_t(from) A(from, to) bb(to).
            let c = scale[t + 1];
            let bt1 = &b[(t + 1) * n..(t + 2) * n];
            for s in 0..n {
                bb[s] = bt1[s] * beta[s] / c;
            }
            let w = weight(t + 1);
            let at = &gamma[t * n..(t + 1) * n];
            for from in 0..n {
                let row = &a[from * n..(from + 1) * n];
                let mut acc = 0.0;
                for to in 0..n {
                    let x = row[to] * bb[to];
                    acc += x;
                    trans[from * n + to] += w * at[from] * x;
                }
                next_beta[from] = acc;
            }
            std::mem::swap(&mut beta, &mut next_beta);
        }
        let gt = &mut gamma[t * n..(t + 1) * n];
        for (g, &bt) in gt.iter_mut().zip(&beta) {
            *g *= bt;
        }
    }
    Smoothed {
        loglik,
        gamma,
        trans,
    }
}

/// What the chain's forward–backward pass over a data set gives.
pub struct Pass {
    /// log p(every observation): all sequences and everything outside the chain.
    pub loglik: f64,
    /// Per data row, its state posteriors (`rows × S`), when asked for.
    pub gamma: Vec<f64>,
    /// Expected transition counts, `from · S + to`, when asked for.
    pub trans: Vec<f64>,
    /// Per state, the (weighted) posterior mass of the sequences' first rows, when asked for.
    pub first: Vec<f64>,
    /// The first sequence (0-based) that has probability zero, if any.
    pub impossible: Option<usize>,
}

/// The forward–backward pass over every sequence of `seqs`.
#[allow(clippy::too_many_arguments)]
pub fn pass(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    seqs: &Sequences,
    weights: Option<&[f64]>,
    want: bool,
) -> Result<(States, Transitions, Pass), InferError> {
    check(model, obs)?;
    let st = States::of(model)?;
    let tr = Transitions::of(model, cpds, obs, &st);
    let (global, e) = emissions(model, cpds, obs, seqs.len(), &st)?;
    let n = st.count;
    let parts: Vec<(Vec<usize>, Smoothed)> = (0..seqs.count())
        .into_par_iter()
        .map(|k| {
            let rows = seqs.rows(k);
            let sm = smooth(&rows, &e, &tr, weights, want);
            (rows, sm)
        })
        .collect();
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    let mut out = Pass {
        loglik: global,
        gamma: if want {
            vec![0.0; seqs.len() * n]
        } else {
            Vec::new()
        },
        trans: vec![0.0; n * n],
        first: vec![0.0; n],
        impossible: None,
    };
    for (k, (rows, sm)) in parts.into_iter().enumerate() {
        out.loglik += sm.loglik;
        if sm.loglik == f64::NEG_INFINITY {
            out.impossible.get_or_insert(k);
            continue;
        }
        if !want || rows.is_empty() {
            continue;
        }
        for (i, &r) in rows.iter().enumerate() {
            out.gamma[r * n..(r + 1) * n].copy_from_slice(&sm.gamma[i * n..(i + 1) * n]);
        }
        let w0 = weights.map_or(1.0, |w| w[rows[0]]);
        for (f, &g) in out.first.iter_mut().zip(&sm.gamma[..n]) {
            *f += w0 * g;
        }
        for (x, y) in out.trans.iter_mut().zip(&sm.trans) {
            *x += y;
        }
    }
    Ok((st, tr, out))
}

/// The E-step of Baum–Welch: the log-likelihood of every sequence and, with `want_stats`, the
/// expected statistics — the rows' variables under each state weighted by its posterior, the
/// chained variables' first and `then` tables from the expected first states and transitions.
pub fn estep(
    model: &Model,
    cpds: &[Cpd],
    data: &Data,
    seqs: &Sequences,
    want_stats: bool,
) -> Result<EStep, InferError> {
    let weights = data.row_weights();
    let (st, tr, pass) = pass(model, cpds, &data.obs, seqs, weights, want_stats)?;
    let impossible_row = pass.impossible.map(|k| seqs.rows(k)[0]);
    if !want_stats || pass.impossible.is_some() {
        return Ok(EStep {
            loglik: pass.loglik,
            stats: None,
            impossible_row,
        });
    }
    let n = st.count;
    let neutral = neutral(cpds, &st);
    let mut stats = Stats::zero(model, cpds);
    let skip: Vec<bool> = (0..model.vars.len())
        .map(|v| is_global(model, v) || st.chained.contains(&v))
        .collect();
    for s in 0..n {
        let w: Vec<f64> = (0..data.rows)
            .map(|r| pass.gamma[r * n + s] * weights.map_or(1.0, |w| w[r]))
            .collect();
        if w.iter().all(|&x| x == 0.0) {
            continue;
        }
        let part = Data::new(clamped(&data.obs, &st, s), data.rows, Some(w));
        let Some(mut one) = plate_estep(model, &neutral, &part, true)?.stats else {
            continue;
        };
        for (v, d) in one.data.iter_mut().enumerate() {
            if skip[v] {
                d.fill(0.0);
            }
        }
        stats.merge(&one);
    }
    // Everything outside the chain, once.
    Engine::over(model, cpds, &data.obs, 0..0).accumulate_global(0, 1.0, &mut stats)?;
    // The chained variables' tables.
    let m = st.chained.len();
    for (i, &v) in st.chained.iter().enumerate() {
        let k = stats.width[v];
        for s in 0..n {
            let e = tr.first_entry[s * m + i];
            stats.data[v][e * k + st.value(s, i)] += pass.first[s];
        }
        for from in 0..n {
            for to in 0..n {
                let e = tr.next_entry[(from * n + to) * m + i];
                stats.data[v][e * k + st.value(to, i)] += pass.trans[from * n + to];
            }
        }
    }
    Ok(EStep {
        loglik: pass.loglik,
        stats: Some(stats),
        impossible_row,
    })
}
