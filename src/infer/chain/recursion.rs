//! The forward and backward recursions of one sequence, over its rows' scaled emissions `b`
//! (`len × S`, each row over its largest, so every entry is at most 1).
//!
//! Both keep their messages scaled: the forward message of row t is m_t = α_t · k_1 ⋯ k_t,
//! α_t the exact forward message and k_t a scale chosen per row, so that
//! m_t = (m_{t−1} A) ∘ b_t · k_t, and log p(rows) = log Σ m_T − Σ log k_t. The backward
//! recursion keeps, per row, u_t = b_t ∘ β_t (β_t the backward message) times a scale of its
//! own: all the posteriors need, since γ_t ∝ (m_{t−1} A) ∘ u_t and
//! ξ_{t−1}(i, j) ∝ m_{t−1}(i) A(i, j) u_t(j), each normalised by the same sum, so no scale
//! matters.
//!
//! The fast form scales by powers of two, chosen from the message two rows back: exact (no
//! rounding), and off the recursion's critical path, so the next row waits only for the
//! matrix–vector product, whose sums run as a tree. A message then stays between the product
//! of its two rows' shrinkage and 4. Where a message falls below 1e-250 (rows that all but rule
//! out where the chain can be) the recursion runs again normalising each row by its sum
//! (Rabiner's scaling, hmmlearn's `implementation="scaling"`), which also tells an impossible
//! sequence.

/// 2^e, for e in the range of normal numbers.
#[inline(always)]
fn pow2(e: i64) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The binary exponent of a positive normal number: x ∈ [2^e, 2^(e+1)).
#[inline(always)]
fn exponent(x: f64) -> i64 {
    ((x.to_bits() >> 52) & 0x7ff) as i64 - 1023
}

/// Below this a message is rescaled row by row instead.
const LOW: f64 = 1e-250;

/// `out = m · A` for `N` states (0: `n` of them), `a` row-major; with a fixed `N` the sums
/// over the previous state run as a tree (the order is fixed, so the result is too).
#[inline(always)]
pub(super) fn times<const N: usize>(n: usize, m: &[f64], a: &[f64], out: &mut [f64]) {
    if N == 0 {
        out[..n].fill(0.0);
        for from in 0..n {
            let p = m[from];
            for (o, &x) in out[..n].iter_mut().zip(&a[from * n..from * n + n]) {
                *o += p * x;
            }
        }
        return;
    }
    let part: [[f64; N]; N] =
        std::array::from_fn(|f| std::array::from_fn(|to| m[f] * a[f * N + to]));
    out[..N].copy_from_slice(&tree::<N>(part));
}

/// The sum of `part`'s rows, as a tree (the order is fixed, so the result is too).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices: the compiler unrolls these into registers
fn tree<const N: usize>(mut part: [[f64; N]; N]) -> [f64; N] {
    let mut width = N;
    while width > 1 {
        let half = width / 2;
        for i in 0..half {
            for to in 0..N {
                part[i][to] += part[i + half][to];
            }
        }
        if width % 2 == 1 {
            for to in 0..N {
                part[0][to] += part[width - 1][to];
            }
        }
        width = half;
    }
    part[0]
}

/// Whether a message's sum is below [`LOW`] (or not a number).
#[inline(always)]
fn is_low(sum: f64) -> bool {
    sum.is_nan() || sum <= LOW
}

/// The sum of `x`, pairwise for a fixed `N`.
#[inline(always)]
fn total<const N: usize>(x: &[f64]) -> f64 {
    if N == 4 {
        (x[0] + x[1]) + (x[2] + x[3])
    } else {
        x.iter().sum()
    }
}

