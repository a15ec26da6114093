//! What Dovecot's save path learns about a message while writing it, and caches:
//! header/body sizes (physical and "virtual" = CRLF-counted), body line count, NULs, the
//! header fields with their line numbers, and the `mime.parts` blob of a single-part
//! message (index-files.md §5.3; observed records of dovecot-lda 2.3.19).
//!
//! Deliberately limited: multipart and `message/*` bodies are not parsed, so for them
//! [`MessageSummary::mime_parts`] is `None` and the field is simply not cached (a cache
//! miss, never a wrong value). Header fields are not cached when a header line has no
//! colon or the header holds NULs, where Dovecot's own parser might see them differently.

/// `message_part` flags stored in `mime.parts`.
mod part_flag {
    pub const TEXT: u32 = 0x08;
    pub const HAS_NULS: u32 = 0x20;
    pub const IS_MIME: u32 = 0x40;
}

/// Bits of the `flags` cache field.
pub mod cache_flag {
    /// Header has CRLF line ends only (physical = virtual size).
    pub const BINARY_HEADER: u32 = 0x01;
    /// Body has CRLF line ends only (physical = virtual size).
    pub const BINARY_BODY: u32 = 0x02;
    /// Message contains NUL bytes.
    pub const HAS_NULS: u32 = 0x04;
    /// BODY is text/plain us-ascii 7bit with all other BODYSTRUCTURE fields NIL.
    pub const TEXT_PLAIN_7BIT_ASCII: u32 = 0x10;
    /// Message is known to contain no NUL bytes.
    pub const HAS_NO_NULS: u32 = 0x20;
}

/// One header field: its physical line number (1-based), name and raw lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderField {
    line: u32,
    name: Vec<u8>,
    start: usize,
    end: usize,
}

/// Sizes, header fields and flags of a saved message (the bytes as stored in the
/// Maildir file, i.e. after Dovecot's CRLF→LF conversion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSummary<'a> {
    raw: &'a [u8],
    header_len: usize,
    /// Header size including the blank line: (physical, virtual).
    pub header_size: (u64, u64),
    /// Body size: (physical, virtual).
    pub body_size: (u64, u64),
    /// Number of LFs in the body.
    pub body_lines: u32,
    /// Whether the message contains a NUL byte anywhere.
    pub has_nuls: bool,
    fields: Vec<HeaderField>,
    headers_cacheable: bool,
}

fn virtual_size(bytes: &[u8], prev: Option<u8>) -> u64 {
    let mut extra = 0u64;
    let mut last = prev;
    for &b in bytes {
        if b == b'\n' && last != Some(b'\r') {
            extra += 1;
        }
        last = Some(b);
    }
    bytes.len() as u64 + extra
}

fn field_name(line: &[u8]) -> Option<Vec<u8>> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let trimmed =
        name.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(&name[..0], |i| &name[..=i]);
    Some(trimmed.to_vec())
}

impl<'a> MessageSummary<'a> {
    /// Analyses a message as stored.
    pub fn new(raw: &'a [u8]) -> MessageSummary<'a> {
        let mut fields: Vec<HeaderField> = Vec::new();
        let mut cacheable = true;
        let mut pos = 0;
        let mut line_no = 0u32;
        let mut header_len = raw.len();
        while pos < raw.len() {
            let end =
                raw[pos..].iter().position(|&b| b == b'\n').map_or(raw.len(), |i| pos + i + 1);
            let line = &raw[pos..end];
            line_no += 1;
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if content.is_empty() && line.ends_with(b"\n") {
                header_len = end;
                break;
            }
            match (line[0], fields.last_mut()) {
                (b' ' | b'\t', Some(last)) => last.end = end,
                _ => match field_name(content) {
                    Some(name) => fields.push(HeaderField { line: line_no, name, start: pos, end }),
                    None => cacheable = false,
                },
            }
            pos = end;
        }
        let (header, body) = raw.split_at(header_len);
        MessageSummary {
            raw,
            header_len,
            header_size: (header.len() as u64, virtual_size(header, None)),
            body_size: (body.len() as u64, virtual_size(body, header.last().copied())),
            body_lines: body.iter().filter(|&&b| b == b'\n').count() as u32,
            has_nuls: raw.contains(&0),
            fields,
            headers_cacheable: cacheable && !header.contains(&0),
        }
    }

    fn find(&self, name: &str) -> impl Iterator<Item = &HeaderField> {
        self.fields.iter().filter(move |f| f.name.eq_ignore_ascii_case(name.as_bytes()))
    }

    fn value(&self, f: &HeaderField) -> &[u8] {
        let line = &self.raw[f.start..f.end];
        let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len().saturating_sub(1));
        &line[(colon + 1).min(line.len())..]
    }

