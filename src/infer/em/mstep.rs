//! The M-step: closed-form updates from the expected sufficient statistics, in a fixed order —
//! probabilities; then means under the current spreads; then spreads around the new means. Each
//! step maximises the expected complete-data log-likelihood over its parameters with the others
//! held (conditional maximisation), so with `reg = 0` the likelihood never decreases, also when
//! a mean and a spread are shared differently (`Normal(mu, sigma[z])`).

use super::FitError;
use super::plan::{Plan, Role, cell_name};
use crate::array::Array;
use crate::infer::cpd::{Cpd, Local};
use crate::infer::stats::Stats;
use crate::model::prior::Prior;
use crate::model::{Model, ParamId, ParamType, VarId};
use nalgebra::{DMatrix, DVector};
use std::collections::HashMap;

/// One learned cell of a parameter (`mu[1]`), as the M-step reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Learned {
    /// The parameter.
    pub param: ParamId,
    /// The cell's index in the plan.
    pub cell: usize,
}

/// What an M-step noticed about the cells it updated.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Cells whose total weight was at most `vanish`: they kept their values.
    pub vanished: Vec<Learned>,
    /// Spreads whose rows vary less than `reg` in some direction, so that `reg` is most of
    /// the new value: a component on a single value, or data on a scale below √reg.
    pub floored: Vec<Learned>,
}

/// How an M-step updates.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Added to every variance and covariance diagonal.
    pub reg: f64,
    /// Cells with no more weight keep their values.
    pub vanish: f64,
    /// Whether the parameters' priors add their terms (MAP-EM, section 9.2).
    pub priors: bool,
}