/// The forward recursion (`a` the transitions `from · S + to`, `pi` the first row's): log
/// p(rows) − the rows' shifts, or `None` when the rows are impossible. With `out`
/// (`len × S`), the messages go there.
#[inline(always)]
pub(super) fn forward<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    a: &[f64],
    pi: &[f64],
    mut out: Option<&mut [f64]>,
) -> Option<f64> {
    let n = if N > 0 { N } else { n };
    if let Some(l) = forward_fast::<N, CAP>(n, b, a, pi, out.as_deref_mut()) {
        return Some(l);
    }
    forward_exact::<N, CAP>(n, b, a, pi, out)
}

#[inline(always)]
fn forward_fast<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    a: &[f64],
    pi: &[f64],
    out: Option<&mut [f64]>,
) -> Option<f64> {
    let mut f = Forward::<N, CAP>::new(n);
    f.rows(b, a, pi, out);
    f.loglik()
}

/// The power-of-two scales: row t's message is the exact one times 2^e_t, with
/// e_t = e_{t−4} − the binary exponent of the sum of row t−4's message, so the scale of a row
/// is known four rows ahead, and each message's sum lies between its last four rows' shrinkage
/// and 2.
#[derive(Clone, Copy)]
struct Scales {
    /// e_{t−1}, …, e_{t−4}.
    e: [i64; 4],
    /// The sums of rows t−1, …, t−4.
    sums: [f64; 4],
}

impl Scales {
    fn new() -> Scales {
        Scales {
            e: [0; 4],
            sums: [1.0; 4],
        }
    }

    /// e_t and k_t = 2^(e_t − e_{t−1}) of the next row.
    #[inline(always)]
    fn next(&self) -> (i64, f64) {
        let e = self.e[3] - exponent(self.sums[3]);
        (e, pow2(e - self.e[0]))
    }

    /// Records the next row's exponent and sum.
    #[inline(always)]
    fn push(&mut self, e: i64, sum: f64) {
        self.e = [e, self.e[0], self.e[1], self.e[2]];
        self.sums = [sum, self.sums[0], self.sums[1], self.sums[2]];
    }
}

/// The power-of-two forward recursion, fed its rows a block at a time. A copy taken between
/// blocks is a checkpoint: fed the same rows, it gives the same messages again.
#[derive(Clone)]
pub(super) struct Forward<const N: usize, const CAP: usize> {
    n: usize,
    /// The message of the last row fed.
    m: [f64; CAP],
    /// Rows fed so far.
    t: usize,
    scales: Scales,
    /// Whether a message fell below [`LOW`].
    low: bool,
}

impl<const N: usize, const CAP: usize> Forward<N, CAP> {
    pub(super) fn new(n: usize) -> Self {
        Forward {
            n: if N > 0 { N } else { n },
            m: [0.0; CAP],
            t: 0,
            scales: Scales::new(),
            low: false,
        }
    }

    /// Feeds the next rows' emissions `b`; with `out`, their messages go there (indexed
    /// from the first of these rows).
    #[inline(always)]
    pub(super) fn rows(&mut self, b: &[f64], a: &[f64], pi: &[f64], mut out: Option<&mut [f64]>) {
        let n = if N > 0 { N } else { self.n };
        let len = b.len() / n;
        let (mut m, mut sc, mut low) = (self.m, self.scales, self.low);
        let mut v = [0.0f64; CAP];
        for (j, bt) in b.chunks_exact(n).enumerate() {
            let (e, k) = sc.next();
            if self.t + j == 0 {
                for s in 0..n {
                    m[s] = pi[s] * bt[s];
                }
            } else {
                times::<N>(n, &m, a, &mut v);
                for s in 0..n {
                    m[s] = v[s] * (bt[s] * k);
                }
            }
            let s = total::<N>(&m[..n]);
            low |= is_low(s);
            sc.push(e, s);
            if let Some(msg) = out.as_mut() {
                msg[j * n..j * n + n].copy_from_slice(&m[..n]);
            }
        }
        self.t += len;
        (self.m, self.scales, self.low) = (m, sc, low);
    }

