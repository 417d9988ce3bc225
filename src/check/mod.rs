//! The checker: every rule that can be judged before running. Script names are declared before
//! use, calls match the built-ins' signatures, queries name variables of their model, and each
//! model lowers to the graphical-model IR (see [`lower`]).

pub mod lower;

use crate::array::Array;
use crate::builtins;
use crate::diag::{Diag, suggest};
use crate::model::Model;
use crate::syntax::ast::{self, ExprKind, Program, Span, StmtKind};
use lower::{Outer, eval_fixed, lower_model};
use std::collections::HashMap;

/// A model declared in the checked script.
#[derive(Debug)]
pub struct CheckedModel {
    /// Its name.
    pub name: String,
    /// The template's argument names, for `model NAME(K) { ... }`.
    pub template_params: Option<Vec<String>>,
    /// The lowered model, when it is not a template and all its values are known.
    pub model: Option<Model>,
    /// The names of its random variables, from the source.
    pub var_names: Vec<String>,
    /// The names of its parameters, from the source.
    pub param_names: Vec<String>,
    /// Its chain's `by` column, which queries assign like a variable.
    pub by: Option<String>,
    /// Where its name is declared.
    pub span: Span,
}

/// What checking a script found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The models in declaration order.
    pub models: Vec<CheckedModel>,
    /// Every diagnostic, in source order.
    pub diags: Vec<Diag>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.is_error())
    }

    /// The model named `name`, or the script's last plain model (the current model at its end).
    pub fn find(&self, name: Option<&str>) -> Option<&CheckedModel> {
        match name {
            Some(n) => self.models.iter().rev().find(|m| m.name == n),
            None => self
                .models
                .iter()
                .rev()
                .find(|m| m.template_params.is_none()),
        }
    }
}

/// Checks a whole script.
///
/// ```
/// let text = "model m {\n  param mu[2] : real = [0, 1]\n  plate rows {\n    z ~ Bernoulli(0.5)\n    x ~ Normal(mu[z], 1.0)\n  }\n}\n";
/// let checked = gmm::check::check_program(&gmm::syntax::parse(text).unwrap());
/// assert!(!checked.has_errors());
/// let model = checked.find(Some("m")).and_then(|m| m.model.as_ref()).unwrap();
/// assert_eq!(model.vars[1].parents, vec![0]);
/// assert_eq!(model.nparams(&[]), 2);
/// ```
pub fn check_program(program: &Program) -> Checked {
    let mut c = Checker {
        scopes: vec![HashMap::new()],
        current: None,
        out: Checked::default(),
    };
    for s in &program.stmts {
        c.stmt(s);
    }
    c.out
        .diags
        .sort_by_key(|d| d.span.map_or(usize::MAX, |s| s.start));
    c.out
}

/// What a script name is bound to, as far as the checker can tell.
#[derive(Clone, Debug)]
enum Binding {
    /// A value; known when it is a constant expression.
    Value(Option<Array>),
    /// A model (index into `models`).
    Model(usize),
    /// A model template (index into `models`).
    Template(usize),
}

struct Checker {
    scopes: Vec<HashMap<String, Binding>>,
    /// The current model (index into `models`).
    current: Option<usize>,
    out: Checked,
}

/// Parses and checks a script as `gmm check` does: the parse errors, or the checker's
/// diagnostics and, when none is an error, the warnings about values the script computes and
/// drops. The program is `None` when the script does not parse.
pub fn script(text: &str) -> (Option<Program>, Checked) {
    let program = match crate::syntax::parse(text) {
        Ok(p) => p,
        Err(diags) => {
            return (
                None,
                Checked {
                    diags,
                    ..Checked::default()
                },
            );
        }
    };
    let mut checked = check_program(&program);
    if checked.diags.iter().all(|d| !d.is_error()) {
        checked.diags.extend(unused_values(&program));
    }
    (Some(program), checked)
}

