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
//! largest before exponentiating, and the messages are rescaled as they go ([`recursion`]), so
//! nothing underflows however long the sequence. Forward messages are kept (O(N·S) memory),
//! the backward ones too, and the work is O(N·S²) per pass. Sequences are independent and run
//! in parallel, each in its own order, so the result does not depend on the thread count.

use super::cpd::{Cpd, Local};
use super::em::estep::{EStep, plate_estep};
use super::engine::{CHUNK, Engine, Observed, chunks, evidence, is_global};
use super::flat::Flat;
use super::stats::{Data, Pool, Stats};
use super::vmath::{self, sum8};
use super::{InferError, TooManyWhat, checked_count, room_for};
use crate::array::unravel;
use crate::model::{Model, Support, VarId};
use rayon::prelude::*;

mod recursion;

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

    /// Where each sequence starts, and the number of rows at the end, when every sequence is
    /// a run of consecutive rows in order.
    pub fn contiguous(&self) -> Option<&[usize]> {
        self.order.is_none().then_some(&self.starts[..])
    }

    /// Whether sequence `s` has no rows.
    fn is_empty_seq(&self, s: usize) -> bool {
        self.starts[s] == self.starts[s + 1]
    }

    /// The first row of sequence `s` (which has rows).
    fn first_row(&self, s: usize) -> usize {
        match &self.order {
            Some(o) => o[self.starts[s]],
            None => self.starts[s],
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
    /// Each state's values of the chained variables (`count × chained`), found once.
    values: Vec<usize>,
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
        Ok(States::over(chained, radix))
    }

    /// No chained variables: one state.
    pub fn empty() -> States {
        States::over(Vec::new(), Vec::new())
    }

    fn over(chained: Vec<VarId>, radix: Vec<usize>) -> States {
        let count = radix.iter().product();
        let values = (0..count).flat_map(|s| unravel(s, &radix)).collect();
        States {
            chained,
            radix,
            count,
            values,
        }
    }

    /// The value of chained variable number `i` in state `s`.
    pub fn value(&self, s: usize, i: usize) -> usize {
        self.values[s * self.chained.len() + i]
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
    /// `first` and `next` as probabilities, and `next` transposed (`to · S + from`): what
    /// the recursions take.
    pi: Vec<f64>,
    a: Vec<f64>,
    at: Vec<f64>,
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
        let pi = first.iter().map(|x| x.exp()).collect();
        let a: Vec<f64> = next.iter().map(|x| x.exp()).collect();
        let at = (0..n * n).map(|i| a[(i % n) * n + i / n]).collect();
        Transitions {
            first,
            next,
            first_entry,
            next_entry,
            pi,
            a,
            at,
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

/// `f::<N, CAP>(args)` for the chain's state count: small counts get their own compiled
/// copy (`N` = S, loops the compiler unrolls and messages it keeps in registers), larger ones
/// the copy for any count up to `CAP`.
macro_rules! by_states {
    ($tr:expr, $f:ident($($arg:expr),*)) => {
        match $tr.first.len() {
            2 => $f::<2, 2>($($arg),*),
            3 => $f::<3, 3>($($arg),*),
            4 => $f::<4, 4>($($arg),*),
            5 => $f::<5, 5>($($arg),*),
            6 => $f::<6, 6>($($arg),*),
            8 => $f::<8, 8>($($arg),*),
            n if n <= 64 => $f::<0, 64>($($arg),*),
            _ => $f::<0, 1024>($($arg),*),
        }
    };
}

/// What the forward–backward recursions found for one sequence.
struct Smoothed {
    loglik: f64,
    /// Expected transition counts, `from · S + to`, each weighted by the later row's weight.
    trans: Vec<f64>,
    /// The rows' statistics, when asked for.
    stats: Option<Stats>,
    /// The first row's posteriors, where they are not kept with the others' (a checkpointed
    /// pass keeps no others).
    first: Option<Vec<f64>>,
}

/// The statistics of a block of rows of a sequence, from the block's first row (counted in
/// the sequence) and its posteriors.
type BlockStats<'a> = &'a (dyn Fn(usize, &[f64]) -> Stats + Sync);

/// The forward–backward recursions over one sequence: `b` holds its rows' scaled emissions in
/// order (`len × S`, each row's emissions over their largest), `shift` the sum of the rows'
/// log largest, `w` the rows' weights. With `gamma` (`len × S`), the transition counts are
/// returned and the forward messages go there, replaced by the posteriors with `keep` (without
/// it, the posteriors of the first row are returned instead); without `gamma`, only the
/// log-likelihood.
#[allow(clippy::too_many_arguments)]
fn smooth(
    b: &[f64],
    shift: f64,
    tr: &Transitions,
    w: Option<&[f64]>,
    gamma: Option<&mut [f64]>,
    stats: Option<BlockStats>,
    keep: bool,
    pool: &Pool,
) -> Smoothed {
    by_states!(tr, smooth_n(b, shift, tr, w, gamma, stats, keep, pool))
}

/// log p(rows) of one sequence whose rows have the flat shape with one configuration a
/// state, nothing of rows × S kept: while one thread runs the forward recursion over a block
/// of rows, the other computes the next block's emissions, and the first joins it when done.
/// `None` where a message falls low (the caller then takes the full path, which normalises
/// row by row and tells an impossible sequence).
fn streamed(
    f: &Flat,
    rows: std::ops::Range<usize>,
    tr: &Transitions,
) -> Result<Option<f64>, InferError> {
    by_states!(tr, streamed_n(f, rows, SEGMENT, tr, None))
}

/// [`streamed`] over rows `range` in blocks of `rows_a_block`; with `checkpoints`, the
/// recursion's state where each block starts goes there.
fn streamed_n<const N: usize, const CAP: usize>(
    f: &Flat,
    range: std::ops::Range<usize>,
    rows_a_block: usize,
    tr: &Transitions,
    mut checkpoints: Option<&mut Vec<recursion::Forward<N, CAP>>>,
) -> Result<Option<f64>, InferError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A piece of a block: the unit the two threads share.
    const PIECE: usize = 1024;
    let n = if N > 0 { N } else { tr.first.len() };
    let (a, pi) = (&tr.a, &tr.pi);
    let rows = range.len();
    let block = |k: usize| k * rows_a_block..((k + 1) * rows_a_block).min(rows);
    let blocks = rows.div_ceil(rows_a_block);
    // A short sequence needs no more than its rows.
    let room = rows_a_block.min(rows);
    let (mut b, mut b_next) = (vec![0.0; room * n], vec![0.0; room * n]);
    let (mut max, mut max_next) = (vec![0.0; room], vec![0.0; room]);
    // The emissions of block k, its pieces taken by whichever thread is free, one of them
    // doing `first` before.
    let emissions = |k: usize, b: &mut [f64], max: &mut [f64], first: &mut (dyn FnMut() + Send)| {
        let r = block(k);
        let pieces: Vec<Mutex<(&mut [f64], &mut [f64])>> = b[..r.len() * n]
            .chunks_mut(PIECE * n)
            .zip(max[..r.len()].chunks_mut(PIECE))
            .map(Mutex::new)
            .collect();
        let taken = AtomicUsize::new(0);
        let work = || {
            loop {
                let i = taken.fetch_add(1, Ordering::Relaxed);
                let Some(piece) = pieces.get(i) else { break };
                let mut piece = piece.lock().unwrap_or_else(|e| e.into_inner());
                let (b, m) = &mut *piece;
                let from = range.start + r.start + i * PIECE;
                f.scaled_into(from..from + m.len(), b, m);
            }
        };
        rayon::join(
            || {
                first();
                work()
            },
            work,
        );
    };
    let mut forward = recursion::Forward::<N, CAP>::new(n);
    let mut shift = 0.0;
    if blocks > 0 {
        emissions(0, &mut b, &mut max, &mut || {});
    }
    for k in 0..blocks {
        let len = block(k).len();
        let mut run = || {
            if let Some(c) = checkpoints.as_deref_mut() {
                c.push(forward.clone());
            }
            forward.rows(&b[..len * n], a, pi, None);
            shift += sum8(&max[..len]);
        };
        if k + 1 < blocks {
            emissions(k + 1, &mut b_next, &mut max_next, &mut run);
        } else {
            run();
        }
        std::mem::swap(&mut b, &mut b_next);
        std::mem::swap(&mut max, &mut max_next);
        if crate::interrupt::requested() {
            return Err(InferError::Interrupted);
        }
    }
    Ok(forward
        .loglik()
        .map(|l| l + shift)
        .filter(|l| l.is_finite()))
}

/// [`smooth`] for `N` states (0: any number up to `CAP`), its messages in arrays of `CAP`
/// on the stack, which a fixed `N` lets the compiler keep in registers.
///
/// The forward and backward recursions ([`recursion`]) are independent and run at once; then
/// the posteriors are taken over blocks of rows in parallel ([`posteriors_in_blocks`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn smooth_n<const N: usize, const CAP: usize>(
    b: &[f64],
    shift: f64,
    tr: &Transitions,
    w: Option<&[f64]>,
    gamma: Option<&mut [f64]>,
    stats: Option<BlockStats>,
    keep: bool,
    pool: &Pool,
) -> Smoothed {
    let n = if N > 0 { N } else { tr.first.len() };
    let len = b.len() / n;
    let impossible = Smoothed {
        loglik: f64::NEG_INFINITY,
        trans: Vec::new(),
        stats: None,
        first: None,
    };
    if shift == f64::NEG_INFINITY || shift.is_nan() || len == 0 {
        return impossible;
    }
    let (a, pi) = (&tr.a, &tr.pi);
    let Some(alpha) = gamma else {
        let loglik = recursion::forward::<N, CAP>(n, b, a, pi, None);
        return Smoothed {
            loglik: loglik.map_or(f64::NEG_INFINITY, |l| l + shift),
            trans: Vec::new(),
            stats: None,
            first: None,
        };
    };
    let mut u = pool.take_any(len * n);
    let (loglik, ()) = rayon::join(
        || recursion::forward::<N, CAP>(n, b, a, pi, Some(&mut *alpha)),
        || recursion::backward::<N, CAP>(n, b, &tr.at, &mut u),
    );
    let Some(loglik) = loglik else {
        pool.give(u);
        return impossible;
    };
    let blocks = posteriors_in_blocks::<N, CAP>(n, tr, alpha, &u, None, 0, w, stats, keep);
    pool.give(u);
    let (trans, stats) = merge_blocks(blocks.parts, a);
    Smoothed {
        loglik: loglik + shift,
        trans,
        stats,
        first: blocks.first,
    }
}

/// Rows a segment of a [`checkpointed`] pass: a whole number of [`BLOCK_ROWS`], so that it and
/// [`smooth`] take the statistics over the same blocks.
const SEGMENT: usize = BLOCK_ROWS * 8;

/// The most bytes a [`checkpointed`] pass over `rows` rows and `n` states holds at once: one
/// segment's emissions, largest, forward messages and u_t, the posteriors of the blocks in
/// work, a checkpoint a segment, and each block's transition sums and statistics (`stats`
/// numbers).
fn checkpointed_bytes(rows: usize, n: usize, segment: usize, stats: usize) -> usize {
    let arrays = segment * (3 * n + 1) + block_buffers(rows.min(segment), n);
    let checkpoints = rows.div_ceil(segment) * (n + 16);
    let blocks = rows.div_ceil(BLOCK_ROWS) * (n * n + stats);
    (arrays + checkpoints + blocks) * std::mem::size_of::<f64>()
}

/// The numbers the blocks of [`posteriors_in_blocks`] in work hold for their posteriors when
/// these are not kept: a block's rows × S on each thread, a block being at most `rows` rows.
fn block_buffers(rows: usize, n: usize) -> usize {
    rayon::current_num_threads() * BLOCK_ROWS.min(rows) * n
}

/// [`smooth`] with statistics for one sequence whose rows × S arrays do not fit in memory,
/// rows `range` in the flat shape with one configuration a state. A first forward pass
/// ([`streamed_n`]) makes the emissions a segment of rows at a time and keeps the recursion's
/// state where each segment starts (a checkpoint). Then, segment by segment from the last, the
/// emissions are made again, the forward messages from the checkpoint and the backward
/// recursion from the segment after run at once, and the posteriors and the statistics are
/// taken. It holds two segments' arrays and the checkpoints, and computes the emissions and
/// the forward recursion twice. Its statistics, transitions and first-row posteriors are
/// [`smooth`]'s bit for bit (the same blocks, merged in the same order; `segment` is a whole
/// number of blocks); its log-likelihood sums the rows' shifts a segment at a time, so it may
/// differ in the last place. `None` where a message falls below the power-of-two form's floor
/// (or the sequence is impossible), where [`smooth`] would normalise row by row.
fn checkpointed(
    f: &Flat,
    range: std::ops::Range<usize>,
    tr: &Transitions,
    w: Option<&[f64]>,
    stats: BlockStats,
    segment: usize,
) -> Result<Option<Smoothed>, InferError> {
    by_states!(tr, checkpointed_n(f, range, tr, w, stats, segment))
}

fn checkpointed_n<const N: usize, const CAP: usize>(
    f: &Flat,
    range: std::ops::Range<usize>,
    tr: &Transitions,
    w: Option<&[f64]>,
    stats: BlockStats,
    segment: usize,
) -> Result<Option<Smoothed>, InferError> {
    let n = if N > 0 { N } else { tr.first.len() };
    let (a, pi) = (&tr.a, &tr.pi);
    let len = range.len();
    let segments = len.div_ceil(segment);
    let rows_of = |k: usize| k * segment..((k + 1) * segment).min(len);
    if len == 0 {
        return Ok(None);
    }
    let room = segment.min(len);
    let (mut b, mut max) = (vec![0.0; room * n], vec![0.0; room]);
    // The first pass: the likelihood, streamed, and a checkpoint a segment.
    let mut checkpoints = Vec::with_capacity(segments);
    let Some(loglik) = streamed_n::<N, CAP>(f, range.clone(), segment, tr, Some(&mut checkpoints))?
    else {
        return Ok(None);
    };
    let (mut alpha, mut u) = (vec![0.0; room * n], vec![0.0; room * n]);
    let mut backward = recursion::Backward::<N, CAP>::new(n);
    let mut parts: Vec<Vec<Part>> = Vec::with_capacity(segments);
    let mut first = None;
    for k in (0..segments).rev() {
        let r = rows_of(k);
        let rl = r.len();
        let rows = range.start + r.start..range.start + r.end;
        scaled_in_parallel(f, rows, &mut b[..rl * n], &mut max[..rl]);
        let mut again = checkpoints[k].clone();
        let before = (k > 0).then(|| again.message().to_vec());
        let bs = &b[..rl * n];
        rayon::join(
            || again.rows(bs, a, pi, Some(&mut alpha[..rl * n])),
            || backward.rows(bs, &tr.at, &mut u[..rl * n], k > 0),
        );
        let blocks = posteriors_in_blocks::<N, CAP>(
            n,
            tr,
            &mut alpha[..rl * n],
            &u[..rl * n],
            before.as_deref(),
            r.start,
            w,
            Some(stats),
            false,
        );
        parts.push(blocks.parts);
        if k == 0 {
            first = blocks.first;
        }
        if crate::interrupt::requested() {
            return Err(InferError::Interrupted);
        }
    }
    if backward.low() {
        return Ok(None);
    }
    let (trans, stats) = merge_blocks(parts.into_iter().rev().flatten(), a);
    Ok(Some(Smoothed {
        loglik,
        trans,
        stats,
        first,
    }))
}

/// The blocks' ξ sums and statistics, in order: the expected transitions (times the
/// transitions' probabilities, `a`) and the statistics merged.
fn merge_blocks(parts: impl IntoIterator<Item = Part>, a: &[f64]) -> (Vec<f64>, Option<Stats>) {
    let mut trans = vec![0.0; a.len()];
    let mut merged: Option<Stats> = None;
    for (o, st) in parts {
        for (x, y) in trans.iter_mut().zip(&o) {
            *x += y;
        }
        match (&mut merged, st) {
            (Some(m), Some(st)) => m.merge(&st),
            (m @ None, st) => *m = st,
            (Some(_), None) => {}
        }
    }
    for (x, a) in trans.iter_mut().zip(a) {
        *x *= a;
    }
    (trans, merged)
}

/// Rows a block of the posterior pass: its blocks run in parallel, each reading the forward
/// message of the row before it.
const BLOCK_ROWS: usize = CHUNK * 4;

/// A block's ξ summed (before the transitions' probabilities are multiplied in) and its
/// statistics.
type Part = (Vec<f64>, Option<Stats>);

/// What [`posteriors_in_blocks`] gives: per block, in order, its [`Part`]; and, where the
/// posteriors are not kept, the run's first row's.
struct Blocks {
    parts: Vec<Part>,
    first: Option<Vec<f64>>,
}

/// ξ and γ over a run of a sequence's rows, in blocks of [`BLOCK_ROWS`] in parallel: `alpha`
/// holds the rows' forward messages, and with `keep` gets their posteriors; `u` holds the
/// backward recursion's u_t; `before` is the forward message of the row before the run (none
/// at the sequence's start, whose first row is weighed by the first-row probabilities
/// `tr.pi`), `first` the run's first row counted in the sequence, `w` the sequence's weights.
/// With p_t = m_{t−1} A (or π): γ_t = p_t ∘ u_t over its sum c_t, and
/// ξ_{t−1} = m_{t−1} ⊗ u_t ∘ A over c_t. Without `keep`, the posteriors of a block stay in a
/// buffer of the block's (for `stats`), and the forward messages are only read.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn posteriors_in_blocks<const N: usize, const CAP: usize>(
    n: usize,
    tr: &Transitions,
    alpha: &mut [f64],
    u: &[f64],
    before: Option<&[f64]>,
    first: usize,
    w: Option<&[f64]>,
    stats: Option<BlockStats>,
    keep: bool,
) -> Blocks {
    let n = if N > 0 { N } else { n };
    let block = BLOCK_ROWS;
    let (a, pi) = (&tr.a[..], &tr.pi[..]);
    let rows = alpha.len() / n;
    // A block's first row needs the forward message of the row before it, which the block
    // before turns into γ when kept, so those are set aside first.
    let edges: Vec<f64> = (block..rows)
        .step_by(block)
        .flat_map(|t| alpha[(t - 1) * n..t * n].iter().copied())
        .collect();
    // The blocks' posteriors when not kept: a buffer a thread at work, reused.
    let spare = std::sync::Mutex::new(Vec::<Vec<f64>>::new());
    let parts: Vec<(Part, Option<Vec<f64>>)> = alpha
        .par_chunks_mut(block * n)
        .zip(u.par_chunks(block * n))
        .enumerate()
        .map(|(i, (ga, us))| {
            let prev = match i {
                0 => before,
                _ => Some(&edges[(i - 1) * n..i * n]),
            };
            let t0 = first + i * block;
            let mut outer = vec![0.0; n * n];
            let rows = ga.len() / n;
            let wb = w.map(|w| &w[t0..t0 + rows]);
            let mut own = (!keep).then(|| {
                let taken = spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let mut buf = taken.unwrap_or_default();
                buf.resize(ga.len(), 0.0);
                buf
            });
            let out = own.as_deref_mut();
            let block = Block {
                a,
                pi,
                prev,
                ga,
                us,
                out,
                w: wb,
                outer: &mut outer,
            };
            block_posteriors::<N, CAP>(n, block);
            let gamma = own.as_deref().unwrap_or(ga);
            let head = own.as_ref().filter(|_| i == 0).map(|g| g[..n].to_vec());
            let st = stats.map(|f| f(t0, gamma));
            if let Some(own) = own {
                spare.lock().unwrap_or_else(|e| e.into_inner()).push(own);
            }
            ((outer, st), head)
        })
        .collect();
    let first = parts.first().and_then(|p| p.1.clone());
    let parts = parts.into_iter().map(|(part, _)| part).collect();
    Blocks { parts, first }
}

