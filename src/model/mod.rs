//! The directed graphical model a `model` declaration lowers to: variables with their
//! distributions, parents and plates, and typed parameters. No spans and no syntax here; the
//! inference engine and the interpreter work on this.
//!
//! What lowering guarantees (`check::lower`), so that later phases need not re-check:
//! - `vars` are in declaration order, which is topological: a variable's parents come before it;
//! - every parent is discrete (`Support::Discrete`), and its plates are a prefix of the child's
//!   plates (nothing outside a plate depends on a copy inside it);
//! - `plates` list a parent plate before its children; at most one plate has
//!   `PlateSize::Data`, and it is not nested;
//! - every expression has a known shape: Categorical's `p` is a vector, Bernoulli's `p`, Normal's
//!   mean and sd are scalars, MvNormal's mean is an n-vector and its covariance n×n;
//! - every index is a discrete variable, a fixed plate's index or constant whole numbers, and in
//!   range for the axis it indexes;
//! - every given parameter value has the parameter's full shape and satisfies its type.

pub mod dot;
pub mod expr;
pub mod prior;
pub mod tex;

use crate::array::{Array, show_shape};
pub use expr::Expr;

/// Index of a constant in [`Model::consts`].
pub type ConstId = usize;
/// Index of a parameter in [`Model::params`].
pub type ParamId = usize;
/// Index of a plate in [`Model::plates`].
pub type PlateId = usize;
/// Index of a variable in [`Model::vars`].
pub type VarId = usize;

/// A lowered model: every name resolved, every shape known, every given value valid.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// Constants, including template arguments and script values the model uses.
    pub consts: Vec<Const>,
    /// Learnable parameters in declaration order.
    pub params: Vec<Param>,
    /// Plates in declaration order; a plate's parent comes before it.
    pub plates: Vec<Plate>,
    /// Random variables in declaration order, which is a topological order.
    pub vars: Vec<Var>,
}

/// A fixed value.
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Array,
}

/// A learnable parameter: an array of `dims` elements of type `ty`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// The array dimensions before the element's own shape (`mu[K, D]` has `[K, D]`).
    pub dims: Vec<usize>,
    /// The element type.
    pub ty: ParamType,
    /// The current value (shape `dims ++ ty.elem_shape()`), if given.
    pub value: Option<Array>,
    /// Its prior (section 9.2), on each element.
    pub prior: Option<prior::Prior>,
}

impl Param {
    /// The shape of the whole value: the dimensions, then the element's own shape.
    pub fn shape(&self) -> Vec<usize> {
        let mut s = self.dims.clone();
        s.extend(self.ty.elem_shape());
        s
    }

    /// The value `value` gives this parameter: broadcast to its shape (as NumPy would) and
    /// checked against its type.
    pub fn accept(&self, value: &Array) -> Result<Array, ValueError> {
        let shape = self.shape();
        let full = value.broadcast_to(&shape).map_err(|_| ValueError::Shape {
            name: self.name.clone(),
            given: value.shape().to_vec(),
            want: shape,
        })?;
        let elem: usize = self.ty.elem_shape().iter().product();
        for (k, chunk) in full.data().chunks(elem.max(1)).enumerate() {
            if let Err(why) = self.ty.validate(chunk) {
                let at = if self.dims.is_empty() {
                    String::new()
                } else {
                    format!(" (element {})", element_index(k, &self.dims))
                };
                return Err(ValueError::Invalid(format!(
                    "not a valid {}{at}: {why}",
                    self.ty.to_source()
                )));
            }
        }
        Ok(full)
    }
}

/// Why a value does not fit a parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The value does not broadcast to the parameter's shape.
    #[error("the value has shape {} but `{name}` has shape {}", show_shape(.given), show_shape(.want))]
    Shape {
        name: String,
        given: Vec<usize>,
        want: Vec<usize>,
    },
    /// An element breaks the type's rule (sum, sign, symmetry, definiteness, ...).
    #[error("{0}")]
    Invalid(String),
}

/// The type of one parameter element (section 2's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// Any real.
    Real,
    /// A real > 0.
    Positive,
    /// A real in [0, 1].
    Prob,
    /// n non-negative entries summing to 1.
    Simplex(usize),
    /// n reals.
    Vector(usize),
    /// An n×n symmetric positive-definite matrix.
    Cov(usize),
    /// An n×n diagonal covariance matrix.
    Diag(usize),
    /// An n×n covariance σ²·I.
    Iso(usize),
}

