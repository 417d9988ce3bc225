//! Standard errors of fitted parameters (LANGUAGE.md §9.3): the exact observed information of
//! the marginal log-likelihood (or log posterior), by Louis' identity row by row, inverted in
//! the free coordinates and mapped to each parameter's own entries by the delta method.
//!
//! For row n with configurations c of its discrete variables and complete-data log joint
//! `l_c(θ)` (responsibilities r_c), the row's log-likelihood ℓ_n = log Σ_c exp l_c has
//! `∇ℓ_n = Σ_c r_c g_c` and `∇²ℓ_n = Σ_c r_c (H_c + g_c g_cᵀ) − ∇ℓ_n ∇ℓ_nᵀ`, where g_c and H_c
//! are the gradient and Hessian of l_c: analytic, per distribution. The information is
//! `−Σ_n w_n ∇²ℓ_n`, minus the log prior's Hessian with priors. Rows are taken in chunks and
//! only p × p sums are kept: O(N·p²) work and O(p²) memory for p free coordinates.
//!
//! Free coordinates: a simplex of n entries has its first n − 1 (the last is one minus their
//! sum; the delta method makes the entries' errors independent of that choice); a `cov` its
//! lower triangle; a `diag` its n variances; an `iso` its one variance; everything else its
//! own entries (an sd on its own scale). Every map from coordinates to entries is linear, so
//! the chain rule adds no second-order terms.

use super::plan::{Plan, Role};
use super::{Data, FitError};
use crate::array::Array;
use crate::infer::cpd::{Cpd, Layout, Local, tables};
use crate::infer::engine::{chunks, is_global};
use crate::infer::numeric::logsumexp;
use crate::model::prior::Prior;
use crate::model::{Model, ParamId, ParamType, Support, VarId};
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::collections::HashMap;

/// The most free coordinates: the information matrix is p × p.
pub const MAX_COORDS: usize = 5000;

/// The most joint values of the discrete variables: every row visits each.
const MAX_CONFIGS: usize = 4096;

/// The standard error of every parameter entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Errors {
    /// Per parameter of the model, standard errors shaped like it: 0 for a parameter the fit
    /// did not learn (held fixed, or read by no distribution), infinity for an entry the data
    /// do not determine.
    pub se: Vec<Array>,
    /// Singular or indefinite information, in words naming the parameters involved.
    pub warnings: Vec<String>,
}

/// One learned cell's coordinates.
#[derive(Clone, Copy, Debug)]
struct Slot {
    role: Role,
    /// Its first coordinate in θ.
    start: usize,
    param: ParamId,
    cell: usize,
}

fn coords(role: Role, width: usize) -> usize {
    match role {
        Role::Probs => width - 1,
        Role::Prob | Role::Sd => 1,
        Role::Mean => width,
        Role::Cov(ParamType::Diag(n)) => n,
        Role::Cov(ParamType::Iso(_)) => 1,
        Role::Cov(ParamType::Cov(n)) => n * (n + 1) / 2,
        Role::Cov(_) => unreachable!("covariances are cov, diag or iso"),
    }
}

/// A symmetric unit direction of a covariance coordinate: the (row, column) entries it moves.
fn directions(ty: ParamType) -> Vec<Vec<(usize, usize)>> {
    match ty {
        ParamType::Cov(n) => (0..n)
            .flat_map(|i| {
                (0..=i).map(move |j| {
                    if i == j {
                        vec![(i, i)]
                    } else {
                        vec![(i, j), (j, i)]
                    }
                })
            })
            .collect(),
        ParamType::Diag(n) => (0..n).map(|i| vec![(i, i)]).collect(),
        ParamType::Iso(n) => vec![(0..n).map(|i| (i, i)).collect()],
        _ => unreachable!("covariances are cov, diag or iso"),
    }
}

