//! Editor support: the VS Code extension's TextMate grammar is generated from the lexer's and
//! the checker's own tables (keywords, literals, distributions and priors, parameter types,
//! built-ins), so
//! the colours never disagree with the language; the extension's JSON files parse.
//! `BLESS=1` writes the grammar anew.

use crate::common;

use serde_json::{Value as Json, json};

/// `\b(a|b|c)\b`.
fn words(list: &[&str]) -> String {
    format!("\\b({})\\b", list.join("|"))
}

/// The grammar, from the tables.
fn grammar() -> Json {
    let literals = ["true", "false", "NA"];
    let keywords: Vec<&str> = gmm::syntax::lex::RESERVED
        .iter()
        .copied()
        .filter(|k| !literals.contains(k))
        .collect();
    // Distributions, then the priors that are not also distributions (section 9.2).
    let mut families: Vec<&str> = gmm::model::Family::ALL.iter().map(|f| f.name()).collect();
    for p in gmm::model::prior::FAMILIES {
        if !families.contains(p) {
            families.push(p);
        }
    }
    let builtins: Vec<&str> = gmm::builtins::BUILTINS
        .iter()
        .map(|b| b.name)
        .filter(|n| !families.contains(n))
        .collect();
    json!({
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "gmm",
        "scopeName": "source.gmm",
        "fileTypes": ["gmm"],
        "patterns": [
            { "name": "comment.line.number-sign.gmm", "match": "#.*$" },
            {
                "name": "string.quoted.double.gmm",
                "begin": "\"",
                "end": "\"",
                "patterns": [{ "name": "constant.character.escape.gmm", "match": "\\\\." }]
            },
            {
                "name": "constant.numeric.gmm",
                "match": "\\b([0-9]+(\\.[0-9]+)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\b"
            },
            { "name": "keyword.control.gmm", "match": words(&keywords) },
            { "name": "constant.language.gmm", "match": words(&literals) },
            { "name": "support.class.distribution.gmm", "match": words(&families) },
            { "name": "storage.type.gmm", "match": words(&gmm::model::ParamType::NAMES) },
            { "name": "support.function.builtin.gmm", "match": words(&builtins) },
            { "name": "keyword.operator.gmm", "match": "==|!=|<=|>=|\\.\\.|[~|@^*/+<>=-]" }
        ]
    })
}

#[test]
fn the_grammar_lists_what_the_lexer_and_the_checker_know() {
    let path = common::root().join("editors/vscode/syntaxes/gmm.tmLanguage.json");
    let want = serde_json::to_string_pretty(&grammar()).unwrap() + "\n";
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "editors/vscode/syntaxes/gmm.tmLanguage.json differs from the lexer's tables; \
         BLESS=1 cargo test --release editors:: writes it"
    );
    // The lists hold what the language has: a sample of each.
    for (scope, word) in [
        ("keyword.control.gmm", "plate"),
        ("support.class.distribution.gmm", "MvNormal"),
        ("storage.type.gmm", "simplex"),
        ("support.function.builtin.gmm", "fit"),
        ("constant.language.gmm", "NA"),
    ] {
        let g = grammar();
        let pattern = g["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == scope)
            .unwrap()["match"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            pattern.contains(&format!("|{word}|"))
                || pattern.contains(&format!("({word}|"))
                || pattern.contains(&format!("|{word})")),
            "{scope}: {pattern}"
        );
    }
}

#[test]
fn the_extension_files_are_json_and_name_the_server() {
    let dir = common::root().join("editors/vscode");
    let read = |name: &str| -> Json {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let package = read("package.json");
    assert_eq!(
        package["contributes"]["languages"][0]["extensions"],
        json!([".gmm"])
    );
    assert_eq!(
        package["contributes"]["grammars"][0]["path"],
        "./syntaxes/gmm.tmLanguage.json"
    );
    let config = read("language-configuration.json");
    assert_eq!(config["comments"]["lineComment"], "#");
    let main = std::fs::read_to_string(dir.join("extension.js")).unwrap();
    assert!(
        main.contains("args: [\"lsp\"]"),
        "the extension starts `gmm lsp`"
    );
}