    /// The `hdr.<name>` cache value: the line numbers of all fields called `name`
    /// (case-insensitive), a 0 terminator, then those fields' raw lines. A missing header
    /// gives an empty value, as Dovecot stores it. `None` when the header is not safely
    /// cacheable.
    pub fn header_cache_value(&self, name: &str) -> Option<Vec<u8>> {
        if !self.headers_cacheable {
            return None;
        }
        let found: Vec<&HeaderField> = self.find(name).collect();
        if found.is_empty() {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        for f in &found {
            out.extend_from_slice(&f.line.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        for f in &found {
            out.extend_from_slice(&self.raw[f.start..f.end]);
        }
        Some(out)
    }

    /// `message_part` flags of the single root part; `None` for multipart and `message/*`
    /// (or unparsable) content types, which this module does not analyse.
    fn root_part_flags(&self) -> Option<u32> {
        let mut flags = 0;
        if self.find("MIME-Version").next().is_some() {
            flags |= part_flag::IS_MIME;
        }
        let mut types = self.find("Content-Type");
        match types.next() {
            None => flags |= part_flag::TEXT,
            Some(f) => {
                if types.next().is_some() {
                    return None;
                }
                let value = String::from_utf8_lossy(self.value(f)).to_ascii_lowercase();
                let media = value.split(';').next().unwrap_or("").trim();
                let main = media.split('/').next().unwrap_or("").trim();
                if main != "text" {
                    return None;
                }
                flags |= part_flag::TEXT;
            }
        }
        if self.has_nuls {
            flags |= part_flag::HAS_NULS;
        }
        Some(flags)
    }

    /// The serialized `mime.parts` of a single-part text message: flags, header and body
    /// sizes (u64 physical, virtual) and the body line count.
    pub fn mime_parts(&self) -> Option<Vec<u8>> {
        let flags = self.root_part_flags()?;
        let mut out = Vec::with_capacity(40);
        out.extend_from_slice(&flags.to_le_bytes());
        for v in [self.header_size.0, self.header_size.1, self.body_size.0, self.body_size.1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.body_lines.to_le_bytes());
        Some(out)
    }

    /// The `flags` cache field value Dovecot computes after parsing the message.
    pub fn cache_flags(&self) -> u32 {
        let mut flags = if self.has_nuls { cache_flag::HAS_NULS } else { cache_flag::HAS_NO_NULS };
        if self.header_size.0 == self.header_size.1 {
            flags |= cache_flag::BINARY_HEADER;
        }
        if self.body_size.0 == self.body_size.1 {
            flags |= cache_flag::BINARY_BODY;
        }
        let content_headers = self
            .fields
            .iter()
            .any(|f| f.name.len() >= 8 && f.name[..8].eq_ignore_ascii_case(b"content-"));
        if !content_headers && self.headers_cacheable && self.mime_parts().is_some() {
            flags |= cache_flag::TEXT_PLAIN_7BIT_ASCII;
        }
        flags
    }

    /// Length of the header block (including the blank line).
    pub fn header_len(&self) -> usize {
        self.header_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_and_repeated_headers_use_physical_line_numbers() {
        let msg = b"Received: from a\n\tby b\nReceived: from c\nFrom: Folded\n <f@example.org>\nSubject: s1\nsubject: s2\n\nbody \xe9 8bit\n";
        let s = MessageSummary::new(msg);
        let subj = s.header_cache_value("Subject").unwrap();
        assert_eq!(&subj[..12], &[6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&subj[12..], b"Subject: s1\nsubject: s2\n");
        let from = s.header_cache_value("From").unwrap();
        assert_eq!(&from[..8], &[4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&from[8..], b"From: Folded\n <f@example.org>\n");
        assert_eq!(s.header_cache_value("Message-ID").unwrap(), Vec::<u8>::new());
        assert_eq!(s.header_size, (95, 103));
        assert_eq!(s.body_size, (12, 13));
        assert_eq!(s.cache_flags(), 0x30);
    }

    #[test]
    fn header_only_message_without_final_newline() {
        let s = MessageSummary::new(b"From: h@example.org\nSubject: headers only");
        assert_eq!(s.header_size, (41, 42));
        assert_eq!(s.body_size, (0, 0));
        assert_eq!(s.cache_flags(), 0x32);
        assert_eq!(&s.header_cache_value("Subject").unwrap()[8..], b"Subject: headers only");
    }

    #[test]
    fn multipart_is_not_analysed_but_flags_are() {
        let msg =
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\na\n--x--\n";
        let s = MessageSummary::new(msg);
        assert_eq!(s.mime_parts(), None);
        assert_eq!(s.cache_flags(), cache_flag::HAS_NO_NULS);
        let utf8 = MessageSummary::new(
            b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nx\n",
        );
        assert_eq!(utf8.mime_parts().unwrap()[..4], [0x48, 0, 0, 0]);
        assert_eq!(utf8.cache_flags(), cache_flag::HAS_NO_NULS);
    }

    #[test]
    fn nuls_change_both_flag_sets() {
        let s = MessageSummary::new(b"From: nul@example.org\nSubject: nul\n\nab\0cd\n");
        assert_eq!(s.cache_flags(), 0x14);
        assert_eq!(s.mime_parts().unwrap()[..4], [0x28, 0, 0, 0]);
    }
}
