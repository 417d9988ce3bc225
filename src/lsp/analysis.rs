//! What the language server knows of one document: the front end's diagnostics, and the names
//! it defines — models and templates, their parameters, constants, plates, variables and
//! arguments, and the script's `let` and `for` names — with where each is defined and where
//! it is used.

use crate::check::{self, Checked};
use crate::diag::Diag;
use crate::syntax::ast::{
    self, Expr, ExprKind, IndexItem, Item, ItemKind, Program, Span, Stmt, StmtKind,
};
use crate::syntax::lex::{Token, tokens};

/// What a name names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    Model,
    Template,
    TemplateArg,
    Param,
    Const,
    Plate,
    Variable,
    Let,
}

/// A definition: a name, what it names, and where.
#[derive(Clone, Debug)]
pub struct Def {
    pub name: String,
    pub kind: DefKind,
    /// The name where it is defined.
    pub span: Span,
    /// The whole item or statement that defines it.
    pub whole: Span,
    /// The model it belongs to (an index into [`Analysis::models`]), or `None` for the script.
    pub model: Option<usize>,
    /// The value a `let` binds, for completing its fields.
    pub value: Option<Expr>,
}

/// A model declaration's extent.
#[derive(Clone, Debug)]
pub struct ModelScope {
    pub name: String,
    /// The whole declaration.
    pub span: Span,
}

/// One analysed document.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Every diagnostic, as `gmm check` gives them.
    pub diags: Vec<Diag>,
    /// The checker's models (empty when the document does not parse).
    pub checked: Checked,
    /// Whether the document parsed.
    pub parsed: bool,
    pub defs: Vec<Def>,
    pub models: Vec<ModelScope>,
    /// Names written where they name no definition: named arguments, fields after `.`,
    /// variables in queries (with the span of each).
    pub not_references: std::collections::HashSet<Span>,
    /// Variables named in queries.
    pub query_vars: Vec<(String, Span)>,
    /// The names in the text, with their spans, and whether each follows a `.`.
    pub idents: Vec<(Span, bool)>,
}

impl Analysis {
    /// Analyses `text` as `gmm check` would.
    pub fn new(text: &str) -> Analysis {
        let (program, checked) = check::script(text);
        let mut a = Analysis {
            diags: checked.diags.clone(),
            parsed: program.is_some(),
            checked,
            ..Analysis::default()
        };
        let mut after_dot = false;
        for (tok, span) in tokens(text) {
            match tok {
                Ok(Token::Ident) => {
                    a.idents.push((span, after_dot));
                    after_dot = false;
                }
                Ok(Token::Punct) => after_dot = &text[span.start..span.end] == ".",
                Ok(Token::Newline | Token::Comment) => {}
                _ => after_dot = false,
            }
        }
        if let Some(p) = &program {
            a.collect(p);
        }
        a
    }

    fn collect(&mut self, program: &Program) {
        for stmt in &program.stmts {
            self.stmt(stmt);
        }
    }

