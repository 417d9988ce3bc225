"""Reference EM runs for em.gmm, computed independently with NumPy/SciPy (and scikit-learn).

Each case is textbook EM written out directly: an N×K responsibility matrix from the E-step,
then the closed-form M-step with plain (uncentred) weighted sums. The tied, diagonal and
spherical runs are also done by scikit-learn's GaussianMixture from the same start, and the
script stops unless both agree to 1e-8 relative; their values are written too.

    python3 tests/reference/em.py

writes em.expected beside itself (`label<TAB>shape<TAB>values`), and the data sets the cases
use (twolevel.csv, catfeature.csv, semi.csv) when they are missing. It also writes
faithful.expected: the best Old Faithful K = 2 log-likelihood scikit-learn finds in 100 starts.
"""

import os
import warnings

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
out = []


def emit(label, value):
    a = np.asarray(value, dtype=float)
    shape = "x".join(str(d) for d in a.shape) or "scalar"
    out.append(f"{label}\t{shape}\t{' '.join(repr(float(v)) for v in a.ravel())}")


def read_csv(path):
    import pandas as pd

    return pd.read_csv(path)


def write_csv(path, cols):
    names = list(cols)
    n = len(cols[names[0]])
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            cells = []
            for k in names:
                v = cols[k][i]
                if isinstance(v, float) and np.isnan(v):
                    cells.append("NA")
                elif float(v).is_integer() and k in ("z", "g", "c"):
                    cells.append(str(int(v)))
                else:
                    cells.append(repr(float(v)))
            f.write(",".join(cells) + "\n")


# ---- 1-D mixtures --------------------------------------------------------------------------


def em_1d(x, pi, mu, sd, iters, reg, z=None, fix_pi=False):
    """Textbook EM for a K-component 1-D mixture; z gives known components (NaN: unknown)."""
    pi, mu, sd = np.array(pi, float), np.array(mu, float), np.array(sd, float)

    def logjoint(pi, mu, sd):
        lj = np.log(pi)[None, :] + norm.logpdf(x[:, None], mu[None, :], sd[None, :])
        if z is not None:
            known = ~np.isnan(z)
            mask = np.zeros_like(lj, dtype=bool)
            mask[known] = True
            onehot = np.zeros_like(lj, dtype=bool)
            onehot[np.where(known)[0], z[known].astype(int)] = True
            lj = np.where(mask & ~onehot, -np.inf, lj)
        return lj

    trace = []
    for _ in range(iters):
        lj = logjoint(pi, mu, sd)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        if not fix_pi:
            pi = nk / nk.sum()
        mu = (r * x[:, None]).sum(axis=0) / nk
        sd = np.sqrt((r * (x[:, None] - mu[None, :]) ** 2).sum(axis=0) / nk + reg)
        trace.append(logsumexp(logjoint(pi, mu, sd), axis=1).sum())
    return pi, mu, sd, trace


grades = read_csv(os.path.join(EXAMPLES, "lecture_grades.csv"))["x"].to_numpy()
start_1d = (
    [0.5000421237689607, 0.49995787623103927],
    [0.3745401188473625, 0.9507143064099162],
    [0.7319939418114051, 0.5986584841970366],
)
pi, mu, sd, trace = em_1d(grades, *start_1d, iters=100, reg=0.0)
emit("lecture1d_pi", pi)
emit("lecture1d_mu", mu)
emit("lecture1d_sigma", sd)
emit("lecture1d_loglik", trace[-1])
emit("lecture1d_trace", trace)

# pi held at its starting value.
pi, mu, sd, trace = em_1d(grades, [0.5, 0.5], [2.0, 4.0], [1.0, 1.0], iters=40, reg=0.0, fix_pi=True)
emit("fixedpi_pi", pi)
emit("fixedpi_mu", mu)
emit("fixedpi_sigma", sd)
emit("fixedpi_loglik", trace[-1])

# Semi-supervised: a sample from the lecture mixture where 1 row in 5 gives its component.
semi_path = os.path.join(HERE, "semi.csv")
if not os.path.exists(semi_path):
    rng = np.random.default_rng(20261126)
    n = 400
    zz = (rng.random(n) < 0.4).astype(float)
    xx = np.where(zz == 1, rng.normal(4.8, 0.3, n), rng.normal(2.5, 0.6, n))
    zz[rng.random(n) >= 0.2] = np.nan
    write_csv(semi_path, {"x": xx, "z": zz})
semi = read_csv(semi_path)
pi, mu, sd, trace = em_1d(
    semi["x"].to_numpy(), [0.5, 0.5], [2.0, 4.0], [1.0, 1.0], iters=30, reg=0.0, z=semi["z"].to_numpy()
)
emit("semi_pi", pi)
emit("semi_mu", mu)
emit("semi_sigma", sd)
emit("semi_loglik", trace[-1])

