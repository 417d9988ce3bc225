//! Habits newcomers bring from Python (and R, MATLAB, NumPy), each answered with a sentence
//! that names the language's own way. The parser asks about a statement it cannot read, the
//! checker and the interpreter about a name they do not know, the lexer about `?`; this is the
//! one table they share.

use super::Span;
use super::lex::{self, Token};

/// A statement written the way another language would: the message and the fix.
pub struct Habit {
    /// The headline of the diagnostic.
    pub message: String,
    /// The note under the marked text.
    pub label: &'static str,
    /// The fix, in the language's own terms.
    pub help: String,
    /// Where to point.
    pub span: Span,
}

/// Recognises a statement, starting at the line of byte `pos`, written in another language's
/// way: `print(...)` with several values, `if`/`def`/`while`/`import`, or an assignment to a
/// model's field.
pub fn statement(text: &str, pos: usize) -> Option<Habit> {
    let pos = pos.min(text.len());
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let toks: Vec<(Token, Span, &str)> = lex::tokens(line)
        .filter_map(|(t, s)| Some((t.ok()?, s)))
        .filter(|(t, _)| *t != Token::Comment)
        .map(|(t, s)| {
            (
                t,
                Span::new(start + s.start, start + s.end),
                &line[s.start..s.end],
            )
        })
        .collect();
    let (first, first_span, word) = *toks.first()?;
    let at = |i: usize| toks.get(i).map(|t| t.2);
    let found = &text[pos..];
    if first == Token::Keyword && word == "print" && at(1) == Some("(") && found.starts_with(',') {
        let inner = line[toks[1].1.end - start..].trim_end();
        let inner = inner.strip_suffix(')').unwrap_or(inner);
        return Some(Habit {
            message: "`print` takes no parentheses".into(),
            label: "a statement, not a function",
            help: format!("`print` is a statement: write `print {}`", inner.trim()),
            span: Span::new(first_span.start, toks[1].1.end),
        });
    }
    if first == Token::Ident {
        let (message, help) = match word {
            "if" | "elif" | "else" => (
                "gmm has no `if`",
                "compute both cases at once with an array expression (a comparison is 1 or 0: `(x > 0) * a + (x <= 0) * b`), stop on a condition with `assert`, or visit values with a `for` loop",
            ),
            "while" => (
                "gmm has no `while`",
                "loop over a range with `for i in 0..n { ... }`; a fit iterates by itself (`fit(m, d, max_iter = 100)`)",
            ),
            "def" | "function" | "fn" | "lambda" => (
                "gmm has no `def`",
                "a family of models is a template, `model mix(K) { ... }`, made with `mix(3)`; a value is named with `let`; repeated work is a `for` loop or an array expression",
            ),
            "import" | "from" | "library" | "using" => (
                "gmm has no imports",
                "every built-in function is always there (`exp`, `mean`, `linspace`, …); read data with `load(\"file.csv\")` and a model from a file with `load(\"file.gmm\")`",
            ),
            "return" => (
                "gmm has no `return`",
                "a script's values are printed with `print`; a template returns the model it declares",
            ),
            _ => ("", ""),
        };
        if !message.is_empty() && toks.len() > 1 && at(1) != Some("=") {
            return Some(Habit {
                message: message.into(),
                label: "not a word of the language",
                help: help.into(),
                span: first_span,
            });
        }
        // `m.name = value`: parameters are changed by `m.with(name = value)`.
        if at(1) == Some(".")
            && toks.get(2).is_some_and(|t| t.0 == Token::Ident)
            && at(3) == Some("=")
            && found.starts_with('=')
        {
            let value = line[toks[3].1.end - start..].trim();
            let (model, field) = (word, toks[2].2);
            return Some(Habit {
                message: format!("cannot assign to `{model}.{field}`"),
                label: "a model value does not change",
                help: format!(
                    "a model's parameters are set in its declaration, or copied with new values: `let {model}2 = {model}.with({field} = {value})`"
                ),
                span: Span::new(first_span.start, toks[3].1.end),
            });
        }
    }
    None
}

/// A sentence for a name that gmm does not define but another language does; `None` for a name
/// that is simply unknown.
pub fn name(name: &str) -> Option<&'static str> {
    Some(match name {
        "range" | "arange" | "seq" => "gmm writes ranges with `..`: `0..3` is the vector [0, 1, 2]",
        "help" => "in the REPL, `:help` lists what there is and `:help NAME` explains one name",
        "quit" | "exit" | "q" => "in the REPL, `:quit` (or Ctrl-D) ends the session",
        "True" => "gmm writes `true`",
        "False" => "gmm writes `false`",
        "None" | "null" | "NULL" | "nil" | "NaN" | "nan" => "gmm writes a missing value as `NA`",
        "np" | "numpy" | "math" | "scipy" | "tfp" | "tfd" => {
            "gmm's functions are built in, with no module prefix: `exp(x)`, `mean(v)`, `Normal(0, 1)`"
        }
        "array" | "list" | "c" => "write a list literal: `[1, 2, 3]`, `[[1, 0], [0, 1]]`",
        "norm" => "gmm writes the normal distribution `Normal(mean, sd)`",
        "ans" | "_" => "in the REPL, name a value with `let` to use it again: `let v = ...`",
        _ => return None,
    })
}

/// gmm's name for a distribution argument that TensorFlow Probability, SciPy or PyTorch name
/// otherwise (`loc`, `scale`, `probs`, …).
pub fn argument(name: &str) -> Option<&'static str> {
    Some(match name {
        "loc" | "mu" | "mean_" => "mean",
        "scale" | "sigma" | "std" | "stddev" => "sd",
        "probs" | "prob" | "probabilities" | "weights" => "p",
        "covariance_matrix" | "covariance" | "Sigma" => "cov",
        _ => return None,
    })
}

/// Help for a `?` the lexer found: `?fit` and `fit?` ask for help in other REPLs.
pub fn question_mark(text: &str, at: usize) -> String {
    let word = |s: &str| {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    let after = word(&text[(at + 1).min(text.len())..]);
    let before: String = word(&text[..at].chars().rev().collect::<String>())
        .chars()
        .rev()
        .collect();
    let name = if after.is_empty() { before } else { after };
    if name.is_empty() {
        "gmm has no `?`; in the REPL, `:help` lists what there is".into()
    } else {
        format!("gmm has no `?`; in the REPL, `:help {name}` explains `{name}`")
    }
}
