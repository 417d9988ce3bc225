"""Reference MAP-EM runs for em_priors.gmm, computed independently with NumPy/SciPy.

Each case is EM for the posterior mode written out directly: an N x K responsibility matrix,
then the conditional-maximisation M-step with each prior's conjugate terms, in gmm's order
(probabilities; means under the current spreads; spreads around the new means):
- Dirichlet(alpha) on a simplex: (counts + alpha - 1) / (N + sum(alpha) - K);
- Beta(a, b) on a Bernoulli probability: (ones + a - 1) / (N + a + b - 2);
- Normal(m, s) on each entry of a mean: the precision-weighted combination
  (sum_n r x / sigma^2 + m / s^2) / (N_k / sigma^2 + 1 / s^2), with the matrix form for vectors;
- InvGamma(a, b) on a variance: (S + 2b) / (N + 2a + 2) (diag: each variance; iso: the one
  variance, with S the trace and N times n);
- InvWishart(nu, Psi) on a covariance: (S + Psi) / (N + nu + n + 1), tied or per component.
The objective is the log-likelihood plus each prior's log density (SciPy's logpdf; InvGamma and
InvWishart of the variance or covariance itself). reg = 0 throughout.

    python3 tests/reference/em_priors.py

writes em_priors.expected beside itself (`label<TAB>shape<TAB>values`).
"""

import os

import numpy as np
from refio import EXAMPLES, HERE, emit, read, write
from scipy.special import logsumexp
from scipy.stats import dirichlet, invgamma, invwishart, multivariate_normal, norm, beta


def emit_run(name, params, trace):
    for k, v in params.items():
        emit(f"{name}_{k}", v)
    emit(f"{name}_logpost", trace[-1])
    emit(f"{name}_trace", trace)


# ---- A: 1-D, K = 2 on the lecture's grades ---------------------------------------------------
g = read(os.path.join(EXAMPLES, "lecture_grades.csv"))
x = g[:, 0]
pi, mu, sd = np.array([0.5, 0.5]), np.array([2.0, 4.0]), np.array([1.0, 1.0])
alpha, (m0, s0), (a0, b0) = 2.0, (0.0, 10.0), (2.0, 1.0)


def objective_a(pi, mu, sd):
    lj = np.log(pi) + norm.logpdf(x[:, None], mu, sd)
    ll = logsumexp(lj, axis=1).sum()
    lp = dirichlet.logpdf(pi, [alpha, alpha]) + norm.logpdf(mu, m0, s0).sum()
    lp += invgamma.logpdf(sd**2, a0, scale=b0).sum()
    return ll + lp, lj


trace = []
for _ in range(20):
    _, lj = objective_a(pi, mu, sd)
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    pi = (nk + alpha - 1) / (len(x) + 2 * alpha - 2)
    prec = nk / sd**2 + 1 / s0**2
    mu = ((r * x[:, None]).sum(axis=0) / sd**2 + m0 / s0**2) / prec
    ss = (r * (x[:, None] - mu) ** 2).sum(axis=0)
    sd = np.sqrt((ss + 2 * b0) / (nk + 2 * a0 + 2))
    trace.append(objective_a(pi, mu, sd)[0])
emit_run("grades", {"pi": pi, "mu": mu, "sigma": sd}, trace)

# ---- B: a Categorical and a Bernoulli feature beside x (catfeature.csv) -----------------------
cf = read(os.path.join(HERE, "catfeature.csv"))
c, x = cf[:, 0].astype(int), cf[:, 1]
b = (c == 2).astype(float)
pi = np.array([0.5, 0.5])
theta = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
q = np.array([0.3, 0.6])
mu, sd = np.array([-0.5, 2.0]), np.array([1.0, 1.0])
a_pi, a_theta, (qa, qb), (m0, s0) = np.array([2.0, 3.0]), np.array([2.0, 2.0, 3.0]), (2.0, 3.0), (0.0, 5.0)


def objective_b(pi, theta, q, mu, sd):
    lj = (
        np.log(pi)
        + np.log(theta[:, c].T)
        + np.where(b[:, None] == 1, np.log(q), np.log(1 - q))
        + norm.logpdf(x[:, None], mu, sd)
    )
    ll = logsumexp(lj, axis=1).sum()
    lp = dirichlet.logpdf(pi, a_pi) + sum(dirichlet.logpdf(t, a_theta) for t in theta)
    lp += beta.logpdf(q, qa, qb).sum() + norm.logpdf(mu, m0, s0).sum()
    return ll + lp, lj


