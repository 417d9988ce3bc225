//! `gmm lsp`: a language server over stdio. Every open document is checked as `gmm check`
//! checks a file, and its diagnostics published on each change; hover, completion, go to
//! definition, document symbols, formatting (`gmm fmt`'s printer), rename and quick fixes
//! come from the same front end, the built-in table the REPL's `:help` reads, and the REPL's
//! keyword lists. Positions are UTF-16 code units, as the protocol counts them.

mod analysis;
mod features;
mod text;
pub mod transport;

use analysis::Analysis;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::process::ExitCode;
use text::LineIndex;
use transport::Incoming;

/// The largest document checked; a larger one gets one diagnostic saying so.
pub const MAX_DOCUMENT: usize = 4 << 20;

/// One open document.
struct Document {
    text: String,
    lines: LineIndex,
    analysis: Analysis,
    /// The last version that parsed, with its text: what completion reads while the current
    /// text is half typed.
    good: Option<(String, Analysis)>,
    /// The folder of the file, for reading the CSV files a script loads.
    folder: Option<std::path::PathBuf>,
}

impl Document {
    fn new(uri: &str, text: String) -> Document {
        let analysis = if text.len() > MAX_DOCUMENT {
            Analysis::default()
        } else {
            Analysis::new(&text)
        };
        let lines = LineIndex::new(&text);
        let folder = uri
            .strip_prefix("file://")
            .map(|p| std::path::PathBuf::from(text::percent_decode(p)))
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf));
        Document {
            text,
            lines,
            analysis,
            good: None,
            folder,
        }
    }

    fn update(&mut self, text: String) {
        let old = std::mem::replace(self, Document::new("", text));
        self.folder = old.folder;
        self.good = if old.analysis.parsed {
            Some((old.text, old.analysis))
        } else {
            old.good
        };
    }

    /// The analysis completion reads: this text's if it parsed, else the last that did.
    fn known(&self) -> (&str, &Analysis) {
        match &self.good {
            Some((t, a)) if !self.analysis.parsed => (t, a),
            _ => (&self.text, &self.analysis),
        }
    }
}

/// The server's state.
#[derive(Default)]
struct Server {
    docs: HashMap<String, Document>,
    initialized: bool,
    shutting_down: bool,
}

/// Runs the server on stdin and stdout until `exit`: status 0 after `shutdown`, 1 otherwise.
pub fn main() -> ExitCode {
    serve(std::io::stdin().lock(), std::io::stdout().lock())
}

/// Runs the server on `input` and `out` until `exit` or the end of the input.
pub fn serve(mut input: impl std::io::BufRead, mut out: impl std::io::Write) -> ExitCode {
    let mut server = Server::default();
    loop {
        let replies = match transport::read(&mut input) {
            Ok(None) => return ExitCode::from(1),
            Ok(Some(Incoming::Bad(code, message))) => vec![error(Json::Null, code, &message)],
            Ok(Some(Incoming::Message(m))) => match server.handle(m) {
                Step::Go(replies) => replies,
                Step::Exit(code) => return code,
            },
            Err(e) => {
                crate::console::err(&format!("gmm lsp: cannot read the input: {e}\n"));
                return ExitCode::from(1);
            }
        };
        for r in replies {
            if transport::write(&mut out, &r).is_err() {
                return ExitCode::from(1);
            }
        }
    }
}

/// What handling one message gives.
enum Step {
    /// Messages to send, and go on.
    Go(Vec<Json>),
    /// End with this status.
    Exit(ExitCode),
}

