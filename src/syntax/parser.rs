//! The pest parser and its translation into the AST; no pest type leaves this module.

use super::ast::*;
use super::lex;
use crate::diag::Diag;
use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc as PrattAssoc, Op, PrattParser};
use std::sync::LazyLock;

/// The deepest nesting an expression may have: brackets, calls, prefix operators and operators
/// of different precedence. A left-to-right chain of one precedence (`a + b - c + ...`) is not
/// nesting and counts once; its length is bounded by [`MAX_HEIGHT`].
pub const MAX_EXPR_DEPTH: usize = 200;

/// The highest expression tree: a chain `x1 + x2 + ...` is a tree as high as it is long, and
/// each later phase walks it by recursion, so it is bounded too, with room for 2 MiB stacks.
pub const MAX_HEIGHT: usize = 500;

/// How deep an expression is: its nesting (what [`MAX_EXPR_DEPTH`] bounds) and the height of
/// its tree (what [`MAX_HEIGHT`] bounds, the recursion of every later phase).
#[derive(Clone, Copy, Debug, Default)]
struct Size {
    depth: usize,
    height: usize,
}

impl Size {
    fn max(self, other: Size) -> Size {
        Size {
            depth: self.depth.max(other.depth),
            height: self.height.max(other.height),
        }
    }

    /// One level more: a node over operands of this size.
    fn up(self) -> Size {
        Size {
            depth: self.depth + 1,
            height: self.height + 1,
        }
    }
}

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/gmm.pest"]
struct GmmParser;

/// The grammar's infix operator rules.
const INFIX: [Rule; 15] = [
    Rule::op_or,
    Rule::op_and,
    Rule::op_eq,
    Rule::op_ne,
    Rule::op_lt,
    Rule::op_le,
    Rule::op_gt,
    Rule::op_ge,
    Rule::op_range,
    Rule::op_add,
    Rule::op_sub,
    Rule::op_mul,
    Rule::op_div,
    Rule::op_matmul,
    Rule::op_pow,
];

/// The Pratt parser, built level by level from the precedence and associativity the AST's
/// operators declare (`BinOp::precedence`, `UnOp::precedence`), so that parsing and `gmm fmt`
/// share one table.
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    let mut pratt = PrattParser::new();
    for level in 0..PREC_POSTFIX {
        let mut ops: Option<Op<Rule>> = None;
        let mut add = |op: Op<Rule>| {
            ops = Some(match ops.take() {
                Some(o) => o | op,
                None => op,
            });
        };
        for rule in INFIX {
            let op = binop(rule);
            if op.precedence() == level {
                let assoc = match op.assoc() {
                    Assoc::Right => PrattAssoc::Right,
                    Assoc::Left | Assoc::None => PrattAssoc::Left,
                };
                add(Op::infix(rule, assoc));
            }
        }
        for (rule, op) in [(Rule::op_not, UnOp::Not), (Rule::op_neg, UnOp::Neg)] {
            if op.precedence() == level {
                add(Op::prefix(rule));
            }
        }
        if let Some(o) = ops {
            pratt = pratt.op(o);
        }
    }
    pratt.op(Op::postfix(Rule::call_args)
        | Op::postfix(Rule::index)
        | Op::postfix(Rule::field)
        | Op::postfix(Rule::method_query))
});

/// The grammar's view of `text` at the token level: every terminal the grammar matched (names,
/// numbers, strings, reserved words, operators) with the lexer class it must have, in order;
/// `None` if the text does not parse. The REPL highlights with the lexer, so a test holds the
/// two to agreement over every example.
pub fn grammar_tokens(text: &str) -> Option<Vec<(lex::Token, Span)>> {
    use lex::Token as T;
    let pairs = GmmParser::parse(Rule::program, text).ok()?;
    let mut out = Vec::new();
    for pair in pairs.flatten() {
        let class = match pair.as_rule() {
            Rule::number => T::Number,
            Rule::string => T::Str,
            // `chain`, `by` and `then` are words only where they start their part, so the lexer
            // (which knows no context) sees names.
            Rule::ident | Rule::query_head | Rule::kw_chain | Rule::kw_by | Rule::kw_then => {
                T::Ident
            }
            Rule::kw_true | Rule::kw_false | Rule::kw_na => T::Literal,
            Rule::kw_model
            | Rule::kw_param
            | Rule::kw_const
            | Rule::kw_plate
            | Rule::kw_let
            | Rule::kw_print
            | Rule::kw_assert
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_and
            | Rule::kw_or
            | Rule::kw_not => T::Keyword,
            // `or` and `and` are infix operators written as reserved words (their `kw_` rule
            // gives them the keyword class); the other operators are symbols.
            Rule::op_or | Rule::op_and => continue,
            r if INFIX.contains(&r) => T::Punct,
            Rule::op_neg | Rule::index_all => T::Punct,
            _ => continue,
        };
        let sp = pair.as_span();
        out.push((class, Span::new(sp.start(), sp.end())));
    }
    Some(out)
}

