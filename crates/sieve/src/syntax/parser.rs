//! RFC 5228 §8.2 grammar → [`Node`] tree, with Pigeonhole's error wording and its recovery:
//! after an error in a command, tokens are skipped up to the end of that command (`;` or its
//! block) so later commands are still checked.

use super::ast::{Arg, Node, StrLit};
use super::lexer::{Token, TokenKind};
use crate::diag::{Diagnostics, Pos};

/// Deepest allowed block nesting and test nesting.
pub const MAX_NESTING: usize = 32;
/// Most arguments one command or test may have.
pub const MAX_ARGUMENTS: usize = 32;

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    script: &'a str,
    diags: &'a mut Diagnostics,
}

/// Marker: an error was reported, the caller must recover.
struct Failed;

/// Parses the token stream (ending in `Eof`) into top-level commands.
pub fn parse(toks: &[Token], script: &str, diags: &mut Diagnostics) -> Vec<Node> {
    let mut p = Parser { toks, i: 0, script, diags };
    let mut out = Vec::new();
    loop {
        match p.kind() {
            TokenKind::Eof => return out,
            TokenKind::Identifier(_) => {
                if let Some(cmd) = p.command(1) {
                    out.push(cmd);
                }
            }
            other => {
                let msg =
                    format!("unexpected {} found at (the presumed) end of file", other.describe());
                p.error(p.pos(), msg);
                return out;
            }
        }
    }
}

