//! `dovecot.index.cache`: the 32-byte header, the field header (field names, types, sizes,
//! caching decisions) and records (index-files.md §5). Readers follow the field-header
//! chain to the newest one; writers build one record per delivered message and the file a
//! fresh index starts with.

use super::index_log::{decode_offset, encode_offset};
use super::{IndexError, IndexFile, ReadAt, pad_to4, pad4, read_exact, u32_at};

/// Size of the cache file header.
pub const CACHE_HEADER_SIZE: usize = 32;
/// Field size meaning "variable".
pub const VARIABLE_SIZE: u32 = u32::MAX;

/// Field types of the field header.
pub mod field_type {
    /// Fixed size data.
    pub const FIXED: u8 = 0;
    /// Variable size data.
    pub const VARIABLE: u8 = 1;
    /// String.
    pub const STRING: u8 = 2;
    /// Bitmask (fixed size).
    pub const BITMASK: u8 = 3;
    /// Header lines.
    pub const HEADER: u8 = 4;
}

/// Caching decisions.
pub mod decision {
    /// Not cached.
    pub const NO: u8 = 0;
    /// Cached for new mails.
    pub const TEMP: u8 = 1;
    /// Cached.
    pub const YES: u8 = 2;
    /// Forced by configuration (ORed).
    pub const FORCED: u8 = 0x80;
}

/// The cache file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheHeader {
    /// Index id; must equal the log's.
    pub indexid: u32,
    /// Creation time; must equal the `cache` extension's reset id.
    pub file_seq: u32,
    /// `continued_record_count`.
    pub continued_record_count: u32,
    /// Number of records written.
    pub record_count: u32,
    /// File size at creation (kept for old readers).
    pub used_file_size: u32,
    /// `deleted_record_count`.
    pub deleted_record_count: u32,
    /// Offset of the first field header.
    pub field_header_offset: u32,
}

impl CacheHeader {
    /// Parses and validates (version 1.1, 8-byte `uoff_t`).
    pub fn parse(b: &[u8]) -> Result<CacheHeader, IndexError> {
        if b.len() < CACHE_HEADER_SIZE {
            return Err(IndexError::Truncated {
                file: IndexFile::Cache,
                offset: 0,
                what: "cache header",
            });
        }
        if b[0] != 1 || b[1] != 8 || b[2] != 1 {
            return Err(IndexError::unsupported(format!(
                "dovecot.index.cache version {}.{}/{}",
                b[0], b[2], b[1]
            )));
        }
        let g = |o| u32_at(b, o).unwrap_or(0);
        Ok(CacheHeader {
            indexid: g(4),
            file_seq: g(8),
            continued_record_count: g(12),
            record_count: g(16),
            used_file_size: g(20),
            deleted_record_count: g(24),
            field_header_offset: decode_offset([b[28], b[29], b[30], b[31]]),
        })
    }

    /// The 32 header bytes.
    pub fn to_bytes(&self) -> [u8; CACHE_HEADER_SIZE] {
        let mut b = [0u8; CACHE_HEADER_SIZE];
        b[..4].copy_from_slice(&[1, 8, 1, 0]);
        for (o, v) in [
            (4, self.indexid),
            (8, self.file_seq),
            (12, self.continued_record_count),
            (16, self.record_count),
            (20, self.used_file_size),
            (24, self.deleted_record_count),
        ] {
            b[o..o + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[28..32].copy_from_slice(&encode_offset(self.field_header_offset));
        b
    }
}

/// One cache field as described by the field header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheField {
    /// Name (`flags`, `mime.parts`, `hdr.Subject`, …).
    pub name: String,
    /// Last time the field was used.
    pub last_used: u32,
    /// Fixed size, or [`VARIABLE_SIZE`].
    pub size: u32,
    /// See [`field_type`].
    pub field_type: u8,
    /// See [`decision`].
    pub decision: u8,
}

/// The newest field header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFieldHeader {
    /// Offset of this field header in the file.
    pub offset: u32,
    /// Fields in index order (a record's field numbers index this list).
    pub fields: Vec<CacheField>,
}