/// Parses a whole script. On failure returns every diagnostic found (at least one).
///
/// ```
/// let program = gmm::syntax::parse("let x = -2^2 + 1  # comment\nprint x\n").unwrap();
/// assert_eq!(program.stmts.len(), 2);
/// let errors = gmm::syntax::parse("print (1 + 2\n").unwrap_err();
/// assert_eq!(errors[0].message, "unclosed `(`");
/// ```
pub fn parse(text: &str) -> Result<Program, Vec<Diag>> {
    let pre = lex::prescan(text);
    if !pre.is_empty() {
        return Err(pre);
    }
    let mut pairs = match GmmParser::parse(Rule::program, text) {
        Ok(p) => p,
        Err(_) => {
            // Tracking every token attempt makes parsing about twice as slow, so it is turned
            // on only to explain a failure (and stays on, so the report never depends on what
            // another thread is parsing).
            pest::set_error_detail(true);
            match GmmParser::parse(Rule::program, text) {
                Err(e) => return Err(vec![syntax_error(e, text)]),
                Ok(p) => p,
            }
        }
    };
    let program = pairs.next().expect("the grammar always yields a program");
    let script = program
        .into_inner()
        .next()
        .expect("a program holds a script");
    let mut b = Builder { errors: Vec::new() };
    let stmts = b.stmts(script.into_inner());
    if b.errors.is_empty() {
        Ok(Program { stmts })
    } else {
        Err(b.errors)
    }
}

/// Turns pest's error into a diagnostic that says what was expected and what was found.
fn syntax_error(e: pest::error::Error<Rule>, text: &str) -> Diag {
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected = Vec::new();
    if let Some(a) = e.parse_attempts() {
        // A keyword where a name should be: pest's furthest attempt is the end-of-word check
        // inside the keyword look-ahead, which says nothing useful; keep its rule-level report.
        let keyword_at_loc = matches!(
            lex::tokens(&text[pos.min(text.len())..]).next(),
            Some((Ok(lex::Token::Keyword | lex::Token::Literal), s)) if pos + s.end == a.max_position
        );
        if !keyword_at_loc {
            pos = pos.max(a.max_position);
            let shown: Vec<String> = a.expected_tokens().iter().map(|t| t.to_string()).collect();
            expected = expected_from_tokens(&shown);
        }
    }
    if expected.is_empty()
        && let ErrorVariant::ParsingError { positives, .. } = &e.variant
    {
        for r in positives {
            let d = describe(*r).to_string();
            if !d.is_empty() && !expected.contains(&d) {
                expected.push(d);
            }
        }
    }
    let (found, span) = found_at(text, pos);
    let label = match expected.len() {
        0 => "not expected here".to_string(),
        1 => format!("expected {}", expected[0]),
        n => format!(
            "expected {} or {}",
            expected[..n - 1].join(", "),
            expected[n - 1]
        ),
    };
    if let Some(h) = super::habits::statement(text, pos) {
        return Diag::error(h.message, h.span).label(h.label).help(h.help);
    }
    let hint = syntax_hint(&found, &expected);
    Diag::error(format!("unexpected {found}"), span)
        .label(label)
        .help_opt(hint)
}