/// Updates every learned parameter of `model` from `stats`, gathered under the tables `cpds`
/// (the model's current values). Cells whose total weight is at most `vanish` keep their
/// values; the report names them and the spreads that `reg` holds up. With priors, each update
/// maximises the expected complete-data log posterior instead: the prior's conjugate terms
/// join the statistics. Each role meets only its own conjugate prior: the checker pairs priors
/// with types (Dirichlet–simplex, Beta–prob, Normal–real/vector, InvGamma–positive/diag/iso,
/// InvWishart–cov) and the plan roles with types (a mean is real or vector, an sd positive, …).
pub fn mstep(
    model: &mut Model,
    plan: &Plan,
    cpds: &[Cpd],
    stats: &Stats,
    settings: &Settings,
) -> Result<Report, FitError> {
    let Settings { reg, vanish, .. } = *settings;
    let mut values: Vec<Vec<f64>> = model
        .params
        .iter()
        .map(|p| {
            p.value
                .as_ref()
                .map_or_else(Vec::new, |a| a.data().to_vec())
        })
        .collect();
    let mut report = Report::default();
    // How far each entry's mean moved: δ = new mean − the mean the statistics are centred on.
    let mut shift: HashMap<(VarId, usize), Vec<f64>> = HashMap::new();
    let order = [Role::Probs, Role::Mean, Role::Sd];
    for step in order {
        for l in &plan.learned {
            let same_step = matches!(
                (step, l.role),
                (Role::Probs, Role::Probs | Role::Prob)
                    | (Role::Mean, Role::Mean)
                    | (Role::Sd, Role::Sd | Role::Cov(_))
            );
            if !same_step {
                continue;
            }
            let prior = if settings.priors {
                model.params[l.param].prior.clone()
            } else {
                None
            };
            let vals = &mut values[l.param];
            for (ci, cell) in l.cells.iter().enumerate() {
                let mass: f64 = cell.uses.iter().map(|&(v, e)| mass(stats, v, e)).sum();
                // Also when the mass is NaN: nothing trustworthy reached this cell.
                if mass.partial_cmp(&vanish) != Some(std::cmp::Ordering::Greater) {
                    report.vanished.push(Learned {
                        param: l.param,
                        cell: ci,
                    });
                    continue;
                }
                let this = Learned {
                    param: l.param,
                    cell: ci,
                };
                let collapsed = || FitError::Collapsed {
                    cell: cell_name(model, l.param, &cell.offsets),
                    reg,
                };
                match l.role {
                    Role::Probs => {
                        let n = cell.offsets.len();
                        let mut counts = vec![0.0; n];
                        for &(v, e) in &cell.uses {
                            for (c, s) in counts.iter_mut().zip(stats.entry(v, e)) {
                                *c += s;
                            }
                        }
                        // The mode of the Dirichlet posterior: counts + alpha − 1.
                        let (mut counts, mut total) = (counts, mass);
                        if let Some(Prior::Dirichlet { alpha }) = &prior {
                            for (c, a) in counts.iter_mut().zip(alpha) {
                                *c += a - 1.0;
                                total += a - 1.0;
                            }
                        }
                        for (&o, c) in cell.offsets.iter().zip(&counts) {
                            vals[o] = c / total;
                        }
                    }
                    Role::Prob => {
                        let ones: f64 = cell.uses.iter().map(|&(v, e)| stats.entry(v, e)[1]).sum();
                        vals[cell.offsets[0]] = match &prior {
                            Some(Prior::Beta { a, b }) => (ones + a - 1.0) / (mass + a + b - 2.0),
                            _ => ones / mass,
                        };
                    }
                    Role::Mean => {
                        let normal = match &prior {
                            Some(Prior::Normal { mean, sd }) => {
                                let current: Vec<f64> =
                                    cell.offsets.iter().map(|&o| vals[o]).collect();
                                Some((*mean, *sd, current))
                            }
                            _ => None,
                        };
                        let delta = mean_shift(cpds, stats, &cell.uses, normal.as_ref());
                        for (&o, d) in cell.offsets.iter().zip(&delta) {
                            vals[o] += d;
                        }
                        for &use_ in &cell.uses {
                            shift.insert(use_, delta.clone());
                        }
                    }
                    Role::Sd => {
                        let mut sum = 0.0;
                        for &(v, e) in &cell.uses {
                            let s = stats.entry(v, e);
                            let d = shift.get(&(v, e)).map_or(0.0, |d| d[0]);
                            sum += s[2] - 2.0 * d * s[1] + d * d * s[0];
                        }
                        let spread = (sum / mass).max(0.0);
                        // The mode of the variance's posterior under InvGamma(a, b):
                        // (Σ r·d² + 2b) / (Σ r + 2a + 2).
                        let var = match &prior {
                            Some(Prior::InvGamma { a, b }) => {
                                (sum.max(0.0) + 2.0 * b) / (mass + 2.0 * a + 2.0) + reg
                            }
                            _ => spread + reg,
                        };
                        if !(var > 0.0 && var.is_finite()) {
                            return Err(collapsed());
                        }
                        if spread < reg {
                            report.floored.push(this);
                        }
                        vals[cell.offsets[0]] = var.sqrt();
                    }
                    Role::Cov(ty) => {
                        let n = (cell.offsets.len() as f64).sqrt().round() as usize;
                        let mut m = DMatrix::<f64>::zeros(n, n);
                        for &(v, e) in &cell.uses {
                            let s = stats.entry(v, e);
                            let (s0, s1, s2) = (s[0], &s[1..1 + n], &s[1 + n..]);
                            let zero = vec![0.0; n];
                            let d = shift.get(&(v, e)).unwrap_or(&zero);
                            for i in 0..n {
                                for j in 0..n {
                                    m[(i, j)] += s2[i * n + j] - d[i] * s1[j] - s1[i] * d[j]
                                        + s0 * d[i] * d[j];
                                }
                            }
                        }
                        let m = (&m + m.transpose()) / 2.0;
                        let m = match &prior {
                            Some(p) => map_cov(m, ty, mass, p, reg),
                            None => shape_cov(m / mass, ty, reg),
                        };
                        if m.iter().any(|x| !x.is_finite())
                            || !crate::linalg::is_positive_definite(m.as_slice(), n)
                        {
                            return Err(collapsed());
                        }
                        // The rows' own covariance is m − reg·I: below reg in some direction
                        // when m's smallest eigenvalue is below 2·reg, that is when
                        // m − 2·reg·I is not positive-definite.
                        let lowered = &m - DMatrix::<f64>::identity(n, n) * (2.0 * reg);
                        if reg > 0.0 && !crate::linalg::is_positive_definite(lowered.as_slice(), n)
                        {
                            report.floored.push(this);
                        }
                        for (k, &o) in cell.offsets.iter().enumerate() {
                            vals[o] = m[(k / n, k % n)];
                        }
                    }
                }
            }
        }
    }
    for l in &plan.learned {
        let p = &mut model.params[l.param];
        let data = std::mem::take(&mut values[l.param]);
        if let Some(bad) = data.iter().position(|x| !x.is_finite()) {
            return Err(FitError::NonFinite {
                param: p.name.clone(),
                at: bad,
            });
        }
        p.value = Some(Array::from_vec(p.shape(), data));
    }
    Ok(report)
}

/// The total weight behind entry `e` of `v`: its value counts (discrete) or `Σr`.
fn mass(stats: &Stats, v: VarId, e: usize) -> f64 {
    let s = stats.entry(v, e);
    if stats.continuous[v] {
        s[0]
    } else {
        s.iter().sum()
    }
}

