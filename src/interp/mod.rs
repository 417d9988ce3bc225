//! The interpreter: runs a checked script statement by statement over script values, lowering
//! models as their declarations run and answering queries through `infer`.

pub mod bind;
mod call;
pub mod data;
mod fitting;
mod plotting;
pub mod source;
pub mod value;

use crate::array::{Array, Idx};
use crate::check::lower::{Outer, lower_model};
use crate::diag::{Diag, suggest};
use crate::infer::{self, Answer, InferError};
use crate::model::expr as ir;
use crate::syntax::ast::{self, ExprKind, IndexItem, Span, StmtKind};
pub use fitting::{Reporter, check_weights, fixed_params, supervised_note};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
pub use value::{Drawing, Env, FIT_FIELDS, ModelValue, Picture, Template, Value};

/// A runtime failure: the diagnostics to show (one, or every error of a model declaration).
/// Empty when the output was closed by its reader (`gmm run f | head`): the script stops
/// without a message.
pub type Failure = Vec<Diag>;

/// The state of a running script.
pub struct Interp {
    /// The script's names.
    pub env: Env,
    /// The model queries without `m.` refer to.
    pub current: Option<Rc<ModelValue>>,
    /// The folder relative paths resolve against.
    base: PathBuf,
    /// The files the script may read and write.
    access: std::rc::Rc<crate::files::Access>,
    /// The `.gmm` files being loaded now, innermost last: a file that loads itself is a cycle.
    loading: RefCell<Vec<PathBuf>>,
    /// Where `print` (and `select`'s table) writes.
    out: RefCell<Box<dyn Write>>,
    /// Where warnings and `verbose` progress go.
    err: RefCell<Box<dyn Write>>,
    /// The script's name, for rendering warnings.
    name: String,
    /// Warnings raised by the statement running now, rendered when it ends.
    warnings: RefCell<Vec<Diag>>,
    /// Interactive: a long fit reports progress once a second, and one cut short by Ctrl-C
    /// (or the time limit) gives the fit so far instead of an error.
    interactive: bool,
    /// A front end that shows progress and tables its own way (the notebook kernel).
    rich: Option<Rc<dyn Rich>>,
}

/// What a rich front end (the notebook kernel) shows its own way instead of as text.
pub trait Rich {
    /// A line of a fit's progress, to replace the line before it.
    fn progress(&self, line: &str);
    /// A table, such as `select`'s: its column names, its cells, and its text form.
    fn table(&self, header: &[String], rows: &[Vec<String>], text: &str);
}

impl Interp {
    /// An interpreter whose relative paths resolve against `base` and whose `print` writes to
    /// `out`.
    pub fn new(base: PathBuf, out: Box<dyn Write>) -> Interp {
        let mut access = crate::files::Access::working_dir();
        access.allow_folder(&base);
        Interp {
            env: Env::default(),
            current: None,
            base,
            access: std::rc::Rc::new(access),
            loading: RefCell::new(Vec::new()),
            out: RefCell::new(out),
            err: RefCell::new(Box::new(crate::console::Stderr)),
            name: String::new(),
            warnings: RefCell::new(Vec::new()),
            interactive: false,
            rich: None,
        }
    }

    /// Behaves as the REPL wants: long fits report progress once a second, and a fit cut
    /// short gives the fit so far, with a note.
    pub fn interactive(mut self) -> Interp {
        self.interactive = true;
        self
    }

    /// Renders warnings as coming from the file `name`, and writes them (and `verbose`
    /// progress) to `err`.
    pub fn with_diagnostics(mut self, name: impl Into<String>, err: Box<dyn Write>) -> Interp {
        self.name = name.into();
        self.err = RefCell::new(err);
        self
    }

    /// Shows fits' progress and tables through `rich` instead of as text.
    pub fn with_rich(mut self, rich: Rc<dyn Rich>) -> Interp {
        self.rich = Some(rich);
        self
    }

    /// Sets the files the script may read and write.
    pub fn with_access(mut self, access: crate::files::Access) -> Interp {
        self.access = std::rc::Rc::new(access);
        self
    }

    /// Names the source the next statements come from, for rendering warnings.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Makes relative paths resolve against `base` from now on; returns the previous base.
    pub fn set_base(&mut self, base: PathBuf) -> PathBuf {
        std::mem::replace(&mut self.base, base)
    }

    /// Records a warning about the running statement.
    fn warn(&self, d: Diag) {
        self.warnings.borrow_mut().push(d);
    }

    /// Shows a line of a fit's progress: through the rich front end if there is one (a
    /// notebook's updating display), else as a note.
    fn progress(&self, line: &str) {
        match &self.rich {
            Some(rich) => rich.progress(line),
            None => self.note(line),
        }
    }

    /// Shows a table: through the rich front end if there is one, else as its text. A
    /// reader that went away misses it; the statement's result stands.
    fn table(&self, header: &[String], rows: &[Vec<String>], text: &str, span: Span) {
        match &self.rich {
            Some(rich) => rich.table(header, rows, text),
            None => {
                let _ = self.write_out(text, span);
            }
        }
    }

    /// Writes a line to the diagnostics stream.
    fn note(&self, line: &str) {
        let mut err = self.err.borrow_mut();
        let _ = writeln!(err, "{line}").and_then(|_| err.flush());
    }

