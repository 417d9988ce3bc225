//! Calls: template instantiation and the built-in functions of section 6 (their signatures live
//! in `crate::builtins`).

use super::data::{Cells, Dataset, parse_csv, sample_rows};
use super::value::{Env, ModelValue, Value};
use super::{Interp, infer_diag, numeric};
use crate::array::{Array, NA};
use crate::builtins::{self, Builtin};
use crate::diag::{Diag, suggest};
use crate::infer::numeric::{logsumexp, rng};
use crate::infer::{DistError, Distribution};
use crate::model::tex::Notation;
use crate::syntax::ast::{self, ExprKind, Span};
use std::rc::Rc;

/// Evaluated arguments of one call.
pub(super) struct Args<'a> {
    pub(super) b: &'a Builtin,
    pub(super) pos: Vec<(Value, Span)>,
    /// The expressions the positional arguments were written as, for labels (`plot(x, y)`).
    pub(super) written: Vec<&'a ast::Expr>,
    pub(super) named: Vec<(String, Value, Span)>,
    /// The expressions the named arguments were written as, in the same order.
    pub(super) named_written: Vec<&'a ast::Expr>,
    pub(super) span: Span,
}

impl Args<'_> {
    pub(super) fn v(&self, i: usize) -> &Value {
        &self.pos[i].0
    }

    pub(super) fn at(&self, i: usize) -> Span {
        self.pos[i].1
    }

    pub(super) fn error(&self, i: usize, msg: impl Into<String>) -> Diag {
        Diag::error(msg, self.at(i)).help(format!("usage: {}", self.b.summary))
    }

    pub(super) fn arr(&self, i: usize) -> Result<Array, Diag> {
        numeric(
            self.v(i),
            self.at(i),
            &format!("`{}`'s argument", self.b.name),
        )
        .map_err(|d| d.help(format!("usage: {}", self.b.summary)))
    }

    pub(super) fn opt(&self, name: &str) -> Option<(&Value, Span)> {
        self.named
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, s)| (v, *s))
    }

    /// A distribution error at `span`, with the call's usage.
    fn dist_error(&self, err: DistError, span: Span) -> Diag {
        Diag::error(err.to_string(), span).help(format!("usage: {}", self.b.summary))
    }

    /// A whole number ≥ 0 from argument `i`.
    pub(super) fn count(&self, i: usize, what: &str) -> Result<usize, Diag> {
        whole(self.v(i), self.at(i), what)
    }

    pub(super) fn string(&self, i: usize) -> Result<String, Diag> {
        let v = self.v(i);
        v.as_text()
            .map(str::to_string)
            .ok_or_else(|| self.error(i, format!("expected a string, got {}", v.kind())))
    }

    fn dist(&self, i: usize) -> Result<Rc<Distribution>, Diag> {
        match self.v(i) {
            Value::Dist(d) => Ok(d.clone()),
            other => Err(self.error(i, format!("expected a distribution, got {}", other.kind()))),
        }
    }

    pub(super) fn model(&self, i: usize) -> Result<Rc<ModelValue>, Diag> {
        match self.v(i) {
            Value::Model(m) => Ok(m.clone()),
            Value::Template(t) => Err(self.error(
                i,
                format!("`{}` is a template; make a model first", t.decl.name.name),
            )),
            other => Err(self.error(i, format!("expected a model, got {}", other.kind()))),
        }
    }

    pub(super) fn data(&self, i: usize) -> Result<Rc<Dataset>, Diag> {
        match self.v(i) {
            Value::Data(d) => Ok(d.clone()),
            other => Err(self.error(i, format!("expected a dataset, got {}", other.kind()))),
        }
    }

    /// The `axis` option for an array of rank `rank`: `None` means every element (no option,
    /// or a number).
    fn axis(&self, rank: usize) -> Result<Option<usize>, Diag> {
        let Some((v, s)) = self.opt("axis") else {
            return Ok(None);
        };
        let k = whole(v, s, "axis")?;
        if k >= rank.max(1) {
            return Err(Diag::error(
                format!("axis {k} does not exist in a value with {rank} dimension(s)"),
                s,
            )
            .help("axis = 0 runs down the columns, axis = 1 along the rows"));
        }
        // A number has no axes to run along: the axis it accepts is the whole of it.
        Ok((rank > 0).then_some(k))
    }

    /// The option `name` as a string, if given.
    pub(super) fn text_opt(&self, name: &str) -> Result<Option<String>, Diag> {
        match self.opt(name) {
            None => Ok(None),
            Some((v, _)) if v.as_text().is_some() => Ok(v.as_text().map(str::to_string)),
            Some((v, s)) => Err(Diag::error(
                format!("{name} must be a string, got {}", v.kind()),
                s,
            )),
        }
    }

    /// The option `name` as a finite number, if given.
    pub(super) fn number_opt(&self, name: &str) -> Result<Option<f64>, Diag> {
        match self.opt(name) {
            None => Ok(None),
            Some((v, s)) => match numeric(v, s, name)?.as_scalar() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(Diag::error(
                    format!("{name} must be a finite number, got {}", v.brief(80)),
                    s,
                )),
            },
        }
    }

    /// The `seed` option (default 0).
    pub(super) fn seed(&self) -> Result<u64, Diag> {
        match self.opt("seed") {
            None => Ok(0),
            Some((v, s)) => Ok(whole(v, s, "seed")? as u64),
        }
    }
}

