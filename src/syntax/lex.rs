//! The token-level view of the language (logos): bracket balance, strings and nesting depth
//! before parsing, and the token classes the REPL highlights and completes.

use super::Span;
use crate::diag::Diag;
use logos::Logos;

/// The deepest bracket nesting a program may use. Deeper input is refused before parsing,
/// so that no input can overflow the parser's stack.
pub const MAX_NESTING: usize = 64;

/// The reserved words and literals (section 1), each a `Keyword` or `Literal` token.
pub const RESERVED: [&str; 15] = [
    "model", "param", "const", "plate", "let", "print", "assert", "for", "in", "true", "false",
    "and", "or", "not", "NA",
];

/// Words with a meaning only in their place in a model (section 9.4), names elsewhere: the
/// lexer sees names, completion offers them as keywords.
pub const CONTEXTUAL: [&str; 4] = ["chain", "by", "then", "prev"];

/// One token of the language. Whitespace other than newlines is skipped.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t\r]+")]
pub enum Token {
    /// `# ...` to the end of the line.
    #[regex(r"#[^\n]*", allow_greedy = true)]
    Comment,
    /// A newline: ends a statement outside brackets.
    #[token("\n")]
    Newline,
    /// A complete string literal.
    #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
    Str,
    /// A string literal that reaches the end of its line.
    #[regex(r#""([^"\\\n]|\\[^\n])*"#)]
    UnterminatedStr,
    /// A number literal.
    #[regex(r"([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?")]
    Number,
    /// A reserved word.
    #[token("model")]
    #[token("param")]
    #[token("const")]
    #[token("plate")]
    #[token("let")]
    #[token("print")]
    #[token("assert")]
    #[token("for")]
    #[token("in")]
    #[token("and")]
    #[token("or")]
    #[token("not")]
    Keyword,
    /// `true`, `false` or `NA`.
    #[token("true")]
    #[token("false")]
    #[token("NA")]
    Literal,
    /// A name.
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// Operators and punctuation.
    #[token("==")]
    #[token("!=")]
    #[token("<=")]
    #[token(">=")]
    #[token("<")]
    #[token(">")]
    #[token("..")]
    #[token("+")]
    #[token("-")]
    #[token("*")]
    #[token("/")]
    #[token("@")]
    #[token("^")]
    #[token("=")]
    #[token("~")]
    #[token("|")]
    #[token(":")]
    #[token(",")]
    #[token(";")]
    #[token(".")]
    Punct,
}

/// The name (letters, digits, `_`) that ends `text`, possibly empty: the word a completion
/// replaces, or the owner before a `.`.
pub fn trailing_name(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// Splits `text` into tokens with their spans; `Err` marks a character the language does not use.
pub fn tokens(text: &str) -> impl Iterator<Item = (Result<Token, ()>, Span)> + '_ {
    Token::lexer(text)
        .spanned()
        .map(|(t, r)| (t, Span::new(r.start, r.end)))
}

/// Checks what the grammar cannot explain well: unknown characters, unterminated strings and
/// unbalanced or too deeply nested brackets. Returns every problem found.
pub fn prescan(text: &str) -> Vec<Diag> {
    let mut diags = Vec::new();
    let mut open: Vec<(Token, Span)> = Vec::new();
    for (tok, span) in tokens(text) {
        match tok {
            Err(()) => {
                let ch = text[span.start..].chars().next().unwrap_or('?');
                let help = if ch == '?' {
                    super::habits::question_mark(text, span.start)
                } else {
                    "remove it, or put it inside a string or a # comment".into()
                };
                diags.push(
                    Diag::error(format!("unexpected character `{}`", ch.escape_default()), span)
                        .label("not part of the language")
                        .help(help),
                );
            }
            Ok(Token::Str) => {
                let body = &text[span.start + 1..span.end - 1];
                let mut chars = body.char_indices();
                while let Some((i, c)) = chars.next() {
                    if c != '\\' {
                        continue;
                    }
                    match chars.next() {
                        Some((_, '"' | '\\' | 'n' | 't')) => {}
                        Some((j, other)) => {
                            let at = span.start + 1 + i;
                            diags.push(
                                Diag::error(
                                    format!("unknown escape `\\{}` in a string", other.escape_default()),
                                    Span::new(at, span.start + 1 + j + other.len_utf8()),
                                )
                                .label("not an escape")
                                .help("the escapes are \\\" \\\\ \\n \\t; write a backslash as \\\\"),
                            );
                        }
                        None => {}
                    }
                }
            }
            Ok(Token::UnterminatedStr) => diags.push(
                Diag::error(
                    "unterminated string",
                    Span::new(span.start, span.start + 1),
                )
                .label("this string is never closed")
                .help("close it with `\"` on the same line; write a newline inside a string as \\n"),
            ),
            Ok(t @ (Token::LParen | Token::LBracket | Token::LBrace)) => {
                if open.len() == MAX_NESTING {
                    diags.push(
                        Diag::error(
                            format!("brackets nested more than {MAX_NESTING} deep"),
                            span,
                        )
                        .label("too deep")
                        .help("split the expression with `let` into smaller pieces"),
                    );
                    return diags;
                }
                open.push((t, span));
            }
            Ok(t @ (Token::RParen | Token::RBracket | Token::RBrace)) => match open.pop() {
                Some((o, _)) if closer(o) == t => {}
                Some((o, ospan)) => {
                    diags.push(
                        Diag::error(
                            format!(
                                "`{}` closes `{}`",
                                &text[span.start..span.end],
                                &text[ospan.start..ospan.end]
                            ),
                            span,
                        )
                        .label(format!("expected `{}` here", symbol(closer(o))))
                        .related(ospan, "opened here")
                        .help(format!(
                            "close `{}` with `{}`, or look for a missing bracket in between",
                            symbol(o),
                            symbol(closer(o))
                        )),
                    );
                    return diags;
                }
                None => {
                    diags.push(
                        Diag::error(
                            format!("unmatched `{}`", &text[span.start..span.end]),
                            span,
                        )
                        .label("nothing to close here")
                        .help("remove it, or add the opening bracket it belongs to"),
                    );
                    return diags;
                }
            },
            Ok(_) => {}
        }
    }
    if let Some((o, span)) = open.pop() {
        diags.push(
            Diag::error(format!("unclosed `{}`", symbol(o)), span)
                .label("opened here and never closed")
                .help(format!("add the matching `{}`", symbol(closer(o)))),
        );
    }
    diags
}

