//! Diagnostics: what went wrong, where, and how to fix it; rendered with the source line marked.

use crate::syntax::Span;
use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The program cannot run.
    Error,
    /// The program runs, but probably not as meant.
    Warning,
}

/// One message about a program, pointing at the text it is about. Boxed, so that results
/// carrying one stay small.
#[derive(Clone, Debug, PartialEq)]
pub struct Diag(Box<DiagInfo>);

/// The contents of a [`Diag`].
#[derive(Clone, Debug, PartialEq)]
pub struct DiagInfo {
    /// Error or warning.
    pub severity: Severity,
    /// The headline: what is wrong.
    pub message: String,
    /// The offending text, when there is one.
    pub span: Option<Span>,
    /// A short note under the marked text.
    pub label: String,
    /// Other places worth showing, each with a note.
    pub related: Vec<(Span, String)>,
    /// How to fix it.
    pub help: Vec<String>,
}

impl std::ops::Deref for Diag {
    type Target = DiagInfo;
    fn deref(&self) -> &DiagInfo {
        &self.0
    }
}

impl Diag {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Span) -> Diag {
        Diag(Box::new(DiagInfo {
            severity: Severity::Error,
            message: message.into(),
            span: Some(span),
            label: String::new(),
            related: Vec::new(),
            help: Vec::new(),
        }))
    }

    /// A warning at `span`: the program goes on.
    pub fn warning(message: impl Into<String>, span: Span) -> Diag {
        let mut d = Diag::error(message, span);
        d.0.severity = Severity::Warning;
        d
    }

    /// A warning about the file as a whole (no place in it).
    pub fn warning_nowhere(message: impl Into<String>) -> Diag {
        let mut d = Diag::warning(message, Span::default());
        d.0.span = None;
        d
    }

    /// An error about the file as a whole (no place in it).
    pub fn error_nowhere(message: impl Into<String>) -> Diag {
        let mut d = Diag::error(message, Span::default());
        d.0.span = None;
        d
    }

    /// Adds the note shown under the marked text.
    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.0.label = label.into();
        self
    }

    /// Adds a hint on how to fix the problem.
    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.0.help.push(help.into());
        self
    }

    /// Adds a hint only when there is one.
    pub fn help_opt(self, help: Option<String>) -> Diag {
        match help {
            Some(h) => self.help(h),
            None => self,
        }
    }

    /// The same diagnostic about a text that starts `by` bytes later (its spans moved back):
    /// for a part cut out of a longer text.
    pub fn shifted_back(mut self, by: usize) -> Diag {
        let back = |s: Span| Span::new(s.start.saturating_sub(by), s.end.saturating_sub(by));
        self.0.span = self.0.span.map(back);
        for (s, _) in &mut self.0.related {
            *s = back(*s);
        }
        self
    }

    /// Shows another place, e.g. an earlier declaration.
    pub fn related(mut self, span: Span, note: impl Into<String>) -> Diag {
        self.0.related.push((span, note.into()));
        self
    }
}

impl DiagInfo {
    /// Whether this diagnostic stops the program.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A source file: its name as the user gave it, and its text.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as given (shown in diagnostics).
    pub name: String,
    /// The whole text.
    pub text: String,
}

