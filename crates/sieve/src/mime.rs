//! The MIME structure of the message for `body`, `foreverypart`, `header :mime` and
//! `extracttext`: a flat list of parts in depth-first order, split on raw bytes so nothing is
//! lost, within the hostile-input limits (at most [`MAX_PARTS`] parts, [`MAX_DEPTH`] levels;
//! anything beyond is body text of the last part parsed). Content decoding (base64,
//! quoted-printable, charsets) uses `mail-parser`'s decoders.

use std::ops::Range;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;

use crate::message::{HeaderField, split_header_block};

/// Most MIME parts parsed.
pub const MAX_PARTS: usize = 10_000;
/// Deepest nesting parsed (the message plus 99 nested parts).
pub const MAX_DEPTH: usize = 100;

/// A parsed `Content-Type` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// Main type, lower case.
    pub main: String,
    /// Subtype, lower case.
    pub sub: String,
    /// Parameters (names lower case).
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// Parses `type/subtype; name=value; ...`; `None` when there is no `type/subtype`.
    pub fn parse(value: &str) -> Option<ContentType> {
        let mut pieces = split_params(value).into_iter();
        let first = pieces.next()?;
        let (main, sub) = first.trim().split_once('/')?;
        let (main, sub) = (main.trim().to_ascii_lowercase(), sub.trim().to_ascii_lowercase());
        if main.is_empty() || sub.is_empty() {
            return None;
        }
        let params = pieces
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
                Some((k.trim().to_ascii_lowercase(), v.replace("\\\"", "\"")))
            })
            .collect();
        Some(ContentType { main, sub, params })
    }

    /// Value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Splits on `;` outside quotes.
fn split_params(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in v.chars() {
        if c == ';' && !quoted {
            out.push(String::new());
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        if let Some(s) = out.last_mut() {
            s.push(c);
        }
    }
    out
}

/// One MIME part (index 0 is the message itself).
#[derive(Debug, Clone)]
pub struct MimePart {
    /// Its header fields.
    pub headers: Vec<HeaderField>,
    /// Its content type (defaults applied).
    pub content_type: ContentType,
    /// Byte range of its body in the raw message.
    pub body: Range<usize>,
    /// Index of the enclosing part.
    pub parent: Option<usize>,
    /// Index one past its last descendant.
    pub end: usize,
}

/// The parts of a message in depth-first order.
#[derive(Debug, Clone, Default)]
pub struct MimeTree {
    /// Parts; `parts[0]` is the whole message.
    pub parts: Vec<MimePart>,
}

fn default_type(digest_parent: bool) -> ContentType {
    let (main, sub) = if digest_parent { ("message", "rfc822") } else { ("text", "plain") };
    ContentType {
        main: main.into(),
        sub: sub.into(),
        params: vec![("charset".into(), "us-ascii".into())],
    }
}

impl MimeTree {
    /// Parses the structure of `raw`.
    pub fn parse(raw: &[u8]) -> MimeTree {
        let mut tree = MimeTree::default();
        tree.add(raw, 0..raw.len(), None, 0, false);
        tree
    }

    fn add(
        &mut self,
        raw: &[u8],
        range: Range<usize>,
        parent: Option<usize>,
        depth: usize,
        digest: bool,
    ) {
        let (headers, body_off) = split_header_block(&raw[range.clone()]);
        let ct = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-type"))
            .and_then(|h| ContentType::parse(&h.decoded()))
            .unwrap_or_else(|| default_type(digest));
        let body = range.start + body_off..range.end;
        let index = self.parts.len();
        self.parts.push(MimePart {
            headers,
            content_type: ct.clone(),
            body: body.clone(),
            parent,
            end: index + 1,
        });
        let can_descend = depth + 1 < MAX_DEPTH && self.parts.len() < MAX_PARTS;
        if can_descend && ct.main == "multipart" {
            if let Some(boundary) = ct.param("boundary") {
                let is_digest = ct.sub == "digest";
                for child in split_multipart(raw, body, boundary.as_bytes()) {
                    if self.parts.len() >= MAX_PARTS {
                        break;
                    }
                    self.add(raw, child, Some(index), depth + 1, is_digest);
                }
            }
        } else if can_descend && ct.main == "message" && ct.sub == "rfc822" {
            self.add(raw, body, Some(index), depth + 1, false);
        }
        self.parts[index].end = self.parts.len();
    }

    /// Indices of the descendants of `part` (all parts below it, depth-first).
    pub fn descendants(&self, part: usize) -> Range<usize> {
        part + 1..self.parts.get(part).map_or(part + 1, |p| p.end)
    }

    /// Decoded content of a part as text (transfer encoding and charset undone); `None` when
    /// the transfer encoding is unknown (Pigeonhole skips such parts).
    pub fn text(&self, raw: &[u8], part: usize) -> Option<String> {
        let p = self.parts.get(part)?;
        let bytes = &raw[p.body.clone()];
        let cte = p
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-transfer-encoding"))
            .map(|h| h.decoded().to_ascii_lowercase());
        let decoded: Vec<u8> = match cte.as_deref() {
            Some("base64") => {
                let clean: Vec<u8> =
                    bytes.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
                base64_decode(&clean).unwrap_or_else(|| bytes.to_vec())
            }
            Some("quoted-printable") => {
                quoted_printable_decode(bytes).unwrap_or_else(|| bytes.to_vec())
            }
            None | Some("7bit" | "8bit" | "binary") => bytes.to_vec(),
            Some(_) => return None,
        };
        Some(match p.content_type.param("charset").and_then(|c| charset_decoder(c.as_bytes())) {
            Some(dec) => dec(&decoded),
            None => String::from_utf8_lossy(&decoded).into_owned(),
        })
    }
}

/// Body ranges of the parts of a multipart body delimited by `--boundary` lines.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = body.start;
    while i < body.end {
        let line_end =
            raw[i..body.end].iter().position(|&b| b == b'\n').map_or(body.end, |p| i + p + 1);
        let line = &raw[i..line_end];
        if line.starts_with(&delim) {
            let rest = &line[delim.len()..];
            let closing = rest.starts_with(b"--");
            if let Some(s) = start {
                // The line break before the delimiter belongs to the delimiter.
                let mut e = i;
                if e > s && raw[e - 1] == b'\n' {
                    e -= 1;
                    if e > s && raw[e - 1] == b'\r' {
                        e -= 1;
                    }
                }
                parts.push(s..e);
            }
            if closing {
                return parts;
            }
            start = Some(line_end);
        }
        i = line_end;
    }
    if let Some(s) = start {
        parts.push(s..body.end);
    }
    parts
}