/// Summarises the tokens pest tried at the failing position (as pest displays them: the literal
/// text, or `a..z` for a character range) in words.
fn expected_from_tokens(tokens: &[String]) -> Vec<String> {
    const OPERATORS: [&str; 15] = [
        "+", "-", "*", "/", "@", "^", "..", "==", "!=", "<", "<=", ">", ">=", "and", "or",
    ];
    const EXPR_WORDS: [&str; 7] = ["\"", "NA", "true", "false", "p", "logp", "not"];
    let mut end_of_statement = false;
    let mut expression = false;
    let mut operator = false;
    let mut punct = Vec::new();
    for tok in tokens.iter().map(String::as_str) {
        let is_range = tok.chars().count() == 4 && tok.get(1..3) == Some("..");
        match tok {
            ";" | "\n" | "\r\n" => end_of_statement = true,
            // A number's exponent (`1e5`) could follow a digit: not worth naming.
            " " | "\t" | "\r" | "#" | "`" | "(" | "[" | "." | "_" | "" | "e" | "E" => {}
            _ if is_range || EXPR_WORDS.contains(&tok) => expression = true,
            _ if OPERATORS.contains(&tok) => operator = true,
            _ => punct.push(format!("`{tok}`")),
        }
    }
    let mut out = Vec::new();
    if end_of_statement {
        out.push("a newline or `;`".to_string());
    }
    out.extend(punct);
    if expression {
        out.push("an expression".to_string());
    } else if operator {
        out.push("an operator".to_string());
    }
    out
}

/// A fix for common slips, judged from what was found and what was expected.
fn syntax_hint(found: &str, expected: &[String]) -> Option<String> {
    let expects = |s: &str| expected.iter().any(|e| e == s);
    if expects("`param`") && found.starts_with("keyword") {
        return Some(
            "a model holds only const, param, plate, chain and `name ~ Dist(...)` items; put statements after the model's closing `}`".into(),
        );
    }
    if found.starts_with("keyword") && (expects("a name") || expects("an expression")) {
        return Some("reserved words cannot be names; pick another name".into());
    }
    if found == "`:`" && expects("`]`") {
        return Some(
            "`:` stands alone for a whole axis (`M[:, j]`); for a range of indices write `a..b`, e.g. `v[0..3]`".into(),
        );
    }
    if found == "`=`" && expects("an operator") {
        return Some("to compare, write `==`; to define a name, write `let name = ...`".into());
    }
    if expects("a newline or `;`") && !found.starts_with("end") {
        return Some("write one statement per line, or separate them with `;`".into());
    }
    if expects("an expression") {
        return Some("a value goes here: a number, a name, a list `[...]` or an expression".into());
    }
    match expected {
        [one] if one.starts_with('`') => {
            Some(format!("insert {one} here, or look for a typo before it"))
        }
        _ => None,
    }
}

/// Describes the token at `pos` for a message, and its span.
fn found_at(text: &str, pos: usize) -> (String, Span) {
    let rest = &text[pos.min(text.len())..];
    match lex::tokens(rest).next() {
        None => ("end of file".into(), Span::new(text.len(), text.len())),
        Some((tok, sp)) => {
            let span = Span::new(pos + sp.start, pos + sp.end);
            let src = &rest[sp.start..sp.end];
            let what = match tok {
                Ok(lex::Token::Newline) => return ("end of line".into(), Span::new(pos, pos)),
                Ok(lex::Token::Keyword) | Ok(lex::Token::Literal) => format!("keyword `{src}`"),
                Ok(lex::Token::Number) => format!("number `{src}`"),
                Ok(lex::Token::Str) => "string".to_string(),
                Ok(lex::Token::Ident) => format!("name `{src}`"),
                _ => format!("`{src}`"),
            };
            (what, span)
        }
    }
}

