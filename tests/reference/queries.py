"""Reference values for queries.gmm, computed independently with NumPy and SciPy.

Every query is written out as the sum or product the model defines, by brute force over the
latent values, with scipy.stats densities and scipy.special.logsumexp. Run it from anywhere:

    python3 tests/reference/queries.py

It writes queries.expected beside itself: one line per printed value, `label<TAB>shape<TAB>values`,
with values in Python's shortest round-trip repr.
"""

import itertools
import os

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

out = []


def emit(label, value):
    a = np.asarray(value, dtype=float)
    shape = "x".join(str(d) for d in a.shape) or "scalar"
    out.append(f"{label}\t{shape}\t{' '.join(repr(float(v)) for v in a.ravel())}")


# 1-D grades ---------------------------------------------------------------------------------
pi = np.array([0.6, 0.4])
mu = np.array([2.5, 4.8])
sigma = np.array([0.6, 0.3])
xs = np.array([1.0, 2.2, 3.0, 3.9, 4.6, 5.5])


def g_logjoint(x):  # log p(z = k, x) for k = 0, 1; shape (..., 2)
    x = np.asarray(x, dtype=float)[..., None]
    return np.log(pi) + norm.logpdf(x, mu, sigma)


emit("grades_marginal", np.exp(logsumexp(g_logjoint(3.0))))
emit("grades_log_marginal", logsumexp(g_logjoint(3.0)))
emit("grades_joint", np.exp(g_logjoint(3.0)[1]))
emit("grades_joint_log", g_logjoint(3.9)[0])
emit("grades_posterior", np.exp(g_logjoint(3.0) - logsumexp(g_logjoint(3.0))))
emit("grades_conditional", np.exp(g_logjoint(3.9)[1] - logsumexp(g_logjoint(3.9))))
emit("grades_marginal_many", np.exp(logsumexp(g_logjoint(xs), axis=1)))
lj = g_logjoint(xs)
emit("grades_posterior_many", np.exp(lj - logsumexp(lj, axis=1, keepdims=True)))
emit("grades_prior", pi)
emit("grades_x_given_z_mean", mu[1])
emit("grades_x_given_z_var", sigma[1] ** 2)
m = np.sum(pi * mu)
emit("grades_x_mean", m)
emit("grades_x_var", np.sum(pi * (sigma**2 + mu**2)) - m**2)
emit("grades_far_logp", logsumexp(g_logjoint(1e100)))
emit("grades_far_logp_negative", logsumexp(g_logjoint(-1e100)))
lj = g_logjoint(1e100)
emit("grades_far_posterior", np.exp(lj - logsumexp(lj)))
lj = g_logjoint(-1e100)
emit("grades_far_posterior_log", lj - logsumexp(lj))
lj = g_logjoint(40.0)
emit("grades_tail_posterior", np.exp(lj - logsumexp(lj)))
pts = np.array([-5.0, 0.0, 2.5, 3.0, 4.8, 6.0, 10.0])
emit("mixture_cdf", np.sum(pi * norm.cdf(pts[:, None], mu, sigma), axis=1))
emit("mixture_pdf", np.sum(pi * norm.pdf(xs[:, None], mu, sigma), axis=1))
emit("mixture_logpdf_far", logsumexp(np.log(pi) + norm.logpdf(1e100, mu, sigma)))
emit("normal_cdf_batched", norm.cdf(np.array([-3.0, 3.0])[:, None], mu, sigma))

# 2-D blobs ----------------------------------------------------------------------------------
bpi = np.array([0.6715696454048157, 0.3284303545951843])
bmu = np.array([[-0.8423252105712891, -0.41325628757476807],
                [-2.028988838195801, 0.07374124228954315]])
bS = np.array([[[0.7571597099304199, -0.9234713912010193],
                [-0.9234713912010193, 5.15791654586792]],
               [[4.820520401000977, -0.6846930384635925],
                [-0.6846930384635925, 2.4177849292755127]]])


def b_logjoint(x):  # (..., 2)
    x = np.asarray(x, dtype=float)
    return np.stack([np.log(bpi[k]) + multivariate_normal(bmu[k], bS[k]).logpdf(x)
                     for k in range(2)], axis=-1)


X = np.array([[0.0, 0.0], [-5.35411835, -1.22469783], [-1.26633608, -2.6082623], [3.0, 4.0]])
emit("blobs_marginal", np.exp(logsumexp(b_logjoint([0.0, 0.0]))))
lj = b_logjoint([0.0, 0.0])
emit("blobs_posterior", np.exp(lj - logsumexp(lj)))
emit("blobs_joint", np.exp(b_logjoint([-1.0, 1.0])[1]))
lj = b_logjoint(X)
emit("blobs_marginal_many", np.exp(logsumexp(lj, axis=1)))
emit("blobs_log_marginal_many", logsumexp(lj, axis=1))
emit("blobs_posterior_many", np.exp(lj - logsumexp(lj, axis=1, keepdims=True)))


def b_logjoint_far(x):
    # scipy's multivariate_normal uses an eigendecomposition; at 1e100 the quadratic form is
    # ~1e200, still finite. Written out as the Mahalanobis form for clarity.
    x = np.asarray(x, dtype=float)
    res = []
    for k in range(2):
        d = x - bmu[k]
        q = d @ np.linalg.solve(bS[k], d)
        _, logdet = np.linalg.slogdet(bS[k])
        res.append(np.log(bpi[k]) - 0.5 * q - 0.5 * logdet - np.log(2 * np.pi))
    return np.array(res)


