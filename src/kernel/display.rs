//! How a notebook shows values: one or more MIME bundles per value, each with a `text/plain`
//! fallback. A chart or a plate diagram is SVG (the same SVG as the file `plot` or `graph`
//! writes); a model is its plate diagram, then its joint as LaTeX with its source as the plain
//! text; `tex(m)` is LaTeX; a dataset is an HTML table of its first rows.

use crate::interp::Value;
use crate::model::tex::{Notation, joint};
use crate::syntax::Stmt;
use serde_json::{Map, Value as Json, json};

/// Rows of a dataset a notebook shows.
const ROWS: usize = 10;

/// The bundles that show `value`, the value of the bare expression `stmt`: the last one is the
/// value itself (a cell's `execute_result` when it ends the cell), any before it are pictures
/// shown with it.
pub fn bundles(stmt: &Stmt, value: &Value) -> Vec<Map<String, Json>> {
    let plain = value.to_string();
    let bundle = |pairs: &[(&str, String)]| -> Map<String, Json> {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k.to_string(), json!(v));
        }
        m
    };
    match value {
        Value::Picture(p) => match p.svg() {
            Ok(svg) => vec![bundle(&[("image/svg+xml", svg), ("text/plain", plain)])],
            Err(_) => vec![bundle(&[("text/plain", plain)])],
        },
        Value::Model(m) => {
            let diagram =
                crate::plot::diagram::layout(&m.model, crate::model::dot::Observed::Leaves);
            vec![
                bundle(&[
                    ("image/svg+xml", crate::plot::diagram::to_svg(&diagram)),
                    ("text/plain", crate::plot::diagram::to_text(&diagram)),
                ]),
                bundle(&[
                    (
                        "text/latex",
                        format!("$${}$$", joint(&m.model, Notation::Latex)),
                    ),
                    ("text/plain", plain),
                ]),
            ]
        }
        Value::Str(s) if stmt.call().is_some_and(|(name, _)| name == "tex") => {
            vec![bundle(&[
                ("text/latex", format!("$${s}$$")),
                ("text/plain", plain),
            ])]
        }
        Value::Data(d) => vec![bundle(&[
            ("text/html", dataset_html(d)),
            ("text/plain", plain),
        ])],
        _ => vec![bundle(&[("text/plain", plain)])],
    }
}

/// The first rows of a dataset as an HTML table, then its size.
fn dataset_html(d: &crate::interp::data::Dataset) -> String {
    let shown = d.rows.min(ROWS);
    let rows: Vec<Vec<String>> = (0..shown)
        .map(|r| d.columns.iter().map(|c| c.cell(r)).collect())
        .collect();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let more = if shown < d.rows {
        format!(" (the first {shown} shown)")
    } else {
        String::new()
    };
    format!(
        "{}<p>{} × {}{more}</p>\n",
        html_table(&d.names(), &rows),
        plural(d.rows, "row"),
        plural(d.columns.len(), "column")
    )
}

/// An HTML table of text cells.
pub fn html_table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", crate::plot::xml(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{}</td>", crate::plot::xml(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
