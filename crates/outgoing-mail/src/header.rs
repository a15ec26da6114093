//! Raw access to the header block of a message, byte for byte.
//!
//! Dovecot reads header values "raw": leading blanks after the colon are skipped, folded lines
//! keep their LF and leading whitespace (the CR of a CRLF is dropped), nothing is decoded. The
//! rejection mails quote those raw values (`%s`, `Original-Message-ID`, `Original-Recipient`) and
//! copy the raw header lines, so this module keeps every field's exact bytes.

/// One header field of a message as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawField<'a> {
    /// The field name (bytes before the colon, trailing blanks removed); the whole line when it
    /// has no colon.
    pub name: &'a [u8],
    /// The field's bytes from the start of its name to the end of its last line, line ending
    /// included (if the message had one).
    pub raw: &'a [u8],
    /// Bytes after the colon up to (not including) the final line ending; empty without a colon.
    pub raw_value: &'a [u8],
}

impl RawField<'_> {
    /// Whether the field name equals `name`, ASCII case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value as Dovecot's `mail_get_first_header()` returns it: leading spaces and tabs
    /// skipped, CR of each fold removed, LF and continuation whitespace kept.
    pub fn value(&self) -> Vec<u8> {
        let v = self.raw_value;
        let start = v.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(v.len());
        let mut out = Vec::with_capacity(v.len() - start);
        let rest = &v[start..];
        for (i, &b) in rest.iter().enumerate() {
            if b == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                continue;
            }
            out.push(b);
        }
        out
    }

    /// The value with folding removed (CR and LF dropped, continuation whitespace kept), leading
    /// blanks skipped; this is what address and Message-ID parsing look at.
    pub fn unfolded(&self) -> Vec<u8> {
        self.value().into_iter().filter(|&b| b != b'\n' && b != b'\r').collect()
    }
}

/// The parsed header block of a message.
#[derive(Debug, Clone)]
pub struct HeaderBlock<'a> {
    /// All fields in message order.
    pub fields: Vec<RawField<'a>>,
    /// The empty line ending the header (`"\n"`, `"\r\n"`, or empty when the message ends
    /// inside its header).
    pub separator: &'a [u8],
    /// Offset of the first body byte (after the separator) in the message.
    pub body_offset: usize,
}

impl<'a> HeaderBlock<'a> {
    /// Splits `message` into header fields. Never fails: anything before the first empty line is
    /// header, and a line without a colon is a field whose name is the whole line.
    pub fn parse(message: &'a [u8]) -> Self {
        let mut fields: Vec<RawField<'a>> = Vec::new();
        let mut pos = 0;
        while pos < message.len() {
            let line_end = match message[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => pos + i + 1,
                None => message.len(),
            };
            let line = &message[pos..line_end];
            if line == b"\n" || line == b"\r\n" {
                return HeaderBlock { fields, separator: line, body_offset: line_end };
            }
            let continuation = matches!(line.first(), Some(b' ' | b'\t'));
            match fields.last_mut() {
                Some(last) if continuation => extend_field(message, last, line_end),
                _ => fields.push(new_field(message, pos, line_end)),
            }
            pos = line_end;
        }
        HeaderBlock { fields, separator: &message[message.len()..], body_offset: message.len() }
    }

    /// The first field called `name` (case-insensitive).
    pub fn first(&self, name: &str) -> Option<&RawField<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// The first field's raw value (see [`RawField::value`]).
    pub fn first_value(&self, name: &str) -> Option<Vec<u8>> {
        self.first(name).map(RawField::value)
    }

    /// All fields called `name`, in order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s RawField<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }
}

