//! Expectation-maximisation for any model of the language, driven by the IR: the E-step
//! gathers expected sufficient statistics ([`crate::infer::stats`]) under the exact posterior
//! of the discrete latents (`estep`), the M-step applies each parameter's closed-form update
//! (`mstep`), and this module runs the iterations, restarts and sieving of section 6;
//! `info` gives the fitted parameters' standard errors.

pub mod estep;
pub mod info;
pub mod init;
pub mod kmeans;
pub mod mstep;
pub mod plan;

use super::InferError;
use super::cpd::{Cpd, tables};
use super::numeric::rng;
use crate::array::format_number;
pub use crate::infer::stats::Data;
use crate::model::{Model, ParamId};
use estep::{EStep, estep};
use init::{Start, start};
use mstep::{Learned, Report, mstep};
use plan::{Plan, cell_name};
use thiserror::Error;

/// Why a fit failed.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum FitError {
    /// A learned parameter inside an expression.
    #[error(
        "EM cannot update `{param}`: it must be the `{arg}` argument of `{var}`'s distribution itself (like `mu[z]`), not part of an expression"
    )]
    NotDirect {
        param: String,
        var: String,
        arg: String,
    },
    /// A parameter whose use has no closed-form update.
    #[error("EM cannot update `{param}` in closed form: {why}")]
    Unsupported { param: String, why: String },
    /// A variable whose parameters are learned, but that no data row observes.
    #[error("no data row gives `{var}`, so EM cannot learn {}", .params.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and "))]
    Unobserved { var: String, params: Vec<String> },
    /// No row to fit to (or every row weighs 0).
    #[error("the data have no rows to fit to")]
    NoRows,
    /// A parameter the fit needs has no value.
    #[error("parameter `{param}` has no value: {why}")]
    NoValue { param: String, why: String },
    /// A variance or covariance reached zero (or lost definiteness).
    #[error("the spread of `{cell}` collapsed to zero: its component sits on a single value")]
    Collapsed { cell: String, reg: f64 },
    /// The observations are impossible under the parameters.
    #[error("the data have probability zero under the {when} parameters{row}")]
    Impossible { when: String, row: String },
    /// A parameter became NaN or infinite (a bug: the updates guard against it).
    #[error("the update of `{param}` is not finite at element {at} (this is a bug)")]
    NonFinite { param: String, at: usize },
    /// Data too large in magnitude for variances in 64-bit floats.
    #[error("the data of `{var}` reach {}, beyond the {} that a fit can square without overflow", format_number(*.value), format_number(MAX_DATA_SCALE))]
    Scale { var: String, value: f64 },
    /// The caller (or Ctrl-C) asked the fit to stop. `partial` is the fit as it stood after
    /// the last whole iteration (the best run so far, with restarts), when there was one.
    #[error("the fit was interrupted")]
    Interrupted { partial: Option<Box<Fitted>> },
    /// Standard errors that are not computed for this model or fit.
    #[error("{why}")]
    Uncertainty { why: String, help: String },
    /// Inference failed.
    #[error(transparent)]
    Infer(#[from] InferError),
}

impl FitError {
    /// How to fix it.
    pub fn help(&self) -> Option<String> {
        match self {
            FitError::Interrupted { .. } => Some(crate::interrupt::why()),
            FitError::NotDirect { param, .. } => Some(format!(
                "write the distribution with `{param}` (or `{param}[...]`) as the argument, or hold it with fixed = [\"{param}\"]"
            )),
            FitError::Unsupported { param, .. } => Some(format!(
                "change the model, or hold `{param}` with fixed = [\"{param}\"]"
            )),
            FitError::Unobserved { var, params } => Some(format!(
                "give the data a column `{var}` (a vector variable reads `{var}[0]`, `{var}[1]`, …), or hold {} with fixed = [...]",
                params.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ")
            )),
            FitError::NoValue { param, .. } => Some(format!(
                "give `{param}` a value in the model, or use init = \"kmeans\""
            )),
            FitError::Collapsed { reg, .. } if *reg == 0.0 => {
                Some("use reg > 0 to keep variances above zero: the default 1e-6, or for data on a small scale a value well below their variance".into())
            }
            FitError::Collapsed { .. } => {
                Some("use a larger reg, or fewer components".into())
            }
            FitError::Impossible { .. } => Some(
                "check observed discrete values against probabilities that are zero, or start elsewhere".into(),
            ),
            FitError::NoRows => Some("fit needs at least one row of positive weight".into()),
            FitError::Scale { var, .. } => Some(format!(
                "rescale `{var}` (divide it by a power of ten) before fitting; the fit's answers scale with it"
            )),
            FitError::Infer(e) => e.help(),
            FitError::Uncertainty { help, .. } => Some(help.clone()),
            _ => None,
        }
    }
}

