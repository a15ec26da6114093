//! Syntax layer: tokens and the generic command/test tree of RFC 5228 §8. Knows no extension.

pub mod ast;
pub mod lexer;
pub mod parser;

use crate::diag::Diagnostics;
use ast::Node;

/// Lexes and parses `source`; diagnostics are appended to `diags`.
pub fn parse_script(source: &str, script: &str, diags: &mut Diagnostics) -> Vec<Node> {
    let toks = lexer::tokenize(source, script, diags);
    parser::parse(&toks, script, diags)
}