/// Tolerance for a simplex's sum and a covariance's symmetry.
pub const SIMPLEX_TOL: f64 = 1e-9;

impl ParamType {
    /// The type named `name` with bracketed size `size`; `Err` says what is wrong.
    pub fn from_parts(name: &str, size: Option<usize>) -> Result<ParamType, String> {
        let sized = |f: fn(usize) -> ParamType| match size {
            Some(n) => Ok(f(n)),
            None => Err(format!("`{name}` needs a size, e.g. `{name}[2]`")),
        };
        let unsized_ = |t: ParamType| match size {
            None => Ok(t),
            Some(_) => Err(format!(
                "`{name}` takes no size; for an array write the dimensions after the name: `param x[3] : {name}`"
            )),
        };
        match name {
            "real" => unsized_(ParamType::Real),
            "positive" => unsized_(ParamType::Positive),
            "prob" => unsized_(ParamType::Prob),
            "simplex" => sized(ParamType::Simplex),
            "vector" => sized(ParamType::Vector),
            "cov" => sized(ParamType::Cov),
            "diag" => sized(ParamType::Diag),
            "iso" => sized(ParamType::Iso),
            _ => Err(format!("unknown parameter type `{name}`")),
        }
    }

    /// The names of all types, for suggestions.
    pub const NAMES: [&'static str; 8] = [
        "real", "positive", "prob", "simplex", "vector", "cov", "diag", "iso",
    ];

    /// The type as written in source.
    pub fn to_source(self) -> String {
        match self {
            ParamType::Real => "real".into(),
            ParamType::Positive => "positive".into(),
            ParamType::Prob => "prob".into(),
            ParamType::Simplex(n) => format!("simplex[{n}]"),
            ParamType::Vector(n) => format!("vector[{n}]"),
            ParamType::Cov(n) => format!("cov[{n}]"),
            ParamType::Diag(n) => format!("diag[{n}]"),
            ParamType::Iso(n) => format!("iso[{n}]"),
        }
    }

    /// The shape of one element.
    pub fn elem_shape(self) -> Vec<usize> {
        match self {
            ParamType::Real | ParamType::Positive | ParamType::Prob => vec![],
            ParamType::Simplex(n) | ParamType::Vector(n) => vec![n],
            ParamType::Cov(n) | ParamType::Diag(n) | ParamType::Iso(n) => vec![n, n],
        }
    }

    /// Free scalars in one element.
    pub fn free_scalars(self) -> usize {
        match self {
            ParamType::Real | ParamType::Positive | ParamType::Prob => 1,
            ParamType::Simplex(n) => n.saturating_sub(1),
            ParamType::Vector(n) | ParamType::Diag(n) => n,
            ParamType::Cov(n) => n * (n + 1) / 2,
            ParamType::Iso(_) => 1,
        }
    }

    /// Checks one element (row-major, of [`elem_shape`](Self::elem_shape)); `Err` says why not.
    pub fn validate(self, x: &[f64]) -> Result<(), String> {
        if let Some(bad) = x.iter().find(|v| !v.is_finite()) {
            return Err(if crate::array::is_computed_nan(*bad) || !bad.is_nan() {
                format!("{bad} is not a finite number")
            } else {
                "an entry is NA (missing); every entry needs a value".to_string()
            });
        }
        match self {
            ParamType::Real | ParamType::Vector(_) => Ok(()),
            ParamType::Positive => match x[0] > 0.0 {
                true => Ok(()),
                false => Err(format!("{} is not positive", x[0])),
            },
            ParamType::Prob => match (0.0..=1.0).contains(&x[0]) {
                true => Ok(()),
                false => Err(format!("{} is not in [0, 1]", x[0])),
            },
            ParamType::Simplex(_) => {
                if let Some(neg) = x.iter().find(|&&v| v < 0.0) {
                    return Err(format!("it has the negative entry {neg}"));
                }
                let sum: f64 = x.iter().sum();
                if (sum - 1.0).abs() > SIMPLEX_TOL {
                    return Err(format!("its entries sum to {sum}, not 1"));
                }
                Ok(())
            }
            ParamType::Cov(n) => validate_cov(x, n),
            ParamType::Diag(n) => {
                off_diagonal_zero(x, n)?;
                validate_cov(x, n)
            }
            ParamType::Iso(n) => {
                off_diagonal_zero(x, n)?;
                if (0..n).any(|i| x[i * n + i] != x[0]) {
                    return Err("its diagonal entries differ (an iso covariance is σ²·I)".into());
                }
                validate_cov(x, n)
            }
        }
    }
}