/// Warnings for a script's bare expression statements whose value goes nowhere: a script
/// prints nothing by itself (the REPL echoes instead, so it does not ask for these).
pub fn unused_values(program: &Program) -> Vec<Diag> {
    fn walk(stmts: &[ast::Stmt], out: &mut Vec<Diag>) {
        for s in stmts {
            match &s.kind {
                StmtKind::For { body, .. } => walk(body, out),
                StmtKind::Expr(e) if s.acting_call().is_none() => {
                    let mut shown = crate::syntax::fmt::format_expr(e);
                    if shown.chars().count() > 60 {
                        shown = shown.chars().take(57).collect::<String>() + "...";
                    }
                    out.push(
                        Diag::warning("value not used", e.span)
                            .label("computed, then dropped")
                            .help(format!(
                                "a script shows nothing by itself; write `print {shown}`"
                            )),
                    );
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&program.stmts, &mut out);
    out
}

/// `p(...)` or `logp(...)` that the grammar could not read as a query: a comparison such as
/// `p(x > 4.0)`, or something else that is not `var = value`.
/// `on` is the model it is asked of, with its dot (`grades.`), or empty.
fn not_a_query(word: &str, on: &str, args: &[ast::Arg], span: Span) -> Diag {
    use ast::BinOp as B;
    if let [arg] = args
        && arg.name.is_none()
        && let ExprKind::Binary(op @ (B::Gt | B::Ge | B::Lt | B::Le), lhs, rhs) = &arg.value.kind
        && let ExprKind::Name(var) = &lhs.kind
    {
        let at = crate::syntax::fmt::format_expr(rhs);
        let (event, fix) = match op {
            B::Gt | B::Ge => ("above", format!("1 - cdf({on}p({var}), {at})")),
            _ => ("below", format!("cdf({on}p({var}), {at})")),
        };
        return Diag::error("a query takes `var = value`, not a comparison", arg.value.span)
            .label(format!("`{word}(...)` gives a density or a probability at given values"))
            .help(format!(
                "the probability that `{var}` lies {event} {at} is `{fix}`: `{on}p({var})` is its distribution"
            ));
    }
    Diag::error(format!("`{word}(...)` is a probability query"), span)
        .label("not a query")
        .help(format!(
            "it takes `var = value` assignments, with targets before `|`: `{word}(x = 3.0)`, `{word}(z | x = 3.0)`"
        ))
}

/// The script's names as seen from inside a model.
struct ScriptView<'a> {
    scopes: &'a [HashMap<String, Binding>],
}

impl<'a> ScriptView<'a> {
    /// The nearest binding of `name`.
    fn lookup(&self, name: &str) -> Option<&'a Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }
}

impl Outer for ScriptView<'_> {
    fn defines(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|s| s.keys().cloned()).collect()
    }

    fn value(&self, e: &ast::Expr, _: &[(String, Array)]) -> Result<Option<Array>, Diag> {
        Ok(match &e.kind {
            ExprKind::Name(n) => match self.lookup(n) {
                Some(Binding::Value(v)) => v.clone(),
                Some(_) => {
                    return Err(
                        Diag::error(format!("`{n}` is a model, not a number"), e.span)
                            .help("inside a model, use numbers, constants and parameters"),
                    );
                }
                None => None,
            },
            _ => None,
        })
    }
}

