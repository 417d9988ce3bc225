//! Probability queries (section 5): turns `p(TARGETS | GIVEN)` into runs of the enumeration
//! engine and combines them into the shapes the specification gives.
//!
//! Let E be every assignment (targets with values and given ones) and B the given ones alone.
//! - No free targets: `log p(E) − log p(B)`.
//! - Discrete free targets T: `log p(T = t, E) − log p(B)` for every t, found by clamping T.
//! - One continuous free target x: its conditional distribution given B, a mixture over its
//!   parents' posterior (or a plain Normal when the query fixes every parent).
//!
//! Values may carry one leading dimension of data copies. In a model whose variables all sit in
//! the data plate, copies are independent and results are per copy; with global variables,
//! copies are coupled and numeric results are joint over all copies, while a free target inside
//! the data plate still gets one posterior per copy (conditioned on every copy).

use super::InferError;
use super::cpd::{Layout, Local, tables};
use super::dist::Distribution;
use super::engine::{Evidence, Observed, evidence, is_global};
use crate::array::{Array, format_number, show_shape, unravel};
use crate::model::{Model, Support, VarId};
use rayon::prelude::*;

/// A query on the IR.
#[derive(Clone, Debug)]
pub struct Query {
    /// Variables before `|`, with their values when given.
    pub targets: Vec<(VarId, Option<Array>)>,
    /// Assignments after `|`.
    pub given: Vec<(VarId, Array)>,
    /// Whether the query has a `|`.
    pub conditional: bool,
    /// `logp` rather than `p`.
    pub log: bool,
    /// The entries asked for of the continuous target without a value (`p(x[1] | x[0] = a)`),
    /// or `None` for all of it.
    pub entries: Option<Vec<usize>>,
    /// For a chain: the value of its `by` column per row (`seq = d.seq`), which splits the
    /// rows into sequences; without it they are one.
    pub by: Option<Array>,
}

/// The answer to a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Probabilities, densities or a posterior table.
    Value(Array),
    /// The distribution of a continuous target.
    Dist(Distribution),
}

/// How many data copies the values describe.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Copies {
    /// The number of lanes.
    n: usize,
    /// Whether some value carried a copy dimension (else results have none).
    explicit: bool,
}

/// Answers a query on `model` under its current parameter values.
pub fn query(model: &Model, q: &Query) -> Result<Answer, InferError> {
    // As for a fit: a step cut short by Ctrl-C or the time limit is reported as such, never
    // its numbers.
    let result = query_inner(model, q);
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    result
}

fn query_inner(model: &Model, q: &Query) -> Result<Answer, InferError> {
    let cpds = tables(model)?;
    let mut all: Vec<(VarId, &Array)> = q
        .targets
        .iter()
        .filter_map(|(v, a)| a.as_ref().map(|a| (*v, a)))
        .collect();
    all.extend(q.given.iter().map(|(v, a)| (*v, a)));
    let given: Vec<(VarId, &Array)> = q.given.iter().map(|(v, a)| (*v, a)).collect();
    let (obs_all, copies) = observe(model, &all)?;
    let (obs_given, _) = observe(model, &given)?;
    let free: Vec<VarId> = q
        .targets
        .iter()
        .filter(|(_, a)| a.is_none())
        .map(|(v, _)| *v)
        .collect();
    if model.chain().is_some() {
        return chain_query(model, &cpds, q, &free, &obs_all, &obs_given, copies);
    }
    let has_globals = (0..model.vars.len()).any(|v| is_global(model, v));
    let per_copy = copies.explicit && !has_globals;
    let ctx = Ctx {
        model,
        cpds: &cpds,
        copies,
        per_copy,
    };
    if let Some(&x) = free.iter().find(|&&v| !model.vars[v].support.is_discrete()) {
        let name = &model.vars[x].name;
        if q.targets.len() > 1 {
            return Err(InferError::Query(format!(
                "`{name}` is continuous and has no value, so the query's answer is its distribution; it must be the only variable before `|`"
            )));
        }
        if q.log {
            return Err(InferError::Query(format!(
                "logp of `{name}` without a value would be a distribution; use p(...) for the distribution, or give `{name}` a value"
            )));
        }
        if let Some(entries) = &q.entries {
            return ctx.part(x, entries, &q.given, &obs_given).map(Answer::Dist);
        }
        if let Some(o) = obs_given[x].as_ref()
            && o.data.iter().any(|v| !v.is_nan())
        {
            let d = o.data.len() / o.lanes;
            return Err(InferError::Query(format!(
                "`{name}` is both asked for and given in part; ask for entries the condition leaves open: {}",
                open_entries(name, &o.data[..d])
            )));
        }
        return ctx.distribution(x, &q.given, &obs_given).map(Answer::Dist);
    }
    if let Some(&v) = free.iter().find(|&&v| Layout::of(model, v).inst > 1) {
        return Err(InferError::Query(format!(
            "`{}` is inside a fixed-size plate; a target without a value must have one instance per copy (give it a value)",
            model.vars[v].name
        )));
    }
    // log p(free targets = t, every assignment): one row per copy where copies are separate,
    // one entry per joint value t of the free targets (one entry when there are none).
    let per_row = if free.is_empty() {
        per_copy
    } else {
        copies.explicit && free.iter().all(|&v| !is_global(model, v))
    };
    let table = if free.is_empty() {
        ctx.total(&obs_all)?
    } else {
        ctx.posterior(&free, &obs_all)?
    };
    // log p(given): per copy, or one value for all.
    let den = if q.conditional {
        ctx.total(&obs_given)?
    } else {
        vec![0.0]
    };
    let rows = if per_row { copies.n } else { 1 };
    let k = table.len() / rows;
    let mut out = Vec::with_capacity(table.len());
    for (i, row) in table.chunks(k).enumerate() {
        let d = den[if den.len() == 1 { 0 } else { i }];
        if d == f64::NEG_INFINITY {
            return Err(zero_condition(&q.given, model));
        }
        out.extend(row.iter().map(|x| x - d));
    }
    let mut shape = if per_row { vec![copies.n] } else { vec![] };
    shape.extend(free.iter().map(|&v| support_size(model, v)));
    if !q.log {
        out.par_iter_mut().for_each(|x| *x = x.exp());
    }
    Ok(Answer::Value(Array::from_vec(shape, out)))
}

