//! Text helpers with Dovecot's exact output: `str_sanitize()`, RFC 2047 header encoding, header
//! folding as Pigeonhole writes it, and the RFC 5322 date.
//!
//! Behaviour mirrors dovecot/core@2.3.19.1 `src/lib/str-sanitize.c`,
//! `src/lib-mail/message-header-encode.c`, `src/lib-mail/message-date.c` and
//! pigeonhole@0.5.19 `src/lib-sieve/util/rfc2822.c`, verified against captured mails.

use chrono::{DateTime, TimeZone};

/// Longest header line Pigeonhole writes before folding at a blank.
const FOLD_LIMIT: usize = 80;
/// Longest line of RFC 2047 encoded words Dovecot produces.
const ENCODED_LINE_MAX: usize = 76;
/// Length of the `=?utf-8?q?` + `?=` wrapper.
const ENCODED_WRAPPER_LEN: usize = 12;

/// Dovecot's `str_sanitize(s, max_bytes)`: control characters (< 0x20) and every byte of
/// invalid UTF-8 become `?`; a result longer than `max_bytes` is cut at a character boundary and
/// ends in `...` so that it is at most `max_bytes` long.
pub fn str_sanitize(input: &[u8], max_bytes: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_bytes));
    let mut rest = input;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                push_replacing_controls(&mut out, valid);
                rest = &[];
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                push_replacing_controls(&mut out, std::str::from_utf8(valid).unwrap_or(""));
                out.push('?');
                rest = &after[1..];
            }
        }
    }
    if out.len() <= max_bytes {
        return out;
    }
    let mut cut = max_bytes.saturating_sub(3);
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out.push_str("...");
    out
}

fn push_replacing_controls(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if (c as u32) < 0x20 { '?' } else { c }));
}

/// Pigeonhole's subject sanitising: C0 control characters and invalid UTF-8 become U+FFFD, and a
/// text longer than `max_codepoints` characters is cut so that, with a final `…`, it is exactly
/// `max_codepoints` long. `max_codepoints == 0` means no limit.
pub fn sanitize_utf8_codepoints(input: &[u8], max_codepoints: usize) -> String {
    let lossy = String::from_utf8_lossy(input);
    // Only C0 controls are replaced: DEL and C1 controls stay (observed: U+007F, U+0085 kept).
    let clean: String =
        lossy.chars().map(|c| if (c as u32) < 0x20 { '\u{fffd}' } else { c }).collect();
    if max_codepoints == 0 || clean.chars().count() <= max_codepoints {
        return clean;
    }
    let mut out: String = clean.chars().take(max_codepoints - 1).collect();
    out.push('\u{2026}');
    out
}