/// How the first run starts (section 6's `init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Given if every learned parameter has a value, else k-means.
    Auto,
    /// The model's values.
    Given,
    /// k-means++ and Lloyd, then one M-step.
    KMeans,
    /// Random hard responsibilities, then one M-step.
    Random,
}

/// The largest magnitude of data EM fits: squares of larger values (in variances) overflow
/// 64-bit floats, which end near 1.8e308.
pub const MAX_DATA_SCALE: f64 = 1e150;

/// The most restarts a fit takes: sieving keeps every restart's model at once.
pub const MAX_RESTARTS: usize = 100_000;

/// The options of `fit` (section 6), already checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub max_iter: usize,
    pub tol: f64,
    pub reg: f64,
    pub init: Init,
    pub restarts: usize,
    pub sieve_iter: usize,
    /// How many restarts continue after sieving; `None`: max(1, restarts / 10).
    pub sieve_keep: Option<usize>,
    pub seed: u64,
    /// Parameters held at their values.
    pub fixed: Vec<ParamId>,
    /// Whether the parameters' priors count (MAP-EM, section 9.2); `priors = false` gives
    /// maximum likelihood.
    pub priors: bool,
}

impl Options {
    /// Whether a fit of `model` maximises the log posterior: some parameter has a prior, and
    /// `priors` did not turn them off.
    pub fn maximises_posterior(&self, model: &Model) -> bool {
        self.priors && model.params.iter().any(|p| p.prior.is_some())
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_iter: 1000,
            tol: 1e-6,
            reg: 1e-6,
            init: Init::Auto,
            restarts: 1,
            sieve_iter: 0,
            sieve_keep: None,
            seed: 0,
            fixed: Vec::new(),
            priors: true,
        }
    }
}

/// A finished fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Fitted {
    /// The model with its fitted values.
    pub model: Model,
    /// The observed-data log-likelihood under them.
    pub loglik: f64,
    /// The log posterior (log-likelihood + log prior) when the fit used priors.
    pub logpost: Option<f64>,
    /// M-steps taken.
    pub iterations: usize,
    /// Whether the tolerance stopped the fit.
    pub converged: bool,
    /// What EM maximises after each M-step: the log-likelihood, or the log posterior with
    /// priors.
    pub trace: Vec<f64>,
    /// Components that lost their responsibility mass, in words.
    pub warnings: Vec<String>,
}

/// One iteration's report to the caller.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Which restart (0-based).
    pub restart: usize,
    /// Iterations done in it.
    pub iteration: usize,
    /// Its objective now: the log-likelihood, or the log posterior with priors.
    pub loglik: f64,
}

/// One EM run from one start.
struct Run {
    model: Model,
    cpds: Vec<Cpd>,
    /// The E-step under the current values.
    current: EStep,
    /// The log prior of the current values, when priors count.
    logprior: Option<f64>,
    trace: Vec<f64>,
    converged: bool,
    /// Cells kept because their mass vanished: (first iteration, cell).
    vanished: Vec<(usize, Learned)>,
    /// Cells the initialisation left empty.
    empty_at_start: Vec<Learned>,
    /// Spreads the last M-step held up by reg.
    floored: Vec<Learned>,
}

impl Run {
    fn begin(model: Model, start: Report, data: &Data, opts: &Options) -> Result<Run, FitError> {
        let cpds = tables(&model)?;
        let current = estep(&model, &cpds, data, true)?;
        if current.loglik == f64::NEG_INFINITY || current.loglik.is_nan() {
            return Err(impossible("starting", &current));
        }
        Ok(Run {
            logprior: log_prior(&model, opts),
            model,
            cpds,
            current,
            trace: Vec::new(),
            converged: false,
            vanished: Vec::new(),
            empty_at_start: start.vanished,
            floored: start.floored,
        })
    }

