//! Lowering a `model` declaration to the graphical-model IR, enforcing the rules of section 2:
//! names, declaration order, plates, discrete indices, continuous parents, shapes and values.
//!
//! Errors are collected, not thrown: a failed item is skipped and lowering goes on, so one run
//! reports every mistake. Values that cannot be known before the script runs (a template's
//! argument during `gmm check`) make the result incomplete rather than wrong: the checks that
//! need them are left to run time.
//!
//! By concern: [`names`] declares and resolves names, [`plates`] checks plates, dependencies
//! and indices, [`values`] checks parameters' types, priors and values; this module walks the
//! items and lowers distributions and expressions.

use crate::array::{Array, show_shape};
use crate::diag::{Diag, suggest};
use crate::model::expr::{self as ir, EvalError, Index};
use crate::model::{
    ConstId, Dist, Family, Model, Param, ParamId, ParamType, Plate, PlateId, PlateSize, Support,
    ValueError, Var, VarId,
};
use crate::syntax::ast::{self, ExprKind, IndexItem, ItemKind, ModelDecl, Span};
use std::collections::HashMap;

mod chain;
mod names;
mod plates;
mod values;

use plates::index_not_discrete;
pub use values::value_error_hint;
use values::value_hint;

/// The script around a model: names defined before it and their values.
pub trait Outer {
    /// Whether the script defines `name` here.
    fn defines(&self, name: &str) -> bool;
    /// Names the script defines, for suggestions.
    fn names(&self) -> Vec<String>;
    /// The value of a script expression, or `None` when it is not known before running.
    /// `locals` are the model's own constants the expression uses (a template's arguments
    /// among them), bound over the script's names.
    fn value(&self, e: &ast::Expr, locals: &[(String, Array)]) -> Result<Option<Array>, Diag>;
}

/// The outside of a model that has no script around it (a template instantiated from the
/// command line, a model loaded on its own).
pub struct NoScript;

impl Outer for NoScript {
    fn defines(&self, _: &str) -> bool {
        false
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
    fn value(&self, _: &ast::Expr, _: &[(String, Array)]) -> Result<Option<Array>, Diag> {
        Ok(None)
    }
}

/// The result of lowering.
#[derive(Debug)]
pub struct Lowered {
    /// The model, when every check passed and every value is known.
    pub model: Option<Model>,
    /// Every problem found.
    pub diags: Vec<Diag>,
    /// The names of the model's random variables in declaration order, from the source (known
    /// even when the model is not).
    pub var_names: Vec<String>,
}

/// Lowers `decl`. `args` gives the template's arguments (a value, or `None` when unknown);
/// for a plain model it is empty.
pub fn lower_model(
    decl: &ModelDecl,
    outer: &dyn Outer,
    args: &[(String, Option<Array>)],
) -> Lowered {
    let mut l = Lowerer::new(decl, outer);
    for (name, value) in args {
        let id = l.add_const(name, value.clone());
        l.names
            .insert(name.clone(), (Decl::Const(id), decl.name.span));
    }
    l.items(&decl.items);
    let model = (l.diags.iter().all(|d| !d.is_error()) && !l.unknown).then_some(l.model);
    Lowered {
        model,
        diags: l.diags,
        var_names: l.var_names,
    }
}

/// Evaluates a script expression that uses only numbers, lists, operators, exp/log/sqrt/abs and
/// names whose values `outer` knows; `None` when it cannot be known before running.
pub fn eval_fixed(e: &ast::Expr, outer: &dyn Outer) -> Option<Array> {
    let decl = ModelDecl {
        name: ast::Ident {
            name: String::new(),
            span: e.span,
        },
        params: None,
        items: Vec::new(),
    };
    let mut l = Lowerer::new(&decl, outer);
    l.fixed_value(e).ok()
}

/// What a model name refers to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decl {
    Const(ConstId),
    Param(ParamId),
    Var(VarId),
    Plate(PlateId),
    /// Declared, but its value or shape is not known: unknown until run time, or its
    /// declaration failed (already reported). Uses of it are not checked further.
    Unknown,
}

/// Why lowering of an expression stopped.
#[derive(Debug)]
enum Stop {
    /// An error, already reported.
    Error,
    /// A value that is only known at run time.
    Unknown,
}

type Lower<T> = Result<T, Stop>;

