//! gmm: a small probabilistic-programming language for mixture models and their directed
//! graphical models. The modules follow the pipeline: `syntax` (text to AST) → `check` (names,
//! shapes, plate rules; lowering) → `model` (the graphical-model IR) → front ends (`cli`).

pub mod array;
pub mod builtins;
pub mod check;
pub mod cli;
pub mod diag;
pub mod infer;
pub mod interp;
pub mod model;
pub mod syntax;