    /// What EM maximises: the log-likelihood, plus the log prior when priors count.
    fn objective(&self) -> f64 {
        self.current.loglik + self.logprior.unwrap_or(0.0)
    }

    fn done(&self, max_iter: usize) -> bool {
        self.converged || self.trace.len() >= max_iter
    }

    /// One M-step and the E-step after it.
    fn step(&mut self, plan: &Plan, data: &Data, opts: &Options) -> Result<(), FitError> {
        let stats = self
            .current
            .stats
            .as_ref()
            .expect("E-steps before the last keep statistics");
        let mut model = self.model.clone();
        let report = mstep(
            &mut model,
            plan,
            &self.cpds,
            stats,
            &mstep::Settings {
                reg: opts.reg,
                vanish: data.negligible(),
                priors: opts.priors,
            },
        )?;
        let cpds = tables(&model)?;
        // After the last step the statistics would go unused: the likelihood alone is cheaper
        // (a chain's is one forward pass).
        let last = self.trace.len() + 1 >= opts.max_iter;
        let next = estep(&model, &cpds, data, !last)?;
        if !next.loglik.is_finite() {
            return Err(impossible("updated", &next));
        }
        let logprior = log_prior(&model, opts);
        // The step is whole: only now does the run change, so a step cut short leaves it as
        // it was after the last one.
        for v in report.vanished {
            if !self.vanished.iter().any(|(_, w)| *w == v) {
                self.vanished.push((self.trace.len() + 1, v));
            }
        }
        self.floored = report.floored;
        let before = self.objective();
        self.model = model;
        self.cpds = cpds;
        self.current = next;
        self.logprior = logprior;
        let change = (self.objective() - before).abs() / data.total_weight();
        self.converged = change < opts.tol;
        self.trace.push(self.objective());
        Ok(())
    }

    fn finish(self, plan: &Plan, how: Start, reg: f64) -> Fitted {
        let mut warnings = Vec::new();
        let what = how.describe();
        let first_seen: Vec<(usize, Learned)> =
            self.empty_at_start.iter().map(|v| (0, v.clone())).collect();
        for (_, component, cells, n) in components(&self.model, plan, &first_seen) {
            let verb = if n == 1 { "starts" } else { "start" };
            warnings.push(format!(
                "{component} got no rows from {what}; {cells} {verb} from the data as a whole (uniform probabilities, the data's mean and variance)"
            ));
        }
        for (it, component, cells, n) in components(&self.model, plan, &self.vanished) {
            let keep = if n == 1 {
                "keeps its previous value"
            } else {
                "keep their previous values"
            };
            warnings.push(format!(
                "{component} has no responsibility mass from iteration {it} on; {cells} {keep}"
            ));
        }
        let floored: Vec<(usize, Learned)> = self.floored.iter().map(|v| (0, v.clone())).collect();
        for (_, component, cells, n) in components(&self.model, plan, &floored) {
            let is = if n == 1 { "is" } else { "are" };
            warnings.push(format!(
                "{component} varies less than reg = {}, so {cells} {is} mostly reg (a component on a single value, or data on a scale below √reg = {}); lower reg or rescale the data to fit the spread itself",
                format_number(reg),
                format_number(reg.sqrt())
            ));
        }
        Fitted {
            loglik: self.current.loglik,
            logpost: self.logprior.map(|p| self.current.loglik + p),
            iterations: self.trace.len(),
            converged: self.converged,
            trace: self.trace,
            model: self.model,
            warnings,
        }
    }
}

