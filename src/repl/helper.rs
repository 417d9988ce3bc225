//! The line editor's helper: highlighting and completion from the logos token classes, the
//! built-in table and the session's names.

use super::COMMANDS;
use crate::syntax::lex::{Token, tokens};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// The names in scope, each with the fields completion offers after `name.`.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `(name, fields)` in name order.
    pub names: Vec<(String, Vec<String>)>,
}

/// The rustyline helper of a session.
pub struct GmmHelper {
    scope: Rc<RefCell<Scope>>,
    files: FilenameCompleter,
}

impl GmmHelper {
    /// A helper that completes from `scope` (updated by the session after each input).
    pub fn new(scope: Rc<RefCell<Scope>>) -> GmmHelper {
        GmmHelper {
            scope,
            files: FilenameCompleter::new(),
        }
    }

    /// Candidates for the text before the cursor, and where the replaced word starts.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .last()
            .map_or(pos, |(i, _)| i);
        let word = &before[start..];
        let trimmed = before.trim_start();
        let mut out: Vec<String> = Vec::new();
        if trimmed.starts_with(':') {
            if !trimmed.contains(char::is_whitespace) {
                out.extend(COMMANDS.iter().map(|c| c.to_string()));
            } else if trimmed.starts_with(":help") {
                out.extend(super::help::TOPICS.iter().map(|t| t.to_string()));
                out.extend(crate::builtins::BUILTINS.iter().map(|b| b.name.to_string()));
            } else if trimmed.starts_with(":graph") || trimmed.starts_with(":joint") {
                out.extend(self.scope.borrow().names.iter().map(|(n, _)| n.clone()));
            }
        } else if before[..start].ends_with('.') {
            // A field: `name.` followed by part of a field.
            let owner = crate::syntax::lex::trailing_name(&before[..start - 1]);
            if let Some((_, fields)) = self.scope.borrow().names.iter().find(|(n, _)| *n == owner) {
                out.extend(fields.iter().cloned());
            }
        } else {
            out.extend(crate::syntax::lex::RESERVED.iter().map(|k| k.to_string()));
            out.extend(crate::syntax::lex::CONTEXTUAL.iter().map(|k| k.to_string()));
            out.extend(crate::builtins::BUILTINS.iter().map(|b| b.name.to_string()));
            out.extend(self.scope.borrow().names.iter().map(|(n, _)| n.clone()));
        }
        out.retain(|c| c.starts_with(word));
        out.sort();
        out.dedup();
        (start, out)
    }
}

/// Whether the cursor sits inside a string literal.
fn in_string(before: &str) -> bool {
    matches!(tokens(before).last(), Some((Ok(Token::UnterminatedStr), _)))
}

impl Completer for GmmHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if in_string(before) || before.trim_start().starts_with(":load ") {
            return self.files.complete_path(line, pos);
        }
        let (start, words) = self.candidates(line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

/// The colour of a token: keywords, built-in and distribution names, numbers, strings,
/// comments, and characters the language does not use (red).
fn colour(tok: &Result<Token, ()>, text: &str) -> Option<&'static str> {
    Some(match tok {
        Ok(Token::Keyword) => "\x1b[1;35m",
        Ok(Token::Literal) => "\x1b[35m",
        Ok(Token::Number) => "\x1b[33m",
        Ok(Token::Str | Token::UnterminatedStr) => "\x1b[32m",
        Ok(Token::Comment) => "\x1b[90m",
        Ok(Token::Ident) if crate::builtins::lookup(text).is_some() => "\x1b[36m",
        Err(()) => "\x1b[1;31m",
        _ => return None,
    })
}

/// `line` with ANSI colours per token.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut at = 0;
    for (tok, span) in tokens(line) {
        out.push_str(&line[at..span.start]);
        let text = &line[span.start..span.end];
        match colour(&tok, text) {
            Some(c) => {
                out.push_str(c);
                out.push_str(text);
                out.push_str("\x1b[0m");
            }
            None => out.push_str(text),
        }
        at = span.end;
    }
    out.push_str(&line[at..]);
    out
}

impl Highlighter for GmmHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Owned(highlight(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

impl Hinter for GmmHelper {
    type Hint = String;
}

/// Completeness is decided by the session's own loop (it shows a continuation prompt), so
/// every line the editor returns is accepted.
impl Validator for GmmHelper {}

impl Helper for GmmHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> GmmHelper {
        GmmHelper::new(Rc::new(RefCell::new(Scope {
            names: vec![
                (
                    "grades".into(),
                    vec!["mu".into(), "pi".into(), "sigma".into()],
                ),
                ("grid".into(), vec![]),
            ],
        })))
    }

    #[test]
    fn completes_names_fields_commands_and_builtins() {
        let h = helper();
        assert_eq!(
            h.candidates("print gr", 8),
            (6, vec!["grades".into(), "graph".into(), "grid".into()])
        );
        assert_eq!(h.candidates("grades.s", 8), (7, vec!["sigma".into()]));
        assert_eq!(h.candidates(":he", 3), (0, vec![":help".into()]));
        assert_eq!(h.candidates(":help fi", 8).1, vec!["fit".to_string()]);
        assert!(h.candidates("softm", 5).1.contains(&"softmax".to_string()));
        assert!(h.candidates("pl", 2).1.contains(&"plate".to_string()));
    }

    #[test]
    fn highlights_by_token_class() {
        let h = highlight("let x = pdf(Normal(0, 1), 2) # c");
        assert!(h.contains("\x1b[1;35mlet\x1b[0m"));
        assert!(h.contains("\x1b[36mpdf\x1b[0m"));
        assert!(h.contains("\x1b[33m0\x1b[0m"));
        assert!(h.contains("\x1b[90m# c\x1b[0m"));
        assert!(highlight("x $ 1").contains("\x1b[1;31m$\x1b[0m"));
        assert!(highlight("print \"a\"").contains("\x1b[32m\"a\"\x1b[0m"));
    }

    #[test]
    fn knows_when_the_cursor_is_in_a_string() {
        assert!(in_string("load(\"exa"));
        assert!(!in_string("load(\"examples\") "));
    }
}
