//! A model value written back as `.gmm` source with its current parameter values, in canonical
//! layout; loading the text gives the same model.

use crate::array::{Array, format_number};
use crate::model::expr::{self as ir, BinOp, Index, UnOp};
use crate::model::{Dist, Model, PlateId, PlateSize};
use crate::syntax::ast::{
    self, Arg, Expr, ExprKind, Ident, IndexItem, Item, ItemKind, ModelDecl, Program, Span, Stmt,
    StmtKind, TypeSpec,
};

/// The model as a `model NAME { … }` declaration in canonical layout.
pub fn model_source(model: &Model) -> String {
    let mut items: Vec<Item> = model
        .consts
        .iter()
        .map(|c| {
            item(ItemKind::Const {
                name: ident(&c.name),
                value: literal(&c.value),
            })
        })
        .collect();
    for p in &model.params {
        let ty = p.ty.to_source();
        let (tname, size) = match ty.split_once('[') {
            Some((n, rest)) => (
                n.to_string(),
                Some(number(rest.trim_end_matches(']').parse().unwrap_or(0.0))),
            ),
            None => (ty, None),
        };
        items.push(item(ItemKind::Param {
            name: ident(&p.name),
            dims: p.dims.iter().map(|&d| number(d as f64)).collect(),
            ty: TypeSpec {
                name: ident(&tname),
                size,
                span: Span::default(),
            },
            prior: p.prior.as_ref().map(|pr| {
                Box::new(ast::PriorSpec {
                    dist: ident(pr.family()),
                    args: pr
                        .args()
                        .iter()
                        .map(|a| Arg {
                            name: None,
                            value: literal(a),
                        })
                        .collect(),
                    span: Span::default(),
                })
            }),
            value: p.value.as_ref().map(literal),
        }));
    }
    items.extend(scope_items(model, None));
    let decl = ModelDecl {
        name: ident(&model.name),
        params: None,
        items,
    };
    let program = Program {
        stmts: vec![Stmt {
            kind: StmtKind::Model(decl),
            span: Span::default(),
        }],
    };
    crate::syntax::fmt::format_program(&program, "")
}

/// The variables and plates directly in `scope` (`None`: the model's top level), in
/// declaration order; a plate appears where its first variable was declared.
fn scope_items(model: &Model, scope: Option<PlateId>) -> Vec<Item> {
    let depth = scope.map_or(0, |p| ancestry(model, p).len());
    let mut out = Vec::new();
    let mut emitted: Vec<PlateId> = Vec::new();
    for v in &model.vars {
        let inside = scope.is_none_or(|p| v.plates.contains(&p));
        if !inside {
            continue;
        }
        if v.plates.len() == depth {
            let args = |d: &Dist| -> Vec<Arg> {
                dist_args(d)
                    .into_iter()
                    .map(|e| Arg {
                        name: None,
                        value: to_ast(model, e),
                    })
                    .collect()
            };
            out.push(item(ItemKind::Tilde {
                name: ident(&v.name),
                dist: ident(v.dist.family().name()),
                args: args(&v.dist),
                then: v.next.as_ref().map(|n| {
                    Box::new(ast::ThenSpec {
                        dist: ident(n.dist.family().name()),
                        args: args(&n.dist),
                        span: Span::default(),
                    })
                }),
            }));
        } else {
            let q = v.plates[depth];
            if !emitted.contains(&q) {
                emitted.push(q);
                out.push(plate_item(model, q));
            }
        }
    }
    for (q, p) in model.plates.iter().enumerate() {
        if p.parent == scope && !emitted.contains(&q) {
            out.push(plate_item(model, q));
        }
    }
    out
}

fn plate_item(model: &Model, q: PlateId) -> Item {
    let p = &model.plates[q];
    if let Some(c) = &p.chain {
        return item(ItemKind::Chain {
            name: ident(&p.name),
            by: c.by.as_deref().map(ident),
            items: scope_items(model, Some(q)),
        });
    }
    item(ItemKind::Plate {
        name: ident(&p.name),
        size: match p.size {
            PlateSize::Data => None,
            PlateSize::Fixed(n) => Some(number(n as f64)),
        },
        items: scope_items(model, Some(q)),
    })
}