/// Cells grouped by the table entries that read them (a mixture component reads its
/// mean and its spread through the same entries): per group, the first iteration, the
/// component in words (`` `x` where z = 1 ``), its cells (`` `mu[1]` and `sigma[1]` ``) and how
/// many they are.
fn components(
    model: &Model,
    plan: &Plan,
    cells: &[(usize, Learned)],
) -> Vec<(usize, String, String, usize)> {
    // (first iteration, the entries that read the cells, the cells' names)
    type Group<'a> = (usize, &'a [(usize, usize)], Vec<String>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (it, v) in cells {
        let l = plan
            .learned
            .iter()
            .find(|l| l.param == v.param)
            .expect("a reported cell is learned");
        let cell = &l.cells[v.cell];
        let name = format!("`{}`", cell_name(model, v.param, &cell.offsets));
        match groups.iter_mut().find(|g| g.1 == cell.uses.as_slice()) {
            Some(g) => g.2.push(name),
            None => groups.push((*it, &cell.uses, vec![name])),
        }
    }
    groups
        .into_iter()
        .map(|(it, uses, names)| {
            let (v, e) = uses[0];
            let component = match super::cpd::entry_words(model, v, e) {
                w if w.is_empty() => format!("`{}`", model.vars[v].name),
                w => format!("`{}` where {w}", model.vars[v].name),
            };
            (it, component, names.join(" and "), names.len())
        })
        .collect()
}

fn impossible(when: &str, e: &EStep) -> FitError {
    FitError::Impossible {
        when: when.into(),
        row: e
            .impossible_row
            .map_or(String::new(), |r| format!(" (row {} is impossible)", r + 1)),
    }
}

