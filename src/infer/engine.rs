//! Exact enumeration of discrete latents, in log space, over the plate tree.
//!
//! The model factors over plates: given the variables of enclosing plates, the copies of a plate
//! are independent, and sibling plates are independent of each other. So the log evidence of a
//! plate scope is
//!
//! ```text
//! log Σ_{latents directly in the plate} [ Σ log p(vars directly in it)
//!                                          + Σ_{child plates} Σ_{copies} log Z(child copy) ]
//! ```
//!
//! The root (global variables) is kept apart: for each configuration `g` of the global latents
//! the engine returns the global log weight and, per data copy, the log evidence of that copy
//! given `g`. Queries combine these (see `query`). Every data copy is a *lane*: lanes are
//! evaluated together over contiguous vectors, and a latent configuration is enumerated once
//! for all lanes.

use super::cpd::{Cpd, Layout, plate_size};
use super::flat::Flat;
use super::numeric::logsumexp;
use super::stats::Stats;
use super::{InferError, TooManyWhat, checked_count};
use crate::array::unravel;
use crate::model::{Model, PlateId, PlateSize, Support, VarId};
use rayon::prelude::*;

/// Data copies per chunk of parallel work. Fixed, so the order of every floating-point sum over
/// chunks is fixed too, whatever the number of threads.
pub const CHUNK: usize = 2048;

/// `0..rows` in chunks of [`CHUNK`] (one empty chunk when there are no rows).
pub fn chunks(rows: usize) -> Vec<std::ops::Range<usize>> {
    (0..rows.div_ceil(CHUNK).max(1))
        .map(|c| c * CHUNK..((c + 1) * CHUNK).min(rows))
        .collect()
}

/// What [`Engine::run`] computes over `lanes` data copies, in chunks run in parallel (each
/// copy's evidence is computed on its own, so the chunking changes nothing), through the
/// [`Flat`] fast path when the model has its shape.
pub fn evidence(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    lanes: usize,
) -> Result<Evidence, InferError> {
    let root = Engine::over(model, cpds, obs, 0..0).run()?;
    let flat = if root.global.len() == 1 {
        Flat::compile(model, cpds, obs)
    } else {
        None
    };
    let configs = root.global.len();
    let mut local = vec![0.0; lanes * configs];
    local
        .par_chunks_mut(CHUNK * configs)
        .zip(chunks(lanes))
        .try_for_each(|(out, range)| {
            match &flat {
                Some(f) => f.evidence_into(range, out),
                None => out.copy_from_slice(&Engine::over(model, cpds, obs, range).run()?.local),
            }
            Ok::<(), InferError>(())
        })?;
    // The fast path stops between blocks when asked, leaving its numbers unfinished.
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    Ok(Evidence {
        global: root.global,
        local,
        lanes,
    })
}

/// Observed values of one variable: `lanes × instances × event` elements, NaN where missing.
/// One lane for a global variable or a value shared by every copy.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The values, shared: copies of a data set (restarts, clamped queries) cost nothing.
    pub data: std::sync::Arc<[f64]>,
    /// 1, or the number of data copies.
    pub lanes: usize,
    /// The patterns of observed entries of a vector's rows, found once (every E-step of a
    /// fit reads them).
    patterns: std::sync::Arc<std::sync::OnceLock<Option<Patterns>>>,
}

impl Observed {
    /// `data` over `lanes` copies.
    pub fn new(data: impl Into<std::sync::Arc<[f64]>>, lanes: usize) -> Observed {
        Observed {
            data: data.into(),
            lanes,
            patterns: Default::default(),
        }
    }

    /// For a vector of `dim` ≤ 64 entries over several copies: each copy's pattern of observed
    /// entries. `None` beyond 64 entries, or for one shared value.
    pub fn patterns(&self, dim: usize) -> Option<&Patterns> {
        if dim > 64 || self.lanes <= 1 || dim == 0 {
            return None;
        }
        self.patterns
            .get_or_init(|| Some(Patterns::of(&self.data, dim)))
            .as_ref()
            .filter(|p| p.dim == dim)
    }
}

impl Observed {
    /// Whether some row of this `dim`-vector misses some of its entries but not all: by the
    /// patterns where they are found, else by a scan.
    pub fn misses_part(&self, dim: usize) -> bool {
        match self.patterns(dim) {
            Some(p) => p.partial(),
            None => self.data.chunks(dim.max(1)).any(|r| {
                let missing = r.iter().filter(|x| x.is_nan()).count();
                missing != 0 && missing != r.len()
            }),
        }
    }
}

