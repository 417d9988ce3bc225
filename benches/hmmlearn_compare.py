#!/usr/bin/env python3
"""Baum-Welch end to end, side by side in one run: `gmm fit` (CLI: CSV in, fitted model out)
against hmmlearn's GaussianHMM (pandas CSV read + fit), same data, same starting values, same
iteration count, tol 0, no floors or MAP terms on either side. hmmlearn runs twice: as
GaussianHMM comes (implementation="log", its default), and with implementation="scaling",
its faster recursions. Prints per-workload medians and the ratio hmmlearn/gmm, and checks both
reach the same log-likelihood.
Usage: hmmlearn_compare.py GMM_BINARY [min_ratio]
Last line: 'ratio R (min over workloads ...)', R against the default GaussianHMM."""
import os
import numpy as np
from compare import WORK, side_by_side, verdict

ITERS = 20


def data(n, d, k, seed=0):
    """A K-state chain staying with probability 0.95, state means from N(0, 3²), unit noise."""
    path = f'{WORK}/chain_{n}_{d}_{k}.csv'
    if not os.path.exists(path):
        rng = np.random.default_rng(seed)
        means = rng.normal(0, 3, size=(k, d))
        u = rng.random(n)
        jump = rng.integers(1, k, size=n)
        z = np.zeros(n, dtype=int)
        for t in range(1, n):
            z[t] = (z[t - 1] + jump[t]) % k if u[t] >= 0.95 else z[t - 1]
        X = means[z] + rng.normal(size=(n, d))
        hdr = 'x' if d == 1 else ','.join(f'x[{j}]' for j in range(d))
        np.savetxt(path, X, fmt='%.9g', delimiter=',', header=hdr, comments='')
    import pandas as pd
    return path, pd.read_csv(path).to_numpy()


def model(d, k, X):
    """Uniform first state, staying with probability 0.8, the first K rows as means, unit
    spreads (an identity covariance for D > 1)."""
    start = [1.0 / k] * k
    A = [[0.8 if i == j else 0.2 / (k - 1) for j in range(k)] for i in range(k)]
    if d == 1:
        emit = (f'    param mu[{k}] : real = {[float(x) for x in X[:k, 0]]}\n'
                f'    param sd[{k}] : positive = {[1.0] * k}\n')
        x = 'x ~ Normal(mu[z], sd[z])'
    else:
        eye = [[1.0 if i == j else 0.0 for j in range(d)] for i in range(d)]
        emit = (f'    param mu[{k}] : vector[{d}] = {[list(map(float, m)) for m in X[:k]]}\n'
                f'    param S[{k}] : cov[{d}] = {[eye] * k}\n')
        x = 'x ~ MvNormal(mu[z], S[z])'
    src = (f'model hmm {{\n    param start : simplex[{k}] = {start}\n'
           f'    param A[{k}] : simplex[{k}] = {A}\n{emit}'
           f'    chain t {{\n        z ~ Categorical(start) then Categorical(A[prev(z)])\n'
           f'        {x}\n    }}\n}}\n')
    path = f'{WORK}/chain_model_{d}_{k}.gmm'
    open(path, 'w').write(src)
    return path


HL = r'''
import sys, time, numpy as np, pandas as pd, warnings
warnings.filterwarnings("ignore")
from hmmlearn.hmm import GaussianHMM
path, d, k, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t0 = time.perf_counter()
X = pd.read_csv(path).to_numpy()
A = np.full((k, k), 0.2 / (k - 1)); np.fill_diagonal(A, 0.8)
m = GaussianHMM(k, covariance_type="diag" if d == 1 else "full", n_iter=iters, tol=0.0,
                init_params="", params="stmc", min_covar=0.0, covars_prior=0.0,
                implementation=IMPLEMENTATION)
m.startprob_ = np.full(k, 1.0 / k); m.transmat_ = A; m.means_ = X[:k].copy()
m.covars_ = np.ones((k, d)) if d == 1 else np.stack([np.eye(d)] * k)
t1 = time.perf_counter()
m.fit(X)
t2 = time.perf_counter()
print("LL", m.score(X), "fit_s", t2 - t1, "total_s", t2 - t0)
'''


def main():
    workloads = []
    for (n, d, k) in [(1_000_000, 1, 4), (100_000, 3, 3)]:
        csv, X = data(n, d, k)
        workloads.append((n, d, k, csv, model(d, k, X)))
    scaling = side_by_side('hmmlearn (scaling)', HL.replace('IMPLEMENTATION', '"scaling"'),
                           workloads, ITERS, '0')
    print(f'ratio {min(scaling):.1f} against implementation="scaling" (min over workloads)')
    verdict(side_by_side('hmmlearn (default, log)', HL.replace('IMPLEMENTATION', '"log"'),
                         workloads, ITERS, '0'))


if __name__ == '__main__':
    main()
