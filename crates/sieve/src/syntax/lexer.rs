//! RFC 5228 §8.1 lexical analysis: identifiers, tags, numbers, quoted and multi-line strings,
//! comments. Errors are recorded with their position and lexing continues, as Pigeonhole does
//! (a too-large number still yields a number token so the parser can carry on).

use crate::diag::{Diagnostics, Pos};

/// Longest identifier Pigeonhole accepts.
pub const MAX_IDENTIFIER_LEN: usize = 32;

/// One token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `name`
    Identifier(String),
    /// `:name` (the name without the colon)
    Tag(String),
    /// A number, quantifier already applied.
    Number(u64),
    /// A quoted or multi-line string, escapes and dot-stuffing removed.
    Str(String),
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// Characters that form no token (already reported).
    Garbage,
    /// End of input.
    Eof,
}

impl TokenKind {
    /// How Pigeonhole names the token in "but found ..." errors.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Identifier(s) => format!("identifier '{s}'"),
            TokenKind::Tag(s) => format!("tag ':{s}'"),
            TokenKind::Number(n) => format!("number {n}"),
            TokenKind::Str(_) => "string".to_owned(),
            TokenKind::LBracket => "'['".to_owned(),
            TokenKind::RBracket => "']'".to_owned(),
            TokenKind::LParen => "'('".to_owned(),
            TokenKind::RParen => "')'".to_owned(),
            TokenKind::LBrace => "'{'".to_owned(),
            TokenKind::RBrace => "'}'".to_owned(),
            TokenKind::Comma => "','".to_owned(),
            TokenKind::Semicolon => "';'".to_owned(),
            TokenKind::Garbage => "unknown characters".to_owned(),
            TokenKind::Eof => "end of file".to_owned(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub pos: Pos,
}

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    line: u32,
    column: u32,
    script: &'a str,
    diags: &'a mut Diagnostics,
}

/// Splits `source` into tokens (always ending with `Eof`), recording lexical errors.
pub fn tokenize(source: &str, script: &str, diags: &mut Diagnostics) -> Vec<Token> {
    let mut lx = Lexer { chars: source.chars().collect(), i: 0, line: 1, column: 1, script, diags };
    let mut out = Vec::new();
    loop {
        let tok = lx.next_token();
        let eof = tok.kind == TokenKind::Eof;
        out.push(tok);
        if eof {
            return out;
        }
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.i + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.i).copied()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn error(&mut self, pos: Pos, msg: String) {
        self.diags.error(self.script, pos, msg);
    }

    /// Skips whitespace and comments; false when an unterminated comment hit the end.
    fn skip_blank(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => {
                    self.bump();
                }
                Some('#') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                            None => {
                                let msg = format!(
                                    "end of file before end of bracket comment ('/* ... */') \
                                     started at line {}",
                                    start.line
                                );
                                self.error(start, msg);
                                return;
                            }
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn next_token(&mut self) -> Token {
        self.skip_blank();
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Token { kind: TokenKind::Eof, pos };
        };
        let single = match c {
            '[' => Some(TokenKind::LBracket),
            ']' => Some(TokenKind::RBracket),
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '{' => Some(TokenKind::LBrace),
            '}' => Some(TokenKind::RBrace),
            ',' => Some(TokenKind::Comma),
            ';' => Some(TokenKind::Semicolon),
            _ => None,
        };
        if let Some(kind) = single {
            self.bump();
            return Token { kind, pos };
        }
        let kind = match c {
            '"' => self.quoted_string(pos),
            '0'..='9' => self.number(pos),
            ':' if self.peek_at(1).is_some_and(is_ident_start) => {
                self.bump();
                let name = self.identifier();
                if name.chars().count() > MAX_IDENTIFIER_LEN {
                    let short: String = name.chars().take(29).collect();
                    self.error(
                        pos,
                        format!("encountered impossibly long tag identifier ':{short}...'"),
                    );
                }
                TokenKind::Tag(name)
            }
            c if is_ident_start(c) => self.identifier_or_text(pos),
            _ => {
                self.error(pos, format!("unexpected character(s) starting with '{c}'"));
                self.bump();
                // Swallow the rest of a run of garbage so it yields one token.
                while let Some(n) = self.peek() {
                    if n.is_ascii_whitespace() || "[](){},;\":".contains(n) || is_ident_start(n) {
                        break;
                    }
                    self.bump();
                }
                TokenKind::Garbage
            }
        };
        Token { kind, pos }
    }

    fn identifier(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                s.push(c);
                self.bump();
            } else {
                break;
            }
        }
        s
    }

    fn identifier_or_text(&mut self, pos: Pos) -> TokenKind {
        let name = self.identifier();
        if name.eq_ignore_ascii_case("text") && self.peek() == Some(':') {
            self.bump();
            return self.multiline_string(pos);
        }
        if name.chars().count() > MAX_IDENTIFIER_LEN {
            let short: String = name.chars().take(29).collect();
            self.error(pos, format!("encountered impossibly long identifier '{short}...'"));
        }
        TokenKind::Identifier(name)
    }

    fn number(&mut self, pos: Pos) -> TokenKind {
        let mut value: Option<u64> = Some(0);
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            self.bump();
            let digit = u64::from(c as u8 - b'0');
            value = value.and_then(|v| v.checked_mul(10)).and_then(|v| v.checked_add(digit));
        }
        let shift = match self.peek() {
            Some('k' | 'K') => 10,
            Some('m' | 'M') => 20,
            Some('g' | 'G') => 30,
            _ => 0,
        };
        if shift > 0 {
            self.bump();
            value = value.and_then(|v| v.checked_mul(1u64 << shift));
        }
        match value {
            Some(v) => TokenKind::Number(v),
            None => {
                self.error(pos, format!("number exceeds integer limits (max {})", u64::MAX));
                TokenKind::Number(u64::MAX)
            }
        }
    }

    fn quoted_string(&mut self, pos: Pos) -> TokenKind {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                Some('"') => return TokenKind::Str(s),
                Some('\\') => match self.bump() {
                    // RFC 5228 §2.4.2: `\x` means `x` for any x; only `\"` and `\\` are useful.
                    Some(c) => push_normalized(&mut s, c),
                    None => break,
                },
                Some(c) => push_normalized(&mut s, c),
                None => break,
            }
        }
        self.error(
            pos,
            format!("end of file before end of quoted string started at line {}", pos.line),
        );
        TokenKind::Str(s)
    }

    /// After `text:`: optional blanks and a `#` comment, then lines up to a lone `.`.
    fn multiline_string(&mut self, pos: Pos) -> TokenKind {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        if self.peek() == Some('#') {
            while self.peek().is_some_and(|c| c != '\n') {
                self.bump();
            }
        }
        if self.peek() == Some('\r') {
            self.bump();
        }
        match self.peek() {
            Some('\n') => {
                self.bump();
            }
            Some(c) => {
                let at = self.pos();
                self.error(
                    at,
                    format!("invalid character '{c}' after 'text:' in multiline string"),
                );
                return TokenKind::Garbage;
            }
            None => {
                self.error(pos, "end of file before end of multi-line string".to_owned());
                return TokenKind::Str(String::new());
            }
        }
        let mut s = String::new();
        loop {
            let mut line = String::new();
            let mut ended = false;
            while let Some(c) = self.bump() {
                line.push(c);
                if c == '\n' {
                    ended = true;
                    break;
                }
            }
            let body = line.trim_end_matches('\n').trim_end_matches('\r');
            if body == "." && (ended || self.peek().is_none()) {
                return TokenKind::Str(s);
            }
            if !ended {
                let at = self.pos();
                self.error(at, "end of file before end of multi-line string".to_owned());
                s.push_str(&line);
                return TokenKind::Str(s);
            }
            // Dot-unstuffing: a line starting with ".." loses one dot; lines end in CRLF.
            let body = match body.strip_prefix('.') {
                Some(rest) if rest.starts_with('.') => rest,
                _ => body,
            };
            s.push_str(body);
            s.push_str("\r\n");
        }
    }
}

