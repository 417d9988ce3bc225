//! Inference on the graphical-model IR: conditional tables, exact enumeration of discrete
//! latents in log space, probability queries, distributions as values and ancestral sampling.
//! Nothing here sees the syntax tree.

pub mod chain;
pub mod cpd;
pub mod decode;
pub mod dist;
pub mod em;
pub mod engine;
pub mod flat;
pub mod impute;
pub mod numeric;
pub mod query;
pub mod sample;
pub mod stats;
pub mod vmath;

use crate::model::expr::EvalError;
use thiserror::Error;

pub use dist::{DistError, Distribution};
pub use query::{Answer, Query, query};
pub use sample::sample_model;

/// Why inference failed.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum InferError {
    /// A parameter the model needs has no value.
    #[error("parameter `{param}` of model `{model}` has no value")]
    NoValue { param: String, model: String },
    /// A distribution argument outside its domain for some parent values.
    #[error("the distribution of `{var}` is invalid{at}: {why}")]
    Argument {
        var: String,
        why: String,
        at: String,
    },
    /// A value given for a variable that it cannot take.
    #[error("bad value for `{var}`: {why}")]
    Value { var: String, why: String },
    /// A query the engine cannot answer as asked.
    #[error("{0}")]
    Query(String),
    /// A sample too large to hold: `rows` copies of `per_row` numbers.
    #[error(
        "a sample of {rows} rows × {per_row} numbers per row would hold more than the limit of {} numbers (400 MB)",
        crate::array::MAX_ELEMENTS
    )]
    TooManyDraws { rows: usize, per_row: usize },
    /// Work over `rows` rows (`what`: a chain's forward–backward pass, decoding, a query of
    /// per-row posteriors) would need
    /// `bytes` more than the memory left: the budget, or the address space `ulimit -v` leaves.
    #[error(
        "{what} over {rows} rows needs {} MB more, which is more than the memory left (the limit is {}, or what `ulimit -v` allows)",
        .bytes.div_ceil(1 << 20),
        crate::memory::budget_text()
    )]
    RowsMemory {
        what: &'static str,
        rows: usize,
        bytes: usize,
    },
    /// A conditional query whose condition (on the named variables) has probability zero.
    #[error("the condition on {0} has probability zero, so the conditional is undefined")]
    ZeroCondition(String),
    /// Exact enumeration would visit too many joint configurations of latent variables, or a
    /// conditional table would have too many entries (one per joint value of the discrete
    /// parents): each named variable with its number of values.
    #[error("{}", too_many(.what, .vars))]
    TooMany {
        what: TooManyWhat,
        vars: Vec<(String, usize)>,
    },
    /// An expression inside the model failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A distribution value could not be built.
    #[error(transparent)]
    Dist(#[from] DistError),
    /// Ctrl-C or the time limit stopped the computation.
    #[error("interrupted")]
    Interrupted,
}

/// What [`InferError::TooMany`] counted.
#[derive(Clone, Debug, PartialEq)]
pub enum TooManyWhat {
    /// The latent variables enumerated together in one copy of a plate (`plate` names it; the
    /// top level has none).
    Configurations { plate: Option<String> },
    /// The entries of this variable's conditional table.
    Table { var: String },
    /// The joint values of a query's discrete targets.
    Targets,
}

/// Whether `bytes` more fit in the memory left, after `reused` bytes already held for the
/// purpose: the one check before work over `rows` rows (`what`) allocates its arrays.
pub fn room_for(
    what: &'static str,
    rows: usize,
    bytes: usize,
    reused: usize,
) -> Result<(), InferError> {
    let more = bytes.saturating_sub(reused);
    if crate::memory::fits(more) {
        Ok(())
    } else {
        Err(InferError::RowsMemory {
            what,
            rows,
            bytes: more,
        })
    }
}

