//! Mailbox names: validation with Dovecot 2.3's rules and texts (mail-storage.c
//! `mailbox_verify_name`, mailbox-list.c `mailbox_list_is_valid_name`, all observed with
//! dovecot-lda 2.3.19), modified UTF-7 (RFC 3501 §5.1.3), and the mapping of a name inside
//! a namespace to its directory. Nothing accepted here can leave the mail root: no empty,
//! `.` or `..` level, no leading `~` or `/`, no control characters, no over-long level.

use crate::error::{ErrorKind, StorageError};
use crate::location::Layout;

/// Longest hierarchy level Dovecot accepts (bytes).
const MAX_LEVEL_LEN: usize = 255;
/// Longest directory entry name the filesystem accepts (NAME_MAX).
const NAME_MAX: usize = 255;

/// Checks a mailbox name relative to its namespace (prefix removed) and splits it into
/// levels at the namespace separator `ns_sep`. `for_create` adds the checks Dovecot only
/// makes when creating (control characters).
pub fn verify_name(
    name: &str,
    ns_sep: char,
    layout: Layout,
    for_create: bool,
) -> Result<Vec<String>, StorageError> {
    let list_sep = layout.separator();
    if ns_sep != list_sep && name.contains(list_sep) {
        return Err(StorageError::new(
            ErrorKind::InvalidName,
            format!("Character not allowed in mailbox name: '{list_sep}'"),
        ));
    }
    if name.starts_with(ns_sep) {
        return Err(StorageError::invalid_name("Begins with hierarchy separator"));
    }
    let levels: Vec<&str> = name.split(ns_sep).collect();
    if levels.len() > 1 && levels[..levels.len() - 1].iter().any(|l| l.is_empty()) {
        return Err(StorageError::invalid_name("Has adjacent hierarchy separators"));
    }
    if name.ends_with(ns_sep) {
        return Err(StorageError::invalid_name("Ends with hierarchy separator"));
    }
    if name.is_empty() {
        return Err(StorageError::invalid_name("Name is empty"));
    }
    if levels.iter().any(|l| l.len() > MAX_LEVEL_LEN) {
        return Err(StorageError::new(ErrorKind::InvalidName, "Mailbox name too long"));
    }
    if list_sep != '/' && levels.iter().any(|l| l.contains('/')) {
        return Err(StorageError::invalid_name("Name must not have '/' characters"));
    }
    if name.starts_with('~') {
        return Err(StorageError::invalid_name("Begins with '~'"));
    }
    for level in &levels {
        match *level {
            "." => return Err(StorageError::invalid_name("Contains '.' part")),
            ".." => return Err(StorageError::invalid_name("Contains '..' part")),
            "cur" | "new" | "tmp" if layout == Layout::Fs => {
                return Err(StorageError::invalid_name("Contains reserved name"));
            }
            _ => {}
        }
    }
    if for_create && name.chars().any(|c| (c as u32) < 0x20) {
        return Err(StorageError::new(
            ErrorKind::InvalidName,
            "Control characters not allowed in new mailbox names",
        ));
    }
    Ok(levels.into_iter().map(str::to_owned).collect())
}

/// The directory path (relative to the root) of a non-INBOX mailbox: `.a.b` for Maildir++,
/// `a/b` for the fs layout. Levels are encoded in modified UTF-7 unless `utf8`.
/// A component longer than NAME_MAX gives Dovecot's "Not found" (what its mkdir reports).
pub fn storage_dir(levels: &[String], layout: Layout, utf8: bool) -> Result<String, StorageError> {
    let encoded: Vec<String> =
        levels.iter().map(|l| if utf8 { l.clone() } else { mutf7_encode(l) }).collect();
    let dir = match layout {
        Layout::MaildirPlusPlus => format!(".{}", encoded.join(".")),
        Layout::Fs => encoded.join("/"),
    };
    if dir.split('/').any(|component| component.len() > NAME_MAX) {
        return Err(StorageError::new(ErrorKind::NotFound, "Not found"));
    }
    Ok(dir)
}