lj = b_logjoint_far([1e100, -1e100])
emit("blobs_far_logp", logsumexp(lj))
emit("blobs_far_posterior", np.exp(lj - logsumexp(lj)))

bm = bpi @ bmu
emit("blobs_x_mean", bm)
emit("blobs_x_cov", sum(bpi[k] * (bS[k] + np.outer(bmu[k], bmu[k])) for k in range(2))
     - np.outer(bm, bm))
emit("blobs_x_given_z_cov", bS[1])

# Two latents --------------------------------------------------------------------------------
pa = np.array([0.3, 0.7])
pb = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
tmu = np.array([[-2.0, 0.0, 2.0], [1.0, 3.0, 5.0]])
tsd = np.array([0.5, 1.0, 1.5])


def t_logjoint(x):  # log p(a, b, x): shape (2, 3)
    return np.array([[np.log(pa[a]) + np.log(pb[a, b]) + norm.logpdf(x, tmu[a, b], tsd[b])
                      for b in range(3)] for a in range(2)])


lj = t_logjoint(1.3)
tot = logsumexp(lj)
emit("two_marginal", np.exp(tot))
emit("two_posterior_a", np.exp(logsumexp(lj, axis=1) - tot))
emit("two_posterior_b", np.exp(logsumexp(lj, axis=0) - tot))
emit("two_posterior_ab", np.exp(lj - tot))
emit("two_conditional", np.exp(lj[1, 2] - logsumexp(lj[:, 2])))
emit("two_joint", np.exp(t_logjoint(0.4)[0, 1]))
lj = t_logjoint(0.4)
emit("two_posterior_b_given_a", np.exp(lj[0] - logsumexp(lj[0])))
rows = []
for x in [-2.0, 0.5, 4.0]:
    lj = t_logjoint(x)
    rows.append(np.exp(logsumexp(lj, axis=1) - logsumexp(lj)))
emit("two_posterior_many", rows)
m = np.sum(pb[1] * tmu[1])
emit("two_x_mean", m)
emit("two_x_var", np.sum(pb[1] * (tsd**2 + tmu[1] ** 2)) - m**2)
emit("two_b_marginal", pa @ pb)

# A global latent ----------------------------------------------------------------------------
pg = np.array([0.4, 0.6])
pz = np.array([[0.9, 0.1], [0.2, 0.8]])
hmu = np.array([-1.0, 2.0])
hx = np.array([-0.5, 1.7, 2.2, 0.1])

# Brute force over g and every z vector: log p(g, z_1..z_n, x_1..x_n).
n = len(hx)
configs = []
for g in range(2):
    for zs in itertools.product(range(2), repeat=n):
        lp = np.log(pg[g]) + sum(np.log(pz[g, z]) + norm.logpdf(x, hmu[z], 1.0)
                                 for z, x in zip(zs, hx))
        configs.append((g, zs, lp))
total = logsumexp([c[2] for c in configs])
emit("hier_posterior_g", [np.exp(logsumexp([c[2] for c in configs if c[0] == g]) - total)
                          for g in range(2)])
emit("hier_joint", np.exp(total))
emit("hier_log_joint", total)
emit("hier_posterior_z", [[np.exp(logsumexp([c[2] for c in configs if c[1][i] == k]) - total)
                           for k in range(2)] for i in range(n)])
emit("hier_joint_g", np.exp(logsumexp([c[2] for c in configs if c[0] == 1])))
emit("hier_conditional", np.exp(logsumexp([c[2] for c in configs if c[0] == 0]) - total))
one = [[np.log(pg[g]) + np.log(pz[g, z]) + norm.logpdf(0.3, hmu[z], 1.0) for z in range(2)]
       for g in range(2)]
emit("hier_one_copy", np.exp(logsumexp(one, axis=0) - logsumexp(one)))

# The one-group model ------------------------------------------------------------------------
opi = np.array([0.5, 0.5])
omu = np.array([0.0, 5.0])
ox = np.array([4.2, 5.1, 5.3])
lj = np.log(opi) + np.array([norm.logpdf(ox, omu[k], 1.0).sum() for k in range(2)])
emit("one_group_posterior", np.exp(lj - logsumexp(lj)))
emit("one_group_joint", np.exp(logsumexp(lj)))

# The day model ------------------------------------------------------------------------------
pS = np.full(4, 0.25)
pN = 0.8
pW = np.array([0.3, 0.4, 0.9, 0.5])
pH = np.array([[0.3, 0.5], [0.8, 0.99]])


def day(s, nn, w, h):
    return (pS[s] * (pN if nn else 1 - pN) * (pW[s] if w else 1 - pW[s])
            * (pH[nn, w] if h else 1 - pH[nn, w]))


all_days = list(itertools.product(range(4), range(2), range(2), range(2)))
pH1 = sum(day(*d) for d in all_days if d[3] == 1)
emit("day_posterior_S", [sum(day(*d) for d in all_days if d[0] == s and d[3] == 1) / pH1
                         for s in range(4)])
num = sum(day(*d) for d in all_days if d[1] == 1 and d[2] == 0 and d[3] == 1)
den = sum(day(*d) for d in all_days if d[2] == 0 and d[3] == 1)
emit("day_conditional", num / den)
emit("day_marginal_H", pH1)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "queries.expected"), "w") as f:
    f.write("\n".join(out) + "\n")
