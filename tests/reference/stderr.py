"""Reference standard errors for stderr.gmm, computed independently with NumPy/SciPy.

Each case fits by EM to convergence (its own implementation, from the same start as gmm), then
takes the central finite-difference Hessian of the marginal log-likelihood (or log posterior)
in free coordinates, inverts its negative, and maps it to the parameters' entries by the delta
method: a simplex's free coordinates are all its entries but one (the left-out entry is one
minus the others), a covariance's its lower triangle, a `positive` sd itself. The simplex
entries' errors are computed twice, leaving out the last entry and leaving out the first, and
the script stops unless they agree (to the 1e-4 of the finite differences): they do not
depend on the choice. A K = 3 case leaves out each of the three entries in turn.

    python3 tests/reference/stderr.py

writes stderr.expected beside itself (`label<TAB>shape<TAB>values`).
"""

import os

import numpy as np
from refio import EXAMPLES, emit, read, write
from scipy.special import logsumexp
from scipy.stats import dirichlet, invgamma, multivariate_normal, norm


def fd_hessian(f, theta, scale):
    """Central differences of f at theta, step 1e-4 times each coordinate's scale."""
    p = len(theta)
    h = 1e-4 * scale
    H = np.zeros((p, p))
    for i in range(p):
        for j in range(i, p):
            def at(si, sj):
                t = theta.copy()
                t[i] += si * h[i]
                t[j] += sj * h[j]
                return f(t)
            v = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h[i] * h[j])
            H[i, j] = H[j, i] = v
    return H


def delta_se(V, J):
    """Standard errors of the entries J @ theta."""
    return np.sqrt(np.einsum("ij,jk,ik->i", J, V, J))


# ---- 1-D, K = 2 on the grades; then with sigma held fixed; then with priors ------------------
x = read(os.path.join(EXAMPLES, "lecture_grades.csv"))[:, 0]


def em_1d(pi, mu, sd, iters, fix_sd=False, prior=None):
    for _ in range(iters):
        lj = np.log(pi) + norm.logpdf(x[:, None], mu, sd)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        if prior:
            (alpha, (m0, s0), (a0, b0)) = prior
            pi = (nk + alpha - 1) / (len(x) + 2 * alpha - 2)
            mu = ((r * x[:, None]).sum(axis=0) / sd**2 + m0 / s0**2) / (nk / sd**2 + 1 / s0**2)
            sd = np.sqrt(((r * (x[:, None] - mu) ** 2).sum(axis=0) + 2 * b0) / (nk + 2 * a0 + 2))
        else:
            pi = nk / len(x)
            mu = (r * x[:, None]).sum(axis=0) / nk
            if not fix_sd:
                sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(axis=0) / nk)
    return pi, mu, sd


def ll_1d(pi, mu, sd):
    return logsumexp(np.log(pi) + norm.logpdf(x[:, None], mu, sd), axis=1).sum()


# theta = (pi_0, mu_0, mu_1, sd_0, sd_1); pi_1 = 1 - pi_0.
pi, mu, sd = em_1d(np.array([0.5, 0.5]), np.array([2.0, 4.0]), np.array([1.0, 1.0]), 5000)
theta = np.concatenate([[pi[0]], mu, sd])
f = lambda t: ll_1d(np.array([t[0], 1 - t[0]]), t[1:3], t[3:5])
V = np.linalg.inv(-fd_hessian(f, theta, np.maximum(np.abs(theta), 0.1)))
J = np.zeros((6, 5))
J[0, 0], J[1, 0] = 1, -1
J[2:, 1:] = np.eye(4)
se = delta_se(V, J)
# The same from the other free coordinate of the simplex (pi_1).
theta2 = np.concatenate([[pi[1]], mu, sd])
f2 = lambda t: ll_1d(np.array([1 - t[0], t[0]]), t[1:3], t[3:5])
V2 = np.linalg.inv(-fd_hessian(f2, theta2, np.maximum(np.abs(theta2), 0.1)))
J2 = J.copy()
J2[0, 0], J2[1, 0] = -1, 1
se2 = delta_se(V2, J2)
assert np.allclose(se, se2, rtol=1e-6), (se, se2)
emit("grades_pi", se[0:2])
emit("grades_mu", se[2:4])
emit("grades_sigma", se[4:6])

# sigma held at [0.6, 0.35]: theta = (pi_0, mu_0, mu_1), sigma's errors are 0.
fixed_sd = np.array([0.6, 0.35])
pi, mu, _ = em_1d(np.array([0.5, 0.5]), np.array([2.0, 4.0]), fixed_sd, 5000, fix_sd=True)
theta = np.concatenate([[pi[0]], mu])
f = lambda t: ll_1d(np.array([t[0], 1 - t[0]]), t[1:3], fixed_sd)
V = np.linalg.inv(-fd_hessian(f, theta, np.maximum(np.abs(theta), 0.1)))
J = np.zeros((4, 3))
J[0, 0], J[1, 0] = 1, -1
J[2:, 1:] = np.eye(2)
se = delta_se(V, J)
emit("fixed_pi", se[0:2])
emit("fixed_mu", se[2:4])
emit("fixed_sigma", [0.0, 0.0])

# With priors: the log posterior's information.
prior = (2.0, (0.0, 10.0), (2.0, 1.0))
pi, mu, sd = em_1d(np.array([0.5, 0.5]), np.array([2.0, 4.0]), np.array([1.0, 1.0]), 5000, prior=prior)
theta = np.concatenate([[pi[0]], mu, sd])


