//! Read-only view of the message under test: header fields split once (raw bytes kept so
//! editheader and redirect stay byte-exact), values decoded on demand (unfolding, RFC 2047 via
//! `mail-parser`), address lists (first 256 per field), body bytes and size.

use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderValue};

/// Address-test limit: only the first addresses of one field are looked at.
pub const MAX_ADDRESSES_PER_HEADER: usize = 256;

/// One header field as it appears in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// Field name as written.
    pub name: String,
    /// Raw value after the colon, folding kept, final line end removed.
    pub value: Vec<u8>,
}

impl HeaderField {
    /// Unfolded, RFC 2047-decoded value with surrounding white space removed.
    pub fn decoded(&self) -> String {
        decode_value(&self.value)
    }

    /// Unfolded raw value (no MIME decoding), leading white space removed.
    pub fn unfolded(&self) -> String {
        let s = String::from_utf8_lossy(&self.value);
        unfold(&s).trim_start().trim_end_matches(['\r', '\n']).to_owned()
    }
}

/// One address from an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    /// Display name, decoded.
    pub name: Option<String>,
    /// `local@domain` (or, when `valid` is false, the whole unparsable field value).
    pub address: String,
    /// False when the field held no parsable address; only `:all` then sees `address`.
    pub valid: bool,
}

/// The message a script runs against.
#[derive(Debug, Clone, Default)]
pub struct MessageView {
    raw: Vec<u8>,
    /// Header fields in order.
    pub headers: Vec<HeaderField>,
    body_start: usize,
    has_body: bool,
}

impl MessageView {
    /// Splits `raw` (LF or CRLF line ends) into header fields and body.
    pub fn parse(raw: &[u8]) -> MessageView {
        let (headers, body_start) = split_header_block(raw);
        let head = &raw[..body_start];
        // RFC 5173: a header not followed by an empty line means there is no body at all.
        let has_body = head.ends_with(b"\n\n")
            || head.ends_with(b"\n\r\n")
            || head == b"\n"
            || head == b"\r\n";
        MessageView { raw: raw.to_vec(), headers, body_start, has_body }
    }

    /// The whole message as given.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The body (after the empty line).
    pub fn body(&self) -> &[u8] {
        &self.raw[self.body_start..]
    }

    /// Whether the header is followed by an empty line (otherwise `body` tests see nothing).
    pub fn has_body(&self) -> bool {
        self.has_body
    }

    /// Size in octets (what `size` compares).
    pub fn size(&self) -> u64 {
        self.raw.len() as u64
    }

    /// Decoded values of every field named `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        header_values(&self.headers, name)
    }
}

/// Splits a header block into fields; returns them and the offset where the body starts.
pub fn split_header_block(raw: &[u8]) -> (Vec<HeaderField>, usize) {
    let mut headers: Vec<HeaderField> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..].iter().position(|&b| b == b'\n').map_or(raw.len(), |p| i + p + 1);
        let content = trim_eol(&raw[i..end]);
        if content.is_empty() {
            i = end;
            break;
        }
        if matches!(content[0], b' ' | b'\t') {
            if let Some(last) = headers.last_mut() {
                last.value.extend_from_slice(b"\n");
                last.value.extend_from_slice(content);
            }
        } else if let Some(colon) = content.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&content[..colon]).trim_end().to_owned();
            headers.push(HeaderField { name, value: content[colon + 1..].to_vec() });
        }
        i = end;
    }
    (headers, i.min(raw.len()))
}

/// Decoded values of every field named `name` in `headers`.
pub fn header_values(headers: &[HeaderField], name: &str) -> Vec<String> {
    headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).map(HeaderField::decoded).collect()
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn unfold(s: &str) -> String {
    s.replace("\r\n", "").replace('\n', "")
}

/// Unfolds and decodes RFC 2047 encoded words in a raw header value.
pub fn decode_value(raw: &[u8]) -> String {
    // Fast path for the common case: one line of plain ASCII with no encoded words.
    if raw.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t')
        && !raw.windows(2).any(|w| w == b"=?")
    {
        return String::from_utf8_lossy(raw).trim().to_owned();
    }
    let mut buf = raw.to_vec();
    buf.extend_from_slice(b"\n");
    match MessageStream::new(&buf).parse_unstructured() {
        HeaderValue::Text(t) => unfold(&t).trim().to_owned(),
        HeaderValue::TextList(l) => unfold(&l.join(" ")).trim().to_owned(),
        _ => String::new(),
    }
}

/// Parses the addresses of one raw header value (at most [`MAX_ADDRESSES_PER_HEADER`]).
/// A value that is no address list yields its trimmed text as one "address".
pub fn parse_addresses(raw: &[u8]) -> Vec<MailAddress> {
    let mut buf = raw.to_vec();
    buf.extend_from_slice(b"\n");
    let value = MessageStream::new(&buf).parse_address();
    let mut out = Vec::new();
    let mut push = |name: Option<&str>, addr: Option<&str>| {
        if out.len() < MAX_ADDRESSES_PER_HEADER
            && let Some(a) = addr
        {
            // RFC 5228 §2.7.4: invalid addresses are not matched by :localpart/:domain.
            let valid = a.is_ascii() && crate::address::parse_single(a).is_ok();
            out.push(MailAddress { name: name.map(str::to_owned), address: a.to_owned(), valid });
        }
    };
    match &value {
        HeaderValue::Address(Address::List(list)) => {
            for a in list {
                push(a.name.as_deref(), a.address.as_deref());
            }
        }
        HeaderValue::Address(Address::Group(groups)) => {
            for g in groups {
                for a in &g.addresses {
                    push(a.name.as_deref(), a.address.as_deref());
                }
            }
        }
        _ => {}
    }
    if out.is_empty() || out.iter().any(|a| !a.valid) {
        // Pigeonhole tests a field that is not a valid address list as one value (its whole
        // text), visible to `:all` only.
        return vec![MailAddress { name: None, address: decode_value(raw), valid: false }];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: \"Al\" <al@example.org>, bo@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nX-Empty:\r\n\r\nbody\r\n";

    #[test]
    fn headers_are_split_unfolded_and_decoded() {
        let m = MessageView::parse(MSG);
        assert_eq!(m.headers.len(), 3);
        assert_eq!(m.header_values("subject"), vec!["café folded".to_owned()]);
        assert_eq!(m.header_values("x-empty"), vec![String::new()]);
        assert_eq!(m.body(), b"body\r\n");
        assert_eq!(m.size(), MSG.len() as u64);
    }

    #[test]
    fn address_lists() {
        let m = MessageView::parse(MSG);
        let a = parse_addresses(&m.headers[0].value);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].address, "al@example.org");
        assert_eq!(a[0].name.as_deref(), Some("Al"));
        assert_eq!(a[1].address, "bo@example.net");
    }

    #[test]
    fn address_count_is_limited() {
        let many: Vec<String> = (0..300).map(|i| format!("u{i}@x.org")).collect();
        let a = parse_addresses(many.join(", ").as_bytes());
        assert_eq!(a.len(), MAX_ADDRESSES_PER_HEADER);
    }
}
