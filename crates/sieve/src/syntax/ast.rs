//! The syntax tree of RFC 5228 §8.2: commands and tests with their arguments, with positions.
//! It knows nothing about which commands exist; that is the validator's job.

use crate::diag::Pos;

/// A string argument and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// Value after escape processing (quoted) or dot-unstuffing (multi-line).
    pub value: String,
    /// Position of the opening quote or `text:`.
    pub pos: Pos,
}

/// One argument of a command or test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A single string.
    Str(StrLit),
    /// `[ "a", "b" ]`, position of the `[`.
    List(Vec<StrLit>, Pos),
    /// A number (quantifier applied).
    Number(u64, Pos),
    /// `:tag` (name without colon).
    Tag(String, Pos),
}

impl Arg {
    /// Position where the argument starts.
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Str(s) => s.pos,
            Arg::List(_, p) | Arg::Number(_, p) | Arg::Tag(_, p) => *p,
        }
    }

    /// Pigeonhole's name of the argument kind in "but a ... was found" errors.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Arg::Str(_) => "string",
            Arg::List(..) => "string list",
            Arg::Number(..) => "number",
            Arg::Tag(..) => "tag",
        }
    }
}

/// A command (with `;` or a block) or a test: the grammar shapes are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Identifier, as written.
    pub name: String,
    /// Position of the identifier.
    pub pos: Pos,
    /// Arguments before the test(s).
    pub args: Vec<Arg>,
    /// Sub-tests: one test, or the members of a `( ... )` test list.
    pub tests: Vec<Node>,
    /// True when the sub-tests were written as a parenthesised list.
    pub test_list: bool,
    /// The `{ ... }` block of a command, if any.
    pub block: Option<Vec<Node>>,
}
