//! The message as it is written into an mbox (mbox.md §3.3–3.4, mbox-save.c; all observed
//! with dovecot-lda 2.3.19): the original header without the status headers Dovecot owns,
//! then Dovecot's own block (`Status`, `X-Status`, a space-padded `X-Keywords` whose tail
//! later becomes `Content-Length`), the blank line, the body unchanged (no `>From`
//! quoting) with a final `\n` guaranteed, and one empty line that separates it from the
//! next message.
//!
//! Not written: `X-IMAPbase` and `X-UID`. Their values live in Dovecot's mbox index, which
//! letterbox does not maintain; Dovecot gives such messages UIDs at its next sync and writes
//! both headers into the padding reserved here, without moving any data.

use std::io::{self, BufRead, Write};

use crate::mailbox::MailFlags;

/// Header fields dropped from incoming mail, lowercase (with their continuation lines).
const DROPPED_FIELDS: &[&str] = &[
    "content-length",
    "status",
    "x-delivery-id",
    "x-imap",
    "x-imapbase",
    "x-keywords",
    "x-status",
    "x-uid",
];

/// Spaces reserved after the keyword list: 50 spare bytes + 1 + room for
/// `\nContent-Length: ` (17) and a 64-bit decimal (23).
const KEYWORDS_PADDING: usize = 91;

/// `\nContent-Length: `, written over the end of the padding once the body size is known.
const CONTENT_LENGTH_PREFIX: &[u8] = b"\nContent-Length: ";

/// Where the written message needs its `Content-Length` patched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Bytes written in total (header, block, body, separator).
    pub total: u64,
    /// Offset (from the start of the write) of the `\n` that ends the padded keywords line.
    pub keywords_line_end: u64,
    /// Body bytes as written, the `Content-Length` value.
    pub body_len: u64,
}

impl Written {
    /// The bytes to write at [`Written::patch_offset`]: `\nContent-Length: <n>`.
    pub(crate) fn content_length_patch(&self) -> Vec<u8> {
        let mut patch = CONTENT_LENGTH_PREFIX.to_vec();
        patch.extend_from_slice(self.body_len.to_string().as_bytes());
        patch
    }

    /// Offset (from the start of the write) where the patch goes: it ends right before the
    /// keywords line's `\n`, so that `\n` now ends the `Content-Length` line.
    pub(crate) fn patch_offset(&self) -> u64 {
        self.keywords_line_end - self.content_length_patch().len() as u64
    }
}

/// Copies the message from `input` to `out` in mbox form (without the From_ line).
/// `keywords` must already be valid IMAP keywords.
pub(crate) fn write_message(
    input: &mut impl BufRead,
    out: &mut impl Write,
    flags: &MailFlags,
    keywords: &[String],
) -> io::Result<Written> {
    let (header_len, input_empty) = copy_header(input, out)?;
    let block = dovecot_block(flags, keywords);
    out.write_all(&block)?;
    let keywords_line_end = (header_len + block.len() - 2) as u64;
    let (mut body_len, last) = copy_body(input, out)?;
    if !input_empty && last != Some(b'\n') {
        out.write_all(b"\n")?;
        body_len += 1;
    }
    out.write_all(b"\n")?;
    Ok(Written {
        total: (header_len + block.len()) as u64 + body_len + 1,
        keywords_line_end,
        body_len,
    })
}

/// Copies header lines up to and including the blank line that ends the header (which is
/// not written: the block supplies it), dropping Dovecot's own fields and `\r` before `\n`.
/// Returns the bytes written and whether the input was completely empty.
fn copy_header(input: &mut impl BufRead, out: &mut impl Write) -> io::Result<(usize, bool)> {
    let mut line = Vec::new();
    let mut written = 0;
    let mut dropping = false;
    let mut first = true;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok((written, first));
        }
        first = false;
        if line == b"\n" || line == b"\r\n" {
            return Ok((written, false));
        }
        let continuation = line[0] == b' ' || line[0] == b'\t';
        if !continuation {
            dropping = is_dropped_field(&line);
        }
        if dropping {
            continue;
        }
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            line.push(b'\n');
        } else if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        out.write_all(&line)?;
        written += line.len();
    }
}

fn is_dropped_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    let name = line[..colon].trim_ascii_end();
    DROPPED_FIELDS.iter().any(|field| name.eq_ignore_ascii_case(field.as_bytes()))
}

