//! What the server answers: capabilities, diagnostics, hover, completion, definitions,
//! document symbols, formatting, rename and quick fixes.

use super::analysis::{Analysis, Def, DefKind};
use super::{Document, MAX_DOCUMENT};
use crate::diag::{Diag, Severity};
use crate::model::{Family, Model, ParamType};
use crate::syntax::ast::{ExprKind, Span};
use serde_json::{Value as Json, json};

/// A failed request: the JSON-RPC error code and message.
pub struct Failure(pub i64, pub String);

fn bad_params(what: &str) -> Failure {
    Failure(-32602, format!("invalid params: {what}"))
}

/// The server's capabilities.
pub fn capabilities() -> Json {
    json!({
        "capabilities": {
            "positionEncoding": "utf-16",
            "textDocumentSync": { "openClose": true, "change": 1 },
            "hoverProvider": true,
            "completionProvider": { "triggerCharacters": [".", "~", ":"] },
            "definitionProvider": true,
            "documentSymbolProvider": true,
            "documentFormattingProvider": true,
            "renameProvider": true,
            "codeActionProvider": { "codeActionKinds": ["quickfix"] },
        },
        "serverInfo": { "name": "gmm", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// The byte offset of the request's position.
fn offset(doc: &Document, params: &Json) -> Result<usize, Failure> {
    let line = params
        .pointer("/position/line")
        .and_then(Json::as_u64)
        .ok_or_else(|| bad_params("no position.line"))?;
    let character = params
        .pointer("/position/character")
        .and_then(Json::as_u64)
        .ok_or_else(|| bad_params("no position.character"))?;
    Ok(doc.lines.offset(
        &doc.text,
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(character).unwrap_or(u32::MAX),
    ))
}

/// A short code for a diagnostic: its message up to the first quoted name, as words joined
/// by dashes (`unknown name `x`` → `unknown-name`).
pub fn code(message: &str) -> String {
    let head = message.split(['`', '"', ':', '(']).next().unwrap_or("");
    let words: Vec<String> = head
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .take(6)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "gmm".into()
    } else {
        words.join("-")
    }
}

/// The `textDocument/publishDiagnostics` parameters for a document.
pub fn diagnostics(doc: &Document, uri: &str) -> Json {
    let mut out = Vec::new();
    if doc.text.len() > MAX_DOCUMENT {
        out.push(json!({
            "range": doc.lines.range(&doc.text, Span::new(0, 0)),
            "severity": 1,
            "source": "gmm",
            "code": "document-too-large",
            "message": format!(
                "the document has {:.1} MB; gmm checks documents of up to {} MB",
                doc.text.len() as f64 / 1e6,
                MAX_DOCUMENT >> 20
            ),
        }));
    }
    for d in &doc.analysis.diags {
        let span = d.span.unwrap_or_default();
        let mut message = d.message.clone();
        if !d.label.is_empty() {
            message.push_str(&format!(" ({})", d.label));
        }
        for h in &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let related: Vec<Json> = d
            .related
            .iter()
            .map(|(s, note)| {
                json!({
                    "location": { "uri": uri, "range": doc.lines.range(&doc.text, *s) },
                    "message": note,
                })
            })
            .collect();
        let mut item = json!({
            "range": doc.lines.range(&doc.text, span),
            "severity": if d.severity == Severity::Error { 1 } else { 2 },
            "source": "gmm",
            "code": code(&d.message),
            "message": message,
        });
        if !related.is_empty() {
            item["relatedInformation"] = json!(related);
        }
        out.push(item);
    }
    json!({ "uri": uri, "diagnostics": out })
}

fn markdown(text: String) -> Json {
    json!({ "contents": { "kind": "markdown", "value": text } })
}

/// The model a definition belongs to, lowered, if the checker could lower it.
fn lowered<'a>(a: &'a Analysis, d: &Def) -> Option<&'a Model> {
    let scope = &a.models[d.model?];
    a.checked
        .models
        .iter()
        .find(|m| m.name == scope.name && m.span.start >= scope.span.start)
        .and_then(|m| m.model.as_ref())
}

/// What a definition is, for hover.
fn describe(doc: &Document, d: &Def) -> String {
    let a = &doc.analysis;
    let source = doc.text[d.whole.start..d.whole.end]
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    let model = lowered(a, d);
    let owner = d
        .model
        .map(|m| a.models[m].name.clone())
        .unwrap_or_default();
    match d.kind {
        DefKind::Param => {
            let mut s = format!(
                "**parameter** `{}` of model `{owner}`\n\n```gmm\n{source}\n```",
                d.name
            );
            if let Some(p) = model.and_then(|m| m.params.iter().find(|p| p.name == d.name)) {
                s.push_str(&format!(
                    "\n\ntype `{}`, shape `{}`",
                    p.ty.to_source(),
                    crate::array::show_shape(&p.shape())
                ));
                match &p.value {
                    Some(v) => s.push_str(&format!(
                        ", value `{}`",
                        crate::interp::Value::Num(v.clone()).brief(200)
                    )),
                    None => s.push_str(", no value until a fit gives one"),
                }
            }
            s
        }
        DefKind::Variable => {
            let mut s = format!("**random variable** `{}` of model `{owner}`", d.name);
            if let Some(m) = model
                && let Some(v) = m.vars.iter().position(|v| v.name == d.name)
            {
                let var = &m.vars[v];
                let parents: Vec<&str> = var
                    .parents
                    .iter()
                    .map(|&p| m.vars[p].name.as_str())
                    .collect();
                let plates: Vec<String> = var
                    .plates
                    .iter()
                    .map(|&p| m.plates[p].name.clone())
                    .collect();
                let leaf = !m.vars.iter().any(|w| w.parents.contains(&v));
                let in_data = var
                    .plates
                    .first()
                    .is_some_and(|&p| matches!(m.plates[p].size, crate::model::PlateSize::Data));
                s.push_str(&format!(
                    "\n\n`{} ~ {}`\n\nparents: {}\n\nplates: {}\n\n{}",
                    d.name,
                    var.dist.family().name(),
                    if parents.is_empty() { "none".into() } else { parents.join(", ") },
                    if plates.is_empty() { "none (drawn once for all rows)".into() } else { plates.join(", ") },
                    match (in_data, leaf) {
                        (true, true) => "observed in the data plate where the data give a column for it; nothing depends on it, so a diagram draws it observed",
                        (true, false) => "in the data plate: observed where the data give a column for it, else latent (summed out)",
                        (false, _) => "outside the data plate: latent, summed out over all rows together",
                    }
                ));
            } else {
                s.push_str(&format!("\n\n```gmm\n{source}\n```"));
            }
            s
        }
        DefKind::Model | DefKind::Template => {
            let checked = a
                .checked
                .models
                .iter()
                .find(|m| m.span == d.span)
                .and_then(|m| m.model.as_ref());
            match checked {
                Some(m) => format!("**model** `{}`\n\n{}", d.name, m.summary()),
                None => format!(
                    "**{}** `{}`\n\n```gmm\n{source}\n```",
                    if d.kind == DefKind::Template {
                        "template"
                    } else {
                        "model"
                    },
                    d.name
                ),
            }
        }
        DefKind::Plate => format!(
            "**plate** `{}` of model `{owner}`\n\n```gmm\n{source}\n```",
            d.name
        ),
        DefKind::Const => format!(
            "**constant** `{}` of model `{owner}`\n\n```gmm\n{source}\n```",
            d.name
        ),
        DefKind::TemplateArg => format!("**argument** `{}` of template `{owner}`", d.name),
        DefKind::Let => format!("```gmm\n{source}\n```"),
    }
}

pub fn hover(doc: &Document, _uri: &str, params: &Json) -> Result<Json, Failure> {
    let at = offset(doc, params)?;
    let a = &doc.analysis;
    let Some((span, _)) = a.ident_at(&doc.text, at) else {
        return Ok(Json::Null);
    };
    let name = &doc.text[span.start..span.end];
    let mut reply = if let Some(d) = a.resolve(&doc.text, at) {
        markdown(describe(doc, d))
    } else if let Some(b) = crate::builtins::lookup(name) {
        markdown(format!("```gmm\n{}\n```", b.summary))
    } else if ParamType::NAMES.contains(&name) {
        markdown(format!("parameter type `{name}`"))
    } else {
        return Ok(Json::Null);
    };
    reply["range"] = doc.lines.range(&doc.text, span);
    Ok(reply)
}

fn item(label: &str, kind: u32, detail: &str) -> Json {
    json!({ "label": label, "kind": kind, "detail": detail })
}

/// LSP completion kinds.
const KEYWORD: u32 = 14;
const FUNCTION: u32 = 3;
const FIELD: u32 = 5;
const VARIABLE: u32 = 6;
const CLASS: u32 = 7;
const TYPE: u32 = 25;

pub fn completion(doc: &Document, params: &Json) -> Result<Json, Failure> {
    let at = offset(doc, params)?;
    let before = &doc.text[..at];
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let word_start = line.len() - crate::syntax::lex::trailing_name(line).len();
    let head = line[..word_start].trim_end();
    // While a line is half typed the document may not parse: read the names from the text
    // without that line, else from the last version that parsed.
    let line_start = at - line.len();
    let line_end = doc.text[at..].find('\n').map_or(doc.text.len(), |i| at + i);
    let repaired = (!doc.analysis.parsed)
        .then(|| format!("{}{}", &doc.text[..line_start], &doc.text[line_end..]))
        .map(|t| {
            let a = Analysis::new(&t);
            (t, a)
        })
        .filter(|(_, a)| a.parsed);
    let (text, a) = match &repaired {
        Some((t, a)) => (t.as_str(), a),
        None => doc.known(),
    };
    let mut items: Vec<Json> = Vec::new();
    if let Some(owner_end) = line[..word_start].strip_suffix('.') {
        let owner = crate::syntax::lex::trailing_name(owner_end);
        for (f, detail) in fields(doc, text, a, owner) {
            items.push(item(&f, FIELD, &detail));
        }
    } else if head.ends_with('~') && head.trim_start().starts_with("param") {
        // A parameter's prior (section 9.2).
        for p in crate::model::prior::FAMILIES {
            items.push(item(p, CLASS, "a prior on the parameter"));
        }
    } else if head.ends_with('~') {
        for f in Family::ALL {
            let summary = crate::builtins::lookup(f.name()).map_or("", |b| b.summary);
            items.push(item(f.name(), CLASS, summary));
        }
    } else if head.ends_with(':') && head.trim_start().starts_with("param") {
        for t in ParamType::NAMES {
            items.push(item(t, TYPE, "parameter type"));
        }
    } else {
        for k in crate::syntax::lex::RESERVED {
            items.push(item(k, KEYWORD, "keyword"));
        }
        for k in crate::syntax::lex::CONTEXTUAL {
            items.push(item(k, KEYWORD, "a chain's word (section 9.4)"));
        }
        for b in crate::builtins::BUILTINS {
            items.push(item(b.name, FUNCTION, b.summary));
        }
        let mut seen = std::collections::HashSet::new();
        // The text before the cursor's line is the same in every version read here.
        let here = a.model_at(line_start);
        for d in &a.defs {
            let visible = d.model.is_none() || (here.is_some() && d.model == here);
            if visible && seen.insert(d.name.clone()) {
                items.push(item(
                    &d.name,
                    VARIABLE,
                    &format!("{:?}", d.kind).to_lowercase(),
                ));
            }
        }
    }
    Ok(json!({ "isIncomplete": false, "items": items }))
}

/// The fields after `owner.`: a model's parameters and constants (and a fitted model's
/// `loglik`, `trace`, …), a dataset's columns.
fn fields(doc: &Document, text: &str, a: &Analysis, owner: &str) -> Vec<(String, String)> {
    let model_fields = |name: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(m) = a.checked.models.iter().rev().find(|m| m.name == name) {
            for p in &m.param_names {
                out.push((p.clone(), format!("parameter of {name}")));
            }
            if let Some(model) = &m.model {
                for c in &model.consts {
                    out.push((c.name.clone(), format!("constant of {name}")));
                }
            }
            out.push(("with".into(), "a copy with new parameter values".into()));
        }
        out
    };
    let Some(d) = a.script_def(owner, text.len()) else {
        return Vec::new();
    };
    match d.kind {
        DefKind::Model | DefKind::Template => model_fields(owner),
        DefKind::Let => {
            let Some(value) = &d.value else {
                return Vec::new();
            };
            let model = a
                .model_named(owner, text.len())
                .map(|m| a.models[m].name.clone());
            match &value.kind {
                ExprKind::Name(_) => model.map(|m| model_fields(&m)).unwrap_or_default(),
                ExprKind::Call(f, args) => {
                    let callee = match &f.kind {
                        ExprKind::Name(n) => n.as_str(),
                        _ => "",
                    };
                    let first = args.first().map(|a| &a.value.kind);
                    match (callee, first) {
                        ("fit", _) => {
                            let mut out = model.map(|m| model_fields(&m)).unwrap_or_default();
                            for f in crate::interp::FIT_FIELDS {
                                out.push((f.to_string(), "what the fit reported".into()));
                            }
                            out
                        }
                        ("", _) => model.map(|m| model_fields(&m)).unwrap_or_default(),
                        ("sample", Some(ExprKind::Name(m))) => a
                            .checked
                            .models
                            .iter()
                            .rev()
                            .find(|c| c.name == *m)
                            .map(|c| {
                                c.var_names
                                    .iter()
                                    .map(|v| (v.clone(), format!("column sampled from {m}")))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        ("table", _) => args
                            .iter()
                            .filter_map(|a| a.name.as_ref())
                            .map(|n| (n.name.clone(), "column".into()))
                            .collect(),
                        ("load", Some(ExprKind::Str(path))) => csv_columns(doc, path)
                            .into_iter()
                            .map(|c| (c, format!("column of {path}")))
                            .collect(),
                        _ => Vec::new(),
                    }
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The columns a CSV file's header names (`x[0]`, `x[1]` as `x`), read from the document's
/// folder: at most its first 64 KB.
fn csv_columns(doc: &Document, path: &str) -> Vec<String> {
    use std::io::Read;
    let Some(folder) = &doc.folder else {
        return Vec::new();
    };
    let full = folder.join(path);
    let Ok(meta) = std::fs::metadata(&full) else {
        return Vec::new();
    };
    if !meta.is_file() {
        return Vec::new();
    }
    let Ok(file) = std::fs::File::open(&full) else {
        return Vec::new();
    };
    let mut head = Vec::new();
    if file.take(64 << 10).read_to_end(&mut head).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&head);
    let Some(first) = text.lines().next() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for c in first.trim_start_matches('\u{feff}').split(',') {
        let c = c.trim().trim_matches('"');
        let base = c.split('[').next().unwrap_or(c).to_string();
        if !base.is_empty() && !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

fn location(doc: &Document, uri: &str, span: Span) -> Json {
    json!({ "uri": uri, "range": doc.lines.range(&doc.text, span) })
}

pub fn definition(doc: &Document, uri: &str, params: &Json) -> Result<Json, Failure> {
    let at = offset(doc, params)?;
    Ok(match doc.analysis.resolve(&doc.text, at) {
        Some(d) => location(doc, uri, d.span),
        None => Json::Null,
    })
}

/// LSP symbol kinds.
fn symbol_kind(k: DefKind) -> u32 {
    match k {
        DefKind::Model | DefKind::Template => 5,
        DefKind::Param => 7,
        DefKind::Const => 14,
        DefKind::Plate => 3,
        DefKind::Variable => 13,
        DefKind::TemplateArg => 26,
        DefKind::Let => 13,
    }
}

pub fn symbols(doc: &Document) -> Result<Json, Failure> {
    let a = &doc.analysis;
    let symbol = |d: &Def, children: Vec<Json>| {
        let mut s = json!({
            "name": d.name,
            "detail": format!("{:?}", d.kind).to_lowercase(),
            "kind": symbol_kind(d.kind),
            "range": doc.lines.range(&doc.text, d.whole),
            "selectionRange": doc.lines.range(&doc.text, d.span),
        });
        if !children.is_empty() {
            s["children"] = json!(children);
        }
        s
    };
    let mut out = Vec::new();
    for d in a.defs.iter().filter(|d| d.model.is_none()) {
        let children = match a.models.iter().position(|m| m.span == d.whole) {
            Some(m) => a
                .defs
                .iter()
                .filter(|c| c.model == Some(m))
                .map(|c| symbol(c, Vec::new()))
                .collect(),
            None => Vec::new(),
        };
        out.push(symbol(d, children));
    }
    Ok(json!(out))
}

pub fn formatting(doc: &Document) -> Result<Json, Failure> {
    if doc.text.len() > MAX_DOCUMENT {
        return Ok(Json::Null);
    }
    let Ok(program) = crate::syntax::parse(&doc.text) else {
        // A document that does not parse is left as it is; its diagnostics say why.
        return Ok(Json::Null);
    };
    let formatted = crate::syntax::fmt::format_program(&program, &doc.text);
    if formatted == doc.text {
        return Ok(json!([]));
    }
    Ok(json!([{
        "range": doc.lines.range(&doc.text, Span::new(0, doc.text.len())),
        "newText": formatted,
    }]))
}

pub fn rename(doc: &Document, uri: &str, params: &Json) -> Result<Json, Failure> {
    let at = offset(doc, params)?;
    let new = params
        .get("newName")
        .and_then(Json::as_str)
        .ok_or_else(|| bad_params("no newName"))?;
    let valid = new
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::syntax::lex::RESERVED.contains(&new);
    if !valid {
        return Err(Failure(
            -32602,
            format!(
                "`{new}` is not a name: a letter or `_`, then letters, digits and `_`, and not a keyword"
            ),
        ));
    }
    let Some(d) = doc.analysis.resolve(&doc.text, at) else {
        return Err(Failure(-32602, "there is no name to rename here".into()));
    };
    if matches!(d.kind, DefKind::Model | DefKind::Template) {
        return Err(Failure(
            -32602,
            "gmm renames parameters, variables, constants, plates and `let` names, not models"
                .into(),
        ));
    }
    let edits: Vec<Json> = doc
        .analysis
        .occurrences(&doc.text, d)
        .into_iter()
        .map(|s| json!({ "range": doc.lines.range(&doc.text, s), "newText": new }))
        .collect();
    Ok(json!({ "changes": { uri: edits } }))
}

/// The replacement a diagnostic's help offers for the text it marks, if any: a name for a
/// misspelt one (`did you mean `X`?`), `==` for `=` in a comparison, `m.with(...)` for an
/// assignment to a parameter.
pub fn fix(d: &Diag, text: &str) -> Option<(Span, String)> {
    let span = d.span?;
    let marked = text.get(span.start..span.end)?;
    for h in &d.help {
        if let Some(rest) = h.strip_prefix("did you mean `")
            && let Some((name, _)) = rest.split_once('`')
            && marked
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Some((span, name.to_string()));
        }
        if marked == "=" && h.starts_with("to compare, write `==`") {
            return Some((span, "==".into()));
        }
        if let Some((_, rest)) = h.split_once("copied with new values: `")
            && let Some((code, _)) = rest.split_once('`')
        {
            // The whole assignment statement, to the end of its line.
            let end = text[span.end..]
                .find('\n')
                .map_or(text.len(), |i| span.end + i);
            return Some((Span::new(span.start, end), code.to_string()));
        }
    }
    None
}

pub fn code_actions(doc: &Document, uri: &str, params: &Json) -> Result<Json, Failure> {
    let range = params.get("range").ok_or_else(|| bad_params("no range"))?;
    let pos = |p: &str| -> Option<usize> {
        Some(doc.lines.offset(
            &doc.text,
            range.pointer(&format!("/{p}/line"))?.as_u64()? as u32,
            range.pointer(&format!("/{p}/character"))?.as_u64()? as u32,
        ))
    };
    let (start, end) = (
        pos("start").ok_or_else(|| bad_params("range.start"))?,
        pos("end").ok_or_else(|| bad_params("range.end"))?,
    );
    let mut actions = Vec::new();
    for d in &doc.analysis.diags {
        let Some(span) = d.span else { continue };
        if span.end < start || span.start > end {
            continue;
        }
        let Some((at, replacement)) = fix(d, &doc.text) else {
            continue;
        };
        actions.push(json!({
            "title": format!("Replace with `{replacement}`"),
            "kind": "quickfix",
            "isPreferred": true,
            "diagnostics": [{
                "range": doc.lines.range(&doc.text, span),
                "message": d.message,
                "code": code(&d.message),
                "source": "gmm",
            }],
            "edit": { "changes": { uri: [{
                "range": doc.lines.range(&doc.text, at),
                "newText": replacement,
            }] } },
        }));
    }
    Ok(json!(actions))
}