    /// Writes text to the output; `Err(Vec::new())` when its reader has gone.
    fn write_out(&self, text: &str, span: Span) -> Result<(), Failure> {
        self.write_with(span, &mut |w| w.write_all(text.as_bytes()))
    }

    /// Writes values separated by spaces, then a newline, each streamed to the output as it
    /// is formatted (a large array is never held as text); `Err(Vec::new())` when the reader
    /// has gone.
    pub fn write_values(&self, values: &[Value], span: Span) -> Result<(), Failure> {
        self.write_with(span, &mut |w| {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    w.write_all(b" ")?;
                }
                // Display stops with fmt::Error when interrupted; `write!` would panic on
                // that, so the error is carried by hand.
                let mut sink = IoSink {
                    inner: &mut *w,
                    error: None,
                };
                if std::fmt::write(&mut sink, format_args!("{v}")).is_err() {
                    return Err(sink
                        .error
                        .unwrap_or_else(|| std::io::Error::other("interrupted")));
                }
            }
            w.write_all(b"\n")
        })
    }

    /// Runs `write` on a buffer over the output and sorts its failure: a closed reader ends the
    /// script quietly, Ctrl-C or the time limit is "interrupted", anything else an error.
    fn write_with(
        &self,
        span: Span,
        write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Failure> {
        let mut out = self.out.borrow_mut();
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut **out);
        let result = write(&mut buffered).and_then(|()| buffered.flush());
        drop(buffered);
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Vec::new()),
            Err(_) if crate::interrupt::requested() => Err(one(interrupted(span))),
            Err(e) => Err(one(Diag::error(format!("cannot write output: {e}"), span)
                .help(
                    "free space on the device the output goes to, or send it elsewhere",
                ))),
        }
    }

    /// Renders the pending warnings against the statement's source text.
    fn flush_warnings(&self, text: &str) {
        let pending = std::mem::take(&mut *self.warnings.borrow_mut());
        if !pending.is_empty() {
            let shown = crate::diag::Source::new(self.name.clone(), text).render(&pending);
            let mut err = self.err.borrow_mut();
            let _ = write!(err, "{shown}").and_then(|_| err.flush());
        }
    }

    /// Runs every statement in order, stopping at the first failure. A bare `plot(...)`
    /// draws its chart; other values of bare expressions are dropped (`gmm check` warns).
    pub fn run(&mut self, program: &ast::Program, text: &str) -> Result<(), Failure> {
        for s in &program.stmts {
            self.exec_drawing(s, text)?;
        }
        Ok(())
    }

    /// Runs one statement of a script or a loop body, writing the chart of a bare `plot(...)`.
    fn exec_drawing(&mut self, s: &ast::Stmt, text: &str) -> Result<(), Failure> {
        let value = self.exec(s, text)?;
        match value {
            Some(v @ Value::Picture(_)) if s.draws() => self.write_values(&[v], s.span),
            _ => Ok(()),
        }
    }

    /// Runs one statement; a bare expression's value is returned (the REPL echoes it).
    pub fn exec(&mut self, s: &ast::Stmt, text: &str) -> Result<Option<Value>, Failure> {
        let result = self.exec_inner(s, text);
        self.flush_warnings(text);
        result
    }

    fn exec_inner(&mut self, s: &ast::Stmt, text: &str) -> Result<Option<Value>, Failure> {
        match &s.kind {
            StmtKind::Model(decl) => {
                self.declare_model(decl, &text[s.span.start..s.span.end])?;
            }
            StmtKind::Let { name, value } => {
                let v = self.eval(value, &self.env).map_err(one)?;
                self.env.define(&name.name, v);
            }
            StmtKind::Assign { name, value } => {
                let v = self.eval(value, &self.env).map_err(one)?;
                if !self.env.assign(&name.name, v) {
                    return Err(vec![crate::check::undefined_assignment(
                        name,
                        &self.env.names(),
                    )]);
                }
            }
            StmtKind::Print(args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, &self.env).map_err(one)?);
                }
                self.write_values(&values, s.span)?;
            }
            StmtKind::Assert { cond, message } => {
                self.assert(cond, message.as_ref(), s.span).map_err(one)?
            }
            StmtKind::For { var, iter, body } => {
                for item in self.elements(iter).map_err(one)? {
                    if crate::interrupt::requested() {
                        return Err(one(interrupted(s.span)
                            .label("this loop was running")
                            .help("the values it set so far are kept")));
                    }
                    self.env.push();
                    self.env.define(&var.name, item);
                    let result = body.iter().try_for_each(|st| self.exec_drawing(st, text));
                    self.env.pop();
                    result?;
                }
            }
            StmtKind::Expr(e) => return Ok(Some(self.eval(e, &self.env).map_err(one)?)),
        }
        Ok(None)
    }

    fn declare_model(&mut self, decl: &ast::ModelDecl, text: &str) -> Result<(), Failure> {
        if decl.params.is_some() {
            let t = Template {
                decl: decl.clone(),
                text: text.to_string(),
                env: self.env.snapshot(),
            };
            self.env
                .define(&decl.name.name, Value::Template(Rc::new(t)));
            return Ok(());
        }
        let model = self.lower(decl, &self.env, &[])?;
        let mv = Rc::new(ModelValue::new(model));
        self.env.define(&decl.name.name, Value::Model(mv.clone()));
        self.current = Some(mv);
        Ok(())
    }

    /// Lowers a declaration outside any script (a template made from the command line): its
    /// own constants and built-in functions are all it can use.
    pub fn lower_alone(
        &self,
        decl: &ast::ModelDecl,
        args: &[(String, Option<Array>)],
    ) -> Result<crate::model::Model, Failure> {
        self.lower(decl, &Env::default(), args)
    }

    /// Lowers a declaration with the script's values in `env`.
    fn lower(
        &self,
        decl: &ast::ModelDecl,
        env: &Env,
        args: &[(String, Option<Array>)],
    ) -> Result<crate::model::Model, Failure> {
        let outer = ScriptOuter { interp: self, env };
        let lowered = lower_model(decl, &outer, args);
        let errors: Vec<Diag> = lowered.diags.into_iter().filter(|d| d.is_error()).collect();
        match lowered.model {
            Some(m) if errors.is_empty() => Ok(m),
            _ if !errors.is_empty() => Err(errors),
            _ => Err(one(Diag::error(
                format!(
                    "model `{}` could not be built (this is a bug)",
                    decl.name.name
                ),
                decl.name.span,
            ))),
        }
    }

    /// Reads a file the script names, under the access policy; the error points at `span`.
    fn read_file(&self, path: &str, span: Span) -> Result<Vec<u8>, Diag> {
        self.access
            .read(&self.resolve(path), path)
            .map_err(|e| Diag::error(e.to_string(), span).help(e.help()))
    }

    /// Writes a file the script names, atomically and under the access policy.
    fn write_file(&self, path: &str, bytes: &[u8], span: Span) -> Result<(), Diag> {
        self.access
            .write(&self.resolve(path), path, bytes)
            .map_err(|e| Diag::error(e.to_string(), span).help(e.help()))
    }

    /// Resolves a path written in the script.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn assert(
        &self,
        cond: &ast::Expr,
        message: Option<&ast::Expr>,
        span: Span,
    ) -> Result<(), Diag> {
        let v = self.eval(cond, &self.env)?;
        let ok = match &v {
            Value::Bool(a) | Value::Num(a) => a.data().iter().all(|&x| x != 0.0 && !x.is_nan()),
            other => {
                return Err(Diag::error(
                    format!("assert needs a boolean, got {}", other.kind()),
                    cond.span,
                )
                .help("write a comparison, e.g. `assert close(a, b)`"));
            }
        };
        if ok {
            return Ok(());
        }
        let headline = match message {
            Some(m) => format!("assertion failed: {}", self.eval(m, &self.env)?),
            None => "assertion failed".to_string(),
        };
        let mut d = Diag::error(headline, span).label("this is false");
        // Show the values the condition compares.
        let parts: Vec<&ast::Expr> = match &cond.kind {
            ExprKind::Binary(_, a, b) => vec![a, b],
            ExprKind::Call(_, args) => args.iter().map(|a| &a.value).collect(),
            ExprKind::Unary(_, a) => vec![a],
            _ => vec![],
        };
        for p in parts {
            if matches!(p.kind, ExprKind::Number { .. }) {
                continue;
            }
            if let Ok(val) = self.eval(p, &self.env) {
                let shown = val.brief(300);
                d = d.help(format!(
                    "`{}` is {shown}",
                    crate::syntax::fmt::format_expr(p)
                ));
            }
        }
        if let Value::Bool(a) | Value::Num(a) = &v
            && a.len() > 1
        {
            let bad = a.data().iter().filter(|&&x| x == 0.0 || x.is_nan()).count();
            d = d.help(format!("{bad} of {} elements are false", a.len()));
        }
        Err(d)
    }

    /// The values a `for` loop visits: the elements of a vector, the rows of a matrix, the
    /// strings of a list. A range `a..b` is counted through, never built.
    fn elements(&self, iter: &ast::Expr) -> Result<Box<dyn Iterator<Item = Value>>, Diag> {
        if let ExprKind::Binary(ast::BinOp::Range, lo, hi) = &iter.kind {
            let end = |x: &ast::Expr| -> Result<f64, Diag> {
                let v = self.eval(x, &self.env)?;
                numeric(&v, x.span, "a range's end")?
                    .as_scalar()
                    .ok_or_else(|| {
                        Diag::error("a range's end must be one number", x.span)
                            .help("a range needs two whole numbers, e.g. 0..10")
                    })
            };
            let (a, b) = (end(lo)?, end(hi)?);
            let n = ir::range_len(a, b)
                .map_err(|e| Diag::error(e.to_string(), iter.span).help(range_help(&e)))?;
            return Ok(Box::new((0..n).map(move |i| Value::num(a + i as f64))));
        }
        let v = self.eval(iter, &self.env)?;
        let bool_ = matches!(v, Value::Bool(_));
        Ok(match v {
            Value::Num(a) | Value::Bool(a) if a.rank() >= 1 => {
                Box::new((0..a.shape()[0]).map(move |i| {
                    let x = a.index(&[Idx::At(i as f64)]).expect("in range");
                    if bool_ { Value::Bool(x) } else { Value::Num(x) }
                }))
            }
            Value::Text(items, _) => {
                Box::new(items.into_iter().map(|s| s.map_or(Value::Na, Value::str)))
            }
            other => {
                return Err(Diag::error(
                    format!("a for loop needs a vector or a list, got {}", other.kind()),
                    iter.span,
                )
                .help("loop over a vector such as `[1, 2, 3]` or a range `0..10`"));
            }
        })
    }

    /// Evaluates an expression with the names of `env`.
    pub fn eval(&self, e: &ast::Expr, env: &Env) -> Result<Value, Diag> {
        match &e.kind {
            ExprKind::Number { value, .. } => Ok(Value::num(*value)),
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::Bool(b) => Ok(Value::bool(*b)),
            ExprKind::Na => Ok(Value::Na),
            ExprKind::Name(n) => match env.get(n) {
                Some(v) => Ok(v.clone()),
                None if crate::builtins::lookup(n).is_some() => Err(Diag::error(
                    format!("`{n}` is a built-in function, not a value"),
                    e.span,
                )
                .help(format!(
                    "call it: {}",
                    crate::builtins::lookup(n).map_or("", |b| b.summary)
                ))),
                None => Err(Diag::error(format!("unknown name `{n}`"), e.span)
                    .label("not defined")
                    .help(
                        crate::syntax::habits::name(n)
                            .map(str::to_string)
                            .or_else(|| {
                                suggest(n, env.names().iter().map(String::as_str))
                                    .map(|s| format!("did you mean `{s}`?"))
                            })
                            .unwrap_or_else(|| format!("define it first with `let {n} = ...`")),
                    )),
            },
            ExprKind::List(items) => self.list(items, env, e.span),
            ExprKind::Unary(op, x) => {
                let v = self.eval(x, env)?;
                let a = numeric(&v, x.span, "an operand")?;
                let too_large = |err: crate::array::ArrayError| {
                    Diag::error(err.to_string(), e.span).help(MEMORY_HELP)
                };
                Ok(match op {
                    ast::UnOp::Neg => Value::Num(a.try_map(|x| -x).map_err(too_large)?),
                    ast::UnOp::Not => {
                        Value::Bool(a.try_map(|x| f64::from(x == 0.0)).map_err(too_large)?)
                    }
                })
            }
            ExprKind::Binary(op, a, b) => {
                let (va, vb) = (self.eval(a, env)?, self.eval(b, env)?);
                binary(*op, &va, &vb, a.span, b.span, e.span)
            }
            ExprKind::Call(callee, args) => self.call(callee, args, env, e.span),
            ExprKind::Index(base, items) => self.index(base, items, env, e.span),
            ExprKind::Field(base, field) => {
                let v = self.eval(base, env)?;
                field_of(&v, field, base.span)
            }
            ExprKind::Query(q) => self.query(q, env, e.span),
        }
    }

    fn list(&self, items: &[ast::Expr], env: &Env, span: Span) -> Result<Value, Diag> {
        let vals = items
            .iter()
            .map(|x| self.eval(x, env))
            .collect::<Result<Vec<_>, _>>()?;
        if !vals.is_empty()
            && vals.iter().all(|v| matches!(v, Value::Str(_) | Value::Na))
            && vals.iter().any(|v| matches!(v, Value::Str(_)))
        {
            return Ok(Value::text(
                vals.into_iter()
                    .map(|v| match v {
                        Value::Str(s) => Some(s.into()),
                        _ => None,
                    })
                    .collect(),
            ));
        }
        let mut arrays = Vec::with_capacity(vals.len());
        for (v, x) in vals.iter().zip(items) {
            arrays.push(numeric(v, x.span, "a list element")?);
        }
        let all_bool = !vals.is_empty() && vals.iter().all(|v| matches!(v, Value::Bool(_)));
        let a = Array::stack(&arrays).map_err(|err| {
            Diag::error(err.to_string(), span).help("every element of a list needs the same shape")
        })?;
        Ok(if all_bool {
            Value::Bool(a)
        } else {
            Value::Num(a)
        })
    }

    fn index(
        &self,
        base: &ast::Expr,
        items: &[IndexItem],
        env: &Env,
        span: Span,
    ) -> Result<Value, Diag> {
        let b = self.eval(base, env)?;
        let mut idx = Vec::with_capacity(items.len());
        for it in items {
            idx.push(match it {
                IndexItem::All(_) => Idx::All,
                IndexItem::At(x) => {
                    let v = self.eval(x, env)?;
                    let a = numeric(&v, x.span, "an index")?;
                    match a.rank() {
                        0 => Idx::At(a.data()[0]),
                        1 => Idx::Many(a.into_data()),
                        _ => {
                            return Err(Diag::error(
                                format!("an index must be a number or a vector, got {}", v.kind()),
                                x.span,
                            ));
                        }
                    }
                }
            });
        }
        let fail = |err: crate::array::ArrayError| {
            Diag::error(err.to_string(), span)
                .label("in this index")
                .help(format!(
                    "`{}` is {}",
                    crate::syntax::fmt::format_expr(base),
                    b.kind()
                ))
        };
        match &b {
            Value::Num(a) => a.index(&idx).map(Value::Num).map_err(fail),
            Value::Bool(a) => a.index(&idx).map(Value::Bool).map_err(fail),
            Value::Text(..) | Value::Data(_) if idx.len() == 1 => {
                let len = match &b {
                    Value::Data(d) => d.rows,
                    Value::Text(v, _) => v.len(),
                    _ => unreachable!("matched above"),
                };
                let pos = Array::vector((0..len).map(|i| i as f64).collect());
                let picked = pos.index(&idx).map_err(fail)?;
                let rows: Vec<usize> = picked.data().iter().map(|&i| i as usize).collect();
                Ok(match (&b, picked.rank()) {
                    (Value::Data(d), _) => Value::Data(Rc::new(d.select(&rows))),
                    (Value::Text(v, _), 0) => v[rows[0]].clone().map_or(Value::Na, Value::str),
                    (Value::Text(v, from), _) => {
                        Value::Text(rows.iter().map(|&r| v[r].clone()).collect(), from.clone())
                    }
                    _ => unreachable!("matched above"),
                })
            }
            other => Err(
                Diag::error(format!("{} cannot be indexed", other.kind()), span)
                    .help("index arrays, lists of strings and datasets (rows)"),
            ),
        }
    }

    /// The entries `ix` names of the `d`-vector `name` in a query: a whole number or a range.
    fn entries(&self, ix: &ast::Expr, env: &Env, name: &str, d: usize) -> Result<Vec<usize>, Diag> {
        let v = self.eval(ix, env)?;
        let a = numeric(&v, ix.span, "an entry")?;
        if a.rank() > 1 || a.is_empty() {
            return Err(Diag::error(
                if a.is_empty() {
                    format!(
                        "`{name}[{}]` names no entry",
                        crate::syntax::fmt::format_expr(ix)
                    )
                } else {
                    format!(
                        "an entry of `{name}` is a number or a range, not {}",
                        v.kind()
                    )
                },
                ix.span,
            )
            .help(format!(
                "`{name}` has {d} entries, {}; write `{name}[0]` or `{name}[0..2]`",
                crate::array::index_words(d)
            )));
        }
        let mut out = Vec::new();
        for &i in a.data() {
            if i.fract() != 0.0 || i < 0.0 || i >= d as f64 {
                return Err(Diag::error(
                    format!(
                        "`{name}` has {d} entries, {}: there is no entry {}{}",
                        crate::array::index_words(d),
                        crate::array::format_number(i),
                        crate::array::starts_at_zero(i, d)
                    ),
                    ix.span,
                ));
            }
            out.push(i as usize);
        }
        Ok(out)
    }

    fn query(&self, q: &ast::Query, env: &Env, span: Span) -> Result<Value, Diag> {
        let mv = match &q.model {
            Some(m) => match self.eval(m, env)? {
                Value::Model(mv) => mv,
                other => {
                    return Err(Diag::error(
                        format!("`.p(...)` queries a model, but this is {}", other.kind()),
                        m.span,
                    ));
                }
            },
            None => self.current.clone().ok_or_else(|| {
                Diag::error("a query needs a model, and none is declared yet", span)
                    .help("declare a model above this line, or query a model value with `m.p(...)`")
            })?,
        };
        let model = &mv.model;
        let var = |t: &ast::QueryTerm| {
            model.var_id(&t.var.name).ok_or_else(|| {
                let names: Vec<String> = model.vars.iter().map(|v| v.name.clone()).collect();
                crate::check::unknown_query_variable(&model.name, &t.var, &names)
            })
        };
        let value = |x: &ast::Expr| -> Result<Array, Diag> {
            let v = self.eval(x, env)?;
            let a = numeric(&v, x.span, "a query value")?;
            match a.data().iter().position(|&y| crate::array::is_computed_nan(y)) {
                None => Ok(a),
                Some(at) => Err(Diag::error(
                    format!(
                        "this value holds NaN (not a number){}",
                        if a.len() > 1 { format!(" at element {at}") } else { String::new() }
                    ),
                    x.span,
                )
                .label("the result of an undefined operation such as 0/0")
                .help("NA marks a missing value; find where the NaN comes from, or replace it with NA")),
            }
        };
        // One side of the query: each variable with its value, if given. Entries of a vector
        // named one by one (`x[0] = a, x[2] = b`) make one value, NA where no term gives one.
        let side = |terms: &[ast::QueryTerm],
                    asked: &mut Option<Vec<usize>>|
         -> Result<Vec<(usize, Option<Array>)>, Diag> {
            let mut out: Vec<(usize, Option<Array>)> = Vec::new();
            let mut parts: Vec<(usize, Vec<Entries>)> = Vec::new();
            for t in terms {
                let v = var(t)?;
                let Some(ix) = &t.index else {
                    out.push((v, t.value.as_ref().map(value).transpose()?));
                    continue;
                };
                let name = &t.var.name;
                let crate::model::Support::RealVector(d) = model.vars[v].support else {
                    return Err(Diag::error(
                        format!("`{name}` is not a vector, so it has no entries to pick"),
                        ix.span,
                    )
                    .help(format!("write `{name} = ...`")));
                };
                let entries = self.entries(ix, env, name, d)?;
                let Some(x) = &t.value else {
                    // The distribution of these entries (section 9.1).
                    out.push((v, None));
                    *asked = Some(entries);
                    continue;
                };
                let part = Entries {
                    at: entries,
                    value: value(x)?,
                    span: t.var.span.to(x.span),
                };
                match parts.iter_mut().find(|(w, _)| *w == v) {
                    Some((_, list)) => list.push(part),
                    None => parts.push((v, vec![part])),
                }
            }
            for (v, list) in parts {
                let name = &model.vars[v].name;
                if out.iter().any(|(w, _)| *w == v) {
                    return Err(Diag::error(
                        format!("`{name}` is given whole and by entries in this query"),
                        list[0].span,
                    )
                    .help(format!("give `{name} = [...]` or its entries, not both")));
                }
                let crate::model::Support::RealVector(d) = model.vars[v].support else {
                    unreachable!("checked above")
                };
                out.push((v, Some(assemble(name, d, &list)?)));
            }
            Ok(out)
        };
        // A chain's `by` column is assigned like a variable (section 9.4): it splits the
        // query's rows into sequences.
        let by_name = model.chain().and_then(|c| c.by.clone());
        let is_by = |t: &&ast::QueryTerm| {
            by_name.as_deref() == Some(t.var.name.as_str()) && model.var_id(&t.var.name).is_none()
        };
        let mut by = None;
        for t in q.targets.iter().chain(&q.given).filter(is_by) {
            match &t.value {
                Some(x) => by = Some(value(x)?),
                None => {
                    return Err(Diag::error(
                        format!(
                            "`{}` is the chain's `by` column, not a variable",
                            t.var.name
                        ),
                        t.var.span,
                    )
                    .help(format!(
                        "give it the rows' sequence labels after `|`: `{} = d.{}`",
                        t.var.name, t.var.name
                    )));
                }
            }
        }
        let mut entries = None;
        let own = |terms: &[ast::QueryTerm]| -> Vec<ast::QueryTerm> {
            terms.iter().filter(|t| !is_by(t)).cloned().collect()
        };
        let targets = side(&own(&q.targets), &mut entries)?;
        let given: Vec<(usize, Array)> = side(&own(&q.given), &mut None)?
            .into_iter()
            .map(|(v, x)| (v, x.expect("the grammar gives every condition a value")))
            .collect();
        let query = infer::Query {
            targets,
            given,
            conditional: !q.given.is_empty(),
            log: q.log,
            entries,
            by,
        };
        match infer::query(model, &query) {
            Ok(Answer::Value(a)) => Ok(Value::Num(a)),
            Ok(Answer::Dist(d)) => Ok(Value::Dist(Rc::new(d))),
            Err(err) => {
                // Point at the offending value when the error is about one variable.
                let at = match &err {
                    InferError::Value { var, .. } => q
                        .targets
                        .iter()
                        .chain(&q.given)
                        .find(|t| &t.var.name == var)
                        .map(|t| {
                            t.value
                                .as_ref()
                                .map_or(t.var.span, |v| t.var.span.to(v.span))
                        })
                        .unwrap_or(span),
                    _ => span,
                };
                if let (InferError::NoValue { .. }, None) = (&err, &q.model)
                    && let Some(fitted) = fitted_in_scope(env, &model.name)
                {
                    let asked = ast::Expr {
                        kind: ExprKind::Query(q.clone()),
                        span,
                    };
                    return Err(Diag::error(err.to_string(), at).help(format!(
                        "`fit` returns a new model and leaves `{}` as it was; ask the fitted one: `{fitted}.{}`",
                        model.name,
                        crate::syntax::fmt::format_expr(&asked)
                    )));
                }
                Err(infer_diag(err, at))
            }
        }
    }
}

