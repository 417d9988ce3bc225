//! The fast path of the engine for the common shape: a data plate with no plates inside it and
//! no global latents. Its discrete variables then take one of a fixed list of joint
//! configurations in every row, and every table entry a row uses is fixed by the configuration.
//! A flat mixture of K components has K configurations; a two-level g → z → x has |g|·|z|.
//!
//! Per row and configuration c, the log joint is `prior[c] + Σ log p(x_v | entry of v under c)`
//! over the observed continuous variables; a discrete variable a row observes rules out the
//! configurations that disagree. Rows are processed in blocks of [`BLOCK`] as structure-of-arrays
//! loops the compiler vectorises, with [`vmath`](super::vmath)'s `exp` and `ln` and sums kept in
//! eight fixed partial sums, so the results are the same with or without SIMD and on every
//! machine.
//! It computes what [`Engine`](super::engine::Engine) computes for such models, to rounding; a
//! test compares the two.

use super::cpd::{Cpd, Layout, Local};
use super::engine::{Observed, is_global};
use super::stats::Stats;
use super::vmath::{self, dot8, sum8};
use crate::array::unravel;
use crate::model::{Model, Support, VarId};

/// What [`Flat::dispatch`] runs over a range of rows.
enum Job<'x> {
    /// Each row's log evidence.
    Evidence(&'x mut [f64]),
    /// The log evidence, adding the rows' statistics with these weights.
    Accumulate(&'x mut [f64], &'x [f64], &'x mut Stats),
    /// Each row's joints over their largest (row by row), and the largest.
    Scaled(&'x mut [f64], &'x mut [f64]),
    /// The rows' statistics under given configuration weights (row by row).
    Given(&'x [f64], &'x mut Stats),
}

/// Rows per block: the block's per-configuration arrays stay in the first-level cache.
const BLOCK: usize = 256;

/// Most configurations the fast path takes; larger joint spaces go to the general engine.
const MAX_CONFIGS: usize = 256;

/// A flat model compiled against its tables and observations.
pub struct Flat<'a> {
    configs: usize,
    /// log p(the discrete variables in configuration c), per configuration.
    prior: Vec<f64>,
    latents: Vec<Latent<'a>>,
    terms: Vec<Term<'a>>,
}

/// A discrete variable of the data plate, enumerated.
struct Latent<'a> {
    var: VarId,
    /// Its number of values.
    k: usize,
    /// Its value in each configuration.
    value: Vec<usize>,
    /// Its table entry in each configuration.
    entry: Vec<usize>,
    /// Per-row observations (NaN where missing), which rule out disagreeing configurations.
    observed: Option<&'a [f64]>,
}

/// An observed continuous variable of the data plate.
struct Term<'a> {
    var: VarId,
    /// For a vector whose rows miss some entries: the rows' patterns, and each pattern's
    /// marginals and conditionals.
    split: Option<Split<'a>>,
    /// Row-major values, `stride` apart (0: one value shared by every row).
    data: &'a [f64],
    stride: usize,
    /// The event size D.
    dim: usize,
    /// Its first array in [`Scratch::x`] (the terms' arrays follow each other), and its
    /// position among the terms (its array in [`Scratch::keep`]).
    col: usize,
    slot: usize,
    /// Its table entry in each configuration.
    entry: Vec<usize>,
    /// Per configuration: the mean (D numbers).
    mean: Vec<f64>,
    /// Per configuration: the inverse of the covariance's Cholesky factor, row-major lower
    /// triangle (D×D numbers; for a Normal, 1/sd).
    whiten: Vec<f64>,
    /// Per configuration: the log density's constant.
    log_norm: Vec<f64>,
}

/// The rows of a vector term that miss some entries (section 9.1), by their pattern of observed
/// entries: each pattern's marginal (for the log joint) and conditional (for the statistics)
/// are factored once per configuration. A block takes all its rows as if complete, then
/// corrects the rows that are not, one by one, with their pattern's small matrices.
struct Split<'a> {
    /// Per row of the data, its pattern.
    of_row: &'a [u32],
    /// The pattern with every entry observed, if any row has it.
    full: Option<u32>,
    parts: Vec<Part>,
}

/// One pattern of observed entries, per configuration.
struct Part {
    seen: Vec<usize>,
    hidden: Vec<usize>,
    /// The marginal of the seen entries: the inverse of its Cholesky factor (o×o, row-major
    /// lower triangle), and its log constant.
    whiten: Vec<f64>,
    log_norm: Vec<f64>,
    /// The conditional of the hidden entries: the gain (h×o) and the covariance (h×h).
    gain: Vec<f64>,
    cov: Vec<f64>,
}

