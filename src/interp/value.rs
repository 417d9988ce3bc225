//! Script values and how they print (section 7).

use super::data::{ColumnRef, Dataset, Text};
use crate::array::{Array, write_nested};
use crate::infer::Distribution;
use crate::model::Model;
use crate::syntax::ast;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// A value of the script language.
#[derive(Clone, Debug)]
pub enum Value {
    /// A number or an n-dimensional array of numbers.
    Num(Array),
    /// A boolean or an array of booleans (elements 0 and 1).
    Bool(Array),
    /// A string.
    Str(String),
    /// The missing value.
    Na,
    /// A vector of strings (a list of strings, a text column, `levels`); `None` is missing.
    /// A dataset's column remembers where it came from, for messages.
    Text(Vec<Text>, Option<Rc<ColumnRef>>),
    /// A dataset.
    Data(Rc<Dataset>),
    /// A distribution.
    Dist(Rc<Distribution>),
    /// A model with its parameter values.
    Model(Rc<ModelValue>),
    /// A model template, to be called with its arguments.
    Template(Rc<Template>),
    /// A chart or a plate diagram for the screen.
    Picture(Rc<Picture>),
    /// Named arrays, one per parameter: what `stderr` and `confint` return (section 9.3).
    Record(Rc<Record>),
}

/// Named arrays, read as fields (`se.mu`).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// What the record holds, for messages: "standard errors of `f`".
    pub what: String,
    pub fields: Vec<(String, Array)>,
}

/// What `plot(...)` and `graph(m)` return when no file is named: a chart or a plate diagram
/// for the screen. A terminal and a script show its text (the chart drawn in characters, the
/// diagram as DOT or as asked); the notebook kernel shows its SVG, with the text as the
/// plain-text fallback.
#[derive(Clone, Debug)]
pub struct Picture {
    pub text: String,
    pub drawing: Drawing,
}

/// The drawing behind a [`Picture`].
#[derive(Clone, Debug)]
pub enum Drawing {
    /// A chart, and its size in pixels as an SVG.
    Chart {
        figure: crate::plot::Figure,
        width: u32,
        height: u32,
    },
    /// A plate diagram, laid out.
    Diagram(crate::plot::diagram::Diagram),
}

impl Picture {
    /// The drawing as an SVG document, the same as the file `plot` or `graph` would write.
    pub fn svg(&self) -> Result<String, crate::plot::PlotError> {
        match &self.drawing {
            Drawing::Chart {
                figure,
                width,
                height,
            } => crate::plot::svg::render(figure, *width, *height),
            Drawing::Diagram(d) => Ok(crate::plot::diagram::to_svg(d)),
        }
    }
}

/// A model value: the lowered model, and how it was fitted if it was.
#[derive(Clone, Debug)]
pub struct ModelValue {
    /// The graphical model and its current parameter values.
    pub model: Model,
    /// What `fit` reported, for a fitted model.
    pub fit: Option<FitInfo>,
}

impl ModelValue {
    /// A model that was not fitted.
    pub fn new(model: Model) -> ModelValue {
        ModelValue { model, fit: None }
    }

    /// Its free scalar parameters, without the ones its fit held fixed.
    pub fn nparams(&self) -> usize {
        let fixed: Vec<&str> = self
            .fit
            .iter()
            .flat_map(|f| f.fixed.iter().map(String::as_str))
            .collect();
        self.model.nparams(&fixed)
    }
}

/// The fields a fit adds to a model value.
pub const FIT_FIELDS: [&str; 5] = ["loglik", "logpost", "iterations", "converged", "trace"];

/// What a fit reported (the fields `.loglik`, `.iterations`, `.converged`, `.trace`).
#[derive(Clone, Debug)]
pub struct FitInfo {
    /// The observed-data log-likelihood under the fitted values.
    pub loglik: f64,
    /// The log-likelihood plus the log prior of the fitted values (the log-likelihood for a
    /// model without priors).
    pub logpost: f64,
    /// M-steps taken.
    pub iterations: usize,
    /// Whether the tolerance stopped the fit.
    pub converged: bool,
    /// What the fit maximised after each M-step (the log posterior with priors).
    pub trace: Vec<f64>,
    /// The parameters held at their values.
    pub fixed: Vec<String>,
    /// Whether the fit maximised the log posterior (its model has priors, and `priors =
    /// false` did not turn them off).
    pub priors: bool,
    /// The row weights, if the fit used them (`loglik`, `bic` and `aic` apply them).
    pub weights: Option<Rc<Vec<f64>>>,
}

/// A template: its declaration and the script names visible where it was declared.
#[derive(Clone, Debug)]
pub struct Template {
    /// The declaration.
    pub decl: ast::ModelDecl,
    /// Its source text, for printing.
    pub text: String,
    /// The script's bindings where it was declared.
    pub env: Env,
}

/// Nested scopes of script names.
#[derive(Clone, Debug)]
pub struct Env {
    /// Values are shared: a template's snapshot of the script costs a pointer per name.
    frames: Vec<HashMap<String, Rc<Value>>>,
}

impl Default for Env {
    fn default() -> Env {
        Env {
            frames: vec![HashMap::new()],
        }
    }
}

