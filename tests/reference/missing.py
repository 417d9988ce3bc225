"""Reference values for missing.gmm, computed independently with NumPy and SciPy.

A row that misses some entries has the density of its observed sub-vector: under component k,
the MvNormal of the observed entries of mu_k with the observed rows and columns of S_k,
evaluated by scipy.stats.multivariate_normal; the mixture sums over k with logsumexp. A row
that misses every entry has density 1. Run it from anywhere:

    python3 tests/reference/missing.py

It writes missing.expected beside itself: one line per printed value,
`label<TAB>shape<TAB>values`, with values in Python's shortest round-trip repr.
"""

import numpy as np
from refio import emit, write
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

NA = np.nan


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

# ---- Sub-vector distributions (GMM regression) ----------------------------------------------
# The entries `ask` of x given the entries `row` has: under component k the conditional Normal
# mu_a + S_ao S_oo^-1 (x_o - mu_o), S_aa - S_ao S_oo^-1 S_oa; mixed by p(z = k | x_o).


def cond_component(mu, S, row, ask):
    row = np.asarray(row, dtype=float)
    o = ~np.isnan(row)
    a = np.array(ask)
    if not o.any():
        return mu[a], S[np.ix_(a, a)]
    G = S[np.ix_(a, o)] @ np.linalg.inv(S[np.ix_(o, o)])
    return mu[a] + G @ (row[o] - mu[o]), S[np.ix_(a, a)] - G @ S[np.ix_(o, a)]


def cond_mixture(pi, mu, S, row, ask):
    w = posterior(pi, mu, S, row)
    comps = [cond_component(mu[k], S[k] if S.ndim == 3 else S, row, ask) for k in range(len(pi))]
    m = sum(w[k] * comps[k][0] for k in range(len(pi)))
    v = sum(w[k] * (comps[k][1] + np.outer(comps[k][0], comps[k][0])) for k in range(len(pi)))
    return w, comps, m, v - np.outer(m, m)


pi = np.array([0.4, 0.6])
mu = np.array([[0, 0], [2.5, 1]], dtype=float)
S = np.array([[[1, 0.6], [0.6, 2]], [[0.5, -0.2], [-0.2, 0.8]]])
w, comps, m, v = cond_mixture(pi, mu, S, [1.2, NA], [1])
emit("r2_weights", w)
emit("r2_component_means", [c[0][0] for c in comps])
emit("r2_component_vars", [c[1][0, 0] for c in comps])
emit("r2_mean", m[0])
emit("r2_var", v[0, 0])
emit("r2_pdf", sum(w[k] * norm.pdf(0.7, comps[k][0][0], np.sqrt(comps[k][1][0, 0])) for k in range(2)))
emit("r2_cdf", sum(w[k] * norm.cdf(0.7, comps[k][0][0], np.sqrt(comps[k][1][0, 0])) for k in range(2)))
a_rows = [-1.0, 0.3, 1.2, 2.8]
emit("r2_means_rows", [cond_mixture(pi, mu, S, [a, NA], [1])[2][0] for a in a_rows])
emit("r2_vars_rows", [cond_mixture(pi, mu, S, [a, NA], [1])[3][0, 0] for a in a_rows])
emit("r2_first_given_second", [cond_mixture(pi, mu, S, [NA, 0.4], [0])[2][0]])

pi = np.array([0.55, 0.45])
mu = np.array([[0, 1, -1, 2], [1.5, -0.5, 0, 1]], dtype=float)
S = np.array(
    [[2, 0.3, 0.1, -0.2], [0.3, 1, 0.2, 0], [0.1, 0.2, 1.5, 0.4], [-0.2, 0, 0.4, 1.2]]
)
cm, cc = cond_component(mu[0], S, [1.5, NA, NA, NA], [1, 2])
emit("r4_component0_mean", cm)
emit("r4_component0_cov", cc)
w, comps, m, v = cond_mixture(pi, mu, S, [0.5, NA, NA, 1.0], [1, 2])
emit("r4_mean", m)
emit("r4_cov", v)

# ---- impute: each missing x entry by E[x_h | x_o] = sum_k p(z = k | row) E[x_h | x_o, z = k]
# (z's own value where the row gives it), each missing z by its most probable value. --------
pi = np.array([0.4, 0.6])
mu = np.array([[0, 0], [2.5, 1]], dtype=float)
S = np.array([[[1, 0.6], [0.6, 2]], [[0.5, -0.2], [-0.2, 0.8]]])
z_col = [NA, 1, NA, 0, NA, 1]
x_rows = [[1.2, NA], [NA, 0.4], [NA, NA], [0.5, NA], [0.1, 2.0], [NA, NA]]
imputed = []
for z, row in zip(z_col, x_rows):
    row = np.asarray(row, dtype=float)
    w = posterior(pi, mu, S, row)
    if not np.isnan(z):
        w = np.eye(2)[int(z)]
    h = np.isnan(row)
    filled = row.copy()
    if h.any():
        ask = list(np.where(h)[0])
        filled[h] = sum(w[k] * cond_component(mu[k], S[k], row, ask)[0] for k in range(2))
    imputed.append([float(np.argmax(w)) if np.isnan(z) else z, filled[0], filled[1]])
emit("imputed", imputed)

write("missing.expected")
