//! The abstract syntax tree of a `.gmm` script; every node carries its span.

use std::fmt;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}..{}", self.start, self.end)
    }
}

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A whole script: its statements in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The top-level statements.
    pub stmts: Vec<Stmt>,
}

/// A statement with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What the statement is.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// The statements of section 3 of the language specification.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `model NAME { ... }` or `model NAME(ARGS) { ... }`.
    Model(ModelDecl),
    /// `let NAME = EXPR`.
    Let { name: Ident, value: Expr },
    /// `NAME = EXPR`.
    Assign { name: Ident, value: Expr },
    /// `print EXPR, ...`.
    Print(Vec<Expr>),
    /// `assert EXPR` or `assert EXPR, MESSAGE`.
    Assert { cond: Expr, message: Option<Expr> },
    /// `for NAME in EXPR { ... }`.
    For {
        var: Ident,
        iter: Expr,
        body: Vec<Stmt>,
    },
    /// A bare expression.
    Expr(Expr),
}

/// A model declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDecl {
    /// The model's name.
    pub name: Ident,
    /// `Some` for a template `model NAME(K) { ... }`.
    pub params: Option<Vec<Ident>>,
    /// The items of the body.
    pub items: Vec<Item>,
}

/// A model item with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What the item is.
    pub kind: ItemKind,
    /// The whole item.
    pub span: Span,
}

/// The items of a model body (section 2).
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `const NAME = EXPR`.
    Const { name: Ident, value: Expr },
    /// `param NAME[DIMS] : TYPE ~ PRIOR(ARGS) = EXPR`.
    Param {
        name: Ident,
        dims: Vec<Expr>,
        ty: TypeSpec,
        prior: Option<Box<PriorSpec>>,
        value: Option<Expr>,
    },
    /// `plate NAME { ... }` (size `None`: the data plate) or `plate NAME : SIZE { ... }`.
    Plate {
        name: Ident,
        size: Option<Expr>,
        items: Vec<Item>,
    },
    /// `chain NAME { ... }` or `chain NAME by COLUMN { ... }`: the data plate with its rows in
    /// order (section 9.4).
    Chain {
        name: Ident,
        by: Option<Ident>,
        items: Vec<Item>,
    },
    /// `NAME ~ DIST(ARGS)`, or `NAME ~ FIRST(ARGS) then NEXT(ARGS)` in a chain.
    Tilde {
        name: Ident,
        dist: Ident,
        args: Vec<Arg>,
        then: Option<Box<ThenSpec>>,
    },
}

/// A chained variable's distribution after a sequence's first row (section 9.4):
/// `then Categorical(A[prev(z)])`.
#[derive(Clone, Debug, PartialEq)]
pub struct ThenSpec {
    /// The family.
    pub dist: Ident,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// From `then` to the closing parenthesis.
    pub span: Span,
}

/// A parameter's prior as written (section 9.2): `~ Dirichlet(2.0)`.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorSpec {
    /// The prior's family.
    pub dist: Ident,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// From `~` to the closing parenthesis.
    pub span: Span,
}

/// A parameter type as written: `real`, `simplex[3]`, ...
#[derive(Clone, Debug, PartialEq)]
pub struct TypeSpec {
    /// The type's name.
    pub name: Ident,
    /// The size in brackets, if any.
    pub size: Option<Expr>,
    /// The whole type.
    pub span: Span,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

/// The expressions of section 4.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A number; `text` is kept so that `gmm fmt` reproduces it.
    Number { value: f64, text: String },
    /// A string literal, escapes resolved.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// The missing value `NA`.
    Na,
    /// A name.
    Name(String),
    /// `[a, b, ...]`.
    List(Vec<Expr>),
    /// A prefix operator.
    Unary(UnOp, Box<Expr>),
    /// An infix operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(args)`.
    Call(Box<Expr>, Vec<Arg>),
    /// `a[i, :, j]`.
    Index(Box<Expr>, Vec<IndexItem>),
    /// `a.name`.
    Field(Box<Expr>, Ident),
    /// `p(...)`, `logp(...)`, `m.p(...)`.
    Query(Query),
}