/// A whole number ≥ 0.
pub(super) fn whole(v: &Value, s: Span, what: &str) -> Result<usize, Diag> {
    whole_at_most(v, s, what, 9e15)
}

/// [`whole`] with an upper limit, which the error states.
pub(super) fn whole_at_most(v: &Value, s: Span, what: &str, max: f64) -> Result<usize, Diag> {
    match v.as_array().and_then(|a| a.as_scalar()) {
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= max => Ok(x as usize),
        _ => Err(Diag::error(
            format!(
                "{what} must be a whole number from 0 to {}, got {}",
                crate::array::format_number(max),
                v.brief(80)
            ),
            s,
        )
        .help("round it, e.g. with round(...), or write a count such as 100")),
    }
}

impl Interp {
    /// `m.with(NAME = VALUE, …)`: a copy of model `m` with those parameters replaced, each
    /// checked against its type as a declaration's value is (LANGUAGE.md §9.5). The copy is not
    /// a fit: it has no `.loglik`.
    fn model_with(&self, base: &ast::Expr, args: &[ast::Arg], env: &Env) -> Result<Value, Diag> {
        let mv = match self.eval(base, env)? {
            Value::Model(mv) => mv,
            other => {
                return Err(Diag::error(
                    format!(
                        "`.with(...)` copies a model with new parameter values, but this is {}",
                        other.kind()
                    ),
                    base.span,
                ));
            }
        };
        let mut model = mv.model.clone();
        let names: Vec<&str> = mv.model.params.iter().map(|p| p.name.as_str()).collect();
        let mut seen: Vec<&str> = Vec::new();
        for a in args {
            let Some(name) = &a.name else {
                return Err(Diag::error("`.with` takes named values", a.value.span)
                    .label("no parameter name")
                    .help(format!(
                        "name the parameter: `{}.with({} = ...)`; `{}` has {}",
                        crate::syntax::fmt::format_expr(base),
                        names.first().unwrap_or(&"mu"),
                        model.name,
                        crate::diag::list_names(&names)
                    )));
            };
            let Some(id) = mv.model.param_id(&name.name) else {
                return Err(Diag::error(
                    format!("model `{}` has no parameter `{}`", model.name, name.name),
                    name.span,
                )
                .label("not a parameter")
                .help(
                    suggest(&name.name, names.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            format!("its parameters are {}", crate::diag::list_names(&names))
                        }),
                ));
            };
            if seen.contains(&name.name.as_str()) {
                return Err(Diag::error(
                    format!("parameter `{}` is given twice", name.name),
                    name.span,
                )
                .help("give each parameter once"));
            }
            seen.push(&name.name);
            let v = self.eval(&a.value, env)?;
            let given = numeric(&v, a.value.span, "a parameter value")?;
            let param = &mut model.params[id];
            let full = param.accept(&given).map_err(|e| {
                Diag::error(
                    format!("invalid value for parameter `{}`", name.name),
                    a.value.span,
                )
                .label(e.to_string())
                .help(crate::check::lower::value_error_hint(param.ty, &given, &e))
            })?;
            param.value = Some(full);
        }
        Ok(Value::Model(Rc::new(ModelValue::new(model))))
    }

    /// `callee(args)`: a template, or a built-in.
    pub(super) fn call(
        &self,
        callee: &ast::Expr,
        args: &[ast::Arg],
        env: &Env,
        span: Span,
    ) -> Result<Value, Diag> {
        if let ExprKind::Field(base, f) = &callee.kind
            && f.name == "with"
        {
            return self.model_with(base, args, env);
        }
        let name = match &callee.kind {
            ExprKind::Name(n) => n.as_str(),
            _ => "",
        };
        if name.is_empty() || env.get(name).is_some() {
            let f = self.eval(callee, env)?;
            return match f {
                Value::Template(t) => {
                    let want = t.decl.params.as_ref().map_or(0, Vec::len);
                    if args.len() != want || args.iter().any(|a| a.name.is_some()) {
                        return Err(Diag::error(
                            format!(
                                "template `{}` takes {want} argument(s), got {}",
                                t.decl.name.name,
                                args.len()
                            ),
                            span,
                        ));
                    }
                    let mut values = Vec::with_capacity(want);
                    for a in args {
                        let v = self.eval(&a.value, env)?;
                        values.push(numeric(&v, a.value.span, "a template argument")?);
                    }
                    let model = self.instantiate(&t, values, span)?;
                    Ok(Value::Model(Rc::new(ModelValue::new(model))))
                }
                other => Err(Diag::error(
                    format!("{} cannot be called", other.kind()),
                    callee.span,
                )
                .help("only built-in functions and model templates take arguments")),
            };
        }
        let Some(b) = builtins::lookup(name) else {
            let names: Vec<&str> = builtins::BUILTINS.iter().map(|b| b.name).collect();
            return Err(
                Diag::error(format!("unknown function `{name}`"), callee.span).help(
                    suggest(name, names.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            "see the built-in functions in section 6 of the language reference"
                                .into()
                        }),
                ),
            );
        };
        let mut a = Args {
            b,
            pos: Vec::new(),
            written: Vec::new(),
            named: Vec::new(),
            named_written: Vec::new(),
            span,
        };
        let names: Vec<Option<&str>> = args
            .iter()
            .map(|a| a.name.as_ref().map(|n| n.name.as_str()))
            .collect();
        let placed = b.bind(&names).map_err(|i| {
            let n = args[i].name.as_ref().expect("a named argument");
            Diag::error(format!("argument `{}` is given twice", n.name), n.span)
                .help(format!("usage: {}", b.summary))
        })?;
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(Some(self.eval(&arg.value, env)?));
        }
        for &i in &placed {
            let v = values[i].take().expect("each argument fills one place");
            a.pos.push((v, args[i].value.span));
            a.written.push(&args[i].value);
        }
        for (arg, v) in args.iter().zip(values) {
            if let (Some(n), Some(v)) = (&arg.name, v) {
                a.named.push((n.name.clone(), v, n.span));
                a.named_written.push(&arg.value);
            }
        }
        let n = a.pos.len();
        if n < b.min || b.max.is_some_and(|m| n > m) {
            return Err(
                Diag::error(format!("`{name}` takes {}, got {n}", b.arity_text()), span)
                    .help(format!("usage: {}", b.summary)),
            );
        }
        if !b.any_named
            && let Some((bad, _, s)) = a
                .named
                .iter()
                .find(|(k, _, _)| !b.named.contains(&k.as_str()))
        {
            return Err(Diag::error(format!("`{name}` has no option `{bad}`"), *s)
                .help(format!("usage: {}", b.summary)));
        }
        self.builtin(&a)
    }

    /// The model template `t` makes with the arguments `values`; errors point into the
    /// template, with a note at the call `span`.
    pub(super) fn instantiate(
        &self,
        t: &super::value::Template,
        values: Vec<Array>,
        span: Span,
    ) -> Result<crate::model::Model, Diag> {
        let bound: Vec<(String, Option<Array>)> = t
            .decl
            .params
            .iter()
            .flatten()
            .zip(values)
            .map(|(p, x)| (p.name.clone(), Some(x)))
            .collect();
        self.lower(&t.decl, &t.env, &bound).map_err(|mut ds| {
            let first = ds.remove(0);
            first.related(
                span,
                format!("while making a model from `{}`", t.decl.name.name),
            )
        })
    }

    fn builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let name = a.b.name;
        let num = Value::Num;
        match name {
            "exp" | "log" | "sqrt" | "abs" => {
                let x = a.arr(0)?;
                let f: fn(f64) -> f64 = match name {
                    "exp" => f64::exp,
                    "log" => f64::ln,
                    "sqrt" => f64::sqrt,
                    _ => f64::abs,
                };
                x.try_map(f).map(num).map_err(|e| a.error(0, e.to_string()))
            }
            "mean" | "var" | "sd" if matches!(a.v(0), Value::Dist(_)) => {
                let d = a.dist(0)?;
                Ok(num(match name {
                    "mean" => d.mean(),
                    "var" => d.var(),
                    _ => d.var().map(f64::sqrt),
                }))
            }
            "sum" | "prod" | "mean" | "var" | "sd" | "min" | "max" | "logsumexp" => {
                let x = a.arr(0)?;
                let axis = a.axis(x.rank())?;
                let f: fn(&[f64]) -> f64 = match name {
                    "sum" => |v| v.iter().sum(),
                    "prod" => |v| v.iter().product(),
                    "mean" => |v| v.iter().sum::<f64>() / v.len() as f64,
                    "var" => population_var,
                    "sd" => |v| population_var(v).sqrt(),
                    "min" => |v| v.iter().copied().fold(f64::INFINITY, f64::min),
                    "max" => |v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    _ => logsumexp,
                };
                if x.is_empty() && matches!(name, "min" | "max") {
                    return Err(a.error(0, format!("`{name}` of an empty array")));
                }
                Ok(num(reduce(&x, axis, f)))
            }
            "softmax" => {
                let x = a.arr(0)?;
                let axis = a.axis(x.rank())?;
                // Reduced over `axis`, kept as size 1 so that it broadcasts against `x`.
                let along = |f: fn(&[f64]) -> f64, x: &Array| {
                    let r = reduce(x, axis, f);
                    match axis {
                        Some(k) => {
                            let mut s = x.shape().to_vec();
                            s[k] = 1;
                            r.reshape(s).expect("same size")
                        }
                        None => r,
                    }
                };
                // Where a slice holds +inf, its infinite entries share the whole mass.
                let top = along(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max), &x);
                let x = x
                    .zip_with(&top, |v, m| match (m == f64::INFINITY, v == m) {
                        (false, _) => v,
                        (true, true) => 0.0,
                        (true, false) => f64::NEG_INFINITY,
                    })
                    .expect("broadcasts by construction");
                let lse = along(logsumexp, &x);
                Ok(num(x
                    .zip_with(&lse, |v, l| (v - l).exp())
                    .expect("broadcasts by construction")))
            }
            "len" => Ok(Value::num(match a.v(0) {
                Value::Data(d) => d.rows,
                Value::Text(v, _) => v.len(),
                v if v.as_text().is_some() => v.as_text().map_or(0, |t| t.chars().count()),
                v => {
                    let x = numeric(v, a.at(0), "`len`'s argument")?;
                    x.shape().first().copied().unwrap_or(1)
                }
            } as f64)),
            "argmax" => {
                let x = a.arr(0)?;
                let arg = |v: &[f64]| {
                    v.iter()
                        .enumerate()
                        .fold((0usize, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
                            if x > bv { (i, x) } else { (bi, bv) }
                        })
                        .0 as f64
                };
                Ok(num(match x.rank() {
                    0 | 1 => Array::scalar(arg(x.data())),
                    2 => reduce(&x, Some(1), arg),
                    _ => return Err(a.error(0, "argmax takes a vector or a matrix")),
                }))
            }
            "cumsum" => {
                let x = a.arr(0)?;
                let mut acc = 0.0;
                let v: Vec<f64> = x
                    .data()
                    .iter()
                    .map(|&y| {
                        acc += y;
                        acc
                    })
                    .collect();
                Ok(num(if x.rank() <= 1 {
                    Array::from_vec(x.shape().to_vec(), v)
                } else {
                    Array::vector(v)
                }))
            }
            "all" | "any" => {
                let x = a.arr(0)?;
                let t = |v: &f64| *v != 0.0 && !v.is_nan();
                Ok(Value::bool(if name == "all" {
                    x.data().iter().all(t)
                } else {
                    x.data().iter().any(t)
                }))
            }
            "col" | "row" => {
                let x = a.arr(0)?;
                if x.rank() > 1 {
                    return Err(
                        a.error(0, format!("`{name}` takes a vector, got {}", a.v(0).kind()))
                    );
                }
                let n = x.len();
                let shape = if name == "col" {
                    vec![n, 1]
                } else {
                    vec![1, n]
                };
                Ok(num(x.reshape(shape).expect("same size")))
            }
            "linspace" => {
                let lo = scalar(a, 0)?;
                let hi = scalar(a, 1)?;
                let n = a.count(2, "linspace's count")?;
                crate::array::checked_len(&[n]).map_err(|e| a.error(2, e.to_string()))?;
                let v = match n {
                    0 => Vec::new(),
                    1 => vec![lo],
                    _ => (0..n)
                        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
                        .collect(),
                };
                Ok(num(Array::vector(v)))
            }
            "zeros" | "ones" => {
                let shape: Vec<usize> = match a.v(0) {
                    Value::Num(x) if x.rank() == 1 => x
                        .data()
                        .iter()
                        .map(|&d| whole(&Value::num(d), a.at(0), "a size"))
                        .collect::<Result<_, _>>()?,
                    _ => vec![a.count(0, "the size")?],
                };
                let n = crate::array::checked_len(&shape).map_err(|e| a.error(0, e.to_string()))?;
                let fill = if name == "zeros" { 0.0 } else { 1.0 };
                Ok(num(Array::from_vec(shape, vec![fill; n])))
            }
            "eye" => {
                let n = a.count(0, "the size")?;
                crate::array::checked_len(&[n, n]).map_err(|e| a.error(0, e.to_string()))?;
                let mut v = vec![0.0; n * n];
                for i in 0..n {
                    v[i * n + i] = 1.0;
                }
                Ok(num(Array::from_vec(vec![n, n], v)))
            }
            "transpose" => {
                let x = a.arr(0)?;
                match x.shape() {
                    [r, c] => {
                        let (r, c) = (*r, *c);
                        let v = (0..c * r).map(|k| x.data()[(k % r) * c + k / r]).collect();
                        Ok(num(Array::from_vec(vec![c, r], v)))
                    }
                    [_] | [] => Ok(num(x)),
                    _ => Err(a.error(0, "transpose takes a matrix")),
                }
            }
            "det" | "inv" | "chol" => {
                let (m, n) = square(a, 0)?;
                let matrix = |v: Vec<f64>| num(Array::from_vec(vec![n, n], v));
                let result = match name {
                    "det" => crate::linalg::det(&m, n).map(Value::num),
                    "inv" => crate::linalg::inverse(&m, n).map(matrix),
                    _ => crate::linalg::cholesky(&m, n).map(matrix),
                };
                result.map_err(|e| match e {
                    crate::linalg::LinalgError::Interrupted => super::interrupted(a.span),
                    e => a.error(0, e.to_string()),
                })
            }
            "where" => {
                let (c, x, y) = (a.arr(0)?, a.arr(1)?, a.arr(2)?);
                let shape = crate::array::broadcast_shape(c.shape(), x.shape())
                    .and_then(|s| crate::array::broadcast_shape(&s, y.shape()))
                    .and_then(|s| {
                        Ok((
                            c.broadcast_to(&s)?,
                            x.broadcast_to(&s)?,
                            y.broadcast_to(&s)?,
                            s,
                        ))
                    });
                let (c, x, y, s) = shape.map_err(|e| {
                    Diag::error(e.to_string(), a.span)
                        .help("where takes a condition and two values of one shape (or broadcastable ones)")
                })?;
                let out = c
                    .data()
                    .iter()
                    .zip(x.data().iter().zip(y.data()))
                    .map(|(&c, (&x, &y))| if c != 0.0 && !c.is_nan() { x } else { y })
                    .collect();
                Ok(num(Array::from_vec(s, out)))
            }
            "close" => {
                let x = a.arr(0)?;
                let y = a.arr(1)?;
                let tol = match a.opt("tol") {
                    Some((v, s)) => numeric(v, s, "tol")?.as_scalar().unwrap_or(f64::NAN),
                    None => 1e-9,
                };
                let ok = x
                    .zip_with(&y, |p, q| {
                        f64::from(u8::from(
                            (p - q).abs() <= tol * 1f64.max(p.abs()).max(q.abs()) || p == q,
                        ))
                    })
                    .map_err(|e| {
                        Diag::error(e.to_string(), a.span)
                            .help("close compares values of the same shape (or broadcastable ones)")
                    })?;
                Ok(Value::bool(ok.data().iter().all(|&b| b == 1.0)))
            }
            "Normal" => Distribution::normal(&a.arr(0)?, &a.arr(1)?)
                .map(|d| Value::Dist(Rc::new(d)))
                .map_err(|e| a.dist_error(e, a.span)),
            "Categorical" => Distribution::categorical(&a.arr(0)?)
                .map(|d| Value::Dist(Rc::new(d)))
                .map_err(|e| a.dist_error(e, a.at(0))),
            "Bernoulli" => Distribution::bernoulli(&a.arr(0)?)
                .map(|d| Value::Dist(Rc::new(d)))
                .map_err(|e| a.dist_error(e, a.at(0))),
            "MvNormal" => Distribution::mv_normal(&a.arr(0)?, &a.arr(1)?)
                .map(|d| Value::Dist(Rc::new(d)))
                .map_err(|e| a.dist_error(e, a.span)),
            "Mixture" => Distribution::mixture(&*a.dist(0)?, &*a.dist(1)?)
                .map(|d| Value::Dist(Rc::new(d)))
                .map_err(|e| a.dist_error(e, a.span)),
            "pdf" | "logpdf" | "cdf" => {
                let d = a.dist(0)?;
                let x = a.arr(1)?;
                let r = match name {
                    "cdf" => d.cdf(&x),
                    "pdf" => d.pdf(&x),
                    _ => d.logpdf(&x),
                };
                r.map(num).map_err(|e| a.dist_error(e, a.span))
            }
            "sample" => {
                let n = if a.pos.len() > 1 {
                    Some(a.count(1, "the number of draws")?)
                } else {
                    None
                };
                let mut g = rng(a.seed()?);
                match a.v(0) {
                    Value::Dist(d) => d
                        .sample(n, &mut g)
                        .map(num)
                        .map_err(|e| a.dist_error(e, a.span)),
                    Value::Model(mv) => {
                        let n = n.unwrap_or(1);
                        sample_rows(&mv.model, n, &mut g)
                            .map(|d| Value::Data(Rc::new(d)))
                            .map_err(|e| infer_diag(e, a.span))
                    }
                    other => Err(a.error(
                        0,
                        format!(
                            "sample draws from a model or a distribution, not {}",
                            other.kind()
                        ),
                    )),
                }
            }
            "load" => self.load(a),
            "save" => {
                let path = a.string(1)?;
                let bytes = match a.v(0) {
                    Value::Data(d) => d.to_csv(),
                    Value::Model(m) => super::source::model_source(&m.model).into_bytes(),
                    other => format!("{other}\n").into_bytes(),
                };
                self.write_file(&path, &bytes, a.at(1))?;
                Ok(Value::Str(path))
            }
            "table" => {
                let mut items = Vec::with_capacity(a.named.len());
                for (n, v, s) in &a.named {
                    items.push((n.clone(), cells(v, *s)?));
                }
                if items.is_empty() {
                    return Err(Diag::error("table needs at least one column", a.span)
                        .help("write table(x = v, z = w)"));
                }
                Dataset::from_named(items)
                    .map(|d| Value::Data(Rc::new(d)))
                    .map_err(|e| Diag::error(e.to_string(), a.span).help(e.help()))
            }
            "columns" => {
                let d = a.data(0)?;
                let mut cols = Vec::new();
                for i in 1..a.pos.len() {
                    let n = a.string(i)?;
                    match d.get(&n) {
                        Ok(Cells::Num(x)) => cols.push(x),
                        Ok(Cells::Text(_)) => {
                            let c = d.columns.iter().position(|c| c.name == n).expect("found");
                            let err = d.numeric(c).expect_err("a text column");
                            return Err(Diag::error(err.to_string(), a.at(i)).help(err.help()));
                        }
                        Err(e) => return Err(Diag::error(e.to_string(), a.at(i)).help(e.help())),
                    }
                }
                let mut data = Vec::new();
                let mut width = 0;
                for c in &cols {
                    width += c.len() / d.rows.max(1);
                }
                for r in 0..d.rows {
                    for c in &cols {
                        let per = c.len() / d.rows;
                        data.extend_from_slice(&c.data()[r * per..(r + 1) * per]);
                    }
                }
                Ok(num(Array::from_vec(vec![d.rows, width], data)))
            }
            "codes" | "levels" => {
                let Value::Text(v, _) = a.v(0) else {
                    return Err(a.error(
                        0,
                        format!("`{name}` takes text labels, got {}", a.v(0).kind()),
                    ));
                };
                let mut labels: Vec<&std::sync::Arc<str>> = v.iter().flatten().collect();
                labels.sort();
                labels.dedup();
                if name == "levels" {
                    return Ok(Value::text(
                        labels.into_iter().map(|s| Some(s.clone())).collect(),
                    ));
                }
                Ok(num(Array::vector(
                    v.iter()
                        .map(|s| match s {
                            Some(s) => labels.binary_search(&s).map_or(NA, |k| k as f64),
                            None => NA,
                        })
                        .collect(),
                )))
            }
            "nparams" => Ok(Value::num(a.model(0)?.nparams() as f64)),
            "logprior" => {
                let mv = a.model(0)?;
                if let Some(p) = mv
                    .model
                    .params
                    .iter()
                    .find(|p| p.prior.is_some() && p.value.is_none())
                {
                    return Err(a.error(
                        0,
                        format!("parameter `{}` has a prior but no value, so its log prior is unknown", p.name),
                    ).help("give it a value, or fit the model first"));
                }
                Ok(Value::num(crate::model::prior::logprior(&mv.model)))
            }
            "graph" => self.graph_builtin(a),
            "tex" | "joint" => {
                let notation = match name {
                    "tex" => Notation::Latex,
                    _ => Notation::Unicode,
                };
                Ok(Value::Str(crate::model::tex::joint(
                    &a.model(0)?.model,
                    notation,
                )))
            }
            "fit" => self.fit_builtin(a),
            "select" => self.select_builtin(a),
            "loglik" | "bic" | "aic" => self.score_builtin(a),
            "impute" => self.impute_builtin(a),
            "decode" => self.decode_builtin(a),
            "stderr" | "confint" | "summary" => self.uncertainty_builtin(a),
            "plot" => self.plot_builtin(a),
            other => Err(Diag::error(
                format!("built-in `{other}` has no implementation (this is a bug)"),
                a.span,
            )),
        }
    }

    fn load(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let path = a.string(0)?;
        let bytes = self.read_file(&path, a.at(0))?;
        if path.ends_with(".gmm") {
            let text = String::from_utf8(bytes).map_err(|e| {
                let (line, col) = crate::diag::utf8_position(&e);
                a.error(
                    0,
                    format!("{path}:{line}:{col}: the file is not UTF-8 text"),
                )
                .help("save the file as UTF-8")
            })?;
            let src = crate::diag::Source::new(path.clone(), text);
            let fail = |diags: Vec<Diag>| {
                let shown = src.render(&diags);
                Diag::error(format!("{path} has errors"), a.at(0))
                    .help(shown.trim_end().to_string())
            };
            let program = crate::syntax::parse(&src.text).map_err(fail)?;
            let checked = crate::check::check_program(&program);
            if checked.has_errors() {
                return Err(fail(checked.diags));
            }
            let Some(last) = program.stmts.iter().rev().find_map(|s| match &s.kind {
                ast::StmtKind::Model(d) => Some((d, s.span)),
                _ => None,
            }) else {
                return Err(a.error(0, format!("{path} declares no model")));
            };
            let (decl, span) = last;
            let env = Env::default();
            if decl.params.is_some() {
                return Ok(Value::Template(Rc::new(super::value::Template {
                    decl: decl.clone(),
                    text: src.text[span.start..span.end].to_string(),
                    env,
                })));
            }
            // The file's own script does not run: the model sees no script names. Its
            // constants may load files in turn, but not a file being loaded already.
            let real = std::fs::canonicalize(self.resolve(&path)).unwrap_or_default();
            let chain = self.loading.borrow().clone();
            if let Some(at) = chain.iter().position(|p| *p == real) {
                let names: Vec<String> = chain[at..]
                    .iter()
                    .chain([&real])
                    .map(|p| {
                        p.file_name()
                            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
                    })
                    .collect();
                return Err(a
                    .error(0, format!("{path} loads itself: {}", names.join(" → ")))
                    .help("a model's constants cannot load the file that declares the model; load the data or model from another file"));
            }
            self.loading.borrow_mut().push(real);
            let model = self.lower(decl, &env, &[]);
            self.loading.borrow_mut().pop();
            return Ok(Value::Model(Rc::new(ModelValue::new(model.map_err(fail)?))));
        }
        parse_csv(&bytes, &path)
            .map(|d| Value::Data(Rc::new(d)))
            .map_err(|e| Diag::error(e.to_string(), a.at(0)).help(e.help()))
    }
}