    /// The message of the last row fed.
    pub(super) fn message(&self) -> &[f64] {
        &self.m[..self.n]
    }

    /// log p(the rows fed) − their shifts, or `None` where a message fell low (the rows may
    /// still be possible: [`forward`] then normalises row by row).
    pub(super) fn loglik(&self) -> Option<f64> {
        (!self.low && self.t > 0)
            .then(|| self.scales.sums[0].ln() - self.scales.e[0] as f64 * std::f64::consts::LN_2)
    }
}

/// [`forward`] normalising every message by its sum c_t, whose logarithms add
/// up to the log-likelihood (taken from running products, a logarithm only when one nears the
/// bottom of the 64-bit range). A sum of zero turns every later message into NaN, found at
/// the end.
#[inline(always)]
fn forward_exact<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    a: &[f64],
    pi: &[f64],
    mut out: Option<&mut [f64]>,
) -> Option<f64> {
    let n = if N > 0 { N } else { n };
    let (mut m, mut cur) = ([0.0f64; CAP], [0.0f64; CAP]);
    let (mut loglik, mut product) = (0.0, 1.0f64);
    for (t, bt) in b.chunks_exact(n).enumerate() {
        if t == 0 {
            for s in 0..n {
                cur[s] = pi[s] * bt[s];
            }
        } else {
            times::<N>(n, &m, a, &mut cur);
            for s in 0..n {
                cur[s] *= bt[s];
            }
        }
        let c: f64 = cur[..n].iter().sum();
        let inv = 1.0 / c;
        for s in 0..n {
            m[s] = cur[s] * inv;
        }
        if let Some(msg) = out.as_mut() {
            msg[t * n..t * n + n].copy_from_slice(&m[..n]);
        }
        product *= c;
        if product < 1e-280 {
            loglik += product.ln();
            product = 1.0;
        }
    }
    let loglik = loglik + product.ln();
    (loglik.is_finite() && m[..n].iter().all(|x| x.is_finite())).then_some(loglik)
}

/// The backward recursion: into `u` (`len × S`), each row's emissions times its backward
/// message, scaled (`at` the transitions transposed, `to · S + from`). A sequence that is
/// impossible leaves zeros somewhere.
#[inline(always)]
pub(super) fn backward<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    at: &[f64],
    u: &mut [f64],
) {
    if !backward_fast::<N, CAP>(n, b, at, u) {
        backward_exact::<N, CAP>(n, b, at, u);
    }
}

/// [`backward`] scaled by powers of two as the forward one is ([`Scales`]); false where a
/// message fell low.
#[inline(always)]
fn backward_fast<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    at: &[f64],
    u: &mut [f64],
) -> bool {
    let mut back = Backward::<N, CAP>::new(n);
    back.rows(b, at, u, false);
    !back.low()
}

/// The power-of-two backward recursion, fed a sequence's rows a block at a time from its end.
pub(super) struct Backward<const N: usize, const CAP: usize> {
    n: usize,
    /// The backward message of the last row not yet fed (at first the sequence's last row's,
    /// all ones).
    m: [f64; CAP],
    scales: Scales,
    /// Whether a message fell below [`LOW`].
    low: bool,
}

impl<const N: usize, const CAP: usize> Backward<N, CAP> {
    pub(super) fn new(n: usize) -> Self {
        let n = if N > 0 { N } else { n };
        let mut m = [0.0; CAP];
        m[..n].fill(1.0);
        let mut scales = Scales::new();
        scales.push(0, n as f64);
        Backward {
            n,
            m,
            scales,
            low: false,
        }
    }