/// One block of [`posteriors_in_blocks`].
struct Block<'a> {
    /// The transitions (`from · S + to`) and the first row's probabilities.
    a: &'a [f64],
    pi: &'a [f64],
    /// The forward message of the row before the block (none at the sequence's start).
    prev: Option<&'a [f64]>,
    /// The rows' forward messages, which become their posteriors without `out`.
    ga: &'a mut [f64],
    /// The rows' u_t.
    us: &'a [f64],
    /// Where the posteriors go, if not in place.
    out: Option<&'a mut [f64]>,
    /// The rows' weights.
    w: Option<&'a [f64]>,
    /// The block's ξ, added to.
    outer: &'a mut [f64],
}

/// The posteriors and ξ of one [`Block`], with the widest vector instructions the processor
/// has: the loops round as scalar code does (no fused multiply-add, the same order), so the
/// choice changes the speed only.
fn block_posteriors<const N: usize, const CAP: usize>(n: usize, block: Block) {
    match vmath::widest() {
        // SAFETY: `widest` found AVX-512 F and DQ on this processor.
        #[cfg(target_arch = "x86_64")]
        vmath::Simd::Avx512 => unsafe { block_posteriors_avx512::<N, CAP>(n, block) },
        // SAFETY: `widest` found AVX2 on this processor.
        #[cfg(target_arch = "x86_64")]
        vmath::Simd::Avx2 => unsafe { block_posteriors_avx2::<N, CAP>(n, block) },
        _ => block_posteriors_any::<N, CAP>(n, block),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn block_posteriors_avx512<const N: usize, const CAP: usize>(n: usize, block: Block) {
    block_posteriors_any::<N, CAP>(n, block)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_posteriors_avx2<const N: usize, const CAP: usize>(n: usize, block: Block) {
    block_posteriors_any::<N, CAP>(n, block)
}

/// [`block_posteriors`] for any processor.
#[inline(always)]
fn block_posteriors_any<const N: usize, const CAP: usize>(n: usize, block: Block) {
    let Block {
        a,
        pi,
        prev,
        ga,
        us,
        mut out,
        w,
        outer,
    } = block;
    let n = if N > 0 { N } else { n };
    let (mut last, mut p, mut bb) = ([0.0f64; CAP], [0.0f64; CAP], [0.0f64; CAP]);
    // For a fixed `N`, the block's ξ in registers (`outer` starts at zero, so the sums are
    // the same).
    let mut acc = [[0.0f64; N]; N];
    let mut has_last = prev.is_some();
    if let Some(m) = prev {
        last[..n].copy_from_slice(m);
    }
    for (j, ut) in us.chunks_exact(n).enumerate() {
        if has_last {
            recursion::times::<N>(n, &last, a, &mut p);
        } else {
            p[..n].copy_from_slice(pi);
        }
        let mut total = 0.0;
        for s in 0..n {
            p[s] *= ut[s];
            total += p[s];
        }
        let inv = 1.0 / total;
        if has_last {
            let k = w.map_or(1.0, |w| w[j]) * inv;
            for s in 0..n {
                bb[s] = ut[s] * k;
            }
            for from in 0..n {
                let l = last[from];
                if N > 0 {
                    for to in 0..N {
                        acc[from][to] += l * bb[to];
                    }
                } else {
                    let o = &mut outer[from * n..from * n + n];
                    for to in 0..n {
                        o[to] += l * bb[to];
                    }
                }
            }
        }
        last[..n].copy_from_slice(&ga[j * n..j * n + n]);
        has_last = true;
        let gt = match out.as_deref_mut() {
            Some(o) => &mut o[j * n..j * n + n],
            None => &mut ga[j * n..j * n + n],
        };
        for s in 0..n {
            gt[s] = p[s] * inv;
        }
    }
    for (o, row) in outer.chunks_exact_mut(N.max(1)).zip(&acc) {
        for (o, x) in o.iter_mut().zip(row) {
            *o += x;
        }
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
pub fn pass(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    seqs: &Sequences,
    weights: Option<&[f64]>,
    want: bool,
) -> Result<(States, Transitions, Pass), InferError> {
    let pool = Pool::default();
    let (st, tr, _, pass) = run(model, cpds, obs, seqs, weights, want, false, true, &pool)?;
    Ok((st, tr, pass))
}

/// The flat fast path over a chain's rows: the rows' joint configurations, each with its
/// chain state.
struct FlatRows<'a> {
    flat: Flat<'a>,
    /// Per configuration, its state.
    group: Vec<usize>,
    /// Whether configuration s is state s (no other latent in the rows).
    identity: bool,
}

/// Every row's emissions over its largest (`rows × S`), and the largest's log per row.
struct Scaled {
    b: Vec<f64>,
    max: Vec<f64>,
    /// Per row and configuration, its share of its state's emission (`rows × configs`),
    /// when a state has several configurations.
    share: Option<Vec<f64>>,
}

impl<'a> FlatRows<'a> {
    /// The fast path, when the rows have the flat shape and every chained variable is
    /// enumerated there.
    fn new(
        model: &Model,
        neutral: &'a [Cpd],
        obs: &'a [Option<Observed>],
        st: &States,
    ) -> Option<FlatRows<'a>> {
        let flat = Flat::compile(model, neutral, obs)?;
        let mut group = vec![0usize; flat.configs()];
        for (&v, &k) in st.chained.iter().zip(&st.radix) {
            let values = flat.values_of(v)?;
            for (g, &x) in group.iter_mut().zip(values) {
                *g = *g * k + x;
            }
        }
        let identity = group.len() == st.count && group.iter().enumerate().all(|(i, &g)| i == g);
        Some(FlatRows {
            flat,
            group,
            identity,
        })
    }

    /// Every row's scaled emissions: its configurations' joints over the largest, those of a
    /// state summed.
    fn scaled(&self, rows: usize, states: usize, pool: &Pool) -> Scaled {
        let c = self.flat.configs();
        let mut joint = pool.take_any(rows * c);
        let mut max = pool.take_any(rows);
        scaled_in_parallel(&self.flat, 0..rows, &mut joint, &mut max);
        if self.identity {
            return Scaled {
                b: joint,
                max,
                share: None,
            };
        }
        let mut b = pool.take(rows * states);
        for (bt, jt) in b.chunks_exact_mut(states).zip(joint.chunks_exact_mut(c)) {
            for (&x, &g) in jt.iter().zip(&self.group) {
                bt[g] += x;
            }
            for (x, &g) in jt.iter_mut().zip(&self.group) {
                *x = if bt[g] > 0.0 { *x / bt[g] } else { 0.0 };
            }
        }
        Scaled {
            b,
            max,
            share: Some(joint),
        }
    }
}

/// [`Flat::scaled_into`] over rows `range` in chunks of [`CHUNK`] rows on every core: each
/// row's configurations' joints over the largest into `b`, the largest into `max`.
fn scaled_in_parallel(f: &Flat, range: std::ops::Range<usize>, b: &mut [f64], max: &mut [f64]) {
    let c = f.configs();
    b.par_chunks_mut(CHUNK * c)
        .zip(max.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(i, (b, m))| {
            let from = range.start + i * CHUNK;
            f.scaled_into(from..from + m.len(), b, m);
        });
}

impl Scaled {
    /// Returns the buffers to `pool`.
    fn give_to(self, pool: &Pool) {
        pool.give(self.b);
        pool.give(self.max);
        if let Some(s) = self.share {
            pool.give(s);
        }
    }
}

/// Emissions in log space (`rows × S`) as [`Scaled`].
fn scale(e: Vec<f64>, n: usize) -> Scaled {
    let mut b = e;
    let max: Vec<f64> = b
        .chunks_exact_mut(n)
        .map(|row| {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let shift = if m == f64::NEG_INFINITY { 0.0 } else { m };
            for x in row.iter_mut() {
                *x = (*x - shift).exp();
            }
            m
        })
        .collect();
    Scaled {
        b,
        max,
        share: None,
    }
}

/// The most bytes [`run`]'s pass over `rows` rows and `n` states holds at once, checked
/// before it allocates any: the emissions (with the rows' configurations as well, where a
/// state has several) and their largest, the forward messages (then posteriors) when wanted
/// and the blocks' posteriors, each sequence's u_t, and for interleaved sequences the gathered
/// copies.
fn pass_bytes(
    rows: usize,
    n: usize,
    fast: Option<&FlatRows>,
    gamma: bool,
    interleaved: bool,
) -> usize {
    let configs = fast.filter(|f| !f.identity).map_or(0, |f| f.flat.configs());
    let emissions = n + 1 + configs;
    let posteriors = if gamma { n } else { 0 };
    let backward = n;
    let gathered = if interleaved { 2 * n } else { 0 };
    let per_row = emissions + posteriors + backward + gathered;
    rows.saturating_mul(per_row)
        .saturating_add(if gamma { block_buffers(rows, n) } else { 0 })
        .saturating_mul(std::mem::size_of::<f64>())
}

/// The forward–backward pass, and with `want_stats` the E-step's statistics of the rows'
/// variables (each configuration weighted by its state's posterior); through the flat fast
/// path where the rows have its shape and `use_flat` allows it.
#[allow(clippy::too_many_arguments)]
fn run(
    model: &Model,
    cpds: &[Cpd],
    obs: &[Option<Observed>],
    seqs: &Sequences,
    weights: Option<&[f64]>,
    want: bool,
    want_stats: bool,
    use_flat: bool,
    pool: &Pool,
) -> Result<(States, Transitions, Option<Stats>, Pass), InferError> {
    check(model, obs)?;
    let st = States::of(model)?;
    let tr = Transitions::of(model, cpds, obs, &st);
    let neutral = neutral(cpds, &st);
    let rows = seqs.len();
    let n = st.count;
    let fast = FlatRows::new(model, &neutral, obs, &st).filter(|_| use_flat);
    let interleaved = seqs.contiguous().is_none();
    let need = pass_bytes(rows, n, fast.as_ref(), want || want_stats, interleaved);
    // The likelihood alone of sequences of consecutive rows in the flat shape can be streamed,
    // and a fit's E-step over them checkpointed: nothing of rows × S kept.
    let flat_runs = fast.as_ref().is_some_and(|f| f.identity) && !want && !interleaved;
    let long = match room_for("the forward-backward pass", rows, need, pool.held()) {
        Ok(()) => None,
        Err(e) if flat_runs => {
            let numbers = Stats::zero(model, cpds).data.iter().map(Vec::len).sum();
            let need = checkpointed_bytes(rows, n, SEGMENT, numbers);
            room_for("the forward-backward pass", rows, need, 0)?;
            Some(e)
        }
        Err(e) => return Err(e),
    };
    // The likelihood alone: one sequence always streamed, several when they do not fit, each
    // in turn. A message below the floor needs the full pass's normalisation.
    if let (Some(f), Some(bounds)) = (fast.as_ref(), seqs.contiguous())
        && flat_runs
        && !want_stats
        && (seqs.count() == 1 || long.is_some())
    {
        let mut loglik = Some(0.0);
        for k in 0..seqs.count() {
            let Some(sum) = loglik else { break };
            loglik = streamed(&f.flat, bounds[k]..bounds[k + 1], &tr)?.map(|l| sum + l);
        }
        match (loglik, &long) {
            (Some(loglik), _) => {
                let pass = Pass {
                    loglik: loglik + Engine::over(model, &neutral, obs, 0..0).run()?.global[0],
                    gamma: Vec::new(),
                    trans: vec![0.0; n * n],
                    first: vec![0.0; n],
                    impossible: None,
                };
                return Ok((st, tr, None, pass));
            }
            (None, Some(full)) => return Err(full.clone()),
            (None, None) => {}
        }
    }
    let (global, sc) = match &fast {
        Some(f) => (
            Engine::over(model, &neutral, obs, 0..0).run()?.global[0],
            long.is_none().then(|| f.scaled(rows, n, pool)),
        ),
        None => {
            let (g, e) = emissions(model, cpds, obs, rows, &st)?;
            (g, Some(scale(e, n)))
        }
    };
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    let asked = want;
    let want = want || want_stats;
    let mut out = Pass {
        loglik: global,
        gamma: if want && long.is_none() {
            pool.take_any(rows * n)
        } else {
            Vec::new()
        },
        trans: vec![0.0; n * n],
        first: vec![0.0; n],
        impossible: None,
    };
    // The statistics of rows `range` in the flat shape from their posteriors `gamma`: each
    // configuration's weight in its row is its state's posterior times its share of the
    // state's emission, times the row's weight.
    let flat_stats = |f: &FlatRows, range: std::ops::Range<usize>, gamma: &[f64]| {
        let mut s = Stats::zero(model, cpds);
        if f.identity && weights.is_none() {
            f.flat.accumulate_given(range, gamma, &mut s);
            return s;
        }
        let share = sc.as_ref().and_then(|sc| sc.share.as_deref());
        let (c, group) = (f.flat.configs(), &f.group);
        let mut r = vec![0.0; range.len() * c];
        for (j, row) in range.clone().enumerate() {
            let wt = weights.map_or(1.0, |w| w[row]);
            for q in 0..c {
                let part = share.map_or(1.0, |sh| sh[row * c + q]);
                r[j * c + q] = wt * gamma[j * n + group[q]] * part;
            }
        }
        f.flat.accumulate_given(range, &r, &mut s);
        s
    };
    // Where the sequences are runs of rows, with the posteriors as they come.
    let fused = (want_stats && seqs.contiguous().is_some())
        .then_some(fast.as_ref())
        .flatten();
    // The posteriors stay in `out.gamma` when asked for or needed for the statistics after;
    // otherwise it holds the forward messages, and each block's posteriors stay in the block.
    let keep = asked || fused.is_none();
    let parts: Vec<Smoothed> = match (seqs.contiguous(), &long, &sc) {
        // Too long to hold: each sequence checkpointed, one after the other (each uses every
        // core).
        (Some(bounds), Some(full), _) => {
            let f = fused.expect("a checkpointed pass is a fit's over flat rows");
            let mut parts = Vec::with_capacity(seqs.count());
            for k in 0..seqs.count() {
                let r = bounds[k]..bounds[k + 1];
                let w = weights.map(|w| &w[r.clone()]);
                let block = |first: usize, gamma: &[f64]| {
                    let from = r.start + first;
                    flat_stats(f, from..from + gamma.len() / n, gamma)
                };
                // Messages that fall below the floor need the full pass's normalisation.
                let sm = checkpointed(&f.flat, r.clone(), &tr, w, &block, SEGMENT)?
                    .ok_or_else(|| full.clone())?;
                parts.push(sm);
            }
            parts
        }
        // One sequence, or sequences of consecutive rows: each writes its own rows.
        (Some(bounds), None, Some(sc)) => {
            let mut gammas: Vec<Option<&mut [f64]>> = Vec::with_capacity(seqs.count());
            let mut rest: &mut [f64] = &mut out.gamma;
            for k in 0..seqs.count() {
                let len = (bounds[k + 1] - bounds[k]) * n;
                let (g, r) = rest.split_at_mut(if want { len } else { 0 });
                gammas.push(want.then_some(g));
                rest = r;
            }
            gammas
                .into_par_iter()
                .enumerate()
                .map(|(k, g)| {
                    let r = bounds[k]..bounds[k + 1];
                    let w = weights.map(|w| &w[r.clone()]);
                    let shift = sum8(&sc.max[r.clone()]);
                    let block = |first: usize, gamma: &[f64]| {
                        let from = r.start + first;
                        flat_stats(fused.expect("fused"), from..from + gamma.len() / n, gamma)
                    };
                    let on_block = fused.is_some().then_some(&block as BlockStats);
                    smooth(
                        &sc.b[r.start * n..r.end * n],
                        shift,
                        &tr,
                        w,
                        g,
                        on_block,
                        keep,
                        pool,
                    )
                })
                .collect()
        }
        // Interleaved sequences: gathered, then scattered back.
        (None, None, Some(sc)) => {
            let parts: Vec<(Vec<usize>, Vec<f64>, Smoothed)> = (0..seqs.count())
                .into_par_iter()
                .map(|k| {
                    let rows = seqs.rows(k);
                    let bs: Vec<f64> = rows
                        .iter()
                        .flat_map(|&r| sc.b[r * n..(r + 1) * n].iter().copied())
                        .collect();
                    let shift: f64 = rows.iter().map(|&r| sc.max[r]).sum();
                    let ws: Option<Vec<f64>> =
                        weights.map(|w| rows.iter().map(|&r| w[r]).collect());
                    let mut g = vec![0.0; if want { rows.len() * n } else { 0 }];
                    let sm = smooth(
                        &bs,
                        shift,
                        &tr,
                        ws.as_deref(),
                        want.then_some(&mut g[..]),
                        None,
                        true,
                        pool,
                    );
                    (rows, g, sm)
                })
                .collect();
            parts
                .into_iter()
                .map(|(rows, g, sm)| {
                    if want && sm.loglik > f64::NEG_INFINITY {
                        for (i, &r) in rows.iter().enumerate() {
                            out.gamma[r * n..(r + 1) * n].copy_from_slice(&g[i * n..(i + 1) * n]);
                        }
                    }
                    sm
                })
                .collect()
        }
        (_, Some(_), _) => unreachable!("checkpointed only over consecutive rows"),
        (_, None, None) => unreachable!("the emissions are made unless checkpointed"),
    };
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    let mut stats = Stats::zero(model, cpds);
    for (k, sm) in parts.into_iter().enumerate() {
        if let Some(s) = &sm.stats {
            stats.merge(s);
        }
        out.loglik += sm.loglik;
        if sm.loglik == f64::NEG_INFINITY {
            out.impossible.get_or_insert(k);
            continue;
        }
        if !want || seqs.is_empty_seq(k) {
            continue;
        }
        let r0 = seqs.first_row(k);
        let w0 = weights.map_or(1.0, |w| w[r0]);
        let g0 = match &sm.first {
            Some(g) => g,
            None => &out.gamma[r0 * n..(r0 + 1) * n],
        };
        for (f, &g) in out.first.iter_mut().zip(g0) {
            *f += w0 * g;
        }
        for (x, y) in out.trans.iter_mut().zip(&sm.trans) {
            *x += y;
        }
    }
    if !keep {
        pool.give(std::mem::take(&mut out.gamma));
    }
    if !want_stats || out.impossible.is_some() {
        if let Some(sc) = sc {
            sc.give_to(pool);
        }
        return Ok((st, tr, None, out));
    }
    match &fast {
        Some(_) if fused.is_some() => {}
        Some(f) => {
            let gamma = &out.gamma;
            let parts: Vec<Stats> = chunks(rows)
                .par_iter()
                .map(|range| flat_stats(f, range.clone(), &gamma[range.start * n..range.end * n]))
                .collect();
            for s in &parts {
                stats.merge(s);
            }
        }
        None => {
            for s in 0..n {
                let w: Vec<f64> = (0..rows)
                    .map(|r| out.gamma[r * n + s] * weights.map_or(1.0, |w| w[r]))
                    .collect();
                if w.iter().all(|&x| x == 0.0) {
                    continue;
                }
                let part = Data::new(clamped(obs, &st, s), rows, Some(w));
                if let Some(one) = plate_estep(model, &neutral, &part, true)?.stats {
                    stats.merge(&one);
                }
            }
        }
    }
    if let Some(sc) = sc {
        sc.give_to(pool);
    }
    if crate::interrupt::requested() {
        return Err(InferError::Interrupted);
    }
    // What lies outside the chain counts once, and the chained variables' tables come from
    // the expected first states and transitions.
    for (v, d) in stats.data.iter_mut().enumerate() {
        if is_global(model, v) || st.chained.contains(&v) {
            d.fill(0.0);
        }
    }
    Engine::over(model, cpds, obs, 0..0).accumulate_global(0, 1.0, &mut stats)?;
    let m = st.chained.len();
    for (i, &v) in st.chained.iter().enumerate() {
        let k = stats.width[v];
        for s in 0..n {
            let e = tr.first_entry[s * m + i];
            stats.data[v][e * k + st.value(s, i)] += out.first[s];
        }
        for from in 0..n {
            for to in 0..n {
                let e = tr.next_entry[(from * n + to) * m + i];
                stats.data[v][e * k + st.value(to, i)] += out.trans[from * n + to];
            }
        }
    }
    Ok((st, tr, Some(stats), out))
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
    let (_, _, stats, pass) = run(
        model,
        cpds,
        &data.obs,
        seqs,
        data.row_weights(),
        false,
        want_stats,
        true,
        &data.pool,
    )?;
    let impossible_row = pass.impossible.map(|k| seqs.rows(k)[0]);
    data.pool.give(pass.gamma);
    Ok(EStep {
        loglik: pass.loglik,
        stats,
        impossible_row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::cpd::tables;

    /// A three-state chain of Normals in which state 0 never follows state 2.
    fn three_states() -> (Model, Vec<Cpd>) {
        let text = "model m {
            param start : simplex[3] = [0.5, 0.3, 0.2]
            param A[3] : simplex[3] = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]]
            param mu[3] : real = [-2, 0, 2.5]
            param sd[3] : positive = [1, 0.5, 1.5]
            chain t {
                z ~ Categorical(start) then Categorical(A[prev(z)])
                x ~ Normal(mu[z], sd[z])
            }
        }";
        let program = crate::syntax::parse(text).expect("parses");
        let checked = crate::check::check_program(&program);
        let m = checked.models[0].model.clone().expect("lowers");
        let cpds = tables(&m).expect("tables");
        (m, cpds)
    }

    /// Numbers in [0, 10) from a small generator (xorshift).
    fn noise() -> impl FnMut() -> f64 {
        let mut u = 88172645463325252u64;
        move || {
            u ^= u << 13;
            u ^= u >> 7;
            u ^= u << 17;
            (u % 10_000) as f64 / 1000.0
        }
    }

    /// The likelihood alone of one long sequence (streamed, in blocks, nothing of rows × S
    /// kept) equals the one of the full pass; rows no path explains give −∞ either way.
    #[test]
    fn streamed_equals_the_full_pass() {
        let (m, cpds) = three_states();
        // Three blocks and a part of one.
        let rows = 150_001;
        let mut next = noise();
        let x: Vec<f64> = (0..rows).map(|_| next() - 5.0).collect();
        let mut obs: Vec<Option<Observed>> = vec![None; m.vars.len()];
        obs[m.var_id("x").expect("x")] = Some(Observed::new(x, rows));
        let seqs = Sequences::one(rows);
        let pool = Pool::default();
        let go = |obs: &[Option<Observed>], want: bool| {
            run(&m, &cpds, obs, &seqs, None, want, false, true, &pool)
                .expect("runs")
                .3
        };
        let (streamed, full) = (go(&obs, false), go(&obs, true));
        assert!(streamed.gamma.is_empty(), "nothing of rows × S kept");
        let rel = (streamed.loglik - full.loglik).abs() / full.loglik.abs();
        assert!(rel < 1e-12, "{} vs {}", streamed.loglik, full.loglik);
        // State 0 never follows state 2: rows labelled so are impossible.
        let mut z = vec![f64::NAN; rows];
        (z[70_000], z[70_001]) = (2.0, 0.0);
        obs[m.var_id("z").expect("z")] = Some(Observed::new(z, rows));
        for want in [false, true] {
            let pass = go(&obs, want);
            assert_eq!(pass.loglik, f64::NEG_INFINITY);
            assert_eq!(pass.impossible, Some(0));
        }
    }

    /// A checkpointed pass (a segment of rows at a time, the forward recursion made again
    /// from its checkpoints) gives the full pass's transitions, statistics and first-row
    /// posteriors bit for bit, with weights, over segments that do and do not divide the rows;
    /// so does the full pass that keeps each block's posteriors in the block.
    #[test]
    fn checkpointed_equals_the_full_pass() {
        let (m, cpds) = three_states();
        let rows = 50_001;
        let mut next = noise();
        let x: Vec<f64> = (0..rows).map(|_| next() - 5.0).collect();
        let w: Vec<f64> = (0..rows).map(|_| next() / 5.0).collect();
        let mut obs: Vec<Option<Observed>> = vec![None; m.vars.len()];
        obs[m.var_id("x").expect("x")] = Some(Observed::new(x, rows));
        let st = States::of(&m).expect("states");
        let tr = Transitions::of(&m, &cpds, &obs, &st);
        let neutral = neutral(&cpds, &st);
        let f = FlatRows::new(&m, &neutral, &obs, &st).expect("flat");
        let n = st.count;
        let pool = Pool::default();
        let sc = f.scaled(rows, n, &pool);
        let block = |first: usize, gamma: &[f64]| {
            let mut s = Stats::zero(&m, &cpds);
            f.flat
                .accumulate_given(first..first + gamma.len() / n, gamma, &mut s);
            s
        };
        let mut gamma = vec![0.0; rows * n];
        let go = |gamma: &mut [f64], keep: bool| {
            let s = sum8(&sc.max);
            smooth(
                &sc.b,
                s,
                &tr,
                Some(&w),
                Some(gamma),
                Some(&block),
                keep,
                &pool,
            )
        };
        let full = go(&mut gamma, true);
        let full_stats = full.stats.expect("statistics");
        let unkept = go(&mut vec![0.0; rows * n], false);
        assert_eq!(unkept.trans, full.trans);
        assert_eq!(unkept.stats.expect("statistics").data, full_stats.data);
        assert_eq!(unkept.first.as_deref(), Some(&gamma[..n]));
        assert_eq!(unkept.loglik, full.loglik);
        for segment in [CHUNK * 4, CHUNK * 4 * 3, rows.next_multiple_of(CHUNK * 4)] {
            let cp = checkpointed(&f.flat, 0..rows, &tr, Some(&w), &block, segment)
                .expect("runs")
                .expect("no message falls low");
            assert_eq!(cp.trans, full.trans, "segment {segment}");
            assert_eq!(cp.stats.expect("statistics").data, full_stats.data);
            assert_eq!(cp.first.as_deref(), Some(&gamma[..n]));
            let rel = (cp.loglik - full.loglik).abs() / full.loglik.abs();
            assert!(rel < 1e-13, "{} vs {}", cp.loglik, full.loglik);
        }
    }

    /// The flat fast path and the engine (once per state) give the same likelihood, posteriors
    /// and statistics: two chained latents, a row latent, a discrete observation, missing
    /// cells, labelled rows, weights and interleaved sequences.
    #[test]
    fn fast_path_equals_the_engine() {
        let text = "model m {
            param start : simplex[2] = [0.6, 0.4]
            param A[2] : simplex[2] = [[0.8, 0.2], [0.3, 0.7]]
            param B[2] : simplex[2] = [[0.7, 0.3], [0.2, 0.8]]
            param C[2, 2] : simplex[2] = [[[0.9, 0.1], [0.4, 0.6]], [[0.5, 0.5], [0.1, 0.9]]]
            param w[2] : simplex[2] = [[0.3, 0.7], [0.6, 0.4]]
            param q[2] : prob = [0.2, 0.9]
            param mu[2, 2] : real = [[-1.0, 0.5], [1.5, 3.0]]
            param sd[2, 2] : positive = [[1.0, 0.7], [0.8, 1.2]]
            chain t {
                z ~ Categorical(start) then Categorical(A[prev(z)])
                u ~ Categorical(B[z]) then Categorical(C[prev(u), z])
                c ~ Categorical(w[z])
                y ~ Bernoulli(q[u])
                x ~ Normal(mu[z, c], sd[z, c])
            }
        }";
        let program = crate::syntax::parse(text).expect("parses");
        let checked = crate::check::check_program(&program);
        let m = checked.models[0].model.clone().expect("lowers");
        let cpds = tables(&m).expect("tables");
        let nan = f64::NAN;
        let z = [nan, nan, 1.0, nan, nan, 0.0, nan, nan, nan, 1.0];
        let y = [1.0, 0.0, nan, 1.0, 0.0, 1.0, nan, 0.0, 1.0, 1.0];
        let x = [-0.8, 0.2, 2.4, nan, 0.9, -1.2, 1.7, 0.4, 2.8, 2.2];
        let mut obs: Vec<Option<Observed>> = vec![None; m.vars.len()];
        for (name, values) in [("z", &z), ("y", &y), ("x", &x)] {
            obs[m.var_id(name).expect("var")] = Some(Observed::new(values.to_vec(), 10));
        }
        let st = States::of(&m).expect("states");
        let n = neutral(&cpds, &st);
        assert!(
            FlatRows::new(&m, &n, &obs, &st).is_some_and(|f| !f.identity),
            "the rows take the fast path, several configurations to a state"
        );
        let weights = [1.0, 2.0, 0.5, 1.0, 1.0, 1.5, 1.0, 0.25, 1.0, 3.0];
        let pool = Pool::default();
        // Interleaved sequences, and runs of rows (whose statistics come with the posteriors).
        for keys in [
            [1, 1, 2, 1, 2, 2, 1, 2, 1, 1],
            [1, 1, 1, 1, 1, 1, 2, 2, 2, 2],
        ] {
            same_both_ways(&m, &cpds, &obs, &Sequences::by_keys(&keys), &weights, &pool);
        }
    }

    /// The fast path and the engine agree on the data of the test above, split into `seqs`.
    fn same_both_ways(
        m: &Model,
        cpds: &[Cpd],
        obs: &[Option<Observed>],
        seqs: &Sequences,
        weights: &[f64],
        pool: &Pool,
    ) {
        let go = |flat: bool| {
            run(m, cpds, obs, seqs, Some(weights), true, true, flat, pool).expect("runs")
        };
        let ((_, _, fast_stats, fast), (_, _, slow_stats, slow)) = (go(true), go(false));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0);
        assert!(
            close(fast.loglik, slow.loglik),
            "{} vs {}",
            fast.loglik,
            slow.loglik
        );
        for (a, b) in fast.gamma.iter().zip(&slow.gamma) {
            assert!(close(*a, *b), "posterior {a} vs {b}");
        }
        let (fs, ss) = (fast_stats.expect("stats"), slow_stats.expect("stats"));
        for (v, (a, b)) in fs.data.iter().zip(&ss.data).enumerate() {
            for (p, q) in a.iter().zip(b) {
                assert!(
                    close(*p, *q),
                    "statistics of {}: {p} vs {q}",
                    m.vars[v].name
                );
            }
        }
    }
}