/// A query on a chain (section 9.4): numbers are joint over every row (the likelihood of all
/// sequences), and a free chained target gets its posterior per row, N × K.
fn chain_query(
    model: &Model,
    cpds: &[super::cpd::Cpd],
    q: &Query,
    free: &[VarId],
    obs_all: &[Option<Observed>],
    obs_given: &[Option<Observed>],
    copies: Copies,
) -> Result<Answer, InferError> {
    use super::chain::{Sequences, pass};
    let rows = copies.n;
    let seqs = match &q.by {
        None => Sequences::one(rows),
        Some(a) if a.len() == rows => {
            if a.data().iter().any(|x| x.is_nan()) {
                return Err(InferError::Query(
                    "the chain's `by` values have a missing entry; every row needs its sequence's label".into(),
                ));
            }
            let keys: Vec<u64> = a.data().iter().map(|x| x.to_bits()).collect();
            Sequences::by_keys(&keys)
        }
        Some(a) => {
            return Err(InferError::Query(format!(
                "the chain's `by` values give {} rows but the query's values give {rows}",
                a.len()
            )));
        }
    };
    let name = |v: VarId| model.vars[v].name.clone();
    if let Some(&x) = free
        .iter()
        .find(|&&v| !model.vars[v].support.is_discrete() || model.vars[v].next.is_none())
    {
        return Err(InferError::Query(format!(
            "in a chain, a target without a value must be a chained variable (declared `then`); give `{}` a value, or ask for the chained variables",
            name(x)
        )));
    }
    let den = if q.conditional {
        pass(model, cpds, obs_given, &seqs, None, false)?.2.loglik
    } else {
        0.0
    };
    if den == f64::NEG_INFINITY {
        return Err(zero_condition(&q.given, model));
    }
    let (states, _, all) = pass(model, cpds, obs_all, &seqs, None, !free.is_empty())?;
    if free.is_empty() {
        let x = all.loglik - den;
        return Ok(Answer::Value(Array::scalar(if q.log {
            x
        } else {
            x.exp()
        })));
    }
    if all.loglik == f64::NEG_INFINITY {
        return Err(zero_condition(&q.given, model));
    }
    // Per row, the posterior of the free targets' joint values: the state posteriors summed
    // over the chained variables not asked for. With a `|`, p(free, targets' values | given)
    // = p(free | all) · p(all) / p(given).
    let (radix, k) = target_radix(model, free)?;
    let pos: Vec<usize> = free
        .iter()
        .map(|v| states.chained.iter().position(|c| c == v).expect("chained"))
        .collect();
    let scale = all.loglik - den;
    let n = states.count;
    // Each state's joint value of the free targets, once.
    let target: Vec<usize> = (0..n)
        .map(|s| {
            pos.iter()
                .zip(&radix)
                .fold(0, |acc, (&i, &kk)| acc * kk + states.value(s, i))
        })
        .collect();
    let mut out = vec![0.0; rows * k];
    for r in 0..rows {
        for (s, &t) in target.iter().enumerate() {
            out[r * k + t] += all.gamma[r * n + s];
        }
    }
    for x in &mut out {
        let l = x.ln() + scale;
        *x = if q.log { l } else { l.exp() };
    }
    let mut shape = if copies.explicit { vec![rows] } else { vec![] };
    shape.extend(free.iter().map(|&v| support_size(model, v)));
    Ok(Answer::Value(Array::from_vec(shape, out)))
}

fn support_size(model: &Model, v: VarId) -> usize {
    match model.vars[v].support {
        Support::Discrete(k) => k,
        _ => unreachable!("only discrete targets are tabulated"),
    }
}