/// tr(A·E_x·B·E_y) for symmetric unit directions x and y.
fn tr4(a: &DMatrix<f64>, ex: &[(usize, usize)], b: &DMatrix<f64>, ey: &[(usize, usize)]) -> f64 {
    let mut t = 0.0;
    for &(p, q) in ex {
        for &(r, s) in ey {
            t += a[(s, p)] * b[(q, r)];
        }
    }
    t
}

/// tr(A·E_x).
fn tr2(a: &DMatrix<f64>, ex: &[(usize, usize)]) -> f64 {
    ex.iter().map(|&(p, q)| a[(q, p)]).sum()
}

/// Derivatives of −(w/2)·ln|Σ| − ½·tr(D·Σ⁻¹) in Σ's coordinates: the gradient, and the Hessian
/// (row-major). An MvNormal's density has w = 1 and D = d·dᵀ; an InvWishart(ν, Ψ) prior
/// w = ν + n + 1 and D = Ψ.
fn logdet_trace(
    inv: &DMatrix<f64>,
    d: &DMatrix<f64>,
    w: f64,
    dirs: &[Vec<(usize, usize)>],
) -> (Vec<f64>, Vec<f64>) {
    let q = inv * d * inv;
    let m = dirs.len();
    let grad = dirs
        .iter()
        .map(|e| -0.5 * w * tr2(inv, e) + 0.5 * tr2(&q, e))
        .collect();
    let mut hess = vec![0.0; m * m];
    for x in 0..m {
        for y in 0..=x {
            let h = 0.5 * w * tr4(inv, &dirs[y], inv, &dirs[x])
                - 0.5 * (tr4(&q, &dirs[y], inv, &dirs[x]) + tr4(&q, &dirs[x], inv, &dirs[y]));
            hess[x * m + y] = h;
            hess[y * m + x] = h;
        }
    }
    (grad, hess)
}

/// A sparse gradient and Hessian in θ's coordinates.
#[derive(Default)]
struct Terms {
    grad: Vec<(usize, f64)>,
    hess: Vec<(usize, usize, f64)>,
}

impl Terms {
    fn clear(&mut self) {
        self.grad.clear();
        self.hess.clear();
    }
}

/// What a table entry's derivatives need, found once rather than per row: the learned cells
/// it reads, and for an MvNormal its precision Σ⁻¹ and its covariance's coordinate directions.
struct Reads {
    slots: Vec<Slot>,
    precision: Option<DMatrix<f64>>,
    dirs: Vec<Vec<(usize, usize)>>,
}

impl Reads {
    fn new(local: &Local, slots: Vec<Slot>) -> Reads {
        let (precision, dirs) = match local {
            Local::MvNormal(mvn) => {
                let n = mvn.dim();
                let cov = DMatrix::from_row_slice(n, n, &mvn.cov);
                let precision = nalgebra::Cholesky::new(cov)
                    .map(|c| c.inverse())
                    .unwrap_or_else(|| DMatrix::zeros(n, n));
                let dirs = slots
                    .iter()
                    .find_map(|s| match s.role {
                        Role::Cov(ty) => Some(directions(ty)),
                        _ => None,
                    })
                    .unwrap_or_default();
                (Some(precision), dirs)
            }
            _ => (None, Vec::new()),
        };
        Reads {
            slots,
            precision,
            dirs,
        }
    }
}

/// What the rows need: the model's shape, its tables, and θ's coordinates.
struct Setup<'a> {
    model: &'a Model,
    cpds: Vec<Cpd>,
    /// Per (variable, entry) that reads learned cells: what its derivatives need.
    reads: HashMap<(VarId, usize), Reads>,
    /// Per variable: its event size, and its position among the enumerated discrete variables.
    dims: Vec<usize>,
    latent_of: Vec<Option<usize>>,
    /// Each configuration's values of the enumerated discrete variables.
    configs: Vec<Vec<usize>>,
    /// Per configuration, each variable's table entry.
    entries: Vec<Vec<usize>>,
}