impl Env {
    /// The nearest binding of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.get(name))
            .map(|v| &**v)
    }

    /// Binds `name` in the innermost scope (`let`).
    pub fn define(&mut self, name: &str, v: Value) {
        self.frames
            .last_mut()
            .expect("there is always a scope")
            .insert(name.to_string(), Rc::new(v));
    }

    /// Updates the nearest existing binding (`NAME = …`); false when there is none.
    pub fn assign(&mut self, name: &str, v: Value) -> bool {
        match self.frames.iter_mut().rev().find(|f| f.contains_key(name)) {
            Some(f) => {
                f.insert(name.to_string(), Rc::new(v));
                true
            }
            None => false,
        }
    }

    /// Opens a scope.
    pub fn push(&mut self) {
        self.frames.push(HashMap::new());
    }

    /// Closes the innermost scope.
    pub fn pop(&mut self) {
        self.frames.pop();
    }

    /// Every visible name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.frames.iter().flat_map(|f| f.keys().cloned()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The visible bindings flattened into one scope (what a template captures).
    pub fn snapshot(&self) -> Env {
        let mut one = HashMap::new();
        for f in &self.frames {
            for (k, v) in f {
                one.insert(k.clone(), v.clone());
            }
        }
        Env { frames: vec![one] }
    }
}

impl Value {
    /// The text of a string, or of a picture (which reads as its text wherever a string is
    /// expected).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Picture(p) => Some(&p.text),
            _ => None,
        }
    }

    /// The value as printed, cut after `max` characters with `…`: for messages, which must not
    /// print a whole large array.
    pub fn brief(&self, max: usize) -> String {
        struct Upto {
            text: String,
            left: usize,
        }
        impl fmt::Write for Upto {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                for c in s.chars() {
                    if self.left == 0 {
                        self.text.push('…');
                        return Err(fmt::Error);
                    }
                    self.text.push(c);
                    self.left -= 1;
                }
                Ok(())
            }
        }
        let mut out = Upto {
            text: String::new(),
            left: max,
        };
        let _ = fmt::write(&mut out, format_args!("{self}"));
        out.text
    }

    /// A boolean scalar.
    pub fn bool(b: bool) -> Value {
        Value::Bool(Array::scalar(f64::from(u8::from(b))))
    }

    /// A string from a shared text cell.
    pub fn str(s: std::sync::Arc<str>) -> Value {
        Value::Str(s.to_string())
    }

    /// A vector of strings not taken from a dataset.
    pub fn text(cells: Vec<Text>) -> Value {
        Value::Text(cells, None)
    }

    /// A number scalar.
    pub fn num(x: f64) -> Value {
        Value::Num(Array::scalar(x))
    }

    /// What kind of value this is, in words, for messages.
    pub fn kind(&self) -> String {
        match self {
            Value::Num(a) | Value::Bool(a) => {
                let what = if matches!(self, Value::Bool(_)) {
                    "boolean"
                } else {
                    "number"
                };
                match a.rank() {
                    0 => format!("a {what}"),
                    1 => format!("a vector of {} {what}s", a.len()),
                    2 => format!("a {}×{} matrix", a.shape()[0], a.shape()[1]),
                    _ => format!("an array of shape {}", crate::array::show_shape(a.shape())),
                }
            }
            Value::Str(_) => "a string".into(),
            Value::Na => "NA".into(),
            Value::Text(_, Some(c)) => format!("the text column `{}`", c.name),
            Value::Text(..) => "a list of strings".into(),
            Value::Data(_) => "a dataset".into(),
            Value::Dist(d) => format!("a {} distribution", d.family()),
            Value::Model(_) => "a model".into(),
            Value::Template(_) => "a model template".into(),
            Value::Picture(p) => match p.drawing {
                Drawing::Chart { .. } => "a chart".into(),
                Drawing::Diagram(_) => "a plate diagram".into(),
            },
            Value::Record(r) => format!("a record ({})", r.what),
        }
    }

    /// The numbers of a numeric value (booleans count as 1 and 0, NA as a missing number).
    pub fn as_array(&self) -> Option<Array> {
        match self {
            Value::Num(a) | Value::Bool(a) => Some(a.clone()),
            Value::Na => Some(Array::scalar(crate::array::NA)),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(a) => write!(f, "{a}"),
            Value::Bool(a) => write_nested(f, a.shape(), a.data(), &|x, f| {
                f.write_str(if *x != 0.0 { "true" } else { "false" })
            }),
            Value::Str(s) => f.write_str(s),
            Value::Na => f.write_str("NA"),
            Value::Text(v, _) => write_nested(f, &[v.len()], v, &|s, f| match s {
                Some(s) => f.write_str(&crate::syntax::fmt::quote(s)),
                None => f.write_str("NA"),
            }),
            Value::Data(d) => f.write_str(&d.preview(10)),
            Value::Dist(d) => write!(f, "{d}"),
            Value::Model(m) => f.write_str(super::source::model_source(&m.model).trim_end()),
            Value::Template(t) => f.write_str(&t.text),
            Value::Picture(p) => f.write_str(&p.text),
            Value::Record(r) => {
                for (i, (name, a)) in r.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{name}: {a}")?;
                }
                Ok(())
            }
        }
    }
}