fn off_diagonal_zero(x: &[f64], n: usize) -> Result<(), String> {
    for i in 0..n {
        for j in 0..n {
            if i != j && x[i * n + j] != 0.0 {
                return Err(format!(
                    "entry [{i}, {j}] is {} but must be 0",
                    x[i * n + j]
                ));
            }
        }
    }
    Ok(())
}

fn validate_cov(x: &[f64], n: usize) -> Result<(), String> {
    for i in 0..n {
        for j in 0..i {
            let (a, b) = (x[i * n + j], x[j * n + i]);
            if (a - b).abs() > SIMPLEX_TOL * a.abs().max(b.abs()).max(1.0) {
                return Err(format!(
                    "it is not symmetric: entry [{i}, {j}] is {a} but [{j}, {i}] is {b}"
                ));
            }
        }
    }
    if crate::linalg::is_positive_definite(x, n) {
        Ok(())
    } else {
        Err("it is not positive-definite".into())
    }
}

/// A plate: repeated copies of the variables declared in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plate {
    /// Its name (also the name of its index, for a fixed-size plate).
    pub name: String,
    /// How many copies.
    pub size: PlateSize,
    /// The plate it is nested in.
    pub parent: Option<PlateId>,
    /// For the data plate declared `chain` (section 9.4): its rows are in order.
    pub chain: Option<Chain>,
}

/// What makes a data plate a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The data column whose values split the rows into independent sequences; without it,
    /// all rows are one sequence.
    pub by: Option<String>,
}

/// The number of copies of a plate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateSize {
    /// One copy per data row; the size comes from the data.
    Data,
    /// A fixed number of copies.
    Fixed(usize),
}

/// A random variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// The plates it is in, outermost first.
    pub plates: Vec<PlateId>,
    /// Its conditional distribution given its parents.
    pub dist: Dist,
    /// Its values.
    pub support: Support,
    /// The variables its distribution depends on (all discrete), without repeats.
    pub parents: Vec<VarId>,
    /// The parameters its distribution uses (and its `then` distribution's), without repeats.
    pub params: Vec<ParamId>,
    /// In a chain, `v ~ FIRST then NEXT`: its distribution in every row after a sequence's
    /// first (`dist` is the first row's).
    pub next: Option<Next>,
}

/// A chained variable's distribution after a sequence's first row.
#[derive(Clone, Debug, PartialEq)]
pub struct Next {
    /// The distribution; `Expr::Prev` reads the previous row.
    pub dist: Dist,
    /// The variables it reads in its own row (all discrete), without repeats.
    pub parents: Vec<VarId>,
    /// The chained variables it reads in the previous row with `prev`, without repeats.
    pub prev: Vec<VarId>,
}

/// The values a variable takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The integers `0..n`.
    Discrete(usize),
    /// A real number.
    Real,
    /// A real vector of length n.
    RealVector(usize),
}

impl Support {
    /// Whether the variable is discrete (can be an index or a parent).
    pub fn is_discrete(self) -> bool {
        matches!(self, Support::Discrete(_))
    }

    /// The shape of one value.
    pub fn shape(self) -> Vec<usize> {
        match self {
            Support::Discrete(_) | Support::Real => vec![],
            Support::RealVector(n) => vec![n],
        }
    }
}

/// A conditional distribution (section 2's table).
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Integers `0..n-1` with probabilities `p`.
    Categorical { p: Expr },
    /// `0` or `1`, 1 with probability `p`.
    Bernoulli { p: Expr },
    /// Real, with mean and standard deviation.
    Normal { mean: Expr, sd: Expr },
    /// Real vector, with mean vector and covariance matrix.
    MvNormal { mean: Expr, cov: Expr },
}