/// A call argument: positional (`name` is `None`) or named.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name of a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// One position of an index.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// `:`, every element along the axis.
    All(Span),
    /// An integer, or a vector of integers.
    At(Expr),
}

/// A probability query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `logp` rather than `p`.
    pub log: bool,
    /// The model queried by `m.p(...)`; `None` for the current model.
    pub model: Option<Box<Expr>>,
    /// The variables before `|`.
    pub targets: Vec<QueryTerm>,
    /// The assignments after `|`.
    pub given: Vec<QueryTerm>,
}

/// `var`, `var = EXPR` or `var[INDEX] = EXPR` in a query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryTerm {
    /// The model variable.
    pub var: Ident,
    /// The entries of a vector variable the term is about (`x[1]`, `x[0..2]`), if not all.
    pub index: Option<Expr>,
    /// Its value, if given.
    pub value: Option<Expr>,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    MatMul,
    Pow,
}

/// How an operator groups with its neighbours of equal precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assoc {
    /// `a - b - c` is `(a - b) - c`.
    Left,
    /// `a ^ b ^ c` is `a ^ (b ^ c)`.
    Right,
    /// `a < b < c` is an error.
    None,
}

/// Precedence of prefix `not` (between `and` and the comparisons).
pub const PREC_NOT: u8 = 3;
/// Precedence of prefix `-` (between `@` and `^`).
pub const PREC_NEG: u8 = 10;
/// Precedence of postfix operators and operands.
pub const PREC_POSTFIX: u8 = 12;

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Range => "..",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
            BinOp::Pow => "^",
        }
    }

    /// Binding strength: higher binds tighter (section 4's list, lowest first).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Range => 5,
            BinOp::Add | BinOp::Sub => 6,
            BinOp::Mul | BinOp::Div => 7,
            BinOp::MatMul => 8,
            BinOp::Pow => 11,
        }
    }

    /// How the operator groups.
    pub fn assoc(self) -> Assoc {
        match self {
            BinOp::Pow => Assoc::Right,
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::Range => Assoc::None,
            BinOp::Or
            | BinOp::And
            | BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::MatMul => Assoc::Left,
        }
    }
}

impl UnOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "not ",
        }
    }

    /// Binding strength, on the scale of [`BinOp::precedence`].
    pub fn precedence(self) -> u8 {
        match self {
            UnOp::Neg => PREC_NEG,
            UnOp::Not => PREC_NOT,
        }
    }
}

impl Expr {
    /// The binding strength of the expression's outermost operator.
    pub fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Unary(op, _) => op.precedence(),
            ExprKind::Binary(op, _, _) => op.precedence(),
            _ => PREC_POSTFIX,
        }
    }
}

impl Program {
    /// The same tree with every span zeroed, for comparing trees that differ only in layout
    /// (`gmm fmt` must preserve the tree).
    pub fn without_spans(&self) -> Program {
        let mut p = self.clone();
        p.stmts.iter_mut().for_each(Stmt::clear_spans);
        p
    }
}

impl Ident {
    fn clear_spans(&mut self) {
        self.span = Span::default();
    }
}

/// Whether a call's arguments name a `file` to write.
fn names_file(args: &[Arg]) -> bool {
    args.iter()
        .any(|a| a.name.as_ref().is_some_and(|n| n.name == "file"))
}

impl Stmt {
    /// The name of the built-in a bare expression statement calls for what it does, not for
    /// its value: `plot(...)` without `file` draws to the terminal, `plot(..., file = ...)` and
    /// `save` and `graph(..., file = ...)` write, `select` prints its table. A script keeps
    /// quiet about their values.
    pub fn acting_call(&self) -> Option<&str> {
        let (name, args) = self.call()?;
        match name {
            "plot" | "save" | "select" => Some(name),
            "graph" if names_file(args) => Some(name),
            _ => None,
        }
    }