impl CacheFieldHeader {
    /// Parses a field header body (`bytes` starts at the field header's `next_offset`).
    /// Returns the header and its `next_offset`.
    pub fn parse(bytes: &[u8], offset: u32) -> Result<(CacheFieldHeader, u32), IndexError> {
        let bad = |r: &str| IndexError::corrupt(IndexFile::Cache, u64::from(offset), r);
        let next = decode_offset(
            bytes
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad("short field header"))?,
        );
        let count = u32_at(bytes, 8).ok_or_else(|| bad("short field header"))? as usize;
        if count > 10_000 {
            return Err(bad("too many cache fields"));
        }
        let lu = 12;
        let sz = lu + 4 * count;
        let ty = sz + 4 * count;
        let de = ty + count;
        let names_at = de + count;
        let names = bytes.get(names_at..).ok_or_else(|| bad("short field header"))?;
        let mut names = names.split(|&b| b == 0);
        let mut fields = Vec::with_capacity(count);
        for i in 0..count {
            let name =
                names.next().filter(|n| !n.is_empty()).ok_or_else(|| bad("missing field name"))?;
            fields.push(CacheField {
                name: String::from_utf8_lossy(name).into_owned(),
                last_used: u32_at(bytes, lu + 4 * i).unwrap_or(0),
                size: u32_at(bytes, sz + 4 * i).unwrap_or(0),
                field_type: bytes[ty + i],
                decision: bytes[de + i],
            });
        }
        Ok((CacheFieldHeader { offset, fields }, next))
    }

    /// Serializes as a field header with `next_offset` 0.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.fields.len();
        let mut b = vec![0u8; 12];
        b[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        for f in &self.fields {
            b.extend_from_slice(&f.last_used.to_le_bytes());
        }
        for f in &self.fields {
            b.extend_from_slice(&f.size.to_le_bytes());
        }
        b.extend(self.fields.iter().map(|f| f.field_type));
        b.extend(self.fields.iter().map(|f| f.decision));
        for f in &self.fields {
            b.extend_from_slice(f.name.as_bytes());
            b.push(0);
        }
        pad_to4(&mut b);
        let size = b.len() as u32;
        b[4..8].copy_from_slice(&size.to_le_bytes());
        b
    }

    /// Index of a field by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The 19 fields Dovecot 2.3's LDA registers in a new cache, with the decisions and
    /// last-used times it gives them on the first delivery (observed).
    pub fn lda_default(now: u32) -> CacheFieldHeader {
        const V: u32 = VARIABLE_SIZE;
        use decision::{FORCED, NO, TEMP};
        use field_type::{BITMASK, FIXED, HEADER, STRING, VARIABLE};
        let spec: [(&str, u32, u8, u8); 19] = [
            ("flags", 4, BITMASK, TEMP),
            ("date.sent", 8, FIXED, NO),
            ("date.received", 4, FIXED, NO),
            ("date.save", 4, FIXED, NO),
            ("size.virtual", 8, FIXED, NO),
            ("size.physical", 8, FIXED, NO),
            ("imap.body", V, STRING, NO),
            ("imap.bodystructure", V, STRING, NO),
            ("imap.envelope", V, STRING, NO | FORCED),
            ("pop3.uidl", V, STRING, NO),
            ("pop3.order", 4, FIXED, NO),
            ("guid", V, STRING, NO),
            ("mime.parts", V, VARIABLE, TEMP),
            ("binary.parts", V, VARIABLE, NO),
            ("body.snippet", V, VARIABLE, NO),
            ("hdr.From", V, HEADER, TEMP),
            ("hdr.Message-ID", V, HEADER, TEMP),
            ("hdr.Subject", V, HEADER, TEMP),
            ("hdr.Date", V, HEADER, NO),
        ];
        let used =
            ["flags", "size.virtual", "mime.parts", "hdr.From", "hdr.Message-ID", "hdr.Subject"];
        let fields = spec
            .iter()
            .map(|&(name, size, field_type, decision)| CacheField {
                name: name.to_owned(),
                last_used: if used.contains(&name) { now } else { 0 },
                size,
                field_type,
                decision,
            })
            .collect();
        CacheFieldHeader { offset: CACHE_HEADER_SIZE as u32, fields }
    }
}

