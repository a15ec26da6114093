//! `dovecot.index`: the parts a log writer must read — the 120-byte base header (with
//! `log_file_seq`, the log offsets, `next_uid`, `uid_validity`, `day_stamp`) and the
//! extension headers that fix extension ids and sizes (index-files.md §4). Message records
//! are not read: a delivery only needs the header.

use super::{IndexError, IndexFile, u16_at, u32_at};

/// Size of the 2.3 base header.
pub const BASE_HEADER_SIZE: usize = 120;
/// Major version of the 2.3 index format.
pub const INDEX_MAJOR_VERSION: u8 = 7;
/// Minor version of the 2.3 index format.
pub const INDEX_MINOR_VERSION: u8 = 3;

/// Byte offsets of base header fields (the targets of log HEADER_UPDATE records).
pub mod field {
    /// `indexid`
    pub const INDEXID: usize = 16;
    /// `flags`
    pub const FLAGS: usize = 20;
    /// `uid_validity`
    pub const UID_VALIDITY: usize = 24;
    /// `next_uid`
    pub const NEXT_UID: usize = 28;
    /// `messages_count`
    pub const MESSAGES_COUNT: usize = 32;
    /// `first_recent_uid`
    pub const FIRST_RECENT_UID: usize = 48;
    /// `log_file_seq`
    pub const LOG_FILE_SEQ: usize = 60;
    /// `log_file_tail_offset`
    pub const LOG_FILE_TAIL_OFFSET: usize = 64;
    /// `log_file_head_offset`
    pub const LOG_FILE_HEAD_OFFSET: usize = 68;
    /// `log2_rotate_time`
    pub const LOG2_ROTATE_TIME: usize = 76;
    /// `day_stamp`
    pub const DAY_STAMP: usize = 84;
    /// `day_first_uid[8]`
    pub const DAY_FIRST_UID: usize = 88;
}

/// One extension as registered in the index header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtHeader {
    /// Extension name (`maildir`, `cache`, `keywords`, …).
    pub name: String,
    /// Current reset id.
    pub reset_id: u32,
    /// Offset of the extension's data in each message record.
    pub record_offset: u16,
    /// Per-message data size.
    pub record_size: u16,
    /// Per-message alignment.
    pub record_align: u16,
    /// The extension's header data (`hdr_size` bytes).
    pub data: Vec<u8>,
}

/// Base header (kept as raw bytes so log HEADER_UPDATEs can patch any field) and
/// extension headers of `dovecot.index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexHeader {
    /// The 120 base header bytes.
    pub base: [u8; BASE_HEADER_SIZE],
    /// `header_size` from the file: base plus extension headers.
    pub header_size: u32,
    /// `record_size` from the file.
    pub record_size: u32,
    /// Extensions in id order.
    pub extensions: Vec<ExtHeader>,
}

fn trunc(what: &'static str, offset: usize) -> IndexError {
    IndexError::Truncated { file: IndexFile::Index, offset: offset as u64, what }
}

impl IndexHeader {
    /// How many bytes of the file [`IndexHeader::parse`] needs, from its first 8 bytes.
    pub fn needed_len(first8: &[u8]) -> Result<usize, IndexError> {
        Ok(u32_at(first8, 4).ok_or_else(|| trunc("index header", 0))? as usize)
    }

    /// Parses the base and extension headers; only a 7.3 little-endian index with a
    /// non-zero indexid and well-formed extension headers is accepted.
    pub fn parse(b: &[u8]) -> Result<IndexHeader, IndexError> {
        let base: [u8; BASE_HEADER_SIZE] = b
            .get(..BASE_HEADER_SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| trunc("index base header", b.len()))?;
        if base[0] != INDEX_MAJOR_VERSION || base[1] != INDEX_MINOR_VERSION {
            return Err(IndexError::unsupported(format!(
                "dovecot.index version {}.{}",
                base[0], base[1]
            )));
        }
        let base_size = usize::from(u16_at(&base, 2).unwrap_or(0));
        let header_size = u32_at(&base, 4).unwrap_or(0);
        if base_size != BASE_HEADER_SIZE {
            return Err(IndexError::unsupported(format!(
                "dovecot.index base header size {base_size}"
            )));
        }
        if base[12] != 1 {
            return Err(IndexError::unsupported("dovecot.index is not little-endian"));
        }
        if (header_size as usize) < BASE_HEADER_SIZE {
            return Err(IndexError::corrupt(IndexFile::Index, 4, "header_size below base size"));
        }
        let hdr = b.get(..header_size as usize).ok_or_else(|| trunc("index header", b.len()))?;
        let index = IndexHeader {
            base,
            header_size,
            record_size: u32_at(&base, 8).unwrap_or(0),
            extensions: parse_extensions(hdr)?,
        };
        if index.u32(field::INDEXID) == 0 {
            return Err(IndexError::corrupt(IndexFile::Index, 16, "indexid 0"));
        }
        Ok(index)
    }

