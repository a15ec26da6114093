//! `dovecot.index` as a whole: base header, extension headers and every message record
//! (index-files.md §4), parsed from and serialized to the exact bytes Dovecot 2.3 writes, so
//! the snapshot can be rewritten the way Dovecot's sync does (`map_sync` applies the log).
//!
//! Layout facts (observed in files written by dovecot-lda 2.3.19): extension headers follow
//! the 120-byte base header in extension-id order, each `{hdr_size, reset_id, record_offset,
//! record_size, record_align, name_size}` + name padded to 8 + data padded to 8; records are
//! `uid(4) flags(1)` then each extension's data at its `record_offset`. When an extension
//! with per-message data appears or changes size, Dovecot lays the records out again:
//! starting at byte 5, it repeatedly places the first not-yet-placed extension (largest
//! alignment first, then id order) whose alignment divides the current offset, or skips to
//! the next multiple of the smallest pending alignment; the record size is then rounded up
//! to the largest alignment (at least 4). The `keywords` extension header is `u32 count`,
//! `count` × `{u32 unused; u32 name_offset}`, then the NUL-terminated names, zero-filled to
//! its `hdr_size`; each record holds a bitmask (bit `i % 8` of byte `i / 8` for keyword `i`).

use super::index_log::LogHeader;
use super::index_main::{BASE_HEADER_SIZE, IndexHeader, field};
use super::{IndexError, IndexFile, pad4, u32_at};

/// Bytes of a record before any extension data: `uid` and the flag byte.
const RECORD_BASE: usize = 5;
/// Name of the extension Dovecot keeps keyword bitmasks in.
pub const KEYWORDS_EXT: &str = "keywords";
/// Slack Dovecot adds to the keywords header whenever it has to grow it (observed: one
/// 5-byte keyword gives `hdr_size` 20 + 128 = 148).
const KEYWORDS_HDR_SLACK: usize = 128;

/// One extension of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapExt {
    /// Extension name.
    pub name: String,
    /// Current reset id.
    pub reset_id: u32,
    /// Header data; its length is the extension's `hdr_size`.
    pub hdr: Vec<u8>,
    /// Offset of the extension's data in each record (0 when `record_size` is 0).
    pub record_offset: u16,
    /// Per-message data size.
    pub record_size: u16,
    /// Per-message alignment.
    pub record_align: u16,
}

/// The whole of `dovecot.index` in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMap {
    /// Base header bytes (`header_size`, `record_size` and `messages_count` are rewritten
    /// from the map on serialization).
    pub base: [u8; BASE_HEADER_SIZE],
    /// Extensions in id order.
    pub exts: Vec<MapExt>,
    /// Bytes per record.
    pub record_size: usize,
    /// `messages_count` records of `record_size` bytes, sorted by UID.
    pub(crate) records: Vec<u8>,
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn unsupported(reason: impl Into<String>) -> IndexError {
    IndexError::unsupported(reason)
}

impl IndexMap {
    /// The map Dovecot starts from when there is no `dovecot.index` yet: an empty 7.3
    /// header carrying the log's index id, `next_uid` = `first_recent_uid` = 1, 8-byte
    /// records.
    pub fn empty(log: &LogHeader) -> IndexMap {
        let mut base = [0u8; BASE_HEADER_SIZE];
        base[0] = super::index_main::INDEX_MAJOR_VERSION;
        base[1] = super::index_main::INDEX_MINOR_VERSION;
        base[2..4].copy_from_slice(&(BASE_HEADER_SIZE as u16).to_le_bytes());
        base[12] = 1;
        let mut map = IndexMap { base, exts: Vec::new(), record_size: 8, records: Vec::new() };
        map.set(field::INDEXID, log.indexid);
        map.set(field::NEXT_UID, 1);
        map.set(field::FIRST_RECENT_UID, 1);
        map.set(field::LOG_FILE_SEQ, log.file_seq);
        map
    }