/// Where an expression stands, which decides what it may use.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// A const, a size or a parameter's value: fixed values only.
    Fixed,
    /// A distribution argument of the variable being declared.
    Dist,
    /// An index inside a distribution argument: as `Dist`, but what is used must be discrete.
    Index,
}

struct Lowerer<'a> {
    model: Model,
    /// Values of `model.consts`; `None` when unknown until run time.
    const_values: Vec<Option<Array>>,
    /// Names declared so far, with where.
    names: HashMap<String, (Decl, Span)>,
    /// Every name the model declares, with where (to tell "declared later" from "unknown").
    declared: HashMap<String, Span>,
    /// The random variables the source declares, in order.
    var_names: Vec<String>,
    plate_stack: Vec<PlateId>,
    diags: Vec<Diag>,
    /// Some value is unknown until run time.
    unknown: bool,
    outer: &'a dyn Outer,
    /// While lowering a chained variable's `then` distribution: what `prev` may read.
    then: Option<chain::ThenScope>,
}

/// Every name the items declare, with where (first declaration wins), and the names of the
/// random variables among them.
fn collect_names(items: &[ast::Item], names: &mut HashMap<String, Span>, vars: &mut Vec<String>) {
    for it in items {
        let (name, inner) = match &it.kind {
            ItemKind::Const { name, .. } | ItemKind::Param { name, .. } => (name, None),
            ItemKind::Tilde { name, .. } => {
                vars.push(name.name.clone());
                (name, None)
            }
            ItemKind::Plate { name, items, .. } | ItemKind::Chain { name, items, .. } => {
                (name, Some(items))
            }
        };
        names.entry(name.name.clone()).or_insert(name.span);
        if let Some(items) = inner {
            collect_names(items, names, vars);
        }
    }
}

