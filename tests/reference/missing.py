"""Reference values for missing.gmm, computed independently with NumPy and SciPy.

A row that misses some entries has the density of its observed sub-vector: under component k,
the MvNormal of the observed entries of mu_k with the observed rows and columns of S_k,
evaluated by scipy.stats.multivariate_normal; the mixture sums over k with logsumexp. A row
that misses every entry has density 1. Run it from anywhere:

    python3 tests/reference/missing.py

It writes missing.expected beside itself: one line per printed value,
`label<TAB>shape<TAB>values`, with values in Python's shortest round-trip repr.
"""

import os

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

NA = np.nan
out = []


def emit(label, value):
    a = np.asarray(value, dtype=float)
    shape = "x".join(str(d) for d in a.shape) or "scalar"
    out.append(f"{label}\t{shape}\t{' '.join(repr(float(v)) for v in a.ravel())}")


def logjoint(pi, mu, S, row):
    """log p(z = k, x_observed) for each k."""
    row = np.asarray(row, dtype=float)
    seen = ~np.isnan(row)
    res = []
    for k in range(len(pi)):
        Sk = S[k] if S.ndim == 3 else S
        if seen.any():
            lp = multivariate_normal.logpdf(row[seen], mu[k][seen], Sk[np.ix_(seen, seen)])
        else:
            lp = 0.0
        res.append(np.log(pi[k]) + lp)
    return np.array(res)


def marginal(pi, mu, S, row):
    return np.exp(logsumexp(logjoint(pi, mu, S, row)))


def log_marginal(pi, mu, S, row):
    return logsumexp(logjoint(pi, mu, S, row))


def posterior(pi, mu, S, row):
    lj = logjoint(pi, mu, S, row)
    return np.exp(lj - logsumexp(lj))


# D = 2, full covariance per component.
pi = np.array([0.4, 0.6])
mu = np.array([[0, 0], [2.5, 1]], dtype=float)
S = np.array([[[1, 0.6], [0.6, 2]], [[0.5, -0.2], [-0.2, 0.8]]])
rows = [[1.5, NA], [NA, 0.3], [NA, NA], [0.2, 0.9], [3.0, NA]]
emit("m2_marginal_first", marginal(pi, mu, S, [1.5, NA]))
emit("m2_log_marginal_second", log_marginal(pi, mu, S, [NA, 0.3]))
emit("m2_joint", np.exp(logjoint(pi, mu, S, [NA, 0.3])[1]))
emit("m2_posterior", posterior(pi, mu, S, [1.5, NA]))
emit("m2_marginal_rows", [marginal(pi, mu, S, r) for r in rows])
emit("m2_posterior_rows", [posterior(pi, mu, S, r) for r in rows])

# D = 3, diagonal per component, K = 3.
pi = np.array([0.2, 0.3, 0.5])
mu = np.array([[0, 1, 2], [2, 0, -1], [-1, -1, 0.5]], dtype=float)
S = np.array([np.diag([1, 2, 3]), np.diag([0.5, 1, 1.5]), np.diag([2, 0.3, 0.7])], dtype=float)
rows = [[1, NA, 2], [NA, -0.5, NA], [0.3, 0.2, NA], [NA, NA, NA], [0.1, -0.4, 0.9]]
emit("m3_marginal", marginal(pi, mu, S, [1, NA, 2]))
emit("m3_posterior_rows", [posterior(pi, mu, S, r) for r in rows])
emit("m3_log_marginal_rows", [log_marginal(pi, mu, S, r) for r in rows])

# D = 4, tied full covariance.
pi = np.array([0.55, 0.45])
mu = np.array([[0, 1, -1, 2], [1.5, -0.5, 0, 1]], dtype=float)
S = np.array(
    [[2, 0.3, 0.1, -0.2], [0.3, 1, 0.2, 0], [0.1, 0.2, 1.5, 0.4], [-0.2, 0, 0.4, 1.2]]
)
rows = [[NA, 0.5, NA, 1.8], [0.7, NA, -0.3, NA], [1, 0, 0, 1], [NA, NA, 0.2, NA]]
emit("m4_marginal", marginal(pi, mu, S, [NA, 0.5, NA, 1.8]))
emit("m4_posterior_rows", [posterior(pi, mu, S, r) for r in rows])
emit("m4_log_marginal_rows", [log_marginal(pi, mu, S, r) for r in rows])

# D = 3, spherical per component.
pi = np.array([0.5, 0.5])
mu = np.array([[0, 0, 0], [1, 2, 3]], dtype=float)
S = np.array([0.5 * np.eye(3), 2 * np.eye(3)])
rows = [[0.5, NA, 1], [NA, 1.5, NA], [0.2, 0.4, 2.5]]
emit("i3_posterior_rows", [posterior(pi, mu, S, r) for r in rows])
emit("i3_log_marginal_rows", [log_marginal(pi, mu, S, r) for r in rows])

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "missing.expected"), "w") as f:
    f.write("\n".join(out) + "\n")