fn type_matches(types: &[String], ct: &ContentType) -> bool {
    types.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        match t.split_once('/') {
            _ if t.is_empty() => true,
            Some((a, b)) => a == ct.main && b == ct.sub,
            None => t == ct.main,
        }
    })
}

/// Texts for the `body` test: decoded contents of the parts whose type matches `types`
/// (`"text"` = any `text/*`, `"text/plain"` exactly, `""` every part). Multipart containers
/// contribute an empty value (their preamble/epilogue is not kept). With `convert_html`
/// (the `:text` transform) HTML parts are converted to plain text.
pub(crate) fn text_parts(
    raw: &[u8],
    tree: &MimeTree,
    types: &[String],
    convert_html: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in tree.parts.iter().enumerate() {
        if !type_matches(types, &p.content_type) {
            continue;
        }
        if p.content_type.main == "multipart" {
            out.push(String::new());
            continue;
        }
        if p.end > i + 1 {
            continue; // message/rfc822 container: its parts are listed themselves
        }
        let Some(text) = tree.text(raw, i) else { continue };
        let markup = p.content_type.sub == "html" || p.content_type.sub == "xhtml+xml";
        if convert_html && markup {
            out.push(mail_parser::decoders::html::html_to_text(&text));
        } else {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello plain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hello <b>html</b></p>\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\nepilogue\r\n";

    #[test]
    fn structure_is_depth_first() {
        let t = MimeTree::parse(MSG);
        let types: Vec<String> = t
            .parts
            .iter()
            .map(|p| format!("{}/{}", p.content_type.main, p.content_type.sub))
            .collect();
        assert_eq!(
            types,
            ["multipart/mixed", "text/plain", "text/html", "message/rfc822", "text/plain"]
        );
        assert_eq!(t.descendants(0), 1..5);
        assert_eq!(t.descendants(3), 4..5);
        assert_eq!(t.parts[4].parent, Some(3));
        assert_eq!(t.text(MSG, 1).as_deref(), Some("hello plain"));
        assert_eq!(t.text(MSG, 4).as_deref(), Some("hi"));
    }

    #[test]
    fn selects_parts_by_type() {
        let tree = MimeTree::parse(MSG);
        let t = text_parts(MSG, &tree, &["text".into()], false);
        assert_eq!(t.len(), 3);
        assert!(t[1].contains("<b>"));
        let t = text_parts(MSG, &tree, &["text/plain".into(), "text/html".into()], true);
        assert!(t[1].contains("hello") && !t[1].contains("<b>"));
        assert_eq!(text_parts(MSG, &tree, &["multipart".into()], false), vec![String::new()]);
        let h = text_parts(MSG, &tree, &["text/html".into()], false);
        assert_eq!(h, vec!["<p>hello <b>html</b></p>".to_owned()]);
    }

    #[test]
    fn limits_hold_on_deep_and_wide_messages() {
        let mut deep = Vec::new();
        for _ in 0..500 {
            deep.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        deep.extend_from_slice(b"Subject: x\r\n\r\nend\r\n");
        assert_eq!(MimeTree::parse(&deep).parts.len(), MAX_DEPTH);
        let mut wide = b"Content-Type: multipart/mixed; boundary=z\r\n\r\n".to_vec();
        for _ in 0..20_000 {
            wide.extend_from_slice(b"--z\r\n\r\nx\r\n");
        }
        assert_eq!(MimeTree::parse(&wide).parts.len(), MAX_PARTS);
        let ct = ContentType::parse("Text/Plain; charset=\"utf-8\"; format=flowed").unwrap();
        assert_eq!((ct.main.as_str(), ct.param("CHARSET")), ("text", Some("utf-8")));
    }
}