# ---- 2-D mixtures: full, tied, diagonal, spherical -----------------------------------------


def logdens(X, mu, cov):
    return np.stack([multivariate_normal(mu[k], cov[k]).logpdf(X) for k in range(len(mu))], axis=1)


def em_mv(X, pi, mu, cov, iters, reg, kind):
    """Textbook EM for a Gaussian mixture; cov is K×D×D; kind is full, tied, diag or spherical."""
    pi, mu, cov = np.array(pi, float), np.array(mu, float), np.array(cov, float)
    n, d = X.shape
    trace = []
    for _ in range(iters):
        lj = np.log(pi)[None, :] + logdens(X, mu, cov)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        nk = r.sum(axis=0)
        pi = nk / n
        mu = (r.T @ X) / nk[:, None]
        full = np.stack([((r[:, k, None] * (X - mu[k])).T @ (X - mu[k])) / nk[k] for k in range(len(nk))])
        if kind == "full":
            cov = full + reg * np.eye(d)
        elif kind == "tied":
            t = (X.T @ X - (nk[:, None] * mu).T @ mu) / n + reg * np.eye(d)
            cov = np.stack([t] * len(nk))
        elif kind == "diag":
            cov = np.stack([np.diag(np.diag(c)) + reg * np.eye(d) for c in full])
        elif kind == "spherical":
            cov = np.stack([(np.trace(c) / d + reg) * np.eye(d) for c in full])
        trace.append(logsumexp(np.log(pi)[None, :] + logdens(X, mu, cov), axis=1).sum())
    return pi, mu, cov, trace


blobs = read_csv(os.path.join(EXAMPLES, "lecture_blobs2d.csv"))[["x[0]", "x[1]"]].to_numpy()
start_pi = [0.6715696454048157, 0.3284303545951843]
start_mu = [[-0.8423252105712891, -0.41325628757476807], [-2.028988838195801, 0.07374124228954315]]
start_cov = [
    [[0.7571597099304199, -0.9234713912010193], [-0.9234713912010193, 5.15791654586792]],
    [[4.820520401000977, -0.6846930384635925], [-0.6846930384635925, 2.4177849292755127]],
]
pi, mu, cov, trace = em_mv(blobs, start_pi, start_mu, start_cov, iters=100, reg=1e-8, kind="full")
emit("lecture2d_pi", pi)
emit("lecture2d_mu", mu)
emit("lecture2d_S", cov)
emit("lecture2d_loglik", trace[-1])
emit("lecture2d_trace", trace)

variants = {
    "tied": [[[1.0, 0.2], [0.2, 1.5]]] * 2,
    "diag": [[[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, 1.0]]],
    "spherical": [[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 2.0]]],
}
from sklearn.mixture import GaussianMixture

