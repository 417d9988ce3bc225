//! The front end's first phase: text to AST (lexer, pest grammar, AST, canonical printer).

pub mod ast;
pub mod fmt;
pub mod habits;
pub mod lex;
mod parser;

pub use ast::*;
pub use parser::{MAX_EXPR_DEPTH, grammar_tokens, parse};