/// Values for some entries of a vector variable in a query: `x[0..2] = v`.
struct Entries {
    /// The entries, in the order the value gives them.
    at: Vec<usize>,
    /// One number per entry, or a row of them per data copy.
    value: Array,
    /// The term, for messages.
    span: Span,
}

/// The value of a `d`-vector `name` from its entries' terms: one row per data copy (or a
/// single vector), NA where no term gives an entry.
fn assemble(name: &str, d: usize, parts: &[Entries]) -> Result<Array, Diag> {
    // Each term's rows: (copies, per-row numbers), `None` copies when it has no copy axis.
    let mut shaped: Vec<(Option<usize>, &Entries)> = Vec::new();
    for p in parts {
        let m = p.at.len();
        let s = p.value.shape();
        let copies = match (s.len(), m) {
            (0, 1) => None,
            (1, 1) => Some(s[0]),
            (1, _) if s[0] == m => None,
            (2, _) if s[1] == m => Some(s[0]),
            _ => {
                return Err(Diag::error(
                    format!(
                        "{m} {} of `{name}` {} named here, but the value has shape {}",
                        if m == 1 { "entry" } else { "entries" },
                        if m == 1 { "is" } else { "are" },
                        crate::array::show_shape(s)
                    ),
                    p.span,
                )
                .help(format!(
                    "give {m} number{} per row (a value of shape [{m}], or [rows, {m}] for many rows)",
                    if m == 1 { "" } else { "s" }
                )));
            }
        };
        shaped.push((copies, p));
    }
    let rows: Vec<usize> = shaped.iter().filter_map(|(c, _)| *c).collect();
    let n = rows.iter().copied().max();
    if let Some(n) = n
        && let Some((_, p)) = shaped
            .iter()
            .find(|(c, _)| c.is_some_and(|c| c != n && c != 1))
    {
        return Err(Diag::error(
            format!("these entries of `{name}` give other numbers of rows than {n}"),
            p.span,
        )
        .help("give every entry the same number of rows, or a single value for all of them"));
    }
    let copies = n.unwrap_or(1);
    let mut out = vec![crate::array::NA; copies * d];
    let mut given = vec![false; d];
    for (c, p) in &shaped {
        for (j, &e) in p.at.iter().enumerate() {
            if given[e] {
                return Err(Diag::error(format!("`{name}[{e}]` is given twice"), p.span)
                    .help("give each entry once"));
            }
            given[e] = true;
            let m = p.at.len();
            for r in 0..copies {
                let src = match c {
                    Some(1) | None => j,
                    Some(_) => r * m + j,
                };
                out[r * d + e] = p.value.data()[src];
            }
        }
    }
    Ok(match n {
        Some(n) => Array::from_vec(vec![n, d], out),
        None => Array::vector(out),
    })
}

