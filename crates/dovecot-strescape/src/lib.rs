//! Dovecot's tab-escaping, as its `str_tabescape()`/`str_tabunescape()` do: the bytes that
//! would break a TAB-separated, line-based format are written as `\x01` plus a letter
//! (0x01 → `\x01 1`, TAB → `\x01 t`, CR → `\x01 r`, LF → `\x01 n`, NUL → `\x01 0`).
//!
//! Used by the auth-master protocol (`user-lookup`) and the `subscriptions` file
//! (`dovecot-index`), which must agree byte for byte with Dovecot. Pure functions, no I/O.

/// The escape letter for `b`, if `b` must be escaped.
fn escape_letter(b: u8) -> Option<u8> {
    match b {
        0x01 => Some(b'1'),
        b'\t' => Some(b't'),
        b'\r' => Some(b'r'),
        b'\n' => Some(b'n'),
        0 => Some(b'0'),
        _ => None,
    }
}

/// Appends `input` tab-escaped to `out`.
pub fn tab_escape_into(input: &[u8], out: &mut Vec<u8>) {
    for &b in input {
        match escape_letter(b) {
            Some(letter) => out.extend_from_slice(&[0x01, letter]),
            None => out.push(b),
        }
    }
}

/// `value` tab-escaped (the escaped bytes are all ASCII, so the result stays UTF-8).
pub fn tab_escape(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len());
    tab_escape_into(value.as_bytes(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Reverses [`tab_escape_into`]: `\x01` followed by any other byte yields that byte, and a
/// trailing lone `\x01` is dropped.
pub fn tab_unescape(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        if b != 0x01 {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'1') => out.push(0x01),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'0') => out.push(0),
            Some(&other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_covers_every_special_byte() {
        let raw = "a\x01b\tc\rd\ne\0f=g";
        let escaped = tab_escape(raw);
        assert_eq!(escaped, "a\x011b\x01tc\x01rd\x01ne\x010f=g");
        assert!(!escaped.contains(['\t', '\n', '\r', '\0']));
        assert_eq!(tab_unescape(escaped.as_bytes()), raw.as_bytes());
    }

    #[test]
    fn unknown_escapes_pass_and_a_trailing_marker_is_dropped() {
        assert_eq!(tab_unescape(b"\x01xy\x01"), b"xy");
    }

    #[test]
    fn non_ascii_is_kept() {
        assert_eq!(tab_escape("Entwürfe\t"), "Entwürfe\x01t");
    }
}