impl Checker {
    fn view(&self) -> ScriptView<'_> {
        ScriptView {
            scopes: &self.scopes,
        }
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.view().lookup(name)
    }

    /// Gives the nearest existing binding of `name` a new value (as `NAME = ...` does).
    fn rebind(&mut self, name: &str, b: Binding) {
        if let Some(scope) = self.scopes.iter_mut().rev().find(|s| s.contains_key(name)) {
            scope.insert(name.to_string(), b);
        }
    }

    /// Makes the values of `names` unknown (models and templates stay what they are).
    fn forget(&mut self, names: &[String]) {
        for n in names {
            if let Some(Binding::Value(_)) = self.lookup(n) {
                self.rebind(n, Binding::Value(None));
            }
        }
    }

    /// The closest script name or built-in to a misspelt `n`, as a hint.
    fn suggest_name(&self, n: &str) -> Option<String> {
        let mut candidates = self.view().names();
        candidates.extend(builtins::BUILTINS.iter().map(|b| b.name.to_string()));
        suggest(n, candidates.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"))
    }

    fn bind(&mut self, name: &str, b: Binding) {
        self.scopes
            .last_mut()
            .expect("there is always a scope")
            .insert(name.to_string(), b);
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        match &s.kind {
            StmtKind::Model(decl) => self.model(decl),
            StmtKind::Let { name, value } => {
                self.expr(value);
                let b = self.value_binding(value);
                self.bind(&name.name, b);
            }
            StmtKind::Assign { name, value } => {
                self.expr(value);
                if self.lookup(&name.name).is_none() {
                    let d = undefined_assignment(name, &self.view().names());
                    self.out.diags.push(d);
                }
                let b = self.value_binding(value);
                self.rebind(&name.name, b);
            }
            StmtKind::Print(args) => args.iter().for_each(|a| self.expr(a)),
            StmtKind::Assert { cond, message } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            StmtKind::For { var, iter, body } => {
                self.expr(iter);
                // A name the body assigns changes from one pass to the next, and after the loop
                // it depends on how many passes ran: unknown throughout and after.
                let mut assigned = Vec::new();
                assigned_names(body, &mut assigned);
                self.forget(&assigned);
                self.scopes.push(HashMap::new());
                self.bind(&var.name, Binding::Value(None));
                for st in body {
                    self.stmt(st);
                }
                self.scopes.pop();
                self.forget(&assigned);
            }
            StmtKind::Expr(e) => self.expr(e),
        }
    }

    /// The binding a `let` or assignment gets: a model alias, or a value known when it is a
    /// constant expression of known values (names a loop reassigns are unknown, see `For`).
    fn value_binding(&self, value: &ast::Expr) -> Binding {
        if let ExprKind::Name(n) = &value.kind
            && let Some(b @ (Binding::Model(_) | Binding::Template(_))) = self.lookup(n)
        {
            return b.clone();
        }
        Binding::Value(eval_fixed(value, &self.view()))
    }

    fn model(&mut self, decl: &ast::ModelDecl) {
        let template_params = decl
            .params
            .as_ref()
            .map(|ps| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>());
        let args: Vec<(String, Option<Array>)> = template_params
            .iter()
            .flatten()
            .map(|n| (n.clone(), None))
            .collect();
        if let Some(ps) = &decl.params {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for p in ps {
                if let Some(prev) = seen.insert(&p.name, p.span) {
                    self.out.diags.push(
                        Diag::error(
                            format!("template argument `{}` is declared twice", p.name),
                            p.span,
                        )
                        .related(prev, "first declared here")
                        .help("rename one of them"),
                    );
                }
            }
        }
        let lowered = lower_model(decl, &self.view(), &args);
        self.out.diags.extend(lowered.diags);
        let index = self.out.models.len();
        let is_template = template_params.is_some();
        self.out.models.push(CheckedModel {
            name: decl.name.name.clone(),
            template_params,
            model: lowered.model,
            var_names: lowered.var_names,
            by: decl.items.iter().find_map(|it| match &it.kind {
                ast::ItemKind::Chain { by, .. } => by.as_ref().map(|b| b.name.clone()),
                _ => None,
            }),
            param_names: decl
                .items
                .iter()
                .filter_map(|it| match &it.kind {
                    ast::ItemKind::Param { name, .. } => Some(name.name.clone()),
                    _ => None,
                })
                .collect(),
            span: decl.name.span,
        });
        if is_template {
            self.bind(&decl.name.name, Binding::Template(index));
        } else {
            self.bind(&decl.name.name, Binding::Model(index));
            self.current = Some(index);
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Number { .. } | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Na => {}
            ExprKind::Name(n) => self.name(n, e.span),
            ExprKind::List(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) => self.expr(x),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Index(b, items) => {
                self.expr(b);
                for it in items {
                    if let ast::IndexItem::At(x) = it {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Call(callee, args) => {
                let query_word = match &callee.kind {
                    ExprKind::Name(n) if self.lookup(n).is_none() => Some((n, String::new())),
                    ExprKind::Field(base, f) => Some((
                        &f.name,
                        format!("{}.", crate::syntax::fmt::format_expr(base)),
                    )),
                    _ => None,
                };
                if let Some((word, on)) = query_word.filter(|(w, _)| *w == "p" || *w == "logp") {
                    self.out.diags.push(not_a_query(word, &on, args, e.span));
                    return;
                }
                for a in args {
                    self.expr(&a.value);
                }
                match &callee.kind {
                    ExprKind::Name(n) => self.call(n, callee.span, args, e.span),
                    _ => self.expr(callee),
                }
            }
            ExprKind::Query(q) => self.query(q, e.span),
        }
    }

    fn name(&mut self, n: &str, span: Span) {
        if self.lookup(n).is_some() || builtins::lookup(n).is_some() {
            return;
        }
        let mut d = Diag::error(format!("unknown name `{n}`"), span).label("not defined");
        if let Some(m) = self.current.map(|i| &self.out.models[i])
            && m.var_names.iter().any(|v| v == n)
        {
            d = d.help(format!(
                "`{n}` is a variable of model `{}`; ask about it with a query such as `p({n} = ...)`",
                m.name
            ));
        } else if let Some(m) = self.model_with_param(n) {
            d = d.help(format!(
                "`{n}` is a parameter of model `{m}`; write `{m}.{n}`"
            ));
        } else if let Some(h) = crate::syntax::habits::name(n) {
            d = d.help(h);
        } else {
            d = d.help(
                self.suggest_name(n)
                    .unwrap_or_else(|| format!("define it first with `let {n} = ...`")),
            );
        }
        self.out.diags.push(d);
    }

    /// The name of a model in scope that has a parameter `n`: the current model first, then
    /// the nearest other.
    fn model_with_param(&self, n: &str) -> Option<String> {
        let has = |i: usize| self.out.models[i].param_names.iter().any(|p| p == n);
        if let Some(i) = self.current.filter(|&i| has(i)) {
            return Some(self.out.models[i].name.clone());
        }
        self.scopes.iter().rev().find_map(|scope| {
            let mut found: Vec<&String> = scope
                .iter()
                .filter(|(_, b)| matches!(b, Binding::Model(i) if has(*i)))
                .map(|(name, _)| name)
                .collect();
            found.sort();
            found.first().map(|s| s.to_string())
        })
    }

    fn call(&mut self, n: &str, span: Span, args: &[ast::Arg], whole: Span) {
        match self.lookup(n) {
            Some(Binding::Template(i)) => {
                let m = &self.out.models[*i];
                let want = m.template_params.as_ref().map_or(0, Vec::len);
                let positional = args.iter().filter(|a| a.name.is_none()).count();
                if positional != want || args.iter().any(|a| a.name.is_some()) {
                    let d = Diag::error(
                        format!(
                            "template `{n}` takes {want} argument{}, got {}",
                            if want == 1 { "" } else { "s" },
                            args.len()
                        ),
                        whole,
                    )
                    .related(m.span, "declared here")
                    .help(format!(
                        "write {n}({})",
                        m.template_params.as_deref().unwrap_or_default().join(", ")
                    ));
                    self.out.diags.push(d);
                }
                return;
            }
            Some(Binding::Model(_)) => {
                self.out.diags.push(
                    Diag::error(format!("`{n}` is a model, not a function"), span)
                        .label("cannot be called")
                        .help("only templates `model NAME(K) { ... }` take arguments; query a model with `m.p(...)`"),
                );
                return;
            }
            Some(Binding::Value(_)) => return,
            None => {}
        }
        let Some(b) = builtins::lookup(n) else {
            let hint = crate::syntax::habits::name(n)
                .map(str::to_string)
                .or_else(|| self.suggest_name(n))
                .unwrap_or_else(|| {
                    "see the built-in functions in section 6 of the language reference".into()
                });
            self.out.diags.push(
                Diag::error(format!("unknown function `{n}`"), span)
                    .label("not defined")
                    .help(hint),
            );
            return;
        };
        let names: Vec<Option<&str>> = args
            .iter()
            .map(|a| a.name.as_ref().map(|n| n.name.as_str()))
            .collect();
        let placed = match b.bind(&names) {
            Ok(placed) => placed,
            Err(i) => {
                let name = args[i].name.as_ref().expect("a named argument");
                self.out.diags.push(
                    Diag::error(
                        format!("argument `{}` is given twice", name.name),
                        name.span,
                    )
                    .label("also given by position")
                    .help(format!("usage: {}", b.summary)),
                );
                return;
            }
        };
        let positional = placed.len();
        let before = self.out.diags.len();
        if !b.any_named {
            let mut seen: Vec<&str> = Vec::new();
            for a in args {
                let Some(name) = &a.name else { continue };
                // A place left unfilled before it is reported as missing, below.
                if b.is_param(&name.name) {
                    continue;
                }
                if !b.named.contains(&name.name.as_str()) {
                    let hint = crate::syntax::habits::argument(&name.name)
                        .filter(|gmm_name| b.is_param(gmm_name))
                        .map(|gmm_name| format!("gmm calls it `{gmm_name}`: `{gmm_name} = ...`"))
                        .or_else(|| {
                            suggest(&name.name, b.named.iter().chain(b.params).copied())
                                .map(|s| format!("did you mean `{s}`?"))
                        })
                        .unwrap_or_else(|| match (b.params, b.named) {
                            ([], []) => format!("`{n}` takes no named arguments"),
                            (ps, []) => format!("its arguments are {}", ps.join(", ")),
                            (_, ns) => format!("its options are {}", ns.join(", ")),
                        });
                    self.out.diags.push(
                        Diag::error(format!("`{n}` has no option `{}`", name.name), name.span)
                            .label("unknown option")
                            .help(hint),
                    );
                } else if seen.contains(&name.name.as_str()) {
                    self.out.diags.push(
                        Diag::error(format!("option `{}` is given twice", name.name), name.span)
                            .help("give each option once"),
                    );
                }
                seen.push(&name.name);
            }
        }
        // An unknown option explains a wrong count (`Normal(loc = 0, scale = 1)`).
        if self.out.diags.len() > before {
            return;
        }
        if positional < b.min || b.max.is_some_and(|m| positional > m) {
            let label = match b.params.get(positional) {
                Some(missing) if positional < b.min => format!("missing `{missing}`"),
                _ => "wrong number of arguments".into(),
            };
            self.out.diags.push(
                Diag::error(
                    format!("`{n}` takes {}, got {positional}", b.arity_text()),
                    whole,
                )
                .label(label)
                .help(format!("usage: {}", b.summary)),
            );
        }
    }

    fn query(&mut self, q: &ast::Query, span: Span) {
        for t in q.targets.iter().chain(&q.given) {
            if let Some(i) = &t.index {
                self.expr(i);
            }
            if let Some(v) = &t.value {
                self.expr(v);
            }
        }
        let model = match &q.model {
            None => match self.current {
                Some(i) => Some(i),
                None => {
                    self.out.diags.push(
                        Diag::error("a query needs a model, and none is declared yet", span)
                            .label("no current model")
                            .help("declare a model above this line, or query a model value with `m.p(...)`"),
                    );
                    return;
                }
            },
            Some(m) => {
                self.expr(m);
                match &m.kind {
                    ExprKind::Name(n) => match self.lookup(n) {
                        Some(Binding::Model(i)) => Some(*i),
                        Some(Binding::Template(_)) => {
                            self.out.diags.push(
                                Diag::error(
                                    format!("`{n}` is a template; make a model first"),
                                    m.span,
                                )
                                .help(format!(
                                    "write `{n}(3).p(...)` with the template's argument"
                                )),
                            );
                            return;
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
        };
        let Some(i) = model else { return };
        let m = &self.out.models[i];
        let mut seen: Vec<&str> = Vec::new();
        let mut diags = Vec::new();
        for t in q.targets.iter().chain(&q.given) {
            let v = t.var.name.as_str();
            if m.by.as_deref() == Some(v) && !m.var_names.iter().any(|x| x == v) {
                // The chain's `by` column (section 9.4).
            } else if !m.var_names.iter().any(|x| x == v) {
                diags.push(unknown_query_variable(&m.name, &t.var, &m.var_names));
            } else if t.index.is_none() && seen.contains(&v) {
                diags.push(
                    Diag::error(format!("`{v}` appears twice in this query"), t.var.span)
                        .help("name each variable once"),
                );
            }
            if t.index.is_none() {
                seen.push(v);
            }
        }
        self.out.diags.extend(diags);
    }
}

/// The error for a query naming `var`, which model `model` (with variables `vars`) lacks.
pub fn unknown_query_variable(model: &str, var: &ast::Ident, vars: &[String]) -> Diag {
    let hint = suggest(&var.name, vars.iter().map(String::as_str))
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("its variables are {}", vars.join(", ")));
    Diag::error(
        format!("model `{model}` has no variable `{}`", var.name),
        var.span,
    )
    .label("not a variable of the model")
    .help(hint)
}

/// The error for `NAME = ...` when nothing defines `NAME`; `names` are the names in scope, for
/// a suggestion. The checker reports it before running, the interpreter when a statement
/// arrives on its own (the REPL).
pub fn undefined_assignment(name: &ast::Ident, names: &[String]) -> Diag {
    Diag::error(
        format!("assignment to undefined name `{}`", name.name),
        name.span,
    )
    .label("never defined")
    .help(format!("define it first with `let {} = ...`", name.name))
    .help_opt(
        suggest(&name.name, names.iter().map(String::as_str))
            .map(|s| format!("or did you mean `{s}`?")),
    )
}

/// The names that `NAME = ...` statements in `body` (and loops inside it) assign.
fn assigned_names(body: &[ast::Stmt], out: &mut Vec<String>) {
    for s in body {
        match &s.kind {
            StmtKind::Assign { name, .. } => out.push(name.name.clone()),
            StmtKind::For { body, .. } => assigned_names(body, out),
            _ => {}
        }
    }
}