/// The first `<msg-id>` of a `Message-ID` value, as Dovecot's `message_id_get_next()` finds it:
/// comments and text before the first `<` are skipped; inside the brackets blanks, folds and
/// comments are dropped and quoted strings unquoted (`<"q x"@y>` → `<q x@y>`, `<a b@x>` →
/// `<ab@x>`, observed). `None` when there is no bracketed id (`bare@x` gives none, observed).
pub fn parse_msg_id(value: &[u8]) -> Option<String> {
    let mut i = 0;
    let mut depth = 0usize;
    while i < value.len() {
        match value[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'<' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let mut out = vec![b'<'];
    i += 1;
    let (mut depth, mut quoted) = (0usize, false);
    while i < value.len() {
        let b = value[i];
        match (b, quoted, depth) {
            (b'\\', true, _) => {
                i += 1;
                out.extend(value.get(i));
            }
            (b'"', _, 0) => quoted = !quoted,
            (_, true, _) => out.push(b),
            (b'(', false, _) => depth += 1,
            (b')', false, _) => depth = depth.saturating_sub(1),
            (_, false, 1..) => {}
            (b' ' | b'\t' | b'\r' | b'\n', false, 0) => {}
            (b'>', false, 0) => {
                out.push(b'>');
                return (out.len() > 2).then(|| String::from_utf8_lossy(&out).into_owned());
            }
            _ => out.push(b),
        }
        i += 1;
    }
    None
}

fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn new_field(message: &[u8], start: usize, end: usize) -> RawField<'_> {
    let raw = &message[start..end];
    let content = strip_line_ending(raw);
    match content.iter().position(|&b| b == b':') {
        Some(colon) => {
            let mut name = &content[..colon];
            while let Some(n) = name.strip_suffix(b" ").or_else(|| name.strip_suffix(b"\t")) {
                name = n;
            }
            RawField { name, raw, raw_value: &content[colon + 1..] }
        }
        None => RawField { name: content, raw, raw_value: &content[content.len()..] },
    }
}

fn extend_field<'a>(message: &'a [u8], field: &mut RawField<'a>, end: usize) {
    let start = field.raw.as_ptr() as usize - message.as_ptr() as usize;
    field.raw = &message[start..end];
    let content = strip_line_ending(field.raw);
    if let Some(colon) = content.iter().position(|&b| b == b':') {
        field.raw_value = &content[colon + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_values_keep_lf_and_drop_cr() {
        let msg = b"Subject:  one\r\n\ttwo\r\nX-A:b\r\n\r\nbody";
        let h = HeaderBlock::parse(msg);
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.first_value("subject").unwrap(), b"one\n\ttwo");
        assert_eq!(h.first("SUBJECT").unwrap().raw, b"Subject:  one\r\n\ttwo\r\n");
        assert_eq!(h.first("subject").unwrap().unfolded(), b"one\ttwo");
        assert_eq!(h.first_value("x-a").unwrap(), b"b");
        assert_eq!(h.separator, b"\r\n");
        assert_eq!(&msg[h.body_offset..], b"body");
    }

    #[test]
    fn lines_without_colon_and_header_only_messages() {
        let msg = b"From: a\nnocolon\nSubject: x";
        let h = HeaderBlock::parse(msg);
        assert_eq!(h.fields.len(), 3);
        assert_eq!(h.fields[1].name, b"nocolon");
        assert_eq!(h.fields[1].value(), b"");
        assert_eq!(h.fields[2].raw, b"Subject: x");
        assert_eq!(h.separator, b"");
        assert_eq!(h.body_offset, msg.len());
    }

    #[test]
    fn trailing_blanks_are_kept_and_name_blanks_trimmed() {
        let h = HeaderBlock::parse(b"Original-Recipient :  rfc822; o@x  \n\n");
        assert_eq!(h.first_value("original-recipient").unwrap(), b"rfc822; o@x  ");
        assert_eq!(h.all("Original-Recipient").count(), 1);
    }

    #[test]
    fn msg_id_parsing_as_observed() {
        let p = |v: &[u8]| parse_msg_id(v);
        assert_eq!(p(b"<a b@x> (c)").as_deref(), Some("<ab@x>"));
        assert_eq!(p(b"(c) <c1@x> <c2@x>").as_deref(), Some("<c1@x>"));
        assert_eq!(p(b"<\"q x\"@y>").as_deref(), Some("<q x@y>"));
        assert_eq!(p(b"\n <long.folded@x>").as_deref(), Some("<long.folded@x>"));
        assert_eq!(p(b"bare@x"), None);
        assert_eq!(p(b"<unterminated@x"), None);
        assert_eq!(p(b"<>"), None);
    }

    #[test]
    fn message_starting_with_empty_line_has_no_fields() {
        let h = HeaderBlock::parse(b"\nbody\n");
        assert!(h.fields.is_empty());
        assert_eq!(h.separator, b"\n");
        assert_eq!(h.body_offset, 1);
    }
}