    /// Feeds the rows just before those fed so far, their emissions `b`: their u_t go to `u`.
    /// With `more`, rows before these are still to come, and the backward message of the row
    /// before them is made for the next call.
    #[inline(always)]
    pub(super) fn rows(&mut self, b: &[f64], at: &[f64], u: &mut [f64], more: bool) {
        let n = if N > 0 { N } else { self.n };
        let len = b.len() / n;
        let (mut m, mut sc, mut low) = (self.m, self.scales, self.low);
        for t in (0..len).rev() {
            let ut = &mut u[t * n..t * n + n];
            back_step::<N, CAP>(
                n,
                &b[t * n..t * n + n],
                at,
                &mut m,
                &mut sc,
                &mut low,
                ut,
                t > 0 || more,
            );
        }
        (self.m, self.scales, self.low) = (m, sc, low);
    }

    /// Whether a message fell low (the power-of-two form no longer holds there).
    pub(super) fn low(&self) -> bool {
        self.low
    }
}

/// One step of the backward recursion at row t, whose message is `m` and emissions `bt`:
/// u_t = m ∘ b_t, scaled as [`Scales`] says, into `ut`, and with `on`, row t − 1's message
/// u_t · Aᵀ into `m`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn back_step<const N: usize, const CAP: usize>(
    n: usize,
    bt: &[f64],
    at: &[f64],
    m: &mut [f64; CAP],
    sc: &mut Scales,
    low: &mut bool,
    ut: &mut [f64],
    on: bool,
) {
    let (e, k) = sc.next();
    let mut bb = [0.0f64; CAP];
    for s in 0..n {
        bb[s] = m[s] * (bt[s] * k);
    }
    ut.copy_from_slice(&bb[..n]);
    if !on {
        return;
    }
    times::<N>(n, &bb, at, m);
    let s = total::<N>(&m[..n]);
    *low |= is_low(s);
    sc.push(e, s);
}