/// The human name of a grammar rule, for "expected ..." messages. No wildcard arm: a new rule
/// must say how it is described.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::WHITESPACE | Rule::bracket_newline | Rule::COMMENT | Rule::sep => "end of line",
        Rule::stmts | Rule::stmt => "a statement",
        Rule::items | Rule::item => "a model item (const, param, plate or `name ~ Dist(...)`)",
        Rule::infix => "an operator",
        Rule::prefix | Rule::primary | Rule::arg | Rule::index_item => "an expression",
        Rule::postfix => "an index, a field or arguments",
        Rule::ident_char => "",
        Rule::open_paren => "`(`",
        Rule::close_paren => "`)`",
        Rule::open_bracket => "`[`",
        Rule::close_bracket => "`]`",
        Rule::block_open => "`{`",
        Rule::block_close => "`}`",
        Rule::assign_op => "`=`",
        Rule::given => "`|`",
        Rule::colon => "`:`",
        Rule::tilde => "`~`",
        Rule::program | Rule::script => "a statement",
        Rule::model_decl => "a model",
        Rule::model_params => "the template's arguments `(K)`",
        Rule::let_stmt | Rule::assign_stmt | Rule::print_stmt | Rule::assert_stmt => "a statement",
        Rule::for_stmt | Rule::expr_stmt => "a statement",
        Rule::const_item
        | Rule::param_item
        | Rule::plate_item
        | Rule::chain_item
        | Rule::tilde_item => "a model item (const, param, plate, chain or `name ~ Dist(...)`)",
        Rule::chain_by => "`by COLUMN`",
        Rule::then_dist => "`then Dist(...)`",
        Rule::kw_chain => "`chain`",
        Rule::kw_by => "`by`",
        Rule::kw_then => "`then`",
        Rule::dims => "dimensions `[...]`",
        Rule::type_spec => "a parameter type such as `real` or `simplex[2]`",
        Rule::prior => "a prior `~ Dist(...)`",
        Rule::expr | Rule::paren | Rule::list | Rule::query | Rule::query_head => "an expression",
        Rule::number | Rule::string | Rule::string_inner => "an expression",
        Rule::kw_true | Rule::kw_false | Rule::kw_na => "an expression",
        Rule::op_not | Rule::op_neg => "an expression",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_range
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_matmul
        | Rule::op_pow => "an operator",
        Rule::call_args => "arguments `(...)`",
        Rule::index | Rule::query_index => "an index `[...]`",
        Rule::field | Rule::method_query => "a field `.name`",
        Rule::named_arg => "an argument",
        Rule::index_all => "`:`",
        Rule::query_body => "`(`",
        Rule::query_targets | Rule::query_given | Rule::query_term => "a variable of the model",
        Rule::ident => "a name",
        Rule::keyword => "",
        Rule::kw_model => "`model`",
        Rule::kw_param => "`param`",
        Rule::kw_const => "`const`",
        Rule::kw_plate => "`plate`",
        Rule::kw_let => "`let`",
        Rule::kw_print => "`print`",
        Rule::kw_assert => "`assert`",
        Rule::kw_for => "`for`",
        Rule::kw_in => "`in`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
    }
}

fn span_of(p: &Pair<Rule>) -> Span {
    Span::new(p.as_span().start(), p.as_span().end())
}

/// The span of a statement or item without the whitespace and comments that pest's implicit
/// whitespace leaves at the end of a rule ending in an optional part.
fn tight_span(p: &Pair<Rule>) -> Span {
    let span = span_of(p);
    let end = lex::tokens(p.as_str())
        .filter(|(t, _)| !matches!(t, Ok(lex::Token::Comment | lex::Token::Newline)))
        .last()
        .map_or(span.end, |(_, s)| span.start + s.end);
    Span::new(span.start, end)
}

/// A parsed operand with what the checks on its parent need to know.
struct Parsed {
    expr: Expr,
    size: Size,
    /// Written in parentheses (so `(a < b) < c` is not a chained comparison).
    grouped: bool,
}

/// Builds AST nodes from pest pairs, collecting errors as it goes.
struct Builder {
    errors: Vec<Diag>,
}

impl Builder {
    fn stmts(&mut self, pairs: Pairs<Rule>) -> Vec<Stmt> {
        pairs
            .filter(|p| p.as_rule() != Rule::EOI)
            .filter_map(|p| self.stmt(p))
            .collect()
    }

