//! Plates and dependencies: plates and their sizes, which plates a dependency crosses, and the
//! indices of a distribution argument (discrete, in range, along the right plates).

use super::*;

impl Lowerer<'_> {
    pub(super) fn plate(
        &mut self,
        name: &ast::Ident,
        size: Option<&ast::Expr>,
        items: &[ast::Item],
        chain: Option<crate::model::Chain>,
    ) {
        let what = if chain.is_some() {
            "chain"
        } else {
            "data plate"
        };
        let size = match size {
            None => {
                if let Some(&outer) = self.plate_stack.last() {
                    let oname = self.model.plates[outer].name.clone();
                    self.diags.push(
                        Diag::error(format!("the {what} must be at the top level of the model"), name.span)
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
                    let first = if self.model.plates[prev].chain.is_some() {
                        "the chain"
                    } else {
                        "the data plate"
                    };
                    let mut d =
                        Diag::error("a model has at most one data plate or chain", name.span)
                            .label(format!("second {what}"))
                            .help(format!(
                                "put these variables in `{pname}`{}",
                                if chain.is_some() {
                                    ""
                                } else {
                                    ", or give this plate a fixed size"
                                }
                            ));
                    if let Some(s) = pspan {
                        d = d.related(s, first);
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
            chain,
        });
        let id = self.model.plates.len() - 1;
        if !self.declare(name, Decl::Plate(id)) {
            return;
        }
        self.plate_stack.push(id);
        self.items(items);
        self.plate_stack.pop();
    }

    /// Nothing outside a plate may depend on a variable inside it.
    pub(super) fn check_plates(&mut self, parent: VarId, span: Span) -> Lower<()> {
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

    pub(super) fn index(
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
    pub(super) fn check_index(
        &mut self,
        ix: &ir::Expr,
        at: &ast::Expr,
        size: usize,
        base: &ast::Expr,
    ) -> Lower<()> {
        let base_text = crate::syntax::fmt::format_expr(base);
        let (count, what) = match ix {
            ir::Expr::Var(id) | ir::Expr::Prev(id) => match self.model.vars[*id].support {
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

/// An index that is not a discrete variable, a plate index or whole numbers.
pub(super) fn index_not_discrete(span: Span, label: impl Into<String>) -> Diag {
    Diag::error("an index must be discrete", span)
        .label(label)
        .help("index with a discrete variable (Categorical, Bernoulli), a plate index or a whole number")
}
