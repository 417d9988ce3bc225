//! The language server as an editor speaks to it: the real `gmm lsp` binary, JSON-RPC over its
//! stdin and stdout with `Content-Length` framing. Every wait is bounded, and the child is
//! killed if a test fails.

use crate::common;

use serde_json::{Value as Json, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Json>,
    next_id: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `gmm lsp` and completes the initialize handshake; returns the server and its
    /// `initialize` result.
    fn start() -> (Server, Json) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gmm"));
        cmd.arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        common::limit(&mut cmd, Some(4 << 30), Some(1 << 20));
        let mut child = cmd.spawn().expect("gmm lsp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = Some(n.parse::<usize>().unwrap());
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length")];
                r.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut s = Server {
            child,
            stdin,
            messages: rx,
            next_id: 1,
        };
        let init = s.request(
            "initialize",
            json!({ "processId": null, "capabilities": {} }),
        );
        s.notify("initialized", json!({}));
        (s, init)
    }

    fn raw(&mut self, bytes: &[u8]) {
        let w = self.stdin.as_mut().unwrap();
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    fn send(&mut self, m: Json) {
        let text = m.to_string();
        self.raw(format!("Content-Length: {}\r\n\r\n{text}", text.len()).as_bytes());
    }

    fn recv(&mut self) -> Json {
        self.messages.recv_timeout(WAIT).expect("a message in time")
    }

    /// Sends a request and returns its response (the whole message).
    fn call(&mut self, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.recv();
            if m["id"] == id {
                return m;
            }
        }
    }

    /// A request's result; the test fails on an error response.
    fn request(&mut self, method: &str, params: Json) -> Json {
        let m = self.call(method, params);
        assert!(m.get("error").is_none(), "{method}: {m}");
        m["result"].clone()
    }

    fn notify(&mut self, method: &str, params: Json) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Json> {
        loop {
            let m = self.recv();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Json> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "gmm", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) -> Vec<Json> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [{ "text": text }] }),
        );
        self.diagnostics(uri)
    }

    /// Ends the session as an editor does; returns the exit status.
    fn shutdown(mut self) -> std::process::ExitStatus {
        assert_eq!(self.request("shutdown", Json::Null), Json::Null);
        self.notify("exit", Json::Null);
        drop(self.stdin.take());
        let began = std::time::Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(began.elapsed() < WAIT, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A position as the protocol writes it.
fn at(line: u64, character: u64) -> Json {
    json!({ "line": line, "character": character })
}

/// The protocol position of the `n`th occurrence of `needle` in `text`, plus `k` UTF-16 units.
fn find(text: &str, needle: &str, k: u64) -> Json {
    let i = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in the text"));
    let line = text[..i].matches('\n').count();
    let start = text[..i].rfind('\n').map_or(0, |j| j + 1);
    let col: usize = text[start..i].chars().map(char::len_utf16).sum();
    at(line as u64, col as u64 + k)
}

fn doc(uri: &str, position: Json) -> Json {
    json!({ "textDocument": { "uri": uri }, "position": position })
}

const URI: &str = "file:///nowhere/script.gmm";

/// Three errors, one after a non-ASCII string on its line.
const BROKEN: &str =
    "let d = table(x = [1, 2])\nprint \"π ≈ 3\", sigmx\nlet q = Normall(0, 1)\nlet z = absx(1)\n";

#[test]
fn handshake_and_diagnostics_in_utf16_as_the_document_changes() {
    let (mut s, init) = Server::start();
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 1, "full sync");
    for c in [
        "hoverProvider",
        "definitionProvider",
        "documentSymbolProvider",
        "documentFormattingProvider",
        "renameProvider",
    ] {
        assert_eq!(caps[c], true, "{c}");
    }
    assert_eq!(
        caps["completionProvider"]["triggerCharacters"],
        json!([".", "~", ":"])
    );
    assert_eq!(init["serverInfo"]["name"], "gmm");

    let diags = s.open(URI, BROKEN);
    let found: Vec<(Json, &str, &str)> = diags
        .iter()
        .map(|d| {
            (
                d["range"].clone(),
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(found.len(), 3, "{diags:?}");
    // `print "π ≈ 3", ` is 15 UTF-16 units (π and ≈ are one each, and 17 bytes).
    assert_eq!(found[0].0, json!({ "start": at(1, 15), "end": at(1, 20) }));
    assert_eq!(found[0].1, "unknown-name");
    assert!(found[0].2.starts_with("unknown name `sigmx`"));
    assert_eq!(found[1].0, json!({ "start": at(2, 8), "end": at(2, 15) }));
    assert!(
        found[1].2.contains("help: did you mean `Normal`?"),
        "{}",
        found[1].2
    );
    assert_eq!(found[2].0, json!({ "start": at(3, 8), "end": at(3, 12) }));
    assert!(
        diags
            .iter()
            .all(|d| d["severity"] == 1 && d["source"] == "gmm")
    );

    let fixed = BROKEN.replace("Normall", "Normal");
    let diags = s.change(URI, 2, &fixed);
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(s.change(URI, 3, "let a = 1\n").len(), 0);
    assert!(s.shutdown().success());
}

#[test]
fn hover_completion_definition_symbols_rename_and_fixes() {
    let text = std::fs::read_to_string(common::root().join("examples/grades.gmm")).unwrap();
    let (mut s, _) = Server::start();
    assert_eq!(
        s.open(URI, &text).len(),
        0,
        "the example has no diagnostics"
    );

    let hover = |s: &mut Server, needle: &str, k: u64| -> String {
        let r = s.request("textDocument/hover", doc(URI, find(&text, needle, k)));
        r["contents"]["value"].as_str().unwrap_or("").to_string()
    };
    // A distribution: its signature from the built-in table `:help` reads.
    let h = hover(&mut s, "Normal(mu", 2);
    assert!(h.contains("Normal(mean, sd): normal distribution"), "{h}");
    // A parameter: its type, shape and value.
    let h = hover(&mut s, "sigma[2]", 1);
    assert!(
        h.contains("type `positive`, shape `[2]`, value `[0.6, 0.3]`"),
        "{h}"
    );
    // A variable: its distribution, parents and plates, and how it is observed.
    let h = hover(&mut s, "x ~ Normal", 0);
    assert!(
        h.contains("`x ~ Normal`") && h.contains("parents: z") && h.contains("plates: exams"),
        "{h}"
    );
    assert!(h.contains("observed"), "{h}");

    // Go to definition: `g.pi` (g is `let g = grades`) goes to the parameter.
    let r = s.request("textDocument/definition", doc(URI, find(&text, "g.pi)", 3)));
    assert_eq!(r["range"]["start"], find(&text, "pi       :", 0));
    let r = s.request(
        "textDocument/definition",
        doc(URI, find(&text, "sum(g.pi * dens)", 12)),
    );
    assert_eq!(
        r["range"]["start"],
        find(&text, "dens = pdf", 0),
        "a `let` name"
    );

    // Document symbols: the model with its items nested.
    let r = s.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    let grades = &r.as_array().unwrap()[0];
    assert_eq!(grades["name"], "grades");
    let children: Vec<&str> = grades["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["pi", "mu", "sigma", "exams", "z", "x"]);

    // Completion after `f.` on a fitted model, after `~ `, and after `:` in a declaration.
    let more = format!("{text}let f = fit(grades, table(x = d.x))\nprint f.\n");
    s.change(URI, 2, &more);
    let labels = |r: &Json| -> Vec<String> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    let r = s.request(
        "textDocument/completion",
        doc(URI, find(&more, "print f.\n", 8)),
    );
    let got = labels(&r);
    for want in ["pi", "mu", "sigma", "loglik", "trace", "converged"] {
        assert!(got.iter().any(|g| g == want), "{want} in {got:?}");
    }
    // A dataset's columns, read from the CSV file its `load` names, beside the document.
    let folder = common::root().join("examples");
    let beside = format!("file://{}/new.gmm", folder.display());
    let loading = "let d = load(\"faithful.csv\")\nprint d.\n";
    s.open(&beside, loading);
    let r = s.request("textDocument/completion", doc(&beside, at(1, 8)));
    assert_eq!(labels(&r), ["eruptions", "waiting"]);
    let typing = format!("{text}model m {{\n    plate r {{ y ~ \n}}\n");
    s.change(URI, 3, &typing);
    let r = s.request(
        "textDocument/completion",
        doc(URI, find(&typing, "y ~ \n", 4)),
    );
    assert_eq!(
        labels(&r),
        ["Categorical", "Bernoulli", "Normal", "MvNormal"]
    );
    let typing = format!("{text}model m {{\n    param w : \n}}\n");
    s.change(URI, 4, &typing);
    let r = s.request(
        "textDocument/completion",
        doc(URI, find(&typing, "w : \n", 4)),
    );
    assert!(labels(&r).contains(&"simplex".to_string()));
    // After `~` in a parameter's declaration: the priors.
    let typing = format!("{text}model m {{\n    param w : simplex[2] ~ \n}}\n");
    s.change(URI, 5, &typing);
    let r = s.request(
        "textDocument/completion",
        doc(URI, find(&typing, "] ~ \n", 4)),
    );
    assert_eq!(
        labels(&r),
        ["Dirichlet", "Beta", "Normal", "InvGamma", "InvWishart"]
    );

    // Rename a parameter: its declaration, its uses in the model and `g.`-less uses stay.
    s.change(URI, 6, &text);
    let r = s.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": URI }, "position": find(&text, "sigma[2]", 0), "newName": "sd" }),
    );
    let edits = r["changes"][URI].as_array().unwrap();
    let lines: Vec<u64> = edits
        .iter()
        .map(|e| e["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    // The declaration, `sigma[z]`, then `g.sigma` (g = grades) and `fitted.sigma` (fitted =
    // fit(grades, …)); the string "sigma:" on line 67 stays.
    assert_eq!(lines, [5, 9, 21, 49, 67, 71, 71], "{edits:?}");
    assert!(edits.iter().all(|e| e["newText"] == "sd"));
    assert_eq!(edits[4]["range"]["start"], find(&text, "sigma, \"pi:\"", 0));

    // A quick fix from a diagnostic's suggestion.
    s.change(URI, 7, BROKEN);
    let r = s.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI },
                "range": { "start": at(2, 0), "end": at(2, 20) },
                "context": { "diagnostics": [] } }),
    );
    let fix = &r.as_array().unwrap()[0];
    assert_eq!(fix["kind"], "quickfix");
    let edit = &fix["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "Normal");
    assert_eq!(
        edit["range"],
        json!({ "start": at(2, 8), "end": at(2, 15) })
    );
    assert!(s.shutdown().success());
}

/// The quick fix a document's only diagnostic offers: its replacement and range.
fn only_fix(s: &mut Server, uri: &str, text: &str) -> (Json, Json) {
    let diags = s.open(uri, text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let r = s.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": diags[0]["range"],
                "context": { "diagnostics": diags } }),
    );
    let edit = r[0]["edit"]["changes"][uri][0].clone();
    (edit["newText"].clone(), edit["range"].clone())
}

#[test]
fn quick_fixes_for_a_comparison_and_an_assignment_to_a_parameter() {
    let (mut s, _) = Server::start();
    let (text, range) = only_fix(&mut s, "file:///a.gmm", "let y = 1\nprint y = 2\n");
    assert_eq!(text, "==");
    assert_eq!(range, json!({ "start": at(1, 8), "end": at(1, 9) }));
    let model = "model grades {\n    param mu[2] : real = [1, 2]\n    plate e { x ~ Normal(mu[0], 1) }\n}\n";
    let (text, range) = only_fix(
        &mut s,
        "file:///b.gmm",
        &format!("{model}grades.mu = [3, 4]\n"),
    );
    assert_eq!(text, "let grades2 = grades.with(mu = [3, 4])");
    assert_eq!(range, json!({ "start": at(4, 0), "end": at(4, 18) }));
    assert!(s.shutdown().success());
}

#[test]
fn formatting_is_gmm_fmt() {
    let messy = "let a=1+2\nmodel m{\nparam mu:real=0\nplate r{x~Normal(mu,1)}\n}\n";
    let dir = common::scratch("lsp-fmt");
    std::fs::write(dir.join("messy.gmm"), messy).unwrap();
    let out = common::gmm_at(&dir, &["fmt", "messy.gmm"]);
    assert!(out.status.success());
    let want = String::from_utf8(out.stdout).unwrap();
    let (mut s, _) = Server::start();
    s.open(URI, messy);
    let r = s.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let edits = r.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], want);
    assert_eq!(edits[0]["range"]["start"], at(0, 0));
    assert_eq!(edits[0]["range"]["end"], at(5, 0));
    assert!(s.shutdown().success());
}