impl Source {
    /// A source named `name` with the given text; a leading byte-order mark is dropped.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let mut text = text.into();
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        Source {
            name: name.into(),
            text,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = clamp_to_char(&self.text, offset);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// Renders diagnostics as plain text, one after another.
    pub fn render(&self, diags: &[Diag]) -> String {
        let file = SimpleFile::new(self.name.as_str(), self.text.as_str());
        let config = Config::default();
        let mut out = String::new();
        for d in diags {
            let severity = match d.severity {
                Severity::Error => CsSeverity::Error,
                Severity::Warning => CsSeverity::Warning,
            };
            let mut labels = Vec::new();
            if let Some(span) = d.span {
                let span = self.clamp(span);
                labels.push(Label::primary((), span.start..span.end).with_message(&d.label));
            }
            for (span, note) in &d.related {
                let span = self.clamp(*span);
                labels.push(Label::secondary((), span.start..span.end).with_message(note));
            }
            let notes = d.help.iter().map(|h| format!("help: {h}")).collect();
            let diagnostic = Diagnostic::new(severity)
                .with_message(&d.message)
                .with_labels(labels)
                .with_notes(notes);
            match term::emit_into_string(&config, &file, &diagnostic) {
                Ok(s) => out.push_str(&s),
                Err(_) => out.push_str(&self.render_plain(d)),
            }
        }
        out
    }

    /// A one-line fallback rendering `file:line:col: error: message`.
    fn render_plain(&self, d: &Diag) -> String {
        let kind = if d.is_error() { "error" } else { "warning" };
        match d.span {
            Some(span) => {
                let (line, col) = self.line_col(span.start);
                format!("{}:{line}:{col}: {kind}: {}\n", self.name, d.message)
            }
            None => format!("{}: {kind}: {}\n", self.name, d.message),
        }
    }

    /// Keeps a span inside the text and on character boundaries.
    fn clamp(&self, span: Span) -> Span {
        let start = clamp_to_char(&self.text, span.start);
        let end = clamp_to_char(&self.text, span.end.max(start));
        Span::new(start, end)
    }
}

/// The largest char boundary not after `offset`.
fn clamp_to_char(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// Names longer than this (in characters) get no "did you mean".
pub const SUGGEST_MAX_CHARS: usize = 64;

/// How many candidates a suggestion compares at most.
pub const SUGGEST_MAX_CANDIDATES: usize = 4096;

/// Character comparisons all suggestions may make until [`reset_suggestions`] (about a
/// tenth of a second): a program with thousands of misspelt names still gets its diagnostics at once.
const SUGGEST_BUDGET: usize = 30_000_000;

static SUGGEST_SPENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Gives suggestions their whole budget again (the REPL does so before each input).
pub fn reset_suggestions() {
    SUGGEST_SPENT.store(0, std::sync::atomic::Ordering::Relaxed);
}

/// Names joined by commas for a message, at most 12 of them: `a, b, … and 99988 more`.
pub fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 12;
    let head: Vec<&str> = names.iter().take(SHOWN).map(AsRef::as_ref).collect();
    let mut text = head.join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", … and {} more", names.len() - SHOWN));
    }
    text
}

/// Where the first byte that is not UTF-8 sits: its line and column (counting characters).
pub fn utf8_position(e: &std::string::FromUtf8Error) -> (usize, usize) {
    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
    let text = String::from_utf8_lossy(valid);
    let line = text.matches('\n').count() + 1;
    let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
/// The work is bounded: names longer than [`SUGGEST_MAX_CHARS`] get no suggestion, and only the
/// first [`SUGGEST_MAX_CANDIDATES`] candidates are compared.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let len = name.chars().count();
    if len > SUGGEST_MAX_CHARS {
        return None;
    }
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates.into_iter().take(SUGGEST_MAX_CANDIDATES) {
        if c == name || c.len() > 4 * SUGGEST_MAX_CHARS {
            continue;
        }
        // A length difference beyond the allowed edits rules a candidate out unread.
        let clen = c.chars().count();
        let limit = (len.max(clen) / 3).max(1);
        if clen.abs_diff(len) > limit {
            continue;
        }
        let cost = len * clen + 1;
        if SUGGEST_SPENT.fetch_add(cost, std::sync::atomic::Ordering::Relaxed) > SUGGEST_BUDGET {
            break;
        }
        let d = if c.to_lowercase() == lower {
            0
        } else if clen == len && len <= 3 && !same_letters(&lower, &c.to_lowercase()) {
            // In a name of three letters one changed letter is a third of it: `ans` is not
            // a slip for `abs`. Between short names of one length, only a swap counts.
            continue;
        } else {
            edit_distance(&lower, &c.to_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Whether `a` and `b` hold the same letters, in any order.
fn same_letters(a: &str, b: &str) -> bool {
    let sorted = |s: &str| {
        let mut v: Vec<char> = s.chars().collect();
        v.sort_unstable();
        v
    };
    sorted(a) == sorted(b)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(suggest("sigm", ["mu", "sigma", "pi"]), Some("sigma".into()));
        // One letter changed in a name of two or three is a different name (`ans` is not
        // `abs`); a swap, or a letter more or less, is a slip.
        assert_eq!(suggest("mx", ["mu", "sigma"]), None);
        assert_eq!(suggest("ans", ["abs", "all"]), None);
        assert_eq!(suggest("um", ["mu", "sigma"]), Some("mu".into()));
        assert_eq!(suggest("muu", ["mu", "sigma"]), Some("mu".into()));
        assert_eq!(suggest("Pi", ["pi"]), Some("pi".into()));
        assert_eq!(suggest("xyzzy", ["mu", "sigma"]), None);
        assert_eq!(suggest("nromal", ["normal"]), Some("normal".into()));
    }

    #[test]
    fn line_and_column() {
        let s = Source::new("a.gmm", "ab\ncé d\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(7), (2, 4));
    }
}
