//! Parsing of single mail addresses given in scripts (`redirect`, vacation `:from`), with
//! Pigeonhole's error texts, and splitting into local part / domain / subaddress.

/// Parses one address (`local@domain` or `Name <local@domain>`) and returns it normalised
/// as `local@domain`; the error text follows Pigeonhole (`invalid or missing domain`, ...).
pub fn parse_single(s: &str) -> Result<String, String> {
    let t = s.trim_start();
    if let Some(lt) = find_unquoted(t, '<') {
        let inner = &t[lt + 1..];
        if inner.trim().is_empty() {
            return Err("missing domain".into());
        }
        let (addr, rest) = addr_spec(inner)?;
        let Some(after) = rest.trim_start().strip_prefix('>') else {
            return Err("missing '>'".into());
        };
        return trailing(after).map(|()| addr);
    }
    let (addr, rest) = addr_spec(t)?;
    trailing(rest).map(|()| addr)
}

fn trailing(rest: &str) -> Result<(), String> {
    match rest.trim_start().chars().next() {
        None => Ok(()),
        Some(c) => Err(format!("not a single address (found '{c}')")),
    }
}

fn find_unquoted(s: &str, needle: char) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == needle && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Parses `local@domain` at the start of `s`; returns it and the unparsed rest.
fn addr_spec(s: &str) -> Result<(String, &str), String> {
    let s = s.trim_start();
    let (local, rest) = if let Some(q) = s.strip_prefix('"') {
        let end = q.find('"').ok_or_else(|| "invalid local part".to_owned())?;
        (format!("\"{}\"", &q[..end]), &q[end + 1..])
    } else {
        let end = s.find(|c: char| !(is_atext(c) || c == '.')).unwrap_or(s.len());
        (s[..end].to_owned(), &s[end..])
    };
    // Pigeonhole accepts dots anywhere in the local part (".a..b.@x" included).
    if local.is_empty() {
        return Err("invalid local part".into());
    }
    match rest.chars().next() {
        None | Some(' ' | '\t' | '@' | '>' | ',') => {}
        Some(_) => return Err("invalid local part".into()),
    }
    let Some(rest) = rest.trim_start().strip_prefix('@') else {
        return Err(format!("invalid or lonely local part '{local}' (expecting '@')"));
    };
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(is_atext(c) || c == '.' || c == '[' || c == ']'))
        .unwrap_or(rest.len());
    let domain = &rest[..end];
    if domain.is_empty()
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err("invalid or missing domain".into());
    }
    Ok((format!("{local}@{domain}"), &rest[end..]))
}

/// Local part of `addr` (everything before the last `@`); the whole string if there is none.
pub fn local_part(addr: &str) -> &str {
    addr.rsplit_once('@').map_or(addr, |(l, _)| l)
}

/// Domain of `addr` (after the last `@`), if any.
pub fn domain(addr: &str) -> Option<&str> {
    addr.rsplit_once('@').map(|(_, d)| d)
}

/// RFC 5233 user part: local part up to the first `delimiter` character.
pub fn user_part<'a>(addr: &'a str, delimiters: &str) -> &'a str {
    let local = local_part(addr);
    match local.find(|c| delimiters.contains(c)) {
        Some(i) => &local[..i],
        None => local,
    }
}

/// RFC 5233 detail part: after the first delimiter; `None` when there is no delimiter.
pub fn detail_part<'a>(addr: &'a str, delimiters: &str) -> Option<&'a str> {
    let local = local_part(addr);
    local.find(|c| delimiters.contains(c)).map(|i| {
        let len = local[i..].chars().next().map_or(1, char::len_utf8);
        &local[i + len..]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_forms_are_normalised() {
        assert_eq!(parse_single("carol@example.net").as_deref(), Ok("carol@example.net"));
        assert_eq!(parse_single("Carol <carol@example.net>").as_deref(), Ok("carol@example.net"));
        assert_eq!(parse_single(" \"a b\"@x.org ").as_deref(), Ok("\"a b\"@x.org"));
    }

    #[test]
    fn pigeonhole_error_texts() {
        let e = |s: &str| parse_single(s).unwrap_err();
        assert_eq!(e("foo"), "invalid or lonely local part 'foo' (expecting '@')");
        assert_eq!(
            e(" more error @  example.com  "),
            "invalid or lonely local part 'more' (expecting '@')"
        );
        assert_eq!(e("<>"), "invalid local part");
        assert_eq!(e("@wrong.example.com"), "invalid local part");
        assert_eq!(e("Error <"), "missing domain");
        assert_eq!(e("Error <stephan@"), "invalid or missing domain");
        assert_eq!(e("Stephan Bosch <error@example.org"), "missing '>'");
        assert_eq!(e("error@"), "invalid or missing domain");
        assert_eq!(e("rüdiger@example.com"), "invalid local part");
        assert_eq!(e("stephan@example.org,tss@example.net"), "not a single address (found ',')");
    }

    #[test]
    fn subaddress_parts() {
        assert_eq!(user_part("ken+sieve@example.org", "+"), "ken");
        assert_eq!(detail_part("ken+sieve@example.org", "+"), Some("sieve"));
        assert_eq!(detail_part("ken@example.org", "+"), None);
        assert_eq!(detail_part("ken+@example.org", "+"), Some(""));
        assert_eq!(domain("ken@example.org"), Some("example.org"));
    }
}