/// A value as dataset cells.
fn cells(v: &Value, s: Span) -> Result<Cells, Diag> {
    match v {
        Value::Text(t, _) => Ok(Cells::Text(t.clone())),
        Value::Str(x) => Ok(Cells::Text(vec![Some(x.as_str().into())])),
        other => numeric(other, s, "a column").map(Cells::Num),
    }
}

fn scalar(a: &Args<'_>, i: usize) -> Result<f64, Diag> {
    a.arr(i)?
        .as_scalar()
        .ok_or_else(|| a.error(i, format!("expected a number, got {}", a.v(i).kind())))
}

/// A square matrix argument: its entries row by row, and its size.
fn square(a: &Args<'_>, i: usize) -> Result<(Vec<f64>, usize), Diag> {
    let x = a.arr(i)?;
    match x.shape() {
        [r, c] if r == c => Ok((x.data().to_vec(), *r)),
        _ => Err(a.error(
            i,
            format!("expected a square matrix, got {}", a.v(i).kind()),
        )),
    }
}

fn population_var(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n
}

/// Applies `f` to every element (`axis` None) or to each slice along `axis`.
fn reduce(x: &Array, axis: Option<usize>, f: fn(&[f64]) -> f64) -> Array {
    let Some(k) = axis else {
        return Array::scalar(f(x.data()));
    };
    let shape = x.shape();
    let outer: usize = shape[..k].iter().product();
    let len = shape[k];
    let inner: usize = shape[k + 1..].iter().product();
    let mut out = Vec::with_capacity(outer * inner);
    let mut buf = vec![0.0; len];
    for o in 0..outer {
        for i in 0..inner {
            for (j, b) in buf.iter_mut().enumerate() {
                *b = x.data()[(o * len + j) * inner + i];
            }
            out.push(f(&buf));
        }
    }
    let mut s = shape.to_vec();
    s.remove(k);
    Array::from_vec(s, out)
}