/// The patterns of observed entries of rows of a vector: bit i of a mask is set when entry i
/// is observed.
#[derive(Clone, Debug)]
pub struct Patterns {
    /// The vector's length.
    pub dim: usize,
    /// The distinct masks, in order of first appearance.
    pub masks: Vec<u64>,
    /// Per row, its mask's index in `masks`.
    pub of_row: Vec<u32>,
}

impl Patterns {
    fn of(data: &[f64], dim: usize) -> Patterns {
        let mut masks: Vec<u64> = Vec::new();
        let mut index: std::collections::HashMap<u64, u32> = Default::default();
        let mut last = (u64::MAX, 0u32);
        let of_row = data
            .chunks_exact(dim)
            .map(|row| {
                let m = row
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (i, x)| if x.is_nan() { m } else { m | (1 << i) });
                if m == last.0 {
                    return last.1;
                }
                let id = *index.entry(m).or_insert_with(|| {
                    masks.push(m);
                    (masks.len() - 1) as u32
                });
                last = (m, id);
                id
            })
            .collect();
        Patterns { dim, masks, of_row }
    }

    /// Whether some row misses some of the entries but not all.
    pub fn partial(&self) -> bool {
        let full = if self.dim == 64 {
            u64::MAX
        } else {
            (1 << self.dim) - 1
        };
        self.masks.iter().any(|&m| m != 0 && m != full)
    }
}

/// What the engine computed for one set of observations.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// log p(global variables in configuration g, with their observations), one entry per
    /// configuration of the global latents.
    pub global: Vec<f64>,
    /// `lanes × configs`: log p(copy i's observations | configuration g).
    pub local: Vec<f64>,
    /// The number of data copies.
    pub lanes: usize,
}

impl Evidence {
    /// log p(every observation), all copies jointly.
    pub fn joint(&self) -> f64 {
        let g = self.global.len();
        let terms: Vec<f64> = (0..g)
            .map(|c| self.global[c] + (0..self.lanes).map(|i| self.local[i * g + c]).sum::<f64>())
            .collect();
        logsumexp(&terms)
    }

    /// log p(copy i's observations) for each copy, when the model has no global latents.
    pub fn per_copy(mut self) -> Vec<f64> {
        let g = self.global.len();
        if g == 1 {
            let root = self.global[0];
            self.local.iter_mut().for_each(|x| *x += root);
            return self.local;
        }
        (0..self.lanes)
            .map(|i| {
                let terms: Vec<f64> = (0..g)
                    .map(|c| self.global[c] + self.local[i * g + c])
                    .collect();
                logsumexp(&terms)
            })
            .collect()
    }
}

/// The enumeration engine for one model, its tables and a set of observations.
pub struct Engine<'a> {
    model: &'a Model,
    cpds: &'a [Cpd],
    obs: &'a [Option<Observed>],
    /// The first data copy this engine covers (the engine covers `first..first + lanes`).
    first: usize,
    lanes: usize,
    /// Each variable's layout within a copy.
    layout: Vec<Layout>,
    /// For each variable's instances, whether it is discrete and some lane lacks its value (so
    /// the instance is enumerated).
    missing: Vec<Vec<bool>>,
    /// The variables directly in each plate; index `plates.len()` is the root.
    direct: Vec<Vec<VarId>>,
    /// The plates directly inside each plate; index `plates.len()` is the root.
    inner: Vec<Vec<PlateId>>,
}

/// No value assigned.
const UNSET: usize = usize::MAX;

/// The working state of an enumeration: values of enumerated instances and current plate
/// indices.
struct State {
    assign: Vec<Vec<usize>>,
    ctx: Vec<usize>,
}