    /// Parses a complete `dovecot.index`. Only files this module can write back byte for
    /// byte are accepted (zero padding, records matching `messages_count`, UIDs ascending
    /// below `next_uid`, extension data inside the records); anything else is an error.
    pub fn parse(bytes: &[u8]) -> Result<IndexMap, IndexError> {
        let hdr = IndexHeader::parse(bytes)?;
        let record_size = hdr.record_size as usize;
        if !(8..=u16::MAX as usize).contains(&record_size) || !record_size.is_multiple_of(4) {
            return Err(unsupported(format!("dovecot.index record size {record_size}")));
        }
        let exts: Vec<MapExt> = hdr
            .extensions
            .iter()
            .map(|e| MapExt {
                name: e.name.clone(),
                reset_id: e.reset_id,
                hdr: e.data.clone(),
                record_offset: e.record_offset,
                record_size: e.record_size,
                record_align: e.record_align,
            })
            .collect();
        let count = u32_at(&hdr.base, field::MESSAGES_COUNT).unwrap_or(0) as usize;
        let start = hdr.header_size as usize;
        let end = count.checked_mul(record_size).and_then(|n| n.checked_add(start));
        if end != Some(bytes.len()) {
            return Err(unsupported(format!(
                "dovecot.index is {} bytes, {count} records of {record_size} after a \
                 {start}-byte header",
                bytes.len()
            )));
        }
        let map = IndexMap { base: hdr.base, exts, record_size, records: bytes[start..].to_vec() };
        map.validate()?;
        if map.header_bytes() != bytes[..start] {
            return Err(unsupported("dovecot.index header padding is not zero"));
        }
        Ok(map)
    }

    fn validate(&self) -> Result<(), IndexError> {
        let bad = |reason: String| IndexError::corrupt(IndexFile::Index, 0, reason);
        for (i, e) in self.exts.iter().enumerate() {
            if self.exts[..i].iter().any(|o| o.name == e.name) {
                return Err(bad(format!("extension {} registered twice", e.name)));
            }
            if e.record_size == 0 {
                continue;
            }
            let (off, size, align) =
                (usize::from(e.record_offset), usize::from(e.record_size), e.record_align);
            if off < RECORD_BASE || off + size > self.record_size || align == 0 {
                return Err(bad(format!("extension {} record data outside the record", e.name)));
            }
            if !off.is_multiple_of(usize::from(align)) {
                return Err(bad(format!("extension {} record data misaligned", e.name)));
            }
        }
        let mut prev = 0;
        for i in 0..self.messages() {
            let uid = self.uid(i);
            if uid <= prev || uid >= self.get(field::NEXT_UID) {
                return Err(bad(format!("record {i} has UID {uid} out of order")));
            }
            prev = uid;
        }
        Ok(())
    }

    /// A base header field by byte offset.
    pub fn get(&self, offset: usize) -> u32 {
        u32_at(&self.base, offset).unwrap_or(0)
    }

    /// Sets a base header field.
    pub fn set(&mut self, offset: usize, value: u32) {
        self.base[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Number of message records.
    pub fn messages(&self) -> usize {
        self.records.len() / self.record_size
    }

    /// The record at position `i` (0-based sequence).
    pub fn record(&self, i: usize) -> &[u8] {
        &self.records[i * self.record_size..(i + 1) * self.record_size]
    }

    pub(crate) fn record_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.records[i * self.record_size..(i + 1) * self.record_size]
    }

    /// UID of the record at position `i`.
    pub fn uid(&self, i: usize) -> u32 {
        u32_at(self.record(i), 0).unwrap_or(0)
    }

    /// Flag byte of the record at position `i`.
    pub fn flags(&self, i: usize) -> u8 {
        self.record(i)[4]
    }

    /// Positions of the records whose UIDs are in `uid1..=uid2`.
    pub fn range(&self, uid1: u32, uid2: u32) -> std::ops::Range<usize> {
        let n = self.messages();
        let first = partition(n, |i| self.uid(i) < uid1);
        let end = partition(n, |i| self.uid(i) <= uid2);
        first..end.max(first)
    }

    /// Id of the extension called `name`.
    pub fn ext_id(&self, name: &str) -> Option<usize> {
        self.exts.iter().position(|e| e.name == name)
    }

    /// Keyword names in the order of the `keywords` extension header.
    pub fn keywords(&self) -> Result<Vec<String>, IndexError> {
        match self.ext_id(KEYWORDS_EXT) {
            Some(id) => parse_keywords(&self.exts[id].hdr),
            None => Ok(Vec::new()),
        }
    }

    /// Keyword names set on the record at position `i`.
    pub fn message_keywords(&self, i: usize) -> Result<Vec<String>, IndexError> {
        let Some(id) = self.ext_id(KEYWORDS_EXT) else { return Ok(Vec::new()) };
        let e = &self.exts[id];
        let off = usize::from(e.record_offset);
        let bits = &self.record(i)[off..off + usize::from(e.record_size)];
        let names = self.keywords()?;
        Ok(names
            .into_iter()
            .enumerate()
            .filter(|(k, _)| bits.get(k / 8).is_some_and(|b| b & (1 << (k % 8)) != 0))
            .map(|(_, n)| n)
            .collect())
    }

    /// Points the map at a log position: `log_file_seq` and both offsets (Dovecot writes
    /// the snapshot with the tail moved up to the head).
    pub fn set_log_position(&mut self, file_seq: u32, offset: u32) {
        self.set(field::LOG_FILE_SEQ, file_seq);
        self.set(field::LOG_FILE_TAIL_OFFSET, offset);
        self.set(field::LOG_FILE_HEAD_OFFSET, offset);
    }

    /// Base plus extension headers, as written.
    fn header_bytes(&self) -> Vec<u8> {
        let mut out = self.base.to_vec();
        for e in &self.exts {
            let start = out.len();
            out.extend_from_slice(&(e.hdr.len() as u32).to_le_bytes());
            out.extend_from_slice(&e.reset_id.to_le_bytes());
            for v in [e.record_offset, e.record_size, e.record_align, e.name.len() as u16] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(e.name.as_bytes());
            out.resize(start + align8(out.len() - start), 0);
            let data_start = out.len();
            out.extend_from_slice(&e.hdr);
            out.resize(data_start + align8(e.hdr.len()), 0);
        }
        let header_size = out.len() as u32;
        out[4..8].copy_from_slice(&header_size.to_le_bytes());
        out[8..12].copy_from_slice(&(self.record_size as u32).to_le_bytes());
        let count = self.messages() as u32;
        out[field::MESSAGES_COUNT..field::MESSAGES_COUNT + 4].copy_from_slice(&count.to_le_bytes());
        out
    }

    /// The complete file as Dovecot 2.3 writes it.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(&self.records);
        out
    }