    fn def(&mut self, name: &ast::Ident, kind: DefKind, whole: Span, model: Option<usize>) {
        self.defs.push(Def {
            name: name.name.clone(),
            kind,
            span: name.span,
            whole,
            model,
            value: None,
        });
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Model(decl) => {
                let m = self.models.len();
                self.models.push(ModelScope {
                    name: decl.name.name.clone(),
                    span: stmt.span,
                });
                let kind = if decl.params.is_some() {
                    DefKind::Template
                } else {
                    DefKind::Model
                };
                self.def(&decl.name, kind, stmt.span, None);
                for arg in decl.params.iter().flatten() {
                    self.def(arg, DefKind::TemplateArg, arg.span, Some(m));
                }
                for item in &decl.items {
                    self.item(item, m);
                }
            }
            StmtKind::Let { name, value } => {
                self.def(name, DefKind::Let, stmt.span, None);
                if let Some(d) = self.defs.last_mut() {
                    d.value = Some(value.clone());
                }
                self.expr(value);
            }
            StmtKind::Assign { value, .. } => self.expr(value),
            StmtKind::Print(es) => es.iter().for_each(|e| self.expr(e)),
            StmtKind::Assert { cond, message } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            StmtKind::For { var, iter, body } => {
                self.def(var, DefKind::Let, stmt.span, None);
                self.expr(iter);
                body.iter().for_each(|s| self.stmt(s));
            }
            StmtKind::Expr(e) => self.expr(e),
        }
    }

    fn item(&mut self, item: &Item, m: usize) {
        match &item.kind {
            ItemKind::Const { name, value } => {
                self.def(name, DefKind::Const, item.span, Some(m));
                self.expr(value);
            }
            ItemKind::Param {
                name,
                dims,
                prior,
                value,
                ..
            } => {
                self.def(name, DefKind::Param, item.span, Some(m));
                dims.iter().for_each(|e| self.expr(e));
                for a in prior.iter().flat_map(|p| &p.args) {
                    self.expr(&a.value);
                }
                if let Some(v) = value {
                    self.expr(v);
                }
            }
            ItemKind::Plate { name, size, items } => {
                self.def(name, DefKind::Plate, item.span, Some(m));
                if let Some(s) = size {
                    self.expr(s);
                }
                items.iter().for_each(|i| self.item(i, m));
            }
            ItemKind::Chain { name, items, .. } => {
                // The `by` column names data, not anything the model declares.
                self.def(name, DefKind::Plate, item.span, Some(m));
                items.iter().for_each(|i| self.item(i, m));
            }
            ItemKind::Tilde {
                name, args, then, ..
            } => {
                self.def(name, DefKind::Variable, item.span, Some(m));
                let then_args = then.iter().flat_map(|t| &t.args);
                for a in args.iter().chain(then_args) {
                    if let Some(n) = &a.name {
                        self.not_references.insert(n.span);
                    }
                    self.expr(&a.value);
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::List(es) => es.iter().for_each(|x| self.expr(x)),
            ExprKind::Unary(_, x) => self.expr(x),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(f, args) => {
                self.expr(f);
                for a in args {
                    if let Some(n) = &a.name {
                        self.not_references.insert(n.span);
                    }
                    self.expr(&a.value);
                }
            }
            ExprKind::Index(x, items) => {
                self.expr(x);
                for i in items {
                    if let IndexItem::At(x) = i {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Field(x, _) => self.expr(x),
            ExprKind::Query(q) => {
                if let Some(m) = &q.model {
                    self.expr(m);
                }
                for t in q.targets.iter().chain(&q.given) {
                    self.query_vars.push((t.var.name.clone(), t.var.span));
                    self.not_references.insert(t.var.span);
                    if let Some(i) = &t.index {
                        self.expr(i);
                    }
                    if let Some(v) = &t.value {
                        self.expr(v);
                    }
                }
            }
            ExprKind::Number { .. }
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Na
            | ExprKind::Name(_) => {}
        }
    }

    /// The model declaration around byte `at`, if any.
    pub fn model_at(&self, at: usize) -> Option<usize> {
        self.models
            .iter()
            .position(|m| m.span.start <= at && at <= m.span.end)
    }

    /// The name at byte `at` (touching it from either side): its span, and the name before
    /// the `.` it follows, if it does.
    pub fn ident_at(&self, text: &str, at: usize) -> Option<(Span, Option<String>)> {
        // The names are in text order: the first that ends at or after `at`.
        let i = self.idents.partition_point(|(s, _)| s.end < at);
        if self.idents.get(i).is_none_or(|(s, _)| s.start > at) {
            return None;
        }
        let (span, after_dot) = self.idents[i];
        let owner = if after_dot && i > 0 {
            let (o, _) = self.idents[i - 1];
            Some(text[o.start..o.end].to_string())
        } else {
            None
        };
        Some((span, owner))
    }

    /// The script-level definition of `name` in effect at byte `at`: the last one before it,
    /// else the first.
    pub fn script_def(&self, name: &str, at: usize) -> Option<&Def> {
        let mut defs = self
            .defs
            .iter()
            .filter(|d| d.model.is_none() && d.name == name);
        let first = defs.clone().next();
        defs.rfind(|d| d.span.start <= at).or(first)
    }

    /// The definition of `name` inside model `m`.
    pub fn model_def(&self, m: usize, name: &str) -> Option<&Def> {
        self.defs
            .iter()
            .find(|d| d.model == Some(m) && d.name == name)
    }

    /// The model named `name`, as the script at byte `at` sees it: a model declared with that
    /// name, or a `let` bound to one, to a fit of one (`fit(m, d)`) or to a copy of one
    /// (`m.with(...)`).
    pub fn model_named(&self, name: &str, at: usize) -> Option<usize> {
        self.model_named_within(name, at, 8)
    }

    fn model_named_within(&self, name: &str, at: usize, depth: usize) -> Option<usize> {
        let d = self.script_def(name, at)?;
        if let Some(m) = self.models.iter().position(|m| m.span == d.whole) {
            return Some(m);
        }
        let value = d.value.as_ref()?;
        let source = match &value.kind {
            ExprKind::Name(n) => n,
            ExprKind::Call(f, args) => match &f.kind {
                ExprKind::Name(n) if n == "fit" => match &args.first()?.value.kind {
                    ExprKind::Name(m) => m,
                    _ => return None,
                },
                ExprKind::Field(owner, field) if field.name == "with" => match &owner.kind {
                    ExprKind::Name(m) => m,
                    _ => return None,
                },
                _ => return None,
            },
            _ => return None,
        };
        if depth == 0 || source == name {
            return None;
        }
        self.model_named_within(source, d.span.start, depth - 1)
    }

    /// The definition the name at byte `at` refers to.
    pub fn resolve(&self, text: &str, at: usize) -> Option<&Def> {
        let (span, owner) = self.ident_at(text, at)?;
        let name = &text[span.start..span.end];
        if let Some(owner) = owner {
            let m = self.model_named(&owner, span.start)?;
            return self.model_def(m, name);
        }
        if let Some(d) = self.defs.iter().find(|d| d.span == span) {
            return Some(d);
        }
        if self.query_vars.iter().any(|(_, s)| *s == span) {
            // A query's variable: of the last model before it that has one of that name.
            return self
                .defs
                .iter()
                .rfind(|d| d.kind == DefKind::Variable && d.name == name && d.span.start <= at);
        }
        if self.not_references.contains(&span) {
            return None;
        }
        if let Some(m) = self.model_at(at)
            && let Some(d) = self.model_def(m, name)
        {
            return Some(d);
        }
        self.script_def(name, at)
    }

    /// Every place that names `def`: its definition and its uses.
    pub fn occurrences(&self, text: &str, def: &Def) -> Vec<Span> {
        let name = def.name.as_str();
        let named = |s: &Span| &text[s.start..s.end] == name;
        let mut out: Vec<Span> = Vec::new();
        match def.model {
            Some(m) => {
                let scope = self.models[m].span;
                for &(s, after_dot) in &self.idents {
                    if !named(&s) {
                        continue;
                    }
                    let inside = scope.start <= s.start && s.end <= scope.end;
                    if inside && !after_dot && !self.not_references.contains(&s) {
                        out.push(s);
                    } else if after_dot
                        && let Some((_, Some(owner))) = self.ident_at(text, s.start)
                        && self.model_named(&owner, s.start) == Some(m)
                    {
                        out.push(s);
                    }
                }
                if def.kind == DefKind::Variable {
                    for (n, s) in &self.query_vars {
                        if n == name
                            && self
                                .resolve(text, s.start)
                                .is_some_and(|d| d.span == def.span)
                        {
                            out.push(*s);
                        }
                    }
                }
            }
            None => {
                for &(s, after_dot) in &self.idents {
                    if named(&s)
                        && !after_dot
                        && !self.not_references.contains(&s)
                        && self
                            .resolve(text, s.start)
                            .is_some_and(|d| d.span == def.span)
                    {
                        out.push(s);
                    }
                }
            }
        }
        out.sort_by_key(|s| s.start);
        out.dedup();
        out
    }
}
