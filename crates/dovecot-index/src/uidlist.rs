//! `dovecot-uidlist`: the Maildir UID ↔ file name map (maildir.md §4).
//!
//! Version 3 layout: a header line `3 V<uidvalidity> N<next-uid> G<guid>[ <K><v>]…`, then one
//! record per message, `<uid>[ <K><value>]… :<base name>`. Version 1 (`1 <uidvalidity>
//! <next-uid>`, records `<uid> <name>`) is read so that it can be rewritten as version 3.
//!
//! Two ways in: [`Uidlist::parse`] reads a whole file and applies Dovecot's corruption rules;
//! [`read_append_state`] reads only the header and the last record, which is all a delivery
//! needs to append (cost independent of the mailbox size).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::time::{SystemTime, UNIX_EPOCH};

/// The file name Dovecot uses, in the mailbox's control directory.
pub const UIDLIST_FILE: &str = "dovecot-uidlist";
/// The version this module writes.
pub const UIDLIST_VERSION: u32 = 3;

/// Why a uidlist could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UidlistError {
    /// Dovecot would call this file broken (and delete it): line number (1-based) and reason.
    #[error("Broken dovecot-uidlist line {line}: {reason}")]
    Broken {
        /// 1-based line number of the offending line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading failed.
    #[error("reading dovecot-uidlist failed: {0}")]
    Io(#[from] io::Error),
}

fn broken(line: usize, reason: impl Into<String>) -> UidlistError {
    UidlistError::Broken { line, reason: reason.into() }
}

/// The header line of a uidlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidlistHeader {
    /// File format version (1 or 3).
    pub version: u32,
    /// UIDVALIDITY of the mailbox (never 0).
    pub uid_validity: u32,
    /// Next UID as of the last rewrite (never 0); records may already be past it.
    pub next_uid: u32,
    /// Mailbox GUID, 32 lowercase hex digits, when present (version 3).
    pub guid: Option<String>,
    /// Other header fields (key byte, value), kept verbatim and in order.
    pub extra: Vec<(u8, String)>,
}

impl UidlistHeader {
    /// A fresh version 3 header.
    pub fn new(uid_validity: u32, next_uid: u32, guid: String) -> UidlistHeader {
        UidlistHeader {
            version: UIDLIST_VERSION,
            uid_validity,
            next_uid,
            guid: Some(guid),
            extra: Vec::new(),
        }
    }

    /// Parses one header line (without its newline). `line_no` is only used in errors.
    pub fn parse(line: &str) -> Result<UidlistHeader, UidlistError> {
        let (version, rest) = line.split_once(' ').ok_or_else(|| broken(1, "Corrupted header"))?;
        match version {
            "1" => parse_v1_header(rest),
            "3" => parse_v3_header(rest),
            _ => Err(broken(1, format!("Unsupported version {version}"))),
        }
    }

    /// The header line as Dovecot writes it (version 3, with trailing newline).
    pub fn to_line(&self) -> String {
        let mut out = format!("3 V{} N{}", self.uid_validity, self.next_uid);
        if let Some(guid) = &self.guid {
            out.push_str(" G");
            out.push_str(guid);
        }
        for (key, value) in &self.extra {
            out.push(' ');
            out.push(char::from(*key));
            out.push_str(value);
        }
        out.push('\n');
        out
    }
}

fn parse_v1_header(rest: &str) -> Result<UidlistHeader, UidlistError> {
    let mut parts = rest.split(' ');
    let uid_validity = parts.next().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let next_uid = parts.next().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    if uid_validity == 0 || next_uid == 0 {
        return Err(broken(1, "Broken header (uidvalidity = 0 or next_uid = 0)"));
    }
    Ok(UidlistHeader { version: 1, uid_validity, next_uid, guid: None, extra: Vec::new() })
}

fn parse_v3_header(rest: &str) -> Result<UidlistHeader, UidlistError> {
    let mut header =
        UidlistHeader { version: 3, uid_validity: 0, next_uid: 0, guid: None, extra: Vec::new() };
    for field in rest.split(' ').filter(|f| !f.is_empty()) {
        let key = field.as_bytes()[0];
        let value = &field[1..];
        match key {
            b'V' => header.uid_validity = value.parse().unwrap_or(0),
            b'N' => header.next_uid = value.parse().unwrap_or(0),
            b'G' => header.guid = Some(value.to_owned()),
            _ => header.extra.push((key, value.to_owned())),
        }
    }
    if header.uid_validity == 0 || header.next_uid == 0 {
        return Err(broken(1, "Broken header (uidvalidity = 0 or next_uid = 0)"));
    }
    Ok(header)
}