/// The levels as stored (encoded) for the subscriptions file.
pub fn storage_levels(levels: &[String], utf8: bool) -> Vec<Vec<u8>> {
    levels.iter().map(|l| if utf8 { l.clone() } else { mutf7_encode(l) }.into_bytes()).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Modified UTF-7 encoding of one name: printable ASCII stays, `&` becomes `&-`, every other
/// run of characters becomes `&<base64 of UTF-16BE>-` (with `,` for `/`, no padding).
pub fn mutf7_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in input.chars() {
        if (' '..='~').contains(&c) {
            flush_utf16(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush_utf16(&mut pending, &mut out);
    out
}

fn flush_utf16(pending: &mut Vec<u16>, out: &mut String) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        let count = chunk.len() + 1;
        for i in 0..count {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out.push('-');
    pending.clear();
}

/// Decodes modified UTF-7; `None` when the input is not valid mUTF-7.
pub fn mutf7_decode(input: &str) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after.find('-')?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            out.push_str(&decode_b64_utf16(encoded)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn decode_b64_utf16(encoded: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut bytes = Vec::new();
    for b in encoded.bytes() {
        let value = B64.iter().position(|&x| x == b)? as u32;
        bits = (bits << 6) | value;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(name: &str, sep: char, layout: Layout) -> String {
        verify_name(name, sep, layout, true).unwrap_err().public_message()
    }

    #[test]
    fn maildirplusplus_dot_separator_errors_match_dovecot() {
        let m = |n: &str| msg(n, '.', Layout::MaildirPlusPlus);
        assert_eq!(m(".a"), "Invalid mailbox name: Begins with hierarchy separator");
        assert_eq!(m("."), "Invalid mailbox name: Begins with hierarchy separator");
        assert_eq!(m(".."), "Invalid mailbox name: Begins with hierarchy separator");
        assert_eq!(m("a."), "Invalid mailbox name: Ends with hierarchy separator");
        assert_eq!(m("a..b"), "Invalid mailbox name: Has adjacent hierarchy separators");
        assert_eq!(m("a/../b"), "Invalid mailbox name: Has adjacent hierarchy separators");
        assert_eq!(m("/a"), "Invalid mailbox name: Name must not have '/' characters");
        assert_eq!(m("a/b"), "Invalid mailbox name: Name must not have '/' characters");
        assert_eq!(m("~a"), "Invalid mailbox name: Begins with '~'");
        assert_eq!(m("a\u{1}b"), "Control characters not allowed in new mailbox names");
        assert_eq!(m("a\tb"), "Control characters not allowed in new mailbox names");
        assert_eq!(m(&"x".repeat(256)), "Mailbox name too long");
        for ok in
            ["a.~b", "cur", "del\u{7f}", "&", "a*b", "a%b", "Entwürfe.Sub dir", &"x".repeat(254)]
        {
            assert!(verify_name(ok, '.', Layout::MaildirPlusPlus, true).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn control_chars_only_refused_at_create() {
        assert!(verify_name("a\u{1}", '/', Layout::Fs, false).is_ok());
    }

    #[test]
    fn slash_separator_errors_match_dovecot() {
        let m = |n: &str| msg(n, '/', Layout::MaildirPlusPlus);
        assert_eq!(m("a.b"), "Character not allowed in mailbox name: '.'");
        assert_eq!(m("x/../y"), "Character not allowed in mailbox name: '.'");
        assert_eq!(m("a//b"), "Invalid mailbox name: Has adjacent hierarchy separators");
        assert_eq!(m("/a"), "Invalid mailbox name: Begins with hierarchy separator");
        assert_eq!(m("a/"), "Invalid mailbox name: Ends with hierarchy separator");
        let f = |n: &str| msg(n, '/', Layout::Fs);
        assert_eq!(f("x/./y"), "Invalid mailbox name: Contains '.' part");
        assert_eq!(f("x/../y"), "Invalid mailbox name: Contains '..' part");
        assert_eq!(f("cur"), "Invalid mailbox name: Contains reserved name");
        assert_eq!(f("a/new/x"), "Invalid mailbox name: Contains reserved name");
        assert_eq!(f("~x"), "Invalid mailbox name: Begins with '~'");
        assert!(verify_name("a/~b", '/', Layout::Fs, true).is_ok());
        assert!(verify_name(".hid", '/', Layout::Fs, true).is_ok());
        assert!(verify_name("tmp.x", '/', Layout::Fs, true).is_ok());
    }

    #[test]
    fn directories() {
        let levels = verify_name("Entwürfe.Sub dir", '.', Layout::MaildirPlusPlus, true).unwrap();
        assert_eq!(
            storage_dir(&levels, Layout::MaildirPlusPlus, false).unwrap(),
            ".Entw&APw-rfe.Sub dir"
        );
        assert_eq!(
            storage_dir(&levels, Layout::MaildirPlusPlus, true).unwrap(),
            ".Entwürfe.Sub dir"
        );
        let levels = verify_name("Work/Sub", '/', Layout::Fs, true).unwrap();
        assert_eq!(storage_dir(&levels, Layout::Fs, false).unwrap(), "Work/Sub");
        let long = vec!["x".repeat(255)];
        let err = storage_dir(&long, Layout::MaildirPlusPlus, false).unwrap_err();
        assert_eq!((err.kind, err.public_message().as_str()), (ErrorKind::NotFound, "Not found"));
        assert!(storage_dir(&long, Layout::Fs, false).is_ok());
    }

    #[test]
    fn mutf7_known_values_and_round_trip() {
        assert_eq!(mutf7_encode("del\u{7f}"), "del&AH8-");
        assert_eq!(mutf7_encode("&"), "&-");
        assert_eq!(mutf7_encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(mutf7_encode("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        for s in ["", "plain", "a&b", "Entwürfe", "日本語 x", "😀", "del\u{7f}"] {
            assert_eq!(mutf7_decode(&mutf7_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(mutf7_decode("&U,BTFw-"), Some("台北".into()));
        assert_eq!(mutf7_decode("&broken"), None);
    }
}
