//! The language specification's programs and the examples pass `gmm check` and run; the syntax
//! of section 1 and 4 parses with the stated precedence.

use crate::common;

use gmm::check::check_program;
use gmm::diag::Source;
use gmm::syntax::{self, BinOp, ExprKind, StmtKind, UnOp};

fn check_clean(name: &str, text: &str) {
    let src = Source::new(name, text);
    let program = syntax::parse(text).unwrap_or_else(|d| panic!("{}", src.render(&d)));
    let checked = check_program(&program);
    assert!(!checked.has_errors(), "{}", src.render(&checked.diags));
}

/// Checks and runs a program, its output discarded.
fn run_clean(name: &str, text: &str) {
    check_clean(name, text);
    let src = Source::new(name, text);
    let program = syntax::parse(text).expect("parsed above");
    let mut interp =
        gmm::interp::Interp::new(common::root().join("examples"), Box::new(std::io::sink()));
    if let Err(d) = interp.run(&program, text) {
        panic!("{}", src.render(&d));
    }
}

#[test]
fn spec_programs_run() {
    let programs = common::spec_programs();
    assert!(programs.len() >= 2, "found {} programs", programs.len());
    for (i, p) in programs.iter().enumerate() {
        run_clean(&format!("LANGUAGE.md block {i}"), p);
    }
}

#[test]
fn spec_programs_pass_check() {
    let programs = common::spec_programs();
    assert!(programs.len() >= 2, "found {} programs", programs.len());
    for (i, p) in programs.iter().enumerate() {
        check_clean(&format!("LANGUAGE.md block {i}"), p);
    }
}

#[test]
fn readme_programs_run() {
    let text = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let programs: Vec<String> = common::code_blocks(&text)
        .into_iter()
        .filter(|b| b.starts_with("model"))
        .collect();
    assert!(programs.len() >= 2);
    for (i, p) in programs.iter().enumerate() {
        run_clean(&format!("README block {i}"), p);
    }
}

#[test]
fn examples_pass_check() {
    let files = common::gmm_files("examples");
    assert!(files.len() >= 3);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        check_clean(&f.display().to_string(), &text);
    }
}

/// The expression in `let _e = <text>`.
fn expr(text: &str) -> syntax::Expr {
    let p = syntax::parse(&format!("let _e = {text}\n"))
        .unwrap_or_else(|d| panic!("{text}: {}", Source::new("e", text).render(&d)));
    match p.stmts.into_iter().next().map(|s| s.kind) {
        Some(StmtKind::Let { value, .. }) => value,
        other => panic!("not a let: {other:?}"),
    }
}

fn binop(e: &syntax::Expr) -> BinOp {
    match &e.kind {
        ExprKind::Binary(op, _, _) => *op,
        k => panic!("not binary: {k:?}"),
    }
}

#[test]
fn precedence_follows_section_4() {
    // -2^2 is -(2^2); 2^-1 is 2^(-1).
    match expr("-2^2").kind {
        ExprKind::Unary(UnOp::Neg, inner) => assert_eq!(binop(&inner), BinOp::Pow),
        k => panic!("{k:?}"),
    }
    match expr("2^-1").kind {
        ExprKind::Binary(BinOp::Pow, _, r) => {
            assert!(matches!(r.kind, ExprKind::Unary(UnOp::Neg, _)))
        }
        k => panic!("{k:?}"),
    }
    // ^ is right-associative.
    match expr("2^3^2").kind {
        ExprKind::Binary(BinOp::Pow, l, r) => {
            assert!(matches!(l.kind, ExprKind::Number { .. }));
            assert_eq!(binop(&r), BinOp::Pow);
        }
        k => panic!("{k:?}"),
    }
    // or < and < not < comparison < .. < + < * < @.
    assert_eq!(binop(&expr("a or b and c")), BinOp::Or);
    assert_eq!(binop(&expr("a and b == c")), BinOp::And);
    assert_eq!(binop(&expr("a == b + c")), BinOp::Eq);
    assert_eq!(binop(&expr("0..n + 1")), BinOp::Range);
    assert_eq!(binop(&expr("a + b * c")), BinOp::Add);
    assert_eq!(binop(&expr("a * b @ c")), BinOp::Mul);
    assert_eq!(binop(&expr("a - b - c")), BinOp::Sub);
    match expr("not a == b").kind {
        ExprKind::Unary(UnOp::Not, inner) => assert_eq!(binop(&inner), BinOp::Eq),
        k => panic!("{k:?}"),
    }
    // Postfix binds tightest: -x[0] is -(x[0]).
    match expr("-x[0]").kind {
        ExprKind::Unary(UnOp::Neg, inner) => assert!(matches!(inner.kind, ExprKind::Index(..))),
        k => panic!("{k:?}"),
    }
}

#[test]
fn numbers_parse_as_specified() {
    for (text, want) in [
        ("3", 3.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e-6", 1e-6),
        ("2.5E3", 2500.0),
        ("1e+100", 1e100),
    ] {
        match expr(text).kind {
            ExprKind::Number { value, .. } => assert_eq!(value, want, "{text}"),
            k => panic!("{text}: {k:?}"),
        }
    }
    match expr("0..20").kind {
        ExprKind::Binary(BinOp::Range, ..) => {}
        k => panic!("{k:?}"),
    }
}

#[test]
fn section_4_forms_parse() {
    let program = r#"
model grades {
    param p : prob = 0.5          # `p` is an ordinary name outside p(
    param mu[2] : real = [2.5, 4.8]
    param S[2] : cov[2] = [[[1, 0], [0, 1]], [[2, 0], [0, 2]]]
    plate rows { z ~ Bernoulli(p); x ~ Normal(mu[z], 1.0) }
}
let M = [[1, 0],
         [0, 1],]                  # a newline inside brackets, a trailing comma
let v = linspace(0, 1, 30)
print M[:, 0], M[0, 1], M[1], v[0..20], grades.S[0, 1, 1], col(v), row(v) @ col(v)
print p(x = 3.0), p(z | x = 3.0), p(z = 1, x = 3.0), p(z = 1 | x = 3.0), p(x | z = 1), p(x)
print logp(x = 1e100), grades.p(z | x = v), grades.logp(x = v)
let s = "a \"quoted\" word\tand a \\ backslash\n"; let missing = NA
let d = sample(grades, 100, seed = 1,)
for i in 0..3 {
    let sq = i ^ 2
    s = "changed"
}
assert all(v >= 0) and not any(v > 1), "v is in [0, 1]"
print true or false, 1 != 2, -2^2, 2^-1
"#;
    check_clean("section 4", program);
}

#[test]
fn strings_resolve_escapes() {
    match expr(r#""a\"b\\c\nd\te""#).kind {
        ExprKind::Str(s) => assert_eq!(s, "a\"b\\c\nd\te"),
        k => panic!("{k:?}"),
    }
}
