//! `fit`, `select`, `loglik`, `bic` and `aic`: the script's face of `infer::em`. Options are
//! checked here, once, against the model and the data; only a valid set reaches the fit.

use super::bind::bind;
use super::call::{Args, whole, whole_at_most};
use super::data::Dataset;
use super::value::{FitInfo, ModelValue, Value};
use super::{Interp, infer_diag, numeric};
use crate::array::Array;
use crate::diag::{Diag, suggest};
use crate::infer::em::{self, FitError, Init, MAX_RESTARTS, Progress};
use crate::model::{Model, ParamId};
use crate::syntax::ast::Span;
use std::rc::Rc;

/// The values `init` accepts.
const INITS: [&str; 4] = ["auto", "given", "kmeans", "random"];

/// The checked options of a fit, before they meet a model (`fixed` is still names).
pub struct Setup {
    /// The options, with `fixed` empty.
    pub opts: em::Options,
    /// Row weights.
    pub weights: Option<Vec<f64>>,
    /// Print the log-likelihood every iteration.
    pub verbose: bool,
    /// Names of parameters held fixed, with where they were written.
    pub fixed: Vec<String>,
    /// Where `fixed` was written.
    fixed_span: Span,
}

fn bad(msg: impl Into<String>, s: Span, help: &str) -> Diag {
    Diag::error(msg, s).help(help.to_string())
}

/// The option `name` as a finite number ≥ 0, if given; `help` says what it means.
fn non_negative(a: &Args<'_>, name: &str, help: &str) -> Result<Option<f64>, Diag> {
    let Some(x) = a.number_opt(name)? else {
        return Ok(None);
    };
    if x < 0.0 {
        let s = a.opt(name).map_or(a.span, |(_, s)| s);
        return Err(bad(
            format!("{name} must be ≥ 0, got {}", crate::array::format_number(x)),
            s,
            help,
        ));
    }
    Ok(Some(x))
}

