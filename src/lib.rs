//! gmm: a small probabilistic-programming language for mixture models and their directed
//! graphical models. The modules follow the pipeline: `syntax` (text to AST) → `check` (names,
//! shapes, plate rules; lowering) → `model` (the graphical-model IR) → `infer` (inference, EM) → `interp` (scripts) → front
//! ends (`cli`, `repl`).

pub mod array;
pub mod builtins;
pub mod check;
pub mod cli;
pub mod console;
pub mod diag;
pub mod files;
pub mod infer;
pub mod interp;
pub mod interrupt;
pub mod kernel;
pub mod linalg;
pub mod lsp;
pub mod memory;
pub mod model;
pub mod plot;
pub mod repl;
pub mod syntax;

/// Every heap byte is counted, for the memory budget (`memory`).
#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;
