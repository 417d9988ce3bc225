"""Reference values for chains (section 9.4), for hmm.gmm: writes hmm.expected, and the data
files hmm1.csv (1-D), hmm2.csv (2-D) and hmm_short.csv (short sequences with missing cells,
labelled rows, a discrete observation) beside this script.

Three independent computations:
- a NumPy forward-backward and Viterbi in log space (logsumexp over the previous row's states,
  no scaling), and Baum-Welch from its posteriors;
- hmmlearn's GaussianHMM from the same start (its C++ forward-backward, its own M-step with the
  MAP terms switched off), which must agree with the NumPy values before anything is written;
- for the short sequences, brute force: every path of every latent is listed, its joint
  probability computed factor by factor, and the likelihood, posteriors, most probable path and
  expected statistics summed or maximised over the list.

Run: python3 tests/reference/hmm.py (NumPy and hmmlearn; not needed to run the tests).
"""

import itertools
import os

import numpy as np
from hmmlearn import hmm
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

import refio

rng = np.random.default_rng(20261203)


def write_csv(name, header, rows):
    with open(os.path.join(refio.HERE, name), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join("NA" if (isinstance(v, float) and np.isnan(v)) else repr(v) for v in r) + "\n")


def simulate(T, start, A, draw):
    z = [rng.choice(len(start), p=start)]
    for _ in range(T - 1):
        z.append(rng.choice(len(start), p=A[z[-1]]))
    return np.array(z), np.array([draw(k) for k in z])


def groups(seq):
    """Row indices of each sequence, in order of first appearance."""
    out = {}
    for i, s in enumerate(seq):
        out.setdefault(s, []).append(i)
    return list(out.values())


# ---- NumPy forward-backward and Viterbi in log space ----


def forward_backward(logb, logpi, logA):
    T, K = logb.shape
    la = np.zeros((T, K))
    la[0] = logpi + logb[0]
    for t in range(1, T):
        la[t] = logsumexp(la[t - 1][:, None] + logA, axis=0) + logb[t]
    lb = np.zeros((T, K))
    for t in range(T - 2, -1, -1):
        lb[t] = logsumexp(logA + (logb[t + 1] + lb[t + 1])[None, :], axis=1)
    ll = logsumexp(la[-1])
    gamma = np.exp(la + lb - ll)
    xi = np.zeros((K, K))
    for t in range(1, T):
        xi += np.exp(la[t - 1][:, None] + logA + (logb[t] + lb[t])[None, :] - ll)
    return ll, gamma, xi


def viterbi(logb, logpi, logA):
    T, K = logb.shape
    d = logpi + logb[0]
    back = np.zeros((T, K), dtype=int)
    for t in range(1, T):
        s = d[:, None] + logA
        back[t] = s.argmax(axis=0)
        d = s.max(axis=0) + logb[t]
    path = [int(d.argmax())]
    for t in range(T - 1, 0, -1):
        path.append(int(back[t][path[-1]]))
    return float(d.max()), path[::-1]


def emissions(x, mu, cov):
    """log N(x_t | mu_k, cov_k): x is T x D, mu K x D, cov K x D x D."""
    return np.column_stack([multivariate_normal(mu[k], cov[k]).logpdf(x).reshape(len(x)) for k in range(len(mu))])


def infer(x, seqs, pi, A, mu, cov):
    logb = emissions(x, mu, cov)
    ll, gamma, path, best = 0.0, np.zeros_like(logb), np.zeros(len(x), dtype=int), 0.0
    for rows in seqs:
        l, g, _ = forward_backward(logb[rows], np.log(pi), np.log(A))
        b, p = viterbi(logb[rows], np.log(pi), np.log(A))
        ll += l
        gamma[rows] = g
        path[rows] = p
        best += b
    return ll, gamma, path, best


def baum_welch(x, seqs, pi, A, mu, cov, iters):
    """Plain Baum-Welch (no priors, no floors); the log-likelihood before each update."""
    K, D = mu.shape
    trace = []
    for _ in range(iters):
        logb = emissions(x, mu, cov)
        ll, gamma, start, trans = 0.0, np.zeros_like(logb), np.zeros(K), np.zeros((K, K))
        for rows in seqs:
            l, g, xi = forward_backward(logb[rows], np.log(pi), np.log(A))
            ll += l
            gamma[rows] = g
            start += g[0]
            trans += xi
        trace.append(ll)
        pi = start / start.sum()
        A = trans / trans.sum(axis=1, keepdims=True)
        nk = gamma.sum(axis=0)
        mu = (gamma.T @ x) / nk[:, None]
        cov = np.array([((x - mu[k]).T * gamma[:, k]) @ (x - mu[k]) / nk[k] for k in range(K)])
    ll = infer(x, seqs, pi, A, mu, cov)[0]
    return pi, A, mu, cov, ll, trace