/// The number of values of each of the discrete variables `vars`, and of their joint values,
/// refused beyond [`MAX_CONFIGS`](super::MAX_CONFIGS).
fn target_radix(model: &Model, vars: &[VarId]) -> Result<(Vec<usize>, usize), InferError> {
    let sizes: Vec<(String, usize)> = vars
        .iter()
        .map(|&v| (model.vars[v].name.clone(), support_size(model, v)))
        .collect();
    let k = super::checked_count(&sizes, super::TooManyWhat::Targets)?;
    Ok((sizes.into_iter().map(|(_, n)| n).collect(), k))
}

fn zero_condition(given: &[(VarId, Array)], model: &Model) -> InferError {
    let names: Vec<&str> = given
        .iter()
        .map(|(v, _)| model.vars[*v].name.as_str())
        .collect();
    InferError::ZeroCondition(names.join(", "))
}

pub(super) struct Ctx<'a> {
    model: &'a Model,
    cpds: &'a [super::cpd::Cpd],
    copies: Copies,
    per_copy: bool,
}

impl<'a> Ctx<'a> {
    /// Queries over `n` explicit data copies (the rows of a data set).
    pub(super) fn rows(model: &'a Model, cpds: &'a [super::cpd::Cpd], n: usize) -> Ctx<'a> {
        let has_globals = (0..model.vars.len()).any(|v| is_global(model, v));
        Ctx {
            model,
            cpds,
            copies: Copies { n, explicit: true },
            per_copy: !has_globals,
        }
    }
}

impl Ctx<'_> {
    fn run(&self, obs: &[Option<Observed>]) -> Result<Evidence, InferError> {
        // A query may run the engine once per joint value of its targets: a place to stop.
        if crate::interrupt::requested() {
            return Err(InferError::Interrupted);
        }
        evidence(self.model, self.cpds, obs, self.copies.n)
    }

    /// log p(observations): per copy, or one joint value.
    fn total(&self, obs: &[Option<Observed>]) -> Result<Vec<f64>, InferError> {
        let ev = self.run(obs)?;
        Ok(if self.per_copy {
            ev.per_copy()
        } else {
            vec![ev.joint()]
        })
    }

    /// log p(T = t, observations) for every joint value t of the free discrete targets
    /// `free`: rows × K table, one row per copy when the targets are in the data plate and
    /// copies are explicit, else one row.
    /// A copy that observes a free target itself keeps its value: the other values are
    /// impossible there (the runs below clamp a target in every copy at once).
    pub(super) fn posterior(
        &self,
        free: &[VarId],
        obs: &[Option<Observed>],
    ) -> Result<Vec<f64>, InferError> {
        let mut table = self.clamped_posterior(free, obs)?;
        if free.iter().all(|&v| obs[v].is_none()) {
            return Ok(table);
        }
        let (radix, k) = target_radix(self.model, free)?;
        for (i, row) in table.chunks_mut(k).enumerate() {
            observed_in_copy(row, free, &radix, obs, i);
        }
        Ok(table)
    }

    /// [`posterior`](Self::posterior) with every copy's observations of the targets replaced
    /// by the clamped value.
    fn clamped_posterior(
        &self,
        free: &[VarId],
        obs: &[Option<Observed>],
    ) -> Result<Vec<f64>, InferError> {
        let model = self.model;
        let (radix, k) = target_radix(model, free)?;
        let all_local = free.iter().all(|&v| !is_global(model, v));
        let all_global = free.iter().all(|&v| is_global(model, v));
        let explicit = self.copies.explicit;
        if explicit && !all_local && !all_global {
            return Err(InferError::Query(
                "targets without values must all be inside the data plate or all outside it when the values have several copies".into(),
            ));
        }
        let clamped = |t: usize| -> Vec<Option<Observed>> {
            let mut o = obs.to_vec();
            for (&v, x) in free.iter().zip(unravel(t, &radix)) {
                o[v] = Some(Observed::new([x as f64], 1));
            }
            o
        };
        if !explicit || all_global {
            let mut out = Vec::with_capacity(k);
            for t in 0..k {
                out.push(self.run(&clamped(t))?.joint());
            }
            return Ok(out);
        }
        // Local targets, several copies: copy i clamped, the other copies summed out.
        let n = self.copies.n;
        // The answer, and per copy the evidence and the sums over the other copies.
        let per_copy = (k + 4) * std::mem::size_of::<f64>();
        super::room_for("the query", n, n.saturating_mul(per_copy), 0)?;
        let mut out = vec![0.0; n * k];
        if self.per_copy {
            for t in 0..k {
                for (i, x) in self.run(&clamped(t))?.per_copy().into_iter().enumerate() {
                    out[i * k + t] = x;
                }
            }
            return Ok(out);
        }
        let free_ev = self.run(obs)?;
        let g = free_ev.global.len();
        // Σ over the other copies, by prefix and suffix sums (no subtraction of infinities).
        let mut others = vec![0.0; n * g];
        for c in 0..g {
            let mut prefix = 0.0;
            for i in 0..n {
                others[i * g + c] = prefix;
                prefix += free_ev.local[i * g + c];
            }
            let mut suffix = 0.0;
            for i in (0..n).rev() {
                others[i * g + c] += suffix;
                suffix += free_ev.local[i * g + c];
            }
        }
        for t in 0..k {
            let ev = self.run(&clamped(t))?;
            for i in 0..n {
                let terms: Vec<f64> = (0..g)
                    .map(|c| ev.global[c] + others[i * g + c] + ev.local[i * g + c])
                    .collect();
                out[i * k + t] = super::numeric::logsumexp(&terms);
            }
        }
        Ok(out)
    }

    /// The distribution of continuous `x` given the assignments: its parents' posterior
    /// mixed over their conditional components.
    fn distribution(
        &self,
        x: VarId,
        given: &[(VarId, Array)],
        obs: &[Option<Observed>],
    ) -> Result<Distribution, InferError> {
        let model = self.model;
        one_per_copy(model, x)?;
        let parents = &model.vars[x].parents;
        if self.copies.explicit {
            return self.per_copy_distribution(x, obs);
        }
        // The parents the query gives (one copy, so one value each); x's parents sit in no
        // fixed plate, since x does not.
        let fixed: Vec<Option<usize>> = parents
            .iter()
            .map(|&p| {
                obs[p]
                    .as_ref()
                    .map(|o| o.data[0])
                    .filter(|v| !v.is_nan())
                    .map(|v| v as usize)
            })
            .collect();
        let free: Vec<VarId> = parents
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| f.is_none())
            .map(|(&p, _)| p)
            .collect();
        let (radix, k) = target_radix(model, &free)?;
        let weights = if free.is_empty() {
            vec![0.0]
        } else {
            let table = self.posterior(&free, obs)?;
            let den = super::numeric::logsumexp(&table);
            if den == f64::NEG_INFINITY {
                return Err(zero_condition(given, model));
            }
            table.iter().map(|t| (t - den).exp()).collect()
        };
        let cpd = &self.cpds[x];
        let mut comps = Vec::with_capacity(k);
        for t in 0..k {
            let mut vals = unravel(t, &radix).into_iter();
            let key: Vec<usize> = fixed
                .iter()
                .map(|f| f.unwrap_or_else(|| vals.next().expect("one value per free parent")))
                .collect();
            comps.push(&cpd.entries[cpd.index(&key)]);
        }
        let batch = if free.is_empty() { vec![] } else { vec![k] };
        let dist = members(&comps, batch);
        if free.is_empty() {
            return Ok(dist);
        }
        Ok(Distribution::Mixture {
            weights: Array::vector(weights),
            components: Box::new(dist),
        })
    }

    /// With several copies, `x`'s distribution in each: every parent must be given, and the
    /// answer is a batch with one member per copy.
    fn per_copy_distribution(
        &self,
        x: VarId,
        obs: &[Option<Observed>],
    ) -> Result<Distribution, InferError> {
        let model = self.model;
        let var = &model.vars[x];
        let n = self.copies.n;
        let mut keys = vec![Vec::with_capacity(var.parents.len()); n];
        for &p in &var.parents {
            let missing = || {
                InferError::Query(format!(
                    "with several copies, the distribution of `{}` needs a value of `{}` in every copy (the answer has one member per copy)",
                    var.name, model.vars[p].name
                ))
            };
            let o = obs[p].as_ref().ok_or_else(missing)?;
            for (i, key) in keys.iter_mut().enumerate() {
                let v = o.data[if o.lanes == 1 { 0 } else { i }];
                if v.is_nan() {
                    return Err(missing());
                }
                key.push(v as usize);
            }
        }
        let cpd = &self.cpds[x];
        let comps: Vec<&Local> = keys.iter().map(|k| &cpd.entries[cpd.index(k)]).collect();
        Ok(members(&comps, vec![n]))
    }
}