/// One message record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidlistRecord {
    /// The message UID (> 0).
    pub uid: u32,
    /// Extension fields (uppercase key byte, value without spaces), in file order.
    pub extensions: Vec<(u8, String)>,
    /// Base file name, up to (not including) the first `:`.
    pub filename: String,
}

impl UidlistRecord {
    /// A record without extension fields.
    pub fn new(uid: u32, filename: impl Into<String>) -> UidlistRecord {
        UidlistRecord { uid, extensions: Vec::new(), filename: filename.into() }
    }

    /// Parses a record line (no newline) of the given file `version`; `line_no` for errors.
    pub fn parse(line: &str, version: u32, line_no: usize) -> Result<UidlistRecord, UidlistError> {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let uid: u32 = line[..digits].parse().map_err(|_| broken(line_no, "Invalid data"))?;
        if uid == 0 {
            return Err(broken(line_no, "Invalid data"));
        }
        let mut rest = &line[digits..];
        if !rest.starts_with(' ') {
            return Err(broken(line_no, "Invalid data"));
        }
        let mut extensions = Vec::new();
        let filename = if version >= 3 {
            loop {
                rest = rest.trim_start_matches(' ');
                if let Some(name) = rest.strip_prefix(':') {
                    break name;
                }
                let end = rest.find(' ').ok_or_else(|| broken(line_no, "Invalid data"))?;
                let field = &rest[..end];
                let key = field.as_bytes()[0];
                if !key.is_ascii_uppercase() {
                    return Err(broken(line_no, "Invalid extension record"));
                }
                extensions.push((key, field[1..].to_owned()));
                rest = &rest[end..];
            }
        } else {
            rest.trim_start_matches(' ')
        };
        if filename.is_empty() || filename.contains('/') {
            return Err(broken(line_no, "Invalid filename"));
        }
        Ok(UidlistRecord { uid, extensions, filename: filename.to_owned() })
    }

    /// The record line as Dovecot appends it (version 3, with trailing newline).
    pub fn to_line(&self) -> String {
        let mut out = self.uid.to_string();
        for (key, value) in &self.extensions {
            out.push(' ');
            out.push(char::from(*key));
            out.push_str(value);
        }
        out.push_str(" :");
        out.push_str(&self.filename);
        out.push('\n');
        out
    }
}

/// A whole uidlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uidlist {
    /// The header.
    pub header: UidlistHeader,
    /// Records in file order (UIDs strictly increasing).
    pub records: Vec<UidlistRecord>,
}

impl Uidlist {
    /// Parses a complete file with Dovecot's corruption rules (maildir.md §4.4). A final line
    /// without newline (a torn append) is ignored, as Dovecot's line reader does. A file name
    /// listed twice keeps the later UID.
    pub fn parse(data: &[u8]) -> Result<Uidlist, UidlistError> {
        let text = std::str::from_utf8(data).map_err(|_| broken(1, "Invalid UTF-8"))?;
        let complete = match text.rfind('\n') {
            Some(pos) => &text[..=pos],
            None => return Err(broken(1, "Missing header")),
        };
        let mut lines = complete.lines();
        let header = UidlistHeader::parse(lines.next().unwrap_or_default())?;
        let mut records: Vec<UidlistRecord> = Vec::new();
        for (index, line) in lines.enumerate() {
            let record = UidlistRecord::parse(line, header.version, index + 2)?;
            if let Some(last) = records.last()
                && record.uid <= last.uid
            {
                return Err(broken(
                    index + 2,
                    format!("UIDs not ordered ({} >= {})", last.uid, record.uid),
                ));
            }
            records.retain(|r| r.filename != record.filename);
            records.push(record);
        }
        Ok(Uidlist { header, records })
    }

    /// The UID the next new message gets: max(N, last record UID + 1).
    pub fn next_uid(&self) -> u32 {
        let after_last = self.records.last().map_or(1, |r| r.uid.saturating_add(1));
        self.header.next_uid.max(after_last)
    }

    /// The complete file in version 3 format, as a rewrite (`dovecot-uidlist.tmp` + rename)
    /// would produce it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = self.header.clone();
        header.version = UIDLIST_VERSION;
        let mut out = header.to_line();
        for record in &self.records {
            out.push_str(&record.to_line());
        }
        out.into_bytes()
    }
}

/// What a delivery needs to know to append to an existing uidlist, read from the header
/// and the tail only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendState {
    /// The parsed header.
    pub header: UidlistHeader,
    /// UID of the last complete record, 0 when there is none.
    pub last_uid: u32,
    /// File length in bytes.
    pub len: u64,
    /// False when the file does not end in a newline (a torn write): appending would glue
    /// the new record onto a broken line, so the caller must rewrite instead.
    pub ends_with_newline: bool,
}