/// Appends `c`, turning a bare LF into CRLF as Pigeonhole does for every string.
fn push_normalized(s: &mut String, c: char) {
    if c == '\n' && !s.ends_with('\r') {
        s.push('\r');
    }
    s.push(c);
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> (Vec<TokenKind>, Diagnostics) {
        let mut d = Diagnostics::default();
        let toks = tokenize(src, "t", &mut d);
        (toks.into_iter().map(|t| t.kind).collect(), d)
    }

    #[test]
    fn basic_tokens_and_positions() {
        let mut d = Diagnostics::default();
        let toks = tokenize("if header :is \"a\" 10K {\n  keep;\n}", "t", &mut d);
        assert!(!d.has_errors());
        assert_eq!(toks[0].kind, TokenKind::Identifier("if".into()));
        assert_eq!(toks[2].kind, TokenKind::Tag("is".into()));
        assert_eq!(toks[2].pos, Pos { line: 1, column: 11 });
        assert_eq!(toks[4].kind, TokenKind::Number(10240));
        assert_eq!(toks[6].kind, TokenKind::Identifier("keep".into()));
        assert_eq!(toks[6].pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn escapes_comments_and_multiline() {
        let (k, d) = kinds("\"a\\\"b\\\\c\\d\" # x\n/* y\n*/ text: # c\nl1\n..l2\n.\n");
        assert!(!d.has_errors());
        assert_eq!(k[0], TokenKind::Str("a\"b\\cd".into()));
        assert_eq!(k[1], TokenKind::Str("l1\r\n.l2\r\n".into()));
        assert_eq!(k[2], TokenKind::Eof);
    }

    #[test]
    fn number_overflow_is_an_error_but_still_a_number() {
        let (k, d) = kinds("18446744073709551616 34359738368G 18446744073709551615");
        assert_eq!(d.errors.len(), 2);
        assert_eq!(d.errors[0].message, "number exceeds integer limits (max 18446744073709551615)");
        assert_eq!(k[2], TokenKind::Number(u64::MAX));
    }

    #[test]
    fn unterminated_constructs_report_start_line() {
        let (_, d) = kinds("\n\"abc\n");
        assert_eq!(
            d.errors[0].message,
            "end of file before end of quoted string started at line 2"
        );
        let (_, d) = kinds("/* abc");
        assert!(d.errors[0].message.contains("bracket comment"));
        let (_, d) = kinds("text:\n.");
        assert!(!d.has_errors());
        let (_, d) = kinds("text:\nabc");
        assert_eq!(d.errors[0].message, "end of file before end of multi-line string");
    }

    #[test]
    fn long_identifiers_and_garbage() {
        let (k, d) = kinds("this_is_a_rediculously_long_test_name $$$ :x");
        assert_eq!(
            d.errors[0].message,
            "encountered impossibly long identifier 'this_is_a_rediculously_long_t...'"
        );
        assert_eq!(d.errors[1].message, "unexpected character(s) starting with '$'");
        assert_eq!(k[1], TokenKind::Garbage);
        assert_eq!(k[2], TokenKind::Tag("x".into()));
    }
}
