//! Each variable's conditional distribution evaluated once for every configuration of its
//! discrete parents and fixed-plate indices. Parents are discrete with finite support, so a
//! variable's distribution arguments take finitely many values; the engine and the sampler look
//! them up instead of evaluating expressions per data row.

use super::numeric::{LN_SQRT_2PI, Mvn, Rng, draw_index, standard_normal, uniform};
use super::{InferError, TooManyWhat, checked_count};
use crate::array::{Array, format_number, unravel};
use crate::model::expr::{Env, EvalError};
use crate::model::{ConstId, Dist, Model, ParamId, ParamType, PlateId, PlateSize, VarId};

/// One variable's distribution for each key: the parents' values (in `Var::parents` order), then
/// the indices of the variable's fixed plates (in `Var::plates` order).
///
/// A chained variable (section 9.4) has a second table after the first, for its `then`
/// distribution, keyed by the `prev` values (in `Next::prev` order), then its parents in the
/// same row (in `Next::parents` order); its entries follow the first table's in `entries`, so
/// statistics and the M-step treat both alike.
#[derive(Clone, Debug)]
pub struct Cpd {
    /// The number of values of each key position.
    pub radix: Vec<usize>,
    /// One distribution per key, in mixed-radix order (last position fastest).
    pub entries: Vec<Local>,
    /// The radix of the `then` table's keys, for a chained variable.
    pub next: Option<Vec<usize>>,
}

impl Cpd {
    /// The entry for the key `key` (one value per radix position).
    pub fn index(&self, key: &[usize]) -> usize {
        mixed_radix(key, &self.radix)
    }

    /// The entry of the `then` table for the key `key` (`prev` values, then parents).
    pub fn next_index(&self, key: &[usize]) -> usize {
        let radix = self.next.as_ref().expect("a chained variable's table");
        self.first_len() + mixed_radix(key, radix)
    }

    /// The number of entries of the first table.
    pub fn first_len(&self) -> usize {
        self.radix.iter().product()
    }
}

fn mixed_radix(key: &[usize], radix: &[usize]) -> usize {
    key.iter().zip(radix).fold(0, |acc, (&k, &r)| acc * r + k)
}

/// Which of a variable's distributions a table or key describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Its own (a chained variable's first row's).
    First,
    /// A chained variable's `then` distribution.
    Next,
}

/// A fully evaluated distribution of one variable instance.
#[derive(Clone, Debug)]
pub enum Local {
    /// Probabilities and their logs.
    Categorical { p: Vec<f64>, logp: Vec<f64> },
    /// The probability of 1.
    Bernoulli { p: f64 },
    /// Mean and standard deviation, and the log density's constant −ln sd − ln √(2π).
    Normal { mean: f64, sd: f64, log_norm: f64 },
    /// Mean and Cholesky factor.
    MvNormal(Mvn),
}

impl Local {
    /// The log probability or density of the value `x` (length 1, or D for MvNormal).
    pub fn logp(&self, x: &[f64]) -> f64 {
        match self {
            Local::Categorical { logp, .. } => logp[x[0] as usize],
            Local::Bernoulli { p } => {
                if x[0] == 1.0 {
                    p.ln()
                } else {
                    (1.0 - p).ln()
                }
            }
            Local::Normal { mean, sd, log_norm } => {
                let z = (x[0] - mean) / sd;
                -0.5 * z * z + log_norm
            }
            Local::MvNormal(m) => m.logpdf(x),
        }
    }

    /// One draw into `out`.
    pub fn draw(&self, rng: &mut Rng, out: &mut [f64]) {
        match self {
            Local::Categorical { p, .. } => out[0] = draw_index(p, rng) as f64,
            Local::Bernoulli { p } => out[0] = f64::from(u8::from(uniform(rng) < *p)),
            Local::Normal { mean, sd, .. } => out[0] = mean + sd * standard_normal(rng),
            Local::MvNormal(m) => m.draw(rng, out),
        }
    }
}

/// The fixed (non-data) plates of variable `v`, outermost first.
fn fixed_plates(model: &Model, v: VarId) -> Vec<PlateId> {
    model.vars[v]
        .plates
        .iter()
        .copied()
        .filter(|&p| matches!(model.plates[p].size, PlateSize::Fixed(_)))
        .collect()
}

/// Where a variable's values sit within one data copy.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Its fixed (non-data) plates, outermost first.
    pub fixed: Vec<PlateId>,
    /// Their sizes.
    pub sizes: Vec<usize>,
    /// Instances per copy: the product of `sizes`.
    pub inst: usize,
    /// Numbers per instance: 1, or D for a vector variable.
    pub event: usize,
}