/// The name of a fitted copy of model `name` bound in `env`, the first in name order.
fn fitted_in_scope(env: &Env, name: &str) -> Option<String> {
    let mut names = env.names();
    names.sort();
    names.into_iter().find(|n| {
        matches!(env.get(n), Some(Value::Model(mv)) if mv.fit.is_some() && mv.model.name == name)
    })
}

/// How to mend a range that [`ir::range_len`] refused.
fn range_help(err: &ir::EvalError) -> String {
    match err {
        ir::EvalError::RangeTooLong(..) => format!(
            "a `for` loop counts through at most 2^53 values, one at a time; a range used as an array holds at most {} numbers",
            crate::array::MAX_ELEMENTS
        ),
        _ => "a range needs two whole numbers, e.g. 0..10".to_string(),
    }
}

/// A diagnostic for an inference error at `span`.
pub fn infer_diag(err: InferError, span: Span) -> Diag {
    let help = err.help();
    Diag::error(err.to_string(), span).help_opt(help)
}

/// An `io::Write` seen as a `fmt::Write`, keeping the I/O error that stopped it.
struct IoSink<'a> {
    inner: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for IoSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

/// How to stay within the memory limit.
pub const MEMORY_HELP: &str =
    "let go of large values you no longer need (`let a = 0`), or work on smaller pieces";