/// The standard errors of `model`'s parameters at its values (a fit's result) for `data`,
/// the parameters `fixed` held; with `priors`, of the log posterior.
pub fn stderr(
    model: &Model,
    data: &Data,
    fixed: &[ParamId],
    priors: bool,
) -> Result<Errors, FitError> {
    let result = stderr_inner(model, data, fixed, priors);
    if crate::interrupt::requested() {
        return Err(FitError::Interrupted { partial: None });
    }
    result
}

fn stderr_inner(
    model: &Model,
    data: &Data,
    fixed: &[ParamId],
    priors: bool,
) -> Result<Errors, FitError> {
    let plan = Plan::new(model, fixed)?;
    let shape_error = |why: String| {
        FitError::Uncertainty {
        why: format!(
            "standard errors are computed for models whose variables all sit in the data plate, one per row; {why}"
        ),
        help: "for this model, refit it to rows drawn with replacement (a bootstrap) and take the spread of the estimates".into(),
    }
    };
    if let Some(p) = model.chain_plate() {
        return Err(FitError::Uncertainty {
            why: format!(
                "standard errors are computed for rows that are independent given the parameters; `{}` is a chain, whose rows depend on each other",
                model.plates[p].name
            ),
            help: "for a chain, refit it to whole sequences drawn with replacement (a block bootstrap) and take the spread of the estimates".into(),
        });
    }
    for (v, var) in model.vars.iter().enumerate() {
        if is_global(model, v) {
            return Err(shape_error(format!("`{}` is outside it", var.name)));
        }
        if Layout::of(model, v).inst != 1 {
            return Err(shape_error(format!(
                "`{}` sits in a fixed-size plate",
                var.name
            )));
        }
    }
    // θ: the coordinates of every learned cell, in plan order.
    let mut slots: HashMap<(VarId, usize), Vec<Slot>> = HashMap::new();
    let mut p = 0;
    let mut layout: Vec<Slot> = Vec::new();
    for l in &plan.learned {
        for (ci, cell) in l.cells.iter().enumerate() {
            let slot = Slot {
                role: l.role,
                start: p,
                param: l.param,
                cell: ci,
            };
            p += coords(l.role, cell.offsets.len());
            layout.push(slot);
            for &u in &cell.uses {
                slots.entry(u).or_default().push(slot);
            }
        }
    }
    if p > MAX_COORDS {
        return Err(FitError::Uncertainty {
            why: format!(
                "the fit has {p} free coordinates, and standard errors are computed for at most {MAX_COORDS} (the information matrix is p × p)"
            ),
            help: "hold some parameters with fixed = [...] in the fit, or use fewer components"
                .into(),
        });
    }
    let cpds = tables(model)?;
    let latents: Vec<VarId> = (0..model.vars.len())
        .filter(|&v| model.vars[v].support.is_discrete())
        .collect();
    let radix: Vec<usize> = latents
        .iter()
        .map(|&v| match model.vars[v].support {
            Support::Discrete(k) => k,
            _ => unreachable!("discrete"),
        })
        .collect();
    let total = radix
        .iter()
        .try_fold(1usize, |n, &k| n.checked_mul(k))
        .filter(|&n| n <= MAX_CONFIGS)
        .ok_or_else(|| shape_error("its discrete variables have too many joint values".into()))?;
    let configs: Vec<Vec<usize>> = (0..total)
        .map(|c| crate::array::unravel(c, &radix))
        .collect();
    let entries = configs
        .iter()
        .map(|vals| {
            (0..model.vars.len())
                .map(|v| {
                    let key: Vec<usize> = model.vars[v]
                        .parents
                        .iter()
                        .map(|p| {
                            vals[latents
                                .iter()
                                .position(|l| l == p)
                                .expect("a discrete parent")]
                        })
                        .collect();
                    cpds[v].index(&key)
                })
                .collect()
        })
        .collect();
    for (v, var) in model.vars.iter().enumerate() {
        if let (Support::RealVector(d), Some(o)) = (var.support, &data.obs[v])
            && o.misses_part(d)
        {
            return Err(FitError::Uncertainty {
                why: format!(
                    "standard errors are computed from complete rows of `{}`, and some rows miss part of it",
                    var.name
                ),
                help: format!(
                    "compute them on the rows that give all of `{}` (the fit itself takes the others)",
                    var.name
                ),
            });
        }
    }
    let reads = slots
        .into_iter()
        .map(|((v, e), s)| ((v, e), Reads::new(&cpds[v].entries[e], s)))
        .collect();
    let setup = Setup {
        model,
        reads,
        dims: (0..model.vars.len())
            .map(|v| Layout::of(model, v).event)
            .collect(),
        latent_of: (0..model.vars.len())
            .map(|v| latents.iter().position(|&l| l == v))
            .collect(),
        cpds,
        configs,
        entries,
    };
    // −Σ_n w_n ∇²ℓ_n, chunk by chunk in parallel, reduced in chunk order.
    let parts: Vec<Vec<f64>> = chunks(data.rows)
        .par_iter()
        .map(|range| setup.rows(data, range.clone(), p))
        .collect();
    let mut info = DMatrix::<f64>::zeros(p, p);
    for part in &parts {
        for (x, y) in info.iter_mut().zip(part) {
            *x -= y;
        }
    }
    if priors {
        for s in &layout {
            prior_hessian(model, &plan, s, &mut info);
        }
    }
    Ok(errors(model, &plan, &layout, info))
}