    /// Appends a zeroed record for `uid` with `flags`.
    pub(crate) fn push_record(&mut self, uid: u32, flags: u8) {
        let start = self.records.len();
        self.records.resize(start + self.record_size, 0);
        self.records[start..start + 4].copy_from_slice(&uid.to_le_bytes());
        self.records[start + 4] = flags;
    }

    /// Removes the records at positions `range`.
    pub(crate) fn remove_records(&mut self, range: std::ops::Range<usize>) {
        self.records.drain(range.start * self.record_size..range.end * self.record_size);
    }

    /// Changes the per-message size/alignment of extension `id` and lays all records out
    /// again the way Dovecot does (see the module documentation), keeping every
    /// extension's data (a grown extension is zero-extended, a shrunk one cut).
    pub(crate) fn resize_records(&mut self, id: usize, size: u16, align: u16) {
        let old: Vec<(u16, u16)> =
            self.exts.iter().map(|e| (e.record_offset, e.record_size)).collect();
        self.exts[id].record_size = size;
        self.exts[id].record_align = align;
        let (offsets, record_size) = layout(&self.exts);
        let mut records = vec![0u8; self.messages() * record_size];
        for i in 0..self.messages() {
            let src = self.record(i);
            let dst = &mut records[i * record_size..(i + 1) * record_size];
            dst[..RECORD_BASE].copy_from_slice(&src[..RECORD_BASE]);
            for (e, &(old_off, old_size)) in old.iter().enumerate() {
                let n = usize::from(old_size.min(self.exts[e].record_size));
                let (from, to) = (usize::from(old_off), usize::from(offsets[e]));
                dst[to..to + n].copy_from_slice(&src[from..from + n]);
            }
        }
        for (e, off) in self.exts.iter_mut().zip(offsets) {
            e.record_offset = off;
        }
        self.record_size = record_size;
        self.records = records;
    }
}

/// First index in `0..n` for which `pred` is false (pred must be true then false).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