/// Reads the cache header and follows the field header chain to the newest field header.
pub fn read_cache(cache: &dyn ReadAt) -> Result<(CacheHeader, CacheFieldHeader), IndexError> {
    let header = CacheHeader::parse(&read_exact(
        cache,
        IndexFile::Cache,
        0,
        CACHE_HEADER_SIZE,
        "cache header",
    )?)?;
    let mut offset = header.field_header_offset;
    for _ in 0..64 {
        if offset < CACHE_HEADER_SIZE as u32 {
            return Err(IndexError::corrupt(IndexFile::Cache, 28, "bad field header offset"));
        }
        let head =
            read_exact(cache, IndexFile::Cache, u64::from(offset), 12, "cache field header")?;
        let size = u32_at(&head, 4).unwrap_or(0) as usize;
        if !(12..=1 << 20).contains(&size) {
            return Err(IndexError::corrupt(
                IndexFile::Cache,
                u64::from(offset),
                "bad field header size",
            ));
        }
        let body =
            read_exact(cache, IndexFile::Cache, u64::from(offset), size, "cache field header")?;
        let (fields, next) = CacheFieldHeader::parse(&body, offset)?;
        if next == 0 {
            return Ok((header, fields));
        }
        offset = next;
    }
    Err(IndexError::corrupt(IndexFile::Cache, 28, "field header chain too long"))
}

/// One field of a cache record: field index and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecordField {
    /// Index into the field header.
    pub field: u32,
    /// The data (unpadded).
    pub data: Vec<u8>,
}

/// Builds a cache record (`prev_offset` 0: a new message has no older record).
/// Variable-size fields carry their unpadded size; all data is padded to 4 bytes.
pub fn build_record(fields_hdr: &CacheFieldHeader, fields: &[CacheRecordField]) -> Vec<u8> {
    let mut out = vec![0u8; 8];
    for f in fields {
        out.extend_from_slice(&f.field.to_le_bytes());
        let fixed =
            fields_hdr.fields.get(f.field as usize).is_some_and(|d| d.size != VARIABLE_SIZE);
        if !fixed {
            out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(&f.data);
        pad_to4(&mut out);
    }
    let size = out.len() as u32;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    out
}

/// Parses a cache record at the start of `bytes` against the field header.
pub fn parse_record(
    fields_hdr: &CacheFieldHeader,
    bytes: &[u8],
    offset: u32,
) -> Result<(u32, Vec<CacheRecordField>), IndexError> {
    let bad = |r: &str| IndexError::corrupt(IndexFile::Cache, u64::from(offset), r);
    let prev = u32_at(bytes, 0).ok_or_else(|| bad("short record"))?;
    let size = u32_at(bytes, 4).ok_or_else(|| bad("short record"))? as usize;
    let rec = bytes.get(..size).filter(|_| size >= 8).ok_or_else(|| bad("bad record size"))?;
    let mut pos = 8;
    let mut out = Vec::new();
    while pos < rec.len() {
        let field = u32_at(rec, pos).ok_or_else(|| bad("short field"))?;
        let def = fields_hdr.fields.get(field as usize).ok_or_else(|| bad("unknown field"))?;
        pos += 4;
        let len = if def.size == VARIABLE_SIZE {
            pos += 4;
            u32_at(rec, pos - 4).ok_or_else(|| bad("short field"))? as usize
        } else {
            def.size as usize
        };
        let data = rec.get(pos..pos.saturating_add(len)).ok_or_else(|| bad("field past record"))?;
        out.push(CacheRecordField { field, data: data.to_vec() });
        pos = pad4(pos + len);
    }
    Ok((prev, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_field_header_has_observed_size_and_round_trips() {
        let fh = CacheFieldHeader::lda_default(1_795_631_310);
        let b = fh.to_bytes();
        assert_eq!(b.len(), 420);
        let (back, next) = CacheFieldHeader::parse(&b, 32).unwrap();
        assert_eq!(next, 0);
        assert_eq!(back, fh);
    }

    #[test]
    fn record_round_trips() {
        let fh = CacheFieldHeader::lda_default(0);
        let fields = vec![
            CacheRecordField { field: 0, data: vec![0x30, 0, 0, 0] },
            CacheRecordField { field: 17, data: b"\x03\0\0\0\0\0\0\0Subject: four\n".to_vec() },
            CacheRecordField { field: 16, data: Vec::new() },
        ];
        let rec = build_record(&fh, &fields);
        assert_eq!(rec.len() % 4, 0);
        assert_eq!(parse_record(&fh, &rec, 0).unwrap(), (0, fields));
        for cut in 0..rec.len() {
            assert!(parse_record(&fh, &rec[..cut], 0).is_err());
        }
    }
}