impl Setup {
    /// Reads the fit options of a call over a dataset of `rows` rows.
    pub fn from_args(a: &Args<'_>, rows: usize) -> Result<Setup, Diag> {
        let mut opts = em::Options::default();
        if let Some((v, s)) = a.opt("max_iter") {
            opts.max_iter = whole(v, s, "max_iter")?;
        }
        if let Some(tol) = non_negative(
            a,
            "tol",
            "tol is the change in log-likelihood per row that ends the fit; tol = 0 runs exactly max_iter iterations",
        )? {
            opts.tol = tol;
        }
        if let Some(reg) = non_negative(
            a,
            "reg",
            "reg is added to every variance; the default is 1e-6",
        )? {
            opts.reg = reg;
        }
        if let Some((v, s)) = a.opt("init") {
            let name = match v {
                Value::Str(x) => x.clone(),
                other => {
                    return Err(bad(
                        format!("init must be a string, got {}", other.kind()),
                        s,
                        "write init = \"kmeans\" (or \"auto\", \"given\", \"random\")",
                    ));
                }
            };
            opts.init = match name.as_str() {
                "auto" => Init::Auto,
                "given" => Init::Given,
                "kmeans" => Init::KMeans,
                "random" => Init::Random,
                _ => {
                    let hint = suggest(&name, INITS)
                        .map(|x| format!("did you mean \"{x}\"? "))
                        .unwrap_or_default();
                    return Err(
                        Diag::error(format!("unknown init \"{name}\""), s).help(format!(
                            "{hint}init is one of \"auto\", \"given\", \"kmeans\", \"random\""
                        )),
                    );
                }
            };
        }
        if let Some((v, s)) = a.opt("restarts") {
            opts.restarts = whole_at_most(v, s, "restarts", MAX_RESTARTS as f64)?;
            if opts.restarts == 0 {
                return Err(bad(
                    "restarts must be at least 1",
                    s,
                    "restarts counts the initialisations; 1 is a single run",
                ));
            }
        }
        if let Some((v, s)) = a.opt("sieve_iter") {
            opts.sieve_iter = whole(v, s, "sieve_iter")?;
        }
        if let Some((v, s)) = a.opt("sieve_keep") {
            let keep = whole(v, s, "sieve_keep")?;
            opts.sieve_keep = Some(keep);
            if keep == 0 {
                return Err(bad(
                    "sieve_keep must be at least 1",
                    s,
                    "sieve_keep is how many restarts continue after sieving",
                ));
            }
        }
        opts.seed = a.seed()?;
        let weights = match a.opt("weights") {
            None => None,
            Some((v, s)) => Some(weights(v, s, rows)?),
        };
        match a.opt("priors") {
            None => {}
            Some((Value::Bool(b), _)) if b.rank() == 0 => opts.priors = b.data()[0] != 0.0,
            Some((v, s)) => {
                return Err(bad(
                    format!("priors must be true or false, got {}", v.kind()),
                    s,
                    "write priors = false to fit by maximum likelihood, ignoring the priors",
                ));
            }
        }
        let verbose = match a.opt("verbose") {
            None => false,
            Some((Value::Bool(b), _)) if b.rank() == 0 => b.data()[0] != 0.0,
            Some((v, s)) => {
                return Err(bad(
                    format!("verbose must be true or false, got {}", v.kind()),
                    s,
                    "write verbose = true",
                ));
            }
        };
        let (fixed, fixed_span) = match a.opt("fixed") {
            None => (Vec::new(), a.span),
            Some((Value::Text(names, _), s)) => (
                names
                    .iter()
                    .map(|n| n.as_deref().unwrap_or_default().to_string())
                    .collect(),
                s,
            ),
            Some((Value::Str(n), s)) => (vec![n.clone()], s),
            Some((Value::Num(x), s)) if x.is_empty() => (Vec::new(), s),
            Some((v, s)) => {
                return Err(bad(
                    format!("fixed must be a list of parameter names, got {}", v.kind()),
                    s,
                    "write fixed = [\"pi\"]",
                ));
            }
        };
        Ok(Setup {
            opts,
            weights,
            verbose,
            fixed,
            fixed_span,
        })
    }

    /// The options for `model`: `fixed` resolved to its parameters.
    fn options_for(&self, model: &Model) -> Result<em::Options, Diag> {
        let ids = fixed_params(model, &self.fixed)
            .map_err(|(what, help)| Diag::error(what, self.fixed_span).help(help))?;
        Ok(em::Options {
            fixed: ids,
            ..self.opts.clone()
        })
    }
}

/// The parameters of `model` named in `names` (a fit's `fixed`); an unknown name gives the
/// message and its help.
pub fn fixed_params(model: &Model, names: &[String]) -> Result<Vec<ParamId>, (String, String)> {
    let mut ids: Vec<ParamId> = Vec::new();
    for name in names {
        match model.param_id(name) {
            Some(p) => ids.push(p),
            None => {
                let names: Vec<&str> = model.params.iter().map(|p| p.name.as_str()).collect();
                let what = if model.var_id(name).is_some() {
                    format!(
                        "`{name}` is a random variable of model `{}`, not a parameter",
                        model.name
                    )
                } else {
                    format!("model `{}` has no parameter `{name}`", model.name)
                };
                let help = suggest(name, names.iter().copied())
                    .map(|s| format!("did you mean \"{s}\"? "))
                    .unwrap_or_default();
                return Err((
                    what,
                    format!("{help}its parameters are {}", names.join(", ")),
                ));
            }
        }
    }
    Ok(ids)
}