impl Setup<'_> {
    /// Σ_n w_n ∇²ℓ_n over the rows `range`, column-major p × p.
    fn rows(&self, data: &Data, range: std::ops::Range<usize>, p: usize) -> Vec<f64> {
        let mut acc = vec![0.0; p * p];
        let mut score = vec![0.0; p];
        let mut terms: Vec<Terms> = (0..self.configs.len()).map(|_| Terms::default()).collect();
        let mut logj = vec![0.0; self.configs.len()];
        let weights = data.row_weights();
        for n in range {
            if crate::interrupt::requested() {
                break;
            }
            let w = weights.map_or(1.0, |w| w[n]);
            if w == 0.0 {
                continue;
            }
            for (c, t) in terms.iter_mut().enumerate() {
                t.clear();
                logj[c] = self.config(data, n, c, t);
            }
            let den = logsumexp(&logj);
            if den == f64::NEG_INFINITY {
                continue;
            }
            score.iter_mut().for_each(|s| *s = 0.0);
            for (c, t) in terms.iter().enumerate() {
                let r = (logj[c] - den).exp();
                if r == 0.0 {
                    continue;
                }
                for &(i, g) in &t.grad {
                    score[i] += r * g;
                }
                for &(i, j, h) in &t.hess {
                    acc[j * p + i] += w * r * h;
                }
                for &(i, gi) in &t.grad {
                    for &(j, gj) in &t.grad {
                        acc[j * p + i] += w * r * gi * gj;
                    }
                }
            }
            let nz: Vec<usize> = (0..p).filter(|&i| score[i] != 0.0).collect();
            for &i in &nz {
                for &j in &nz {
                    acc[j * p + i] -= w * score[i] * score[j];
                }
            }
        }
        acc
    }

    /// l_c for row n and configuration c (−∞ when the row observes other values), its
    /// gradient and Hessian added to `t`.
    fn config(&self, data: &Data, n: usize, c: usize, t: &mut Terms) -> f64 {
        let mut total = 0.0;
        let mut enumerated = [0.0];
        for v in 0..self.model.vars.len() {
            let dim = self.dims[v];
            let observed = data.obs[v].as_ref().map(|o| {
                let at = if o.lanes == 1 { 0 } else { n };
                &o.data[at * dim..(at + 1) * dim]
            });
            let value: &[f64] = match (self.latent_of[v], observed) {
                (Some(i), o) => {
                    let x = self.configs[c][i] as f64;
                    if let Some(o) = o
                        && !o[0].is_nan()
                        && o[0] != x
                    {
                        return f64::NEG_INFINITY;
                    }
                    enumerated[0] = x;
                    &enumerated
                }
                (None, Some(o)) if !o[0].is_nan() => o,
                _ => continue, // a missing continuous value integrates to 1
            };
            let e = self.entries[c][v];
            let local = &self.cpds[v].entries[e];
            total += local.logp(value);
            if let Some(reads) = self.reads.get(&(v, e)) {
                derivatives(local, value, reads, t);
            }
        }
        total
    }
}