for kind, cov0 in variants.items():
    pi, mu, cov, trace = em_mv(blobs, start_pi, start_mu, cov0, iters=50, reg=1e-6, kind=kind)
    label = {"tied": "tied", "diag": "diag", "spherical": "iso"}[kind]
    emit(f"{label}_pi", pi)
    emit(f"{label}_mu", mu)
    shown = cov[0] if kind == "tied" else cov
    emit(f"{label}_S", shown)
    emit(f"{label}_loglik", trace[-1])
    # scikit-learn from the same start, for the same 50 iterations.
    c0 = np.array(cov0)
    prec = {
        "tied": np.linalg.inv(c0[0]),
        "diag": 1.0 / np.array([np.diag(c) for c in c0]),
        "spherical": 1.0 / c0[:, 0, 0],
    }[kind]
    gm = GaussianMixture(
        2,
        covariance_type=kind,
        weights_init=start_pi,
        means_init=start_mu,
        precisions_init=prec,
        max_iter=50,
        tol=0,
        reg_covar=1e-6,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(blobs)
    if kind == "tied":
        sk_cov = gm.covariances_
    elif kind == "diag":
        sk_cov = np.array([np.diag(c) for c in gm.covariances_])
    else:
        sk_cov = np.array([v * np.eye(2) for v in gm.covariances_])
    for name, a, b in [("weights", gm.weights_, pi), ("means", gm.means_, mu), ("covariances", sk_cov, shown)]:
        err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
        assert err < 1e-8, f"{kind} {name}: scikit-learn and the reference differ by {err}"
    emit(f"{label}_sklearn_pi", gm.weights_)
    emit(f"{label}_sklearn_mu", gm.means_)
    emit(f"{label}_sklearn_S", sk_cov)

# ---- Two-level latents: g → z → x, and g → y -----------------------------------------------

two_path = os.path.join(HERE, "twolevel.csv")
if not os.path.exists(two_path):
    rng = np.random.default_rng(7)
    n = 600
    g = (rng.random(n) < 0.35).astype(int)
    pz = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    z = np.array([rng.choice(3, p=pz[gi]) for gi in g])
    x = rng.normal(np.array([-2.0, 1.0, 4.0])[z], np.array([0.8, 0.6, 1.0])[z])
    y = rng.normal(np.array([0.0, 3.0])[g], 1.0)
    write_csv(two_path, {"x": x, "y": y})
two = read_csv(two_path)
x2, y2 = two["x"].to_numpy(), two["y"].to_numpy()
pg = np.array([0.5, 0.5])
pz = np.array([[0.4, 0.3, 0.3], [0.3, 0.3, 0.4]])
mu = np.array([-1.0, 0.5, 3.0])
sd = np.array([1.0, 1.0, 1.0])
nu = np.array([-0.5, 2.0])
tau = 1.5


def joint2(pg, pz, mu, sd, nu, tau):
    # N × G × Z log joint of (g, z, x, y).
    return (
        np.log(pg)[None, :, None]
        + np.log(pz)[None, :, :]
        + norm.logpdf(x2[:, None, None], mu[None, None, :], sd[None, None, :])
        + norm.logpdf(y2[:, None, None], nu[None, :, None], tau)
    )


for _ in range(40):
    lj = joint2(pg, pz, mu, sd, nu, tau)
    r = np.exp(lj - logsumexp(lj, axis=(1, 2), keepdims=True))
    rg, rz = r.sum(axis=2), r.sum(axis=1)
    pg = rg.sum(axis=0) / rg.sum()
    pz = r.sum(axis=0) / r.sum(axis=0).sum(axis=1, keepdims=True)
    mu = (rz * x2[:, None]).sum(axis=0) / rz.sum(axis=0)
    sd = np.sqrt((rz * (x2[:, None] - mu) ** 2).sum(axis=0) / rz.sum(axis=0))
    nu = (rg * y2[:, None]).sum(axis=0) / rg.sum(axis=0)
    tau = np.sqrt((rg * (y2[:, None] - nu) ** 2).sum() / rg.sum())
emit("twolevel_pg", pg)
emit("twolevel_pz", pz)
emit("twolevel_mu", mu)
emit("twolevel_sigma", sd)
emit("twolevel_nu", nu)
emit("twolevel_tau", tau)
emit("twolevel_loglik", logsumexp(joint2(pg, pz, mu, sd, nu, tau), axis=(1, 2)).sum())

# ---- An observed Categorical feature: z → c, z → x -----------------------------------------

cat_path = os.path.join(HERE, "catfeature.csv")
if not os.path.exists(cat_path):
    rng = np.random.default_rng(11)
    n = 500
    z = (rng.random(n) < 0.45).astype(int)
    th = np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    c = np.array([rng.choice(3, p=th[zi]) for zi in z])
    x = rng.normal(np.array([0.0, 2.5])[z], np.array([1.0, 0.7])[z])
    write_csv(cat_path, {"c": c.astype(float), "x": x})
cat = read_csv(cat_path)
c3, x3 = cat["c"].to_numpy().astype(int), cat["x"].to_numpy()
pi = np.array([0.5, 0.5])
th = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
mu = np.array([-0.5, 2.0])
sd = np.array([1.0, 1.0])


def joint3(pi, th, mu, sd):
    return np.log(pi)[None, :] + np.log(th[:, c3]).T + norm.logpdf(x3[:, None], mu, sd)


for _ in range(30):
    lj = joint3(pi, th, mu, sd)
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    pi = nk / nk.sum()
    th = np.stack([np.array([r[c3 == j, k].sum() for j in range(3)]) / nk[k] for k in range(2)])
    mu = (r * x3[:, None]).sum(axis=0) / nk
    sd = np.sqrt((r * (x3[:, None] - mu) ** 2).sum(axis=0) / nk)
emit("catfeature_pi", pi)
emit("catfeature_theta", th)
emit("catfeature_mu", mu)
emit("catfeature_sigma", sd)
emit("catfeature_loglik", logsumexp(joint3(pi, th, mu, sd), axis=1).sum())

with open(os.path.join(HERE, "em.expected"), "w") as f:
    f.write("\n".join(out) + "\n")

# ---- Old Faithful: the best of 100 scikit-learn starts, K = 2 full covariances -------------

faithful = read_csv(os.path.join(EXAMPLES, "faithful.csv"))[["eruptions", "waiting"]].to_numpy()
gm = GaussianMixture(2, covariance_type="full", n_init=100, random_state=0, tol=1e-12, max_iter=10000, reg_covar=1e-6)
gm.fit(faithful)
best = gm.score(faithful) * len(faithful)
with open(os.path.join(HERE, "faithful.expected"), "w") as f:
    f.write(f"faithful_k2_best_loglik\tscalar\t{best!r}\n")
print(f"wrote em.expected ({len(out)} lines) and faithful.expected (best loglik {best!r})")
