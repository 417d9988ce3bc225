//! What inference over a data set reads and writes: the observations of every variable over
//! its rows, with row weights (`Data`), and the expected sufficient statistics of every
//! conditional-table entry (`Stats`), which the engine and the fast path fill and EM's M-step
//! reads.
//!
//! Continuous statistics are centred on the entry's current mean (`Σ r·(x − μ)`,
//! `Σ r·(x − μ)²`): near convergence the mean moves little, so the variance update subtracts
//! small numbers instead of two huge ones, and stays accurate for data far from zero.

use crate::infer::cpd::{Cpd, Local};
use crate::infer::engine::{Observed, chunks};
use crate::model::{Model, Support, VarId};

/// Per variable, per table entry: expected counts of each value (discrete variables), or
/// `[Σr, Σr·d, Σr·d²]` with `d = x − mean` (Normal), or `[Σr, Σr·d (D), Σr·d·dᵀ (D×D)]`
/// (MvNormal).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Numbers per entry, per variable.
    pub width: Vec<usize>,
    /// Per variable, whether it is continuous (its first number is `Σr`).
    pub continuous: Vec<bool>,
    /// `entries × width` numbers per variable.
    pub data: Vec<Vec<f64>>,
}

impl Stats {
    /// Zero statistics for every entry of every table.
    pub fn zero(model: &Model, cpds: &[Cpd]) -> Stats {
        let width: Vec<usize> = model
            .vars
            .iter()
            .map(|v| match v.support {
                Support::Discrete(k) => k,
                Support::Real => 3,
                Support::RealVector(d) => 1 + d + d * d,
            })
            .collect();
        let data = cpds
            .iter()
            .zip(&width)
            .map(|(c, &w)| vec![0.0; c.entries.len() * w])
            .collect();
        let continuous = model
            .vars
            .iter()
            .map(|v| !v.support.is_discrete())
            .collect();
        Stats {
            width,
            continuous,
            data,
        }
    }

    /// The statistics of entry `e` of variable `v`.
    pub fn entry(&self, v: VarId, e: usize) -> &[f64] {
        let w = self.width[v];
        &self.data[v][e * w..(e + 1) * w]
    }

    /// Adds the value `x` of variable `v`, drawn from entry `e` (`local`), with weight `r`.
    pub fn add(&mut self, v: VarId, e: usize, local: &Local, x: &[f64], r: f64) {
        let w = self.width[v];
        let s = &mut self.data[v][e * w..(e + 1) * w];
        match local {
            Local::Categorical { .. } | Local::Bernoulli { .. } => s[x[0] as usize] += r,
            Local::Normal { mean, .. } => {
                let d = x[0] - mean;
                s[0] += r;
                s[1] += r * d;
                s[2] += r * d * d;
            }
            Local::MvNormal(m) => {
                let n = m.dim();
                // The deviation once per row (on the stack up to 16 dimensions).
                let mut buf = [0.0; 16];
                let mut heap = Vec::new();
                let d: &mut [f64] = if n <= buf.len() {
                    &mut buf[..n]
                } else {
                    heap.resize(n, 0.0);
                    &mut heap
                };
                for (i, di) in d.iter_mut().enumerate() {
                    *di = x[i] - m.mean[i];
                }
                // Missing entries: their conditional mean given the others (the deviation
                // G·d_s), and their conditional covariance C in the second moments.
                let given = if d.iter().any(|v| v.is_nan()) {
                    let seen: Vec<usize> = (0..n).filter(|&i| !d[i].is_nan()).collect();
                    // No entry observed: no evidence. A split fails only when interrupted,
                    // and the caller then reports the interruption.
                    let Some(g) = m.given(&seen).filter(|_| !seen.is_empty()) else {
                        return;
                    };
                    let ds: Vec<f64> = seen.iter().map(|&i| d[i]).collect();
                    let mut dh = vec![0.0; g.hidden.len()];
                    g.hidden_deviation(&ds, &mut dh);
                    for (&i, v) in g.hidden.iter().zip(dh) {
                        d[i] = v;
                    }
                    Some(g)
                } else {
                    None
                };
                s[0] += r;
                for i in 0..n {
                    s[1 + i] += r * d[i];
                    let row = &mut s[1 + n + i * n..1 + n + (i + 1) * n];
                    for (out, dj) in row.iter_mut().zip(d.iter()) {
                        *out += r * d[i] * dj;
                    }
                }
                if let Some(g) = given {
                    add_conditional_cov(s, n, &g, r);
                }
            }
        }
    }