def lpost(t):
    p, m, s = np.array([t[0], 1 - t[0]]), t[1:3], t[3:5]
    return (
        ll_1d(p, m, s)
        + dirichlet.logpdf(p, [2.0, 2.0])
        + norm.logpdf(m, 0.0, 10.0).sum()
        + invgamma.logpdf(s**2, 2.0, scale=1.0).sum()
    )


V = np.linalg.inv(-fd_hessian(lpost, theta, np.maximum(np.abs(theta), 0.1)))
J = np.zeros((6, 5))
J[0, 0], J[1, 0] = 1, -1
J[2:, 1:] = np.eye(4)
se = delta_se(V, J)
emit("map_pi", se[0:2])
emit("map_mu", se[2:4])
emit("map_sigma", se[4:6])

# ---- K = 3: the simplex's free coordinates left out in each of three ways --------------------
x3 = read(os.path.join(EXAMPLES, "lecture_blobs2d.csv"))[:, 0]


def em_k3(pi, mu, sd, iters):
    for _ in range(iters):
        lj = np.log(pi) + norm.logpdf(x3[:, None], mu, sd)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        pi, mu = nk / len(x3), (r * x3[:, None]).sum(axis=0) / nk
        sd = np.sqrt((r * (x3[:, None] - mu) ** 2).sum(axis=0) / nk)
    return pi, mu, sd


pi, mu, sd = em_k3(np.array([0.3, 0.3, 0.4]), np.array([-4.0, 0.0, 3.0]), np.ones(3), 20000)
ses = []
for left_out in range(3):
    keep = [k for k in range(3) if k != left_out]
    theta = np.concatenate([pi[keep], mu, sd])

    def f(t, keep=keep, left_out=left_out):
        p = np.zeros(3)
        p[keep] = t[0:2]
        p[left_out] = 1 - t[0:2].sum()
        return logsumexp(np.log(p) + norm.logpdf(x3[:, None], t[2:5], t[5:8]), axis=1).sum()

    V = np.linalg.inv(-fd_hessian(f, theta, np.maximum(np.abs(theta), 0.1)))
    J = np.zeros((9, 8))
    for j, k in enumerate(keep):
        J[k, j] = 1
    J[left_out, 0:2] = -1
    J[3:, 2:] = np.eye(6)
    ses.append(delta_se(V, J))
assert all(np.allclose(ses[0], s, rtol=1e-4) for s in ses), ses
emit("k3_pi", ses[0][0:3])
emit("k3_mu", ses[0][3:6])
emit("k3_sigma", ses[0][6:9])

# ---- 2-D, K = 2 on the lecture's blobs: full and diagonal covariances -------------------------
X = read(os.path.join(EXAMPLES, "lecture_blobs2d.csv"))
n, d = X.shape


def em_2d(pi, mu, S, iters, diag=False):
    for _ in range(iters):
        lj = np.column_stack([np.log(pi[k]) + multivariate_normal.logpdf(X, mu[k], S[k]) for k in range(2)])
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        pi = nk / n
        mu = (r.T @ X) / nk[:, None]
        S = np.array([(r[:, k, None] * (X - mu[k])).T @ (X - mu[k]) / nk[k] for k in range(2)])
        if diag:
            S = np.array([np.diag(np.diag(s)) for s in S])
    return pi, mu, S


def ll_2d(pi, mu, S):
    lj = np.column_stack([np.log(pi[k]) + multivariate_normal.logpdf(X, mu[k], S[k]) for k in range(2)])
    return logsumexp(lj, axis=1).sum()


start = (
    np.array([0.5, 0.5]),
    np.array([[-1.0, -1.0], [-2.0, 1.0]]),
    np.array([np.eye(2), np.eye(2)]),
)
for kind in ["full", "diag"]:
    pi, mu, S = em_2d(*start, 3000, diag=kind == "diag")
    # theta = pi_0, mu (4), then per component the lower triangle (s00, s10, s11) or the
    # diagonal (s00, s11).
    if kind == "full":
        cov_t = lambda s: [s[0, 0], s[1, 0], s[1, 1]]
        cov_m = lambda t: np.array([[t[0], t[1]], [t[1], t[2]]])
        w = 3
    else:
        cov_t = lambda s: [s[0, 0], s[1, 1]]
        cov_m = lambda t: np.diag(t)
        w = 2
    theta = np.array([pi[0], *mu.ravel(), *cov_t(S[0]), *cov_t(S[1])])

    def f(t):
        p = np.array([t[0], 1 - t[0]])
        m = t[1:5].reshape(2, 2)
        s = [cov_m(t[5:5 + w]), cov_m(t[5 + w:5 + 2 * w])]
        return ll_2d(p, m, s)

    V = np.linalg.inv(-fd_hessian(f, theta, np.maximum(np.abs(theta), 0.1)))
    # Entries: pi (2), mu (4), S (2 x 2 x 2).
    J = np.zeros((14, len(theta)))
    J[0, 0], J[1, 0] = 1, -1
    J[2:6, 1:5] = np.eye(4)
    for k in range(2):
        base = 5 + k * w
        for i in range(2):
            for j in range(2):
                row = 6 + k * 4 + i * 2 + j
                if kind == "full":
                    a, b = max(i, j), min(i, j)
                    J[row, base + a * (a + 1) // 2 + b] = 1
                elif i == j:
                    J[row, base + i] = 1
    se = delta_se(V, J)
    emit(f"{kind}_pi", se[0:2])
    emit(f"{kind}_mu", se[2:6].reshape(2, 2))
    emit(f"{kind}_S", se[6:14].reshape(2, 2, 2))

write("stderr.expected")
