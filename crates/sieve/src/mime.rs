//! MIME part access for the `body` test, through `mail-parser`, within the hostile-input limits
//! (at most [`MAX_PARTS`] parts, [`MAX_DEPTH`] levels of nested messages).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Most MIME parts looked at.
pub const MAX_PARTS: usize = 10_000;
/// Deepest nesting of message/rfc822 parts followed.
pub const MAX_DEPTH: usize = 100;

/// Decoded contents of the parts whose content type matches one of `types` (`"text"` = any
/// `text/*`, `"text/plain"` = exactly that, `""` = every part). HTML is converted to text
/// when only the generic `"text"` type was asked for (`:text` transform).
pub(crate) fn text_parts(raw: &[u8], types: &[String]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse(raw) else { return Vec::new() };
    let mut out = Vec::new();
    let mut seen = 0usize;
    collect(&msg, types, 0, &mut seen, &mut out);
    out
}

fn type_matches(types: &[String], ctype: &str, subtype: &str) -> bool {
    types.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        match t.split_once('/') {
            _ if t.is_empty() => true,
            Some((a, b)) => a == ctype && b == subtype,
            None => t == ctype,
        }
    })
}

fn collect(
    msg: &Message<'_>,
    types: &[String],
    depth: usize,
    seen: &mut usize,
    out: &mut Vec<String>,
) {
    for part in &msg.parts {
        *seen += 1;
        if *seen > MAX_PARTS {
            return;
        }
        let (ctype, subtype) =
            part.content_type().map_or(("text".to_owned(), "plain".to_owned()), |c| {
                (c.ctype().to_ascii_lowercase(), c.subtype().unwrap_or("").to_ascii_lowercase())
            });
        let wanted = type_matches(types, &ctype, &subtype);
        match &part.body {
            PartType::Text(t) if wanted => out.push(t.to_string()),
            PartType::Html(h) if wanted => {
                let only_generic = types.iter().all(|t| t.eq_ignore_ascii_case("text"));
                out.push(if only_generic {
                    mail_parser::decoders::html::html_to_text(h)
                } else {
                    h.to_string()
                });
            }
            PartType::Binary(b) | PartType::InlineBinary(b) if wanted && ctype != "multipart" => {
                out.push(String::from_utf8_lossy(b).into_owned());
            }
            PartType::Message(m) if depth < MAX_DEPTH => collect(m, types, depth + 1, seen, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello plain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hello <b>html</b></p>\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n";

    #[test]
    fn selects_parts_by_type() {
        let t = text_parts(MSG, &["text".into()]);
        assert_eq!(t.len(), 2);
        assert!(t[0].contains("hello plain"));
        assert!(t[1].contains("hello") && !t[1].contains("<b>"));
        let h = text_parts(MSG, &["text/html".into()]);
        assert_eq!(h.len(), 1);
        assert!(h[0].contains("<b>"));
        let a = text_parts(MSG, &["application".into()]);
        assert_eq!(a, vec!["hi".to_owned()]);
    }
}