impl<'a> Engine<'a> {
    /// An engine over the data copies `range` of the observations (a chunk of rows).
    pub fn over(
        model: &'a Model,
        cpds: &'a [Cpd],
        obs: &'a [Option<Observed>],
        range: std::ops::Range<usize>,
    ) -> Engine<'a> {
        let (first, lanes) = (range.start, range.len());
        let root = model.plates.len();
        let mut direct = vec![Vec::new(); root + 1];
        for (v, var) in model.vars.iter().enumerate() {
            direct[var.plates.last().copied().unwrap_or(root)].push(v);
        }
        let mut inner = vec![Vec::new(); root + 1];
        for (p, plate) in model.plates.iter().enumerate() {
            inner[plate.parent.unwrap_or(root)].push(p);
        }
        let layout = Layout::all(model);
        let missing = (0..model.vars.len())
            .map(|v| {
                let n = layout[v].inst;
                (0..n)
                    .map(|i| match &obs[v] {
                        _ if !model.vars[v].support.is_discrete() => false,
                        None => true,
                        Some(o) if o.lanes == 1 => o.data[i].is_nan(),
                        Some(o) => range.clone().any(|l| o.data[l * n + i].is_nan()),
                    })
                    .collect()
            })
            .collect();
        Engine {
            model,
            cpds,
            obs,
            first,
            lanes,
            layout,
            missing,
            direct,
            inner,
        }
    }

    /// Sums out every latent: the global weights and per-copy evidence for each global
    /// configuration.
    pub fn run(&self) -> Result<Evidence, InferError> {
        let root = self.model.plates.len();
        let mut st = self.fresh();
        let latents = self.latents(&self.direct[root], &st);
        let radix: Vec<usize> = latents.iter().map(|&(_, _, k)| k).collect();
        let count = config_count(self.model, None, &latents)?;
        let data = self.model.data_plate();
        let mut global = Vec::with_capacity(count);
        let mut local = vec![0.0; self.lanes * count];
        for c in 0..count {
            let values = unravel(c, &radix);
            for (&(v, i, _), &x) in latents.iter().zip(&values) {
                st.assign[v][i] = x;
            }
            let mut w = 0.0;
            for &v in &self.direct[root] {
                w += self.logp(v, 1, &st)[0];
            }
            for &q in &self.inner[root] {
                if Some(q) != data {
                    w += self.plate_copies(q, 1, &mut st)?[0];
                }
            }
            if let Some(d) = data {
                let per = self.scope(d, self.lanes, &mut st)?;
                for (i, x) in per.into_iter().enumerate() {
                    local[i * count + c] = x;
                }
            }
            global.push(w);
        }
        Ok(Evidence {
            global,
            local,
            lanes: self.lanes,
        })
    }

    /// The instances directly in a scope that must be enumerated: discrete, and missing in
    /// some lane. Each with its instance index and number of values.
    fn latents(&self, vars: &[VarId], st: &State) -> Vec<(VarId, usize, usize)> {
        vars.iter()
            .filter_map(|&v| {
                let Support::Discrete(k) = self.model.vars[v].support else {
                    return None;
                };
                let i = self.instance(v, st);
                self.missing[v][i].then_some((v, i, k))
            })
            .collect()
    }

    /// Σ over the copies of fixed plate `q` of their log evidence, per lane.
    fn plate_copies(
        &self,
        q: PlateId,
        lanes: usize,
        st: &mut State,
    ) -> Result<Vec<f64>, InferError> {
        let mut acc = vec![0.0; lanes];
        for j in 0..plate_size(self.model, q) {
            st.ctx[q] = j;
            for (a, x) in acc.iter_mut().zip(self.scope(q, lanes, st)?) {
                *a += x;
            }
        }
        Ok(acc)
    }

    /// The log evidence of one copy of plate `p` (its index, if fixed, already in `st.ctx`),
    /// every latent in it and below summed out, per lane.
    fn scope(&self, p: PlateId, lanes: usize, st: &mut State) -> Result<Vec<f64>, InferError> {
        let latents = self.latents(&self.direct[p], st);
        let mut per_config = self.configurations(p, &latents, lanes, st)?;
        for &(v, i, _) in &latents {
            st.assign[v][i] = UNSET;
        }
        if per_config.len() == 1 {
            return Ok(per_config.pop().expect("one configuration"));
        }
        Ok(lane_logsumexp(&per_config, lanes))
    }

    /// For each joint configuration of `latents` (the latents directly in plate `p`), the log
    /// evidence per lane of the plate copy with the latents so: Σ log p(its variables) + the
    /// evidence of the plates inside. Leaves the latents set to the last configuration.
    fn configurations(
        &self,
        p: PlateId,
        latents: &[(VarId, usize, usize)],
        lanes: usize,
        st: &mut State,
    ) -> Result<Vec<Vec<f64>>, InferError> {
        let radix: Vec<usize> = latents.iter().map(|&(_, _, k)| k).collect();
        let plate = (p < self.model.plates.len()).then_some(p);
        let count = config_count(self.model, plate, latents)?;
        let mut per_config = Vec::with_capacity(count);
        for c in 0..count {
            if c % 1024 == 1023 && crate::interrupt::requested() {
                return Err(InferError::Interrupted);
            }
            for (&(v, i, _), x) in latents.iter().zip(unravel(c, &radix)) {
                st.assign[v][i] = x;
            }
            let mut acc = vec![0.0; lanes];
            for &v in &self.direct[p] {
                for (a, x) in acc.iter_mut().zip(self.logp(v, lanes, st)) {
                    *a += x;
                }
            }
            for &q in &self.inner[p] {
                for (a, x) in acc.iter_mut().zip(self.plate_copies(q, lanes, st)?) {
                    *a += x;
                }
            }
            per_config.push(acc);
        }
        Ok(per_config)
    }

    /// The current instance of `v`: its fixed plates' indices in mixed radix.
    fn instance(&self, v: VarId, st: &State) -> usize {
        let lay = &self.layout[v];
        lay.fixed
            .iter()
            .zip(&lay.sizes)
            .fold(0, |acc, (&p, &size)| acc * size + st.ctx[p])
    }

    /// The value of a discrete instance in lane `l`: enumerated, or observed.
    fn discrete_value(&self, v: VarId, i: usize, l: usize, st: &State) -> usize {
        match st.assign[v][i] {
            UNSET => {
                let o = self.obs[v].as_ref().expect("not enumerated, so observed");
                o.data[self.lane(o, l) * self.layout[v].inst + i] as usize
            }
            x => x,
        }
    }

    /// The table entry of `v`'s current instance in lane `l`, looked up by its parents' values
    /// (at `parent_inst`) and its plate indices; `key` is scratch space.
    fn entry(
        &self,
        v: VarId,
        parent_inst: &[usize],
        l: usize,
        st: &State,
        key: &mut Vec<usize>,
    ) -> usize {
        key.clear();
        key.extend(
            self.model.vars[v]
                .parents
                .iter()
                .zip(parent_inst)
                .map(|(&p, &pi)| self.discrete_value(p, pi, l, st)),
        );
        key.extend(self.layout[v].fixed.iter().map(|&q| st.ctx[q]));
        self.cpds[v].index(key)
    }

    /// The lane of `o` that holds copy `l` of this engine.
    fn lane(&self, o: &Observed, l: usize) -> usize {
        if o.lanes == 1 { 0 } else { self.first + l }
    }

    /// The observed value of instance `i` of `v` in lane `l` (NaN-led where missing).
    fn observed(&self, v: VarId, i: usize, l: usize) -> Option<&'a [f64]> {
        self.obs[v].as_ref().map(|o| {
            let ev = self.layout[v].event;
            let at = (self.lane(o, l) * self.layout[v].inst + i) * ev;
            &o.data[at..at + ev]
        })
    }

    /// Calls `f` for each lane with what `v`'s current instance is there: its value and table
    /// entry, missing (continuous and unobserved), or excluded (enumerated to a value the lane
    /// observes otherwise).
    fn each_lane(&self, v: VarId, lanes: usize, st: &State, mut f: impl FnMut(usize, Lane<'_>)) {
        let var = &self.model.vars[v];
        let i = self.instance(v, st);
        let parent_inst: Vec<usize> = var.parents.iter().map(|&p| self.instance(p, st)).collect();
        let per_lane_key = var.parents.iter().any(|&p| {
            st.assign[p][self.instance(p, st)] == UNSET
                && self.obs[p].as_ref().is_some_and(|o| o.lanes > 1)
        });
        let mut key: Vec<usize> = Vec::with_capacity(self.cpds[v].radix.len());
        let shared = (!per_lane_key).then(|| self.entry(v, &parent_inst, 0, st, &mut key));
        let assigned = st.assign[v][i];
        let enumerated = [assigned as f64];
        for l in 0..lanes {
            let observed = self.observed(v, i, l);
            let value: &[f64] = if assigned != UNSET {
                // Enumerated: a lane that observes a different value rules this configuration out.
                if let Some(x) = observed
                    && !x[0].is_nan()
                    && x[0] != enumerated[0]
                {
                    f(l, Lane::Excluded);
                    continue;
                }
                &enumerated
            } else {
                match observed {
                    // A vector missing some entries is observed: its density is the marginal
                    // of the others.
                    Some(x) if x.iter().any(|v| !v.is_nan()) => x,
                    _ => {
                        f(l, Lane::Missing);
                        continue;
                    }
                }
            };
            let e = match shared {
                Some(e) => e,
                None => self.entry(v, &parent_inst, l, st, &mut key),
            };
            f(l, Lane::Value(value, e));
        }
    }

    /// log p(v's current instance | its parents), per lane; 0 where it is missing and
    /// continuous (it integrates to 1).
    fn logp(&self, v: VarId, lanes: usize, st: &State) -> Vec<f64> {
        let entries = &self.cpds[v].entries;
        let mut out = vec![0.0; lanes];
        self.each_lane(v, lanes, st, |l, lane| {
            out[l] = match lane {
                Lane::Value(x, e) => entries[e].logp(x),
                Lane::Missing => 0.0,
                Lane::Excluded => f64::NEG_INFINITY,
            }
        });
        out
    }

    // ---- Expected sufficient statistics (the E-step of EM) ----

    /// The number of configurations of the global latents, as [`run`](Self::run) enumerates
    /// them.
    pub fn global_configs(&self) -> Result<usize, InferError> {
        let st = self.fresh();
        let latents = self.latents(&self.direct[self.model.plates.len()], &st);
        config_count(self.model, None, &latents)
    }

    /// Sets the global latents to their configuration `g`.
    fn set_global(&self, g: usize, st: &mut State) {
        let latents = self.latents(&self.direct[self.model.plates.len()], st);
        let radix: Vec<usize> = latents.iter().map(|&(_, _, k)| k).collect();
        for (&(v, i, _), x) in latents.iter().zip(unravel(g, &radix)) {
            st.assign[v][i] = x;
        }
    }

    fn fresh(&self) -> State {
        State {
            assign: self.layout.iter().map(|l| vec![UNSET; l.inst]).collect(),
            ctx: vec![0; self.model.plates.len()],
        }
    }

    /// With the global latents in configuration `g`: adds each variable outside the data plate
    /// to `stats` with weight `weight` (the posterior probability of `g`), and returns the log
    /// weight of `g` ([`Evidence::global`]).
    pub fn accumulate_global(
        &self,
        g: usize,
        weight: f64,
        stats: &mut Stats,
    ) -> Result<f64, InferError> {
        let root = self.model.plates.len();
        let mut st = self.fresh();
        self.set_global(g, &mut st);
        let w = [weight];
        let mut total = 0.0;
        for &v in &self.direct[root] {
            total += self.logp(v, 1, &st)[0];
            self.add(v, 1, &st, &w, stats);
        }
        for &q in &self.inner[root] {
            if Some(q) != self.model.data_plate() {
                total += self.plate_copies_acc(q, 1, &mut st, &w, stats)?[0];
            }
        }
        Ok(total)
    }

    /// With the global latents in configuration `g`: adds the expected statistics of every
    /// variable in the data plate, copy `l` weighted by `weights[l]` (its row weight times the
    /// posterior probability of `g`), and returns log p(copy l's observations | g) per lane.
    pub fn accumulate_data(
        &self,
        g: usize,
        weights: &[f64],
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InferError> {
        let mut st = self.fresh();
        self.set_global(g, &mut st);
        match self.model.data_plate() {
            Some(d) => self.scope_acc(d, self.lanes, &mut st, weights, stats),
            None => Ok(vec![0.0; self.lanes]),
        }
    }

    /// [`plate_copies`](Self::plate_copies), adding each copy's statistics.
    fn plate_copies_acc(
        &self,
        q: PlateId,
        lanes: usize,
        st: &mut State,
        weights: &[f64],
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InferError> {
        let mut acc = vec![0.0; lanes];
        for j in 0..plate_size(self.model, q) {
            st.ctx[q] = j;
            let ev = self.scope_acc(q, lanes, st, weights, stats)?;
            for (a, x) in acc.iter_mut().zip(ev) {
                *a += x;
            }
        }
        Ok(acc)
    }

    /// [`scope`](Self::scope), adding the statistics of every variable in the plate copy and
    /// below, each configuration weighted by its posterior probability times `weights`.
    fn scope_acc(
        &self,
        p: PlateId,
        lanes: usize,
        st: &mut State,
        weights: &[f64],
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InferError> {
        let latents = self.latents(&self.direct[p], st);
        if latents.is_empty() {
            // Nothing to enumerate here: one pass evaluates and accumulates.
            let mut acc = vec![0.0; lanes];
            for &v in &self.direct[p] {
                for (a, x) in acc.iter_mut().zip(self.logp(v, lanes, st)) {
                    *a += x;
                }
                self.add(v, lanes, st, weights, stats);
            }
            for &q in &self.inner[p] {
                for (a, x) in acc
                    .iter_mut()
                    .zip(self.plate_copies_acc(q, lanes, st, weights, stats)?)
                {
                    *a += x;
                }
            }
            return Ok(acc);
        }
        // First the evidence of every configuration, then each configuration's posterior
        // weight, with which its variables (and the plates below) are accumulated.
        let radix: Vec<usize> = latents.iter().map(|&(_, _, k)| k).collect();
        let per_config = self.configurations(p, &latents, lanes, st)?;
        let total = lane_logsumexp(&per_config, lanes);
        let mut r = vec![0.0; lanes];
        for (c, row) in per_config.iter().enumerate() {
            let mut any = false;
            for l in 0..lanes {
                r[l] = if weights[l] == 0.0 || total[l] == f64::NEG_INFINITY {
                    0.0
                } else {
                    weights[l] * (row[l] - total[l]).exp()
                };
                any |= r[l] > 0.0;
            }
            if !any {
                continue;
            }
            for (&(v, i, _), x) in latents.iter().zip(unravel(c, &radix)) {
                st.assign[v][i] = x;
            }
            for &v in &self.direct[p] {
                self.add(v, lanes, st, &r, stats);
            }
            for &q in &self.inner[p] {
                self.plate_copies_acc(q, lanes, st, &r, stats)?;
            }
        }
        for &(v, i, _) in &latents {
            st.assign[v][i] = UNSET;
        }
        Ok(total)
    }

    /// Adds `v`'s current instance to `stats`, lane `l` with weight `weights[l]`.
    fn add(&self, v: VarId, lanes: usize, st: &State, weights: &[f64], stats: &mut Stats) {
        let entries = &self.cpds[v].entries;
        self.each_lane(v, lanes, st, |l, lane| {
            if let Lane::Value(x, e) = lane
                && weights[l] > 0.0
            {
                stats.add(v, e, &entries[e], x, weights[l]);
            }
        });
    }
}

/// log Σ_c exp(per_config[c][l]) for each lane l.
fn lane_logsumexp(per_config: &[Vec<f64>], lanes: usize) -> Vec<f64> {
    let mut terms = vec![0.0; per_config.len()];
    (0..lanes)
        .map(|l| {
            for (t, row) in terms.iter_mut().zip(per_config) {
                *t = row[l];
            }
            logsumexp(&terms)
        })
        .collect()
}

/// What one variable instance is in one lane.
enum Lane<'a> {
    /// Its value and the table entry of its distribution there.
    Value(&'a [f64], usize),
    /// Continuous and unobserved: it integrates to 1.
    Missing,
    /// Enumerated to a value the lane observes otherwise.
    Excluded,
}

/// The number of joint configurations of `latents` (instances enumerated together directly in
/// plate `p`, or at the top level), refused beyond [`MAX_CONFIGS`](super::MAX_CONFIGS).
fn config_count(
    model: &Model,
    p: Option<PlateId>,
    latents: &[(VarId, usize, usize)],
) -> Result<usize, InferError> {
    let vars: Vec<(String, usize)> = latents
        .iter()
        .map(|&(v, _, k)| (model.vars[v].name.clone(), k))
        .collect();
    let plate = p.map(|p| model.plates[p].name.clone());
    checked_count(&vars, TooManyWhat::Configurations { plate })
}

/// Whether variable `v` is outside the data plate (drawn once for the whole data set).
pub fn is_global(model: &Model, v: VarId) -> bool {
    model.vars[v]
        .plates
        .first()
        .is_none_or(|&p| model.plates[p].size != PlateSize::Data)
}