impl Layout {
    /// The layout of variable `v`.
    pub fn of(model: &Model, v: VarId) -> Layout {
        let fixed = fixed_plates(model, v);
        let sizes: Vec<usize> = fixed.iter().map(|&p| plate_size(model, p)).collect();
        Layout {
            // Saturating: a layout too large to allocate is refused where it is used.
            inst: sizes.iter().fold(1, |n: usize, &s| n.saturating_mul(s)),
            event: model.vars[v].support.shape().iter().product(),
            fixed,
            sizes,
        }
    }

    /// Every variable's layout.
    pub fn all(model: &Model) -> Vec<Layout> {
        (0..model.vars.len())
            .map(|v| Layout::of(model, v))
            .collect()
    }

    /// The shape of one copy's value: the fixed plates' sizes, then the value's own shape.
    pub fn copy_shape(&self, model: &Model, v: VarId) -> Vec<usize> {
        let mut s = self.sizes.clone();
        s.extend(model.vars[v].support.shape());
        s
    }
}

/// The size of a fixed plate.
pub fn plate_size(model: &Model, p: PlateId) -> usize {
    match model.plates[p].size {
        PlateSize::Fixed(n) => n,
        PlateSize::Data => 1,
    }
}

/// The conditional tables of every variable, under the model's current parameter values.
pub fn tables(model: &Model) -> Result<Vec<Cpd>, InferError> {
    (0..model.vars.len()).map(|v| table(model, v)).collect()
}

fn table(model: &Model, v: VarId) -> Result<Cpd, InferError> {
    let var = &model.vars[v];
    if let Some(p) = var
        .params
        .iter()
        .find(|&&p| model.params[p].value.is_none())
    {
        return Err(InferError::NoValue {
            param: model.params[*p].name.clone(),
            model: model.name.clone(),
        });
    }
    let (radix, mut entries) = each_key(model, v, Which::First, None, |env| {
        local(model, v, &var.dist, env)
    })?;
    let next = match &var.next {
        Some(n) => {
            let (radix, more) = each_key(model, v, Which::Next, None, |env| {
                local(model, v, &n.dist, env)
            })?;
            entries.extend(more);
            Some(radix)
        }
        None => None,
    };
    Ok(Cpd {
        radix,
        entries,
        next,
    })
}