    /// The function a bare expression statement calls by name, and its arguments.
    pub fn call(&self) -> Option<(&str, &[Arg])> {
        let StmtKind::Expr(e) = &self.kind else {
            return None;
        };
        match &e.kind {
            ExprKind::Call(callee, args) => match &callee.kind {
                ExprKind::Name(n) => Some((n.as_str(), args.as_slice())),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether this is a bare `plot(...)` without `file`, which draws to the terminal.
    pub fn draws(&self) -> bool {
        self.call()
            .is_some_and(|(name, args)| name == "plot" && !names_file(args))
    }

    fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            StmtKind::Model(m) => {
                m.name.clear_spans();
                m.params.iter_mut().flatten().for_each(Ident::clear_spans);
                m.items.iter_mut().for_each(Item::clear_spans);
            }
            StmtKind::Let { name, value } | StmtKind::Assign { name, value } => {
                name.clear_spans();
                value.clear_spans();
            }
            StmtKind::Print(args) => args.iter_mut().for_each(Expr::clear_spans),
            StmtKind::Assert { cond, message } => {
                cond.clear_spans();
                message.iter_mut().for_each(Expr::clear_spans);
            }
            StmtKind::For { var, iter, body } => {
                var.clear_spans();
                iter.clear_spans();
                body.iter_mut().for_each(Stmt::clear_spans);
            }
            StmtKind::Expr(e) => e.clear_spans(),
        }
    }
}

impl Item {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ItemKind::Const { name, value } => {
                name.clear_spans();
                value.clear_spans();
            }
            ItemKind::Param {
                name,
                dims,
                ty,
                prior,
                value,
            } => {
                name.clear_spans();
                dims.iter_mut().for_each(Expr::clear_spans);
                ty.span = Span::default();
                ty.name.clear_spans();
                ty.size.iter_mut().for_each(Expr::clear_spans);
                if let Some(p) = prior {
                    p.span = Span::default();
                    p.dist.clear_spans();
                    p.args.iter_mut().for_each(Arg::clear_spans);
                }
                value.iter_mut().for_each(Expr::clear_spans);
            }
            ItemKind::Plate { name, size, items } => {
                name.clear_spans();
                size.iter_mut().for_each(Expr::clear_spans);
                items.iter_mut().for_each(Item::clear_spans);
            }
            ItemKind::Chain { name, by, items } => {
                name.clear_spans();
                by.iter_mut().for_each(Ident::clear_spans);
                items.iter_mut().for_each(Item::clear_spans);
            }
            ItemKind::Tilde {
                name,
                dist,
                args,
                then,
            } => {
                name.clear_spans();
                dist.clear_spans();
                args.iter_mut().for_each(Arg::clear_spans);
                if let Some(t) = then {
                    t.span = Span::default();
                    t.dist.clear_spans();
                    t.args.iter_mut().for_each(Arg::clear_spans);
                }
            }
        }
    }
}

impl Arg {
    fn clear_spans(&mut self) {
        self.name.iter_mut().for_each(Ident::clear_spans);
        self.value.clear_spans();
    }
}

impl Expr {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Number { .. }
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Na
            | ExprKind::Name(_) => {}
            ExprKind::List(items) => items.iter_mut().for_each(Expr::clear_spans),
            ExprKind::Unary(_, x) => x.clear_spans(),
            ExprKind::Binary(_, a, b) => {
                a.clear_spans();
                b.clear_spans();
            }
            ExprKind::Call(f, args) => {
                f.clear_spans();
                args.iter_mut().for_each(Arg::clear_spans);
            }
            ExprKind::Index(b, items) => {
                b.clear_spans();
                for it in items {
                    match it {
                        IndexItem::All(s) => *s = Span::default(),
                        IndexItem::At(x) => x.clear_spans(),
                    }
                }
            }
            ExprKind::Field(b, name) => {
                b.clear_spans();
                name.clear_spans();
            }
            ExprKind::Query(q) => {
                q.model.iter_mut().for_each(|m| m.clear_spans());
                for t in q.targets.iter_mut().chain(q.given.iter_mut()) {
                    t.var.clear_spans();
                    t.index.iter_mut().for_each(Expr::clear_spans);
                    t.value.iter_mut().for_each(Expr::clear_spans);
                }
            }
        }
    }
}
