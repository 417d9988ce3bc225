//! Distributions as values (section 6): batched Normal, Categorical, Bernoulli and MvNormal, and
//! mixtures of them; their densities, cdf, moments and draws.
//!
//! A distribution has a *batch shape* (one member per element: `Normal([0, 1], [1, 2])` has
//! batch `[2]`) and an *event shape* (the shape of one value: `[]`, or `[D]` for MvNormal).
//! Evaluating at values of shape `S ++ event` gives `S ++ batch`: each value against every
//! member. A mixture sums its components' batch away.

use super::numeric::{
    Mvn, Rng, draw_index, logsumexp, normal_cdf, normal_logpdf, standard_normal, uniform,
};
use crate::array::{Array, ArrayError, broadcast_shape, format_number, show_shape};
use crate::model::ParamType;
use std::fmt;
use thiserror::Error;

/// A distribution value.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// Normal members; `mean` and `sd` both have the batch shape.
    Normal { mean: Array, sd: Array },
    /// Categorical members; `p` has shape `batch ++ [K]`.
    Categorical { p: Array },
    /// Bernoulli members; `p` has the batch shape.
    Bernoulli { p: Array },
    /// Multivariate Normal members; `mean` is `batch ++ [D]`, `cov` is `batch ++ [D, D]`.
    MvNormal { mean: Array, cov: Array },
    /// Σₖ weights[…, k] · components[…, k]: `weights` has shape `batch ++ [K]` and the
    /// components the batch shape `batch ++ [K]` (a batch of mixtures, one per row, is what
    /// GMM regression gives for many rows at once).
    Mixture {
        weights: Array,
        components: Box<Distribution>,
    },
}

/// Why a distribution cannot be made or used.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum DistError {
    /// Arguments that do not fit together.
    #[error(transparent)]
    Shape(#[from] ArrayError),
    /// An argument outside its domain.
    #[error("{what}: {why}")]
    Invalid { what: String, why: String },
    /// An operation the distribution does not have.
    #[error("{0}")]
    Unsupported(String),
    /// A value of the wrong shape.
    #[error("{dist} takes values of shape {}, but this has shape {}", show_shape(.want), show_shape(.got))]
    Value {
        dist: &'static str,
        want: Vec<usize>,
        got: Vec<usize>,
    },
}

fn invalid(what: impl Into<String>, why: impl Into<String>) -> DistError {
    DistError::Invalid {
        what: what.into(),
        why: why.into(),
    }
}

impl Distribution {
    /// `Normal(mean, sd)`: the arguments broadcast together; every sd must be positive.
    pub fn normal(mean: &Array, sd: &Array) -> Result<Distribution, DistError> {
        let shape = broadcast_shape(mean.shape(), sd.shape())?;
        let mean = mean.broadcast_to(&shape)?;
        let sd = sd.broadcast_to(&shape)?;
        if let Some(bad) = sd.data().iter().find(|s| !(**s > 0.0 && s.is_finite())) {
            return Err(invalid(
                "Normal's sd must be positive and finite",
                format!("got {}", format_number(*bad)),
            ));
        }
        if let Some(bad) = sd.data().iter().find(|s| **s < f64::MIN_POSITIVE) {
            return Err(invalid(
                "Normal's sd is too small",
                crate::infer::cpd::too_small_sd(*bad),
            ));
        }
        if let Some(bad) = mean.data().iter().find(|m| !m.is_finite()) {
            return Err(invalid(
                "Normal's mean must be finite",
                format!("got {}", format_number(*bad)),
            ));
        }
        Ok(Distribution::Normal { mean, sd })
    }

    /// `Categorical(p)`: `p`'s last axis is a simplex.
    pub fn categorical(p: &Array) -> Result<Distribution, DistError> {
        let Some(&k) = p.shape().last() else {
            return Err(invalid(
                "Categorical needs a vector of probabilities",
                "got a single number; for two outcomes use Bernoulli(p)",
            ));
        };
        if k == 0 {
            return Err(invalid("Categorical needs at least one outcome", "got []"));
        }
        for chunk in p.data().chunks(k) {
            ParamType::Simplex(k)
                .validate(chunk)
                .map_err(|why| invalid("Categorical's p must be a simplex", why))?;
        }
        Ok(Distribution::Categorical { p: p.clone() })
    }

    /// `Bernoulli(p)`: every p in [0, 1].
    pub fn bernoulli(p: &Array) -> Result<Distribution, DistError> {
        for &x in p.data() {
            ParamType::Prob
                .validate(&[x])
                .map_err(|why| invalid("Bernoulli's p must be a probability", why))?;
        }
        Ok(Distribution::Bernoulli { p: p.clone() })
    }

