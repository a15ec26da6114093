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
        if main.is_empty() || sub.is_empty() || sub.contains('/') {
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

    /// Lenient parse for the `:mime` options of RFC 5703 (any Content-Type-like field such as
    /// Content-Disposition): `type[/subtype]; params`, RFC 2231 parameter continuations and
    /// encodings combined.
    pub fn parse_lenient(value: &str) -> ContentType {
        let mut pieces = split_params(value).into_iter();
        let first = pieces.next().unwrap_or_default();
        let (main, sub) = first.trim().split_once('/').unwrap_or((first.trim(), ""));
        let raw: Vec<(String, String)> = pieces
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
                Some((k.trim().to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        ContentType {
            main: main.trim().to_ascii_lowercase(),
            sub: sub.trim().to_ascii_lowercase(),
            params: combine_rfc2231(raw),
        }
    }

    /// Value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Joins RFC 2231 continuations (`name*0`, `name*1*`, ...) and decodes `name*` values.
fn combine_rfc2231(raw: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut plain: Vec<(String, String)> = Vec::new();
    let mut parts: Vec<(String, u32, bool, String)> = Vec::new();
    for (k, v) in raw {
        let encoded = k.ends_with('*');
        let key = k.trim_end_matches('*');
        match key.split_once('*') {
            Some((base, n)) => match n.parse::<u32>() {
                Ok(n) => parts.push((base.to_owned(), n, encoded, v)),
                Err(_) => plain.push((k, v)),
            },
            None if encoded => parts.push((key.to_owned(), 0, true, v)),
            None => plain.push((k, v)),
        }
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut charset = String::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for (base, n, encoded, v) in parts {
        if current.as_ref().is_none_or(|(b, _)| *b != base) {
            if let Some((b, bytes)) = current.take() {
                plain.push((b, decode_charset(&charset, &bytes)));
            }
            charset.clear();
            current = Some((base.clone(), Vec::new()));
        }
        let mut value = v.as_str();
        if encoded && n == 0 {
            let mut it = value.splitn(3, '\'');
            if let (Some(cs), Some(_lang), Some(rest)) = (it.next(), it.next(), it.next()) {
                charset = cs.to_owned();
                value = rest;
            }
        }
        if let Some((_, bytes)) = current.as_mut() {
            if encoded {
                bytes.extend(percent_decode(value));
            } else {
                bytes.extend_from_slice(value.as_bytes());
            }
        }
    }
    if let Some((b, bytes)) = current {
        plain.push((b, decode_charset(&charset, &bytes)));
    }
    plain
}

fn percent_decode(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%').then(|| b.get(i + 1..i + 3)).flatten();
        match hex
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    match charset_decoder(charset.as_bytes()) {
        Some(dec) if !charset.is_empty() => dec(bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
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
    /// Byte range of its header block, up to the last header's line break.
    pub header_block: Range<usize>,
    /// Multipart only: preamble and epilogue ranges.
    pub outside: Vec<Range<usize>>,
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
        // An unparsable Content-Type makes the part opaque, not text/plain.
        let ct = match headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-type")) {
            Some(h) => ContentType::parse(&h.decoded()).unwrap_or_else(|| ContentType {
                main: "application".into(),
                sub: "octet-stream".into(),
                params: Vec::new(),
            }),
            None => default_type(digest),
        };
        let body = range.start + body_off..range.end;
        let header_block = range.start..before_delimiter(raw, range.start, body.start);
        let index = self.parts.len();
        self.parts.push(MimePart {
            headers,
            content_type: ct.clone(),
            body: body.clone(),
            header_block,
            outside: Vec::new(),
            parent,
            end: index + 1,
        });
        let can_descend = depth + 1 < MAX_DEPTH && self.parts.len() < MAX_PARTS;
        if can_descend && ct.main == "multipart" {
            if let Some(boundary) = ct.param("boundary") {
                let is_digest = ct.sub == "digest";
                let split = split_multipart(raw, body, boundary.as_bytes());
                self.parts[index].outside = vec![split.preamble, split.epilogue];
                for child in split.parts {
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

/// A split multipart body: the part ranges and the text outside them (preamble, epilogue).
struct Split {
    parts: Vec<Range<usize>>,
    preamble: Range<usize>,
    epilogue: Range<usize>,
}

/// Strips the line break that belongs to a following delimiter line.
fn before_delimiter(raw: &[u8], start: usize, mut end: usize) -> usize {
    if end > start && raw[end - 1] == b'\n' {
        end -= 1;
        if end > start && raw[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

/// Splits a multipart body on its `--boundary` lines.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Split {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut split =
        Split { parts: Vec::new(), preamble: body.clone(), epilogue: body.end..body.end };
    let mut start: Option<usize> = None;
    let mut i = body.start;
    while i < body.end {
        let line_end =
            raw[i..body.end].iter().position(|&b| b == b'\n').map_or(body.end, |p| i + p + 1);
        if raw[i..line_end].starts_with(&delim) {
            let closing = raw[i + delim.len()..line_end].starts_with(b"--");
            match start {
                Some(s) => split.parts.push(s..before_delimiter(raw, s, i)),
                None => split.preamble = body.start..before_delimiter(raw, body.start, i),
            }
            if closing {
                split.epilogue = line_end..body.end;
                return split;
            }
            start = Some(line_end);
        }
        i = line_end;
    }
    if let Some(s) = start {
        split.parts.push(s..body.end);
    }
    split
}

fn type_matches(types: &[String], ct: &ContentType) -> bool {
    types.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        // RFC 5173 §5.2: a type with a leading/trailing slash or several slashes matches nothing.
        if t.starts_with('/') || t.ends_with('/') || t.matches('/').count() > 1 {
            return false;
        }
        match t.split_once('/') {
            _ if t.is_empty() => true,
            Some((a, b)) => a == ct.main && b == ct.sub,
            None => t == ct.main,
        }
    })
}

/// Texts for the `body` test (RFC 5173 §5.2) from the parts whose type matches `types`
/// (`"text"` = any `text/*`, `"text/plain"` exactly, `""` every part): a multipart part gives
/// its preamble and epilogue, a message/rfc822 part the header of the enclosed message, other
/// parts their decoded content. With `convert_html` (the `:text` transform) HTML is
/// converted to plain text.
pub(crate) fn text_parts(
    raw: &[u8],
    tree: &MimeTree,
    types: &[String],
    convert_html: bool,
) -> Vec<String> {
    let lossy = |r: &Range<usize>| String::from_utf8_lossy(&raw[r.clone()]).into_owned();
    let mut out = Vec::new();
    for (i, p) in tree.parts.iter().enumerate() {
        if !type_matches(types, &p.content_type) {
            continue;
        }
        if p.content_type.main == "multipart" {
            out.push(p.outside.iter().map(lossy).collect::<Vec<_>>().join("\r\n"));
            continue;
        }
        if p.end > i + 1 {
            // message/rfc822: only the enclosed message's header is searched.
            out.push(lossy(&tree.parts[i + 1].header_block));
            continue;
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
        let outside = text_parts(MSG, &tree, &["multipart".into()], false);
        assert!(outside[0].contains("preamble") && outside[0].contains("epilogue"));
        assert_eq!(
            text_parts(MSG, &tree, &["message/rfc822".into()], false)[0],
            "Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
        );
        assert!(text_parts(MSG, &tree, &["text/plain/x".into()], false).is_empty());
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