/// The error for a computation that Ctrl-C or the time limit stopped.
pub fn interrupted(span: Span) -> Diag {
    Diag::error("interrupted", span).help(crate::interrupt::why())
}

fn one(d: Diag) -> Failure {
    vec![d]
}

/// The numbers of a value, or an error naming what it is instead.
pub fn numeric(v: &Value, span: Span, what: &str) -> Result<Array, Diag> {
    if let Value::Text(cells, Some(col)) = v {
        let err = col.text_error(cells);
        return Err(Diag::error(err.to_string(), span)
            .label(format!("{what} must be numeric, but this is {}", v.kind()))
            .help(err.help()));
    }
    v.as_array().ok_or_else(|| {
        Diag::error(
            format!("{what} must be numeric, but this is {}", v.kind()),
            span,
        )
        .label(v.kind())
    })
}

/// A binary operator on two values.
fn binary(
    op: ast::BinOp,
    a: &Value,
    b: &Value,
    sa: Span,
    sb: Span,
    whole: Span,
) -> Result<Value, Diag> {
    use ast::BinOp as B;
    // A picture compares as its text.
    if matches!(a, Value::Picture(_)) || matches!(b, Value::Picture(_)) {
        let as_text = |v: &Value| {
            v.as_text()
                .map_or_else(|| v.clone(), |t| Value::Str(t.into()))
        };
        return binary(op, &as_text(a), &as_text(b), sa, sb, whole);
    }
    // String comparisons.
    if matches!(op, B::Eq | B::Ne) {
        let eq = |x: &data::Text, y: &str| x.as_deref() == Some(y);
        let res = match (a, b) {
            (Value::Str(x), Value::Str(y)) => Some(Value::bool(x == y)),
            (Value::Text(v, _), Value::Str(s)) | (Value::Str(s), Value::Text(v, _)) => {
                Some(Value::Bool(Array::vector(
                    v.iter().map(|x| f64::from(u8::from(eq(x, s)))).collect(),
                )))
            }
            // Element by element; a missing string equals a missing string.
            (Value::Text(v, _), Value::Text(w, _)) if v.len() == w.len() => {
                Some(Value::Bool(Array::vector(
                    v.iter()
                        .zip(w)
                        .map(|(x, y)| f64::from(u8::from(x == y)))
                        .collect(),
                )))
            }
            (Value::Text(v, _), Value::Text(w, _)) => {
                return Err(Diag::error(
                    format!("cannot compare {} strings with {}", v.len(), w.len()),
                    whole,
                )
                .help("compare lists of the same length, or a list with one string"));
            }
            _ => None,
        };
        if let Some(Value::Bool(r)) = res {
            return Ok(Value::Bool(if op == B::Ne {
                r.map(|x| 1.0 - x)
            } else {
                r
            }));
        }
    }
    let x = numeric(a, sa, &format!("the left side of `{}`", op.symbol()))?;
    let y = numeric(b, sb, &format!("the right side of `{}`", op.symbol()))?;
    let iop = crate::check::lower::lower_op(op);
    let r = ir::binary(iop, &x, &y).map_err(|err| {
        use crate::array::ArrayError as A;
        let too_large = matches!(
            err,
            ir::EvalError::Array(A::TooLarge(_) | A::OverBudget(_))
        );
        if matches!(err, ir::EvalError::Array(A::Interrupted)) {
            return interrupted(whole);
        }
        Diag::error(err.to_string(), whole)
            .label(format!("{} {} {}", a.kind(), op.symbol(), b.kind()))
            .help(match op {
                _ if too_large => MEMORY_HELP.to_string(),
                B::MatMul => "the inner sizes of a matrix product must agree".to_string(),
                B::Range => range_help(&err),
                _ => "shapes combine as in NumPy: equal sizes, or size 1, counted from the last axis; col(v) and row(v) turn a vector into a matrix".to_string(),
            })
    })?;
    Ok(match op {
        B::Or | B::And | B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => Value::Bool(r),
        _ => Value::Num(r),
    })
}