    /// `MvNormal(mean, cov)`: batch shapes broadcast; each covariance symmetric positive-definite.
    pub fn mv_normal(mean: &Array, cov: &Array) -> Result<Distribution, DistError> {
        let d = match mean.shape().last() {
            Some(&d) if d > 0 => d,
            Some(_) => return Err(invalid("MvNormal's mean must be a vector", "got []")),
            None => return Err(invalid("MvNormal's mean must be a vector", "got a number")),
        };
        let cs = cov.shape();
        if cs.len() < 2 || cs[cs.len() - 1] != d || cs[cs.len() - 2] != d {
            return Err(invalid(
                "MvNormal's covariance must be a matrix matching the mean",
                format!(
                    "the mean has length {d}, so the covariance must be {d}×{d}; it has shape {}",
                    show_shape(cs)
                ),
            ));
        }
        let mb = &mean.shape()[..mean.rank() - 1];
        let cb = &cs[..cs.len() - 2];
        let batch = broadcast_shape(mb, cb)?;
        let mut ms = batch.clone();
        ms.push(d);
        let mut covs = batch;
        covs.extend([d, d]);
        let mean = mean.broadcast_to(&ms)?;
        let cov = cov.broadcast_to(&covs)?;
        for chunk in cov.data().chunks(d * d) {
            ParamType::Cov(d)
                .validate(chunk)
                .map_err(|why| invalid("MvNormal's covariance", why))?;
        }
        Ok(Distribution::MvNormal { mean, cov })
    }