    /// Adds another set of statistics of the same shape.
    pub fn merge(&mut self, other: &Stats) {
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// Adds `r·C` (the conditional covariance of the hidden entries) to the hidden block of the
/// second moments of MvNormal statistics `s` (dimension `n`).
pub fn add_conditional_cov(s: &mut [f64], n: usize, g: &crate::infer::numeric::Given, r: f64) {
    let h = g.hidden.len();
    for (a, &i) in g.hidden.iter().enumerate() {
        for (b, &j) in g.hidden.iter().enumerate() {
            s[1 + n + i * n + j] += r * g.cov[a * h + b];
        }
    }
}

/// Data for EM: observations of every variable over `rows` data copies, and row weights.
#[derive(Clone, Debug)]
pub struct Data {
    /// Per variable, its observations (`None`: latent everywhere).
    pub obs: Vec<Option<Observed>>,
    /// The number of data rows.
    pub rows: usize,
    /// Non-negative row weights; `None` weighs every row 1.
    weights: Option<Vec<f64>>,
    /// The number of rows, or the sum of the weights.
    total: f64,
    /// For a chain: its rows split into sequences (`None`: one sequence).
    sequences: Option<crate::infer::chain::Sequences>,
    /// Large buffers the E-steps over these data reuse.
    pub pool: std::sync::Arc<Pool>,
}

/// The most buffers a [`Pool`] keeps: as many as an E-step has out at once.
const POOL_BUFFERS: usize = 8;

/// An empty buffer with room for `len` numbers. On Linux, one of 2 MB or more asks for huge
/// pages: the passes over it stream through memory, and with 4 kB pages they wait on the
/// page tables and the processor's prefetching stops at every page's end.
fn fresh(len: usize) -> Vec<f64> {
    let v: Vec<f64> = Vec::with_capacity(len);
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let bytes = len * std::mem::size_of::<f64>();
        let start = v.as_ptr() as usize;
        let from = start.next_multiple_of(PAGE);
        let to = (start + bytes) / PAGE * PAGE;
        if bytes >= 1 << 21 && to > from {
            // SAFETY: advice only, on whole pages inside the buffer's own allocation; the
            // result is ignored (without huge pages the buffer works the same).
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    v
}

/// Large buffers kept between the E-steps of one fit, so that only the first pays for fresh
/// memory (the system maps it a page at a time); they go with the data.
#[derive(Debug, Default)]
pub struct Pool(std::sync::Mutex<Vec<Vec<f64>>>);

impl Pool {
    /// A buffer of `len` zeros, reusing the smallest kept one that is large enough.
    pub fn take(&self, len: usize) -> Vec<f64> {
        let mut v = self.reuse(len);
        v.clear();
        v.resize(len, 0.0);
        v
    }

    /// A buffer of `len` numbers, whatever they are: for one the caller writes in full.
    pub fn take_any(&self, len: usize) -> Vec<f64> {
        let mut v = self.reuse(len);
        v.resize(len, 0.0);
        v.truncate(len);
        v
    }

    /// The smallest kept buffer of at least `len`, or a new one.
    fn reuse(&self, len: usize) -> Vec<f64> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let best = (kept.iter().enumerate())
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => kept.swap_remove(i),
            None => fresh(len),
        }
    }

    /// The bytes of the buffers kept, which a later take reuses instead of allocating.
    pub fn held(&self) -> usize {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .map(|v| v.capacity() * std::mem::size_of::<f64>())
            .sum()
    }

    /// Keeps `v` for a later [`take`](Self::take); at most [`POOL_BUFFERS`] are kept, the
    /// smallest let go first.
    pub fn give(&self, v: Vec<f64>) {
        if v.capacity() < 1 << 16 {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        if kept.len() > POOL_BUFFERS {
            let smallest = (kept.iter().enumerate())
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)
                .expect("not empty");
            kept.swap_remove(smallest);
        }
    }
}

impl Data {
    /// Observations over `rows` data copies, with optional row weights.
    pub fn new(obs: Vec<Option<Observed>>, rows: usize, weights: Option<Vec<f64>>) -> Data {
        let total = match &weights {
            Some(w) => w.iter().sum(),
            None => rows as f64,
        };
        Data {
            obs,
            rows,
            weights,
            total,
            sequences: None,
            pool: Default::default(),
        }
    }

    /// The same data with its rows split into `sequences` (a chain's `by` column).
    pub fn with_sequences(mut self, sequences: crate::infer::chain::Sequences) -> Data {
        self.sequences = Some(sequences);
        self
    }

    /// The rows as a chain's sequences: as split, or all in one.
    pub fn sequences(&self) -> crate::infer::chain::Sequences {
        self.sequences
            .clone()
            .unwrap_or_else(|| crate::infer::chain::Sequences::one(self.rows))
    }

    /// The row weights, if any.
    pub fn row_weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// The weight of each row of a chunk.
    pub(crate) fn weights(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        match &self.weights {
            Some(w) => w[range].to_vec(),
            None => vec![1.0; range.len()],
        }
    }

    /// The total weight: the number of rows, or the sum of the weights.
    pub fn total_weight(&self) -> f64 {
        self.total
    }

    /// Responsibility mass too small to estimate from: 1e-12 of the total weight. A cell with
    /// no more keeps its value.
    pub fn negligible(&self) -> f64 {
        1e-12 * self.total_weight()
    }

    pub(crate) fn chunks(&self) -> Vec<std::ops::Range<usize>> {
        chunks(self.rows)
    }
}
