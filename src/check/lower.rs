//! Lowering a `model` declaration to the graphical-model IR, enforcing the rules of section 2:
//! names, declaration order, plates, discrete indices, continuous parents, shapes and values.
//!
//! Errors are collected, not thrown: a failed item is skipped and lowering goes on, so one run
//! reports every mistake. Values that cannot be known before the script runs (a template's
//! argument during `gmm check`) make the result incomplete rather than wrong: the checks that
//! need them are left to run time.

use crate::array::{Array, show_shape};
use crate::diag::{Diag, suggest};
use crate::model::expr::{self as ir, EvalError, Index};
use crate::model::{
    ConstId, Dist, Family, Model, Param, ParamId, ParamType, Plate, PlateId, PlateSize, Support,
    ValueError, Var, VarId,
};
use crate::syntax::ast::{self, ExprKind, IndexItem, ItemKind, ModelDecl, Span};
use std::collections::HashMap;

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
            ItemKind::Plate { name, items, .. } => (name, Some(items)),
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

    /// Declares `name`, or reports that it already is.
    fn declare(&mut self, name: &ast::Ident, decl: Decl) -> bool {
        if let Some((_, prev)) = self.names.get(&name.name) {
            let prev = *prev;
            self.diags.push(
                Diag::error(
                    format!(
                        "`{}` is declared twice in model `{}`",
                        name.name, self.model.name
                    ),
                    name.span,
                )
                .label("second declaration")
                .related(prev, "first declared here")
                .help("rename one of them"),
            );
            return false;
        }
        self.names.insert(name.name.clone(), (decl, name.span));
        true
    }

    /// Marks a name whose declaration failed, so its uses raise no further errors.
    fn poison(&mut self, name: &ast::Ident) {
        self.names
            .entry(name.name.clone())
            .or_insert((Decl::Unknown, name.span));
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
                    self.plate(name, size.as_ref(), items);
                    name
                }
                ItemKind::Tilde { name, dist, args } => {
                    self.tilde(name, dist, args);
                    name
                }
            };
            // A declaration that failed still declares its name: later uses are not errors.
            self.poison(name);
        }
    }

    fn param(
        &mut self,
        span: Span,
        name: &ast::Ident,
        dims: &[ast::Expr],
        ty: &ast::TypeSpec,
        prior: Option<&ast::PriorSpec>,
        value: Option<&ast::Expr>,
    ) {
        if let Some(&plate) = self.plate_stack.last() {
            let pname = self.model.plates[plate].name.clone();
            self.diags.push(
                Diag::error("a parameter cannot be declared inside a plate", span)
                    .label(format!("inside plate `{pname}`"))
                    .help(format!(
                        "declare it at the top of the model with one entry per copy, e.g. `param {}[N] : ...`, and index it with the plate's index",
                        name.name
                    )),
            );
            return;
        }
        let mut known = true;
        let mut dim_sizes = Vec::new();
        for d in dims {
            match self.size(d, "a dimension") {
                Ok(n) => dim_sizes.push(n),
                Err(Stop::Unknown) => known = false,
                Err(Stop::Error) => return,
            }
        }
        let size = match &ty.size {
            Some(e) => match self.size(e, "a type's size") {
                Ok(n) => Some(n),
                Err(Stop::Unknown) => {
                    known = false;
                    Some(1)
                }
                Err(Stop::Error) => return,
            },
            None => None,
        };
        let pty = match ParamType::from_parts(&ty.name.name, size) {
            Ok(t) => t,
            Err(msg) => {
                let hint = suggest(&ty.name.name, ParamType::NAMES)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("the types are {}", ParamType::NAMES.join(", ")));
                self.diags
                    .push(Diag::error(msg, ty.span).label("in this type").help(hint));
                return;
            }
        };
        let mut param = Param {
            name: name.name.clone(),
            dims: dim_sizes,
            ty: pty,
            value: None,
            prior: None,
        };
        if let Err(e) = crate::array::checked_len(&param.shape()) {
            self.diags.push(
                Diag::error(format!("parameter `{}` is too large", name.name), span)
                    .label(e.to_string())
                    .help("use smaller dimensions"),
            );
            return;
        }
        if let Some(p) = prior {
            match self.prior(p, pty) {
                Ok(Some(prior)) => param.prior = Some(prior),
                Ok(None) => known = false,
                Err(()) => return,
            }
        }
        if let Some(v) = value {
            match self.fixed_value(v) {
                Ok(val) if known => match param.accept(&val) {
                    Ok(full) => param.value = Some(full),
                    Err(e) => {
                        let hint = value_error_hint(pty, &val, &e);
                        self.diags.push(
                            Diag::error(
                                format!("invalid value for parameter `{}`", name.name),
                                v.span,
                            )
                            .label(e.to_string())
                            .help(hint),
                        );
                        return;
                    }
                },
                Ok(_) | Err(Stop::Unknown) => known = false,
                Err(Stop::Error) => return,
            }
        }
        if known {
            self.model.params.push(param);
            let id = self.model.params.len() - 1;
            self.declare(name, Decl::Param(id));
        } else {
            // Its shape is only known at run time: uses of it are checked then.
            self.unknown = true;
            self.declare(name, Decl::Unknown);
        }
    }

    /// The prior `p` on a parameter of type `ty` (section 9.2), its arguments evaluated;
    /// `Ok(None)` when an argument is known only at run time, `Err` after a diagnostic.
    fn prior(
        &mut self,
        p: &ast::PriorSpec,
        ty: ParamType,
    ) -> Result<Option<crate::model::prior::Prior>, ()> {
        if let Some(named) = p.args.iter().find_map(|a| a.name.as_ref()) {
            self.diags.push(
                Diag::error(
                    format!("`{}`'s arguments are positional", p.dist.name),
                    named.span,
                )
                .help(format!("write {}", crate::model::prior::fitting(ty))),
            );
            return Err(());
        }
        let mut args = Vec::with_capacity(p.args.len());
        for a in &p.args {
            match self.fixed_value(&a.value) {
                Ok(v) => args.push(v),
                Err(Stop::Unknown) => return Ok(None),
                Err(Stop::Error) => return Err(()),
            }
        }
        match crate::model::prior::Prior::new(&p.dist.name, ty, &args) {
            Ok(prior) => Ok(Some(prior)),
            Err(e) => {
                let at = if crate::model::prior::FAMILIES.contains(&p.dist.name.as_str()) {
                    p.span
                } else {
                    p.dist.span
                };
                self.diags.push(
                    Diag::error(e.message, at)
                        .label("in this prior")
                        .help(e.help),
                );
                Err(())
            }
        }
    }

    fn plate(&mut self, name: &ast::Ident, size: Option<&ast::Expr>, items: &[ast::Item]) {
        let size = match size {
            None => {
                if let Some(&outer) = self.plate_stack.last() {
                    let oname = self.model.plates[outer].name.clone();
                    self.diags.push(
                        Diag::error("the data plate must be at the top level of the model", name.span)
                            .label(format!("inside plate `{oname}`"))
                            .help(format!(
                                "give it a fixed size (`plate {} : 3 {{ ... }}`), or move it out of `{oname}`",
                                name.name
                            )),
                    );
                    return;
                }
                if let Some(prev) = self.model.data_plate() {
                    let pname = self.model.plates[prev].name.clone();
                    let pspan = self.names.get(&pname).map(|(_, s)| *s);
                    let mut d = Diag::error("a model has at most one data plate", name.span)
                        .label("second data plate")
                        .help(format!(
                            "put these variables in `{pname}`, or give this plate a fixed size"
                        ));
                    if let Some(s) = pspan {
                        d = d.related(s, "the data plate");
                    }
                    self.diags.push(d);
                    return;
                }
                PlateSize::Data
            }
            Some(e) => match self.size(e, "a plate size") {
                Ok(n) => PlateSize::Fixed(n),
                Err(Stop::Unknown) => PlateSize::Fixed(1),
                Err(Stop::Error) => return,
            },
        };
        self.model.plates.push(Plate {
            name: name.name.clone(),
            size,
            parent: self.plate_stack.last().copied(),
        });
        let id = self.model.plates.len() - 1;
        if !self.declare(name, Decl::Plate(id)) {
            return;
        }
        self.plate_stack.push(id);
        self.items(items);
        self.plate_stack.pop();
    }

    fn tilde(&mut self, name: &ast::Ident, dist: &ast::Ident, args: &[ast::Arg]) {
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
            return;
        };
        let Some(ordered) = self.bind_args(family, dist, args) else {
            return;
        };
        let mut parents = Vec::new();
        let mut params = Vec::new();
        let mut lowered = Vec::new();
        let mut failed = false;
        for a in ordered {
            match self.expr(a, Ctx::Dist, &mut parents, &mut params) {
                Ok(e) => lowered.push((e, a)),
                Err(Stop::Unknown) => {
                    self.unknown = true;
                    failed = true;
                }
                Err(Stop::Error) => failed = true,
            }
        }
        if failed {
            return;
        }
        let Some(support) = self.support(family, &lowered) else {
            return;
        };
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
        self.model.vars.push(Var {
            name: name.name.clone(),
            plates: self.plate_stack.clone(),
            dist,
            support,
            parents,
            params,
        });
        let id = self.model.vars.len() - 1;
        self.declare(name, Decl::Var(id));
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

    /// A positive whole number: a dimension, a type's size or a plate's size.
    fn size(&mut self, e: &ast::Expr, what: &str) -> Lower<usize> {
        let v = self.fixed_value(e)?;
        match v.as_scalar() {
            Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= 1e9 => Ok(x as usize),
            _ => Err(self.error(
                Diag::error(
                    format!("{what} must be a whole number from 1 to 1e9"),
                    e.span,
                )
                .label(format!("this is {}", describe_value(&v)))
                .help("write a whole number such as 3; sizes are fixed before the model runs"),
            )),
        }
    }

    /// Lowers and evaluates an expression that may use only fixed values.
    fn fixed_value(&mut self, e: &ast::Expr) -> Lower<Array> {
        let ir = self.expr(e, Ctx::Fixed, &mut Vec::new(), &mut Vec::new())?;
        match ir.eval(&*self) {
            Ok(v) => Ok(v),
            Err(EvalError::Unavailable(_)) if self.unknown => Err(Stop::Unknown),
            Err(err) => {
                Err(self.error(Diag::error(err.to_string(), e.span).label("cannot evaluate this")))
            }
        }
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

    fn name(
        &mut self,
        n: &str,
        span: Span,
        ctx: Ctx,
        parents: &mut Vec<VarId>,
        params: &mut Vec<ParamId>,
    ) -> Lower<ir::Expr> {
        let Some(&(decl, _)) = self.names.get(n) else {
            if let Some(&later) = self.declared.get(n) {
                return Err(self.error(
                    Diag::error(format!("`{n}` is used before it is declared"), span)
                        .label("used here")
                        .related(later, "declared here")
                        .help(format!("move the declaration of `{n}` above this line")),
                ));
            }
            if self.outer.defines(n) {
                let e = ast::Expr {
                    kind: ExprKind::Name(n.to_string()),
                    span,
                };
                return self.outer_expr(&e, "a script value");
            }
            let mut candidates: Vec<String> = self.names.keys().cloned().collect();
            candidates.extend(self.outer.names());
            let hint = suggest(n, candidates.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    "declare it in the model (`param`, `const` or `~`) or with `let` before the model".to_string()
                });
            return Err(self.error(
                Diag::error(format!("unknown name `{n}`"), span)
                    .label(format!("not declared in model `{}`", self.model.name))
                    .help(hint),
            ));
        };
        match decl {
            Decl::Const(id) => Ok(ir::Expr::Const(id)),
            Decl::Unknown => Err(Stop::Unknown),
            Decl::Param(id) => {
                if ctx == Ctx::Fixed {
                    return Err(self.error(not_fixed(n, "a parameter", span)));
                }
                if !params.contains(&id) {
                    params.push(id);
                }
                Ok(ir::Expr::Param(id))
            }
            Decl::Var(id) => {
                if ctx == Ctx::Fixed {
                    return Err(self.error(not_fixed(n, "a random variable", span)));
                }
                let var = &self.model.vars[id];
                if !var.support.is_discrete() {
                    let label = format!("`{n}` is {}, so continuous", var.dist.family().name());
                    let d = match ctx {
                        Ctx::Index => index_not_discrete(span, label),
                        Ctx::Fixed | Ctx::Dist => {
                            Diag::error(format!("continuous variable `{n}` cannot be a parent"), span)
                                .label(label)
                                .help("only discrete variables (Categorical, Bernoulli) can be indices or arguments of other variables")
                        }
                    };
                    return Err(self.error(d));
                }
                self.check_plates(id, span)?;
                if !parents.contains(&id) {
                    parents.push(id);
                }
                Ok(ir::Expr::Var(id))
            }
            Decl::Plate(id) => {
                let plate = &self.model.plates[id];
                if plate.size == PlateSize::Data {
                    return Err(self.error(
                        Diag::error(format!("`{n}` is the data plate and has no index"), span)
                            .label("the data plate")
                            .help("only fixed-size plates (`plate j : 3 { ... }`) have an index"),
                    ));
                }
                if !self.plate_stack.contains(&id) {
                    return Err(self.error(
                        Diag::error(format!("the index of plate `{n}` is used outside it"), span)
                            .label("outside the plate")
                            .help(format!("use `{n}` only inside `plate {n} : ... {{ }}`")),
                    ));
                }
                if ctx == Ctx::Fixed {
                    return Err(self.error(not_fixed(n, "a plate index", span)));
                }
                Ok(ir::Expr::PlateIndex(id))
            }
        }
    }

    /// Nothing outside a plate may depend on a variable inside it.
    fn check_plates(&mut self, parent: VarId, span: Span) -> Lower<()> {
        let var_plates = self.model.vars[parent].plates.clone();
        if let Some(&inner) = var_plates.iter().find(|p| !self.plate_stack.contains(p)) {
            let pname = self.model.plates[inner].name.clone();
            let n = self.model.vars[parent].name.clone();
            return Err(self.error(
                Diag::error(
                    format!("`{n}` is inside plate `{pname}` but is used outside it"),
                    span,
                )
                .label(format!("`{n}` has one copy per `{pname}`"))
                .help(format!(
                    "declare this variable inside `plate {pname}` too, or move `{n}` out of the plate"
                )),
            ));
        }
        Ok(())
    }

    fn index(
        &mut self,
        e: &ast::Expr,
        base: &ast::Expr,
        items: &[IndexItem],
        ctx: Ctx,
        parents: &mut Vec<VarId>,
        params: &mut Vec<ParamId>,
    ) -> Lower<ir::Expr> {
        let b = self.expr(base, ctx, parents, params)?;
        let shape = match b.shape(&*self) {
            Ok(s) => s,
            Err(EvalError::Unavailable(_)) if self.unknown => return Err(Stop::Unknown),
            Err(err) => return Err(self.error(Diag::error(err.to_string(), base.span))),
        };
        if items.len() > shape.len() {
            return Err(self.error(
                Diag::error(
                    format!(
                        "{} indices for a value with {} dimension{} (shape {})",
                        items.len(),
                        shape.len(),
                        if shape.len() == 1 { "" } else { "s" },
                        show_shape(&shape)
                    ),
                    e.span,
                )
                .label("too many indices")
                .help("drop the extra indices"),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (axis, it) in items.iter().enumerate() {
            match it {
                IndexItem::All(_) => out.push(Index::All),
                IndexItem::At(x) => {
                    let item_ctx = match ctx {
                        Ctx::Fixed => Ctx::Fixed,
                        Ctx::Dist | Ctx::Index => Ctx::Index,
                    };
                    let ix = self.expr(x, item_ctx, parents, params)?;
                    self.check_index(&ix, x, shape[axis], base)?;
                    out.push(Index::At(ix));
                }
            }
        }
        let node = ir::Expr::Index(Box::new(b), out);
        self.shaped(node, e)
    }

    /// An index is a discrete variable, a plate index or fixed whole numbers, all in range.
    fn check_index(
        &mut self,
        ix: &ir::Expr,
        at: &ast::Expr,
        size: usize,
        base: &ast::Expr,
    ) -> Lower<()> {
        let base_text = crate::syntax::fmt::format_expr(base);
        let (count, what) = match ix {
            ir::Expr::Var(id) => match self.model.vars[*id].support {
                Support::Discrete(n) => (
                    n,
                    format!(
                        "`{}` takes the values {}",
                        self.model.vars[*id].name,
                        crate::array::index_words(n)
                    ),
                ),
                _ => unreachable!("continuous variables are refused before indexing"),
            },
            ir::Expr::PlateIndex(id) => match self.model.plates[*id].size {
                PlateSize::Fixed(n) => (
                    n,
                    format!(
                        "plate index `{}` runs over {}",
                        self.model.plates[*id].name,
                        crate::array::index_words(n)
                    ),
                ),
                PlateSize::Data => unreachable!("data plates have no index"),
            },
            _ => match ix.eval(&*self) {
                Ok(v) => {
                    if let Some(bad) = v.data().iter().find(|x| x.fract() != 0.0 || !x.is_finite())
                    {
                        return Err(self.error(
                            Diag::error(format!("index {bad} is not a whole number"), at.span)
                                .label("indices must be whole numbers")
                                .help("use a discrete variable, a plate index or a whole number"),
                        ));
                    }
                    let max = v.data().iter().fold(-1.0f64, |m, &x| m.max(x));
                    if let Some(neg) = v.data().iter().find(|&&x| x < 0.0) {
                        return Err(self.error(
                            Diag::error(format!("index {neg} is negative"), at.span).help(format!(
                                "valid indices of `{base_text}` here: {}",
                                crate::array::index_words(size)
                            )),
                        ));
                    }
                    ((max + 1.0) as usize, format!("index {max}"))
                }
                Err(_) => {
                    let label = match ix {
                        ir::Expr::Param(_) => "a parameter",
                        _ => "a computed value",
                    };
                    return Err(self.error(index_not_discrete(at.span, label)));
                }
            },
        };
        if count > size {
            let fixed = what.starts_with("index");
            let from_zero = (fixed && count == size + 1).then(|| {
                format!(
                    "indices start at 0: the valid ones here are {}",
                    crate::array::index_words(size)
                )
            });
            return Err(self.error(
                Diag::error(format!("index out of range for `{base_text}`"), at.span)
                    .label(format!("{what}, but this axis of `{base_text}` has size {size}"))
                    .help_opt(from_zero)
                    .help(format!(
                        "make `{base_text}` {count} long along this axis, or use an index with fewer values"
                    )),
            ));
        }
        Ok(())
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

/// How to mend `given`, which `accept` refused for a parameter of type `ty` with `e`.
pub fn value_error_hint(ty: ParamType, given: &Array, e: &ValueError) -> String {
    match (ty, e) {
        // `diag[n] = [a, b]`: the diagonal alone, where the matrix is written out.
        (ParamType::Diag(n) | ParamType::Iso(n), _) if given.shape() == [n] => {
            let rows: Vec<String> = (0..n)
                .map(|i| {
                    let row: Vec<String> = (0..n)
                        .map(|j| match i == j {
                            true => crate::array::format_number(given.data()[i]),
                            false => "0".into(),
                        })
                        .collect();
                    format!("[{}]", row.join(", "))
                })
                .collect();
            format!(
                "a {} is written as the whole matrix: `[{}]`",
                ty.to_source(),
                rows.join(", ")
            )
        }
        (_, ValueError::Shape { want, .. }) => format!(
            "give a value of shape {}, or one that broadcasts to it",
            show_shape(want)
        ),
        (_, ValueError::Invalid(_)) => value_hint(ty),
    }
}

/// How to write a valid value of a type.
fn value_hint(ty: ParamType) -> String {
    match ty {
        ParamType::Real | ParamType::Vector(_) => "give finite numbers".into(),
        ParamType::Positive => "standard deviations and other positive values must be > 0".into(),
        ParamType::Prob => "give a probability between 0 and 1".into(),
        ParamType::Simplex(n) => format!(
            "a simplex[{n}] is {n} non-negative numbers that sum to 1, e.g. {}",
            uniform(n)
        ),
        ParamType::Cov(n) | ParamType::Diag(n) | ParamType::Iso(n) => format!(
            "a {n}×{n} covariance must be symmetric with positive eigenvalues, e.g. the identity {}",
            identity(n)
        ),
    }
}

fn uniform(n: usize) -> String {
    let x = crate::array::format_number(1.0 / n as f64);
    format!("[{}]", vec![x; n].join(", "))
}

fn identity(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let r: Vec<&str> = (0..n).map(|j| if i == j { "1" } else { "0" }).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// An index that is not a discrete variable, a plate index or whole numbers.
fn index_not_discrete(span: Span, label: impl Into<String>) -> Diag {
    Diag::error("an index must be discrete", span)
        .label(label)
        .help("index with a discrete variable (Categorical, Bernoulli), a plate index or a whole number")
}

/// The name `n` of a `kind` used where only fixed values may stand.
fn not_fixed(n: &str, kind: &str, span: Span) -> Diag {
    Diag::error(format!("`{n}` is not a fixed value"), span)
        .label(kind)
        .help("sizes, constants and initial values can use only constants and numbers")
}

fn describe_value(v: &Array) -> String {
    match v.as_scalar() {
        Some(x) => crate::array::format_number(x),
        None => format!("an array of shape {}", show_shape(v.shape())),
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
