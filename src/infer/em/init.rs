//! Starting points: the model's own values, or neutral values from the data followed by one
//! M-step on hard responsibilities — from k-means on the rows' continuous observations, or at
//! random: each row to the nearest of K rows drawn at random when the model has one latent and
//! continuous observations, else every latent value drawn uniformly.

use super::FitError;
use super::estep::estep;
use super::kmeans::{Points, kmeans, random_partition};
use super::mstep::{Report, mstep, shape_cov};
use super::plan::{Plan, Role};
use crate::infer::cpd::{Layout, entry_instance, tables};
use crate::infer::engine::{Observed, is_global};
use crate::infer::numeric::{Rng, uniform};
use crate::infer::stats::Data;
use crate::model::{Model, Support, VarId};
use nalgebra::DMatrix;

/// How a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From the model's values.
    Given,
    /// k-means clusters as hard responsibilities, then one M-step.
    KMeans,
    /// Random hard responsibilities, then one M-step.
    Random,
}

impl Start {
    /// The initialisation in words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Start::Given => "the given values",
            Start::KMeans => "the k-means initialisation",
            Start::Random => "the random initialisation",
        }
    }
}

/// The model a run starts from. For k-means and random starts, also the report of the first
/// M-step: the cells that got no rows from the initialisation (they start at the data's mean
/// and variance), and the spreads that reg holds up.
pub fn start(
    model: &Model,
    plan: &Plan,
    data: &Data,
    how: Start,
    rng: &mut Rng,
    reg: f64,
    priors: bool,
) -> Result<(Model, Report), FitError> {
    if how == Start::Given {
        return Ok((model.clone(), Report::default()));
    }
    let mut m = model.clone();
    neutral(&mut m, plan, data, reg);
    let clamped = match (how, kmeans_target(model, data)) {
        (Start::KMeans, Some(z)) => clamp_clusters(model, data, z, rng, kmeans),
        (Start::Random, Some(z)) => clamp_clusters(model, data, z, rng, random_partition),
        (Start::Random, None) => clamp_random(model, data, rng),
        (Start::KMeans, None) => unreachable!("k-means is asked only where it applies"),
        (Start::Given, _) => unreachable!("handled above"),
    };
    let cpds = tables(&m)?;
    let e = estep(&m, &cpds, &clamped, true)?;
    let stats = e.stats.expect("asked for statistics");
    let report = mstep(
        &mut m,
        plan,
        &cpds,
        &stats,
        &super::mstep::Settings {
            reg,
            vanish: data.negligible(),
            priors,
        },
    )?;
    uniform_transitions(&mut m, plan);
    Ok((m, report))
}

/// A chain starts from uniform first-state and transition probabilities (as hmmlearn's
/// `init_params`), whatever the hard responsibilities' consecutive rows said: the emissions
/// alone tell the states apart, and EM finds the dynamics. Parameters that variables outside
/// the chained ones read too keep their M-step values.
fn uniform_transitions(m: &mut Model, plan: &Plan) {
    let chained = m.chained();
    for l in &plan.learned {
        let read_by_chained_only = (0..m.vars.len())
            .filter(|v| m.vars[*v].params.contains(&l.param))
            .all(|v| chained.contains(&v));
        if !read_by_chained_only || !matches!(l.role, Role::Probs | Role::Prob) {
            continue;
        }
        let p = &mut m.params[l.param];
        let Some(value) = p.value.as_mut() else {
            continue;
        };
        let fill = match p.ty {
            crate::model::ParamType::Simplex(k) => 1.0 / k as f64,
            _ => 0.5,
        };
        *value = value.map(|_| fill);
    }
}

/// Whether k-means applies: the single latent, a discrete variable in the data plate (one per
/// row), and some continuous observation in the data plate.
pub fn kmeans_target(model: &Model, data: &Data) -> Option<VarId> {
    let latent: Vec<VarId> = (0..model.vars.len())
        .filter(|&v| model.vars[v].support.is_discrete())
        .filter(|&v| match &data.obs[v] {
            None => true,
            Some(o) => o.data.iter().any(|x| x.is_nan()),
        })
        .collect();
    let features = (0..model.vars.len()).any(|v| {
        !model.vars[v].support.is_discrete() && !is_global(model, v) && data.obs[v].is_some()
    });
    match latent[..] {
        [z] if features && !is_global(model, z) && Layout::of(model, z).inst == 1 => Some(z),
        _ => None,
    }
}