impl<'a> Split<'a> {
    fn new(
        patterns: &'a super::engine::Patterns,
        entry: &[usize],
        entries: &[Local],
    ) -> Option<Split<'a>> {
        let d = patterns.dim;
        let parts = patterns
            .masks
            .iter()
            .map(|&mask| {
                let seen: Vec<usize> = (0..d).filter(|&i| mask & (1 << i) != 0).collect();
                let mut part = Part {
                    hidden: (0..d).filter(|&i| mask & (1 << i) == 0).collect(),
                    seen,
                    whiten: Vec::new(),
                    log_norm: Vec::new(),
                    gain: Vec::new(),
                    cov: Vec::new(),
                };
                if part.seen.is_empty() || part.hidden.is_empty() {
                    return Some(part);
                }
                let o = part.seen.len();
                for &e in entry {
                    let Local::MvNormal(m) = &entries[e] else {
                        return None;
                    };
                    // A factorisation fails only when interrupted; the caller then reports
                    // the interruption.
                    let g = m.given(&part.seen)?;
                    let marginal = g.marginal.as_ref()?;
                    let rows = marginal.chol.transpose();
                    part.whiten.extend(
                        crate::linalg::inverse_lower(rows.as_slice(), o)
                            .unwrap_or_else(|_| vec![0.0; o * o]),
                    );
                    part.log_norm.push(marginal.log_norm);
                    part.gain.extend(&g.gain);
                    part.cov.extend(&g.cov);
                }
                Some(part)
            })
            .collect::<Option<_>>()?;
        let full = patterns
            .masks
            .iter()
            .position(|&m| m.count_ones() as usize == d)
            .map(|p| p as u32);
        Some(Split {
            of_row: &patterns.of_row,
            full,
            parts,
        })
    }
}

/// Working arrays of one block.
struct Scratch {
    /// Per configuration: the log joint, then its exponential, then the responsibility.
    ll: Vec<f64>,
    /// Every term's values, one array per dimension, loaded once per block.
    x: Vec<f64>,
    /// Deviations from a mean, one array per dimension.
    d: Vec<f64>,
    /// Per term: 1 where a row has the term's value, 0 where it misses it (its value then
    /// reads 0).
    keep: Vec<f64>,
    /// A responsibility times `keep`.
    rk: Vec<f64>,
    z: Vec<f64>,
    q: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
    /// A row's weight over its sum of exponentials (0 for an impossible row).
    scale: Vec<f64>,
    /// Per row, the log density's constant (a split term's rows differ by pattern).
    lin: Vec<f64>,
    /// Per split term (by slot), per pattern and configuration: the responsibility mass of the
    /// pattern's rows, whose conditional covariance the statistics add at the end.
    mass: Vec<Vec<f64>>,
}

/// The block's columns (`ll`, one column of [`BLOCK`] rows a configuration) from rows of
/// configurations (`rows`, row-major): [`transpose`] undone.
#[inline(always)]
fn untranspose<const C: usize>(rows: &[f64], ll: &mut [f64]) {
    let c = if C > 0 { C } else { ll.len() / BLOCK };
    for (j, row) in rows.chunks_exact(c).enumerate() {
        for (q, &x) in row.iter().enumerate() {
            ll[q * BLOCK + j] = x;
        }
    }
}

/// Rows of configurations (`rows`, row-major) from the block's columns (`ll`, one column of
/// [`BLOCK`] rows a configuration); `C` configurations (0: as many as `rows` has room for, read
/// off the block's length).
#[inline(always)]
fn transpose<const C: usize>(ll: &[f64], rows: &mut [f64]) {
    let c = if C > 0 { C } else { ll.len() / BLOCK };
    for (j, row) in rows.chunks_exact_mut(c).enumerate() {
        if C > 0 {
            let row: &mut [f64; C] = row.try_into().expect("C numbers");
            *row = std::array::from_fn(|q| ll[q * BLOCK + j]);
        } else {
            for (q, x) in row.iter_mut().enumerate() {
                *x = ll[q * BLOCK + j];
            }
        }
    }
}