/// The radix of `v`'s keys and `f` applied under each key, in table order. With `over`, that
/// parameter reads as the given array instead of its value.
fn each_key<T>(
    model: &Model,
    v: VarId,
    which: Which,
    over: Option<(ParamId, &Array)>,
    mut f: impl FnMut(&KeyEnv<'_>) -> Result<T, InferError>,
) -> Result<(Vec<usize>, Vec<T>), InferError> {
    let fixed = Layout::of(model, v).fixed;
    let radix = key_radix(model, v, which);
    let count = table_size(model, v, which, &radix)?;
    let mut out = Vec::with_capacity(count);
    let mut key = vec![0usize; radix.len()];
    for _ in 0..count {
        let env = KeyEnv {
            model,
            v,
            which,
            fixed: &fixed,
            key: &key,
            over,
        };
        out.push(f(&env)?);
        for i in (0..key.len()).rev() {
            key[i] += 1;
            if key[i] < radix[i] {
                break;
            }
            key[i] = 0;
        }
    }
    Ok((radix, out))
}

/// For each entry of `v`'s table `which`, the flat positions in parameter `param`'s value that
/// `e` (an indexing of `param`) reads there.
pub fn positions(
    model: &Model,
    v: VarId,
    which: Which,
    e: &crate::model::Expr,
    param: ParamId,
) -> Result<Vec<Vec<usize>>, InferError> {
    let shape = model.params[param].shape();
    let n: usize = shape.iter().product();
    let iota = Array::from_vec(shape, (0..n).map(|i| i as f64).collect());
    let (_, out) = each_key(model, v, which, Some((param, &iota)), |env| {
        Ok(e.eval(env)?.data().iter().map(|&x| x as usize).collect())
    })?;
    Ok(out)
}

/// The number of entries of `v`'s table `which` (keys of `radix`: its discrete parents, then
/// its fixed plates), refused beyond [`MAX_CONFIGS`](super::MAX_CONFIGS).
fn table_size(model: &Model, v: VarId, which: Which, radix: &[usize]) -> Result<usize, InferError> {
    let var = &model.vars[v];
    let plates = Layout::of(model, v)
        .fixed
        .into_iter()
        .map(|p| format!("plate {}", model.plates[p].name));
    let names = key_names(model, v, which).into_iter().chain(plates);
    let vars: Vec<(String, usize)> = names.zip(radix.iter().copied()).collect();
    let var = var.name.clone();
    checked_count(&vars, TooManyWhat::Table { var })
}

/// The variables of `v`'s keys in table `which`: its parents, or for the `then` table its
/// `prev` variables, then its parents there.
fn key_vars(model: &Model, v: VarId, which: Which) -> Vec<VarId> {
    let var = &model.vars[v];
    match (which, &var.next) {
        (Which::Next, Some(n)) => n.prev.iter().chain(&n.parents).copied().collect(),
        _ => var.parents.clone(),
    }
}

/// The key variables' names (`prev(z)` for a previous row's).
fn key_names(model: &Model, v: VarId, which: Which) -> Vec<String> {
    let prevs = match (which, &model.vars[v].next) {
        (Which::Next, Some(n)) => n.prev.len(),
        _ => 0,
    };
    key_vars(model, v, which)
        .into_iter()
        .enumerate()
        .map(|(i, p)| match i < prevs {
            true => format!("prev({})", model.vars[p].name),
            false => model.vars[p].name.clone(),
        })
        .collect()
}

/// The number of values of each position of `v`'s table keys: its key variables', then its
/// fixed plates' sizes.
fn key_radix(model: &Model, v: VarId, which: Which) -> Vec<usize> {
    let mut radix: Vec<usize> = key_vars(model, v, which)
        .iter()
        .map(|&p| match model.vars[p].support {
            crate::model::Support::Discrete(k) => k,
            _ => unreachable!("lowering admits only discrete parents"),
        })
        .collect();
    radix.extend(Layout::of(model, v).sizes);
    radix
}

/// The number of entries of `v`'s table `which`.
pub fn table_len(model: &Model, v: VarId, which: Which) -> usize {
    key_radix(model, v, which).iter().product()
}

/// The instance of `v` (its fixed-plate indices in mixed radix) that table entry `e` describes.
pub fn entry_instance(model: &Model, v: VarId, e: usize) -> usize {
    let radix = key_radix(model, v, Which::First);
    if e >= radix.iter().product() {
        return 0; // A chained variable's `then` entry: a chained variable has one instance.
    }
    let parents = model.vars[v].parents.len();
    let key = unravel(e, &radix);
    key[parents..]
        .iter()
        .zip(&radix[parents..])
        .fold(0, |acc, (&k, &r)| acc * r + k)
}

/// Evaluates `dist`, one of variable `v`'s distributions, under one key and checks its
/// arguments.
fn local(model: &Model, v: VarId, dist: &Dist, env: &KeyEnv<'_>) -> Result<Local, InferError> {
    let var = &model.vars[v];
    let bad = |why: String| InferError::Argument {
        var: var.name.clone(),
        why,
        at: env.describe(),
    };
    let scalar = |e: &crate::model::Expr| -> Result<f64, InferError> {
        let a = e.eval(env)?;
        Ok(a.data()[0])
    };
    Ok(match dist {
        Dist::Categorical { p } => {
            let p = p.eval(env)?;
            ParamType::Simplex(p.len())
                .validate(p.data())
                .map_err(|why| bad(format!("Categorical's p is not a simplex: {why}")))?;
            let p = p.into_data();
            let logp = p.iter().map(|x| x.ln()).collect();
            Local::Categorical { p, logp }
        }
        Dist::Bernoulli { p } => {
            let p = scalar(p)?;
            if !(0.0..=1.0).contains(&p) {
                return Err(bad(format!(
                    "Bernoulli's p is {}, not in [0, 1]",
                    format_number(p)
                )));
            }
            Local::Bernoulli { p }
        }
        Dist::Normal { mean, sd } => {
            let (mean, sd) = (scalar(mean)?, scalar(sd)?);
            if !(sd > 0.0 && sd.is_finite()) {
                return Err(bad(format!(
                    "Normal's sd is {}, but it must be positive",
                    format_number(sd)
                )));
            }
            if sd < f64::MIN_POSITIVE {
                return Err(bad(format!("Normal's sd {}", too_small_sd(sd))));
            }
            if !mean.is_finite() {
                return Err(bad(format!(
                    "Normal's mean is {}, not a finite number",
                    format_number(mean)
                )));
            }
            Local::Normal {
                mean,
                sd,
                log_norm: -sd.ln() - LN_SQRT_2PI,
            }
        }
        Dist::MvNormal { mean, cov } => {
            let (mean, cov) = (mean.eval(env)?, cov.eval(env)?);
            ParamType::Cov(mean.len())
                .validate(cov.data())
                .map_err(|why| bad(format!("MvNormal's covariance is not valid: {why}")))?;
            let m = Mvn::new(mean.data(), cov.data())
                .ok_or_else(|| bad("MvNormal's covariance is not positive-definite".into()))?;
            Local::MvNormal(m)
        }
    })
}

/// The values of one key: parents and plate indices, with constants and parameters from the
/// model.
struct KeyEnv<'a> {
    model: &'a Model,
    v: VarId,
    which: Which,
    fixed: &'a [PlateId],
    key: &'a [usize],
    /// A parameter that reads as this array instead of its value.
    over: Option<(ParamId, &'a Array)>,
}

impl KeyEnv<'_> {
    /// The key in words, e.g. ` when z = 1`, for messages.
    fn describe(&self) -> String {
        match key_words(self.model, self.v, self.which, self.key) {
            w if w.is_empty() => w,
            w => format!(" when {w}"),
        }
    }
}