impl<'a> Lowerer<'a> {
    fn new(decl: &ModelDecl, outer: &'a dyn Outer) -> Lowerer<'a> {
        let mut declared = HashMap::new();
        let mut var_names = Vec::new();
        collect_names(&decl.items, &mut declared, &mut var_names);
        Lowerer {
            model: Model {
                name: decl.name.name.clone(),
                consts: Vec::new(),
                params: Vec::new(),
                plates: Vec::new(),
                vars: Vec::new(),
            },
            const_values: Vec::new(),
            names: HashMap::new(),
            declared,
            var_names,
            plate_stack: Vec::new(),
            diags: Vec::new(),
            unknown: false,
            outer,
            then: None,
        }
    }

    fn error(&mut self, d: Diag) -> Stop {
        self.diags.push(d);
        Stop::Error
    }

    fn add_const(&mut self, name: &str, value: Option<Array>) -> ConstId {
        if value.is_none() {
            self.unknown = true;
        }
        self.model.consts.push(crate::model::Const {
            name: name.to_string(),
            value: value.clone().unwrap_or_else(|| Array::scalar(f64::NAN)),
        });
        self.const_values.push(value);
        self.model.consts.len() - 1
    }

    fn items(&mut self, items: &[ast::Item]) {
        for it in items {
            let name = match &it.kind {
                ItemKind::Const { name, value } => {
                    let v = match self.fixed_value(value) {
                        Ok(v) => Some(v),
                        Err(Stop::Unknown) => None,
                        Err(Stop::Error) => {
                            self.poison(name);
                            continue;
                        }
                    };
                    let id = self.add_const(&name.name, v);
                    self.declare(name, Decl::Const(id));
                    name
                }
                ItemKind::Param {
                    name,
                    dims,
                    ty,
                    prior,
                    value,
                } => {
                    self.param(it.span, name, dims, ty, prior.as_deref(), value.as_ref());
                    name
                }
                ItemKind::Plate { name, size, items } => {
                    self.plate(name, size.as_ref(), items, None);
                    name
                }
                ItemKind::Chain { name, by, items } => {
                    self.chain(name, by.as_ref(), items);
                    name
                }
                ItemKind::Tilde {
                    name,
                    dist,
                    args,
                    then,
                } => {
                    self.tilde(name, dist, args, then.as_deref());
                    name
                }
            };
            // A declaration that failed still declares its name: later uses are not errors.
            self.poison(name);
        }
    }

    fn tilde(
        &mut self,
        name: &ast::Ident,
        dist: &ast::Ident,
        args: &[ast::Arg],
        then: Option<&ast::ThenSpec>,
    ) {
        if let Some(t) = then
            && !self.then_allowed(name, t)
        {
            return;
        }
        let mut parents = Vec::new();
        let mut params = Vec::new();
        let Some((dist, support)) = self.distribution(dist, args, &mut parents, &mut params) else {
            return;
        };
        self.model.vars.push(Var {
            name: name.name.clone(),
            plates: self.plate_stack.clone(),
            dist,
            support,
            parents,
            params,
            next: None,
        });
        let id = self.model.vars.len() - 1;
        if let Some(t) = then
            && self.then_dist(id, t).is_err()
        {
            return;
        }
        self.declare(name, Decl::Var(id));
    }

    /// Lowers `DIST(ARGS)`: the distribution and its support, adding the variables and
    /// parameters it reads to `parents` and `params`. `None` after reporting what is wrong.
    fn distribution(
        &mut self,
        dist: &ast::Ident,
        args: &[ast::Arg],
        parents: &mut Vec<VarId>,
        params: &mut Vec<ParamId>,
    ) -> Option<(Dist, Support)> {
        let Some(family) = Family::from_name(&dist.name) else {
            let names = Family::ALL.map(Family::name);
            let hint = alias(&dist.name)
                .map(str::to_string)
                .or_else(|| suggest(&dist.name, names))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("the distributions are {}", names.join(", ")));
            self.diags.push(
                Diag::error(format!("unknown distribution `{}`", dist.name), dist.span)
                    .label("not a distribution")
                    .help(hint),
            );
            return None;
        };
        let ordered = self.bind_args(family, dist, args)?;
        let mut lowered = Vec::new();
        let mut failed = false;
        for a in ordered {
            match self.expr(a, Ctx::Dist, parents, params) {
                Ok(e) => lowered.push((e, a)),
                Err(Stop::Unknown) => {
                    self.unknown = true;
                    failed = true;
                }
                Err(Stop::Error) => failed = true,
            }
        }
        if failed {
            return None;
        }
        let support = self.support(family, &lowered)?;
        let mut it = lowered.into_iter().map(|(e, _)| e);
        let mut next = || it.next().expect("bind_args gives every argument");
        let dist = match family {
            Family::Categorical => Dist::Categorical { p: next() },
            Family::Bernoulli => Dist::Bernoulli { p: next() },
            Family::Normal => Dist::Normal {
                mean: next(),
                sd: next(),
            },
            Family::MvNormal => Dist::MvNormal {
                mean: next(),
                cov: next(),
            },
        };
        Some((dist, support))
    }