    /// A base header field by byte offset (see [`field`]).
    pub fn u32(&self, offset: usize) -> u32 {
        u32_at(&self.base, offset).unwrap_or(0)
    }

    /// `indexid`
    pub fn indexid(&self) -> u32 {
        self.u32(field::INDEXID)
    }
    /// `next_uid`
    pub fn next_uid(&self) -> u32 {
        self.u32(field::NEXT_UID)
    }
    /// `uid_validity`
    pub fn uid_validity(&self) -> u32 {
        self.u32(field::UID_VALIDITY)
    }
    /// `log_file_seq`
    pub fn log_file_seq(&self) -> u32 {
        self.u32(field::LOG_FILE_SEQ)
    }
    /// `log_file_tail_offset`
    pub fn log_file_tail_offset(&self) -> u32 {
        self.u32(field::LOG_FILE_TAIL_OFFSET)
    }
    /// `log_file_head_offset`
    pub fn log_file_head_offset(&self) -> u32 {
        self.u32(field::LOG_FILE_HEAD_OFFSET)
    }
    /// `day_stamp`
    pub fn day_stamp(&self) -> u32 {
        self.u32(field::DAY_STAMP)
    }
    /// `day_first_uid[8]`
    pub fn day_first_uid(&self) -> [u32; 8] {
        std::array::from_fn(|i| self.u32(field::DAY_FIRST_UID + 4 * i))
    }
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn parse_extensions(hdr: &[u8]) -> Result<Vec<ExtHeader>, IndexError> {
    let mut out = Vec::new();
    let mut pos = BASE_HEADER_SIZE;
    while pos < hdr.len() {
        let hdr_size = u32_at(hdr, pos).ok_or_else(|| trunc("extension header", pos))? as usize;
        let reset_id = u32_at(hdr, pos + 4).ok_or_else(|| trunc("extension header", pos))?;
        let record_offset = u16_at(hdr, pos + 8).ok_or_else(|| trunc("extension header", pos))?;
        let record_size = u16_at(hdr, pos + 10).ok_or_else(|| trunc("extension header", pos))?;
        let record_align = u16_at(hdr, pos + 12).ok_or_else(|| trunc("extension header", pos))?;
        let name_size =
            usize::from(u16_at(hdr, pos + 14).ok_or_else(|| trunc("extension header", pos))?);
        let name =
            hdr.get(pos + 16..pos + 16 + name_size).ok_or_else(|| trunc("extension name", pos))?;
        if name_size == 0 {
            return Err(IndexError::corrupt(
                IndexFile::Index,
                pos as u64,
                "extension without name",
            ));
        }
        let data_at = pos + align8(16 + name_size);
        let data = hdr.get(data_at..data_at.saturating_add(hdr_size)).ok_or_else(|| {
            IndexError::corrupt(IndexFile::Index, pos as u64, "extension header past header_size")
        })?;
        out.push(ExtHeader {
            name: String::from_utf8_lossy(name).into_owned(),
            reset_id,
            record_offset,
            record_size,
            record_align,
            data: data.to_vec(),
        });
        pos += align8(16 + name_size) + align8(hdr_size);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; BASE_HEADER_SIZE];
        b[0] = 7;
        b[1] = 3;
        b[2..4].copy_from_slice(&120u16.to_le_bytes());
        b[12] = 1;
        b[16..20].copy_from_slice(&77u32.to_le_bytes());
        b[28..32].copy_from_slice(&5u32.to_le_bytes());
        // "maildir" ext with a 36-byte header.
        b.extend_from_slice(&36u32.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 7, 0]);
        b.extend_from_slice(b"maildir\0");
        b.extend_from_slice(&[9; 36]);
        b.extend_from_slice(&[0; 4]);
        let size = b.len() as u32;
        b[4..8].copy_from_slice(&size.to_le_bytes());
        b
    }

    #[test]
    fn parses_base_and_extension_headers() {
        let b = sample();
        assert_eq!(IndexHeader::needed_len(&b[..8]).unwrap(), b.len());
        let h = IndexHeader::parse(&b).unwrap();
        assert_eq!(h.indexid(), 77);
        assert_eq!(h.next_uid(), 5);
        assert_eq!(h.extensions.len(), 1);
        assert_eq!(h.extensions[0].name, "maildir");
        assert_eq!(h.extensions[0].data, vec![9; 36]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample();
        for cut in 0..b.len() {
            let mut short = b[..cut].to_vec();
            if cut >= 8 {
                short[4..8].copy_from_slice(&(b.len() as u32).to_le_bytes());
            }
            assert!(IndexHeader::parse(&short).is_err(), "cut {cut}");
        }
    }
}