/// Record offsets of every extension and the record size, placed as Dovecot places them.
fn layout(exts: &[MapExt]) -> (Vec<u16>, usize) {
    let mut order: Vec<usize> = (0..exts.len()).filter(|&i| exts[i].record_size > 0).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(exts[i].record_align.max(1)));
    let mut offsets = vec![0u16; exts.len()];
    let mut placed = vec![false; exts.len()];
    let mut offset = RECORD_BASE;
    let max_align = exts.iter().map(|e| usize::from(e.record_align)).fold(4, usize::max);
    loop {
        let pending: Vec<usize> = order.iter().copied().filter(|&i| !placed[i]).collect();
        let Some(&min_align) =
            pending.iter().map(|&i| usize::from(exts[i].record_align.max(1))).min().as_ref()
        else {
            break;
        };
        match pending
            .iter()
            .find(|&&i| offset.is_multiple_of(usize::from(exts[i].record_align.max(1))))
        {
            Some(&i) => {
                offsets[i] = offset as u16;
                placed[i] = true;
                offset += usize::from(exts[i].record_size);
            }
            None => offset += min_align - offset % min_align,
        }
    }
    (offsets, offset.div_ceil(max_align) * max_align)
}

/// The names of a `keywords` extension header.
pub fn parse_keywords(hdr: &[u8]) -> Result<Vec<String>, IndexError> {
    let bad = || IndexError::corrupt(IndexFile::Index, 0, "malformed keywords header");
    let count = u32_at(hdr, 0).ok_or_else(bad)? as usize;
    let names_start = count.checked_mul(8).and_then(|n| n.checked_add(4)).ok_or_else(bad)?;
    let names = hdr.get(names_start..).ok_or_else(bad)?;
    (0..count)
        .map(|i| {
            let off = u32_at(hdr, 4 + 8 * i + 4).ok_or_else(bad)? as usize;
            let rest = names.get(off..).ok_or_else(bad)?;
            let len = rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
            String::from_utf8(rest[..len].to_vec()).map_err(|_| bad())
        })
        .collect()
}

/// The used part of a `keywords` header for `names`, zero-padded to 4 bytes.
pub fn keywords_header(names: &[String]) -> Vec<u8> {
    let mut out = (names.len() as u32).to_le_bytes().to_vec();
    let mut name_offset = 0u32;
    for n in names {
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&name_offset.to_le_bytes());
        name_offset += n.len() as u32 + 1;
    }
    for n in names {
        out.extend_from_slice(n.as_bytes());
        out.push(0);
    }
    out.resize(pad4(out.len()), 0);
    out
}

/// `(hdr_size, record_size)` Dovecot registers the keywords extension with once `names`
/// no longer fit: the used header plus 128 bytes of slack, and one bit per keyword rounded
/// up to bytes plus one spare byte unless that is a multiple of 4.
pub fn keywords_ext_sizes(names: &[String]) -> (usize, u16) {
    let used = keywords_header(names).len();
    let mut rec = names.len().div_ceil(8);
    if !rec.is_multiple_of(4) {
        rec += 1;
    }
    (used + KEYWORDS_HDR_SLACK, rec as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, size: u16, align: u16) -> MapExt {
        MapExt {
            name: name.into(),
            reset_id: 0,
            hdr: Vec::new(),
            record_offset: 0,
            record_size: size,
            record_align: align,
        }
    }

    #[test]
    fn layout_matches_observed_records() {
        // cache alone: offset 8, 12-byte records (index-files.md §4.4).
        assert_eq!(layout(&[ext("maildir", 0, 0), ext("cache", 4, 4)]), (vec![0, 8], 12));
        // keywords (2 bytes, align 1) fill the gap after the flag byte (observed).
        let exts = [ext("maildir", 0, 0), ext("cache", 4, 4), ext("keywords", 2, 1)];
        assert_eq!(layout(&exts), (vec![0, 8, 5], 12));
        assert_eq!(layout(&[]), (vec![], 8));
        let exts = [ext("cache", 4, 4), ext("keywords", 4, 1), ext("modseq", 8, 8)];
        assert_eq!(layout(&exts), (vec![12, 5, 16], 24));
    }

    #[test]
    fn keywords_header_matches_observed_bytes() {
        let names = vec!["kwone".to_string(), "kwtwo".to_string()];
        let h = keywords_header(&names);
        assert_eq!(&h[..4], &2u32.to_le_bytes());
        assert_eq!(&h[16..20], &6u32.to_le_bytes());
        assert_eq!(&h[20..], b"kwone\0kwtwo\0");
        assert_eq!(parse_keywords(&h).unwrap(), names);
        assert_eq!(keywords_ext_sizes(&names[..1]), (148, 2));
        let many: Vec<String> = (0..17).map(|i| format!("k{i}")).collect();
        assert_eq!(keywords_ext_sizes(&many).1, 4);
        assert!(parse_keywords(&[1, 0, 0, 0, 0]).is_err());
    }
}