fn error(id: Json, code: i64, message: &str) -> Json {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn response(id: Json, result: Json) -> Json {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn notification(method: &str, params: Json) -> Json {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

impl Server {
    fn handle(&mut self, m: Json) -> Step {
        let method = m.get("method").and_then(Json::as_str).map(str::to_string);
        let id = m.get("id").cloned();
        let params = m.get("params").cloned().unwrap_or(Json::Null);
        let Some(method) = method else {
            // A response to nothing the server asked, or not a message at all.
            return Step::Go(match id {
                Some(id) if m.get("result").is_none() && m.get("error").is_none() => {
                    vec![error(
                        id,
                        transport::INVALID_REQUEST,
                        "a request without a method",
                    )]
                }
                None if !m.is_object() => vec![error(
                    Json::Null,
                    transport::INVALID_REQUEST,
                    "a message must be a JSON object",
                )],
                _ => Vec::new(),
            });
        };
        match id {
            Some(id) => Step::Go(vec![self.request(&method, id, params)]),
            None => self.notification(&method, params),
        }
    }

    fn request(&mut self, method: &str, id: Json, params: Json) -> Json {
        if method == "initialize" {
            self.initialized = true;
            return response(id, features::capabilities());
        }
        if !self.initialized {
            return error(id, -32002, "the server is not initialized yet");
        }
        if self.shutting_down && method != "shutdown" {
            return error(
                id,
                transport::INVALID_REQUEST,
                "the server is shutting down",
            );
        }
        if method == "shutdown" {
            self.shutting_down = true;
            return response(id, Json::Null);
        }
        let uri = params
            .pointer("/textDocument/uri")
            .and_then(Json::as_str)
            .unwrap_or("");
        let Some(doc) = self.docs.get(uri) else {
            return match method {
                "textDocument/hover"
                | "textDocument/completion"
                | "textDocument/definition"
                | "textDocument/documentSymbol"
                | "textDocument/formatting"
                | "textDocument/rename"
                | "textDocument/codeAction" => error(
                    id,
                    -32602,
                    &format!("no open document `{uri}`; open it with textDocument/didOpen"),
                ),
                _ => error(id, -32601, &format!("gmm lsp does not handle `{method}`")),
            };
        };
        let result = match method {
            "textDocument/hover" => features::hover(doc, uri, &params),
            "textDocument/completion" => features::completion(doc, &params),
            "textDocument/definition" => features::definition(doc, uri, &params),
            "textDocument/documentSymbol" => features::symbols(doc),
            "textDocument/formatting" => features::formatting(doc),
            "textDocument/rename" => features::rename(doc, uri, &params),
            "textDocument/codeAction" => features::code_actions(doc, uri, &params),
            _ => return error(id, -32601, &format!("gmm lsp does not handle `{method}`")),
        };
        match result {
            Ok(r) => response(id, r),
            Err(e) => error(id, e.0, &e.1),
        }
    }

    fn notification(&mut self, method: &str, params: Json) -> Step {
        match method {
            "exit" => {
                return Step::Exit(ExitCode::from(if self.shutting_down { 0 } else { 1 }));
            }
            "textDocument/didOpen" => {
                let uri = params.pointer("/textDocument/uri").and_then(Json::as_str);
                let text = params.pointer("/textDocument/text").and_then(Json::as_str);
                if let (Some(uri), Some(text)) = (uri, text) {
                    let doc = Document::new(uri, text.to_string());
                    let publish = features::diagnostics(&doc, uri);
                    self.docs.insert(uri.to_string(), doc);
                    return Step::Go(vec![notification(
                        "textDocument/publishDiagnostics",
                        publish,
                    )]);
                }
            }
            "textDocument/didChange" => {
                let uri = params.pointer("/textDocument/uri").and_then(Json::as_str);
                // Full sync: the last change holds the whole text.
                let text = params
                    .get("contentChanges")
                    .and_then(Json::as_array)
                    .and_then(|c| c.last())
                    .and_then(|c| c.get("text"))
                    .and_then(Json::as_str);
                if let (Some(uri), Some(text)) = (uri, text)
                    && let Some(doc) = self.docs.get_mut(uri)
                {
                    doc.update(text.to_string());
                    let publish = features::diagnostics(doc, uri);
                    return Step::Go(vec![notification(
                        "textDocument/publishDiagnostics",
                        publish,
                    )]);
                }
            }
            "textDocument/didClose" => {
                if let Some(uri) = params.pointer("/textDocument/uri").and_then(Json::as_str) {
                    self.docs.remove(uri);
                    return Step::Go(vec![notification(
                        "textDocument/publishDiagnostics",
                        json!({ "uri": uri, "diagnostics": [] }),
                    )]);
                }
            }
            _ => {}
        }
        Step::Go(Vec::new())
    }
}