/// A note when the data give every discrete variable of the data plate in every row: the fit
/// is then supervised (plain maximum likelihood, nothing latent), which is rarely meant when
/// the data came from `sample`, which returns the latent columns too.
pub fn supervised_note(model: &Model, data: &em::Data) -> Option<String> {
    let observed: Vec<&str> = model
        .vars
        .iter()
        .enumerate()
        .filter(|(v, var)| {
            var.support.is_discrete()
                && model.data_plate().is_some_and(|p| var.plates.contains(&p))
                && data.obs[*v]
                    .as_ref()
                    .is_some_and(|o| o.lanes == data.rows && o.data.iter().all(|x| !x.is_nan()))
        })
        .map(|(_, var)| var.name.as_str())
        .collect();
    if observed.is_empty()
        || model
            .vars
            .iter()
            .enumerate()
            .any(|(v, var)| var.support.is_discrete() && data.obs[v].is_none())
    {
        return None;
    }
    let (names, is) = match observed.as_slice() {
        [one] => (format!("`{one}` is"), "it"),
        many => (
            format!(
                "{} are",
                many.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "them",
        ),
    };
    Some(format!(
        "{names} observed in every row: this is a supervised fit; to fit a mixture, leave {is} out of the data (e.g. table(x = d.x))"
    ))
}

/// What a running fit says on stderr, the same from the command line, a script and the REPL:
/// with `verbose`, every iteration; otherwise, when `timed` and once it has run a second, a
/// line a second, and after such lines a closing one, so that the last line is the result.
pub struct Reporter {
    name: String,
    /// What the fit maximises: `loglik`, or `logpost` with priors.
    objective: &'static str,
    restarts: usize,
    verbose: bool,
    timed: bool,
    began: std::time::Instant,
    shown_at: f64,
}

impl Reporter {
    /// A reporter for a fit of model `name` with `restarts` runs.
    pub fn new(name: &str, restarts: usize, verbose: bool, timed: bool) -> Reporter {
        Reporter {
            name: name.to_string(),
            objective: "loglik",
            restarts,
            verbose,
            timed,
            began: std::time::Instant::now(),
            shown_at: 0.0,
        }
    }

    /// Reports the log posterior: the fit maximises it (MAP-EM with priors).
    pub fn posterior(mut self, yes: bool) -> Reporter {
        if yes {
            self.objective = "logpost";
        }
        self
    }

    /// The line to show after an iteration, if any.
    pub fn line(&mut self, p: &Progress) -> Option<String> {
        let who = if self.restarts > 1 {
            format!("restart {}/{}, ", p.restart + 1, self.restarts)
        } else {
            String::new()
        };
        let loglik = crate::array::format_number(p.loglik);
        if self.verbose {
            return Some(format!(
                "fit {}: {who}iteration {}: {} = {loglik}",
                self.name, p.iteration, self.objective
            ));
        }
        let t = self.began.elapsed().as_secs_f64();
        if !self.timed || t - self.shown_at < 1.0 {
            return None;
        }
        self.shown_at = t;
        Some(format!(
            "fit {}: {who}iteration {}, {} = {loglik}, {t:.1} s",
            self.name, p.iteration, self.objective
        ))
    }

    /// The closing line, after progress lines were shown; `value` is the objective.
    pub fn closing(&self, iterations: usize, value: f64) -> Option<String> {
        (self.shown_at > 0.0).then(|| {
            format!(
                "fit {}: done, {iterations} iterations, {} = {}, {:.1} s",
                self.name,
                self.objective,
                crate::array::format_number(value),
                self.began.elapsed().as_secs_f64()
            )
        })
    }
}

/// R's `summary` of a fit as a dataset: one row per free entry of each learned parameter (a
/// covariance's lower triangle, a diagonal's variances, an `iso`'s one variance) with its
/// estimate, standard error and Wald interval at `level`.
fn summary_table(model: &Model, se: &[Array], z: f64, level: f64) -> crate::interp::data::Dataset {
    use crate::interp::data::Cells;
    use crate::model::ParamType;
    let (mut names, mut est, mut err, mut lo, mut hi) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (p, se) in model.params.iter().zip(se) {
        let Some(value) = &p.value else { continue };
        if se.data().iter().all(|&e| e == 0.0) {
            continue; // held fixed, or read by no distribution
        }
        let shape = p.shape();
        for (k, (&x, &e)) in value.data().iter().zip(se.data()).enumerate() {
            let idx = crate::array::unravel(k, &shape);
            let free = match p.ty {
                ParamType::Cov(_) => idx[idx.len() - 1] <= idx[idx.len() - 2],
                ParamType::Diag(_) => idx[idx.len() - 1] == idx[idx.len() - 2],
                ParamType::Iso(_) => idx[idx.len() - 1] == 0 && idx[idx.len() - 2] == 0,
                _ => true,
            };
            if !free {
                continue;
            }
            let at: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
            names.push(Some(
                if at.is_empty() {
                    p.name.clone()
                } else {
                    format!("{}[{}]", p.name, at.join(", "))
                }
                .into(),
            ));
            let [l, h] = wald(p.ty, x, e, z);
            est.push(x);
            err.push(e);
            lo.push(l);
            hi.push(h);
        }
    }
    let pct = crate::array::format_number(level * 100.0);
    crate::interp::data::Dataset::from_named(vec![
        ("parameter".into(), Cells::Text(names)),
        ("estimate".into(), Cells::Num(Array::vector(est))),
        ("std_error".into(), Cells::Num(Array::vector(err))),
        (format!("lower_{pct}"), Cells::Num(Array::vector(lo))),
        (format!("upper_{pct}"), Cells::Num(Array::vector(hi))),
    ])
    .expect("columns of one length")
}

/// The row weights `mv` was fitted with, for data of `rows` rows (`None` without weights); an
/// error at `at` with `help` when the rows differ in number.
fn fitted_weights(
    mv: &ModelValue,
    rows: usize,
    at: Span,
    help: &str,
) -> Result<Option<Vec<f64>>, Diag> {
    match mv.fit.as_ref().and_then(|f| f.weights.as_ref()) {
        Some(w) if w.len() == rows => Ok(Some(w.to_vec())),
        Some(w) => Err(Diag::error(
            format!(
                "`{}` was fitted with weights for {} rows, but these data have {rows}",
                mv.model.name,
                w.len(),
            ),
            at,
        )
        .help(help)),
        None => Ok(None),
    }
}

/// The Wald interval `[lower, upper]` of an estimate `x` with standard error `se` and normal
/// quantile `z`: on the log scale for a `positive`, the logit scale for a `prob`, else on the
/// natural scale (section 9.3).
fn wald(ty: crate::model::ParamType, x: f64, se: f64, z: f64) -> [f64; 2] {
    use crate::model::ParamType;
    if se == 0.0 {
        // Held fixed, or not learned: no uncertainty.
        return [x, x];
    }
    if se.is_infinite() {
        // Not determined by the data: the whole range of the parameter.
        return match ty {
            ParamType::Positive => [0.0, f64::INFINITY],
            ParamType::Prob => [0.0, 1.0],
            _ => [f64::NEG_INFINITY, f64::INFINITY],
        };
    }
    match ty {
        ParamType::Positive => {
            let h = z * se / x;
            [x * (-h).exp(), x * h.exp()]
        }
        ParamType::Prob => {
            let logit = (x / (1.0 - x)).ln();
            let h = z * se / (x * (1.0 - x));
            let back = |t: f64| 1.0 / (1.0 + (-t).exp());
            [back(logit - h), back(logit + h)]
        }
        _ => [x - z * se, x + z * se],
    }
}

/// Checks row weights: finite, non-negative, not all zero.
pub fn check_weights(w: &[f64]) -> Result<(), String> {
    if let Some((i, x)) = w
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
    {
        return Err(format!(
            "weight {i} is {}, but weights must be finite and ≥ 0",
            crate::array::format_number(*x)
        ));
    }
    if w.iter().sum::<f64>() <= 0.0 {
        return Err("the weights are all zero".into());
    }
    Ok(())
}

/// Row weights: a vector of one non-negative number per row, not all zero.
fn weights(v: &Value, s: Span, rows: usize) -> Result<Vec<f64>, Diag> {
    let w = numeric(v, s, "weights")?;
    if w.rank() != 1 || w.len() != rows {
        return Err(bad(
            format!(
                "weights must be a vector with one entry per data row ({rows}), got {}",
                v.kind()
            ),
            s,
            "give one non-negative weight per row",
        ));
    }
    if let Err(why) = check_weights(w.data()) {
        let help = if why.contains("all zero") {
            "give some row a positive weight"
        } else {
            "give one non-negative weight per row"
        };
        return Err(bad(why, s, help));
    }
    Ok(w.into_data())
}

/// A fit failure as a diagnostic at the call.
fn fit_diag(e: FitError, span: Span) -> Diag {
    let help = e.help();
    Diag::error(e.to_string(), span).help_opt(help)
}

impl Interp {
    /// Fits `model` to `data`; warnings are recorded at `span`.
    fn run_fit(
        &self,
        model: &Model,
        data: &Dataset,
        setup: &Setup,
        span: Span,
        data_span: Span,
    ) -> Result<ModelValue, Diag> {
        let opts = setup.options_for(model)?;
        let bound = bind(model, data, setup.weights.clone())
            .map_err(|e| Diag::error(e.to_string(), data_span).help(e.help()))?;
        let mut report = Reporter::new(&model.name, opts.restarts, setup.verbose, self.interactive)
            .posterior(opts.maximises_posterior(model));
        let mut progress = |p: Progress| {
            if let Some(line) = report.line(&p) {
                self.progress(&line);
            }
            true
        };
        let fitted = em::fit(model, &bound, &opts, &mut progress);
        let f = match fitted {
            Ok(f) => f,
            Err(FitError::Interrupted {
                partial: Some(partial),
            }) if self.interactive => {
                self.note(&format!(
                    "fit {}: interrupted after {} iterations; the value is the fit so far (loglik = {}, converged = false)",
                    model.name,
                    partial.iterations,
                    crate::array::format_number(partial.loglik)
                ));
                *partial
            }
            Err(e) => {
                let unobserved = matches!(e, FitError::Unobserved { .. });
                let d = fit_diag(e, span);
                return Err(if unobserved {
                    d.help(format!(
                        "the data's columns are {}",
                        data.names().join(", ")
                    ))
                } else {
                    d
                });
            }
        };
        if let Some(line) = report.closing(f.iterations, f.logpost.unwrap_or(f.loglik)) {
            self.note(&line);
        }
        if let Some(note) = supervised_note(model, &bound) {
            self.note(&format!("note: fit of `{}`: {note}", model.name));
        }
        for w in &f.warnings {
            self.warn(Diag::warning(format!("fit of `{}`: {w}", model.name), span));
        }
        let logpost = f
            .logpost
            .unwrap_or(f.loglik + crate::model::prior::logprior(&f.model));
        Ok(ModelValue {
            model: f.model,
            fit: Some(FitInfo {
                logpost,
                loglik: f.loglik,
                iterations: f.iterations,
                converged: f.converged,
                trace: f.trace,
                fixed: setup.fixed.clone(),
                priors: opts.maximises_posterior(model),
                weights: setup.weights.clone().map(Rc::new),
            }),
        })
    }

    /// `fit(model, data, OPTIONS)`.
    pub(super) fn fit_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let mv = a.model(0)?;
        let data = a.data(1)?;
        let mut setup = Setup::from_args(a, data.rows)?;
        // A fitted model keeps holding what its fit held, unless `fixed` says otherwise.
        if a.opt("fixed").is_none()
            && let Some(f) = &mv.fit
        {
            setup.fixed = f.fixed.clone();
        }
        let fitted = self.run_fit(&mv.model, &data, &setup, a.span, a.at(1))?;
        Ok(Value::Model(Rc::new(fitted)))
    }

    /// `impute(model, data)`: the data with every missing cell filled (section 9.1).
    pub(super) fn impute_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let mv = a.model(0)?;
        let data = a.data(1)?;
        match crate::interp::bind::impute(&mv.model, &data) {
            Ok(d) => Ok(Value::Data(Rc::new(d))),
            Err(crate::interp::bind::RowsError::Data(e)) => {
                Err(Diag::error(e.to_string(), a.at(1)).help(e.help()))
            }
            Err(crate::interp::bind::RowsError::Infer(e)) => Err(infer_diag(e, a.span)),
        }
    }

    /// `decode(m, d)` (section 9.4): a dataset of the latents' most probable joint values.
    pub(super) fn decode_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let mv = a.model(0)?;
        let data = a.data(1)?;
        match crate::interp::bind::decode(&mv.model, &data) {
            Ok((d, _)) => Ok(Value::Data(Rc::new(d))),
            Err(crate::interp::bind::RowsError::Data(e)) => {
                Err(Diag::error(e.to_string(), a.at(1)).help(e.help()))
            }
            Err(crate::interp::bind::RowsError::Infer(e)) => Err(infer_diag(e, a.span)),
        }
    }

    /// `stderr(f, d)` and `confint(f, d, level = 0.95)` (section 9.3): standard errors from the
    /// exact observed information at the fitted values, and Wald intervals from them.
    pub(super) fn uncertainty_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let mv = a.model(0)?;
        let data = a.data(1)?;
        let Some(f) = &mv.fit else {
            return Err(a
                .error(
                    0,
                    format!(
                        "`{}` was not fitted; standard errors belong to a fit's estimates",
                        mv.model.name
                    ),
                )
                .help(format!(
                    "fit it first: {}(fit({}, data), data)",
                    a.b.name, mv.model.name
                )));
        };
        let level = match a.opt("level") {
            None => 0.95,
            Some((v, s)) => {
                let x = numeric(v, s, "level")?.as_scalar().unwrap_or(f64::NAN);
                if !(x > 0.0 && x < 1.0) {
                    return Err(bad(
                        format!(
                            "level must be between 0 and 1, got {}",
                            crate::array::format_number(x)
                        ),
                        s,
                        "write level = 0.95 for 95% intervals",
                    ));
                }
                x
            }
        };
        let weights = fitted_weights(&mv, data.rows, a.at(1), "give the data it was fitted to")?;
        let bound = bind(&mv.model, &data, weights)
            .map_err(|e| Diag::error(e.to_string(), a.at(1)).help(e.help()))?;
        let fixed = fixed_params(&mv.model, &f.fixed)
            .map_err(|(what, help)| Diag::error(what, a.span).help(help))?;
        let errors = em::info::stderr(&mv.model, &bound, &fixed, f.priors)
            .map_err(|e| fit_diag(e, a.span))?;
        for w in &errors.warnings {
            self.warn(Diag::warning(
                format!("{} of `{}`: {w}", a.b.name, mv.model.name),
                a.span,
            ));
        }
        let z = crate::infer::numeric::normal_quantile(0.5 + level / 2.0);
        if a.b.name == "summary" {
            return Ok(Value::Data(Rc::new(summary_table(
                &mv.model, &errors.se, z, level,
            ))));
        }
        let fields = mv
            .model
            .params
            .iter()
            .zip(errors.se)
            .map(|(p, se)| {
                if a.b.name == "stderr" {
                    return (p.name.clone(), se);
                }
                let value = p.value.clone().unwrap_or_else(|| se.map(|_| f64::NAN));
                let mut shape = p.shape();
                shape.push(2);
                let bounds = value
                    .data()
                    .iter()
                    .zip(se.data())
                    .flat_map(|(&x, &e)| wald(p.ty, x, e, z))
                    .collect();
                (p.name.clone(), Array::from_vec(shape, bounds))
            })
            .collect();
        let what = if a.b.name == "stderr" {
            format!("standard errors of `{}`", mv.model.name)
        } else {
            format!(
                "{}% intervals of `{}`",
                crate::array::format_number(level * 100.0),
                mv.model.name
            )
        };
        Ok(Value::Record(Rc::new(super::value::Record {
            what,
            fields,
        })))
    }

    /// `loglik`, `bic` and `aic` of a model on a dataset.
    pub(super) fn score_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let mv = a.model(0)?;
        let data = a.data(1)?;
        // Explicit weights, else the ones the model was fitted with.
        let w = match a.opt("weights") {
            Some((v, s)) => Some(weights(v, s, data.rows)?),
            None => fitted_weights(
                &mv,
                data.rows,
                a.at(1),
                "give weights = ... for these rows (ones(N) for none)",
            )?,
        };
        let bound = bind(&mv.model, &data, w)
            .map_err(|e| Diag::error(e.to_string(), a.at(1)).help(e.help()))?;
        let ll = em::loglik(&mv.model, &bound).map_err(|e| infer_diag(e, a.span))?;
        let n = bound.total_weight();
        let k = mv.nparams() as f64;
        Ok(Value::num(match a.b.name {
            "loglik" => ll,
            "bic" => -2.0 * ll + k * n.ln(),
            _ => -2.0 * ll + 2.0 * k,
        }))
    }

    /// `select(template, [k...], data, OPTIONS)`: fits each size, prints the table, returns
    /// the fit with the lowest BIC.
    pub(super) fn select_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let Value::Template(t) = a.v(0) else {
            return Err(a.error(
                0,
                format!(
                    "select takes a model template like `mix(K)`, got {}",
                    a.v(0).kind()
                ),
            ));
        };
        if t.decl.params.as_ref().map_or(0, Vec::len) != 1 {
            return Err(a.error(
                0,
                format!(
                    "select needs a template of one argument; `{}` takes {}",
                    t.decl.name.name,
                    t.decl.params.as_ref().map_or(0, Vec::len)
                ),
            ));
        }
        let ks = a.arr(1)?;
        if ks.rank() > 1 || ks.is_empty() {
            return Err(a.error(
                1,
                "select needs a non-empty vector of sizes, e.g. [1, 2, 3]",
            ));
        }
        let data = a.data(2)?;
        let setup = Setup::from_args(a, data.rows)?;
        let mut rows: Vec<(f64, FitInfo, usize, f64, f64)> = Vec::new();
        let mut best: Option<(f64, ModelValue)> = None;
        for &k in ks.data() {
            let model = self.instantiate(t, vec![Array::scalar(k)], a.span)?;
            let fitted = self.run_fit(&model, &data, &setup, a.span, a.at(2))?;
            let info = fitted.fit.clone().expect("a fit reports");
            let n = setup
                .weights
                .as_ref()
                .map_or(data.rows as f64, |w| w.iter().sum());
            let p = fitted.nparams();
            let bic = -2.0 * info.loglik + p as f64 * n.ln();
            let aic = -2.0 * info.loglik + 2.0 * p as f64;
            rows.push((k, info, p, bic, aic));
            if best.as_ref().is_none_or(|(b, _)| bic < *b) {
                best = Some((bic, fitted));
            }
        }
        let (best_bic, best) = best.expect("at least one size");
        let header: Vec<String> = ["k", "loglik", "nparams", "BIC", "AIC", "best"]
            .map(String::from)
            .to_vec();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|(k, info, p, bic, aic)| {
                vec![
                    crate::array::format_number(*k),
                    format!("{:.4}", info.loglik),
                    p.to_string(),
                    format!("{bic:.4}"),
                    format!("{aic:.4}"),
                    if *bic == best_bic { "*" } else { "" }.to_string(),
                ]
            })
            .collect();
        let mut table = format!(
            "{:>6}  {:>14}  {:>7}  {:>14}  {:>14}\n",
            "k", "loglik", "nparams", "BIC", "AIC"
        );
        for row in &cells {
            let best = if row[5].is_empty() { "" } else { "  *" };
            table.push_str(&format!(
                "{:>6}  {:>14}  {:>7}  {:>14}  {:>14}{best}\n",
                row[0], row[1], row[2], row[3], row[4]
            ));
        }
        self.table(&header, &cells, &table, a.span);
        Ok(Value::Model(Rc::new(best)))
    }
}
