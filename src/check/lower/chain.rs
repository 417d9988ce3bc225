//! Chains (section 9.4): `chain NAME [by COLUMN] { ... }`, chained variables
//! `v ~ FIRST then NEXT`, and `prev(v)`, which reads a chained variable's previous row and may
//! stand only in `NEXT`.
//!
//! What lowering guarantees for the engine: a chained variable is discrete and sits directly
//! in the chain (in no plate inside it); `FIRST` and `NEXT` have the same number of values;
//! both read only chained variables of the same row, `prev` of chained variables (in `NEXT`),
//! and variables outside the chain. A non-chained variable of the row may depend on the
//! chained ones, so the chain's state is the joint value of its chained variables.

use super::*;
use crate::model::{Chain, Next};

/// What `prev` may read while a `then` distribution is lowered.
pub(super) struct ThenScope {
    /// The chained variable being declared.
    var: VarId,
    /// The variables `prev` has read so far.
    prev: Vec<VarId>,
}

impl Lowerer<'_> {
    /// `chain NAME [by COLUMN] { ITEMS }`: the data plate, marked as a chain.
    pub(super) fn chain(
        &mut self,
        name: &ast::Ident,
        by: Option<&ast::Ident>,
        items: &[ast::Item],
    ) {
        if let Some(b) = by
            && let Some(&at) = self.declared.get(&b.name)
        {
            self.diags.push(
                Diag::error(
                    format!("`by {}` names a data column, but the model declares `{}`", b.name, b.name),
                    b.span,
                )
                .label("a column of the data")
                .related(at, "declared here")
                .help("the `by` column splits the rows into sequences and is not part of the model: name the column something else"),
            );
            return;
        }
        let chain = Chain {
            by: by.map(|b| b.name.clone()),
        };
        self.plate(name, None, items, Some(chain));
    }

    /// Whether `name ~ ... then ...` stands where a chained variable may: directly in a chain.
    /// Reports why not.
    pub(super) fn then_allowed(&mut self, name: &ast::Ident, t: &ast::ThenSpec) -> bool {
        let chain = self
            .plate_stack
            .first()
            .copied()
            .filter(|&p| self.model.plates[p].chain.is_some());
        match (chain, self.plate_stack.last()) {
            (Some(c), Some(&inner)) if inner != c => {
                let (cname, iname) = (
                    self.model.plates[c].name.clone(),
                    self.model.plates[inner].name.clone(),
                );
                self.diags.push(
                    Diag::error(
                        format!("chained variable `{}` is inside plate `{iname}`", name.name),
                        t.span,
                    )
                    .label(format!("inside `{iname}`, not directly in chain `{cname}`"))
                    .help(format!(
                        "declare `{}` directly in `chain {cname}`; a variable inside `{iname}` may depend on it",
                        name.name
                    )),
                );
                false
            }
            (Some(_), _) => true,
            (None, _) => {
                self.diags.push(
                    Diag::error("`then` is only for variables in a chain", t.span)
                        .label("outside a chain")
                        .help(format!(
                            "declare the rows' plate as `chain NAME {{ ... }}` (section 9.4), with `{} ~ FIRST then NEXT` directly in it; or drop `then ...`",
                            name.name
                        )),
                );
                false
            }
        }
    }

    /// Lowers chained variable `id`'s `then` distribution and checks what both of its
    /// distributions read.
    pub(super) fn then_dist(&mut self, id: VarId, t: &ast::ThenSpec) -> Lower<()> {
        let var = &self.model.vars[id];
        if !var.support.is_discrete() {
            let (n, family) = (var.name.clone(), var.dist.family().name());
            return Err(self.error(
                Diag::error(format!("`then` on continuous variable `{n}`"), t.span)
                    .label(format!("`{n}` is {family}, so continuous"))
                    .help(format!(
                        "only a discrete variable (Categorical, Bernoulli) follows a chain from row to row; make a discrete state `z ~ FIRST then NEXT` and let `{n}` depend on it"
                    )),
            ));
        }
        let first_parents = var.parents.clone();
        self.check_chained_parents(id, &first_parents, "its first distribution", t.span)?;
        let outer = self.then.replace(ThenScope {
            var: id,
            prev: Vec::new(),
        });
        let (mut parents, mut params) = (Vec::new(), Vec::new());
        let lowered = self.distribution(&t.dist, &t.args, &mut parents, &mut params);
        let scope = std::mem::replace(&mut self.then, outer).expect("set above");
        let (dist, support) = lowered.ok_or(Stop::Error)?;
        let var = &self.model.vars[id];
        if support != var.support {
            let (n, words) = (var.name.clone(), values_words(var.support));
            return Err(self.error(
                Diag::error(
                    format!(
                        "the `then` distribution of `{n}` has {} but its first has {words}",
                        values_words(support)
                    ),
                    t.span,
                )
                .label("different values")
                .help(format!(
                    "give both distributions of `{n}` the same values: {words}"
                )),
            ));
        }
        self.check_chained_parents(id, &parents, "its `then` distribution", t.span)?;
        let var = &mut self.model.vars[id];
        for p in params {
            if !var.params.contains(&p) {
                var.params.push(p);
            }
        }
        var.next = Some(Next {
            dist,
            parents,
            prev: scope.prev,
        });
        Ok(())
    }

    /// A chained variable's distributions read only chained variables of its row and
    /// variables outside the chain.
    fn check_chained_parents(
        &mut self,
        id: VarId,
        parents: &[VarId],
        which: &str,
        at: Span,
    ) -> Lower<()> {
        let Some(&bad) = parents
            .iter()
            .find(|&&p| !self.model.vars[p].plates.is_empty() && self.model.vars[p].next.is_none())
        else {
            return Ok(());
        };
        let (n, b) = (
            self.model.vars[id].name.clone(),
            self.model.vars[bad].name.clone(),
        );
        Err(self.error(
            Diag::error(
                format!("chained variable `{n}` depends on `{b}`, which is not chained"),
                at,
            )
            .label(format!("{which} reads `{b}`"))
            .help(format!(
                "a chained variable may read chained variables of its row, `prev(...)` of them, and variables outside the chain: declare `{b} ~ FIRST then NEXT` too, or let `{b}` depend on `{n}` instead"
            )),
        ))
    }

    /// `prev(v)`: chained variable `v` in the previous row, inside a `then` distribution only.
    pub(super) fn prev(&mut self, e: &ast::Expr, args: &[ast::Arg]) -> Lower<ir::Expr> {
        let name = match args {
            [a] if a.name.is_none() => match &a.value.kind {
                ExprKind::Name(n) => Some((n.clone(), a.value.span)),
                _ => None,
            },
            _ => None,
        };
        let Some((n, span)) = name else {
            return Err(self.error(
                Diag::error("`prev` takes one chained variable", e.span)
                    .label("not a variable's name")
                    .help("write `prev(z)`, where `z` is declared `z ~ FIRST then NEXT`"),
            ));
        };
        let Some(scope) = &self.then else {
            let in_chain = self
                .plate_stack
                .first()
                .is_some_and(|&p| self.model.plates[p].chain.is_some());
            let help = if in_chain {
                format!(
                    "a sequence's first row has no previous row: write `{n} ~ FIRST then NEXT` with `prev({n})` in NEXT only"
                )
            } else {
                format!(
                    "declare the rows' plate as `chain NAME {{ ... }}` and the variable as `{n} ~ FIRST then NEXT`, with `prev({n})` in NEXT (section 9.4)"
                )
            };
            return Err(self.error(
                Diag::error(
                    "`prev(...)` may stand only in a `then` distribution",
                    e.span,
                )
                .label(if in_chain {
                    "in a first row's distribution"
                } else {
                    "outside a chain"
                })
                .help(help),
            ));
        };
        let own = scope.var;
        let id = if self.model.vars[own].name == n {
            own
        } else {
            match self.names.get(&n).map(|(d, _)| *d) {
                Some(Decl::Var(id)) if self.model.vars[id].next.is_some() => id,
                Some(Decl::Var(id)) => {
                    let label = if self.model.vars[id].plates.is_empty() {
                        "outside the chain"
                    } else {
                        "declared without `then`"
                    };
                    return Err(self.error(
                        Diag::error(format!("`prev({n})` reads a variable that is not chained"), span)
                            .label(label)
                            .help(format!(
                                "`prev` reads chained variables (`{n} ~ FIRST then NEXT`); to read `{n}` in this row, write `{n}`"
                            )),
                    ));
                }
                Some(Decl::Unknown) => return Err(Stop::Error),
                _ => {
                    let own_name = self.model.vars[own].name.clone();
                    return Err(self.error(
                        Diag::error(format!("`{n}` is not a chained variable declared before"), span)
                            .label("not chained")
                            .help(format!(
                                "`prev` reads `{own_name}` itself or a chained variable declared before it"
                            )),
                    ));
                }
            }
        };
        let scope = self.then.as_mut().expect("checked above");
        if !scope.prev.contains(&id) {
            scope.prev.push(id);
        }
        Ok(ir::Expr::Prev(id))
    }
}

/// `2 values (0 and 1)` for messages.
fn values_words(s: Support) -> String {
    match s {
        Support::Discrete(k) => format!("{k} value{}", if k == 1 { "" } else { "s" }),
        Support::Real => "real values".into(),
        Support::RealVector(n) => format!("vectors of {n}"),
    }
}