    /// `Mixture(Categorical(w), components)`: the components' batch shape must be `[K]`.
    pub fn mixture(
        cat: &Distribution,
        components: &Distribution,
    ) -> Result<Distribution, DistError> {
        let Distribution::Categorical { p } = cat else {
            return Err(invalid(
                "Mixture's first argument must be a Categorical",
                format!("got {}", cat.family()),
            ));
        };
        if p.rank() != 1 {
            return Err(invalid(
                "Mixture's weights must be one Categorical",
                format!(
                    "got a batch of shape {}",
                    show_shape(&p.shape()[..p.rank() - 1])
                ),
            ));
        }
        let k = p.len();
        if !matches!(
            components,
            Distribution::Normal { .. } | Distribution::MvNormal { .. }
        ) {
            return Err(invalid(
                "Mixture's components must be Normal or MvNormal",
                format!("got {}", components.family()),
            ));
        }
        if components.batch_shape() != [k] {
            return Err(invalid(
                "Mixture needs one component per weight",
                format!(
                    "{k} weights but the components have batch shape {}",
                    show_shape(&components.batch_shape())
                ),
            ));
        }
        Ok(Distribution::Mixture {
            weights: p.clone(),
            components: Box::new(components.clone()),
        })
    }

    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            Distribution::Normal { .. } => "Normal",
            Distribution::Categorical { .. } => "Categorical",
            Distribution::Bernoulli { .. } => "Bernoulli",
            Distribution::MvNormal { .. } => "MvNormal",
            Distribution::Mixture { .. } => "Mixture",
        }
    }

    /// The shape of the batch of members.
    pub fn batch_shape(&self) -> Vec<usize> {
        match self {
            Distribution::Normal { mean, .. } => mean.shape().to_vec(),
            Distribution::Bernoulli { p } => p.shape().to_vec(),
            Distribution::Categorical { p } => p.shape()[..p.rank() - 1].to_vec(),
            Distribution::MvNormal { mean, .. } => mean.shape()[..mean.rank() - 1].to_vec(),
            Distribution::Mixture { weights, .. } => weights.shape()[..weights.rank() - 1].to_vec(),
        }
    }

    /// The shape of one value.
    pub fn event_shape(&self) -> Vec<usize> {
        match self {
            Distribution::MvNormal { mean, .. } => vec![*mean.shape().last().expect("a vector")],
            Distribution::Mixture { components, .. } => components.event_shape(),
            _ => Vec::new(),
        }
    }

    /// The values' own shape `S` when `x` has shape `S ++ event`.
    fn sample_shape(&self, x: &Array) -> Result<Vec<usize>, DistError> {
        let ev = self.event_shape();
        let xs = x.shape();
        if xs.len() < ev.len() || xs[xs.len() - ev.len()..] != ev[..] {
            return Err(DistError::Value {
                dist: self.family(),
                want: ev,
                got: xs.to_vec(),
            });
        }
        Ok(xs[..xs.len() - ev.len()].to_vec())
    }

    /// The log density (or log probability) of each value against each member.
    pub fn logpdf(&self, x: &Array) -> Result<Array, DistError> {
        self.evaluate(x, true)
    }

    /// The density (or probability) of each value against each member; discrete members give
    /// their probabilities exactly, not through a logarithm.
    pub fn pdf(&self, x: &Array) -> Result<Array, DistError> {
        self.evaluate(x, false)
    }

    /// `logpdf` (`log`) or `pdf` (not): the values' shape, then the batch shape.
    fn evaluate(&self, x: &Array, log: bool) -> Result<Array, DistError> {
        let s = self.sample_shape(x)?;
        // Discrete members give probabilities, continuous ones log densities.
        let prob = |p: f64| if log { p.ln() } else { p };
        let dens = |l: f64| if log { l } else { l.exp() };
        if let Distribution::Mixture {
            weights,
            components,
        } = self
        {
            // Each value against each component: `S ++ batch ++ [K]`, mixed over the last axis.
            let per = components.logpdf(x)?;
            let logw: Vec<f64> = weights.data().iter().map(|w| w.ln()).collect();
            let k = *weights.shape().last().expect("a vector");
            let b = logw.len() / k;
            let out = per
                .data()
                .chunks(k)
                .enumerate()
                .map(|(r, row)| {
                    let w = &logw[(r % b) * k..(r % b + 1) * k];
                    let terms: Vec<f64> = row.iter().zip(w).map(|(l, w)| l + w).collect();
                    dens(logsumexp(&terms))
                })
                .collect();
            let mut shape = s;
            shape.extend(self.batch_shape());
            return Ok(Array::from_vec(shape, out));
        }
        let ev: usize = self.event_shape().iter().product();
        let values = x.data().chunks(ev);
        let batch = self.batch_shape();
        let b: usize = batch.iter().product();
        let mut out = Vec::with_capacity(values.len() * b);
        match self {
            Distribution::Normal { mean, sd } => {
                for v in values {
                    for j in 0..b {
                        out.push(dens(normal_logpdf(v[0], mean.data()[j], sd.data()[j])));
                    }
                }
            }
            Distribution::Categorical { p } => {
                let k = *p.shape().last().expect("a vector");
                for v in values {
                    for j in 0..b {
                        out.push(prob(whole(v[0], k).map_or(0.0, |i| p.data()[j * k + i])));
                    }
                }
            }
            Distribution::Bernoulli { p } => {
                for v in values {
                    for j in 0..b {
                        let pj = p.data()[j];
                        out.push(prob(match whole(v[0], 2) {
                            Some(1) => pj,
                            Some(_) => 1.0 - pj,
                            None => 0.0,
                        }));
                    }
                }
            }
            Distribution::MvNormal { .. } => {
                let mvns = self.mvns()?;
                for v in values {
                    for m in &mvns {
                        out.push(dens(m.logpdf(v)));
                    }
                }
            }
            Distribution::Mixture { .. } => unreachable!("handled above"),
        }
        let mut shape = s;
        shape.extend(batch);
        Ok(Array::from_vec(shape, out))
    }

    /// The cumulative probability of each value against each member (Normal and its mixtures).
    pub fn cdf(&self, x: &Array) -> Result<Array, DistError> {
        match self {
            Distribution::Normal { mean, sd } => {
                let b = mean.len();
                let mut out = Vec::with_capacity(x.len() * b);
                for &v in x.data() {
                    for j in 0..b {
                        out.push(normal_cdf(v, mean.data()[j], sd.data()[j]));
                    }
                }
                let mut shape = x.shape().to_vec();
                shape.extend(mean.shape());
                Ok(Array::from_vec(shape, out))
            }
            Distribution::Mixture {
                weights,
                components,
            } if matches!(**components, Distribution::Normal { .. }) => {
                let per = components.cdf(x)?;
                let k = *weights.shape().last().expect("a vector");
                let b = weights.len() / k;
                let out = per
                    .data()
                    .chunks(k)
                    .enumerate()
                    .map(|(r, row)| {
                        let w = &weights.data()[(r % b) * k..(r % b + 1) * k];
                        row.iter().zip(w).map(|(c, w)| c * w).sum()
                    })
                    .collect();
                let mut shape = x.shape().to_vec();
                shape.extend(self.batch_shape());
                Ok(Array::from_vec(shape, out))
            }
            _ => Err(DistError::Unsupported(format!(
                "cdf is defined for Normal and mixtures of Normals, not {}",
                self.describe_family()
            ))),
        }
    }

    fn describe_family(&self) -> String {
        match self {
            Distribution::Mixture { components, .. } => {
                format!("a mixture of {}", components.family())
            }
            d => d.family().to_string(),
        }
    }

    /// The mean of each member (shape `batch ++ event`).
    pub fn mean(&self) -> Array {
        match self {
            Distribution::Normal { mean, .. } | Distribution::MvNormal { mean, .. } => mean.clone(),
            Distribution::Bernoulli { p } => p.clone(),
            Distribution::Categorical { p } => {
                Array::from_vec(self.batch_shape(), categorical_moments(p, |m, _| m))
            }
            Distribution::Mixture {
                weights,
                components,
            } => {
                // Per member of the batch: Σₖ w_k m_k.
                let m = components.mean();
                let ev: usize = self.event_shape().iter().product::<usize>();
                let k = *weights.shape().last().expect("a vector");
                let b = weights.len() / k;
                let mut out = vec![0.0; b * ev];
                for (j, o) in out.chunks_mut(ev.max(1)).enumerate().take(b) {
                    for (i, w) in weights.data()[j * k..(j + 1) * k].iter().enumerate() {
                        let mk = &m.data()[(j * k + i) * ev..(j * k + i + 1) * ev];
                        for (o, x) in o.iter_mut().zip(mk) {
                            *o += w * x;
                        }
                    }
                }
                let mut shape = self.batch_shape();
                shape.extend(self.event_shape());
                Array::from_vec(shape, out)
            }
        }
    }

    /// The variance of each member; for MvNormal and its mixtures, the covariance matrix.
    pub fn var(&self) -> Array {
        match self {
            Distribution::Normal { sd, .. } => sd.map(|s| s * s),
            Distribution::MvNormal { cov, .. } => cov.clone(),
            Distribution::Bernoulli { p } => p.map(|p| p * (1.0 - p)),
            Distribution::Categorical { p } => {
                Array::from_vec(self.batch_shape(), categorical_moments(p, |_, v| v))
            }
            Distribution::Mixture {
                weights,
                components,
            } => {
                // Law of total variance, per member of the batch: Σ w (var_k + m_k m_kᵀ) − m mᵀ.
                let m = self.mean();
                let mk = components.mean();
                let vk = components.var();
                let d: usize = self.event_shape().iter().product::<usize>();
                let k = *weights.shape().last().expect("a vector");
                let b = weights.len() / k;
                let mut out = vec![0.0; b * d * d];
                for (n, out) in out.chunks_mut(d * d).enumerate() {
                    let w = &weights.data()[n * k..(n + 1) * k];
                    for (c, w) in w.iter().enumerate() {
                        let at = n * k + c;
                        let mkk = &mk.data()[at * d..(at + 1) * d];
                        let vkk = &vk.data()[at * d * d..(at + 1) * d * d];
                        for i in 0..d {
                            for j in 0..d {
                                out[i * d + j] += w * (vkk[i * d + j] + mkk[i] * mkk[j]);
                            }
                        }
                    }
                    let mn = &m.data()[n * d..(n + 1) * d];
                    for i in 0..d {
                        for j in 0..d {
                            out[i * d + j] -= mn[i] * mn[j];
                        }
                    }
                }
                let mut shape = self.batch_shape();
                if !matches!(**components, Distribution::Normal { .. }) {
                    shape.extend([d, d]);
                }
                Array::from_vec(shape, out)
            }
        }
    }

    /// The factored members of an MvNormal.
    fn mvns(&self) -> Result<Vec<Mvn>, DistError> {
        let Distribution::MvNormal { mean, cov } = self else {
            return Ok(Vec::new());
        };
        let d = *mean.shape().last().expect("a vector");
        mean.data()
            .chunks(d)
            .zip(cov.data().chunks(d * d))
            .map(|(m, c)| {
                Mvn::new(m, c)
                    .ok_or_else(|| invalid("MvNormal's covariance", "it is not positive-definite"))
            })
            .collect()
    }

    /// `n` draws (shape `[n] ++ batch ++ event`), or one (shape `batch ++ event`) when `n` is
    /// `None`.
    pub fn sample(&self, n: Option<usize>, rng: &mut Rng) -> Result<Array, DistError> {
        let count = n.unwrap_or(1);
        let mut unit = self.batch_shape();
        unit.extend(self.event_shape());
        let per: usize = unit.iter().product();
        let mut shape = n.map_or(Vec::new(), |n| vec![n]);
        shape.extend(&unit);
        crate::array::checked_len(&shape)?;
        let mut out = vec![0.0; count * per];
        let mvns = self.mvns()?;
        for draw in out.chunks_mut(per.max(1)).take(count) {
            self.draw_into(draw, &mvns, rng)?;
        }
        Ok(Array::from_vec(shape, out))
    }

    fn draw_into(&self, out: &mut [f64], mvns: &[Mvn], rng: &mut Rng) -> Result<(), DistError> {
        match self {
            Distribution::Normal { mean, sd } => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = mean.data()[j] + sd.data()[j] * standard_normal(rng);
                }
            }
            Distribution::Bernoulli { p } => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = f64::from(u8::from(uniform(rng) < p.data()[j]));
                }
            }
            Distribution::Categorical { p } => {
                let k = *p.shape().last().expect("a vector");
                for (j, o) in out.iter_mut().enumerate() {
                    *o = draw_index(&p.data()[j * k..(j + 1) * k], rng) as f64;
                }
            }
            Distribution::MvNormal { .. } => {
                let d = mvns.first().map_or(0, Mvn::dim);
                for (m, o) in mvns.iter().zip(out.chunks_mut(d.max(1))) {
                    m.draw(rng, o);
                }
            }
            Distribution::Mixture {
                weights,
                components,
            } => {
                // Per member of the batch: a component by its weights, then a draw from it.
                let k = *weights.shape().last().expect("a vector");
                let b = weights.len() / k;
                let ev = out.len() / b.max(1);
                for (j, out) in out.chunks_mut(ev.max(1)).enumerate().take(b) {
                    let c = draw_index(&weights.data()[j * k..(j + 1) * k], rng);
                    let member = if b == 1 && weights.rank() == 1 {
                        components.member(c)
                    } else {
                        components.member(j).member(c)
                    };
                    let inner = member.mvns()?;
                    member.draw_into(out, &inner, rng)?;
                }
            }
        }
        Ok(())
    }

    /// The `k`-th member along the batch's first axis (a single mixture is its own member).
    pub fn member(&self, k: usize) -> Distribution {
        let pick = |a: &Array| {
            a.index(&[crate::array::Idx::At(k as f64)])
                .expect("k is within the batch")
        };
        match self {
            Distribution::Normal { mean, sd } => Distribution::Normal {
                mean: pick(mean),
                sd: pick(sd),
            },
            Distribution::MvNormal { mean, cov } => Distribution::MvNormal {
                mean: pick(mean),
                cov: pick(cov),
            },
            Distribution::Categorical { p } => Distribution::Categorical { p: pick(p) },
            Distribution::Bernoulli { p } => Distribution::Bernoulli { p: pick(p) },
            Distribution::Mixture {
                weights,
                components,
            } if weights.rank() > 1 => Distribution::Mixture {
                weights: pick(weights),
                components: Box::new(components.member(k)),
            },
            Distribution::Mixture { .. } => self.clone(),
        }
    }
}