/// How rows of continuous observations are grouped into `k` clusters.
type Clustering = fn(&Points<'_>, usize, &mut Rng) -> Vec<Option<usize>>;

/// The data with `z` filled in by clustering the continuous observations (rows that give `z`
/// keep it; rows with no continuous observation stay latent).
fn clamp_clusters(
    model: &Model,
    data: &Data,
    z: VarId,
    rng: &mut Rng,
    cluster: Clustering,
) -> Data {
    let k = match model.vars[z].support {
        Support::Discrete(k) => k,
        _ => unreachable!("k-means targets a discrete latent"),
    };
    let cols: Vec<(VarId, usize)> = (0..model.vars.len())
        .filter(|&v| !model.vars[v].support.is_discrete() && !is_global(model, v))
        .filter_map(|v| {
            let o = data.obs[v].as_ref()?;
            Some((v, o.data.len() / o.lanes))
        })
        .collect();
    let f: usize = cols.iter().map(|c| c.1).sum();
    let n = data.rows;
    let mut x = Vec::with_capacity(n * f);
    for i in 0..n {
        for &(v, per) in &cols {
            let o = data.obs[v].as_ref().expect("a feature is observed");
            x.extend_from_slice(&o.data[i * per..(i + 1) * per]);
        }
    }
    let w = data
        .row_weights()
        .map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
    let labels = cluster(&Points { x: &x, f, w: &w }, k, rng);
    let mut out = data.clone();
    let given = data.obs[z].as_ref();
    let filled: Vec<f64> = (0..n)
        .map(|i| match given.map(|o| o.data[i]) {
            Some(v) if !v.is_nan() => v,
            _ => labels[i].map_or(f64::NAN, |c| c as f64),
        })
        .collect();
    out.obs[z] = Some(Observed::new(filled, n));
    out
}

/// The data with every missing discrete value drawn uniformly.
fn clamp_random(model: &Model, data: &Data, rng: &mut Rng) -> Data {
    let mut out = data.clone();
    for (v, var) in model.vars.iter().enumerate() {
        let Support::Discrete(k) = var.support else {
            continue;
        };
        let inst = Layout::of(model, v).inst;
        let lanes = if is_global(model, v) { 1 } else { data.rows };
        let mut values = match &out.obs[v] {
            Some(o) => o.data.to_vec(),
            None => vec![f64::NAN; lanes * inst],
        };
        for x in values.iter_mut().filter(|x| x.is_nan()) {
            *x = ((uniform(rng) * k as f64) as usize).min(k - 1) as f64;
        }
        out.obs[v] = Some(Observed::new(values, lanes));
    }
    out
}

/// Sets every learned cell to a neutral value: uniform probabilities, and the observed mean
/// and (co)variance of the variable instance the cell describes (0 and 1 where nothing is
/// observed).
fn neutral(model: &mut Model, plan: &Plan, data: &Data, reg: f64) {
    for l in &plan.learned {
        let shape = model.params[l.param].shape();
        let len: usize = shape.iter().product();
        let mut vals = model.params[l.param]
            .value
            .as_ref()
            .map_or_else(|| vec![0.0; len], |a| a.data().to_vec());
        for cell in &l.cells {
            let (v, e) = cell.uses[0];
            let inst = entry_instance(model, v, e);
            let width = cell.offsets.len();
            let new: Vec<f64> = match l.role {
                Role::Probs => vec![1.0 / width as f64; width],
                Role::Prob => vec![0.5],
                Role::Mean => moments(model, data, v, inst).0,
                Role::Sd => {
                    let var = moments(model, data, v, inst).1[0] + reg;
                    vec![if var > 0.0 { var.sqrt() } else { 1.0 }]
                }
                Role::Cov(ty) => {
                    let n = (width as f64).sqrt().round() as usize;
                    let c = DMatrix::from_row_slice(n, n, &moments(model, data, v, inst).1);
                    let c = shape_cov(c, ty, reg);
                    let c = if crate::linalg::is_positive_definite(c.as_slice(), n) {
                        c
                    } else {
                        DMatrix::identity(n, n)
                    };
                    (0..n * n).map(|k| c[(k / n, k % n)]).collect()
                }
            };
            for (&o, x) in cell.offsets.iter().zip(new) {
                vals[o] = x;
            }
        }
        model.params[l.param].value = Some(crate::array::Array::from_vec(shape, vals));
    }
}

/// The weighted mean and covariance (row-major, event × event) of instance `inst` of the
/// continuous variable `v` over the rows that observe it; 0 and the identity when none does.
/// Rows missing some entries of a vector count towards the entries they have: each mean over
/// the rows that give the entry, each covariance over the rows that give both (when the result
/// is not positive-definite, the variances alone).
fn moments(model: &Model, data: &Data, v: VarId, inst: usize) -> (Vec<f64>, Vec<f64>) {
    let lay = Layout::of(model, v);
    let d = lay.event;
    let identity = (0..d * d)
        .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
        .collect();
    let Some(o) = &data.obs[v] else {
        return (vec![0.0; d], identity);
    };
    let rows: Vec<(&[f64], f64)> = (0..o.lanes)
        .map(|l| {
            let at = (l * lay.inst + inst) * d;
            let w = match (data.row_weights(), o.lanes) {
                (Some(w), n) if n > 1 => w[l],
                _ => 1.0,
            };
            (&o.data[at..at + d], w)
        })
        .filter(|(x, w)| x.iter().any(|x| !x.is_nan()) && *w > 0.0)
        .collect();
    let positive = |t: f64| t.partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
    let mut mean = vec![0.0; d];
    let mut mass = vec![0.0; d];
    for (x, w) in &rows {
        for j in 0..d {
            if !x[j].is_nan() {
                mean[j] += w * x[j];
                mass[j] += w;
            }
        }
    }
    if !mass.iter().any(|&t| positive(t)) {
        return (vec![0.0; d], identity);
    }
    for (m, &t) in mean.iter_mut().zip(&mass) {
        *m = if positive(t) { *m / t } else { 0.0 };
    }
    // Row by row over contiguous memory, each entry summed in row order; a wide variable
    // takes long, so Ctrl-C and the time limit are heard between rows (the fit then reports
    // the interruption).
    // `pairs[i·d + j]`: the weight of the rows that give entries i and j.
    let mut cov = vec![0.0; d * d];
    let mut pairs = vec![0.0; d * d];
    let mut whole = 0.0;
    let mut partial = false;
    let mut dev = vec![0.0; d];
    for (x, w) in &rows {
        if crate::interrupt::requested() {
            break;
        }
        for ((e, xi), m) in dev.iter_mut().zip(*x).zip(&mean) {
            *e = xi - m;
        }
        let complete = dev.iter().all(|e| !e.is_nan());
        if complete {
            whole += w;
        } else {
            partial = true;
        }
        for (i, (row, pair)) in cov
            .chunks_exact_mut(d)
            .zip(pairs.chunks_exact_mut(d))
            .enumerate()
        {
            let a = w * dev[i];
            if complete {
                for (c, e) in row.iter_mut().zip(&dev) {
                    *c += a * e;
                }
                continue;
            }
            for ((c, p), e) in row.iter_mut().zip(pair.iter_mut()).zip(&dev) {
                if !a.is_nan() && !e.is_nan() {
                    *c += a * e;
                    *p += w;
                }
            }
        }
    }
    for (c, &p) in cov.iter_mut().zip(&pairs) {
        let t = whole + p;
        *c = if positive(t) { *c / t } else { 0.0 };
    }
    // Pairwise covariances need not fit together; the variances alone then start the fit.
    if partial && !crate::linalg::is_positive_definite(&cov, d) {
        for i in 0..d {
            for j in 0..d {
                if i != j {
                    cov[i * d + j] = 0.0;
                } else if cov[i * d + i] <= 0.0 {
                    cov[i * d + i] = 1.0;
                }
            }
        }
    }
    (mean, cov)
}