/// `v.name`: a model's parameter, a dataset's column.
fn field_of(v: &Value, field: &ast::Ident, span: Span) -> Result<Value, Diag> {
    let n = &field.name;
    match v {
        Value::Model(mv) => {
            let m = &mv.model;
            match m.param_id(n) {
                Some(id) => match &m.params[id].value {
                    Some(a) => Ok(Value::Num(a.clone())),
                    None => Err(Diag::error(
                        format!("parameter `{n}` of model `{}` has no value", m.name),
                        field.span,
                    )
                    .help("give it a value in the model, or fit the model first")),
                },
                None => {
                    let names: Vec<&str> = m
                        .params
                        .iter()
                        .map(|p| p.name.as_str())
                        .chain(m.consts.iter().map(|c| c.name.as_str()))
                        .collect();
                    if let Some(c) = m.consts.iter().find(|c| &c.name == n) {
                        return Ok(Value::Num(c.value.clone()));
                    }
                    if let Some(v) = fit_field(mv, n, field.span)? {
                        return Ok(v);
                    }
                    let mut d = Diag::error(
                        format!("model `{}` has no parameter `{n}`", m.name),
                        field.span,
                    );
                    d = if m.var_id(n).is_some() {
                        d.help(format!(
                            "`{n}` is a random variable; ask about it with `{}.p({n} = ...)`",
                            m.name
                        ))
                    } else {
                        d.help(
                            suggest(n, names.iter().copied())
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| {
                                    format!("its parameters are {}", names.join(", "))
                                }),
                        )
                    };
                    Err(d)
                }
            }
        }
        Value::Record(r) => match r.fields.iter().find(|(name, _)| name == n) {
            Some((_, a)) => Ok(Value::Num(a.clone())),
            None => {
                let names: Vec<&str> = r.fields.iter().map(|(n, _)| n.as_str()).collect();
                Err(
                    Diag::error(format!("the {} have no field `{n}`", r.what), field.span).help(
                        suggest(n, names.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("its fields are {}", names.join(", "))),
                    ),
                )
            }
        },
        Value::Data(d) => match d.get(n) {
            Ok(data::Cells::Num(a)) => Ok(Value::Num(a)),
            Ok(data::Cells::Text(t)) => Ok(Value::Text(
                t,
                Some(Rc::new(data::ColumnRef {
                    name: n.clone(),
                    origin: d.origin.clone(),
                })),
            )),
            Err(err) => Err(Diag::error(err.to_string(), field.span).help(err.help())),
        },
        other => Err(Diag::error(format!("{} has no fields", other.kind()), span)
            .label(format!("`.{n}` asked of this"))
            .help("fields belong to models (parameters) and datasets (columns)")),
    }
}

