"""Reference EM runs for em_missing.gmm: Gaussian mixtures fitted to rows that miss some
entries, computed independently with NumPy/SciPy.

Each case is EM with the exact E-step for missing data, written out directly. For row n and
component k, with o the entries the row has and h the others:
- the responsibility comes from the marginal density of x_o (SciPy's multivariate_normal);
- E[x_h | x_o, k] = mu_h + S_ho S_oo^-1 (x_o - mu_o), the conditional mean;
- E[x x^T | x_o, k] adds C = S_hh - S_ho S_oo^-1 S_oh on the hidden block.
The M-step then uses these expected moments in the usual closed forms: a full covariance per
component, diagonal, spherical, or one tied covariance. A row that misses every entry carries
no evidence: it counts towards the mixture weights (its responsibilities are the weights) and
not towards the means and covariances.

    python3 tests/reference/em_missing.py

writes missing3.csv (300 rows from a 3-D, K = 3 mixture with 20% of the entries hidden at
random; it stays once written) and em_missing.expected (`label<TAB>shape<TAB>values`).
"""

import os

import numpy as np
from refio import HERE, emit, read, write
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def make_data(path):
    rng = np.random.default_rng(20)
    n = 300
    pi = np.array([0.3, 0.5, 0.2])
    mu = np.array([[0, 0, 0], [3, 1, -1], [-2, 3, 1]], dtype=float)
    A = rng.normal(size=(3, 3, 3)) * 0.5
    S = np.array([a @ a.T + np.eye(3) * 0.5 for a in A])
    z = rng.choice(3, size=n, p=pi)
    x = np.array([rng.multivariate_normal(mu[k], S[k]) for k in z])
    x[rng.random(x.shape) < 0.2] = np.nan
    with open(path, "w") as f:
        f.write("x[0],x[1],x[2]\n")
        for row in x:
            f.write(",".join("NA" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def em(x, pi, mu, S, iters, kind):
    """`iters` EM iterations; `kind` is full, diag, iso or tied. Returns the parameters and the
    log-likelihood after each M-step."""
    n, d = x.shape
    K = len(pi)
    seen = ~np.isnan(x)
    any_seen = seen.any(axis=1)
    trace = []

    def estep(pi, mu, S):
        lj = np.zeros((n, K))
        for i in range(n):
            o = seen[i]
            for k in range(K):
                lp = 0.0
                if o.any():
                    lp = multivariate_normal.logpdf(x[i, o], mu[k][o], S[k][np.ix_(o, o)])
                lj[i, k] = np.log(pi[k]) + lp
        ll = logsumexp(lj, axis=1)
        return np.exp(lj - ll[:, None]), ll.sum()

    def moments(mu, S):
        """Per row and component: E[x | x_o] and E[x x^T | x_o]."""
        m1 = np.zeros((n, K, d))
        m2 = np.zeros((n, K, d, d))
        for i in range(n):
            o, h = seen[i], ~seen[i]
            for k in range(K):
                xh = x[i].copy()
                C = np.zeros((d, d))
                if h.any():
                    G = S[k][np.ix_(h, o)] @ np.linalg.inv(S[k][np.ix_(o, o)])
                    xh[h] = mu[k][h] + G @ (x[i, o] - mu[k][o])
                    C[np.ix_(h, h)] = S[k][np.ix_(h, h)] - G @ S[k][np.ix_(o, h)]
                m1[i, k] = xh
                m2[i, k] = np.outer(xh, xh) + C
        return m1, m2

    r, _ = estep(pi, mu, S)
    for _ in range(iters):
        m1, m2 = moments(mu, S)
        pi = r.sum(axis=0) / n
        w = r * any_seen[:, None]
        nk = w.sum(axis=0)
        mu = np.einsum("nk,nkd->kd", w, m1) / nk[:, None]
        second = np.einsum("nk,nkde->kde", w, m2)
        cov = np.array([second[k] / nk[k] - np.outer(mu[k], mu[k]) for k in range(K)])
        if kind == "full":
            S = cov
        elif kind == "diag":
            S = np.array([np.diag(np.diag(c)) for c in cov])
        elif kind == "iso":
            S = np.array([np.eye(d) * np.trace(c) / d for c in cov])
        elif kind == "tied":
            t = sum(nk[k] * cov[k] for k in range(K)) / nk.sum()
            S = np.array([t] * K)
        r, ll = estep(pi, mu, S)
        trace.append(ll)
    return pi, mu, S, trace


path = os.path.join(HERE, "missing3.csv")
if not os.path.exists(path):
    make_data(path)
x = read(path)
pi0 = np.array([0.3, 0.4, 0.3])
mu0 = np.array([[0.5, 0.5, 0.5], [2.5, 1.5, -0.5], [-1.5, 2.5, 0.5]])
full0 = np.array([np.eye(3) * 1.5, np.eye(3) * 2.0, np.eye(3) * 1.0])
for kind in ["full", "diag", "iso", "tied"]:
    S0 = np.array([np.eye(3) * 1.5] * 3) if kind == "tied" else full0
    pi, mu, S, trace = em(x, pi0, mu0, S0, 20, kind)
    emit(f"{kind}_pi", pi)
    emit(f"{kind}_mu", mu)
    emit(f"{kind}_S", S[0] if kind == "tied" else S)
    emit(f"{kind}_loglik", trace[-1])
    emit(f"{kind}_trace", trace)

write("em_missing.expected")