/// The mode of a covariance's posterior from the scatter `s` (Σ r·d·dᵀ) of `mass` rows under
/// `prior`, in the parameter's family, with `reg` on the diagonal: InvWishart(ν, Ψ) gives
/// (S + Ψ) / (N + ν + n + 1); InvGamma(a, b) on each variance of a `diag` gives
/// (S_ii + 2b) / (N + 2a + 2), on the one variance of an `iso` (tr S + 2b) / (nN + 2a + 2).
fn map_cov(s: DMatrix<f64>, ty: ParamType, mass: f64, prior: &Prior, reg: f64) -> DMatrix<f64> {
    let n = s.nrows();
    let mut out = match (ty, prior) {
        (ParamType::Cov(_), Prior::InvWishart { nu, psi }) => {
            (s + DMatrix::from_row_slice(n, n, psi)) / (mass + nu + n as f64 + 1.0)
        }
        (ParamType::Diag(_), Prior::InvGamma { a, b }) => DMatrix::from_diagonal(
            &s.diagonal()
                .map(|x| (x.max(0.0) + 2.0 * b) / (mass + 2.0 * a + 2.0)),
        ),
        (ParamType::Iso(_), Prior::InvGamma { a, b }) => {
            let v = (s.trace().max(0.0) + 2.0 * b) / (n as f64 * mass + 2.0 * a + 2.0);
            DMatrix::from_diagonal_element(n, n, v)
        }
        _ => unreachable!("the checker pairs covariance types with their priors"),
    };
    for i in 0..n {
        out[(i, i)] += reg;
    }
    out
}

/// δ for a mean cell read by the entries `uses`, whose statistics are centred on the cell's
/// current value: the weighted mean offset, each entry weighted by its precision when the
/// entries' spreads differ (with equal spreads the precisions cancel, and are left out). A
/// Normal(m, s) prior on each entry (`normal`: m, s and the cell's current value) adds the
/// precision 1/s² pulling towards m.
fn mean_shift(
    cpds: &[Cpd],
    stats: &Stats,
    uses: &[(VarId, usize)],
    normal: Option<&(f64, f64, Vec<f64>)>,
) -> Vec<f64> {
    let local = |&(v, e): &(VarId, usize)| &cpds[v].entries[e];
    let same_spread = uses.windows(2).all(|w| match (local(&w[0]), local(&w[1])) {
        (Local::Normal { sd: a, .. }, Local::Normal { sd: b, .. }) => a == b,
        (Local::MvNormal(a), Local::MvNormal(b)) => a.cov == b.cov,
        _ => false,
    });
    let n = match local(&uses[0]) {
        Local::MvNormal(m) => m.dim(),
        _ => 1,
    };
    if same_spread && normal.is_none() {
        let mut s0 = 0.0;
        let mut s1 = vec![0.0; n];
        for &(v, e) in uses {
            let s = stats.entry(v, e);
            s0 += s[0];
            for (a, b) in s1.iter_mut().zip(&s[1..1 + n]) {
                *a += b;
            }
        }
        return s1.into_iter().map(|x| x / s0).collect();
    }
    // Σ_k (s0_k Λ_k) δ = Σ_k Λ_k s1_k, with Λ_k the precision of entry k.
    let mut a = DMatrix::<f64>::zeros(n, n);
    let mut b = DVector::<f64>::zeros(n);
    for u in uses {
        let s = stats.entry(u.0, u.1);
        let precision = match local(u) {
            Local::Normal { sd, .. } => DMatrix::from_element(1, 1, 1.0 / (sd * sd)),
            Local::MvNormal(m) => {
                let cov = DMatrix::from_row_slice(n, n, &m.cov);
                nalgebra::Cholesky::new(cov)
                    .map(|c| c.inverse())
                    .unwrap_or_else(|| DMatrix::identity(n, n))
            }
            _ => unreachable!("means belong to Normal and MvNormal"),
        };
        a += &precision * s[0];
        b += &precision * DVector::from_column_slice(&s[1..1 + n]);
    }
    if let Some((m, sd, current)) = normal {
        let p = 1.0 / (sd * sd);
        for i in 0..n {
            a[(i, i)] += p;
            b[i] += p * (m - current[i]);
        }
    }
    match nalgebra::Cholesky::new(a) {
        Some(c) => c.solve(&b).iter().copied().collect(),
        None => vec![0.0; n],
    }
}

/// The covariance estimate `m` in the parameter's family, with `reg` on the diagonal.
pub(super) fn shape_cov(m: DMatrix<f64>, ty: ParamType, reg: f64) -> DMatrix<f64> {
    let n = m.nrows();
    let mut out = match ty {
        ParamType::Diag(_) => DMatrix::from_diagonal(&m.diagonal().map(|x| x.max(0.0))),
        ParamType::Iso(_) => {
            let v = (m.trace() / n as f64).max(0.0);
            DMatrix::from_diagonal_element(n, n, v)
        }
        _ => m,
    };
    for i in 0..n {
        out[(i, i)] += reg;
    }
    out
}