/// [`backward`] normalising each message by its sum (a row with nothing left to carry leaves
/// zeros, which only an impossible sequence has).
#[inline(always)]
fn backward_exact<const N: usize, const CAP: usize>(
    n: usize,
    b: &[f64],
    at: &[f64],
    u: &mut [f64],
) {
    let n = if N > 0 { N } else { n };
    let len = b.len() / n;
    let (mut m, mut bb) = ([0.0f64; CAP], [0.0f64; CAP]);
    m[..n].fill(1.0 / n as f64);
    for t in (0..len).rev() {
        let bt = &b[t * n..(t + 1) * n];
        for s in 0..n {
            bb[s] = bt[s] * m[s];
        }
        u[t * n..t * n + n].copy_from_slice(&bb[..n]);
        if t == 0 {
            break;
        }
        times::<N>(n, &bb, at, &mut m);
        let total: f64 = m[..n].iter().sum();
        let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
        for x in m[..n].iter_mut() {
            *x *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// log p(rows) by the forward recursion in log space, as a reference.
    fn log_forward(n: usize, b: &[f64], a: &[f64], pi: &[f64]) -> f64 {
        let lse = |x: &[f64]| {
            let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        };
        let mut l: Vec<f64> = (0..n).map(|s| pi[s].ln() + b[s].ln()).collect();
        for bt in b.chunks_exact(n).skip(1) {
            l = (0..n)
                .map(|to| {
                    let terms: Vec<f64> = (0..n).map(|f| l[f] + a[f * n + to].ln()).collect();
                    lse(&terms) + bt[to].ln()
                })
                .collect();
        }
        lse(&l)
    }

    /// Rows of emissions (each over its largest) from a small generator.
    fn rows(len: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        let mut b: Vec<f64> = (0..len * n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f64 / 1000.0 + 1e-3
            })
            .collect();
        for row in b.chunks_exact_mut(n) {
            let m = row.iter().copied().fold(0.0, f64::max);
            row.iter_mut().for_each(|v| *v /= m);
        }
        b
    }

    fn transitions(n: usize, stay: f64) -> Vec<f64> {
        (0..n * n)
            .map(|i| {
                if i / n == i % n {
                    stay
                } else {
                    (1.0 - stay) / (n - 1) as f64
                }
            })
            .collect()
    }

    /// The power-of-two form and the normalised one give the same likelihood, and messages
    /// that differ by a scale per row, for fixed and for any number of states.
    #[test]
    fn both_forms_agree() {
        for n in [2, 3, 4, 7] {
            let b = rows(5000, n, 7 + n as u64);
            let a = transitions(n, 0.9);
            let pi = vec![1.0 / n as f64; n];
            let (mut m1, mut m2) = (vec![0.0; b.len()], vec![0.0; b.len()]);
            let fast = match n {
                4 => forward_fast::<4, 4>(n, &b, &a, &pi, Some(&mut m1)),
                _ => forward_fast::<0, 64>(n, &b, &a, &pi, Some(&mut m1)),
            }
            .expect("no message falls low");
            let exact = forward_exact::<0, 64>(n, &b, &a, &pi, Some(&mut m2)).expect("possible");
            let reference = log_forward(n, &b, &a, &pi);
            assert!(
                (fast - reference).abs() < 1e-9 * reference.abs(),
                "{fast} {reference}"
            );
            assert!((exact - reference).abs() < 1e-9 * reference.abs());
            for (r1, r2) in m1.chunks_exact(n).zip(m2.chunks_exact(n)) {
                let s: f64 = r1.iter().sum();
                for (x, y) in r1.iter().zip(r2) {
                    assert!((x / s - y).abs() < 1e-12);
                }
            }
            let (mut b1, mut b2) = (vec![0.0; b.len()], vec![0.0; b.len()]);
            let at: Vec<f64> = (0..n * n).map(|i| a[(i % n) * n + i / n]).collect();
            assert!(backward_fast::<0, 64>(n, &b, &at, &mut b1));
            backward_exact::<0, 64>(n, &b, &at, &mut b2);
            for (r1, r2) in b1.chunks_exact(n).zip(b2.chunks_exact(n)) {
                let (s1, s2): (f64, f64) = (r1.iter().sum(), r2.iter().sum());
                for (x, y) in r1.iter().zip(r2) {
                    assert!((x / s1 - y / s2).abs() < 1e-12);
                }
            }
        }
    }

    /// Rows that all but rule out where the chain can be send the power-of-two form below
    /// its floor; the recursion then normalises row by row, and is still exact.
    #[test]
    fn falls_back_where_messages_fall_low() {
        let n = 2;
        // The chain stays put with probability 1 − 1e-200; every other row says it moved.
        let a = vec![1.0 - 1e-200, 1e-200, 1e-200, 1.0 - 1e-200];
        let b: Vec<f64> = (0..40)
            .flat_map(|t| {
                if t % 2 == 0 {
                    [1.0, 1e-300]
                } else {
                    [1e-300, 1.0]
                }
            })
            .collect();
        let pi = [0.5, 0.5];
        assert!(forward_fast::<2, 2>(n, &b, &a, &pi, None).is_none());
        let l = forward::<2, 2>(n, &b, &a, &pi, None).expect("possible");
        let reference = log_forward(n, &b, &a, &pi);
        assert!(
            (l - reference).abs() < 1e-9 * reference.abs(),
            "{l} {reference}"
        );
        let at = a.clone();
        let mut u = vec![0.0; b.len()];
        assert!(!backward_fast::<2, 2>(n, &b, &at, &mut u));
        backward::<2, 2>(n, &b, &at, &mut u);
        assert!(u.iter().all(|x| x.is_finite()));
        // The sequence is possible: no row's u is all zeros.
        assert!(u.chunks_exact(2).all(|r| r[0] + r[1] > 0.0));
    }

    /// A sequence no path explains has no likelihood.
    #[test]
    fn an_impossible_sequence_has_none() {
        let a = [1.0, 0.0, 0.0, 1.0];
        let b = [1.0, 0.0, 0.0, 1.0];
        assert_eq!(forward::<2, 2>(2, &b, &a, &[1.0, 0.0], None), None);
    }
}