impl AppendState {
    /// The UID the next new message gets: max(N, last UID + 1).
    pub fn next_uid(&self) -> u32 {
        self.header.next_uid.max(self.last_uid.saturating_add(1))
    }
}

/// Reads the header and the last record of an open uidlist, without reading the middle.
/// Lines of any length are handled (the read window grows as needed).
pub fn read_append_state(file: &mut File) -> Result<AppendState, UidlistError> {
    let len = file.seek(SeekFrom::End(0))?;
    let first = read_first_line(file, len)?;
    let header = UidlistHeader::parse(&first)?;
    let header_len = first.len() as u64 + 1;
    if len == header_len {
        return Ok(AppendState { header, last_uid: 0, len, ends_with_newline: true });
    }
    let (last_line, ends_with_newline) = read_last_line(file, header_len, len)?;
    let last_uid = match last_line {
        Some(line) => UidlistRecord::parse(&line, header.version, 0)?.uid,
        None => 0,
    };
    Ok(AppendState { header, last_uid, len, ends_with_newline })
}

fn read_first_line(file: &mut File, len: u64) -> Result<String, UidlistError> {
    let mut buf = Vec::new();
    let mut window: u64 = 256;
    loop {
        buf.clear();
        file.seek(SeekFrom::Start(0))?;
        file.by_ref().take(window).read_to_end(&mut buf)?;
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            buf.truncate(pos);
            return String::from_utf8(buf).map_err(|_| broken(1, "Invalid UTF-8"));
        }
        if window >= len {
            return Err(broken(1, "Missing header"));
        }
        window *= 4;
    }
}

/// Returns the last complete line after `start` (if any) and whether the file ends in '\n'.
fn read_last_line(
    file: &mut File,
    start: u64,
    len: u64,
) -> Result<(Option<String>, bool), UidlistError> {
    let mut window: u64 = 512;
    loop {
        let from = len.saturating_sub(window).max(start);
        let mut buf = Vec::with_capacity((len - from) as usize);
        file.seek(SeekFrom::Start(from))?;
        file.by_ref().take(len - from).read_to_end(&mut buf)?;
        let ends_with_newline = buf.last() == Some(&b'\n');
        // The complete part ends at the last newline.
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            if from == start {
                return Ok((None, false));
            }
            window *= 4;
            continue;
        };
        let body = &buf[..end];
        if let Some(nl) = body.iter().rposition(|&b| b == b'\n') {
            return Ok((Some(to_string(&body[nl + 1..])?), ends_with_newline));
        }
        if from == start {
            return Ok((Some(to_string(body)?), ends_with_newline));
        }
        window *= 4;
    }
}

fn to_string(bytes: &[u8]) -> Result<String, UidlistError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| broken(0, "Invalid UTF-8"))
}

