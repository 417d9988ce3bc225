//! The canonical layout of a script (`gmm fmt`): one statement or item per line, four-space
//! indentation, single spaces around operators, minimal parentheses, comments kept.

use super::ast::*;
use super::lex::{Token, tokens};

/// Formats a parsed script in canonical layout, keeping the comments of `source`.
pub fn format_program(program: &Program, source: &str) -> String {
    let comments = tokens(source)
        .filter(|(t, _)| *t == Ok(Token::Comment))
        .map(|(_, s)| s)
        .collect();
    let mut f = Formatter {
        source,
        newlines: source.match_indices('\n').map(|(i, _)| i).collect(),
        comments,
        next_comment: 0,
        out: String::new(),
        indent: 0,
    };
    let mut prev_end = None;
    for s in &program.stmts {
        f.stmt(s, &mut prev_end);
    }
    f.flush_comments(usize::MAX, &mut prev_end);
    f.out
}

/// Formats one expression on one line.
pub fn format_expr(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e);
    s
}

/// A string as a literal: quoted, with `"`, `\`, newline and tab escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The widest line the formatter makes of its own accord.
const MAX_WIDTH: usize = 100;

/// Formats the value of a definition that starts `prefix` columns into a line at `indent`
/// levels: on one line when it fits, else a list with one element per line (recursively).
fn layout_value(e: &Expr, indent: usize, prefix: usize) -> String {
    let flat = format_expr(e);
    match &e.kind {
        ExprKind::List(items) if !items.is_empty() && prefix + flat.len() > MAX_WIDTH => {
            let pad = "    ".repeat(indent + 1);
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&pad);
                out.push_str(&layout_value(item, indent + 1, pad.len()));
                out.push_str(",\n");
            }
            out.push_str(&"    ".repeat(indent));
            out.push(']');
            out
        }
        _ => flat,
    }
}

struct Formatter<'a> {
    source: &'a str,
    /// Offsets of the source's newlines, to find a line without rescanning.
    newlines: Vec<usize>,
    comments: Vec<Span>,
    next_comment: usize,
    out: String,
    indent: usize,
}

