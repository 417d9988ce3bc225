//! Positions: the front end counts bytes, the protocol counts lines and UTF-16 code units.

use crate::syntax::ast::Span;
use serde_json::{Value as Json, json};

/// Where each line of a text starts.
#[derive(Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The protocol position of byte `at` of `text`.
    pub fn position(&self, text: &str, at: usize) -> (u32, u32) {
        let at = at.min(text.len());
        let line = self.starts.partition_point(|&s| s <= at) - 1;
        let start = self.starts[line];
        let col: usize = text[start..]
            .char_indices()
            .take_while(|(i, _)| start + i < at)
            .map(|(_, c)| c.len_utf16())
            .sum();
        (line as u32, col as u32)
    }

    /// The byte of `text` at a protocol position (clamped to the line's end).
    pub fn offset(&self, text: &str, line: u32, character: u32) -> usize {
        let Some(&start) = self.starts.get(line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(line as usize + 1)
            .map_or(text.len(), |&e| e);
        let mut units = 0u32;
        for (i, c) in text[start..end].char_indices() {
            if units >= character || c == '\n' {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end
    }

    /// A span as a protocol range.
    pub fn range(&self, text: &str, span: Span) -> Json {
        let (l0, c0) = self.position(text, span.start);
        let (l1, c1) = self.position(text, span.end);
        json!({ "start": { "line": l0, "character": c0 }, "end": { "line": l1, "character": c1 } })
    }
}

/// A `file://` URI's path with `%XX` escapes decoded.
pub fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "let μ = 1\nprint \"𝜋\", sigmx\n";
        let idx = LineIndex::new(text);
        let at = text.find("sigmx").unwrap();
        // 'print "' is 7 units, 𝜋 is 2 (a surrogate pair), '", ' 3: sigmx starts at 12.
        assert_eq!(idx.position(text, at), (1, 12));
        assert_eq!(idx.offset(text, 1, 12), at);
        assert_eq!(idx.position(text, text.find('=').unwrap()), (0, 6));
        assert_eq!(idx.offset(text, 0, 99), text.find('\n').unwrap());
        assert_eq!(idx.offset(text, 9, 0), text.len());
    }

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("/a%20b/c%C3%A9.gmm"), "/a b/cé.gmm");
        assert_eq!(percent_decode("/50%"), "/50%");
    }
}