/// A distribution family of the language, with its argument names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Categorical,
    Bernoulli,
    Normal,
    MvNormal,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 4] = [
        Family::Categorical,
        Family::Bernoulli,
        Family::Normal,
        Family::MvNormal,
    ];

    /// The family named `name`.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The family's name.
    pub const fn name(self) -> &'static str {
        match self {
            Family::Categorical => "Categorical",
            Family::Bernoulli => "Bernoulli",
            Family::Normal => "Normal",
            Family::MvNormal => "MvNormal",
        }
    }

    /// The names of the arguments, in order.
    pub const fn arg_names(self) -> &'static [&'static str] {
        match self {
            Family::Categorical | Family::Bernoulli => &["p"],
            Family::Normal => &["mean", "sd"],
            Family::MvNormal => &["mean", "cov"],
        }
    }
}

impl Dist {
    /// The family.
    pub fn family(&self) -> Family {
        match self {
            Dist::Categorical { .. } => Family::Categorical,
            Dist::Bernoulli { .. } => Family::Bernoulli,
            Dist::Normal { .. } => Family::Normal,
            Dist::MvNormal { .. } => Family::MvNormal,
        }
    }
}

impl Model {
    /// The variable named `name`.
    pub fn var_id(&self, name: &str) -> Option<VarId> {
        self.vars.iter().position(|v| v.name == name)
    }

    /// The parameter named `name`.
    pub fn param_id(&self, name: &str) -> Option<ParamId> {
        self.params.iter().position(|p| p.name == name)
    }

    /// The data plate, if the model has one.
    pub fn data_plate(&self) -> Option<PlateId> {
        self.plates.iter().position(|p| p.size == PlateSize::Data)
    }

    /// The chain, if the data plate is one.
    pub fn chain(&self) -> Option<&Chain> {
        self.plates.iter().find_map(|p| p.chain.as_ref())
    }

    /// The data plate, if it is a chain.
    pub fn chain_plate(&self) -> Option<PlateId> {
        self.data_plate()
            .filter(|&p| self.plates[p].chain.is_some())
    }

    /// The chained variables (declared `then`), in declaration order.
    pub fn chained(&self) -> Vec<VarId> {
        (0..self.vars.len())
            .filter(|&v| self.vars[v].next.is_some())
            .collect()
    }

    /// The variables that have `v` as a parent.
    pub fn children(&self, v: VarId) -> Vec<VarId> {
        (0..self.vars.len())
            .filter(|&c| self.vars[c].parents.contains(&v))
            .collect()
    }

    /// Free scalar parameters of the model, skipping the named ones.
    pub fn nparams(&self, fixed: &[&str]) -> usize {
        self.params
            .iter()
            .filter(|p| !fixed.contains(&p.name.as_str()))
            .map(|p| p.dims.iter().product::<usize>() * p.ty.free_scalars())
            .sum()
    }

    /// A one-line description: variables (latent or observed), plates and parameter count.
    /// Without data, a variable nothing depends on counts as observed and the others as latent
    /// (as in the plate diagram).
    pub fn summary(&self) -> String {
        let vars: Vec<String> = self
            .vars
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let role = if self.children(i).is_empty() {
                    "observed"
                } else {
                    "latent"
                };
                format!("{} ~ {} ({role})", v.name, v.dist.family().name())
            })
            .collect();
        let plates: Vec<String> = self
            .plates
            .iter()
            .map(|p| match p.size {
                PlateSize::Data if p.chain.is_some() => format!("{} (chain)", p.name),
                PlateSize::Data => format!("{} (data)", p.name),
                PlateSize::Fixed(n) => format!("{} ({n})", p.name),
            })
            .collect();
        let n = self.nparams(&[]);
        format!(
            "model {}: {}; plates: {}; {n} free parameter{}",
            self.name,
            vars.join(", "),
            if plates.is_empty() {
                "none".to_string()
            } else {
                plates.join(", ")
            },
            if n == 1 { "" } else { "s" }
        )
    }
}

/// `[i, j]` for the k-th element of an array of shape `dims`.
fn element_index(k: usize, dims: &[usize]) -> String {
    let idx = crate::array::unravel(k, dims);
    format!(
        "[{}]",
        idx.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}
