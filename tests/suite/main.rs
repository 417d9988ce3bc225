//! The integration tests, as one binary: one build and one link instead of one per file, and
//! all of them share the two cores. `cargo test --release MODULE::` runs one file's tests.

mod check;
mod cli;
mod common;
mod degenerate;
mod diagram;
mod editors;
mod em;
mod fast_path;
mod files;
mod fmt;
mod hardening;
mod kernel;
mod lexer_grammar;
mod lsp;
mod malformed;
mod memory;
mod missing;
mod pictures;
mod plot;
mod properties;
mod reference;
mod repl;
mod robust;
mod run;
mod sampling;
mod spec;
mod ui;
mod uncertainty;