/// The gradient and Hessian of log p(x | local) in the coordinates of the cells `slots`.
fn derivatives(local: &Local, x: &[f64], reads: &Reads, t: &mut Terms) {
    let slot = |role: fn(Role) -> bool| reads.slots.iter().find(|s| role(s.role));
    match local {
        Local::Categorical { p, .. } => {
            let Some(s) = slot(|r| r == Role::Probs) else {
                return;
            };
            let k = x[0] as usize;
            let last = p.len() - 1;
            if k < last {
                t.grad.push((s.start + k, 1.0 / p[k]));
                t.hess
                    .push((s.start + k, s.start + k, -1.0 / (p[k] * p[k])));
            } else {
                // log(1 − Σ_{j<last} π_j)
                for i in 0..last {
                    t.grad.push((s.start + i, -1.0 / p[last]));
                    for j in 0..last {
                        t.hess
                            .push((s.start + i, s.start + j, -1.0 / (p[last] * p[last])));
                    }
                }
            }
        }
        Local::Bernoulli { p } => {
            let Some(s) = slot(|r| r == Role::Prob) else {
                return;
            };
            if x[0] == 1.0 {
                t.grad.push((s.start, 1.0 / p));
                t.hess.push((s.start, s.start, -1.0 / (p * p)));
            } else {
                t.grad.push((s.start, -1.0 / (1.0 - p)));
                t.hess
                    .push((s.start, s.start, -1.0 / ((1.0 - p) * (1.0 - p))));
            }
        }
        Local::Normal { mean, sd, .. } => {
            let d = x[0] - mean;
            let (s2, s3) = (sd * sd, sd * sd * sd);
            let m = slot(|r| r == Role::Mean).map(|s| s.start);
            let s = slot(|r| r == Role::Sd).map(|s| s.start);
            if let Some(m) = m {
                t.grad.push((m, d / s2));
                t.hess.push((m, m, -1.0 / s2));
            }
            if let Some(s) = s {
                t.grad.push((s, -1.0 / sd + d * d / s3));
                t.hess.push((s, s, 1.0 / s2 - 3.0 * d * d / (s2 * s2)));
            }
            if let (Some(m), Some(s)) = (m, s) {
                t.hess.push((m, s, -2.0 * d / s3));
                t.hess.push((s, m, -2.0 * d / s3));
            }
        }
        Local::MvNormal(mvn) => {
            let n = mvn.dim();
            let inv = reads.precision.as_ref().expect("an MvNormal's precision");
            let d = nalgebra::DVector::from_iterator(n, (0..n).map(|i| x[i] - mvn.mean[i]));
            let u = inv * &d; // Σ⁻¹d
            let m = slot(|r| r == Role::Mean).map(|s| s.start);
            let cs = slot(|r| matches!(r, Role::Cov(_)));
            if let Some(m) = m {
                for i in 0..n {
                    t.grad.push((m + i, u[i]));
                    for j in 0..n {
                        t.hess.push((m + i, m + j, -inv[(i, j)]));
                    }
                }
            }
            if let Some(cs) = cs {
                let dirs = &reads.dirs;
                let dd = &d * d.transpose();
                let (g, h) = logdet_trace(inv, &dd, 1.0, dirs);
                let k = dirs.len();
                for a in 0..k {
                    t.grad.push((cs.start + a, g[a]));
                    for b in 0..k {
                        t.hess.push((cs.start + a, cs.start + b, h[a * k + b]));
                    }
                }
                if let Some(m) = m {
                    // ∂(Σ⁻¹d)/∂s_a = −Σ⁻¹·E_a·Σ⁻¹d
                    for (a, e) in dirs.iter().enumerate() {
                        for i in 0..n {
                            let v: f64 = -e.iter().map(|&(r, s)| inv[(i, r)] * u[s]).sum::<f64>();
                            t.hess.push((m + i, cs.start + a, v));
                            t.hess.push((cs.start + a, m + i, v));
                        }
                    }
                }
            }
        }
    }
}