/// For each Categorical member of `p` (last axis the probabilities), `pick(mean, variance)` of
/// its value.
fn categorical_moments(p: &Array, pick: fn(f64, f64) -> f64) -> Vec<f64> {
    let k = *p.shape().last().expect("a vector");
    p.data()
        .chunks(k)
        .map(|c| {
            let m: f64 = c.iter().enumerate().map(|(i, pi)| i as f64 * pi).sum();
            let v = c
                .iter()
                .enumerate()
                .map(|(i, pi)| (i as f64 - m).powi(2) * pi)
                .sum();
            pick(m, v)
        })
        .collect()
}

/// `x` as an index in `0..k`, if it is one.
fn whole(x: f64, k: usize) -> Option<usize> {
    (x.fract() == 0.0 && x >= 0.0 && x < k as f64).then_some(x as usize)
}

impl fmt::Display for Distribution {
    /// The constructor call that makes this distribution, e.g. `Normal(2.5, 0.6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Normal { mean, sd } => write!(f, "Normal({mean}, {sd})"),
            Distribution::Categorical { p } => write!(f, "Categorical({p})"),
            Distribution::Bernoulli { p } => write!(f, "Bernoulli({p})"),
            Distribution::MvNormal { mean, cov } => write!(f, "MvNormal({mean}, {cov})"),
            Distribution::Mixture {
                weights,
                components,
            } => write!(f, "Mixture(Categorical({weights}), {components})"),
        }
    }
}