def hmmlearn_model(pi, A, mu, cov, kind, iters=10):
    K, D = mu.shape
    m = hmm.GaussianHMM(
        K,
        n_iter=iters,
        covariance_type=kind,
        init_params="",
        params="stmc",
        min_covar=0.0,
        covars_prior=0.0,
        implementation="log",
        tol=0.0,
    )
    m.startprob_, m.transmat_, m.means_ = pi.copy(), A.copy(), mu.copy()
    m.covars_ = cov[:, range(D), range(D)].copy() if kind == "diag" else cov.copy()
    return m


def close(a, b, tol, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.allclose(a, b, rtol=tol, atol=tol), f"{what}: NumPy and hmmlearn disagree:\n{a}\n{b}"


def query_case(label, x, seq, pi, A, mu, cov, kind):
    seqs = groups(seq)
    lengths = [len(r) for r in seqs]
    ll, gamma, path, best = infer(x, seqs, pi, A, mu, cov)
    ref = hmmlearn_model(pi, A, mu, cov, kind)
    # hmmlearn takes sequences as consecutive rows.
    order = np.concatenate(seqs)
    close(ll, ref.score(x[order], lengths), 1e-10, label + " loglik")
    g = np.zeros_like(gamma)
    g[order] = ref.predict_proba(x[order], lengths)
    close(gamma, g, 1e-9, label + " posteriors")
    lp, p = ref.decode(x[order], lengths, algorithm="viterbi")
    close(best, lp, 1e-10, label + " viterbi")
    assert (path[order] == p).all(), label + " viterbi path"
    refio.emit(label + "_logp", ll)
    refio.emit(label + "_post", gamma)
    refio.emit(label + "_path", path)
    refio.emit(label + "_best", best)


def fit_case(label, x, seq, pi, A, mu, cov, kind, iters=20):
    seqs = groups(seq)
    pi2, A2, mu2, cov2, ll, trace = baum_welch(x, seqs, pi, A, mu, cov, iters)
    ref = hmmlearn_model(pi, A, mu, cov, kind, iters)
    order = np.concatenate(seqs)
    ref.fit(x[order], [len(r) for r in seqs])
    close(pi2, ref.startprob_, 1e-9, label + " start")
    close(A2, ref.transmat_, 1e-9, label + " A")
    close(mu2, ref.means_, 1e-9, label + " mu")
    close(cov2, ref.covars_, 1e-9, label + " cov")
    close(trace, list(ref.monitor_.history), 1e-10, label + " trace")
    refio.emit(label + "_start", pi2)
    refio.emit(label + "_A", A2)
    refio.emit(label + "_mu", mu2[:, 0] if mu2.shape[1] == 1 else mu2)
    refio.emit(label + "_cov", np.sqrt(cov2[:, 0, 0]) if cov2.shape[1] == 1 else cov2)
    refio.emit(label + "_loglik", ll)
    # gmm's trace holds the log-likelihood after each update, hmmlearn's before it.
    refio.emit(label + "_trace", trace[1:] + [ll])


# ---- 1-D data: two regimes, three sequences (the second interleaved with the third) ----
A1 = np.array([[0.95, 0.05], [0.10, 0.90]])
z1, x1 = simulate(300, [0.6, 0.4], A1, lambda k: rng.normal([0.0, 3.0][k], [1.0, 1.5][k]))
seq1 = np.array([1] * 120 + [2, 3] * 90)
write_csv("hmm1.csv", ["seq", "x"], [(int(s), float(v)) for s, v in zip(seq1, x1)])
X1 = x1[:, None]
one = np.zeros(len(x1), dtype=int)

pi2, Ab2 = np.array([0.5, 0.5]), np.array([[0.8, 0.2], [0.3, 0.7]])
mu2, cov2 = np.array([[-0.5], [2.0]]), np.array([[[1.0]], [[1.0]]])
query_case("k2_1d", X1, one, pi2, Ab2, mu2, cov2, "diag")
query_case("k2_1d_by", X1, seq1, pi2, Ab2, mu2, cov2, "diag")
pi3 = np.array([0.2, 0.5, 0.3])
Ab3 = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
mu3, cov3 = np.array([[-1.0], [1.0], [3.0]]), np.array([[[1.0]], [[0.5]], [[2.0]]])
query_case("k3_1d", X1, one, pi3, Ab3, mu3, cov3, "diag")
query_case("k3_1d_by", X1, seq1, pi3, Ab3, mu3, cov3, "diag")
fit_case("bw_1d_by", X1, seq1, pi2, Ab2, mu2, cov2, "diag")

# ---- 2-D data: three regimes with full covariances ----
means = np.array([[0.0, 0.0], [3.0, 1.0], [0.0, 4.0]])
covs = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.7, -0.2], [-0.2, 1.2]], [[1.5, 0.4], [0.4, 0.8]]])
A3 = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.15, 0.8]])
z2, x2 = simulate(240, [0.4, 0.3, 0.3], A3, lambda k: rng.multivariate_normal(means[k], covs[k]))
seq2 = np.array([7] * 100 + [5] * 140)
write_csv("hmm2.csv", ["seq", "x[0]", "x[1]"], [(int(s), float(a), float(b)) for s, (a, b) in zip(seq2, x2)])
one2 = np.zeros(len(x2), dtype=int)
p2 = np.array([0.5, 0.5])
m2 = np.array([[0.5, 0.5], [2.0, 2.0]])
c2 = np.array([np.eye(2), np.eye(2)])
query_case("k2_2d", x2, one2, p2, Ab2, m2, c2, "full")
m3 = np.array([[0.5, 0.5], [2.0, 1.0], [0.5, 3.0]])
c3 = np.array([np.eye(2), np.eye(2), np.eye(2)])
query_case("k3_2d_by", x2, seq2, pi3, Ab3, m3, c3, "full")
fit_case("bw_2d_by", x2, seq2, pi3, Ab3, m3, c3, "full")