    fn stmt(&mut self, p: Pair<Rule>) -> Option<Stmt> {
        let span = tight_span(&p);
        let rule = p.as_rule();
        let mut inner = p.into_inner();
        let kind = match rule {
            Rule::model_decl => {
                inner.next(); // `model`
                let name = ident(inner.next()?);
                let mut params = None;
                let mut items = Vec::new();
                for q in inner {
                    match q.as_rule() {
                        Rule::model_params => params = Some(q.into_inner().map(ident).collect()),
                        _ => items.extend(self.item(q)),
                    }
                }
                StmtKind::Model(ModelDecl {
                    name,
                    params,
                    items,
                })
            }
            Rule::let_stmt => {
                inner.next(); // `let`
                let name = ident(inner.next()?);
                let value = self.expr(inner.next()?)?;
                StmtKind::Let { name, value }
            }
            Rule::assign_stmt => {
                let name = ident(inner.next()?);
                let value = self.expr(inner.next()?)?;
                StmtKind::Assign { name, value }
            }
            Rule::print_stmt => {
                inner.next(); // `print`
                let args: Option<Vec<Expr>> = inner.map(|e| self.expr(e)).collect();
                StmtKind::Print(args?)
            }
            Rule::assert_stmt => {
                inner.next(); // `assert`
                let cond = self.expr(inner.next()?)?;
                let message = match inner.next() {
                    Some(m) => Some(self.expr(m)?),
                    None => None,
                };
                StmtKind::Assert { cond, message }
            }
            Rule::for_stmt => {
                inner.next(); // `for`
                let var = ident(inner.next()?);
                inner.next(); // `in`
                let iter = self.expr(inner.next()?)?;
                let body = self.stmts(inner);
                StmtKind::For { var, iter, body }
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr(inner.next()?)?),
            _ => unreachable!("the grammar allows no other statement: {rule:?}"),
        };
        Some(Stmt { kind, span })
    }