impl Ctx<'_> {
    /// The distribution of the entries `entries` of the vector `x` given the assignments
    /// (section 9.1), in every copy: under each configuration of `x`'s parents, the Normal of
    /// those entries conditioned on the entries of `x` the copy gives (their marginal where it
    /// gives none); mixed over the parents' posterior given the copy's observations. One
    /// member per copy when the values have copies; a plain Normal or MvNormal when the
    /// assignments fix every parent.
    fn part(
        &self,
        x: VarId,
        entries: &[usize],
        given: &[(VarId, Array)],
        obs: &[Option<Observed>],
    ) -> Result<Distribution, InferError> {
        let model = self.model;
        let name = &model.vars[x].name;
        one_per_copy(model, x)?;
        let n = if self.copies.explicit {
            self.copies.n
        } else {
            1
        };
        let Support::RealVector(dim) = model.vars[x].support else {
            unreachable!("entries are asked of vectors only")
        };
        // Copy i's value of x (NaN where not given), and of each parent.
        let lane = |o: &Observed, i: usize, per: usize| -> Vec<f64> {
            let at = if o.lanes == 1 { 0 } else { i };
            o.data[at * per..(at + 1) * per].to_vec()
        };
        let xs: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                obs[x]
                    .as_ref()
                    .map_or(vec![f64::NAN; dim], |o| lane(o, i, dim))
            })
            .collect();
        for row in &xs {
            if let Some(&e) = entries.iter().find(|&&e| !row[e].is_nan()) {
                return Err(InferError::Query(format!(
                    "`{name}[{e}]` is both asked for and given; ask for entries the condition leaves open: {}",
                    open_entries(name, row)
                )));
            }
        }
        if self.copies.explicit && (0..model.vars.len()).any(|v| is_global(model, v)) {
            return Err(InferError::Query(format!(
                "with several copies, the distribution of part of `{name}` is computed for models whose variables all sit in the data plate; ask one copy at a time"
            )));
        }
        // Parents given in every copy are fixed there; the others are summed over.
        let parents = &model.vars[x].parents;
        let given_in = |p: VarId, i: usize| -> Option<usize> {
            let o = obs[p].as_ref()?;
            let v = lane(o, i, 1)[0];
            (!v.is_nan()).then_some(v as usize)
        };
        let free: Vec<VarId> = parents
            .iter()
            .copied()
            .filter(|&p| (0..n).any(|i| given_in(p, i).is_none()))
            .collect();
        let (radix, k) = target_radix(model, &free)?;
        // Posterior weights of the free parents, per copy (one row shared by all when the
        // values have no copies).
        let weights: Vec<f64> = if free.is_empty() {
            vec![1.0; n]
        } else {
            let table = self.posterior(&free, obs)?;
            let rows = table.len() / k;
            let mut w = Vec::with_capacity(n * k);
            for i in 0..n {
                let row = &table[(i % rows) * k..(i % rows + 1) * k];
                let den = super::numeric::logsumexp(row);
                if den == f64::NEG_INFINITY {
                    return Err(zero_condition(given, model));
                }
                w.extend(row.iter().map(|t| (t - den).exp()));
            }
            w
        };
        let cpd = &self.cpds[x];
        let m = entries.len();
        let (mut means, mut covs) = (
            Vec::with_capacity(n * k * m),
            Vec::with_capacity(n * k * m * m),
        );
        for (i, row) in xs.iter().enumerate() {
            for t in 0..k {
                let mut vals = unravel(t, &radix).into_iter();
                let key: Vec<usize> = parents
                    .iter()
                    .map(|&p| match free.contains(&p) {
                        true => vals.next().expect("one value per free parent"),
                        false => given_in(p, i).expect("given in every copy"),
                    })
                    .collect();
                let Local::MvNormal(mvn) = &cpd.entries[cpd.index(&key)] else {
                    unreachable!("a vector variable is MvNormal")
                };
                let (mean, cov) = conditional(mvn, row, entries)?;
                means.extend(mean);
                covs.extend(cov);
            }
        }
        let mut batch = if self.copies.explicit {
            vec![n]
        } else {
            vec![]
        };
        if !free.is_empty() {
            batch.push(k);
        }
        let dist = if m == 1 {
            Distribution::Normal {
                mean: Array::from_vec(batch.clone(), means),
                sd: Array::from_vec(batch, covs.iter().map(|v| v.sqrt()).collect()),
            }
        } else {
            let mut ms = batch.clone();
            ms.push(m);
            let mut cs = batch;
            cs.extend([m, m]);
            Distribution::MvNormal {
                mean: Array::from_vec(ms, means),
                cov: Array::from_vec(cs, covs),
            }
        };
        if free.is_empty() {
            return Ok(dist);
        }
        let mut ws = if self.copies.explicit {
            vec![n]
        } else {
            vec![]
        };
        ws.push(k);
        Ok(Distribution::Mixture {
            weights: Array::from_vec(ws, weights),
            components: Box::new(dist),
        })
    }
}

