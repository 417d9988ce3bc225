//! Scalar numerics in log space: log-sum-exp, Normal and multivariate-Normal densities (through
//! Cholesky factors), the Normal cdf, and the seeded draws every sampler uses.

use nalgebra::{DMatrix, DVector};
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution as _, StandardNormal};

/// ln √(2π).
pub const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// The random generator of every draw: ChaCha8, whose stream is fixed by its seed on every
/// platform.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator seeded with `seed`.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// log Σ exp(xs), without overflow or underflow; `-inf` for an empty slice or all `-inf`.
pub fn logsumexp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return if xs.iter().any(|x| x.is_nan()) {
            f64::NAN
        } else {
            m
        };
    }
    m + xs.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
}

/// log of the Normal density with mean `m` and standard deviation `s` at `x`.
pub fn normal_logpdf(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    -0.5 * z * z - s.ln() - LN_SQRT_2PI
}

/// The Normal cumulative distribution function, accurate in both tails (through erfc).
pub fn normal_cdf(x: f64, m: f64, s: f64) -> f64 {
    0.5 * libm::erfc(-(x - m) / (s * std::f64::consts::SQRT_2))
}

/// The standard Normal quantile: x with Φ(x) = p, for 0 < p < 1. Acklam's rational
/// approximation (relative error below 1.2e-9), then one Halley step on `normal_cdf`, which
/// brings it to full double precision.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    let x = if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // Halley: e = Φ(x) − p, u = e·√(2π)·exp(x²/2).
    let e = normal_cdf(x, 0.0, 1.0) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// A multivariate Normal ready for evaluation: its mean, the lower Cholesky factor of its
/// covariance and the log-determinant.
#[derive(Clone, Debug, PartialEq)]
pub struct Mvn {
    /// The mean.
    pub mean: DVector<f64>,
    /// Lower-triangular L with L·Lᵀ = covariance.
    pub chol: DMatrix<f64>,
    /// ln det(covariance).
    pub log_det: f64,
    /// The log density's constant: −½ ln det − d ln √(2π).
    pub log_norm: f64,
    /// The covariance as given (row-major).
    pub cov: Vec<f64>,
    /// The marginals and conditionals of partly observed values, one per pattern of observed
    /// entries.
    marginals: Marginals,
}

/// An [`Mvn`] split by a pattern of observed entries `s` (seen) and the others `h` (hidden):
/// the marginal of `x_s`, and the conditional of `x_h` given `x_s`,
/// `N(μ_h + G·(x_s − μ_s), C)` with the gain `G = Σ_hs·Σ_ss⁻¹` and `C = Σ_hh − G·Σ_sh`.
#[derive(Clone, Debug, PartialEq)]
pub struct Given {
    /// The observed entries, in order.
    pub seen: Vec<usize>,
    /// The other entries, in order.
    pub hidden: Vec<usize>,
    /// The marginal of the observed entries (`None` when none is).
    pub marginal: Option<Mvn>,
    /// `G`, hidden × seen, row-major.
    pub gain: Vec<f64>,
    /// `C`, hidden × hidden, row-major.
    pub cov: Vec<f64>,
}

impl Given {
    /// The conditional mean of the hidden entries given the deviations `d_s = x_s − μ_s` of the
    /// seen ones, as deviations `d_h = G·d_s` from their own mean, written to `out`.
    pub fn hidden_deviation(&self, seen_dev: &[f64], out: &mut [f64]) {
        let o = self.seen.len();
        for (h, out) in out.iter_mut().enumerate().take(self.hidden.len()) {
            let g = &self.gain[h * o..(h + 1) * o];
            *out = g.iter().zip(seen_dev).map(|(g, d)| g * d).sum();
        }
    }
}

/// An [`Mvn`]'s splits by the mask of observed entries (up to 64 dimensions), each factored
/// once however many rows share its pattern. A clone starts empty; the cache takes no part in
/// equality.
#[derive(Default)]
struct Marginals(std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<Given>>>);

impl Clone for Marginals {
    fn clone(&self) -> Marginals {
        Marginals::default()
    }
}