trace = []
for _ in range(20):
    _, lj = objective_b(pi, theta, q, mu, sd)
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    pi = (nk + a_pi - 1) / (len(x) + a_pi.sum() - 2)
    counts = np.array([[r[c == j, k].sum() for j in range(3)] for k in range(2)])
    theta = (counts + a_theta - 1) / (nk[:, None] + a_theta.sum() - 3)
    q = ((r * b[:, None]).sum(axis=0) + qa - 1) / (nk + qa + qb - 2)
    prec = nk / sd**2 + 1 / s0**2
    mu = ((r * x[:, None]).sum(axis=0) / sd**2 + m0 / s0**2) / prec
    sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(axis=0) / nk)  # no prior: maximum likelihood
    trace.append(objective_b(pi, theta, q, mu, sd)[0])
emit_run("features", {"pi": pi, "theta": theta, "q": q, "mu": mu, "sigma": sd}, trace)

# ---- C to F: 2-D on the lecture's blobs: full, diagonal, spherical and tied covariances ------
X = read(os.path.join(EXAMPLES, "lecture_blobs2d.csv"))
n, d = X.shape
pi0 = np.array([0.3, 0.3, 0.4])
mu0 = np.array([[-4.0, -1.0], [0.0, 0.0], [3.0, 2.0]])
S0 = np.array([np.eye(2) * 2.0, np.eye(2) * 1.0, np.eye(2) * 1.5])
m0, s0 = 0.0, 5.0


def run_2d(kind, prior, iters=20):
    pi, mu, S = pi0.copy(), mu0.copy(), S0.copy()
    if kind == "tied":
        S = np.array([np.eye(2) * 1.5] * 3)
    K = len(pi)

    def logprior(pi, mu, S):
        lp = dirichlet.logpdf(pi, [2.0] * K) + norm.logpdf(mu, m0, s0).sum()
        if kind == "full":
            nu, psi = prior
            lp += sum(invwishart.logpdf(S[k], df=nu, scale=psi) for k in range(K))
        elif kind == "tied":
            nu, psi = prior
            lp += invwishart.logpdf(S[0], df=nu, scale=psi)
        elif kind == "diag":
            a, b = prior
            lp += sum(invgamma.logpdf(S[k][i, i], a, scale=b) for k in range(K) for i in range(d))
        elif kind == "iso":
            a, b = prior
            lp += sum(invgamma.logpdf(S[k][0, 0], a, scale=b) for k in range(K))
        return lp

    def estep(pi, mu, S):
        lj = np.column_stack(
            [np.log(pi[k]) + multivariate_normal.logpdf(X, mu[k], S[k]) for k in range(K)]
        )
        return lj, logsumexp(lj, axis=1).sum()

    trace = []
    lj, _ = estep(pi, mu, S)
    for _ in range(iters):
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        pi = (nk + 2.0 - 1) / (n + 2.0 * K - K)
        new_mu = np.zeros_like(mu)
        for k in range(K):
            P = np.linalg.inv(S[k])
            A = nk[k] * P + np.eye(d) / s0**2
            rhs = P @ (r[:, k] @ X) + m0 / s0**2
            new_mu[k] = np.linalg.solve(A, rhs)
        mu = new_mu
        scat = np.array([(r[:, k, None] * (X - mu[k])).T @ (X - mu[k]) for k in range(K)])
        if kind == "full":
            nu, psi = prior
            S = np.array([(scat[k] + psi) / (nk[k] + nu + d + 1) for k in range(K)])
        elif kind == "tied":
            nu, psi = prior
            t = (scat.sum(axis=0) + psi) / (n + nu + d + 1)
            S = np.array([t] * K)
        elif kind == "diag":
            a, b = prior
            S = np.array(
                [np.diag((np.diag(scat[k]) + 2 * b) / (nk[k] + 2 * a + 2)) for k in range(K)]
            )
        elif kind == "iso":
            a, b = prior
            S = np.array(
                [np.eye(d) * (np.trace(scat[k]) + 2 * b) / (d * nk[k] + 2 * a + 2) for k in range(K)]
            )
        lj, ll = estep(pi, mu, S)
        trace.append(ll + logprior(pi, mu, S))
    return pi, mu, (S[0] if kind == "tied" else S), trace


for kind, prior in [
    ("full", (4.0, np.eye(2) * 0.5)),
    ("diag", (2.0, 0.5)),
    ("iso", (3.0, 1.0)),
    ("tied", (5.0, np.eye(2))),
]:
    pi, mu, S, trace = run_2d(kind, prior)
    emit_run(kind, {"pi": pi, "mu": mu, "S": S}, trace)

write("em_priors.expected")