    fn item(&mut self, p: Pair<Rule>) -> Option<Item> {
        let span = tight_span(&p);
        let rule = p.as_rule();
        let mut inner = p.into_inner();
        let kind = match rule {
            Rule::const_item => {
                inner.next(); // `const`
                let name = ident(inner.next()?);
                let value = self.expr(inner.next()?)?;
                ItemKind::Const { name, value }
            }
            Rule::param_item => {
                inner.next(); // `param`
                let name = ident(inner.next()?);
                let mut dims = Vec::new();
                let mut ty = None;
                let mut prior = None;
                let mut value = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::prior => {
                            let pspan = span_of(&q);
                            let mut t = q.into_inner();
                            let dist = ident(t.next()?);
                            let args = self.call_args(t.next()?)?;
                            prior = Some(Box::new(PriorSpec {
                                dist,
                                args,
                                span: pspan,
                            }));
                        }
                        Rule::dims => {
                            for d in q.into_inner() {
                                dims.push(self.expr(d)?);
                            }
                        }
                        Rule::type_spec => {
                            let tspan = span_of(&q);
                            let mut t = q.into_inner();
                            let tname = ident(t.next()?);
                            let size = match t.next() {
                                Some(s) => Some(self.expr(s)?),
                                None => None,
                            };
                            ty = Some(TypeSpec {
                                name: tname,
                                size,
                                span: tspan,
                            });
                        }
                        _ => value = Some(self.expr(q)?),
                    }
                }
                ItemKind::Param {
                    name,
                    dims,
                    ty: ty?,
                    prior,
                    value,
                }
            }
            Rule::plate_item => {
                inner.next(); // `plate`
                let name = ident(inner.next()?);
                let mut size = None;
                let mut items = Vec::new();
                for q in inner {
                    match q.as_rule() {
                        Rule::expr => size = Some(self.expr(q)?),
                        _ => items.extend(self.item(q)),
                    }
                }
                ItemKind::Plate { name, size, items }
            }
            Rule::chain_item => {
                inner.next(); // `chain`
                let name = ident(inner.next()?);
                let mut by = None;
                let mut items = Vec::new();
                for q in inner {
                    match q.as_rule() {
                        Rule::chain_by => by = q.into_inner().nth(1).map(ident),
                        _ => items.extend(self.item(q)),
                    }
                }
                ItemKind::Chain { name, by, items }
            }
            Rule::tilde_item => {
                let name = ident(inner.next()?);
                let dist = ident(inner.next()?);
                let args = self.call_args(inner.next()?)?;
                let then = match inner.next() {
                    Some(t) => {
                        let span = span_of(&t);
                        let mut t = t.into_inner();
                        t.next(); // `then`
                        let dist = ident(t.next()?);
                        let args = self.call_args(t.next()?)?;
                        Some(Box::new(ThenSpec { dist, args, span }))
                    }
                    None => None,
                };
                ItemKind::Tilde {
                    name,
                    dist,
                    args,
                    then,
                }
            }
            _ => unreachable!("the grammar allows no other item: {rule:?}"),
        };
        Some(Item { kind, span })
    }

    /// Parses an `expr` pair; records an error and returns `None` when it is too deep or malformed.
    fn expr(&mut self, p: Pair<Rule>) -> Option<Expr> {
        match expr_parsed(p) {
            Ok(parsed) => Some(parsed.expr),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }

    fn call_args(&mut self, p: Pair<Rule>) -> Option<Vec<Arg>> {
        match call_args_parsed(p) {
            Ok((args, _)) => Some(args),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }
}

fn expr_parsed(p: Pair<Rule>) -> Result<Parsed, Diag> {
    let span = span_of(&p);
    let pairs = p.into_inner();
    // Prefix operators and `^` recurse in the Pratt parser; bound them before it runs.
    let recursing = pairs
        .clone()
        .filter(|q| matches!(q.as_rule(), Rule::op_neg | Rule::op_not | Rule::op_pow))
        .count();
    if recursing > MAX_EXPR_DEPTH {
        return Err(too_deep(span));
    }
    PRATT
        .map_primary(primary)
        .map_prefix(|op, rhs| {
            let rhs = rhs?;
            let o = match op.as_rule() {
                Rule::op_neg => UnOp::Neg,
                _ => UnOp::Not,
            };
            let span = span_of(&op).to(rhs.expr.span);
            node(ExprKind::Unary(o, Box::new(rhs.expr)), span, rhs.size.up())
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let o = binop(op.as_rule());
            if o.assoc() == Assoc::None
                && !lhs.grouped
                && lhs.expr.precedence() == o.precedence()
                && matches!(lhs.expr.kind, ExprKind::Binary(..))
            {
                let what = if o == BinOp::Range {
                    "ranges"
                } else {
                    "comparisons"
                };
                return Err(Diag::error(
                    format!("{what} do not chain"),
                    lhs.expr.span.to(rhs.expr.span),
                )
                .label("two operators of this kind in a row")
                .help("add parentheses, or for comparisons write `a < b and b < c`"));
            }
            let span = lhs.expr.span.to(rhs.expr.span);
            // `a + b + c`: the left operand is the chain so far, one level, however long.
            let continues = o.assoc() == Assoc::Left
                && !lhs.grouped
                && matches!(lhs.expr.kind, ExprKind::Binary(..))
                && lhs.expr.precedence() == o.precedence();
            let size = if continues {
                Size {
                    depth: lhs.size.depth.max(rhs.size.depth + 1),
                    height: lhs.size.height.max(rhs.size.height) + 1,
                }
            } else {
                lhs.size.max(rhs.size).up()
            };
            node(
                ExprKind::Binary(o, Box::new(lhs.expr), Box::new(rhs.expr)),
                span,
                size,
            )
        })
        .map_postfix(|lhs, op| postfix(lhs?, op))
        .parse(pairs)
}

fn primary(p: Pair<Rule>) -> Result<Parsed, Diag> {
    let span = span_of(&p);
    let kind = match p.as_rule() {
        Rule::number => {
            let text = p.as_str().to_string();
            let value: f64 = text
                .parse()
                .map_err(|_| Diag::error("malformed number", span))?;
            if !value.is_finite() {
                return Err(Diag::error("number too large for a 64-bit float", span)
                    .label("overflows to infinity")
                    .help("numbers must be below about 1.8e308"));
            }
            ExprKind::Number { value, text }
        }
        Rule::string => {
            let raw = p.into_inner().next().map_or("", |s| s.as_str());
            ExprKind::Str(unescape(raw))
        }
        Rule::kw_true => ExprKind::Bool(true),
        Rule::kw_false => ExprKind::Bool(false),
        Rule::kw_na => ExprKind::Na,
        Rule::ident => ExprKind::Name(p.as_str().to_string()),
        Rule::paren => {
            let inner = p
                .into_inner()
                .next()
                .expect("parentheses hold an expression");
            let mut parsed = expr_parsed(inner)?;
            parsed.grouped = true;
            parsed.size.depth += 1;
            check_size(&parsed.expr, parsed.size)?;
            return Ok(parsed);
        }
        Rule::list => {
            let mut items = Vec::new();
            let mut size = Size::default();
            for q in p.into_inner() {
                let e = expr_parsed(q)?;
                size = size.max(e.size);
                items.push(e.expr);
            }
            return node(ExprKind::List(items), span, size.up());
        }
        Rule::query => {
            let mut inner = p.into_inner();
            let head = inner.next().expect("a query has a head");
            let (q, size) = query(head.as_str() == "logp", None, inner.next())?;
            return node(ExprKind::Query(q), span, size.up());
        }
        r => unreachable!("the grammar allows no other operand: {r:?}"),
    };
    node(kind, span, Size::default().up())
}

fn postfix(lhs: Parsed, op: Pair<Rule>) -> Result<Parsed, Diag> {
    let span = lhs.expr.span.to(span_of(&op));
    let base = Box::new(lhs.expr);
    match op.as_rule() {
        Rule::call_args => {
            let args = call_args_parsed(op)?;
            node(
                ExprKind::Call(base, args.0),
                span,
                args.1.max(lhs.size).up(),
            )
        }
        Rule::index => {
            let mut items = Vec::new();
            let mut size = lhs.size;
            for q in op.into_inner() {
                if q.as_rule() == Rule::index_all {
                    items.push(IndexItem::All(span_of(&q)));
                } else {
                    let e = expr_parsed(q)?;
                    size = size.max(e.size);
                    items.push(IndexItem::At(e.expr));
                }
            }
            node(ExprKind::Index(base, items), span, size.up())
        }
        Rule::field => {
            let name = ident(op.into_inner().next().expect("a field has a name"));
            node(ExprKind::Field(base, name), span, lhs.size.up())
        }
        Rule::method_query => {
            let mut inner = op.into_inner();
            let head = inner.next().expect("a query has a head");
            let (q, size) = query(head.as_str() == "logp", Some(base), inner.next())?;
            node(ExprKind::Query(q), span, size.max(lhs.size).up())
        }
        r => unreachable!("the grammar allows no other postfix: {r:?}"),
    }
}

fn query(
    log: bool,
    model: Option<Box<Expr>>,
    body: Option<Pair<Rule>>,
) -> Result<(Query, Size), Diag> {
    let mut targets = Vec::new();
    let mut given = Vec::new();
    let mut size = Size::default();
    for part in body.expect("a query has a body").into_inner() {
        let is_given = part.as_rule() == Rule::query_given;
        for term in part.into_inner() {
            let mut t = term.into_inner();
            let var = ident(t.next().expect("a query term names a variable"));
            let mut rest = t.peekable();
            let index = match rest.next_if(|p| p.as_rule() == Rule::query_index) {
                Some(i) => {
                    let e = expr_parsed(i.into_inner().next().expect("an index expression"))?;
                    size = size.max(e.size);
                    Some(e.expr)
                }
                None => None,
            };
            let value = match rest.next() {
                Some(v) => {
                    let e = expr_parsed(v)?;
                    size = size.max(e.size);
                    Some(e.expr)
                }
                None => None,
            };
            if is_given && value.is_none() {
                return Err(Diag::error(
                    format!("`{}` after `|` needs a value", var.name),
                    var.span,
                )
                .label("conditions are assignments")
                .help(format!(
                    "write `{} = ...`, or move it before `|` to ask about it",
                    var.name
                )));
            }
            let t = QueryTerm { var, index, value };
            if is_given {
                given.push(t);
            } else {
                targets.push(t);
            }
        }
    }
    Ok((
        Query {
            log,
            model,
            targets,
            given,
        },
        size,
    ))
}

fn call_args_parsed(p: Pair<Rule>) -> Result<(Vec<Arg>, Size), Diag> {
    let mut args: Vec<Arg> = Vec::new();
    let mut size = Size::default();
    for q in p.into_inner() {
        let arg = if q.as_rule() == Rule::named_arg {
            let mut inner = q.into_inner();
            let name = ident(inner.next().expect("a named argument has a name"));
            let e = expr_parsed(inner.next().expect("a named argument has a value"))?;
            size = size.max(e.size);
            Arg {
                name: Some(name),
                value: e.expr,
            }
        } else {
            let e = expr_parsed(q)?;
            size = size.max(e.size);
            if let Some(named) = args.iter().rev().find_map(|a| a.name.as_ref()) {
                return Err(
                    Diag::error("positional argument after a named one", e.expr.span)
                        .label("positional")
                        .related(named.span, "named argument before it")
                        .help("put positional arguments first, then named ones"),
                );
            }
            Arg {
                name: None,
                value: e.expr,
            }
        };
        args.push(arg);
    }
    Ok((args, size))
}

fn node(kind: ExprKind, span: Span, size: Size) -> Result<Parsed, Diag> {
    let expr = Expr { kind, span };
    check_size(&expr, size)?;
    Ok(Parsed {
        expr,
        size,
        grouped: false,
    })
}

fn check_size(expr: &Expr, size: Size) -> Result<(), Diag> {
    if size.depth > MAX_EXPR_DEPTH {
        Err(too_deep(expr.span))
    } else if size.height > MAX_HEIGHT {
        Err(Diag::error(
            format!("expression more than {MAX_HEIGHT} operations long"),
            Span::new(expr.span.start, expr.span.start + 1),
        )
        .label("this expression is too long")
        .help("compute it in pieces with `let`, or add up a vector with sum(...)"))
    } else {
        Ok(())
    }
}

fn too_deep(span: Span) -> Diag {
    Diag::error(
        format!("expression nested more than {MAX_EXPR_DEPTH} levels deep"),
        Span::new(span.start, span.start + 1),
    )
    .label("this expression is too deep")
    .help("split it into smaller pieces with `let`")
}

fn binop(rule: Rule) -> BinOp {
    match rule {
        Rule::op_or => BinOp::Or,
        Rule::op_and => BinOp::And,
        Rule::op_eq => BinOp::Eq,
        Rule::op_ne => BinOp::Ne,
        Rule::op_lt => BinOp::Lt,
        Rule::op_le => BinOp::Le,
        Rule::op_gt => BinOp::Gt,
        Rule::op_ge => BinOp::Ge,
        Rule::op_range => BinOp::Range,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_div => BinOp::Div,
        Rule::op_matmul => BinOp::MatMul,
        Rule::op_pow => BinOp::Pow,
        r => unreachable!("not an infix operator: {r:?}"),
    }
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: span_of(&p),
    }
}