impl Formatter<'_> {
    /// The 0-based source line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset)
    }

    /// Whether the source has a blank line between `from` and `to`.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let text = &self.source[from.min(to)..to];
        let mut newlines = 0;
        for c in text.chars() {
            match c {
                '\n' => {
                    newlines += 1;
                    if newlines >= 2 {
                        return true;
                    }
                }
                ' ' | '\t' | '\r' => {}
                _ => newlines = 0,
            }
        }
        false
    }

    /// `head = value`, the value laid out to fit the line.
    fn definition(&self, head: String, value: &Expr) -> String {
        let prefix = self.indent * 4 + head.len() + 3;
        format!("{head} = {}", layout_value(value, self.indent, prefix))
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Writes the comments that start before `upto` on lines of their own.
    fn flush_comments(&mut self, upto: usize, prev_end: &mut Option<usize>) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.start >= upto {
                break;
            }
            self.gap(c.start, *prev_end);
            let text = self.source[c.start..c.end].trim_end().to_string();
            self.line(&text);
            *prev_end = Some(c.end);
            self.next_comment += 1;
        }
    }

    /// Keeps one blank line where the source had one or more.
    fn gap(&mut self, start: usize, prev_end: Option<usize>) {
        if let Some(p) = prev_end
            && self.blank_between(p, start)
        {
            self.out.push('\n');
        }
    }

    /// Appends the comment that sits on source line `line` after `after`, if any.
    fn trailing(&mut self, after: usize, line: usize) -> String {
        match self.comments.get(self.next_comment) {
            Some(&c) if c.start >= after && self.line_of(c.start) == line => {
                self.next_comment += 1;
                format!("  {}", self.source[c.start..c.end].trim_end())
            }
            _ => String::new(),
        }
    }

    /// Starts an element at `span`: its leading comments, a kept blank line.
    fn begin(&mut self, span: Span, prev_end: &mut Option<usize>) {
        self.flush_comments(span.start, prev_end);
        self.gap(span.start, *prev_end);
    }

    /// Writes a one-line element with its trailing comment.
    fn simple(&mut self, text: String, span: Span, prev_end: &mut Option<usize>) {
        let t = self.trailing(span.end, self.line_of(span.end));
        self.line(&format!("{text}{t}"));
        *prev_end = Some(span.end);
    }

    /// Writes `header {`, the body, and `}`.
    fn block(
        &mut self,
        header: String,
        span: Span,
        body: impl FnOnce(&mut Self, &mut Option<usize>),
        prev_end: &mut Option<usize>,
    ) {
        let t = self.trailing(span.start, self.line_of(span.start));
        self.line(&format!("{header} {{{t}"));
        self.indent += 1;
        let mut inner_end = None;
        body(self, &mut inner_end);
        // Comments inside the block that no element claimed stay inside it.
        let close = span.end.saturating_sub(1);
        if inner_end.is_none() {
            inner_end = Some(span.start);
        }
        self.flush_comments(close, &mut inner_end);
        self.indent -= 1;
        let t = self.trailing(span.end, self.line_of(span.end));
        self.line(&format!("}}{t}"));
        *prev_end = Some(span.end);
    }

    fn stmt(&mut self, s: &Stmt, prev_end: &mut Option<usize>) {
        self.begin(s.span, prev_end);
        match &s.kind {
            StmtKind::Model(m) => {
                let mut header = format!("model {}", m.name.name);
                if let Some(ps) = &m.params {
                    let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
                    header.push_str(&format!("({})", names.join(", ")));
                }
                self.block(
                    header,
                    s.span,
                    |f, pe| {
                        for it in &m.items {
                            f.item(it, pe);
                        }
                    },
                    prev_end,
                );
            }
            StmtKind::For { var, iter, body } => {
                let header = format!("for {} in {}", var.name, format_expr(iter));
                self.block(
                    header,
                    s.span,
                    |f, pe| {
                        for st in body {
                            f.stmt(st, pe);
                        }
                    },
                    prev_end,
                );
            }
            StmtKind::Let { name, value } => {
                let text = self.definition(format!("let {}", name.name), value);
                self.simple(text, s.span, prev_end);
            }
            StmtKind::Assign { name, value } => {
                let text = self.definition(name.name.clone(), value);
                self.simple(text, s.span, prev_end);
            }
            StmtKind::Print(args) => {
                let args: Vec<String> = args.iter().map(format_expr).collect();
                self.simple(format!("print {}", args.join(", ")), s.span, prev_end);
            }
            StmtKind::Assert { cond, message } => {
                let mut t = format!("assert {}", format_expr(cond));
                if let Some(m) = message {
                    t.push_str(&format!(", {}", format_expr(m)));
                }
                self.simple(t, s.span, prev_end);
            }
            StmtKind::Expr(e) => self.simple(format_expr(e), s.span, prev_end),
        }
    }

    fn item(&mut self, it: &Item, prev_end: &mut Option<usize>) {
        self.begin(it.span, prev_end);
        match &it.kind {
            ItemKind::Const { name, value } => {
                let text = self.definition(format!("const {}", name.name), value);
                self.simple(text, it.span, prev_end);
            }
            ItemKind::Param {
                name,
                dims,
                ty,
                prior,
                value,
            } => {
                let mut t = format!("param {}", name.name);
                if !dims.is_empty() {
                    let d: Vec<String> = dims.iter().map(format_expr).collect();
                    t.push_str(&format!("[{}]", d.join(", ")));
                }
                t.push_str(&format!(" : {}", ty.name.name));
                if let Some(size) = &ty.size {
                    t.push_str(&format!("[{}]", format_expr(size)));
                }
                if let Some(p) = prior {
                    let mut args = String::new();
                    write_args(&mut args, &p.args);
                    t.push_str(&format!(" ~ {}{args}", p.dist.name));
                }
                if let Some(v) = value {
                    t = self.definition(t, v);
                }
                self.simple(t, it.span, prev_end);
            }
            ItemKind::Plate { items, .. } | ItemKind::Chain { items, .. } => {
                let header = match &it.kind {
                    ItemKind::Plate {
                        name,
                        size: Some(s),
                        ..
                    } => format!("plate {} : {}", name.name, format_expr(s)),
                    ItemKind::Plate { name, .. } => format!("plate {}", name.name),
                    ItemKind::Chain {
                        name, by: Some(b), ..
                    } => format!("chain {} by {}", name.name, b.name),
                    ItemKind::Chain { name, .. } => format!("chain {}", name.name),
                    _ => unreachable!("a plate or a chain"),
                };
                self.block(
                    header,
                    it.span,
                    |f, pe| {
                        for i in items {
                            f.item(i, pe);
                        }
                    },
                    prev_end,
                );
            }
            ItemKind::Tilde {
                name,
                dist,
                args,
                then,
            } => {
                let mut t = format!("{} ~ {}", name.name, dist.name);
                write_args(&mut t, args);
                if let Some(then) = then {
                    t.push_str(&format!(" then {}", then.dist.name));
                    write_args(&mut t, &then.args);
                }
                self.simple(t, it.span, prev_end);
            }
        }
    }
}