/// A key of `v`'s table `which` in words: `z = 1, f = 0` (its parents' values, then its fixed
/// plates' indices; `prev(z) = 0` first in a `then` table); empty for a variable with neither.
fn key_words(model: &Model, v: VarId, which: Which, key: &[usize]) -> String {
    let fixed = Layout::of(model, v).fixed;
    let names = key_names(model, v, which)
        .into_iter()
        .chain(fixed.iter().map(|&q| model.plates[q].name.clone()));
    let parts: Vec<String> = names.zip(key).map(|(n, k)| format!("{n} = {k}")).collect();
    parts.join(", ")
}

/// Table entry `e` of `v` in words (`z = 1, f = 0`), for messages about it; a chained
/// variable's `then` entries (after its first table's) read `after prev(z) = 1`.
pub fn entry_words(model: &Model, v: VarId, e: usize) -> String {
    let first = table_len(model, v, Which::First);
    if e < first {
        return key_words(
            model,
            v,
            Which::First,
            &unravel(e, &key_radix(model, v, Which::First)),
        );
    }
    let key = unravel(e - first, &key_radix(model, v, Which::Next));
    format!("after {}", key_words(model, v, Which::Next, &key))
}

impl Env for KeyEnv<'_> {
    fn constant(&self, id: ConstId) -> Result<Array, EvalError> {
        Ok(self.model.consts[id].value.clone())
    }

    fn param(&self, id: ParamId) -> Result<Array, EvalError> {
        if let Some((p, a)) = self.over
            && p == id
        {
            return Ok(a.clone());
        }
        let p = &self.model.params[id];
        p.value
            .clone()
            .ok_or_else(|| EvalError::Unavailable(format!("parameter `{}` has no value", p.name)))
    }

    fn var(&self, id: VarId) -> Result<Array, EvalError> {
        let var = &self.model.vars[self.v];
        let pos = match (self.which, &var.next) {
            (Which::Next, Some(n)) => {
                n.prev.len() + n.parents.iter().position(|&p| p == id).expect("a parent")
            }
            _ => var
                .parents
                .iter()
                .position(|&p| p == id)
                .expect("every variable an expression uses is a parent"),
        };
        Ok(Array::scalar(self.key[pos] as f64))
    }

    fn prev(&self, id: VarId) -> Result<Array, EvalError> {
        let n = self.model.vars[self.v]
            .next
            .as_ref()
            .expect("only a `then` reads prev");
        let pos = n
            .prev
            .iter()
            .position(|&p| p == id)
            .expect("a prev variable");
        Ok(Array::scalar(self.key[pos] as f64))
    }

    fn plate_index(&self, id: PlateId) -> Result<Array, EvalError> {
        let pos = self
            .fixed
            .iter()
            .position(|&p| p == id)
            .expect("a plate index is used only inside its plate");
        let keys = key_vars(self.model, self.v, self.which).len();
        Ok(Array::scalar(self.key[keys + pos] as f64))
    }
}

/// Why an sd below the smallest normal 64-bit float, where densities and their
/// logarithms would no longer agree.
pub fn too_small_sd(sd: f64) -> String {
    format!(
        "{} is below the smallest normal 64-bit float, {}",
        format_number(sd),
        format_number(f64::MIN_POSITIVE)
    )
}