impl Parser<'_> {
    fn kind(&self) -> &TokenKind {
        &self.toks[self.i.min(self.toks.len() - 1)].kind
    }

    fn pos(&self) -> Pos {
        self.toks[self.i.min(self.toks.len() - 1)].pos
    }

    fn advance(&mut self) {
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
    }

    fn error(&mut self, pos: Pos, msg: String) {
        self.diags.error(self.script, pos, msg);
    }

    /// Parses one command at block depth `depth` (1 = top level); `None` after an error.
    fn command(&mut self, depth: usize) -> Option<Node> {
        let start = self.i;
        match self.command_inner(depth) {
            Ok(node) => Some(node),
            Err(Failed) => {
                if self.i == start {
                    self.advance();
                }
                self.recover();
                None
            }
        }
    }

    fn command_inner(&mut self, depth: usize) -> Result<Node, Failed> {
        let mut node = self.node_head("command")?;
        self.subtests(&mut node, 1)?;
        match self.kind() {
            TokenKind::Semicolon => {
                self.advance();
                Ok(node)
            }
            TokenKind::LBrace => {
                if depth > MAX_NESTING {
                    let msg =
                        format!("cannot nest command blocks deeper than {MAX_NESTING} levels");
                    self.error(self.pos(), msg);
                    return Err(Failed);
                }
                self.advance();
                node.block = Some(self.block(depth + 1)?);
                Ok(node)
            }
            other => {
                let msg = format!(
                    "expected end of command ';' or the beginning of a compound block '{{', \
                     but found {}",
                    other.describe()
                );
                self.error(self.pos(), msg);
                Err(Failed)
            }
        }
    }

    /// Parses commands up to the closing `}` (consumed).
    fn block(&mut self, depth: usize) -> Result<Vec<Node>, Failed> {
        let mut cmds = Vec::new();
        loop {
            match self.kind() {
                TokenKind::RBrace => {
                    self.advance();
                    return Ok(cmds);
                }
                TokenKind::Identifier(_) => {
                    if let Some(c) = self.command(depth) {
                        cmds.push(c);
                    }
                }
                other => {
                    let eof = *other == TokenKind::Eof;
                    let msg = format!(
                        "expected end of compound block '}}', but found {}",
                        other.describe()
                    );
                    self.error(self.pos(), msg);
                    if eof {
                        return Err(Failed);
                    }
                    self.advance();
                    self.recover();
                }
            }
        }
    }

    /// Identifier, arguments and sub-tests; shared by commands and tests.
    fn node_head(&mut self, what: &str) -> Result<Node, Failed> {
        let TokenKind::Identifier(name) = self.kind().clone() else {
            return Err(Failed);
        };
        let pos = self.pos();
        self.advance();
        let mut node =
            Node { name, pos, args: Vec::new(), tests: Vec::new(), test_list: false, block: None };
        self.arguments(&mut node, what)?;
        Ok(node)
    }

    fn arguments(&mut self, node: &mut Node, what: &str) -> Result<(), Failed> {
        loop {
            let pos = self.pos();
            let arg = match self.kind().clone() {
                TokenKind::Str(s) => {
                    self.advance();
                    Arg::Str(StrLit { value: s, pos })
                }
                TokenKind::Number(n) => {
                    self.advance();
                    Arg::Number(n, pos)
                }
                TokenKind::Tag(t) => {
                    self.advance();
                    Arg::Tag(t, pos)
                }
                TokenKind::LBracket => self.string_list()?,
                _ => break,
            };
            if node.args.len() >= MAX_ARGUMENTS {
                // Pigeonhole notices after reading the argument: report at the next token.
                let msg = format!("too many arguments for {what} '{}'", node.name);
                self.error(self.pos(), msg);
                return Err(Failed);
            }
            node.args.push(arg);
        }
        Ok(())
    }

    fn string_list(&mut self) -> Result<Arg, Failed> {
        let pos = self.pos();
        self.advance();
        let mut items = Vec::new();
        let mut after = "'['";
        loop {
            let spos = self.pos();
            let TokenKind::Str(s) = self.kind().clone() else {
                let msg = format!(
                    "expecting string after {after} in string list, but found {}",
                    self.kind().describe()
                );
                self.error(spos, msg);
                return Err(Failed);
            };
            self.advance();
            items.push(StrLit { value: s, pos: spos });
            match self.kind() {
                TokenKind::Comma => {
                    self.advance();
                    after = "','";
                }
                TokenKind::RBracket => {
                    self.advance();
                    return Ok(Arg::List(items, pos));
                }
                other => {
                    let msg = format!(
                        "expecting ',' or end of string list ']', but found {}",
                        other.describe()
                    );
                    self.error(self.pos(), msg);
                    return Err(Failed);
                }
            }
        }
    }

    /// Parses the optional test or test list after the arguments of `node` (at test `depth`).
    fn subtests(&mut self, node: &mut Node, depth: usize) -> Result<(), Failed> {
        let has = matches!(self.kind(), TokenKind::Identifier(_) | TokenKind::LParen);
        if !has {
            return Ok(());
        }
        if depth > MAX_NESTING {
            let msg = format!("cannot nest tests deeper than {MAX_NESTING} levels");
            self.error(node.pos, msg);
            return Err(Failed);
        }
        if matches!(self.kind(), TokenKind::Identifier(_)) {
            node.tests.push(self.test(depth)?);
            return Ok(());
        }
        node.test_list = true;
        self.advance();
        let mut after = "'('";
        loop {
            if !matches!(self.kind(), TokenKind::Identifier(_)) {
                let msg = format!(
                    "expecting test identifier after {after} in test list, but found {}",
                    self.kind().describe()
                );
                self.error(self.pos(), msg);
                return Err(Failed);
            }
            node.tests.push(self.test(depth)?);
            match self.kind() {
                TokenKind::Comma => {
                    self.advance();
                    after = "','";
                }
                TokenKind::RParen => {
                    self.advance();
                    return Ok(());
                }
                other => {
                    let msg = format!(
                        "expecting ',' or end of test list ')', but found {}",
                        other.describe()
                    );
                    self.error(self.pos(), msg);
                    return Err(Failed);
                }
            }
        }
    }

    /// A test at nesting `depth` (1 = the test of a command).
    fn test(&mut self, depth: usize) -> Result<Node, Failed> {
        let mut node = self.node_head("test")?;
        self.subtests(&mut node, depth + 1)?;
        Ok(node)
    }

    /// Skips to the end of the failed command: `;` or a whole block at this level, or just
    /// before the `}` that closes the enclosing block.
    fn recover(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.kind() {
                TokenKind::Eof => return,
                TokenKind::Semicolon if depth == 0 => {
                    self.advance();
                    return;
                }
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.advance();
                        return;
                    }
                }
                _ => {}
            }
            self.advance();
        }
    }
}