/// The entries of `name` that `row` leaves open (NaN), in words: `` `x[1]` `` or
/// `` `x[1]`, `x[2]` ``.
fn open_entries(name: &str, row: &[f64]) -> String {
    let open: Vec<String> = (0..row.len())
        .filter(|&i| row[i].is_nan())
        .map(|i| format!("`{name}[{i}]`"))
        .collect();
    if open.is_empty() {
        return format!("none, since every entry of `{name}` is given");
    }
    open.join(", ")
}

/// Sets to −∞ the entries of `row` (log p(free = t, …) for each joint value t of the discrete
/// variables `free`, radix `radix`) that disagree with the values copy `i` observes of them.
fn observed_in_copy(
    row: &mut [f64],
    free: &[VarId],
    radix: &[usize],
    obs: &[Option<Observed>],
    i: usize,
) {
    let seen: Vec<Option<usize>> = free
        .iter()
        .map(|&p| {
            let o = obs[p].as_ref()?;
            let v = o.data[if o.lanes == 1 { 0 } else { i }];
            (!v.is_nan()).then_some(v as usize)
        })
        .collect();
    if seen.iter().all(Option::is_none) {
        return;
    }
    for (t, l) in row.iter_mut().enumerate() {
        let agrees = unravel(t, radix)
            .iter()
            .zip(&seen)
            .all(|(x, s)| s.is_none_or(|s| s == *x));
        if !agrees {
            *l = f64::NEG_INFINITY;
        }
    }
}