/// The product of the sizes in `vars`, refused beyond [`MAX_CONFIGS`] with an error naming
/// them: the one check before enumerating or tabulating discrete values.
pub fn checked_count(vars: &[(String, usize)], what: TooManyWhat) -> Result<usize, InferError> {
    vars.iter()
        .try_fold(1usize, |n, &(_, k)| n.checked_mul(k))
        .filter(|&n| n <= MAX_CONFIGS)
        .ok_or_else(|| InferError::TooMany {
            what,
            vars: vars.to_vec(),
        })
}

/// The most joint configurations exact enumeration visits, and the most entries a
/// conditional table has.
pub const MAX_CONFIGS: usize = 1 << 20;

/// `10 × 10 × 4 = 400` (or "more than 2^64" when the product overflows).
fn product(vars: &[(String, usize)]) -> String {
    let factors: Vec<String> = vars.iter().map(|(_, k)| k.to_string()).collect();
    let total = vars
        .iter()
        .try_fold(1usize, |n, &(_, k)| n.checked_mul(k))
        .map_or("more than 2^64".to_string(), |n| n.to_string());
    format!("{} = {total}", factors.join(" × "))
}

fn names(vars: &[(String, usize)]) -> String {
    let names: Vec<String> = vars.iter().map(|(v, _)| format!("`{v}`")).collect();
    names.join(", ")
}

fn too_many(what: &TooManyWhat, vars: &[(String, usize)]) -> String {
    match what {
        TooManyWhat::Configurations { plate } => format!(
            "exact enumeration would visit {} joint configurations of the latent variables {}{}, more than the limit of {MAX_CONFIGS}",
            product(vars),
            names(vars),
            plate
                .as_ref()
                .map_or(String::new(), |p| format!(" in each copy of plate `{p}`"))
        ),
        TooManyWhat::Targets => format!(
            "the query asks for {} joint values of {}, more than the limit of {MAX_CONFIGS}",
            product(vars),
            names(vars)
        ),
        TooManyWhat::Table { var } => format!(
            "the conditional table of `{var}` would have {} entries, one per joint value of {}, more than the limit of {MAX_CONFIGS}",
            product(vars),
            names(vars)
        ),
    }
}

impl InferError {
    /// How to fix it, when there is a general answer.
    pub fn help(&self) -> Option<String> {
        match self {
            InferError::Interrupted => Some(crate::interrupt::why()),
            InferError::TooManyDraws { per_row, .. } => Some(format!(
                "draw at most {} rows at a time",
                crate::array::MAX_ELEMENTS / (*per_row).max(1)
            )),
            InferError::RowsMemory { .. } => Some(
                "it keeps a few numbers per row and state (messages, posteriors, best paths): use fewer rows at a time, or raise `ulimit -v`"
                    .into(),
            ),
            InferError::ZeroCondition(_) => Some(
                "the given values are impossible under the model: a discrete value of probability 0, or a value so far from every mean (beyond about 1e154 spreads) that its density is 0 in 64-bit floats".into(),
            ),
            InferError::Eval(EvalError::Array(crate::array::ArrayError::TooLarge(_))) => {
                Some(format!(
                    "one array holds at most {} numbers: ask for fewer rows or values at a time",
                    crate::array::MAX_ELEMENTS
                ))
            }
            InferError::TooMany {
                what: TooManyWhat::Configurations { .. },
                ..
            } => Some(
                "observe some of these variables in the query or the data, give them fewer values, or split the model"
                    .into(),
            ),
            InferError::TooMany {
                what: TooManyWhat::Targets,
                ..
            } => Some("ask for fewer variables at once, or give some of them values".into()),
            InferError::TooMany {
                what: TooManyWhat::Table { .. },
                ..
            } => Some(
                "give the variable fewer discrete parents (or parents with fewer values), or fewer plate copies"
                    .into(),
            ),
            InferError::NoValue { param, .. } => Some(format!(
                "give `{param}` a value in the model (`param {param} ... = VALUE`), or fit the model to data first"
            )),
            InferError::Argument { .. } => {
                Some("change the parameter values or the expression so the argument is valid for every parent value".into())
            }
            _ => None,
        }
    }
}