/// Resolves the escapes the grammar admits: \" \\ \n \t.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::lex::Token;
    use std::collections::HashMap;

    /// The token class the logos lexer must give each leaf of the pest tree.
    fn expected_class(rule: Rule) -> Option<&'static [Token]> {
        Some(match rule {
            Rule::number => &[Token::Number],
            Rule::string => &[Token::Str],
            Rule::ident | Rule::query_head => &[Token::Ident],
            Rule::kw_true | Rule::kw_false | Rule::kw_na => &[Token::Literal],
            Rule::op_or | Rule::op_and | Rule::op_not => &[Token::Keyword],
            // Words only in their place (section 9.4), names to the lexer.
            Rule::kw_chain | Rule::kw_by | Rule::kw_then => &[Token::Ident],
            r if format!("{r:?}").starts_with("kw_") => &[Token::Keyword],
            r if format!("{r:?}").starts_with("op_") => &[Token::Punct],
            Rule::index_all => &[Token::Punct],
            _ => return None,
        })
    }

    /// The grammar and the logos lexer agree on every token of every example and UI program:
    /// each pest leaf is exactly one logos token of the matching class.
    #[test]
    fn lexer_agrees_with_grammar() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for dir in ["examples", "tests/ui", "tests/fmt"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("folder") {
                let path = entry.expect("entry").path();
                if path.extension().is_none_or(|e| e != "gmm") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                let Ok(pairs) = GmmParser::parse(Rule::program, &text) else {
                    continue;
                };
                let lexed: HashMap<(usize, usize), Token> = lex::tokens(&text)
                    .filter_map(|(t, s)| Some(((s.start, s.end), t.ok()?)))
                    .collect();
                for pair in pairs.flatten() {
                    let Some(classes) = expected_class(pair.as_rule()) else {
                        continue;
                    };
                    let span = (pair.as_span().start(), pair.as_span().end());
                    let got = lexed.get(&span);
                    assert!(
                        got.is_some_and(|t| classes.contains(t)),
                        "{}: {:?} `{}` at {span:?}: the lexer says {got:?}",
                        path.display(),
                        pair.as_rule(),
                        pair.as_str()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 500, "only {checked} tokens compared");
    }
}
