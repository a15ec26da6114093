//! SMTP paths as `test_set "envelope.*"` and the fake SMTP see them (RFC 5321 §4.1.2): optional
//! angle brackets, an ignored source route, a local part that may be quoted, an optional
//! domain; quoted local parts that do not need quoting are unquoted (`"sirius"@x` → `sirius@x`).

/// Characters allowed in an unquoted local part besides letters and digits (RFC 5322 atext).
const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || ATEXT.contains(c) || !c.is_ascii()
}

fn valid_domain(d: &str) -> bool {
    if let Some(lit) = d.strip_prefix('[') {
        return lit.ends_with(']') && lit.len() > 1;
    }
    !d.is_empty()
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii())
        })
}

/// Parses a path; `Ok(None)` is the null path `<>`.
pub fn parse_path(value: &str) -> Result<Option<String>, String> {
    let v = value.trim();
    let inner = match (v.strip_prefix('<'), v.ends_with('>')) {
        (Some(rest), true) => rest.strip_suffix('>').unwrap_or(rest),
        (None, false) => v,
        _ => return Err("unbalanced angle brackets".into()),
    };
    if inner.is_empty() {
        return Ok(None);
    }
    let mailbox = strip_source_route(inner)?;
    parse_mailbox(mailbox).map(Some)
}

/// Removes `@a.example,@b.example:` in front of the mailbox.
fn strip_source_route(s: &str) -> Result<&str, String> {
    if !s.starts_with('@') {
        return Ok(s);
    }
    let (route, rest) = s.split_once(':').ok_or("source route without colon")?;
    for hop in route.split(',') {
        let d = hop.strip_prefix('@').ok_or("source route hop without '@'")?;
        if !valid_domain(d) {
            return Err(format!("invalid source route domain '{d}'"));
        }
    }
    Ok(rest)
}

/// Parses `local[@domain]`, returning the normalized form.
fn parse_mailbox(s: &str) -> Result<String, String> {
    let (local, rest) = if let Some(q) = s.strip_prefix('"') {
        let mut end = None;
        let mut escaped = false;
        for (i, c) in q.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("unterminated quoted local part")?;
        let raw = &q[..end];
        let plain = unescape(raw);
        let local = if !plain.is_empty()
            && plain.split('.').all(|a| !a.is_empty() && a.chars().all(is_atext))
        {
            plain
        } else {
            format!("\"{raw}\"")
        };
        (local, &q[end + 1..])
    } else {
        let end = s.find('@').unwrap_or(s.len());
        let local = &s[..end];
        if local.is_empty() || !local.chars().all(|c| is_atext(c) || c == '.') {
            return Err(format!("invalid local part '{local}'"));
        }
        (local.to_owned(), &s[end..])
    };
    if rest.is_empty() {
        return Ok(local);
    }
    let domain = rest.strip_prefix('@').ok_or("junk after local part")?;
    if !valid_domain(domain) {
        return Err(format!("invalid domain '{domain}'"));
    }
    Ok(format!("{local}@{domain}"))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        out.push(if c == '\\' { it.next().unwrap_or('\\') } else { c });
    }
    out
}

/// Normalizes a redirect target (an address, possibly `Name <addr>`) for the SMTP envelope.
pub fn normalize_target(address: &str) -> String {
    let a = address.trim();
    let inner = match (a.rfind('<'), a.ends_with('>')) {
        (Some(i), true) => &a[i..],
        _ => a,
    };
    parse_path(inner).ok().flatten().unwrap_or_else(|| address.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse_path("<>"), Ok(None));
        assert_eq!(parse_path(""), Ok(None));
        assert_eq!(parse_path("<a@b.c>"), Ok(Some("a@b.c".into())));
        assert_eq!(parse_path("MAILER-DAEMON"), Ok(Some("MAILER-DAEMON".into())));
        assert_eq!(parse_path(".japanese@example.com"), Ok(Some(".japanese@example.com".into())));
        assert_eq!(
            parse_path("<@a.example,@b.example:s@example.org>"),
            Ok(Some("s@example.org".into()))
        );
        for bad in ["<a@b", "a@b>", "<<a@b>", "a b@c", "a@@b", "x@", "<@.e:s@e>", "<@a.e@b.e:s@e>"]
        {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoted_local_parts() {
        assert_eq!(parse_path("\"sirius\"@example.org"), Ok(Some("sirius@example.org".into())));
        assert_eq!(normalize_target("\"S[r]us\"@example.net"), "\"S[r]us\"@example.net");
        assert_eq!(
            normalize_target("\"Stephan Bosch\" <\"S.Bosch\"@example.net>"),
            "S.Bosch@example.net"
        );
    }
}