    /// Puts positional and named arguments in the family's order.
    fn bind_args<'e>(
        &mut self,
        family: Family,
        dist: &ast::Ident,
        args: &'e [ast::Arg],
    ) -> Option<Vec<&'e ast::Expr>> {
        let names = family.arg_names();
        let signature = format!("{}({})", family.name(), names.join(", "));
        let mut slots: Vec<Option<&ast::Expr>> = vec![None; names.len()];
        let arity = |at: Span, label: String| {
            Diag::error(
                format!(
                    "`{}` takes {} argument{}, got {}",
                    family.name(),
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    args.len()
                ),
                at,
            )
            .label(label)
            .help(format!("write {signature}"))
        };
        let positional = args.iter().filter(|a| a.name.is_none()).count();
        if positional > names.len() {
            let extra = &args[names.len()];
            self.diags
                .push(arity(extra.value.span, "extra argument".into()));
            return None;
        }
        for (i, a) in args.iter().enumerate() {
            match &a.name {
                None => slots[i] = Some(&a.value),
                Some(n) => match names.iter().position(|x| *x == n.name) {
                    Some(k) if slots[k].is_none() => slots[k] = Some(&a.value),
                    Some(_) => {
                        self.diags.push(
                            Diag::error(format!("argument `{}` is given twice", n.name), n.span)
                                .help(format!("write {signature}")),
                        );
                        return None;
                    }
                    None => {
                        let hint = suggest(&n.name, names.iter().copied())
                            .map(|s| format!("did you mean `{s}`? ({signature})"))
                            .unwrap_or_else(|| format!("write {signature}"));
                        self.diags.push(
                            Diag::error(
                                format!("`{}` has no argument `{}`", family.name(), n.name),
                                n.span,
                            )
                            .help(hint),
                        );
                        return None;
                    }
                },
            }
        }
        if let Some(missing) = slots.iter().position(Option::is_none) {
            let at = args.last().map_or(dist.span, |a| a.value.span);
            self.diags.push(arity(
                dist.span.to(at),
                format!("missing `{}`", names[missing]),
            ));
            return None;
        }
        Some(slots.into_iter().flatten().collect())
    }

    /// Checks argument shapes and fixed values, and gives the variable's support.
    fn support(&mut self, family: Family, args: &[(ir::Expr, &ast::Expr)]) -> Option<Support> {
        let mut shapes = Vec::new();
        for (e, a) in args {
            match e.shape(&*self) {
                Ok(s) => shapes.push(s),
                Err(err) => {
                    self.diags
                        .push(Diag::error(err.to_string(), a.span).label("in this argument"));
                    return None;
                }
            }
        }
        let arg_names = family.arg_names();
        let shape_error = |l: &mut Self, k: usize, want: &str, hint: String| {
            let (_, a) = &args[k];
            l.diags.push(
                Diag::error(
                    format!(
                        "`{}`'s {} must be {want}, but this has shape {}",
                        family.name(),
                        arg_names[k],
                        show_shape(&shapes[k])
                    ),
                    a.span,
                )
                .label(format!("shape {}", show_shape(&shapes[k])))
                .help(hint),
            );
        };
        let index_hint = |k: usize| {
            format!(
                "index it by a discrete variable or plate, e.g. `{}[z]`",
                crate::syntax::fmt::format_expr(args[k].1)
            )
        };
        let support = match family {
            Family::Categorical => match shapes[0].as_slice() {
                [n] if *n >= 1 => Support::Discrete(*n),
                _ => {
                    shape_error(self, 0, "a probability vector (a simplex)", index_hint(0));
                    return None;
                }
            },
            Family::Bernoulli => {
                if !shapes[0].is_empty() {
                    shape_error(self, 0, "a single probability", index_hint(0));
                    return None;
                }
                Support::Discrete(2)
            }
            Family::Normal => {
                for (k, shape) in shapes.iter().enumerate() {
                    if !shape.is_empty() {
                        shape_error(self, k, "a scalar", index_hint(k));
                        return None;
                    }
                }
                Support::Real
            }
            Family::MvNormal => {
                let n = match shapes[0].as_slice() {
                    [n] => *n,
                    _ => {
                        shape_error(self, 0, "a vector", index_hint(0));
                        return None;
                    }
                };
                if shapes[1] != [n, n] {
                    shape_error(
                        self,
                        1,
                        &format!("a {n}×{n} covariance matrix"),
                        format!("the mean has length {n}, so the covariance must be {n}×{n}"),
                    );
                    return None;
                }
                Support::RealVector(n)
            }
        };
        // Arguments with fixed values are checked now.
        for (k, (e, a)) in args.iter().enumerate() {
            let Ok(v) = e.eval(&*self) else { continue };
            let ty = match (family, k) {
                (Family::Categorical, _) => ParamType::Simplex(shapes[0][0]),
                (Family::Bernoulli, _) => ParamType::Prob,
                (Family::Normal, 1) => ParamType::Positive,
                (Family::MvNormal, 1) => ParamType::Cov(shapes[1][0]),
                _ => ParamType::Real,
            };
            if let Err(why) = ty.validate(v.data()) {
                self.diags.push(
                    Diag::error(
                        format!("invalid {} for `{}`", arg_names[k], family.name()),
                        a.span,
                    )
                    .label(format!("not a valid {}: {why}", ty.to_source()))
                    .help(value_hint(ty)),
                );
                return None;
            }
        }
        Some(support)
    }

    fn expr(
        &mut self,
        e: &ast::Expr,
        ctx: Ctx,
        parents: &mut Vec<VarId>,
        params: &mut Vec<ParamId>,
    ) -> Lower<ir::Expr> {
        use ir::Expr as E;
        Ok(match &e.kind {
            ExprKind::Number { value, .. } => E::Lit(Array::scalar(*value)),
            ExprKind::Bool(b) => E::Lit(Array::scalar(f64::from(u8::from(*b)))),
            ExprKind::Name(n) => self.name(n, e.span, ctx, parents, params)?,
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut stop = None;
                for x in items {
                    match self.expr(x, ctx, parents, params) {
                        Ok(v) => out.push(v),
                        Err(s) => stop = Some(s),
                    }
                }
                if let Some(s) = stop {
                    return Err(s);
                }
                let node = E::List(out);
                self.shaped(node, e)?
            }
            ExprKind::Unary(op, x) => {
                let x = self.expr(x, ctx, parents, params)?;
                let op = match op {
                    ast::UnOp::Neg => ir::UnOp::Neg,
                    ast::UnOp::Not => ir::UnOp::Not,
                };
                E::Unary(op, Box::new(x))
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(a, ctx, parents, params);
                let b = self.expr(b, ctx, parents, params);
                let node = E::Binary(lower_op(*op), Box::new(a?), Box::new(b?));
                self.shaped(node, e)?
            }
            ExprKind::Index(base, items) => self.index(e, base, items, ctx, parents, params)?,
            ExprKind::Call(callee, args) if matches!(&callee.kind, ExprKind::Name(n) if n == "prev" && !self.declared.contains_key(n)) => {
                self.prev(e, args)?
            }
            ExprKind::Call(callee, args) => {
                let math = match &callee.kind {
                    ExprKind::Name(n) if !self.names.contains_key(n) => ir::MathFn::from_name(n),
                    _ => None,
                };
                match math {
                    Some(f) if args.len() == 1 && args[0].name.is_none() => {
                        let x = self.expr(&args[0].value, ctx, parents, params)?;
                        E::Call(f, Box::new(x))
                    }
                    Some(f) => {
                        return Err(self.error(
                            Diag::error(format!("`{}` takes 1 argument", f.name()), e.span)
                                .help(format!("write {}(x)", f.name())),
                        ));
                    }
                    None => self.outer_expr(e, "a function call")?,
                }
            }
            ExprKind::Field(..) => self.outer_expr(e, "a field")?,
            ExprKind::Str(_) | ExprKind::Na | ExprKind::Query(_) => {
                let what = match &e.kind {
                    ExprKind::Str(_) => "a string",
                    ExprKind::Na => "NA",
                    _ => "a probability query",
                };
                return Err(self.error(
                    Diag::error(format!("{what} cannot be used inside a model"), e.span)
                        .label("not a number")
                        .help("model expressions compute numbers from constants, parameters and discrete variables"),
                ));
            }
        })
    }

    /// Checks that `node` has a shape (reporting at `at` when not) and returns it.
    fn shaped(&mut self, node: ir::Expr, at: &ast::Expr) -> Lower<ir::Expr> {
        match node.shape(&*self) {
            Ok(_) => Ok(node),
            Err(EvalError::Unavailable(_)) if self.unknown => Err(Stop::Unknown),
            Err(err) => Err(self.error(Diag::error(err.to_string(), at.span).label("here"))),
        }
    }

    /// An expression that uses only script names: the script evaluates it.
    fn outer_expr(&mut self, e: &ast::Expr, what: &str) -> Lower<ir::Expr> {
        let mut free = Vec::new();
        free_names(e, &mut free);
        let mut locals = Vec::new();
        for n in &free {
            match self.names.get(n.as_str()) {
                // A constant (a template's argument, or `const`) takes its value along.
                Some(&(Decl::Const(id), _)) => match &self.const_values[id] {
                    Some(v) => locals.push((n.clone(), v.clone())),
                    None => {
                        self.unknown = true;
                        return Err(Stop::Unknown);
                    }
                },
                Some(_) => {
                    return Err(self.error(
                        Diag::error(format!("{what} cannot use the model's own `{n}`"), e.span)
                            .label("uses a name of this model")
                            .help("inside a model, only exp, log, sqrt and abs can be applied to parameters and variables"),
                    ));
                }
                None if self.declared.contains_key(n.as_str()) => {
                    return Err(self.error(
                        Diag::error(format!("{what} cannot use the model's own `{n}`"), e.span)
                            .label("uses a name of this model")
                            .help("inside a model, only exp, log, sqrt and abs can be applied to parameters and variables"),
                    ));
                }
                None => {}
            }
        }
        match self.outer.value(e, &locals) {
            Ok(Some(v)) => Ok(ir::Expr::Lit(v)),
            Ok(None) => {
                self.unknown = true;
                Err(Stop::Unknown)
            }
            Err(d) => Err(self.error(d)),
        }
    }
}