/// A new mailbox GUID in Dovecot's layout: nanoseconds (LE32), seconds (LE32), pid (LE32),
/// a 32-bit hash of the host name; rendered as 32 lowercase hex digits.
pub fn generate_guid(hostname: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&now.subsec_nanos().to_le_bytes());
    bytes.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
    bytes.extend_from_slice(&std::process::id().to_le_bytes());
    bytes.extend_from_slice(&host_hash(hostname).to_le_bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FNV-1a over the host name: any stable 32-bit hash serves (readers never decode it).
fn host_hash(hostname: &str) -> u32 {
    hostname.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const DOVECOT_FILE: &str = "3 V1795623152 N1 Ga1f5942ff008076bd528000083ecc375\n\
        1 :1795623152.M797845P10453.vm,S=177,W=185\n\
        2 G0123456789abcdef0123456789abcdef :1795623153.M1P10454.vm,S=10,W=12\n";

    #[test]
    fn parses_and_round_trips_dovecot_file() {
        let list = Uidlist::parse(DOVECOT_FILE.as_bytes()).unwrap();
        assert_eq!(list.header.uid_validity, 1_795_623_152);
        assert_eq!(list.header.guid.as_deref(), Some("a1f5942ff008076bd528000083ecc375"));
        assert_eq!(list.records.len(), 2);
        assert_eq!(
            list.records[1].extensions,
            vec![(b'G', "0123456789abcdef0123456789abcdef".into())]
        );
        assert_eq!(list.next_uid(), 3);
        assert_eq!(list.to_bytes(), DOVECOT_FILE.as_bytes());
    }

    #[test]
    fn header_keeps_unknown_fields_in_order() {
        let line = "3 V5 N9 Gabc P%u X1";
        let header = UidlistHeader::parse(line).unwrap();
        assert_eq!(header.to_line(), format!("{line}\n"));
    }

    #[test]
    fn version_1_is_read_and_written_as_3() {
        let list = Uidlist::parse(b"1 1234 7\n3 oldname\n5 other:2,S\n").unwrap();
        assert_eq!(list.header.version, 1);
        assert_eq!(list.next_uid(), 7);
        let text = String::from_utf8(list.to_bytes()).unwrap();
        assert_eq!(text, "3 V1234 N7\n3 :oldname\n5 :other:2,S\n");
    }

    #[test]
    fn corruption_is_detected() {
        for bad in [
            "3 V0 N1 Gx\n",
            "3 V1 N0 Gx\n",
            "2 V1 N1\n",
            "3 V1 N1 Gx\n0 :a\n",
            "3 V1 N1 Gx\n2 :a\n2 :b\n",
            "3 V1 N1 Gx\nx :a\n",
            "3 V1 N1 Gx\n1 :a/b\n",
            "3 V1 N1 Gx\n1 g :a\n",
            "no newline at all",
        ] {
            assert!(Uidlist::parse(bad.as_bytes()).is_err(), "{bad:?} should be broken");
        }
    }

    #[test]
    fn duplicate_name_keeps_later_uid() {
        let list = Uidlist::parse(b"3 V1 N1 Gx\n1 :a\n4 :a\n").unwrap();
        assert_eq!(list.records, vec![UidlistRecord::new(4, "a")]);
    }

    #[test]
    fn names_with_spaces_and_torn_tail() {
        let list = Uidlist::parse(b"3 V1 N1 Gx\n1 :a b c\n2 :tor").unwrap();
        assert_eq!(list.records, vec![UidlistRecord::new(1, "a b c")]);
    }

    fn state_of(content: &[u8]) -> AppendState {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(content).unwrap();
        read_append_state(&mut file).unwrap()
    }

    #[test]
    fn tail_state_matches_full_parse() {
        let state = state_of(DOVECOT_FILE.as_bytes());
        assert_eq!(state.last_uid, 2);
        assert_eq!(state.next_uid(), 3);
        assert!(state.ends_with_newline);
        let header_only = state_of(b"3 V7 N42 Gx\n");
        assert_eq!((header_only.last_uid, header_only.next_uid()), (0, 42));
        // N ahead of the records wins.
        assert_eq!(state_of(b"3 V7 N42 Gx\n3 :a\n").next_uid(), 42);
    }

    #[test]
    fn tail_state_handles_long_lines_and_torn_tail() {
        let long = "x".repeat(10_000);
        let content = format!("3 V7 N1 G{long}\n1 :{long}\n9 S5 :{long}\n");
        let state = state_of(content.as_bytes());
        assert_eq!(state.last_uid, 9);
        assert_eq!(state.header.guid.as_deref(), Some(long.as_str()));
        let torn = state_of(b"3 V7 N1 Gx\n1 :a\n2 :b");
        assert_eq!((torn.last_uid, torn.ends_with_newline), (1, false));
    }

    #[test]
    fn tail_state_agrees_with_full_parse_around_window_sizes() {
        let mut checked = 0;
        for name_len in [1, 200, 250, 251, 252, 253, 500, 505, 506, 507, 508, 2040, 2045, 8200] {
            for header_pad in [0, 240, 245, 250, 1020] {
                let guid = "g".repeat(header_pad + 1);
                let mut content = format!("3 V9 N2 G{guid}\n");
                for uid in [1, 4, 9] {
                    content.push_str(&format!("{uid} :{}\n", "n".repeat(name_len)));
                }
                let full = Uidlist::parse(content.as_bytes()).unwrap();
                let state = state_of(content.as_bytes());
                assert_eq!(state.next_uid(), full.next_uid(), "name {name_len} pad {header_pad}");
                assert_eq!(state.header, full.header);
                checked += 1;
            }
        }
        assert_eq!(checked, 70);
    }

    #[test]
    fn record_line_format() {
        assert_eq!(
            UidlistRecord::new(12, "1.M2P3.vm,S=1,W=2").to_line(),
            "12 :1.M2P3.vm,S=1,W=2\n"
        );
        let rec =
            UidlistRecord { uid: 3, extensions: vec![(b'G', "ab".into())], filename: "n".into() };
        assert_eq!(rec.to_line(), "3 Gab :n\n");
        assert_eq!(UidlistRecord::parse("3 Gab :n", 3, 2).unwrap(), rec);
    }

    #[test]
    fn guid_is_32_hex_digits() {
        let guid = generate_guid("vm");
        assert_eq!(guid.len(), 32);
        assert!(guid.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