/// The current values of a learned cell.
fn cell_values(model: &Model, plan: &Plan, s: &Slot) -> Vec<f64> {
    let l = plan
        .learned
        .iter()
        .find(|l| l.param == s.param)
        .expect("a learned parameter");
    let value = model.params[s.param]
        .value
        .as_ref()
        .expect("a fitted parameter has a value");
    l.cells[s.cell]
        .offsets
        .iter()
        .map(|&o| value.data()[o])
        .collect()
}

/// Subtracts the Hessian of the cell's log prior from the information.
fn prior_hessian(model: &Model, plan: &Plan, s: &Slot, info: &mut DMatrix<f64>) {
    let Some(prior) = &model.params[s.param].prior else {
        return;
    };
    let x = cell_values(model, plan, s);
    let mut add = |i: usize, j: usize, h: f64| info[(s.start + i, s.start + j)] -= h;
    match (s.role, prior) {
        (Role::Probs, Prior::Dirichlet { alpha }) => {
            let last = x.len() - 1;
            let tail = (alpha[last] - 1.0) / (x[last] * x[last]);
            for i in 0..last {
                add(i, i, -(alpha[i] - 1.0) / (x[i] * x[i]));
                for j in 0..last {
                    add(i, j, -tail);
                }
            }
        }
        (Role::Prob, Prior::Beta { a, b }) => {
            let q = x[0];
            add(
                0,
                0,
                -(a - 1.0) / (q * q) - (b - 1.0) / ((1.0 - q) * (1.0 - q)),
            );
        }
        (Role::Mean, Prior::Normal { sd, .. }) => {
            for i in 0..x.len() {
                add(i, i, -1.0 / (sd * sd));
            }
        }
        (Role::Sd, Prior::InvGamma { a, b }) => {
            // −2(a + 1)·ln σ − b·σ⁻²
            let sd = x[0];
            add(0, 0, 2.0 * (a + 1.0) / (sd * sd) - 6.0 * b / sd.powi(4));
        }
        (Role::Cov(ParamType::Diag(n)), Prior::InvGamma { a, b }) => {
            for i in 0..n {
                let v = x[i * n + i];
                add(i, i, (a + 1.0) / (v * v) - 2.0 * b / (v * v * v));
            }
        }
        (Role::Cov(ParamType::Iso(_)), Prior::InvGamma { a, b }) => {
            let v = x[0];
            add(0, 0, (a + 1.0) / (v * v) - 2.0 * b / (v * v * v));
        }
        (Role::Cov(ty @ ParamType::Cov(n)), Prior::InvWishart { nu, psi }) => {
            let cov = DMatrix::from_row_slice(n, n, &x);
            let inv = nalgebra::Cholesky::new(cov)
                .map(|c| c.inverse())
                .unwrap_or_else(|| DMatrix::zeros(n, n));
            let dirs = directions(ty);
            let (_, h) = logdet_trace(
                &inv,
                &DMatrix::from_row_slice(n, n, psi),
                nu + n as f64 + 1.0,
                &dirs,
            );
            let k = dirs.len();
            for a in 0..k {
                for b in 0..k {
                    add(a, b, h[a * k + b]);
                }
            }
        }
        _ => {}
    }
}

