//! SMTP paths as `-f`, `-a` and `-r` give them (RFC 5321 `Reverse-path`/`Forward-path`, leniently).
//!
//! Mirrors what dovecot/core@2.3.19.1 `src/lda/main.c` accepts: angle brackets are optional, a bare
//! local part is a valid address, `<>` or the empty string is the null path. Input that cannot be
//! an address but is harmless (a space, 8-bit bytes, a display name, a source route) is *broken*:
//! `-f` then falls back to the null sender, `-a`/`-r` refuse it. Control characters are always
//! refused, so nothing dangerous reaches a log line or a header we write.

use std::fmt;

/// A parsed, non-null SMTP mailbox: `local@domain`, or a bare `local` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    /// The local part as written (quoted strings keep their quotes).
    pub local: String,
    /// The domain, absent for a bare local part such as `MAILER-DAEMON`.
    pub domain: Option<String>,
}

impl fmt::Display for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.domain {
            Some(domain) => write!(f, "{}@{}", self.local, domain),
            None => f.write_str(&self.local),
        }
    }
}

/// Why a path was not accepted as an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Syntax that no MTA would hand over on purpose: control characters, unbalanced brackets.
    #[error("{0}")]
    Invalid(&'static str),
    /// Harmless but not an address (spaces, 8-bit, display names, source routes).
    #[error("{0}")]
    Broken(&'static str),
}

/// Parse an SMTP path. `Ok(None)` is the null path (`<>` or empty).
pub fn parse_path(input: &str) -> Result<Option<MailAddress>, PathError> {
    if input.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(PathError::Invalid("Invalid character in path"));
    }
    let inner = match input.strip_prefix('<') {
        Some(rest) => {
            rest.strip_suffix('>').ok_or(PathError::Invalid("Unbalanced angle brackets in path"))?
        }
        None => input,
    };
    if inner.is_empty() {
        return Ok(None);
    }
    if inner.starts_with('@') {
        return Err(PathError::Broken("Source routes are not supported"));
    }
    if !inner.is_ascii() {
        return Err(PathError::Broken("Invalid character in path"));
    }
    let (local, domain) = split_address(inner)?;
    Ok(Some(MailAddress { local: local.to_string(), domain: domain.map(str::to_string) }))
}

/// Split `local[@domain]`, honouring a quoted local part.
fn split_address(inner: &str) -> Result<(&str, Option<&str>), PathError> {
    let local_end = if inner.starts_with('"') {
        quoted_end(inner).ok_or(PathError::Broken("Unterminated quoted string"))?
    } else {
        inner.find('@').unwrap_or(inner.len())
    };
    let (local, rest) = inner.split_at(local_end);
    if !local.starts_with('"') && !is_dot_atom(local) {
        return Err(PathError::Broken("Invalid localpart"));
    }
    if rest.is_empty() {
        return Ok((local, None));
    }
    let domain = &rest[1..];
    if !rest.starts_with('@') || !is_domain(domain) {
        return Err(PathError::Broken("Invalid domain"));
    }
    Ok((local, Some(domain)))
}

/// Byte index just past the closing quote of a leading quoted string.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// RFC 5322 atext, joined by single dots.
fn is_dot_atom(s: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    !s.is_empty()
        && s.split('.').all(|atom| {
            !atom.is_empty()
                && atom.bytes().all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        })
}

/// A domain name or an address literal such as `[192.0.2.1]`.
fn is_domain(s: &str) -> bool {
    if s.starts_with('[') {
        return s.ends_with(']') && s.len() > 2 && !s[1..s.len() - 1].contains(['[', ']', '\\']);
    }
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> String {
        parse_path(s).expect("valid").expect("not null").to_string()
    }

    #[test]
    fn brackets_are_optional_and_bare_local_parts_are_addresses() {
        assert_eq!(addr("<a@example.com>"), "a@example.com");
        assert_eq!(addr("a@example.com"), "a@example.com");
        assert_eq!(addr("MAILER-DAEMON"), "MAILER-DAEMON");
        assert_eq!(addr("\"x y\"@example.com"), "\"x y\"@example.com");
        assert_eq!(addr("a@[192.0.2.1]"), "a@[192.0.2.1]");
    }

    #[test]
    fn null_paths() {
        assert_eq!(parse_path(""), Ok(None));
        assert_eq!(parse_path("<>"), Ok(None));
    }

    #[test]
    fn control_characters_and_unbalanced_brackets_are_invalid() {
        for bad in ["a\n@b", "a\r", "\t", "a\x7f@b", "<a@b", "<"] {
            assert!(matches!(parse_path(bad), Err(PathError::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn harmless_garbage_is_broken() {
        for bad in [
            "sp ace@example.com",
            "bad addr@@",
            "@r1,@r2:u@d",
            "Name <a@b>",
            "ä@b",
            "a@",
            "a@b..c",
            "a@b>",
        ] {
            assert!(matches!(parse_path(bad), Err(PathError::Broken(_))), "{bad:?}");
        }
    }
}
