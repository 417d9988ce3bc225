//! JSON-RPC messages over stdio, as the Language Server Protocol frames them: a
//! `Content-Length` header, a blank line, then that many bytes of JSON. Reading is bounded: a
//! header line, a header block and a message each have a size limit, a message over it is
//! skipped without being held, and a malformed one is reported to the caller, which answers
//! it with an error and goes on.

use serde_json::Value as Json;
use std::io::{BufRead, Read, Write};

/// The largest message read (a document of the largest size checked, escaped, fits).
pub const MAX_MESSAGE: usize = 64 << 20;
/// The longest header line, and the most header lines in one message.
const MAX_HEADER_LINE: usize = 8 << 10;
const MAX_HEADERS: usize = 32;

/// What one read gives.
#[derive(Debug)]
pub enum Incoming {
    /// A message, parsed as JSON.
    Message(Json),
    /// Something that is not a message: the JSON-RPC error code and what was wrong.
    Bad(i64, String),
}

/// JSON-RPC's error codes.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

/// Reads a line of at most `MAX_HEADER_LINE` bytes; `None` at the end of the input. A
/// longer line is read to its end and reported as too long.
fn header_line(input: &mut impl BufRead) -> std::io::Result<Option<Result<String, String>>> {
    let mut line = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        // Skip the rest of the overlong line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let m = input.by_ref().take(1 << 16).read_until(b'\n', &mut sink)?;
            if m == 0 || sink.ends_with(b"\n") {
                break;
            }
        }
        return Ok(Some(Err(format!(
            "a header line longer than {MAX_HEADER_LINE} bytes"
        ))));
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(s) => Ok(s.trim_end_matches(['\r', '\n']).to_string()),
        Err(_) => Err("a header line that is not UTF-8".to_string()),
    }))
}

/// Reads the next message; `Ok(None)` at the end of the input.
pub fn read(input: &mut impl BufRead) -> std::io::Result<Option<Incoming>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut problem: Option<String> = None;
    let mut lines = 0;
    loop {
        let Some(line) = header_line(input)? else {
            return Ok(None);
        };
        lines += 1;
        match line {
            Ok(l) if l.is_empty() => {
                if lines == 1 {
                    // A stray blank line between messages.
                    lines = 0;
                    continue;
                }
                break;
            }
            Ok(l) => match l.split_once(':') {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                    length = Some(value.trim().parse::<usize>().map_err(|_| {
                        format!("a Content-Length that is not a number: `{}`", value.trim())
                    }));
                }
                Some(_) => {}
                None => {
                    problem.get_or_insert(format!(
                        "a header line without `:`: `{}`",
                        l.chars().take(60).collect::<String>()
                    ));
                }
            },
            Err(e) => {
                problem.get_or_insert(e);
            }
        }
        if lines > MAX_HEADERS {
            problem.get_or_insert(format!("more than {MAX_HEADERS} header lines"));
        }
    }
    if let Some(p) = problem {
        return Ok(Some(Incoming::Bad(
            PARSE_ERROR,
            format!("malformed message: {p}"),
        )));
    }
    let length = match length {
        None => {
            return Ok(Some(Incoming::Bad(
                PARSE_ERROR,
                "malformed message: no Content-Length header".into(),
            )));
        }
        Some(Err(e)) => {
            return Ok(Some(Incoming::Bad(
                PARSE_ERROR,
                format!("malformed message: {e}"),
            )));
        }
        Some(Ok(n)) => n,
    };
    if length > MAX_MESSAGE {
        let skipped = std::io::copy(
            &mut input.by_ref().take(length as u64),
            &mut std::io::sink(),
        )?;
        if (skipped as usize) < length {
            return Ok(None);
        }
        return Ok(Some(Incoming::Bad(
            INVALID_REQUEST,
            format!(
                "a message of {length} bytes is over the limit of {MAX_MESSAGE} bytes; it was skipped"
            ),
        )));
    }
    let mut body = vec![0u8; length];
    if let Err(e) = input.read_exact(&mut body) {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(match serde_json::from_slice::<Json>(&body) {
        Ok(j) => Incoming::Message(j),
        Err(e) => Incoming::Bad(PARSE_ERROR, format!("the message is not JSON: {e}")),
    }))
}

/// Writes one message.
pub fn write(out: &mut impl Write, message: &Json) -> std::io::Result<()> {
    let text = message.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<Incoming> {
        let mut input = std::io::BufReader::new(bytes);
        let mut out = Vec::new();
        while let Some(m) = read(&mut input).unwrap() {
            out.push(m);
        }
        out
    }

    #[test]
    fn frames_and_recovers_from_garbage() {
        let msgs = all(
            b"Content-Length: 2\r\n\r\n{}garbage here\r\n\r\nContent-Length: 3\r\n\r\nxyzContent-Length: 7\r\n\r\n[1,2,3]",
        );
        assert!(matches!(&msgs[0], Incoming::Message(j) if j.is_object()));
        assert!(matches!(&msgs[1], Incoming::Bad(PARSE_ERROR, _)));
        assert!(matches!(&msgs[2], Incoming::Bad(PARSE_ERROR, m) if m.contains("not JSON")));
        assert!(matches!(&msgs[3], Incoming::Message(j) if j.is_array()));
    }

    #[test]
    fn an_oversized_message_is_skipped_not_held() {
        let mut bytes = format!("Content-Length: {}\r\n\r\n", MAX_MESSAGE + 1).into_bytes();
        bytes.resize(bytes.len() + MAX_MESSAGE + 1, b' ');
        bytes.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
        let msgs = all(&bytes);
        assert!(matches!(&msgs[0], Incoming::Bad(INVALID_REQUEST, _)));
        assert!(matches!(&msgs[1], Incoming::Message(_)));
    }
}