/// `Status`, `X-Status`, the padded `X-Keywords` line and the blank line ending the header.
fn dovecot_block(flags: &MailFlags, keywords: &[String]) -> Vec<u8> {
    let mut block = b"Status: ".to_vec();
    if flags.seen {
        block.push(b'R');
    }
    // A delivered message is \Recent, so `O` is never written.
    block.push(b'\n');
    let x_status: Vec<u8> =
        [(flags.answered, b'A'), (flags.flagged, b'F'), (flags.draft, b'T'), (flags.deleted, b'D')]
            .iter()
            .filter_map(|&(set, letter)| set.then_some(letter))
            .collect();
    if !x_status.is_empty() {
        block.extend_from_slice(b"X-Status: ");
        block.extend_from_slice(&x_status);
        block.push(b'\n');
    }
    block.extend_from_slice(b"X-Keywords:");
    for keyword in keywords {
        block.push(b' ');
        block.extend_from_slice(keyword.as_bytes());
    }
    block.extend(std::iter::repeat_n(b' ', KEYWORDS_PADDING));
    block.extend_from_slice(b"\n\n");
    block
}

/// Copies the rest of `input`; returns its length and last byte.
fn copy_body(input: &mut impl BufRead, out: &mut impl Write) -> io::Result<(u64, Option<u8>)> {
    let mut len = 0u64;
    let mut last = None;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok((len, last));
        }
        out.write_all(chunk)?;
        last = chunk.last().copied();
        let n = chunk.len();
        len += n as u64;
        input.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message as it ends up in the file, with the Content-Length patch applied.
    fn render(input: &[u8], flags: MailFlags, keywords: &[&str]) -> String {
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        let mut out = Vec::new();
        let written = write_message(&mut &input[..], &mut out, &flags, &keywords).unwrap();
        assert_eq!(written.total, out.len() as u64);
        let at = written.patch_offset() as usize;
        let patch = written.content_length_patch();
        assert!(out[at..at + patch.len()].iter().all(|&b| b == b' '));
        out[at..at + patch.len()].copy_from_slice(&patch);
        String::from_utf8(out).unwrap()
    }

    fn pad(n: usize) -> String {
        " ".repeat(n)
    }

    #[test]
    fn plain_message() {
        let got = render(b"Subject: x\n\nbody\n", MailFlags::default(), &[]);
        let want =
            format!("Subject: x\nStatus: \nX-Keywords:{}\nContent-Length: 5\n\nbody\n\n", pad(73));
        assert_eq!(got, want);
    }

    #[test]
    fn dovecot_fields_are_dropped_with_continuations() {
        let input = b"Subject: x\nX-Keywords: junk\n  cont\nContent-Length: 5\nFrom bad\n\
            X-Status: A\nX-Delivery-ID: 1\nstatus : RO\nX-UID: 7\nX-IMAP: 1\nX-IMAPbase: 3 4\n\
            Subject2: y\n\nbody\n";
        let got = render(input, MailFlags::default(), &[]);
        assert!(got.starts_with("Subject: x\nFrom bad\nSubject2: y\nStatus: \n"), "{got}");
        assert!(!got.contains("junk") && !got.contains("cont\n") && !got.contains("X-UID"));
    }

    #[test]
    fn final_newline_rules() {
        // Observed: empty input → Content-Length 0; otherwise an empty or unterminated body
        // gets a `\n`, counted in Content-Length.
        let cases: &[(&[u8], &str)] = &[
            (b"", "0\n\n\n"),
            (b"Subject: x", "1\n\n\n\n"),
            (b"Subject: x\n", "1\n\n\n\n"),
            (b"Subject: x\n\n", "1\n\n\n\n"),
            (b"Subject: x\n\nbody", "5\n\nbody\n\n"),
            (b"\n", "1\n\n\n\n"),
            (b"\n\n", "1\n\n\n\n"),
            (b"\nx", "2\n\nx\n\n"),
            (b"S: x\n\nbody\n\n", "6\n\nbody\n\n\n"),
        ];
        for (input, tail) in cases {
            let got = render(input, MailFlags::default(), &[]);
            let (_, after) = got.split_once("Content-Length: ").unwrap();
            assert_eq!(after, *tail, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn body_is_not_escaped() {
        let got = render(b"S: x\n\nFrom a\n>From b\n\nFrom c\n", MailFlags::default(), &[]);
        assert!(got.ends_with("Content-Length: 23\n\nFrom a\n>From b\n\nFrom c\n\n"), "{got}");
    }

    #[test]
    fn flags_and_keywords() {
        let all =
            MailFlags { seen: true, answered: true, flagged: true, draft: true, deleted: true };
        let got = render(b"Subject: a\n\nx\n", all, &["$Label1", "Work"]);
        let want = format!(
            "Subject: a\nStatus: R\nX-Status: AFTD\nX-Keywords: $Label1 Work{}\n\
             Content-Length: 2\n\nx\n\n",
            pad(73)
        );
        assert_eq!(got, want);
    }

    #[test]
    fn crlf_header_lines_lose_their_cr() {
        let got = render(b"S: x\r\n\r\nb\r\n", MailFlags::default(), &[]);
        assert!(got.starts_with("S: x\nStatus: "), "{got:?}");
        assert!(got.ends_with("Content-Length: 3\n\nb\r\n\n"), "{got:?}");
    }
}