/// Whether `text` is a complete input for the REPL: every bracket closed and no string left
/// open. Extra or mismatched closing brackets count as complete (the parser reports them).
pub fn is_complete(text: &str) -> bool {
    let mut open = Openness::default();
    open.feed(text);
    open.is_complete()
}

/// What is still open in an input read line by line: brackets, and a string on the last line.
/// Tokens never cross a newline, so each line is scanned once, whatever the input's length.
/// A closing bracket that does not match the open one ends the input at once, so the parser
/// reports it instead of waiting for more lines.
#[derive(Clone, Debug, Default)]
pub struct Openness {
    open: Vec<Token>,
    open_string: bool,
    broken: bool,
}

impl Openness {
    /// Takes in more text.
    pub fn feed(&mut self, text: &str) {
        for (tok, _) in tokens(text) {
            match tok {
                Ok(t @ (Token::LParen | Token::LBracket | Token::LBrace)) => {
                    // Deeper than the parser takes: complete, so that it says so.
                    if self.open.len() > MAX_NESTING {
                        self.broken = true;
                    } else {
                        self.open.push(t);
                    }
                }
                Ok(t @ (Token::RParen | Token::RBracket | Token::RBrace)) => {
                    match self.open.pop() {
                        Some(o) if closer(o) != t => self.broken = true,
                        _ => {}
                    }
                }
                Ok(Token::UnterminatedStr) => self.open_string = true,
                Ok(Token::Newline) => self.open_string = false,
                _ => {}
            }
        }
    }

    /// Whether everything fed so far is a complete input (or one that can only be an error).
    pub fn is_complete(&self) -> bool {
        self.broken || (self.open.is_empty() && !self.open_string)
    }
}

/// The bracket that closes `open`.
fn closer(open: Token) -> Token {
    match open {
        Token::LParen => Token::RParen,
        Token::LBracket => Token::RBracket,
        _ => Token::RBrace,
    }
}

/// How a bracket token is written.
fn symbol(t: Token) -> &'static str {
    match t {
        Token::LParen => "(",
        Token::RParen => ")",
        Token::LBracket => "[",
        Token::RBracket => "]",
        Token::LBrace => "{",
        _ => "}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Token> {
        tokens(s).map(|(t, _)| t.unwrap()).collect()
    }

    #[test]
    fn ranges_are_not_decimals() {
        assert_eq!(
            kinds("0..20"),
            vec![Token::Number, Token::Punct, Token::Number]
        );
        assert_eq!(kinds(".5 1e-6 2.5E3"), vec![Token::Number; 3]);
    }

    #[test]
    fn reserved_words_are_the_keyword_and_literal_tokens() {
        for w in RESERVED {
            assert!(
                matches!(kinds(w)[..], [Token::Keyword | Token::Literal]),
                "{w}"
            );
        }
        // Names that merely start like one stay names.
        assert_eq!(kinds("models in_ NAN"), vec![Token::Ident; 3]);
    }

    #[test]
    fn completeness_follows_brackets_and_strings() {
        assert!(is_complete("print 1 + 1\n"));
        assert!(!is_complete("model m {\n"));
        assert!(!is_complete("f(1,\n  [2, 3]\n"));
        assert!(is_complete("f(1,\n  [2, 3])\n"));
        assert!(!is_complete("print \"abc"));
        assert!(is_complete("x)"));
        assert!(is_complete("# a comment with ( in it\n"));
    }

    #[test]
    fn reports_unbalanced_and_strings() {
        assert_eq!(prescan("f(1, [2)").len(), 1);
        assert_eq!(prescan("f(1").len(), 1);
        assert_eq!(prescan("x)").len(), 1);
        assert_eq!(prescan("print \"abc\n").len(), 1);
        assert!(prescan("print \"a\\\"b\" # (").is_empty());
        assert_eq!(prescan(&"(".repeat(100_000)).len(), 1);
    }
}