impl PartialEq for Marginals {
    fn eq(&self, _: &Marginals) -> bool {
        true
    }
}

impl std::fmt::Debug for Marginals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Marginals")
    }
}

impl Mvn {
    /// Factors `cov` (row-major, d×d); `None` when it is not positive-definite.
    pub fn new(mean: &[f64], cov: &[f64]) -> Option<Mvn> {
        let d = mean.len();
        let chol = DMatrix::from_row_slice(d, d, &crate::linalg::cholesky(cov, d).ok()?);
        let log_det = 2.0 * (0..d).map(|i| chol[(i, i)].ln()).sum::<f64>();
        Some(Mvn {
            mean: DVector::from_column_slice(mean),
            chol,
            log_det,
            log_norm: -0.5 * log_det - d as f64 * LN_SQRT_2PI,
            cov: cov.to_vec(),
            marginals: Marginals::default(),
        })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// log density at `x` (length `dim`); no allocation up to 16 dimensions. Missing entries
    /// (NaN) are integrated out: the density is the marginal of the observed entries.
    pub fn logpdf(&self, x: &[f64]) -> f64 {
        if x.iter().any(|v| v.is_nan()) {
            return self.marginal_logpdf(x);
        }
        const STACK: usize = 16;
        let d = self.dim();
        if d <= STACK {
            let mut buf = [0.0; STACK];
            self.logpdf_in(x, &mut buf[..d])
        } else {
            self.logpdf_in(x, &mut vec![0.0; d])
        }
    }

    /// [`logpdf`](Self::logpdf) with `r` (length `dim`) as scratch space.
    fn logpdf_in(&self, x: &[f64], r: &mut [f64]) -> f64 {
        let d = self.dim();
        // Forward substitution: solve L·y = x − mean in place.
        for i in 0..d {
            let mut s = x[i] - self.mean[i];
            for (j, &rj) in r.iter().enumerate().take(i) {
                s -= self.chol[(i, j)] * rj;
            }
            r[i] = s / self.chol[(i, i)];
        }
        let q: f64 = r.iter().map(|v| v * v).sum();
        -0.5 * q + self.log_norm
    }

    /// The log density of the observed entries of `x` (the others NaN): the density of the
    /// MvNormal of their sub-vector and sub-matrix, 0 when no entry is observed.
    fn marginal_logpdf(&self, x: &[f64]) -> f64 {
        let d = self.dim();
        let seen: Vec<usize> = (0..d).filter(|&i| !x[i].is_nan()).collect();
        if seen.is_empty() {
            return 0.0;
        }
        let xs: Vec<f64> = seen.iter().map(|&i| x[i]).collect();
        match self
            .given(&seen)
            .as_deref()
            .and_then(|g| g.marginal.as_ref())
        {
            Some(m) => m.logpdf(&xs),
            // A principal sub-matrix of a positive-definite matrix is positive-definite; only
            // an interrupted factorisation fails, and its result is discarded.
            None => f64::NAN,
        }
    }

    /// The split by the observed entries `seen` (in order), factored once per pattern (for up
    /// to 64 dimensions; beyond, each time); `None` only when a factorisation was
    /// interrupted.
    pub fn given(&self, seen: &[usize]) -> Option<std::sync::Arc<Given>> {
        let d = self.dim();
        let mask = (d <= 64).then(|| seen.iter().fold(0u64, |m, &i| m | (1 << i)));
        if let Some(mask) = mask
            && let Ok(cache) = self.marginals.0.lock()
            && let Some(m) = cache.get(&mask)
        {
            return Some(m.clone());
        }
        let g = std::sync::Arc::new(self.split(seen)?);
        if let Some(mask) = mask
            && let Ok(mut cache) = self.marginals.0.lock()
        {
            cache.insert(mask, g.clone());
        }
        Some(g)
    }

    fn split(&self, seen: &[usize]) -> Option<Given> {
        let d = self.dim();
        let hidden: Vec<usize> = (0..d).filter(|i| !seen.contains(i)).collect();
        let sub = |rows: &[usize], cols: &[usize]| -> DMatrix<f64> {
            DMatrix::from_fn(rows.len(), cols.len(), |i, j| {
                self.cov[rows[i] * d + cols[j]]
            })
        };
        let (o, h) = (seen.len(), hidden.len());
        let c_hh = sub(&hidden, &hidden);
        if o == 0 {
            return Some(Given {
                seen: Vec::new(),
                hidden,
                marginal: None,
                gain: Vec::new(),
                cov: c_hh.transpose().as_slice().to_vec(),
            });
        }
        let mean: Vec<f64> = seen.iter().map(|&i| self.mean[i]).collect();
        let c_ss = sub(seen, seen);
        let marginal = Mvn::new(&mean, c_ss.transpose().as_slice())?;
        // Gᵀ = Σ_ss⁻¹·Σ_sh, by the marginal's Cholesky factor: L·Y = Σ_sh, then Lᵀ·Gᵀ = Y.
        let c_sh = sub(seen, &hidden);
        let y = marginal.chol.solve_lower_triangular(&c_sh)?;
        let gt = marginal.chol.transpose().solve_upper_triangular(&y)?;
        let cov = c_hh - gt.transpose() * &c_sh;
        // Row-major copies (nalgebra stores columns): the transpose's column-major order.
        let gain = gt.as_slice().to_vec();
        // C is symmetric; average it with its transpose so rounding keeps it so.
        let cov = DMatrix::from_fn(h, h, |i, j| 0.5 * (cov[(i, j)] + cov[(j, i)]));
        Some(Given {
            seen: seen.to_vec(),
            hidden,
            marginal: Some(marginal),
            gain,
            cov: cov.as_slice().to_vec(),
        })
    }

    /// One draw, written to `out` (length `dim`).
    pub fn draw(&self, rng: &mut Rng, out: &mut [f64]) {
        let d = self.dim();
        let z: Vec<f64> = (0..d).map(|_| standard_normal(rng)).collect();
        for (i, o) in out.iter_mut().enumerate().take(d) {
            *o = self.mean[i] + (0..=i).map(|j| self.chol[(i, j)] * z[j]).sum::<f64>();
        }
    }
}

/// A standard Normal draw.
pub fn standard_normal(rng: &mut Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut Rng) -> f64 {
    rng.random::<f64>()
}

/// A draw from the probabilities `p` (summing to 1): the first index whose running sum
/// exceeds a uniform draw.
pub fn draw_index(p: &[f64], rng: &mut Rng) -> usize {
    let u = uniform(rng);
    let mut acc = 0.0;
    for (k, &pk) in p.iter().enumerate() {
        acc += pk;
        if u < acc {
            return k;
        }
    }
    // Rounding left the sum a hair below 1: the last index with positive probability.
    p.iter().rposition(|&pk| pk > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logsumexp_is_stable() {
        assert_eq!(logsumexp(&[]), f64::NEG_INFINITY);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY; 2]), f64::NEG_INFINITY);
        let big = logsumexp(&[1000.0, 1000.0]);
        assert!((big - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        // Values of scipy.stats.norm.ppf.
        for (p, x) in [
            (0.975, 1.959963984540054),
            (0.95, 1.6448536269514722),
            (0.5, 0.0),
            (1e-10, -6.361340902404056),
            (0.01, -2.3263478740408408),
        ] {
            let q = normal_quantile(p);
            assert!((q - x).abs() <= 1e-14 * x.abs().max(1.0), "{p}: {q} vs {x}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn mvn_matches_independent_normals() {
        let m = Mvn::new(&[1.0, -1.0], &[4.0, 0.0, 0.0, 9.0]).unwrap();
        let want = normal_logpdf(0.5, 1.0, 2.0) + normal_logpdf(2.0, -1.0, 3.0);
        assert!((m.logpdf(&[0.5, 2.0]) - want).abs() < 1e-12);
        assert!(Mvn::new(&[0.0, 0.0], &[1.0, 2.0, 2.0, 1.0]).is_none());
    }
}
