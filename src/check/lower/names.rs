//! Names and scopes: declaring a model's names, and resolving a name used in an expression
//! to a const, parameter, random variable or plate index, with what each place may use.

use super::*;

impl Lowerer<'_> {
    /// Declares `name`, or reports that it already is.
    pub(super) fn declare(&mut self, name: &ast::Ident, decl: Decl) -> bool {
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
    pub(super) fn poison(&mut self, name: &ast::Ident) {
        self.names
            .entry(name.name.clone())
            .or_insert((Decl::Unknown, name.span));
    }

    pub(super) fn name(
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
}

/// The name `n` of a `kind` used where only fixed values may stand.
pub(super) fn not_fixed(n: &str, kind: &str, span: Span) -> Diag {
    Diag::error(format!("`{n}` is not a fixed value"), span)
        .label(kind)
        .help("sizes, constants and initial values can use only constants and numbers")
}