/// The fields a fit adds to a model: `.loglik`, `.iterations`, `.converged`, `.trace`.
fn fit_field(mv: &ModelValue, n: &str, span: Span) -> Result<Option<Value>, Diag> {
    if !value::FIT_FIELDS.contains(&n) {
        return Ok(None);
    }
    let Some(f) = &mv.fit else {
        let how = if n == "loglik" {
            format!("loglik({}, data)", mv.model.name)
        } else {
            format!("fit({}, data)", mv.model.name)
        };
        return Err(Diag::error(
            format!(
                "model `{}` was not fitted, so it has no `.{n}`",
                mv.model.name
            ),
            span,
        )
        .help(format!(
            "`.{n}` belongs to the result of fit(...); use {how}"
        )));
    };
    Ok(Some(match n {
        "loglik" => Value::num(f.loglik),
        "logpost" => Value::num(f.logpost),
        "iterations" => Value::num(f.iterations as f64),
        "converged" => Value::bool(f.converged),
        _ => Value::Num(Array::vector(f.trace.clone())),
    }))
}

/// The script's values as seen from a model declaration.
struct ScriptOuter<'a> {
    interp: &'a Interp,
    env: &'a Env,
}

impl Outer for ScriptOuter<'_> {
    fn defines(&self, name: &str) -> bool {
        self.env.get(name).is_some()
    }

    fn names(&self) -> Vec<String> {
        self.env.names()
    }

    fn value(&self, e: &ast::Expr, locals: &[(String, Array)]) -> Result<Option<Array>, Diag> {
        let v = if locals.is_empty() {
            self.interp.eval(e, self.env)?
        } else {
            let mut env = self.env.clone();
            env.push();
            for (name, value) in locals {
                env.define(name, Value::Num(value.clone()));
            }
            self.interp.eval(e, &env)?
        };
        match v.as_array() {
            Some(a) => Ok(Some(a)),
            None => Err(Diag::error(
                format!(
                    "a model can use numbers from the script, but this is {}",
                    v.kind()
                ),
                e.span,
            )
            .help("inside a model, use numbers, constants and parameters")),
        }
    }
}
