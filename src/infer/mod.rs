//! Inference on the graphical-model IR: conditional tables, exact enumeration of discrete
//! latents in log space, probability queries, distributions as values and ancestral sampling.
//! Nothing here sees the syntax tree.

pub mod cpd;
pub mod dist;
pub mod em;
pub mod engine;
pub mod flat;
pub mod numeric;
pub mod query;
pub mod sample;
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

impl InferError {
    /// How to fix it, when there is a general answer.
    pub fn help(&self) -> Option<String> {
        match self {
            InferError::Interrupted => Some(crate::interrupt::why()),
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