fn write_args(out: &mut String, args: &[Arg]) {
    out.push('(');
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(n) = &a.name {
            out.push_str(&n.name);
            out.push_str(" = ");
        }
        write_expr(out, &a.value);
    }
    out.push(')');
}

/// Writes `e`, in parentheses when `parens`.
fn write_wrapped(out: &mut String, e: &Expr, parens: bool) {
    if parens {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Number { text, .. } => out.push_str(text),
        ExprKind::Str(s) => out.push_str(&quote(s)),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Na => out.push_str("NA"),
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, x);
            }
            out.push(']');
        }
        ExprKind::Unary(op, x) => {
            out.push_str(op.symbol());
            // `--x` would read as one token to a human; a space keeps it legible without adding
            // brackets (which count toward the nesting limit).
            if *op == UnOp::Neg && matches!(x.kind, ExprKind::Unary(UnOp::Neg, _)) {
                out.push(' ');
            }
            write_wrapped(out, x, x.precedence() < op.precedence());
        }
        ExprKind::Binary(op, l, r) => {
            let p = op.precedence();
            let lp = l.precedence() < p || (l.precedence() == p && op.assoc() != Assoc::Left);
            // `2^-1`: a minus right after `^` reads unambiguously.
            let neg_exponent = *op == BinOp::Pow && matches!(r.kind, ExprKind::Unary(UnOp::Neg, _));
            let rp = !neg_exponent
                && (r.precedence() < p || (r.precedence() == p && op.assoc() != Assoc::Right));
            write_wrapped(out, l, lp);
            match op {
                BinOp::Range | BinOp::Pow => out.push_str(op.symbol()),
                _ => {
                    out.push(' ');
                    out.push_str(op.symbol());
                    out.push(' ');
                }
            }
            write_wrapped(out, r, rp);
        }
        ExprKind::Call(f, args) => {
            // A call of a name `p` or `logp` (written `p (…)`) printed as `p(…)` would read
            // back as a query: it keeps parentheses around the name.
            let query_like = matches!(&f.kind, ExprKind::Name(n) if n == "p" || n == "logp");
            write_wrapped(out, f, query_like || f.precedence() < PREC_POSTFIX);
            write_args(out, args);
        }
        ExprKind::Index(b, items) => {
            write_wrapped(out, b, b.precedence() < PREC_POSTFIX);
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match it {
                    IndexItem::All(_) => out.push(':'),
                    IndexItem::At(x) => write_expr(out, x),
                }
            }
            out.push(']');
        }
        ExprKind::Field(b, name) => {
            write_wrapped(out, b, b.precedence() < PREC_POSTFIX);
            out.push('.');
            out.push_str(&name.name);
        }
        ExprKind::Query(q) => {
            if let Some(m) = &q.model {
                write_wrapped(out, m, m.precedence() < PREC_POSTFIX);
                out.push('.');
            }
            out.push_str(if q.log { "logp(" } else { "p(" });
            write_terms(out, &q.targets);
            if !q.given.is_empty() {
                out.push_str(" | ");
                write_terms(out, &q.given);
            }
            out.push(')');
        }
    }
}

fn write_terms(out: &mut String, terms: &[QueryTerm]) {
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&t.var.name);
        if let Some(i) = &t.index {
            out.push('[');
            write_expr(out, i);
            out.push(']');
        }
        if let Some(v) = &t.value {
            out.push_str(" = ");
            write_expr(out, v);
        }
    }
}