impl ir::Env for Lowerer<'_> {
    fn constant(&self, id: ConstId) -> Result<Array, EvalError> {
        self.const_values[id]
            .clone()
            .ok_or_else(|| EvalError::Unavailable("value known only at run time".into()))
    }
    fn param(&self, _: ParamId) -> Result<Array, EvalError> {
        Err(EvalError::Unavailable(
            "a parameter is not a fixed value".into(),
        ))
    }
    fn var(&self, _: VarId) -> Result<Array, EvalError> {
        Err(EvalError::Unavailable(
            "a random variable is not a fixed value".into(),
        ))
    }
    fn plate_index(&self, _: PlateId) -> Result<Array, EvalError> {
        Err(EvalError::Unavailable(
            "a plate index is not a fixed value".into(),
        ))
    }
}

impl ir::ShapeEnv for Lowerer<'_> {
    fn constant(&self, id: ConstId) -> Vec<usize> {
        self.model.consts[id].value.shape().to_vec()
    }
    fn param(&self, id: ParamId) -> Vec<usize> {
        self.model.params[id].shape()
    }
    fn var(&self, id: VarId) -> Vec<usize> {
        self.model.vars[id].support.shape()
    }
}

/// The IR's operator for a syntax operator.
pub fn lower_op(op: ast::BinOp) -> ir::BinOp {
    match op {
        ast::BinOp::Or => ir::BinOp::Or,
        ast::BinOp::And => ir::BinOp::And,
        ast::BinOp::Eq => ir::BinOp::Eq,
        ast::BinOp::Ne => ir::BinOp::Ne,
        ast::BinOp::Lt => ir::BinOp::Lt,
        ast::BinOp::Le => ir::BinOp::Le,
        ast::BinOp::Gt => ir::BinOp::Gt,
        ast::BinOp::Ge => ir::BinOp::Ge,
        ast::BinOp::Range => ir::BinOp::Range,
        ast::BinOp::Add => ir::BinOp::Add,
        ast::BinOp::Sub => ir::BinOp::Sub,
        ast::BinOp::Mul => ir::BinOp::Mul,
        ast::BinOp::Div => ir::BinOp::Div,
        ast::BinOp::MatMul => ir::BinOp::MatMul,
        ast::BinOp::Pow => ir::BinOp::Pow,
    }
}

