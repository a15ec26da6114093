//! RFC 5322 mailboxes: a small strict parser for `postmaster_address` and address headers of the
//! original message, and the writer Dovecot uses for `From:`/`To:` of the mails it composes.
//!
//! Display names are kept *raw* (an RFC 2047 encoded word stays encoded), as Dovecot's
//! `message_address_parse()` + `message_address_write()` do, because the generated headers must
//! match Dovecot's bytes.

/// One parsed mailbox: optional display name, local part and domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name, unquoted and unescaped; a comment (`a@b (Name)`) counts as the name.
    pub name: Option<String>,
    /// Local part as written (quoted local parts keep their quotes).
    pub local: String,
    /// Domain; empty when the address had none.
    pub domain: String,
}

impl Mailbox {
    /// `local@domain` (or just `local` without a domain).
    pub fn address(&self) -> String {
        if self.domain.is_empty() {
            self.local.clone()
        } else {
            format!("{}@{}", self.local, self.domain)
        }
    }

    /// The mailbox written as Dovecot writes it in a header: `<addr>` without a name, the name
    /// as is when it is all atext (8-bit counts as atext) or contains an encoded word, else the
    /// name in double quotes with `"` and `\` escaped.
    pub fn to_header_value(&self) -> String {
        match self.name.as_deref() {
            None | Some("") => format!("<{}>", self.address()),
            Some(name) => format!("{} <{}>", display_name(name), self.address()),
        }
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || !c.is_ascii() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn display_name(name: &str) -> String {
    if name.chars().all(is_atext) || name.contains("=?") {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Atom(String),
    Quoted(String),
    Comment(String),
    Special(char),
}

/// Why an address list could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Syntax error (unbalanced quote, comment or bracket, stray special character, ...).
    #[error("invalid address syntax: {0}")]
    Syntax(&'static str),
}

fn tokenize(input: &str) -> Result<Vec<Token>, AddressError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                chars.next();
            }
            '"' => {
                chars.next();
                tokens.push(Token::Quoted(read_delimited(&mut chars, '"')?));
            }
            '(' => {
                chars.next();
                tokens.push(Token::Comment(read_comment(&mut chars)?));
            }
            '<' | '>' | '@' | ',' | ';' | ':' | '.' | '[' | ']' => {
                chars.next();
                tokens.push(Token::Special(c));
            }
            _ if is_atext(c) => {
                let mut atom = String::new();
                while let Some(&c) = chars.peek().filter(|&&c| is_atext(c)) {
                    atom.push(c);
                    chars.next();
                }
                tokens.push(Token::Atom(atom));
            }
            _ => return Err(AddressError::Syntax("unexpected character")),
        }
    }
    Ok(tokens)
}

fn read_delimited(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    end: char,
) -> Result<String, AddressError> {
    let mut s = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => s.push(chars.next().ok_or(AddressError::Syntax("unterminated quote"))?),
            c if c == end => return Ok(s),
            c => s.push(c),
        }
    }
    Err(AddressError::Syntax("unterminated quoted string"))
}

fn read_comment(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, AddressError> {
    let (mut depth, mut s) = (1, String::new());
    while let Some(c) = chars.next() {
        match c {
            '\\' => s.push(chars.next().ok_or(AddressError::Syntax("unterminated comment"))?),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(s);
                }
            }
            c => s.push(c),
        }
    }
    Err(AddressError::Syntax("unterminated comment"))
}

/// Parses an address list (`To`, `From`, a setting) into mailboxes. Group syntax is flattened.
pub fn parse_address_list(input: &str) -> Result<Vec<Mailbox>, AddressError> {
    let tokens = tokenize(input)?;
    let mut out = Vec::new();
    for item in tokens.split(|t| matches!(t, Token::Special(',' | ';'))) {
        let item = strip_group_prefix(item);
        if item.iter().all(|t| matches!(t, Token::Comment(_))) {
            continue;
        }
        out.push(parse_mailbox(item)?);
    }
    Ok(out)
}

fn strip_group_prefix(item: &[Token]) -> &[Token] {
    match item.iter().position(|t| *t == Token::Special(':')) {
        Some(p) if !item[..p].contains(&Token::Special('<')) => &item[p + 1..],
        _ => item,
    }
}

fn parse_mailbox(item: &[Token]) -> Result<Mailbox, AddressError> {
    if let Some(open) = item.iter().position(|t| *t == Token::Special('<')) {
        let close = item
            .iter()
            .rposition(|t| *t == Token::Special('>'))
            .filter(|&c| c > open)
            .ok_or(AddressError::Syntax("missing '>'"))?;
        let words: Vec<String> = item[..open]
            .iter()
            .filter_map(|t| match t {
                Token::Atom(s) | Token::Quoted(s) => Some(s.clone()),
                Token::Special('.') => Some(".".to_owned()),
                _ => None,
            })
            .collect();
        let name = (!words.is_empty()).then(|| join_words(&words));
        let (local, domain) = parse_addr_spec(&item[open + 1..close])?;
        return Ok(Mailbox { name, local, domain });
    }
    let comment = item.iter().rev().find_map(|t| match t {
        Token::Comment(c) => Some(c.clone()),
        _ => None,
    });
    let spec: Vec<Token> =
        item.iter().filter(|t| !matches!(t, Token::Comment(_))).cloned().collect();
    let (local, domain) = parse_addr_spec(&spec)?;
    Ok(Mailbox { name: comment, local, domain })
}

