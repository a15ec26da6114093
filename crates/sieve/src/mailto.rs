//! `mailto:` notification URIs (RFC 6068 as enotify's RFC 5436 uses them), parsed and checked
//! the way Pigeonhole does, with its error texts. Used at compile time for constant URIs and
//! by the host to build the notification message.

use crate::address::parse_single;

/// A parsed `mailto:` URI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailto {
    /// `To` recipients (normalised addresses).
    pub to: Vec<String>,
    /// `Cc` recipients.
    pub cc: Vec<String>,
    /// `Bcc` recipients.
    pub bcc: Vec<String>,
    /// `subject=`.
    pub subject: Option<String>,
    /// `body=`.
    pub body: Option<String>,
    /// Other header fields (name as written, decoded value).
    pub headers: Vec<(String, String)>,
    /// Problems that do not make the URI invalid.
    pub warnings: Vec<String>,
}

/// Header fields a URI may not set (silently dropped with a warning).
const RESERVED: &[&str] = &[
    "from",
    "date",
    "message-id",
    "received",
    "return-path",
    "sender",
    "auto-submitted",
    "resent-from",
    "resent-date",
    "resent-message-id",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
];

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~".contains(c)
}

/// Checks the characters of one URI part and percent-decodes it.
fn decode_part(part: &str, allowed: &str, what: &str) -> Result<String, String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = char::from(bytes[i]);
        if c == '%' {
            let hex = part.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(v) = hex else {
                return Err(format!("invalid %-encoding in {what} part"));
            };
            out.push(v);
            i += 3;
            continue;
        }
        if !(bytes[i].is_ascii() && (is_unreserved(c) || allowed.contains(c))) {
            let shown = part[i..].chars().next().unwrap_or('?');
            return Err(format!("invalid character '{shown}' in {what} part"));
        }
        out.push(bytes[i]);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn recipients(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|r| parse_single(r).map_err(|e| format!("invalid recipient '{r}': {e}")))
        .collect()
}

/// Parses `uri`; the error text is what follows `mailto URI: ` in Pigeonhole's message.
pub fn parse_mailto(uri: &str) -> Result<Mailto, String> {
    let rest = match uri.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &uri[7..],
        _ => return Err("not a mailto URI".into()),
    };
    let (to_part, hdr_part) = rest.split_once('?').map_or((rest, None), |(a, b)| (a, Some(b)));
    let mut m = Mailto::default();
    if !to_part.is_empty() {
        let to = decode_part(to_part, "!$'()*+:@", "'to'")?;
        m.to = recipients(&to)?;
    }
    for field in hdr_part.unwrap_or("").split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let name = decode_part(name, "!$'()*+,;:@", "header field name")?;
        let value = decode_part(value, "!$'()*+,;:@=", "header field value")?;
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err("invalid header field name".into());
        }
        match name.to_ascii_lowercase().as_str() {
            "to" => m.to.extend(recipients(&value)?),
            "cc" => m.cc.extend(recipients(&value)?),
            "bcc" => m.bcc.extend(recipients(&value)?),
            "subject" => m.subject = Some(value),
            "body" => m.body = Some(value),
            l if RESERVED.contains(&l) => {
                m.warnings.push(format!("ignored reserved header field '{l}'"))
            }
            _ => m.headers.push((name, value)),
        }
    }
    if m.to.is_empty() && m.cc.is_empty() && m.bcc.is_empty() {
        m.warnings.push("notification URI specifies no recipients".into());
    }
    Ok(m)
}

/// Checks one `:options` entry (`name=value`); the error is Pigeonhole's text.
pub fn check_option(option: &str) -> Result<(), String> {
    if option.is_empty() {
        return Err("empty option specified".into());
    }
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next().is_some_and(|f| f.is_ascii_alphanumeric())
            && c.all(|x| x.is_ascii_alphanumeric() || "-._".contains(x))
    };
    match option.split_once('=') {
        Some((n, v)) if name_ok(n) => {
            if v.chars().any(|c| c == '\r' || c == '\n') {
                let shown: String =
                    option.chars().map(|c| if c == '\r' || c == '\n' { '?' } else { c }).collect();
                return Err(format!(
                    "notify command: invalid option value specified in option '{shown}'"
                ));
            }
            Ok(())
        }
        _ => Err(format!("invalid option name specified in option '{option}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recipients_and_headers() {
        let m = parse_mailto(
            "mailto:a@example.org?cc=b@example.org&subject=Hi%20there&body=x&from=z@y.x",
        )
        .unwrap();
        assert_eq!(m.to, vec!["a@example.org".to_owned()]);
        assert_eq!(m.cc, vec!["b@example.org".to_owned()]);
        assert_eq!(m.subject.as_deref(), Some("Hi there"));
        assert_eq!(m.body.as_deref(), Some("x"));
        assert_eq!(m.warnings, vec!["ignored reserved header field 'from'".to_owned()]);
        assert_eq!(
            parse_mailto("mailto:").unwrap().warnings,
            vec!["notification URI specifies no recipients".to_owned()]
        );
    }

    #[test]
    fn pigeonhole_error_texts() {
        let e = |u: &str| parse_mailto(u).unwrap_err();
        assert_eq!(
            e("mailto:stephan@example.org;?header=frop"),
            "invalid character ';' in 'to' part"
        );
        assert_eq!(e("mailto:a@example.org,b@example.org"), "invalid character ',' in 'to' part");
        assert_eq!(
            e("mailto:stephan@example.org?header<=frop"),
            "invalid character '<' in header field name part"
        );
        assert_eq!(
            e("mailto:stephan@example.org?header=fr>op"),
            "invalid character '>' in header field value part"
        );
        assert_eq!(e("mailto:stephan@example.org?header:=frop"), "invalid header field name");
        assert_eq!(
            e("mailto:stephan%23example.org"),
            "invalid recipient 'stephan#example.org': invalid or lonely local part 'stephan#example.org' (expecting '@')"
        );
    }

    #[test]
    fn options() {
        assert!(check_option("importance=1").is_ok());
        assert_eq!(check_option("").unwrap_err(), "empty option specified");
        assert_eq!(
            check_option("_frop=").unwrap_err(),
            "invalid option name specified in option '_frop='"
        );
        assert!(check_option("frop=a\r\nb").unwrap_err().contains("'frop=a??b'"));
    }
}