/// RFC 5322 date as Dovecot's `message_date_create()` writes it (day of month with two digits,
/// numeric zone), e.g. `Wed, 05 Nov 2026 16:16:48 +0000`.
pub fn rfc5322_date<Tz: TimeZone>(now: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    now.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

fn is_lwsp(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n'
}

/// Whether the byte at `i` forces RFC 2047 encoding (Dovecot's rules: 8-bit bytes, control
/// characters other than TAB and proper folds, and `=?` at the start of a word).
fn needs_encoding(input: &[u8], i: usize) -> bool {
    let b = input[i];
    match b {
        b'\r' => input.get(i + 1) != Some(&b'\n') || lf_needs_encoding(input, i + 1),
        b'\n' => lf_needs_encoding(input, i),
        b'\t' => false,
        b'=' => (i == 0 || is_lwsp(input[i - 1])) && input.get(i + 1) == Some(&b'?'),
        _ => !(0x20..0x80).contains(&b),
    }
}

fn lf_needs_encoding(input: &[u8], i: usize) -> bool {
    !matches!(input.get(i + 1), Some(b' ' | b'\t'))
}

/// Encodes UTF-8 header text the way Dovecot's `message_header_encode()` does: only the span
/// from the first to the last word that needs it is encoded, with Q unless B is clearly
/// shorter; encoded words are split so that lines stay within 76 characters (joined by
/// `"\n\t"`, which the header writer turns into a fold).
pub fn header_encode(input: &str) -> String {
    let mut out = Vec::with_capacity(input.len() * 2);
    encode_data(input.as_bytes(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_data(input: &[u8], out: &mut Vec<u8>) {
    let Some(mut first) = (0..input.len()).find(|&i| needs_encoding(input, i)) else {
        out.extend_from_slice(input);
        return;
    };
    if input[first] != b'\r' && input[first] != b'\n' {
        while first > 0 && !is_lwsp(input[first - 1]) {
            first -= 1;
        }
    }
    out.extend_from_slice(&input[..first]);
    let line_start = input[..first].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let first_line_len = if line_start != 0 { line_start } else { first };
    let input = &input[first..];
    let (line, next) = match input.iter().position(|&b| b == b'\n') {
        Some(lf) if lf > 0 && input[lf - 1] == b'\r' => (&input[..lf - 1], Some(&input[lf - 1..])),
        Some(lf) => (&input[..lf], Some(&input[lf..])),
        None => (input, None),
    };
    encode_line(line, first_line_len, out);
    if let Some(next) = next {
        encode_after_newline(next, out);
    }
}

fn encode_line(line: &[u8], first_line_len: usize, out: &mut Vec<u8>) {
    let mut last = 0;
    let mut enc_chars = 0;
    for i in 0..line.len() {
        if needs_encoding(line, i) {
            last = i + 1;
            enc_chars += 1;
        }
    }
    while last < line.len() && !is_lwsp(line[last]) {
        last += 1;
    }
    let base64_len = last.div_ceil(3) * 4;
    let q_len = last + enc_chars * 3;
    if last > 0 {
        if q_len * 2 / 3 <= base64_len {
            encode_q(&line[..last], first_line_len, out);
        } else {
            encode_b(&line[..last], first_line_len, out);
        }
    }
    out.extend_from_slice(&line[last..]);
}

fn encode_after_newline(next: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    let cr = next[0] == b'\r';
    if cr {
        i += 1;
    }
    i += 1; // the LF
    if i == next.len() {
        return; // a trailing line break is dropped
    }
    if cr {
        out.push(b'\r');
    }
    out.push(b'\n');
    if next[i] == b' ' || next[i] == b'\t' {
        out.push(next[i]);
        i += 1;
    } else {
        out.push(b'\t');
    }
    encode_data(&next[i..], out);
}

fn encode_q(input: &[u8], first_line_len: usize, out: &mut Vec<u8>) {
    let mut left = ENCODED_LINE_MAX - ENCODED_WRAPPER_LEN;
    if first_line_len >= ENCODED_LINE_MAX - ENCODED_WRAPPER_LEN - 3 {
        out.extend_from_slice(b"\n\t");
        left -= 1;
    } else {
        left -= first_line_len;
    }
    out.extend_from_slice(b"=?utf-8?q?");
    let mut rest = input;
    let mut in_invalid = false;
    while !rest.is_empty() {
        let (n_in, piece, invalid) = q_piece(rest, in_invalid);
        in_invalid = invalid;
        if left < piece.len() {
            out.extend_from_slice(b"?=\n\t=?utf-8?q?");
            left = ENCODED_LINE_MAX - ENCODED_WRAPPER_LEN - 1;
        }
        out.extend_from_slice(&piece);
        left -= piece.len();
        rest = &rest[n_in..];
    }
    out.extend_from_slice(b"?=");
}

/// One input character of Q encoding: (bytes consumed, bytes written, was invalid UTF-8).
fn q_piece(rest: &[u8], in_invalid: bool) -> (usize, Vec<u8>, bool) {
    let hex = |bytes: &[u8]| bytes.iter().flat_map(|b| format!("={b:02X}").into_bytes()).collect();
    match rest[0] {
        b' ' => (1, b"_".to_vec(), false),
        b'=' | b'?' | b'_' => (1, hex(&rest[..1]), false),
        b if b < 0x80 => {
            if !(0x20..=0x7e).contains(&b) {
                (1, hex(&rest[..1]), false)
            } else {
                (1, vec![b], false)
            }
        }
        _ => match utf8_char_len(rest) {
            Some(n) => (n, hex(&rest[..n]), false),
            None if in_invalid => (1, Vec::new(), true),
            None => (1, hex("\u{fffd}".as_bytes()), true),
        },
    }
}

fn utf8_char_len(bytes: &[u8]) -> Option<usize> {
    let n = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let candidate = bytes.get(..n)?;
    std::str::from_utf8(candidate).ok().map(|_| n)
}

fn encode_b(input: &[u8], first_line_len: usize, out: &mut Vec<u8>) {
    let mut line_len = first_line_len;
    if line_len >= ENCODED_LINE_MAX - ENCODED_WRAPPER_LEN {
        out.extend_from_slice(b"\n\t");
        line_len = 1;
    }
    let mut rest = input;
    loop {
        let left = ENCODED_LINE_MAX.saturating_sub(ENCODED_WRAPPER_LEN + line_len);
        // Dovecot's MAX_BASE64_DECODED_SIZE(left) is `left / 4 * 3 + 3`; the loop below then
        // shrinks it to what fits on the line, ending at a character boundary.
        let mut max = left / 4 * 3 + 3;
        loop {
            max = max.saturating_sub(1);
            if max > rest.len() {
                max = rest.len();
            } else {
                while max > 0 && (rest[max] & 0xc0) == 0x80 {
                    max -= 1;
                }
            }
            if max.div_ceil(3) * 4 <= left || max == 0 {
                break;
            }
        }
        if max > 0 {
            out.extend_from_slice(b"=?utf-8?b?");
            out.extend_from_slice(base64(&rest[..max]).as_bytes());
            out.extend_from_slice(b"?=");
        }
        rest = &rest[max..];
        if rest.is_empty() {
            break;
        }
        out.extend_from_slice(b"\n\t");
        line_len = 1;
    }
}

/// Standard base64 with padding (RFC 4648), for `B` encoded words.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes `name: body` with CRLF line ends, folded as Pigeonhole does: a line is broken at the
/// start of the last run of blanks once it reaches 80 characters (the run is replaced by
/// CRLF TAB; words longer than a line are never split), and existing line breaks in `body`
/// become CRLF followed by one TAB (trailing blanks before them and leading blanks after them
/// are dropped).
pub fn fold_header(name: &str, body: &str) -> String {
    let body = body.as_bytes();
    let mut out = Vec::with_capacity(name.len() + body.len() + 8);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    let mut line_len = name.len() + 2;
    let (mut sp, mut bp) = (0usize, 0usize);
    while bp < body.len() {
        let (mut blank, mut newline) = (None, None);
        let mut after_blank = false;
        while bp < body.len() && (blank.is_none() || line_len < FOLD_LIMIT) {
            match body[bp] {
                b' ' | b'\t' => {
                    if !after_blank {
                        blank = Some(bp);
                    }
                    after_blank = true;
                }
                b'\r' | b'\n' => {
                    newline = Some(if after_blank { blank.unwrap_or(bp) } else { bp });
                    break;
                }
                _ => after_blank = false,
            }
            bp += 1;
            line_len += 1;
        }
        if bp >= body.len() {
            break;
        }
        let cut = newline.or(blank).unwrap_or(bp);
        out.extend_from_slice(&body[sp..cut]);
        out.extend_from_slice(b"\r\n");
        let mut next = if newline.is_some() { bp } else { cut };
        while next < body.len() && matches!(body[next], b' ' | b'\t' | b'\r' | b'\n') {
            next += 1;
        }
        if next < body.len() {
            out.push(b'\t');
        }
        sp = next;
        bp = bp.max(sp);
        line_len = bp - sp;
    }
    if sp < body.len() {
        out.extend_from_slice(&body[sp..]);
        out.extend_from_slice(b"\r\n");
    } else if out.ends_with(b": ") || !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_controls_and_invalid_bytes() {
        assert_eq!(
            str_sanitize(b"rejectme\n folded\tpart \x7f\xff\xc3 end", 80),
            "rejectme? folded?part \x7f?? end"
        );
    }

    #[test]
    fn sanitize_truncates_at_char_boundary_with_dots() {
        let long = format!("rejectme {}", "\u{e9}".repeat(40));
        let s = str_sanitize(long.as_bytes(), 80);
        assert_eq!(s, format!("rejectme {}...", "\u{e9}".repeat(34)));
        assert_eq!(s.len(), 80);
        let exact = "x".repeat(80);
        assert_eq!(str_sanitize(exact.as_bytes(), 80), exact);
    }

    #[test]
    fn header_encode_matches_observed_pigeonhole_subjects() {
        assert_eq!(header_encode("Away: \u{fc}n\u{ef}code"), "Away: =?utf-8?b?w7xuw69jb2Rl?=");
        assert_eq!(
            header_encode("Auto: caf\u{e9} and Gr\u{fc}\u{df}e \u{fffd}x"),
            "Auto: =?utf-8?q?caf=C3=A9_and_Gr=C3=BC=C3=9Fe_=EF=BF=BDx?="
        );
        assert_eq!(header_encode("plain ascii"), "plain ascii");
    }

    #[test]
    fn header_encode_breaks_before_a_late_encoded_word() {
        let prefix = "a ".repeat(40);
        let enc = header_encode(&format!("{prefix}lo\u{2026}"));
        assert_eq!(enc, format!("{prefix}\n\t=?utf-8?b?bG/igKY=?="));
    }

    #[test]
    fn fold_breaks_at_blank_runs_and_keeps_words() {
        let body = "long subject ".repeat(5) + "and more words to cross the limit of eighty";
        let folded = fold_header("Subject", &body);
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 80, "{line:?}");
        }
        assert!(folded.contains("\r\n\t"));
        assert_eq!(folded.replace("\r\n\t", " ").trim_end(), format!("Subject: {body}"));
    }

    #[test]
    fn fold_turns_existing_newlines_into_crlf_tab() {
        assert_eq!(
            fold_header("References", "<m0@x>\n <m1@x> <m2@x>"),
            "References: <m0@x>\r\n\t<m1@x> <m2@x>\r\n"
        );
        assert_eq!(fold_header("X", "a  \n\n  b\n"), "X: a\r\n\tb\r\n");
        assert_eq!(fold_header("X", ""), "X: \r\n");
    }

    #[test]
    fn fold_does_not_split_long_words() {
        let word = "w".repeat(100);
        assert_eq!(fold_header("X", &format!("{word} b")), format!("X: {word}\r\n\tb\r\n"));
    }

    #[test]
    fn utf8_codepoint_sanitize_and_cut() {
        assert_eq!(sanitize_utf8_codepoints(b"a\x01b\xff", 0), "a\u{fffd}b\u{fffd}");
        assert_eq!(
            sanitize_utf8_codepoints("\u{7f}\u{85}\t".as_bytes(), 0),
            "\u{7f}\u{85}\u{fffd}"
        );
        assert_eq!(sanitize_utf8_codepoints(b"abcdef", 4), "abc\u{2026}");
        assert_eq!(sanitize_utf8_codepoints(b"abcd", 4), "abcd");
    }

    #[test]
    fn date_has_two_digit_day() {
        let t = chrono::FixedOffset::east_opt(-5 * 3600)
            .and_then(|z| z.with_ymd_and_hms(2026, 11, 5, 7, 8, 9).single());
        assert_eq!(t.map(|t| rfc5322_date(&t)).as_deref(), Some("Thu, 05 Nov 2026 07:08:09 -0500"));
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b"lo\xe2\x80\xa6"), "bG/igKY=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }
}