fn join_words(words: &[String]) -> String {
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 && w != "." && words[i - 1] != "." {
            s.push(' ');
        }
        s.push_str(w);
    }
    s
}

fn parse_addr_spec(tokens: &[Token]) -> Result<(String, String), AddressError> {
    let tokens: Vec<&Token> = tokens.iter().filter(|t| !matches!(t, Token::Comment(_))).collect();
    let at = tokens.iter().position(|t| **t == Token::Special('@'));
    let (local_t, domain_t) = match at {
        Some(a) => (&tokens[..a], &tokens[a + 1..]),
        None => (&tokens[..], &tokens[tokens.len()..]),
    };
    let mut local = String::new();
    for t in local_t {
        match t {
            Token::Atom(s) => local.push_str(s),
            Token::Quoted(s) => local.push_str(&quote_local(s)),
            Token::Special('.') => local.push('.'),
            _ => return Err(AddressError::Syntax("bad local part")),
        }
    }
    let mut domain = String::new();
    for t in domain_t {
        match t {
            Token::Atom(s) => domain.push_str(s),
            Token::Special(c @ ('.' | '[' | ']')) => domain.push(*c),
            _ => return Err(AddressError::Syntax("bad domain")),
        }
    }
    if local.is_empty() || (at.is_some() && domain.is_empty()) {
        return Err(AddressError::Syntax("empty local part or domain"));
    }
    Ok((local, domain))
}

fn quote_local(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| is_atext(c) || c == '.') {
        return s.to_owned();
    }
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Parses an SMTP-style path or bare address (`<a@b>`, `a@b`, `<>`): `Ok(None)` for the null
/// path.
pub fn parse_path(input: &str) -> Result<Option<String>, AddressError> {
    let t = input.trim();
    if t == "<>" || t.is_empty() {
        return Ok(None);
    }
    let list = parse_address_list(t)?;
    match list.as_slice() {
        [one] => Ok(Some(one.address())),
        _ => Err(AddressError::Syntax("not exactly one address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Mailbox {
        let list = parse_address_list(s).unwrap_or_default();
        assert_eq!(list.len(), 1, "{s}");
        list[0].clone()
    }

    #[test]
    fn display_names_are_written_as_dovecot_does() {
        let cases = [
            ("Postmaster <pm@x.org>", "Postmaster <pm@x.org>"),
            ("Mail System <pm@x.org>", "\"Mail System\" <pm@x.org>"),
            ("Mail.System <pm@x.org>", "\"Mail.System\" <pm@x.org>"),
            ("J\u{f6}rg <pm@x.org>", "J\u{f6}rg <pm@x.org>"),
            ("=?utf-8?q?J=C3=B6rg?= Smith <a@x>", "=?utf-8?q?J=C3=B6rg?= Smith <a@x>"),
            ("\"Plain\" <pm@x.org>", "Plain <pm@x.org>"),
            ("pm@x.org (Comment Name)", "\"Comment Name\" <pm@x.org>"),
            ("<pm@x.org>", "<pm@x.org>"),
            ("\"a\\\"b\" <pm@x.org>", "\"a\\\"b\" <pm@x.org>"),
            ("\"\" <alice@example.org>", "<alice@example.org>"),
            ("\"Alice, A.\" <alice@example.org>", "\"Alice, A.\" <alice@example.org>"),
        ];
        for (input, written) in cases {
            assert_eq!(one(input).to_header_value(), written, "{input}");
        }
    }

    #[test]
    fn lists_groups_and_errors() {
        let l = parse_address_list("a@x, \"B\" <b@y>; g: c@z;").unwrap_or_default();
        let addrs: Vec<String> = l.iter().map(Mailbox::address).collect();
        assert_eq!(addrs, ["a@x", "b@y", "c@z"]);
        assert!(parse_address_list("A\\B <pm@x.org>").is_err());
        assert!(parse_address_list("\"open <a@b>").is_err());
        assert_eq!(one("nodomain").domain, "");
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("<>"), Ok(None));
        assert_eq!(parse_path(" <rp@example.com> "), Ok(Some("rp@example.com".into())));
        assert_eq!(parse_path("a@b"), Ok(Some("a@b".into())));
        assert!(parse_path("a@b, c@d").is_err());
    }
}