/// Each parameter entry as a linear function of θ: (coordinate, coefficient) pairs.
fn entry_coefficients(role: Role, start: usize, width: usize) -> Vec<Vec<(usize, f64)>> {
    match role {
        Role::Probs => (0..width)
            .map(|k| {
                if k + 1 < width {
                    vec![(start + k, 1.0)]
                } else {
                    (0..width - 1).map(|j| (start + j, -1.0)).collect()
                }
            })
            .collect(),
        Role::Prob | Role::Sd | Role::Mean => (0..width).map(|k| vec![(start + k, 1.0)]).collect(),
        Role::Cov(ty) => {
            let n = (width as f64).sqrt().round() as usize;
            (0..width)
                .map(|k| {
                    let (i, j) = (k / n, k % n);
                    match ty {
                        ParamType::Cov(_) => {
                            let (a, b) = (i.max(j), i.min(j));
                            vec![(start + a * (a + 1) / 2 + b, 1.0)]
                        }
                        ParamType::Diag(_) if i == j => vec![(start + i, 1.0)],
                        ParamType::Iso(_) if i == j => vec![(start, 1.0)],
                        _ => Vec::new(),
                    }
                })
                .collect()
        }
    }
}

/// The standard errors from the information: V = I⁻¹ on the directions the data determine,
/// infinity for entries that move along the others.
fn errors(model: &Model, plan: &Plan, layout: &[Slot], info: DMatrix<f64>) -> Errors {
    let p = info.nrows();
    let sym = (&info + info.transpose()) / 2.0;
    let eig = nalgebra::SymmetricEigen::new(sym);
    let top = eig.eigenvalues.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    let tol = top * 1e-10 * p.max(1) as f64;
    let (mut v, mut null) = (DMatrix::<f64>::zeros(p, p), Vec::new());
    let mut negative = false;
    for (k, &lambda) in eig.eigenvalues.iter().enumerate() {
        let u = eig.eigenvectors.column(k);
        if lambda > tol {
            v += u * u.transpose() / lambda;
        } else {
            negative |= lambda < -tol;
            null.push(u.into_owned());
        }
    }
    let mut se: Vec<Array> = model
        .params
        .iter()
        .map(|q| Array::from_vec(q.shape(), vec![0.0; q.shape().iter().product()]))
        .collect();
    let mut involved: Vec<String> = Vec::new();
    for s in layout {
        let l = plan
            .learned
            .iter()
            .find(|l| l.param == s.param)
            .expect("a learned parameter");
        let cell = &l.cells[s.cell];
        let mut data = se[s.param].data().to_vec();
        for (&o, a) in
            cell.offsets
                .iter()
                .zip(entry_coefficients(s.role, s.start, cell.offsets.len()))
        {
            if a.is_empty() {
                continue;
            }
            let undetermined = null
                .iter()
                .any(|u| a.iter().map(|&(i, c)| c * u[i]).sum::<f64>().abs() > 1e-6);
            data[o] = if undetermined {
                let name = super::plan::cell_name(model, s.param, &cell.offsets);
                if !involved.contains(&name) {
                    involved.push(name);
                }
                f64::INFINITY
            } else {
                let var: f64 = a
                    .iter()
                    .flat_map(|&(i, ci)| a.iter().map(move |&(j, cj)| (i, j, ci * cj)))
                    .map(|(i, j, c)| c * v[(i, j)])
                    .sum();
                var.max(0.0).sqrt()
            };
        }
        se[s.param] = Array::from_vec(model.params[s.param].shape(), data);
    }
    let mut warnings = Vec::new();
    if !involved.is_empty() {
        let names: Vec<String> = involved.iter().map(|n| format!("`{n}`")).collect();
        warnings.push(format!(
            "the information matrix is {}: the data do not determine {}, whose standard errors are infinite (a component with no rows, or a parameter the likelihood does not see)",
            if negative { "not positive-definite (the values are not at a maximum)" } else { "singular" },
            names.join(", ")
        ));
    }
    Errors { se, warnings }
}