/// Plate `p` and its ancestors, outermost first.
fn ancestry(model: &Model, p: PlateId) -> Vec<PlateId> {
    let mut c = vec![p];
    while let Some(parent) = model.plates[*c.last().expect("non-empty")].parent {
        c.push(parent);
    }
    c.reverse();
    c
}

fn dist_args(d: &Dist) -> Vec<&ir::Expr> {
    match d {
        Dist::Categorical { p } | Dist::Bernoulli { p } => vec![p],
        Dist::Normal { mean, sd } => vec![mean, sd],
        Dist::MvNormal { mean, cov } => vec![mean, cov],
    }
}

fn item(kind: ItemKind) -> Item {
    Item {
        kind,
        span: Span::default(),
    }
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: Span::default(),
    }
}

fn expr(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

/// A number literal; negative numbers as negation, which reads back the same.
fn number(x: f64) -> Expr {
    let lit = expr(ExprKind::Number {
        value: x.abs(),
        text: format_number(x.abs()),
    });
    if x.is_sign_negative() && x != 0.0 {
        expr(ExprKind::Unary(ast::UnOp::Neg, Box::new(lit)))
    } else {
        lit
    }
}

/// An array as nested list literals.
fn literal(a: &Array) -> Expr {
    fn go(shape: &[usize], data: &[f64]) -> Expr {
        match shape.split_first() {
            None => number(data[0]),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                expr(ExprKind::List(
                    (0..n)
                        .map(|i| go(rest, &data[i * step..(i + 1) * step]))
                        .collect(),
                ))
            }
        }
    }
    go(a.shape(), a.data())
}

fn name(n: &str) -> Expr {
    expr(ExprKind::Name(n.to_string()))
}

fn to_ast(model: &Model, e: &ir::Expr) -> Expr {
    match e {
        ir::Expr::Lit(a) => literal(a),
        ir::Expr::Const(id) => name(&model.consts[*id].name),
        ir::Expr::Param(id) => name(&model.params[*id].name),
        ir::Expr::Var(id) => name(&model.vars[*id].name),
        ir::Expr::PlateIndex(id) => name(&model.plates[*id].name),
        ir::Expr::Prev(id) => expr(ExprKind::Call(
            Box::new(name("prev")),
            vec![Arg {
                name: None,
                value: name(&model.vars[*id].name),
            }],
        )),
        ir::Expr::List(items) => expr(ExprKind::List(
            items.iter().map(|x| to_ast(model, x)).collect(),
        )),
        ir::Expr::Unary(op, x) => expr(ExprKind::Unary(
            match op {
                UnOp::Neg => ast::UnOp::Neg,
                UnOp::Not => ast::UnOp::Not,
            },
            Box::new(to_ast(model, x)),
        )),
        ir::Expr::Binary(op, a, b) => expr(ExprKind::Binary(
            ast_op(*op),
            Box::new(to_ast(model, a)),
            Box::new(to_ast(model, b)),
        )),
        ir::Expr::Index(base, items) => expr(ExprKind::Index(
            Box::new(to_ast(model, base)),
            items
                .iter()
                .map(|i| match i {
                    Index::All => IndexItem::All(Span::default()),
                    Index::At(x) => IndexItem::At(to_ast(model, x)),
                })
                .collect(),
        )),
        ir::Expr::Call(f, x) => expr(ExprKind::Call(
            Box::new(name(f.name())),
            vec![Arg {
                name: None,
                value: to_ast(model, x),
            }],
        )),
    }
}

fn ast_op(op: BinOp) -> ast::BinOp {
    match op {
        BinOp::Or => ast::BinOp::Or,
        BinOp::And => ast::BinOp::And,
        BinOp::Eq => ast::BinOp::Eq,
        BinOp::Ne => ast::BinOp::Ne,
        BinOp::Lt => ast::BinOp::Lt,
        BinOp::Le => ast::BinOp::Le,
        BinOp::Gt => ast::BinOp::Gt,
        BinOp::Ge => ast::BinOp::Ge,
        BinOp::Range => ast::BinOp::Range,
        BinOp::Add => ast::BinOp::Add,
        BinOp::Sub => ast::BinOp::Sub,
        BinOp::Mul => ast::BinOp::Mul,
        BinOp::Div => ast::BinOp::Div,
        BinOp::MatMul => ast::BinOp::MatMul,
        BinOp::Pow => ast::BinOp::Pow,
    }
}