/// The mean and covariance (row-major) of the entries `entries` of `mvn` given the entries of
/// `x` that are not NaN: the conditional Normal `μ_h + G·(x_s − μ_s)`, `C`, restricted to
/// them; their marginal when `x` gives no entry.
pub(super) fn conditional(
    mvn: &super::numeric::Mvn,
    x: &[f64],
    entries: &[usize],
) -> Result<(Vec<f64>, Vec<f64>), InferError> {
    let d = mvn.dim();
    let seen: Vec<usize> = (0..d).filter(|&i| !x[i].is_nan()).collect();
    let g = mvn.given(&seen).ok_or(InferError::Interrupted)?;
    let h = g.hidden.len();
    let ds: Vec<f64> = seen.iter().map(|&i| x[i] - mvn.mean[i]).collect();
    let mut dh = vec![0.0; h];
    g.hidden_deviation(&ds, &mut dh);
    let pos: Vec<usize> = entries
        .iter()
        .map(|e| {
            g.hidden
                .iter()
                .position(|h| h == e)
                .expect("an asked entry is hidden")
        })
        .collect();
    let mean = pos.iter().map(|&a| mvn.mean[g.hidden[a]] + dh[a]).collect();
    let cov = pos
        .iter()
        .flat_map(|&a| pos.iter().map(|&b| g.cov[a * h + b]).collect::<Vec<_>>())
        .collect();
    Ok((mean, cov))
}

/// A continuous target without a value must have one instance per copy: its answer is one
/// distribution per copy.
fn one_per_copy(model: &Model, x: VarId) -> Result<(), InferError> {
    if Layout::of(model, x).inst > 1 {
        return Err(InferError::Query(format!(
            "`{}` is inside a fixed-size plate; give it a value, or ask about one of its parents",
            model.vars[x].name
        )));
    }
    Ok(())
}

/// A batch of Normal or MvNormal members of shape `batch` (row-major over `comps`).
fn members(comps: &[&Local], batch: Vec<usize>) -> Distribution {
    match comps[0] {
        Local::Normal { .. } => {
            let (mean, sd): (Vec<f64>, Vec<f64>) = comps
                .iter()
                .map(|c| match c {
                    Local::Normal { mean, sd, .. } => (*mean, *sd),
                    _ => unreachable!("one family per variable"),
                })
                .unzip();
            Distribution::Normal {
                mean: Array::from_vec(batch.clone(), mean),
                sd: Array::from_vec(batch, sd),
            }
        }
        Local::MvNormal(m) => {
            let d = m.dim();
            let mut mean = Vec::with_capacity(comps.len() * d);
            let mut cov = Vec::with_capacity(comps.len() * d * d);
            for c in comps {
                let Local::MvNormal(m) = c else {
                    unreachable!("one family per variable")
                };
                mean.extend(m.mean.iter());
                cov.extend(&m.cov);
            }
            let mut ms = batch.clone();
            ms.push(d);
            let mut cs = batch;
            cs.extend([d, d]);
            Distribution::MvNormal {
                mean: Array::from_vec(ms, mean),
                cov: Array::from_vec(cs, cov),
            }
        }
        _ => unreachable!("continuous variables are Normal or MvNormal"),
    }
}

/// Turns assigned values into observations, checking shapes and values, and finds the number
/// of data copies.
fn observe(
    model: &Model,
    values: &[(VarId, &Array)],
) -> Result<(Vec<Option<Observed>>, Copies), InferError> {
    let mut obs: Vec<Option<Observed>> = vec![None; model.vars.len()];
    let mut copies: Option<(usize, VarId)> = None;
    for &(v, a) in values {
        let var = &model.vars[v];
        let one = Layout::of(model, v).copy_shape(model, v);
        let in_data = !is_global(model, v);
        let lanes = if a.shape() == one.as_slice() {
            1
        } else if in_data && a.rank() == one.len() + 1 && a.shape()[1..] == one[..] {
            let n = a.shape()[0];
            match copies {
                Some((m, w)) if m != n => {
                    return Err(InferError::Query(format!(
                        "`{}` has {n} copies but `{}` has {m}; values must give the same number of copies",
                        var.name, model.vars[w].name
                    )));
                }
                _ => copies = Some((n, v)),
            }
            n
        } else {
            let want = if in_data {
                format!(
                    "{} for one copy, or [N{}] for N copies",
                    show_shape(&one),
                    one.iter().map(|d| format!(", {d}")).collect::<String>()
                )
            } else {
                format!(
                    "{} (it is outside the data plate, so it has one value for the whole data set)",
                    show_shape(&one)
                )
            };
            return Err(InferError::Value {
                var: var.name.clone(),
                why: format!(
                    "its value has shape {}, but it takes {want}",
                    show_shape(a.shape())
                ),
            });
        };
        check_values(model, v, a)?;
        obs[v] = Some(Observed::new(a.data(), lanes));
    }
    let copies = match copies {
        Some((n, _)) => Copies { n, explicit: true },
        None => Copies {
            n: 1,
            explicit: false,
        },
    };
    if copies.n == 0 {
        return Err(InferError::Query("the values have zero copies".into()));
    }
    Ok((obs, copies))
}