/// Fits `model`'s parameters to `data` by EM. `progress` hears of every iteration and may stop
/// the fit by returning false.
pub fn fit(
    model: &Model,
    data: &Data,
    opts: &Options,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Fitted, FitError> {
    // Long steps stop early when Ctrl-C or the time limit asks: whatever they then give, a
    // result cut short or an error, the answer is the interruption.
    let result = fit_inner(model, data, opts, progress);
    if crate::interrupt::requested() {
        let partial = match result {
            Err(FitError::Interrupted { partial }) => partial,
            _ => None,
        };
        return Err(FitError::Interrupted { partial });
    }
    result
}

fn fit_inner(
    model: &Model,
    data: &Data,
    opts: &Options,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Fitted, FitError> {
    if data.total_weight() <= 0.0 {
        return Err(FitError::NoRows);
    }
    for &p in &opts.fixed {
        if model.params[p].value.is_none() {
            return Err(FitError::NoValue {
                param: model.params[p].name.clone(),
                why: "it is held fixed, so it needs one".into(),
            });
        }
    }
    let plan = Plan::new(model, &opts.fixed)?;
    for (p, param) in model.params.iter().enumerate() {
        let read = plan.learned.iter().any(|l| l.param == p);
        if !read && param.value.is_none() && !opts.fixed.contains(&p) {
            return Err(FitError::NoValue {
                param: param.name.clone(),
                why: "no distribution reads it, so the data say nothing about it".into(),
            });
        }
    }
    check_observed(model, &plan, data)?;
    let all_given = plan
        .learned
        .iter()
        .all(|l| model.params[l.param].value.is_some());
    // k-means needs one latent per row and continuous observations; elsewhere it is random.
    let kmeans = if init::kmeans_target(model, data).is_some() {
        Start::KMeans
    } else {
        Start::Random
    };
    let first = match opts.init {
        Init::Auto if all_given => Start::Given,
        Init::Auto | Init::KMeans => kmeans,
        Init::Given => {
            if let Some(l) = plan
                .learned
                .iter()
                .find(|l| model.params[l.param].value.is_none())
            {
                return Err(FitError::NoValue {
                    param: model.params[l.param].name.clone(),
                    why: "init = \"given\" starts from the model's values".into(),
                });
            }
            Start::Given
        }
        Init::Random => Start::Random,
    };
    // Restarts after the first re-initialise: from the model's values there is only one start,
    // so they use k-means.
    let how = |r: usize| match first {
        Start::Given if r > 0 => kmeans,
        s => s,
    };
    let begin = |r: usize| -> Result<Run, FitError> {
        let mut g = rng(opts.seed);
        g.set_stream(r as u64);
        let (m, empty) = start(model, &plan, data, how(r), &mut g, opts.reg, opts.priors)?;
        Run::begin(m, empty, data, opts)
    };
    let mut advance = |run: &mut Run, r: usize, until: usize| -> Result<(), FitError> {
        while !run.done(until) {
            run.step(&plan, data, opts)?;
            let go = progress(Progress {
                restart: r,
                iteration: run.trace.len(),
                loglik: run.objective(),
            });
            if !go || crate::interrupt::requested() {
                return Err(FitError::Interrupted { partial: None });
            }
        }
        Ok(())
    };
    let mut best: Option<(usize, Run)> = None;
    let keep_best = |r: usize, run: Run, best: &mut Option<(usize, Run)>| {
        if best
            .as_ref()
            .is_none_or(|(_, b)| run.objective() > b.objective())
        {
            *best = Some((r, run));
        }
    };
    // Cut short (between iterations, or inside one, which then fails however it fails): the
    // best run so far, as it stood after its last whole iteration.
    let stopped = |e: FitError, r: usize, run: Run, mut best: Option<(usize, Run)>| {
        if !matches!(e, FitError::Interrupted { .. }) && !crate::interrupt::requested() {
            return e;
        }
        keep_best(r, run, &mut best);
        let partial = best.map(|(r, run)| Box::new(run.finish(&plan, how(r), opts.reg)));
        FitError::Interrupted { partial }
    };
    if opts.sieve_iter > 0 && opts.restarts > 1 {
        // Only the best `keep` runs so far are kept, so memory does not grow with restarts;
        // equal log-likelihoods keep restart order.
        let keep = opts.sieve_keep.unwrap_or(opts.restarts / 10).max(1);
        let rank = |runs: &mut Vec<(usize, Run)>| {
            runs.sort_by(|a, b| {
                b.1.objective()
                    .total_cmp(&a.1.objective())
                    .then(a.0.cmp(&b.0))
            });
            runs.truncate(keep);
        };
        let mut runs = Vec::new();
        for r in 0..opts.restarts {
            let mut run = begin(r)?;
            if let Err(e) = advance(&mut run, r, opts.sieve_iter.min(opts.max_iter)) {
                return Err(stopped(e, r, run, best));
            }
            runs.push((r, run));
            if runs.len() >= 2 * keep {
                rank(&mut runs);
            }
        }
        rank(&mut runs);
        runs.sort_by_key(|(r, _)| *r);
        for (r, mut run) in runs {
            if let Err(e) = advance(&mut run, r, opts.max_iter) {
                return Err(stopped(e, r, run, best));
            }
            keep_best(r, run, &mut best);
        }
    } else {
        for r in 0..opts.restarts.max(1) {
            let mut run = begin(r)?;
            if let Err(e) = advance(&mut run, r, opts.max_iter) {
                return Err(stopped(e, r, run, best));
            }
            keep_best(r, run, &mut best);
        }
    }
    let (r, run) = best.expect("at least one restart");
    Ok(run.finish(&plan, how(r), opts.reg))
}

/// A continuous variable with learned parameters must be observed in some row: nothing else
/// informs them (continuous variables have no children).
fn check_observed(model: &Model, plan: &Plan, data: &Data) -> Result<(), FitError> {
    for (v, var) in model.vars.iter().enumerate() {
        if var.support.is_discrete() {
            continue;
        }
        let params: Vec<String> = plan
            .learned
            .iter()
            .filter(|l| l.cells.iter().any(|c| c.uses.iter().any(|u| u.0 == v)))
            .map(|l| model.params[l.param].name.clone())
            .collect();
        if params.is_empty() {
            continue;
        }
        let observed = data.obs[v].as_ref().map_or(&[][..], |o| &o.data[..]);
        if !observed.iter().any(|x| !x.is_nan()) {
            return Err(FitError::Unobserved {
                var: var.name.clone(),
                params,
            });
        }
        let top = observed
            .iter()
            .filter(|x| !x.is_nan())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if top > MAX_DATA_SCALE {
            return Err(FitError::Scale {
                var: var.name.clone(),
                value: top,
            });
        }
    }
    Ok(())
}

/// The log prior of `model`'s values when the fit maximises the log posterior.
fn log_prior(model: &Model, opts: &Options) -> Option<f64> {
    opts.maximises_posterior(model)
        .then(|| crate::model::prior::logprior(model))
}

/// The observed-data log-likelihood of `data` under `model` (weighted, with weights).
pub fn loglik(model: &Model, data: &Data) -> Result<f64, InferError> {
    let cpds = tables(model)?;
    Ok(estep(model, &cpds, data, false)?.loglik)
}