impl<'a> Flat<'a> {
    /// Compiles `model` for the fast path, or `None` when it does not have the flat shape.
    pub fn compile(
        model: &Model,
        cpds: &'a [Cpd],
        obs: &'a [Option<Observed>],
    ) -> Option<Flat<'a>> {
        let data = model.data_plate()?;
        if model.plates.iter().any(|p| p.parent == Some(data)) {
            return None;
        }
        let inside: Vec<VarId> = (0..model.vars.len())
            .filter(|&v| !is_global(model, v))
            .collect();
        // Rows that miss some entries of a vector, but not all, go by their pattern of observed
        // entries (below); a vector of more than 64 entries, or one value shared by every
        // row, that does so takes the general engine.
        for (v, o) in obs.iter().enumerate() {
            if let (Support::RealVector(d), Some(o)) = (model.vars[v].support, o)
                && o.patterns(d).is_none()
                && o.misses_part(d)
            {
                return None;
            }
        }
        // Every variable once per row; the global ones observed (no global latents).
        for (v, o) in obs.iter().enumerate() {
            if Layout::of(model, v).inst != 1 {
                return None;
            }
            if is_global(model, v) {
                let o = o.as_ref()?;
                if o.lanes != 1 || o.data.iter().any(|x| x.is_nan()) {
                    return None;
                }
            }
        }
        // The enumerated variables and the values each may take.
        let mut enumerated = Vec::new();
        let mut allowed = Vec::new();
        for &v in &inside {
            let Support::Discrete(k) = model.vars[v].support else {
                continue;
            };
            let (values, observed) = match &obs[v] {
                Some(o) if o.lanes == 1 && !o.data[0].is_nan() => (vec![o.data[0] as usize], None),
                Some(o) if o.lanes > 1 => ((0..k).collect(), Some(&o.data[..])),
                _ => ((0..k).collect(), None),
            };
            enumerated.push((v, k, observed));
            allowed.push(values);
        }
        let radix: Vec<usize> = allowed.iter().map(Vec::len).collect();
        let configs = radix
            .iter()
            .try_fold(1usize, |n, &k| n.checked_mul(k))
            .filter(|&n| n <= MAX_CONFIGS)?;
        let assignment: Vec<Vec<usize>> = (0..configs)
            .map(|c| {
                unravel(c, &radix)
                    .iter()
                    .zip(&allowed)
                    .map(|(&i, vals)| vals[i])
                    .collect()
            })
            .collect();
        // The table entry of `v` in configuration c: its parents' values there.
        let entry_of = |v: VarId, c: usize| -> Option<usize> {
            let key: Option<Vec<usize>> = model.vars[v]
                .parents
                .iter()
                .map(|&p| match enumerated.iter().position(|e| e.0 == p) {
                    Some(i) => Some(assignment[c][i]),
                    None => obs[p].as_ref().map(|o| o.data[0] as usize),
                })
                .collect();
            Some(cpds[v].index(&key?))
        };
        let mut prior = vec![0.0; configs];
        let mut latents = Vec::new();
        for (i, &(v, k, observed)) in enumerated.iter().enumerate() {
            let entry: Vec<usize> = (0..configs)
                .map(|c| entry_of(v, c))
                .collect::<Option<_>>()?;
            let value: Vec<usize> = (0..configs).map(|c| assignment[c][i]).collect();
            for c in 0..configs {
                prior[c] += cpds[v].entries[entry[c]].logp(&[value[c] as f64]);
            }
            latents.push(Latent {
                var: v,
                k,
                value,
                entry,
                observed,
            });
        }
        let mut terms = Vec::new();
        for &v in &inside {
            if model.vars[v].support.is_discrete() {
                continue;
            }
            let Some(o) = &obs[v] else {
                continue; // Never observed: it integrates to 1.
            };
            let dim = Layout::of(model, v).event;
            let entry: Vec<usize> = (0..configs)
                .map(|c| entry_of(v, c))
                .collect::<Option<_>>()?;
            let (mut mean, mut whiten, mut log_norm) = (Vec::new(), Vec::new(), Vec::new());
            for &e in &entry {
                match &cpds[v].entries[e] {
                    Local::Normal {
                        mean: m,
                        sd,
                        log_norm: ln,
                    } => {
                        mean.push(*m);
                        whiten.push(1.0 / sd);
                        log_norm.push(*ln);
                    }
                    Local::MvNormal(m) => {
                        mean.extend(m.mean.iter());
                        // Interrupted, the zeros stand in; the fit or query then reports
                        // the interruption instead of its result.
                        let d = m.dim();
                        let rows = m.chol.transpose();
                        whiten.extend(
                            crate::linalg::inverse_lower(rows.as_slice(), d)
                                .unwrap_or_else(|_| vec![0.0; d * d]),
                        );
                        log_norm.push(m.log_norm);
                    }
                    _ => return None,
                }
            }
            // Only a vector can miss part of its value (a Normal's missing rows drop out by
            // `keep`).
            let vector = matches!(model.vars[v].support, Support::RealVector(_));
            let split = match vector.then(|| o.patterns(dim)).flatten() {
                Some(p) if p.partial() => Some(Split::new(p, &entry, &cpds[v].entries)?),
                _ => None,
            };
            terms.push(Term {
                var: v,
                split,
                data: &o.data,
                stride: if o.lanes == 1 { 0 } else { dim },
                dim,
                col: terms.iter().map(|t: &Term| t.dim).sum(),
                slot: terms.len(),
                entry,
                mean,
                whiten,
                log_norm,
            });
        }
        Some(Flat {
            configs,
            prior,
            latents,
            terms,
        })
    }

    /// The number of joint configurations of the rows' discrete variables.
    pub fn configs(&self) -> usize {
        self.configs
    }

    /// The value of discrete variable `v` in each configuration, if it is enumerated.
    pub fn values_of(&self, v: VarId) -> Option<&[usize]> {
        self.latents
            .iter()
            .find(|l| l.var == v)
            .map(|l| &l.value[..])
    }

    /// Each row's joint under each configuration relative to its largest, `exp(ll − max)`,
    /// row by row (`range.len() × configs` numbers into `b`), and the largest, `max`, per row
    /// (−∞ for a row every configuration rules out).
    pub fn scaled_into(&self, range: std::ops::Range<usize>, b: &mut [f64], max: &mut [f64]) {
        self.dispatch(range.start, Job::Scaled(b, max));
    }

    #[inline(always)]
    fn scaled_rows(&self, first: usize, b: &mut [f64], max: &mut [f64]) {
        let c = self.configs;
        let mut s = self.scratch();
        for (k, (rows, m)) in b
            .chunks_mut(BLOCK * c)
            .zip(max.chunks_mut(BLOCK))
            .enumerate()
        {
            if crate::interrupt::requested() {
                return;
            }
            let n = m.len();
            self.log_joint(first + k * BLOCK, n, &mut s);
            self.normalise(n, None, &mut s);
            m.copy_from_slice(&s.max[..n]);
            match c {
                2 => transpose::<2>(&s.ll, rows),
                3 => transpose::<3>(&s.ll, rows),
                4 => transpose::<4>(&s.ll, rows),
                _ => transpose::<0>(&s.ll, rows),
            }
        }
    }

    /// Adds the statistics of the rows of `range` to `stats`, configuration c of row j
    /// weighted by `r[j · configs + c]` (given, not computed: a chain's posteriors).
    pub fn accumulate_given(&self, range: std::ops::Range<usize>, r: &[f64], stats: &mut Stats) {
        self.dispatch(range.start, Job::Given(r, stats));
    }

    #[inline(always)]
    fn given_rows(&self, first: usize, r: &[f64], stats: &mut Stats) {
        let c = self.configs;
        let mut s = self.scratch();
        for (k, rows) in r.chunks(BLOCK * c).enumerate() {
            if crate::interrupt::requested() {
                return;
            }
            let n = rows.len() / c;
            let at = first + k * BLOCK;
            for t in &self.terms {
                t.load(at, n, &mut s);
            }
            match c {
                2 => untranspose::<2>(rows, &mut s.ll),
                3 => untranspose::<3>(rows, &mut s.ll),
                4 => untranspose::<4>(rows, &mut s.ll),
                _ => untranspose::<0>(rows, &mut s.ll),
            }
            self.add_weighted(at, n, &mut s, stats);
        }
        self.add_conditional_covs(&s, stats);
    }

    /// log p(row l's observations) for each row of `range`.
    pub fn evidence(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        let mut out = vec![0.0; range.len()];
        self.evidence_into(range, &mut out);
        out
    }

    /// [`evidence`](Self::evidence), written to `out` (one number per row of `range`).
    pub fn evidence_into(&self, range: std::ops::Range<usize>, out: &mut [f64]) {
        self.dispatch(range.start, Job::Evidence(&mut out[..range.len()]));
    }

    /// [`evidence`](Self::evidence), adding each row's expected statistics, weighted by
    /// `weights` (one per row of `range`), to `stats`.
    pub fn accumulate(
        &self,
        range: std::ops::Range<usize>,
        weights: &[f64],
        stats: &mut Stats,
    ) -> Vec<f64> {
        let mut out = vec![0.0; range.len()];
        self.dispatch(range.start, Job::Accumulate(&mut out, weights, stats));
        out
    }

    /// Runs `job` over the rows from `first` with the widest vector instructions the processor
    /// has. Every lane rounds as a scalar would, so the choice changes the speed only.
    fn dispatch(&self, first: usize, job: Job<'_>) {
        match vmath::widest() {
            // SAFETY: `widest` found AVX-512 F and DQ on this processor.
            #[cfg(target_arch = "x86_64")]
            vmath::Simd::Avx512 => unsafe { self.job_avx512(first, job) },
            // SAFETY: `widest` found AVX2 on this processor.
            #[cfg(target_arch = "x86_64")]
            vmath::Simd::Avx2 => unsafe { self.job_avx2(first, job) },
            _ => self.job(first, job),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    fn job_avx512(&self, first: usize, job: Job<'_>) {
        self.job(first, job)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn job_avx2(&self, first: usize, job: Job<'_>) {
        self.job(first, job)
    }

    #[inline(always)]
    fn job(&self, first: usize, job: Job<'_>) {
        match job {
            Job::Evidence(out) => self.rows(first, out, None),
            Job::Accumulate(out, w, stats) => self.rows(first, out, Some((w, stats))),
            Job::Scaled(b, max) => self.scaled_rows(first, b, max),
            Job::Given(r, stats) => self.given_rows(first, r, stats),
        }
    }

    /// Working arrays for blocks of rows.
    fn scratch(&self) -> Scratch {
        let c = self.configs;
        let columns: usize = self.terms.iter().map(|t| t.dim).sum();
        let widest = self.terms.iter().map(|t| t.dim).max().unwrap_or(1);
        Scratch {
            ll: vec![0.0; c * BLOCK],
            x: vec![0.0; columns * BLOCK],
            d: vec![0.0; widest * BLOCK],
            keep: vec![0.0; self.terms.len() * BLOCK],
            rk: vec![0.0; BLOCK],
            z: vec![0.0; BLOCK],
            q: vec![0.0; BLOCK],
            max: vec![0.0; BLOCK],
            sum: vec![0.0; BLOCK],
            scale: vec![0.0; BLOCK],
            lin: vec![0.0; BLOCK],
            mass: self
                .terms
                .iter()
                .map(|t| {
                    t.split
                        .as_ref()
                        .map_or(Vec::new(), |sp| vec![0.0; sp.parts.len() * c])
                })
                .collect(),
        }
    }

    #[inline(always)]
    fn rows(&self, first: usize, out: &mut [f64], mut acc: Option<(&[f64], &mut Stats)>) {
        let mut s = self.scratch();
        for (b, out) in out.chunks_mut(BLOCK).enumerate() {
            // A wide MvNormal makes even one block slow: stop when asked; the caller reports
            // the interruption rather than these numbers.
            if crate::interrupt::requested() {
                return;
            }
            let at = first + b * BLOCK;
            self.log_joint(at, out.len(), &mut s);
            self.normalise(out.len(), Some(out), &mut s);
            if let Some((weights, stats)) = acc.as_mut() {
                let wb = &weights[b * BLOCK..b * BLOCK + out.len()];
                self.add_block(at, wb, out, &mut s, stats);
            }
        }
        if let Some((_, stats)) = acc {
            self.add_conditional_covs(&s, stats);
        }
    }

    /// Adds each split term's conditional covariances, weighted by the responsibility mass of
    /// each pattern under each configuration, to the hidden blocks of the second moments.
    fn add_conditional_covs(&self, s: &Scratch, stats: &mut Stats) {
        for t in &self.terms {
            let Some(split) = &t.split else { continue };
            let dim = t.dim;
            let width = 1 + dim + dim * dim;
            for (p, part) in split.parts.iter().enumerate() {
                let h = part.hidden.len();
                if part.seen.is_empty() || h == 0 {
                    continue;
                }
                for c in 0..self.configs {
                    let mass = s.mass[t.slot][p * self.configs + c];
                    let e = t.entry[c];
                    let into = &mut stats.data[t.var][e * width..(e + 1) * width];
                    let cov = &part.cov[c * h * h..(c + 1) * h * h];
                    for (x, &i) in part.hidden.iter().enumerate() {
                        for (y, &j) in part.hidden.iter().enumerate() {
                            into[1 + dim + i * dim + j] += mass * cov[x * h + y];
                        }
                    }
                }
            }
        }
    }

    /// Fills `s.ll` with the log joint of rows `at..at + n` under each configuration.
    #[inline(always)]
    fn log_joint(&self, at: usize, n: usize, s: &mut Scratch) {
        for (c, &p) in self.prior.iter().enumerate() {
            s.ll[c * BLOCK..c * BLOCK + n].fill(p);
        }
        for t in &self.terms {
            t.load(at, n, s);
            if let Some(split) = &t.split {
                self.log_joint_split(t, split, at, n, s);
                continue;
            }
            let dim = t.dim;
            for c in 0..self.configs {
                let mean = &t.mean[c * dim..(c + 1) * dim];
                let lin = t.log_norm[c];
                if dim == 1 {
                    let (m, inv) = (mean[0], t.whiten[c]);
                    let row = &mut s.ll[c * BLOCK..c * BLOCK + n];
                    let x = &s.x[t.col * BLOCK..t.col * BLOCK + n];
                    let keep = &s.keep[t.slot * BLOCK..t.slot * BLOCK + n];
                    for ((r, &x), &keep) in row.iter_mut().zip(x).zip(keep) {
                        let z = (x - m) * inv;
                        *r += (-0.5 * z * z + lin) * keep;
                    }
                    continue;
                }
                t.deviations(c, n, s);
                quadratic(&t.whiten[c * dim * dim..(c + 1) * dim * dim], dim, n, s);
                let row = &mut s.ll[c * BLOCK..c * BLOCK + n];
                let keep = &s.keep[t.slot * BLOCK..t.slot * BLOCK + n];
                for ((r, &q), &keep) in row.iter_mut().zip(&s.q[..n]).zip(keep) {
                    *r += (-0.5 * q + lin) * keep;
                }
            }
        }
        for lat in &self.latents {
            let Some(o) = lat.observed else { continue };
            for (j, &x) in o[at..at + n].iter().enumerate() {
                if x.is_nan() {
                    continue;
                }
                for c in 0..self.configs {
                    if lat.value[c] as f64 != x {
                        s.ll[c * BLOCK + j] = f64::NEG_INFINITY;
                    }
                }
            }
        }
    }

    /// The log joint's terms of a vector whose rows miss some entries: every row as if
    /// complete, then each row that is not under the marginal of the entries it has (nothing
    /// for a row that has none).
    #[inline(always)]
    fn log_joint_split(
        &self,
        t: &Term<'_>,
        split: &Split<'_>,
        at: usize,
        n: usize,
        s: &mut Scratch,
    ) {
        let dim = t.dim;
        let ids = &split.of_row[at..at + n];
        for c in 0..self.configs {
            t.deviations(c, n, s);
            quadratic(&t.whiten[c * dim * dim..(c + 1) * dim * dim], dim, n, s);
            s.lin[..n].fill(t.log_norm[c]);
            for (j, &id) in ids.iter().enumerate() {
                if Some(id) == split.full {
                    continue;
                }
                let part = &split.parts[id as usize];
                let o = part.seen.len();
                if o == 0 {
                    (s.q[j], s.lin[j]) = (0.0, 0.0);
                    continue;
                }
                // |W·d_s|² with the pattern's whitening, on the stack up to 64 entries.
                let w = &part.whiten[c * o * o..(c + 1) * o * o];
                let mut ds = [0.0; 64];
                for (k, &e) in part.seen.iter().enumerate() {
                    ds[k] = s.d[e * BLOCK + j];
                }
                let mut q = 0.0;
                for a in 0..o {
                    let z: f64 = (0..=a).map(|b| w[a * o + b] * ds[b]).sum();
                    q += z * z;
                }
                (s.q[j], s.lin[j]) = (q, part.log_norm[c]);
            }
            let row = &mut s.ll[c * BLOCK..c * BLOCK + n];
            for ((r, &q), &lin) in row.iter_mut().zip(&s.q[..n]).zip(&s.lin[..n]) {
                *r += -0.5 * q + lin;
            }
        }
    }

    /// Turns the log joints of `n` rows into exponentials relative to each row's largest (kept
    /// in `s.max`); with `out`, writes each row's log evidence there and leaves the sums of
    /// the exponentials in `s.sum` (zeros without).
    #[inline(always)]
    fn normalise(&self, n: usize, out: Option<&mut [f64]>, s: &mut Scratch) {
        s.max[..n].fill(f64::NEG_INFINITY);
        for c in 0..self.configs {
            for (m, &v) in s.max[..n].iter_mut().zip(&s.ll[c * BLOCK..c * BLOCK + n]) {
                // `max`, not a comparison: that becomes a masked store, slow on some processors.
                let old = *m;
                *m = old.max(v);
            }
        }
        s.sum[..n].fill(0.0);
        let sums = out.is_some();
        for c in 0..self.configs {
            let row = &mut s.ll[c * BLOCK..c * BLOCK + n];
            for ((v, &m), sum) in row.iter_mut().zip(&s.max[..n]).zip(&mut s.sum[..n]) {
                // A row every configuration rules out has max −∞; its terms are 0.
                let shift = if m == f64::NEG_INFINITY { 0.0 } else { m };
                *v = vmath::exp(*v - shift);
                if sums {
                    *sum += *v;
                }
            }
        }
        let Some(out) = out else { return };
        for ((o, &m), &sum) in out.iter_mut().zip(&s.max[..n]).zip(&s.sum[..n]) {
            *o = if m == f64::NEG_INFINITY {
                m
            } else {
                m + vmath::ln(sum)
            };
        }
    }

    /// Adds the block's weighted expected statistics to `stats`.
    #[inline(always)]
    fn add_block(&self, at: usize, w: &[f64], ev: &[f64], s: &mut Scratch, stats: &mut Stats) {
        let n = w.len();
        for ((sc, (&wl, &e)), &sum) in s.scale[..n].iter_mut().zip(w.iter().zip(ev)).zip(&s.sum) {
            *sc = if e == f64::NEG_INFINITY {
                0.0
            } else {
                wl / sum
            };
        }
        for c in 0..self.configs {
            for (r, &sc) in s.ll[c * BLOCK..c * BLOCK + n].iter_mut().zip(&s.scale[..n]) {
                *r *= sc;
            }
        }
        self.add_weighted(at, n, s, stats);
    }

    /// Adds the statistics of rows `at..at + n` (loaded in `s`), configuration c of row j
    /// weighted by `s.ll[c · BLOCK + j]`.
    #[inline(always)]
    fn add_weighted(&self, at: usize, n: usize, s: &mut Scratch, stats: &mut Stats) {
        for lat in &self.latents {
            let data = &mut stats.data[lat.var];
            for c in 0..self.configs {
                let r = &s.ll[c * BLOCK..c * BLOCK + n];
                data[lat.entry[c] * lat.k + lat.value[c]] += sum8(r);
            }
        }
        for t in &self.terms {
            let dim = t.dim;
            let width = 1 + dim + dim * dim;
            if let Some(split) = &t.split {
                // Every row's deviations as if complete, then each partial row's hidden
                // entries replaced by their conditional mean's (G·d_s); a row with no entry
                // has no responsibility here. The conditional covariances wait in `s.mass`.
                let ids = &split.of_row[at..at + n];
                for c in 0..self.configs {
                    t.deviations(c, n, s);
                    let r = &s.ll[c * BLOCK..c * BLOCK + n];
                    s.rk[..n].copy_from_slice(r);
                    for (j, &id) in ids.iter().enumerate() {
                        if Some(id) == split.full {
                            continue;
                        }
                        let part = &split.parts[id as usize];
                        let (o, h) = (part.seen.len(), part.hidden.len());
                        if o == 0 {
                            s.rk[j] = 0.0;
                            continue;
                        }
                        let gain = &part.gain[c * h * o..(c + 1) * h * o];
                        for (a, &e) in part.hidden.iter().enumerate() {
                            let g = &gain[a * o..(a + 1) * o];
                            s.d[e * BLOCK + j] = part
                                .seen
                                .iter()
                                .zip(g)
                                .map(|(&i, g)| g * s.d[i * BLOCK + j])
                                .sum();
                        }
                        s.mass[t.slot][id as usize * self.configs + c] += s.rk[j];
                    }
                    let e = t.entry[c];
                    moments(
                        &mut stats.data[t.var][e * width..(e + 1) * width],
                        dim,
                        n,
                        s,
                    );
                }
                continue;
            }
            for c in 0..self.configs {
                t.deviations(c, n, s);
                let into = &mut stats.data[t.var][t.entry[c] * width..(t.entry[c] + 1) * width];
                let r = &s.ll[c * BLOCK..c * BLOCK + n];
                let keep = &s.keep[t.slot * BLOCK..t.slot * BLOCK + n];
                for ((rk, &r), &keep) in s.rk[..n].iter_mut().zip(r).zip(keep) {
                    *rk = r * keep;
                }
                moments(into, dim, n, s);
            }
        }
    }
}

/// `s.q` = |L·d|² for rows `..n` of the deviations in `s.d` (`dim` arrays) and the lower
/// triangle `l` (row-major, dim×dim).
#[inline(always)]
fn quadratic(l: &[f64], dim: usize, n: usize, s: &mut Scratch) {
    s.q[..n].fill(0.0);
    for i in 0..dim {
        s.z[..n].fill(0.0);
        for k in 0..=i {
            let lik = l[i * dim + k];
            let dk = &s.d[k * BLOCK..k * BLOCK + n];
            for (z, &d) in s.z[..n].iter_mut().zip(dk) {
                *z += lik * d;
            }
        }
        for (q, &z) in s.q[..n].iter_mut().zip(&s.z[..n]) {
            *q += z * z;
        }
    }
}

/// Adds `[Σr, Σr·d, Σr·d·dᵀ]` over rows `..n` to `into`, with the responsibilities in `s.rk`
/// and the deviations in `s.d` (`dim` arrays); returns Σr.
#[inline(always)]
fn moments(into: &mut [f64], dim: usize, n: usize, s: &mut Scratch) -> f64 {
    if dim == 1 {
        let [mass, first, second] = vmath::moments8(&s.rk[..n], &s.d[..n]);
        into[0] += mass;
        into[1] += first;
        into[2] += second;
        return mass;
    }
    let mass = sum8(&s.rk[..n]);
    into[0] += mass;
    for i in 0..dim {
        let di = &s.d[i * BLOCK..i * BLOCK + n];
        // r·dᵢ, kept in z for the second moments of row i.
        for ((z, &r), &d) in s.z[..n].iter_mut().zip(&s.rk[..n]).zip(di) {
            *z = r * d;
        }
        into[1 + i] += sum8(&s.z[..n]);
        for k in i..dim {
            let v = dot8(&s.z[..n], &s.d[k * BLOCK..k * BLOCK + n]);
            into[1 + dim + i * dim + k] += v;
            if k != i {
                into[1 + dim + k * dim + i] += v;
            }
        }
    }
    mass
}

impl Term<'_> {
    /// Copies rows `at..at + n` into the term's arrays of `s.x`, with 0 for a missing value,
    /// and sets its `s.keep`.
    #[inline(always)]
    fn load(&self, at: usize, n: usize, s: &mut Scratch) {
        for i in 0..self.dim {
            let x = &mut s.x[(self.col + i) * BLOCK..(self.col + i) * BLOCK + n];
            match self.stride {
                0 => x.fill(self.data[i]),
                1 => x.copy_from_slice(&self.data[at..at + n]),
                stride => {
                    let rows = self.data[at * stride..(at + n) * stride].chunks_exact(stride);
                    for (x, row) in x.iter_mut().zip(rows) {
                        *x = row[i];
                    }
                }
            }
        }
        let first = &s.x[self.col * BLOCK..self.col * BLOCK + n];
        let keep = &mut s.keep[self.slot * BLOCK..self.slot * BLOCK + n];
        for (k, &x) in keep.iter_mut().zip(first) {
            *k = if x.is_nan() { 0.0 } else { 1.0 };
        }
        for x in &mut s.x[self.col * BLOCK..(self.col + self.dim) * BLOCK] {
            *x = if x.is_nan() { 0.0 } else { *x };
        }
    }

    /// `s.d` = the loaded values minus configuration c's mean, per dimension.
    #[inline(always)]
    fn deviations(&self, c: usize, n: usize, s: &mut Scratch) {
        for i in 0..self.dim {
            let m = self.mean[c * self.dim + i];
            let x = &s.x[(self.col + i) * BLOCK..(self.col + i) * BLOCK + n];
            let d = &mut s.d[i * BLOCK..i * BLOCK + n];
            for (d, &x) in d.iter_mut().zip(x) {
                *d = x - m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::cpd::tables;
    use crate::infer::numeric::{rng, uniform};
    use crate::interp::data::sample_rows;

    /// The scalar loop and every vector width the processor has give the same bits: each lane
    /// rounds as a scalar does, and sums keep their eight fixed partial sums.
    #[test]
    fn every_instruction_set_rounds_alike() {
        let text = "model m { param pi : simplex[3] = [0.2, 0.3, 0.5]
            param mu[3] : vector[2] = [[0, 0], [3, 1], [-2, 2]]
            param S[3] : cov[2] = [[[1, 0.3], [0.3, 1]], [[2, 0], [0, 0.5]], [[1, -0.4], [-0.4, 1]]]
            param nu[3] : real = [0, 1, 2]; param sd[3] : positive = [1, 2, 0.5]
            plate rows { z ~ Categorical(pi); x ~ MvNormal(mu[z], S[z]); y ~ Normal(nu[z], sd[z]) } }";
        let program = crate::syntax::parse(text).expect("parses");
        let checked = crate::check::check_program(&program);
        let m = checked.models[0].model.clone().expect("a model");
        let mut d = sample_rows(&m, 1000, &mut rng(3)).expect("samples");
        d.columns.retain(|c| c.name != "z");
        let mut r = rng(4);
        // Missing values of y, and entries of x missing on their own (rows by pattern).
        for c in d
            .columns
            .iter_mut()
            .filter(|c| c.name == "y" || c.name.starts_with("x["))
        {
            if let crate::interp::data::ColumnData::Num(v) = &mut c.data {
                v.iter_mut()
                    .filter(|_| uniform(&mut r) < 0.2)
                    .for_each(|x| *x = crate::array::NA);
            }
        }
        let data = crate::interp::bind::bind(&m, &d, None).expect("binds");
        let cpds = tables(&m).expect("tables");
        let flat = Flat::compile(&m, &cpds, &data.obs).expect("flat");
        assert!(
            flat.terms.iter().any(|t| t.split.is_some()),
            "x is split by pattern"
        );
        let w: Vec<f64> = (0..1000).map(|i| f64::from(i % 5) * 0.5).collect();
        let run = |how: &dyn Fn(&mut [f64], &mut Stats)| {
            let mut out = vec![0.0; 1000];
            let mut stats = Stats::zero(&m, &cpds);
            how(&mut out, &mut stats);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (
                bits(&out),
                stats.data.iter().map(|s| bits(s)).collect::<Vec<_>>(),
            )
        };
        let scalar = run(&|out, s| flat.rows(0, out, Some((&w, s))));
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2.
                let v = run(&|out, s| unsafe { flat.job_avx2(0, Job::Accumulate(out, &w, s)) });
                assert!(v == scalar, "AVX2 differs from the scalar loop");
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the processor has AVX-512 F and DQ.
                let v = run(&|out, s| unsafe { flat.job_avx512(0, Job::Accumulate(out, &w, s)) });
                assert!(v == scalar, "AVX-512 differs from the scalar loop");
            }
        }
    }
}
