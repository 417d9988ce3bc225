//! `plot(...)` and `graph(...)`: the script's face of `crate::plot`. With `file = "x.svg"` they
//! write an SVG (for `plot`, `x.png` writes the same drawing in pixels) and return the path;
//! without, they return a [`Picture`]: text for the terminal (the REPL shows it; a script prints
//! it with `print plot(...)`), SVG for the notebook.

use super::Interp;
use super::call::{Args, whole};
use super::data::Cells;
use super::numeric;
use super::value::{Drawing, Picture, Value};
use crate::diag::Diag;
use crate::plot::{self, Options, PlotError};
use std::rc::Rc;

/// Default SVG size in pixels.
const SVG_SIZE: (u32, u32) = (800, 500);
/// Default terminal chart height in rows.
const TERM_ROWS: u32 = 16;

/// What a plot file holds, by its name's extension.
#[derive(Clone, Copy)]
enum Format {
    Svg,
    Png,
}

/// The format a file name asks for: `.svg` or `.png` (in any case), else `None`.
fn file_format(path: &str) -> Option<Format> {
    let ext = std::path::Path::new(path)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => Some(Format::Svg),
        "png" => Some(Format::Png),
        _ => None,
    }
}

/// How positional argument `i` was written, for an axis label (cut at 40 characters).
fn written(a: &Args<'_>, i: usize) -> String {
    let text = crate::syntax::fmt::format_expr(a.written[i]);
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn plot_diag(e: PlotError, a: &Args<'_>) -> Diag {
    let help = e.help();
    Diag::error(e.to_string(), a.span)
        .help_opt(help)
        .help(format!("usage: {}", a.b.summary))
}

fn size_option(a: &Args<'_>, name: &str, max: usize) -> Result<Option<u32>, Diag> {
    match a.opt(name) {
        None => Ok(None),
        Some((v, s)) => {
            let n = whole(v, s, name)?;
            if n == 0 || n > max {
                return Err(Diag::error(
                    format!("{name} must be between 1 and {max}, got {n}"),
                    s,
                ));
            }
            Ok(Some(n as u32))
        }
    }
}

impl Interp {
    /// `graph(m)`: the plate diagram as DOT text; `format = "svg"` or `"text"` draws it with
    /// gmm's own layout; `file = "m.svg"` (or `.dot`, `.txt`) writes it and returns the path.
    pub(super) fn graph_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let m = a.model(0)?;
        let file = a.text_opt("file")?;
        let asked = a.text_opt("format")?;
        let by_name = file.as_deref().and_then(|f| {
            let ext = std::path::Path::new(f)
                .extension()?
                .to_str()?
                .to_ascii_lowercase();
            match ext.as_str() {
                "svg" => Some("svg"),
                "dot" | "gv" => Some("dot"),
                "txt" => Some("text"),
                _ => None,
            }
        });
        let format = match (asked.as_deref(), by_name, &file) {
            (Some(f), _, _) => f.to_string(),
            (None, Some(f), _) => f.to_string(),
            (None, None, Some(path)) => {
                return Err(Diag::error(
                    format!("graph writes .svg, .dot or .txt files, not `{path}`"),
                    a.opt("file").map_or(a.span, |(_, s)| s),
                )
                .help("end the file name in .svg (a picture), .dot (Graphviz) or .txt (text)"));
            }
            (None, None, None) => "dot".to_string(),
        };
        let diagram = plot::diagram::layout(&m.model, crate::model::dot::Observed::Leaves);
        let text = match format.as_str() {
            "dot" => crate::model::dot::to_dot(&m.model, crate::model::dot::Observed::Leaves),
            "svg" => plot::diagram::to_svg(&diagram),
            "text" => plot::diagram::to_text(&diagram),
            other => {
                return Err(Diag::error(
                    format!("graph has no format `{other}`"),
                    a.opt("format").map_or(a.span, |(_, s)| s),
                )
                .help("the formats are \"dot\", \"svg\" and \"text\""));
            }
        };
        match file {
            Some(path) => {
                self.write_file(&path, text.as_bytes(), a.span)?;
                Ok(Value::Str(path))
            }
            None => Ok(Value::Picture(Rc::new(Picture {
                text,
                drawing: Drawing::Diagram(diagram),
            }))),
        }
    }

    /// `plot(m)`, `plot(m, d)`, `plot(v)`, `plot(x, y)`.
    pub(super) fn plot_builtin(&self, a: &Args<'_>) -> Result<Value, Diag> {
        let file = a.text_opt("file")?;
        let format = match &file {
            Some(path) => Some(file_format(path).ok_or_else(|| {
                Diag::error(
                    format!("plot writes .svg or .png files, not `{path}`"),
                    a.opt("file").map_or(a.span, |(_, s)| s),
                )
                .help("end the file name in .svg (a vector image) or .png (pixels)")
            })?),
            None => None,
        };
        // Pixels for an SVG; characters and rows for text, whose canvas holds 8 dots a cell.
        let (max_w, max_h) = if file.is_some() {
            (10_000, 10_000)
        } else {
            (1_000, 500)
        };
        let o = Options {
            title: a.text_opt("title")?.map(|t| plot::printable(&t)),
            xlabel: a.text_opt("xlabel")?.map(|t| plot::printable(&t)),
            ylabel: a.text_opt("ylabel")?.map(|t| plot::printable(&t)),
            bins: size_option(a, "bins", 10_000)?.map(|b| b as usize),
            from: a.number_opt("from")?,
            to: a.number_opt("to")?,
            width: size_option(a, "width", max_w)?,
            height: size_option(a, "height", max_h)?,
        };
        let fig = match (a.v(0), a.pos.get(1)) {
            (Value::Model(mv), None) => plot::model_figure(&mv.model, None, &o),
            (Value::Model(mv), Some((Value::Data(d), s))) => {
                let (name, dim) = plot::variable(&mv.model).map_err(|e| plot_diag(e, a))?;
                let values = match d.get(&name) {
                    Ok(Cells::Num(x)) => x,
                    Ok(Cells::Text(_)) => {
                        return Err(Diag::error(format!("column `{name}` holds text"), *s));
                    }
                    Err(e) => return Err(Diag::error(e.to_string(), *s).help(e.help())),
                };
                let per: usize = values.shape()[1..].iter().product();
                if per != dim {
                    return Err(Diag::error(
                        format!(
                            "the data give `{name}` {per} number(s) per row, but the model's `{name}` has {dim}"
                        ),
                        *s,
                    ));
                }
                plot::model_figure(&mv.model, Some(values.data()), &o)
            }
            (Value::Model(_), Some((other, s))) => {
                return Err(Diag::error(
                    format!("plot(model, data) takes a dataset, got {}", other.kind()),
                    *s,
                ));
            }
            (v, None) => {
                let y = numeric(v, a.at(0), "plot's argument")?;
                if y.rank() > 1 {
                    return Err(a.error(0, format!("plot(v) draws a vector, got {}", v.kind())));
                }
                let groups = colour_labels(a)?;
                let groups = groups.as_ref().map(|(n, g)| (n.as_str(), g.data()));
                plot::line_figure(None, y.data(), ("index", &written(a, 0)), &o, groups)
            }
            (x, Some((Value::Dist(dist), s))) => {
                // A distribution along x: its mean and a ±1 sd band, over `points`.
                let x = numeric(x, a.at(0), "plot's x")?;
                if !dist.event_shape().is_empty() || dist.batch_shape().len() != 1 {
                    return Err(Diag::error(
                        format!(
                            "plot(x, dist) draws a batch of 1-D distributions, one per x; this is {}",
                            dist.family()
                        ),
                        *s,
                    )
                    .help("ask for one entry per x, like p(x[1] | x[0] = t) with a vector t"));
                }
                let points = match a.opt("points") {
                    Some((v, at)) => {
                        let m = numeric(v, at, "the points")?;
                        if m.rank() != 2 || m.shape()[1] != 2 {
                            return Err(Diag::error(
                                format!(
                                    "points are an N×2 matrix of (x, y) pairs, not shape {}",
                                    crate::array::show_shape(m.shape())
                                ),
                                at,
                            )
                            .help("like d.x for a 2-vector, or transpose([xs, ys])"));
                        }
                        Some(m)
                    }
                    None => None,
                };
                let sd: Vec<f64> = dist.var().data().iter().map(|v| v.sqrt()).collect();
                plot::band_figure(
                    x.data(),
                    dist.mean().data(),
                    &sd,
                    points.as_ref().map(|m| m.data()),
                    (&written(a, 0), &written(a, 1)),
                    &o,
                )
            }
            (x, Some((y, s))) => {
                let x = numeric(x, a.at(0), "plot's x")?;
                let y = numeric(y, *s, "plot's y")?;
                let groups = colour_labels(a)?;
                let groups = groups.as_ref().map(|(n, g)| (n.as_str(), g.data()));
                plot::line_figure(
                    Some(x.data()),
                    y.data(),
                    (&written(a, 0), &written(a, 1)),
                    &o,
                    groups,
                )
            }
        }
        .map_err(|e| plot_diag(e, a))?;
        match file {
            Some(path) => {
                let (w, h) = (
                    o.width.unwrap_or(SVG_SIZE.0),
                    o.height.unwrap_or(SVG_SIZE.1),
                );
                let bytes = match format {
                    Some(Format::Png) => plot::svg::render_png(&fig, w, h),
                    _ => plot::svg::render(&fig, w, h).map(String::into_bytes),
                }
                .map_err(|e| plot_diag(e, a))?;
                self.write_file(&path, &bytes, a.span)?;
                Ok(Value::Str(path))
            }
            None => {
                let w = o
                    .width
                    .map_or_else(plot::term::terminal_width, |w| w as usize);
                let h = o.height.unwrap_or(TERM_ROWS) as usize;
                let text = plot::term::render(&fig, w, h, plot::term::Ink::for_stdout());
                Ok(Value::Picture(Rc::new(Picture {
                    text,
                    drawing: Drawing::Chart {
                        figure: fig,
                        width: SVG_SIZE.0,
                        height: SVG_SIZE.1,
                    },
                })))
            }
        }
    }
}

/// `color = labels`: a label per point (a discrete variable's values), with the labels' text
/// as written, for the legend.
fn colour_labels(a: &Args<'_>) -> Result<Option<(String, crate::array::Array)>, Diag> {
    let Some((v, at)) = a.opt("color") else {
        return Ok(None);
    };
    let labels = numeric(v, at, "the color labels")?;
    // The legend reads `z = 0` for `color = decoded.z`: the last name written.
    let i = a.named.iter().position(|(n, _, _)| n == "color");
    let text = i.map_or_else(String::new, |i| {
        crate::syntax::fmt::format_expr(a.named_written[i])
    });
    let name = text
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|w| !w.is_empty())
        .unwrap_or("color")
        .to_string();
    Ok(Some((name, labels)))
}
