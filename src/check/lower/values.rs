//! Types and values: parameters with their types, priors and values, and the fixed values
//! (sizes, consts) a declaration needs before the script runs.

use super::*;

impl Lowerer<'_> {
    pub(super) fn param(
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
    pub(super) fn prior(
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

    /// A positive whole number: a dimension, a type's size or a plate's size.
    pub(super) fn size(&mut self, e: &ast::Expr, what: &str) -> Lower<usize> {
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
    pub(super) fn fixed_value(&mut self, e: &ast::Expr) -> Lower<Array> {
        let ir = self.expr(e, Ctx::Fixed, &mut Vec::new(), &mut Vec::new())?;
        match ir.eval(&*self) {
            Ok(v) => Ok(v),
            Err(EvalError::Unavailable(_)) if self.unknown => Err(Stop::Unknown),
            Err(err) => {
                Err(self.error(Diag::error(err.to_string(), e.span).label("cannot evaluate this")))
            }
        }
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
pub(super) fn value_hint(ty: ParamType) -> String {
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

pub(super) fn uniform(n: usize) -> String {
    let x = crate::array::format_number(1.0 / n as f64);
    format!("[{}]", vec![x; n].join(", "))
}

pub(super) fn identity(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let r: Vec<&str> = (0..n).map(|j| if i == j { "1" } else { "0" }).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

pub(super) fn describe_value(v: &Array) -> String {
    match v.as_scalar() {
        Some(x) => crate::array::format_number(x),
        None => format!("an array of shape {}", show_shape(v.shape())),
    }
}