# ---- Short sequences, brute force ----
# Two chained latents (z of 2 values, u of 2 values, u reading z and prev(u)), a row latent c
# (2 values, reading z), a Bernoulli observation y (reading u) and a Normal x (reading z and
# c); cells missing here and there, some rows labelled with z.
s_start = np.array([0.6, 0.4])
s_A = np.array([[0.8, 0.2], [0.3, 0.7]])
s_B = np.array([[0.7, 0.3], [0.2, 0.8]])  # u in a first row, by z
s_C = np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.5, 0.5], [0.1, 0.9]]])  # u after, by prev(u), z
s_w = np.array([[0.3, 0.7], [0.6, 0.4]])  # c by z
s_q = np.array([0.2, 0.9])  # P(y = 1) by u
s_mu = np.array([[-1.0, 0.5], [1.5, 3.0]])  # by z, c
s_sd = np.array([[1.0, 0.7], [0.8, 1.2]])

short = [
    # seq, z (NA: latent), y, x
    (1, np.nan, 1.0, -0.8),
    (1, np.nan, 0.0, 0.2),
    (1, 1.0, np.nan, 2.4),
    (1, np.nan, 1.0, np.nan),
    (2, np.nan, 0.0, 0.9),
    (2, 0.0, 1.0, -1.2),
    (2, np.nan, np.nan, 1.7),
    (1, np.nan, 0.0, 0.4),
    (2, np.nan, 1.0, 2.8),
    (2, np.nan, 0.0, np.nan),
    (2, 1.0, 1.0, 2.2),
]
write_csv("hmm_short.csv", ["seq", "z", "y", "x"], [(s, z, y, x) for s, z, y, x in short])


