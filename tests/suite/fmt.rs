//! `gmm fmt`: canonical layout that is idempotent, keeps comments, and parses back to the
//! same AST (spans aside), over every example, every parseable UI program and the spec.

use crate::common;

use gmm::syntax::{self, fmt::format_program};
use std::process::Command;

fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["examples", "tests/ui", "tests/fmt"] {
        for f in common::gmm_files(dir) {
            let text = std::fs::read_to_string(&f).expect("readable");
            out.push((f.display().to_string(), text));
        }
    }
    for (i, p) in common::spec_programs().into_iter().enumerate() {
        out.push((format!("LANGUAGE.md block {i}"), p));
    }
    out
}

fn comments(text: &str) -> usize {
    gmm::syntax::lex::tokens(text)
        .filter(|(t, _)| *t == Ok(gmm::syntax::lex::Token::Comment))
        .count()
}

#[test]
fn fmt_is_idempotent_and_preserves_the_ast() {
    let mut checked = 0;
    for (name, text) in corpus() {
        let Ok(program) = syntax::parse(&text) else {
            continue;
        };
        let once = format_program(&program, &text);
        let reparsed = syntax::parse(&once)
            .unwrap_or_else(|d| panic!("{name}: fmt output does not parse: {d:?}\n{once}"));
        assert_eq!(
            program.without_spans(),
            reparsed.without_spans(),
            "{name}: fmt changed the AST\n{once}"
        );
        let twice = format_program(&reparsed, &once);
        assert_eq!(once, twice, "{name}: fmt is not idempotent");
        assert_eq!(
            comments(&text),
            comments(&once),
            "{name}: comments lost\n{once}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} programs formatted");
}

#[test]
fn fmt_layout_golden() {
    let root = common::root();
    let out = Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(["fmt", "tests/fmt/messy.gmm"])
        .current_dir(root)
        .output()
        .expect("gmm runs");
    assert_eq!(out.status.code(), Some(0));
    let expected = std::fs::read_to_string(root.join("tests/fmt/messy.expected")).expect("golden");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}