/// Discrete values must be whole numbers in range; a vector value is missing whole or not at
/// all.
fn check_values(model: &Model, v: VarId, a: &Array) -> Result<(), InferError> {
    let var = &model.vars[v];
    let fail = |why: String| InferError::Value {
        var: var.name.clone(),
        why,
    };
    match var.support {
        Support::Discrete(k) => {
            for &x in a.data() {
                if x.is_nan() {
                    continue;
                }
                if x.fract() != 0.0 || !x.is_finite() {
                    return Err(fail(format!(
                        "{} is not a whole number; `{}` takes the values {}",
                        format_number(x),
                        var.name,
                        crate::array::index_words(k)
                    )));
                }
                if x < 0.0 || x >= k as f64 {
                    return Err(fail(format!(
                        "{} is out of range; `{}` takes the values {}{}",
                        format_number(x),
                        var.name,
                        crate::array::index_words(k),
                        if x == k as f64 {
                            ", counted from 0"
                        } else {
                            ""
                        }
                    )));
                }
            }
        }
        // A vector may miss some entries: they are integrated out.
        Support::Real | Support::RealVector(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The engine against brute force: every joint assignment of every latent instance in every
    //! copy, summed directly. Small models with global latents, nested and standalone fixed
    //! plates, and partly observed discrete variables.

    use super::*;
    use crate::infer::cpd::Layout;
    use crate::infer::numeric::logsumexp;

    fn model(text: &str) -> Model {
        let program = crate::syntax::parse(text).expect("parses");
        let checked = crate::check::check_program(&program);
        assert!(!checked.has_errors(), "{:?}", checked.diags);
        checked
            .find(None)
            .and_then(|m| m.model.clone())
            .expect("lowers")
    }

    /// Every instance (variable, copy, fixed-plate index) with its observed value (NaN: latent).
    struct Brute<'a> {
        m: &'a Model,
        inst: Vec<(VarId, usize, usize)>,
        values: Vec<f64>,
    }

    impl<'a> Brute<'a> {
        fn new(m: &'a Model, n: usize, obs: &[(&str, Vec<f64>)]) -> Brute<'a> {
            let mut inst = Vec::new();
            let mut values = Vec::new();
            for (v, var) in m.vars.iter().enumerate() {
                let lanes = if is_global(m, v) { 1 } else { n };
                let k = Layout::of(m, v).inst;
                let given = obs.iter().find(|(name, _)| *name == var.name);
                for l in 0..lanes {
                    for i in 0..k {
                        inst.push((v, l, i));
                        values.push(given.map_or(f64::NAN, |(_, x)| x[l * k + i]));
                    }
                }
            }
            Brute { m, inst, values }
        }

        /// log Σ over latent assignments where `keep` holds of the joint density.
        fn logsum(&self, keep: &dyn Fn(&[f64]) -> bool) -> f64 {
            let cpds = tables(self.m).expect("tables");
            let latent: Vec<usize> = (0..self.inst.len())
                .filter(|&j| {
                    self.values[j].is_nan() && self.m.vars[self.inst[j].0].support.is_discrete()
                })
                .collect();
            let radix: Vec<usize> = latent
                .iter()
                .map(|&j| support_size(self.m, self.inst[j].0))
                .collect();
            let total: usize = radix.iter().product();
            let mut terms = Vec::new();
            let mut vals = self.values.clone();
            for c in 0..total {
                for (&j, x) in latent.iter().zip(unravel(c, &radix)) {
                    vals[j] = x as f64;
                }
                if !keep(&vals) {
                    continue;
                }
                let mut lp = 0.0;
                for (j, &(v, l, i)) in self.inst.iter().enumerate() {
                    if vals[j].is_nan() {
                        continue; // a missing continuous value integrates out
                    }
                    let sizes = Layout::of(self.m, v).sizes;
                    let idx = unravel(i, &sizes);
                    let mut key: Vec<usize> = self.m.vars[v]
                        .parents
                        .iter()
                        .map(|&p| {
                            let np = Layout::of(self.m, p).fixed.len();
                            let pi = idx[..np]
                                .iter()
                                .zip(&sizes)
                                .fold(0, |a, (&x, &s)| a * s + x);
                            let pl = if is_global(self.m, p) { 0 } else { l };
                            let at = self
                                .inst
                                .iter()
                                .position(|&(q, ql, qi)| q == p && ql == pl && qi == pi)
                                .expect("the parent instance");
                            vals[at] as usize
                        })
                        .collect();
                    key.extend(&idx);
                    lp += cpds[v].entries[cpds[v].index(&key)].logp(&[vals[j]]);
                }
                terms.push(lp);
            }
            logsumexp(&terms)
        }

        fn at(&self, var: &str, lane: usize) -> usize {
            let v = self.m.var_id(var).expect("a variable");
            self.inst
                .iter()
                .position(|&(q, l, i)| q == v && l == lane && i == 0)
                .expect("an instance")
        }
    }

    fn ask(m: &Model, targets: Vec<(&str, Option<Array>)>, given: Vec<(&str, Array)>) -> Array {
        let q = Query {
            targets: targets
                .into_iter()
                .map(|(n, a)| (m.var_id(n).expect("var"), a))
                .collect(),
            conditional: !given.is_empty(),
            given: given
                .into_iter()
                .map(|(n, a)| (m.var_id(n).expect("var"), a))
                .collect(),
            log: true,
            entries: None,
            by: None,
        };
        match query(m, &q).expect("answers") {
            Answer::Value(a) => a,
            Answer::Dist(d) => panic!("a distribution: {d}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * a.abs().max(b.abs()).max(1.0)
    }

    const NESTED: &str = "model nest {
        param pi : simplex[2] = [0.3, 0.7]
        param th[2] : simplex[3] = [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]
        param mu[3] : real = [-1, 0.5, 2]
        g ~ Bernoulli(0.4)
        plate rows {
            z ~ Categorical(pi)
            plate d : 2 {
                c ~ Categorical(th[z])
                y ~ Normal(mu[c] + g, 1.0 + d)
            }
        }
        plate k : 2 {
            h ~ Bernoulli(0.3)
            w ~ Normal(h * 2.0, 1.0)
        }
    }";

    #[test]
    fn nested_and_standalone_plates_with_a_global_latent() {
        let m = model(NESTED);
        let y = vec![0.3, -1.2, 2.5, 1.1, 0.0, 0.7];
        let w = vec![0.5, 1.5];
        let brute = Brute::new(&m, 3, &[("y", y.clone()), ("w", w.clone())]);
        let ya = Array::from_vec(vec![3, 2], y);
        let wa = Array::vector(w);
        let all = brute.logsum(&|_| true);
        // The joint density of everything observed is one number.
        let joint = ask(
            &m,
            vec![("y", Some(ya.clone())), ("w", Some(wa.clone()))],
            vec![],
        );
        assert_eq!(joint.shape(), &[] as &[usize]);
        assert!(close(joint.data()[0], all), "{} vs {all}", joint.data()[0]);
        // The global latent's posterior.
        let gpost = ask(
            &m,
            vec![("g", None)],
            vec![("y", ya.clone()), ("w", wa.clone())],
        );
        let gi = brute.at("g", 0);
        for t in 0..2 {
            let want = brute.logsum(&|v| v[gi] == t as f64) - all;
            assert!(
                close(gpost.data()[t], want),
                "g = {t}: {} vs {want}",
                gpost.data()[t]
            );
        }
        // Each copy's z, conditioned on every copy.
        let zpost = ask(&m, vec![("z", None)], vec![("y", ya), ("w", wa)]);
        assert_eq!(zpost.shape(), &[3, 2]);
        for lane in 0..3 {
            let zi = brute.at("z", lane);
            for t in 0..2 {
                let want = brute.logsum(&|v| v[zi] == t as f64) - all;
                assert!(close(zpost.data()[lane * 2 + t], want), "z[{lane}] = {t}");
            }
        }
    }

    #[test]
    fn partly_observed_discrete_values() {
        let m = model(NESTED);
        let y = vec![0.3, -1.2, 2.5, 1.1];
        let z = vec![f64::NAN, 1.0];
        let brute = Brute::new(&m, 2, &[("y", y.clone()), ("z", z.clone())]);
        let got = ask(
            &m,
            vec![
                ("y", Some(Array::from_vec(vec![2, 2], y))),
                ("z", Some(Array::vector(z))),
            ],
            vec![],
        );
        let want = brute.logsum(&|_| true);
        assert!(close(got.data()[0], want), "{} vs {want}", got.data()[0]);
    }

    #[test]
    fn independent_copies_get_one_value_each() {
        let m = model(
            "model two {
                param pa : simplex[2] = [0.3, 0.7]
                param pb[2] : simplex[3] = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]
                plate rows {
                    a ~ Categorical(pa)
                    b ~ Categorical(pb[a])
                    plate d : 2 { x ~ Normal(a + b, 1.0 + d) }
                }
            }",
        );
        let x = vec![0.3, 1.9, -0.4, 2.2];
        let got = ask(
            &m,
            vec![("x", Some(Array::from_vec(vec![2, 2], x.clone())))],
            vec![],
        );
        assert_eq!(got.shape(), &[2]);
        for lane in 0..2 {
            let one = Brute::new(&m, 1, &[("x", x[lane * 2..lane * 2 + 2].to_vec())]);
            let want = one.logsum(&|_| true);
            assert!(close(got.data()[lane], want));
        }
        let post = ask(
            &m,
            vec![("a", None), ("b", None)],
            vec![("x", Array::vector(vec![0.3, 1.9]))],
        );
        assert_eq!(post.shape(), &[2, 3]);
        let one = Brute::new(&m, 1, &[("x", vec![0.3, 1.9])]);
        let all = one.logsum(&|_| true);
        let (ai, bi) = (one.at("a", 0), one.at("b", 0));
        for a in 0..2 {
            for b in 0..3 {
                let want = one.logsum(&|v| v[ai] == a as f64 && v[bi] == b as f64) - all;
                assert!(close(post.data()[a * 3 + b], want));
            }
        }
    }
}
