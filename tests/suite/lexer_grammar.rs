//! The REPL's logos lexer and the pest grammar see the same tokens: over every example and
//! every checker golden that parses, each name, number, string, reserved word and operator the
//! grammar matched is one logos token of the matching class at the same place, and each name,
//! number, string and reserved word logos finds is one the grammar matched.

use crate::common;

use gmm::syntax::lex::{Token, tokens};
use gmm::syntax::{Span, grammar_tokens};

#[test]
fn lexer_classes_agree_with_the_grammar() {
    let mut files = common::gmm_files("examples");
    files.extend(common::gmm_files("tests/ui"));
    files.extend(common::gmm_files("tests/ui_run"));
    let mut parsed = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let Some(grammar) = grammar_tokens(&text) else {
            continue;
        };
        parsed += 1;
        let lexed: Vec<(Token, Span)> = tokens(&text)
            .filter_map(|(t, s)| t.ok().map(|t| (t, s)))
            .filter(|(t, _)| !matches!(t, Token::Newline | Token::Comment))
            .collect();
        for (class, span) in &grammar {
            let found = lexed.iter().find(|(_, s)| s == span);
            assert_eq!(
                found.map(|(t, _)| *t),
                Some(*class),
                "{}: the grammar reads `{}` at {}..{} as {class:?}",
                f.display(),
                &text[span.start..span.end],
                span.start,
                span.end
            );
        }
        for (t, span) in &lexed {
            if matches!(
                t,
                Token::Number | Token::Str | Token::Ident | Token::Keyword | Token::Literal
            ) {
                assert!(
                    grammar.iter().any(|(c, s)| s == span && c == t),
                    "{}: logos reads `{}` at {}..{} as {t:?}, the grammar does not",
                    f.display(),
                    &text[span.start..span.end],
                    span.start,
                    span.end
                );
            }
        }
    }
    assert!(parsed >= 30, "only {parsed} files parsed");
}