#[test]
fn garbage_and_huge_documents_get_errors_not_crashes() {
    let (mut s, _) = Server::start();
    // Not JSON, JSON that is no message, a request for an unknown method, a bad header.
    s.raw(b"Content-Length: 7\r\n\r\n{{{{{{{");
    let m = s.recv();
    assert_eq!(m["error"]["code"], -32700, "{m}");
    assert_eq!(m["id"], Json::Null);
    s.raw(b"Content-Length: 2\r\n\r\n[]");
    assert_eq!(s.recv()["error"]["code"], -32600);
    let m = s.call("no/such/method", json!({}));
    assert_eq!(m["error"]["code"], -32601);
    s.raw(b"this is not a header\r\n\r\n");
    assert_eq!(s.recv()["error"]["code"], -32700);
    let m = s.call("textDocument/hover", doc("file:///not/open.gmm", at(0, 0)));
    assert_eq!(m["error"]["code"], -32602);
    // A 10 MB document: one diagnostic that says it is too large.
    let huge = "let a = 1\n".repeat(1_000_000);
    let diags = s.open("file:///nowhere/huge.gmm", &huge);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["code"], "document-too-large");
    // The server still answers.
    assert_eq!(s.open(URI, "let b = 2\n").len(), 0);
    assert!(s.shutdown().success());
}

#[test]
fn exit_without_shutdown_is_status_1() {
    let (mut s, _) = Server::start();
    s.notify("exit", Json::Null);
    drop(s.stdin.take());
    let began = std::time::Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(began.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(1));
}

/// Another project's client: pygls's `LanguageClient`, pinned, in a virtual environment
/// (tests/lsp/pygls_client.py). Every example opens without a diagnostic; a copy with a
/// misspelt name gets exactly that one.
#[test]
fn a_pygls_client_checks_every_example() {
    let python = common::python_venv("pygls-venv", &["pygls==2.1.1"]);
    common::python_client(
        &python,
        "tests/lsp/pygls_client.py",
        "lsp-pygls",
        300,
        |_, _| {},
    );
}