def brute(rows, labels=True, start=s_start, A=s_A, B=s_B, C=s_C, w=s_w, q=s_q, mu=s_mu, sd=s_sd):
    """Every path of (z, u, c) over one sequence (8^T of them): its log joint with the
    observations, factor by factor."""
    # The factors of a row that do not cross rows, per (z, u, c).
    local = []
    for r in rows:
        f = {}
        for z, u, c in itertools.product(range(2), repeat=3):
            lp = np.log(w[z][c])
            if labels and not np.isnan(r[1]) and r[1] != z:
                lp = -np.inf
            if not np.isnan(r[2]):
                lp += np.log(q[u] if r[2] == 1.0 else 1 - q[u])
            if not np.isnan(r[3]):
                lp += norm(mu[z][c], sd[z][c]).logpdf(r[3])
            f[z, u, c] = lp
        local.append(f)
    out = []
    for path in itertools.product(itertools.product(range(2), repeat=3), repeat=len(rows)):
        lp = 0.0
        for t, (z, u, c) in enumerate(path):
            if t == 0:
                lp += np.log(start[z]) + np.log(B[z][u])
            else:
                zp, up, _ = path[t - 1]
                lp += np.log(A[zp][z]) + np.log(C[up][z][u])
            lp += local[t][z, u, c]
        if lp > -np.inf:
            out.append((lp, [p[0] for p in path], [p[1] for p in path], [p[2] for p in path]))
    return out


short_seqs = groups([r[0] for r in short])
ll, post_u = 0.0, np.zeros((len(short), 2))
best, best_z, best_u, best_c = 0.0, np.zeros(len(short)), np.zeros(len(short)), np.zeros(len(short))
short_paths = [brute([short[i] for i in rows]) for rows in short_seqs]
for rows, paths in zip(short_seqs, short_paths):
    lps = np.array([p[0] for p in paths])
    total = logsumexp(lps)
    ll += total
    for lp, zs, us, cs in paths:
        for t, i in enumerate(rows):
            post_u[i][us[t]] += np.exp(lp - total)
    top = paths[int(lps.argmax())]
    best += top[0]
    for t, i in enumerate(rows):
        best_z[i], best_u[i], best_c[i] = top[1][t], top[2][t], top[3][t]
refio.emit("short_logp", ll)
# Without the labels: the posterior of z itself.
post_z = np.zeros((len(short), 2))
for rows in short_seqs:
    paths = brute([short[i] for i in rows], labels=False)
    total = logsumexp([p[0] for p in paths])
    for lp, zs, us, cs in paths:
        for t, i in enumerate(rows):
            post_z[i][zs[t]] += np.exp(lp - total)
refio.emit("short_post_z", post_z)
refio.emit("short_post_u", post_u)
refio.emit("short_decode_z", best_z)
refio.emit("short_decode_u", best_u)
refio.emit("short_decode_c", best_c)
refio.emit("short_best", best)

# One EM step by brute force: expected counts over every path, then the closed-form updates.
exp_start, exp_A = np.zeros(2), np.zeros((2, 2))
exp_B, exp_C = np.zeros((2, 2)), np.zeros((2, 2, 2))
exp_w, exp_q = np.zeros((2, 2)), np.zeros((2, 2))
s0, s1, s2 = np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))
for rows, paths in zip(short_seqs, short_paths):
    rs = [short[i] for i in rows]
    total = logsumexp([p[0] for p in paths])
    for lp, zs, us, cs in paths:
        r = np.exp(lp - total)
        for t, (row, z, u, c) in enumerate(zip(rs, zs, us, cs)):
            if t == 0:
                exp_start[z] += r
                exp_B[z][u] += r
            else:
                exp_A[zs[t - 1]][z] += r
                exp_C[us[t - 1]][z][u] += r
            exp_w[z][c] += r
            if not np.isnan(row[2]):
                exp_q[u][int(row[2])] += r
            else:
                # A missing discrete cell is a latent of its row: its expected count.
                exp_q[u][1] += r * s_q[u]
                exp_q[u][0] += r * (1 - s_q[u])
            if not np.isnan(row[3]):
                s0[z][c] += r
                s1[z][c] += r * row[3]
                s2[z][c] += r * row[3] ** 2
new_mu = s1 / s0
refio.emit("short_em_start", exp_start / exp_start.sum())
refio.emit("short_em_A", exp_A / exp_A.sum(axis=1, keepdims=True))
refio.emit("short_em_B", exp_B / exp_B.sum(axis=1, keepdims=True))
refio.emit("short_em_C", exp_C / exp_C.sum(axis=2, keepdims=True))
refio.emit("short_em_w", exp_w / exp_w.sum(axis=1, keepdims=True))
refio.emit("short_em_q", exp_q[:, 1] / exp_q.sum(axis=1))
refio.emit("short_em_mu", new_mu)
refio.emit("short_em_sd", np.sqrt(s2 / s0 - new_mu**2))

refio.write("hmm.expected")