/// Names other libraries use for the language's distributions.
fn alias(name: &str) -> Option<&'static str> {
    match name.to_lowercase().as_str() {
        "gaussian" | "norm" | "normal" => Some("Normal"),
        "mvn" | "multivariatenormal" | "multivariate_normal" | "mvnormal" | "mvgaussian" => {
            Some("MvNormal")
        }
        "discrete" | "multinomial" | "onehotcategorical" | "cat" | "categorical" => {
            Some("Categorical")
        }
        "bernoulli" | "bern" => Some("Bernoulli"),
        _ => None,
    }
}

/// The names an expression mentions (not fields or named-argument names).
pub fn free_names(e: &ast::Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Name(n) => out.push(n.clone()),
        ExprKind::Number { .. } | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Na => {}
        ExprKind::List(xs) => xs.iter().for_each(|x| free_names(x, out)),
        ExprKind::Unary(_, x) | ExprKind::Field(x, _) => free_names(x, out),
        ExprKind::Binary(_, a, b) => {
            free_names(a, out);
            free_names(b, out);
        }
        ExprKind::Call(f, args) => {
            free_names(f, out);
            args.iter().for_each(|a| free_names(&a.value, out));
        }
        ExprKind::Index(b, items) => {
            free_names(b, out);
            for it in items {
                if let IndexItem::At(x) = it {
                    free_names(x, out);
                }
            }
        }
        ExprKind::Query(q) => {
            if let Some(m) = &q.model {
                free_names(m, out);
            }
            for t in q.targets.iter().chain(&q.given) {
                if let Some(i) = &t.index {
                    free_names(i, out);
                }
                if let Some(v) = &t.value {
                    free_names(v, out);
                }
            }
        }
    }
}
