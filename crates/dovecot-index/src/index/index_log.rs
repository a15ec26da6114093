//! `dovecot.index.log`: the 40-byte file header, record framing with the self-checking
//! size encoding, decoding of every transaction record type, and builders for the records
//! a delivery writes (index-files.md §2, §3).

use super::{IndexError, IndexFile, pad_to4, pad4, u16_at, u32_at, u64_at};

/// Size of the header Dovecot 2.3 writes (and the only size we write).
pub const LOG_HEADER_SIZE: usize = 40;
/// Smallest header Dovecot accepts; fields past it read as 0.
pub const LOG_MIN_HEADER_SIZE: usize = 24;
/// Major version; another one makes Dovecot recreate the file.
pub const LOG_MAJOR_VERSION: u8 = 1;
/// Minor version Dovecot 2.3 writes.
pub const LOG_MINOR_VERSION: u8 = 3;
/// `compat_flags` value meaning "little-endian".
pub const COMPAT_LITTLE_ENDIAN: u8 = 1;

/// Record kinds (low bits of the type field).
pub mod kind {
    /// EXPUNGE ranges.
    pub const EXPUNGE: u32 = 0x0000_0001;
    /// APPEND: new messages.
    pub const APPEND: u32 = 0x0000_0002;
    /// FLAG_UPDATE ranges.
    pub const FLAG_UPDATE: u32 = 0x0000_0004;
    /// HEADER_UPDATE of the base index header.
    pub const HEADER_UPDATE: u32 = 0x0000_0020;
    /// EXT_INTRO: selects (and maybe registers) an extension.
    pub const EXT_INTRO: u32 = 0x0000_0040;
    /// EXT_RESET of the current extension.
    pub const EXT_RESET: u32 = 0x0000_0080;
    /// EXT_HDR_UPDATE (16-bit offsets).
    pub const EXT_HDR_UPDATE: u32 = 0x0000_0100;
    /// EXT_REC_UPDATE: per-message extension data.
    pub const EXT_REC_UPDATE: u32 = 0x0000_0200;
    /// KEYWORD_UPDATE (one keyword, add or remove).
    pub const KEYWORD_UPDATE: u32 = 0x0000_0400;
    /// KEYWORD_RESET ranges.
    pub const KEYWORD_RESET: u32 = 0x0000_0800;
    /// EXT_ATOMIC_INC.
    pub const EXT_ATOMIC_INC: u32 = 0x0000_1000;
    /// EXPUNGE_GUID.
    pub const EXPUNGE_GUID: u32 = 0x0000_2000;
    /// MODSEQ_UPDATE.
    pub const MODSEQ_UPDATE: u32 = 0x0000_8000;
    /// EXT_HDR_UPDATE32 (32-bit offsets).
    pub const EXT_HDR_UPDATE32: u32 = 0x0001_0000;
    /// INDEX_DELETED.
    pub const INDEX_DELETED: u32 = 0x0002_0000;
    /// INDEX_UNDELETED.
    pub const INDEX_UNDELETED: u32 = 0x0004_0000;
    /// BOUNDARY: size of the whole transaction.
    pub const BOUNDARY: u32 = 0x0008_0000;
    /// ATTRIBUTE_UPDATE (mailbox metadata).
    pub const ATTRIBUTE_UPDATE: u32 = 0x0010_0000;
    /// Bits that expunge records always carry.
    pub const EXPUNGE_PROT: u32 = 0x0000_cd90;
    /// Flag: the change already happened in the mailbox.
    pub const EXTERNAL: u32 = 0x1000_0000;
    /// Flag: replication-originated change.
    pub const SYNC: u32 = 0x2000_0000;
    /// Mask of the kind bits.
    pub const MASK: u32 = 0x0fff_ffff;
}

/// Encodes a 4-byte-aligned value < 2^30 in Dovecot's self-checking form (index-files.md §2).
pub fn encode_offset(value: u32) -> [u8; 4] {
    let v = value >> 2;
    [
        0x80 | ((v >> 21) & 0x7f) as u8,
        0x80 | ((v >> 14) & 0x7f) as u8,
        0x80 | ((v >> 7) & 0x7f) as u8,
        0x80 | (v & 0x7f) as u8,
    ]
}

/// Decodes [`encode_offset`]; 0 when any byte lacks its top bit ("not written").
pub fn decode_offset(b: [u8; 4]) -> u32 {
    if b.iter().any(|&x| x & 0x80 == 0) {
        return 0;
    }
    let v = (u32::from(b[0] & 0x7f) << 21)
        | (u32::from(b[1] & 0x7f) << 14)
        | (u32::from(b[2] & 0x7f) << 7)
        | u32::from(b[3] & 0x7f);
    v << 2
}

/// The log file header (index-files.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeader {
    /// 1 for Dovecot 2.x.
    pub major_version: u8,
    /// 3 for Dovecot 2.3.
    pub minor_version: u8,
    /// Header size; records start here.
    pub hdr_size: u16,
    /// Index id shared by log, index and cache; 0 = marked corrupted.
    pub indexid: u32,
    /// Log generation.
    pub file_seq: u32,
    /// Generation this log replaced (0 if none).
    pub prev_file_seq: u32,
    /// Size of the replaced log at rotation.
    pub prev_file_offset: u32,
    /// Creation time (rotation ageing).
    pub create_stamp: u32,
    /// Highest modseq before this file's first record.
    pub initial_modseq: u64,
    /// 1 = little-endian.
    pub compat_flags: u8,
}

impl LogHeader {
    /// Parses and validates the header; anything but a 1.3 little-endian log with a
    /// non-zero index id is an error.
    pub fn parse(b: &[u8]) -> Result<LogHeader, IndexError> {
        let trunc = |what| IndexError::Truncated { file: IndexFile::Log, offset: 0, what };
        if b.len() < LOG_MIN_HEADER_SIZE {
            return Err(trunc("log header"));
        }
        let hdr_size = u16_at(b, 2).unwrap_or(0);
        let hdr = LogHeader {
            major_version: b[0],
            minor_version: b[1],
            hdr_size,
            indexid: u32_at(b, 4).ok_or_else(|| trunc("log header"))?,
            file_seq: u32_at(b, 8).ok_or_else(|| trunc("log header"))?,
            prev_file_seq: u32_at(b, 12).ok_or_else(|| trunc("log header"))?,
            prev_file_offset: u32_at(b, 16).ok_or_else(|| trunc("log header"))?,
            create_stamp: u32_at(b, 20).ok_or_else(|| trunc("log header"))?,
            initial_modseq: if usize::from(hdr_size) >= 32 {
                u64_at(b, 24).unwrap_or(0)
            } else {
                0
            },
            compat_flags: if usize::from(hdr_size) > 32 {
                b.get(32).copied().unwrap_or(0)
            } else {
                0
            },
        };
        hdr.validate()?;
        if b.len() < usize::from(hdr.hdr_size) {
            return Err(trunc("log header"));
        }
        Ok(hdr)
    }

    fn validate(&self) -> Result<(), IndexError> {
        if self.major_version != LOG_MAJOR_VERSION || self.minor_version != LOG_MINOR_VERSION {
            return Err(IndexError::unsupported(format!(
                "dovecot.index.log version {}.{}",
                self.major_version, self.minor_version
            )));
        }
        if usize::from(self.hdr_size) < LOG_MIN_HEADER_SIZE {
            return Err(IndexError::corrupt(IndexFile::Log, 0, "header size too small"));
        }
        if self.indexid == 0 {
            return Err(IndexError::corrupt(IndexFile::Log, 0, "marked corrupted (indexid 0)"));
        }
        if self.compat_flags != COMPAT_LITTLE_ENDIAN {
            return Err(IndexError::unsupported("dovecot.index.log is not little-endian"));
        }
        Ok(())
    }

    /// The 40 bytes Dovecot 2.3 writes for this header.
    pub fn to_bytes(&self) -> [u8; LOG_HEADER_SIZE] {
        let mut b = [0u8; LOG_HEADER_SIZE];
        b[0] = self.major_version;
        b[1] = self.minor_version;
        b[2..4].copy_from_slice(&(LOG_HEADER_SIZE as u16).to_le_bytes());
        b[4..8].copy_from_slice(&self.indexid.to_le_bytes());
        b[8..12].copy_from_slice(&self.file_seq.to_le_bytes());
        b[12..16].copy_from_slice(&self.prev_file_seq.to_le_bytes());
        b[16..20].copy_from_slice(&self.prev_file_offset.to_le_bytes());
        b[20..24].copy_from_slice(&self.create_stamp.to_le_bytes());
        b[24..32].copy_from_slice(&self.initial_modseq.to_le_bytes());
        b[32] = self.compat_flags;
        b
    }

    /// Header of a brand-new log as Dovecot creates it for a new index: `file_seq` 2
    /// (observed), no previous file, `initial_modseq` 1.
    pub fn fresh(indexid: u32, now: u32) -> LogHeader {
        LogHeader {
            major_version: LOG_MAJOR_VERSION,
            minor_version: LOG_MINOR_VERSION,
            hdr_size: LOG_HEADER_SIZE as u16,
            indexid,
            file_seq: 2,
            prev_file_seq: 0,
            prev_file_offset: 0,
            create_stamp: now,
            initial_modseq: 1,
            compat_flags: COMPAT_LITTLE_ENDIAN,
        }
    }
}

/// One framed record: where it is, its type bits and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Offset of the record header in the file.
    pub offset: u64,
    /// Full type field (kind plus EXTERNAL/SYNC flags).
    pub type_bits: u32,
    /// Payload after the 8-byte record header.
    pub payload: &'a [u8],
}

impl RawRecord<'_> {
    /// Record size including its header.
    pub fn size(&self) -> u64 {
        8 + self.payload.len() as u64
    }
    /// The record kind without flag bits.
    pub fn kind(&self) -> u32 {
        let k = self.type_bits & kind::MASK;
        let unprotected = k & !kind::EXPUNGE_PROT;
        let is_expunge = unprotected == kind::EXPUNGE || unprotected == kind::EXPUNGE_GUID;
        if k & kind::EXPUNGE_PROT == kind::EXPUNGE_PROT && is_expunge { unprotected } else { k }
    }
    /// Whether the EXTERNAL flag is set.
    pub fn is_external(&self) -> bool {
        self.type_bits & kind::EXTERNAL != 0
    }
}

/// Splits `bytes` (which start at file offset `start`) into records. A record whose size
/// is invalid or runs past the end, or a BOUNDARY announcing more bytes than present, is
/// an error: an incomplete transaction must not be appended to.
pub fn split_records(bytes: &[u8], start: u64) -> Result<Vec<RawRecord<'_>>, IndexError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let offset = start + pos as u64;
        let Some(hdr) = bytes.get(pos..pos + 8) else {
            return Err(IndexError::Truncated {
                file: IndexFile::Log,
                offset,
                what: "record header",
            });
        };
        let size = decode_offset([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        let type_bits = u32_at(hdr, 4).unwrap_or(0);
        if size < 8 {
            return Err(IndexError::corrupt(IndexFile::Log, offset, "record size too small"));
        }
        let Some(record) = bytes.get(pos..pos + size) else {
            return Err(IndexError::Truncated { file: IndexFile::Log, offset, what: "record" });
        };
        let rec = RawRecord { offset, type_bits, payload: &record[8..] };
        if rec.kind() == kind::BOUNDARY {
            let tsize = u32_at(rec.payload, 0).unwrap_or(0) as usize;
            if tsize < size || pos + tsize > bytes.len() {
                return Err(IndexError::Truncated {
                    file: IndexFile::Log,
                    offset,
                    what: "transaction",
                });
            }
        }
        out.push(rec);
        pos += size;
    }
    Ok(out)
}

/// One patch of a header: `data` at byte `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPatch {
    /// Byte offset into the header.
    pub offset: u32,
    /// New bytes.
    pub data: Vec<u8>,
}

/// EXT_INTRO payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtIntro {
    /// Position in the index's extension list, or `u32::MAX` to resolve by name.
    pub ext_id: u32,
    /// Reset id the following updates are meant for.
    pub reset_id: u32,
    /// Extension header size.
    pub hdr_size: u32,
    /// Per-message record size.
    pub record_size: u16,
    /// Per-message record alignment.
    pub record_align: u16,
    /// Flags (1 = don't shrink).
    pub flags: u16,
    /// Name (empty when introduced by id).
    pub name: String,
}

/// A decoded record. Payloads whose meaning needs extension state (EXT_REC_UPDATE,
/// EXT_ATOMIC_INC) stay raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// Expunged UID ranges.
    Expunge(Vec<(u32, u32)>),
    /// Appended messages: (uid, flags).
    Append(Vec<(u32, u8)>),
    /// Flag updates: (uid1, uid2, add, remove, modseq_inc_flag).
    FlagUpdate(Vec<(u32, u32, u8, u8, u8)>),
    /// Base header patches.
    HeaderUpdate(Vec<HeaderPatch>),
    /// Extension selection.
    ExtIntro(ExtIntro),
    /// Extension reset: (new_reset_id, preserve_data).
    ExtReset(u32, u8),
    /// Extension header patches (16- or 32-bit form).
    ExtHdrUpdate(Vec<HeaderPatch>),
    /// Raw EXT_REC_UPDATE entries (uid + record_size data, padded).
    ExtRecUpdate(Vec<u8>),
    /// Keyword change: add (`false`) or remove (`true`), name, UID ranges.
    KeywordUpdate {
        /// `true` for remove.
        remove: bool,
        /// Keyword name.
        name: String,
        /// UID ranges.
        uids: Vec<(u32, u32)>,
    },
    /// Keyword reset ranges.
    KeywordReset(Vec<(u32, u32)>),
    /// Raw EXT_ATOMIC_INC.
    ExtAtomicInc(Vec<u8>),
    /// Expunges by GUID: (uid, guid).
    ExpungeGuid(Vec<(u32, [u8; 16])>),
    /// Modseq updates: (uid, modseq).
    ModseqUpdate(Vec<(u32, u64)>),
    /// Mailbox marked deleted.
    IndexDeleted,
    /// Mailbox marked undeleted.
    IndexUndeleted,
    /// Transaction boundary with the transaction's total size.
    Boundary(u32),
    /// Raw ATTRIBUTE_UPDATE.
    AttributeUpdate(Vec<u8>),
}

fn bad(rec: &RawRecord<'_>, what: &str) -> IndexError {
    IndexError::corrupt(IndexFile::Log, rec.offset, format!("malformed {what} record"))
}

fn u32_pairs(rec: &RawRecord<'_>, what: &str) -> Result<Vec<(u32, u32)>, IndexError> {
    if !rec.payload.len().is_multiple_of(8) {
        return Err(bad(rec, what));
    }
    Ok(rec
        .payload
        .chunks_exact(8)
        .map(|c| (u32_at(c, 0).unwrap_or(0), u32_at(c, 4).unwrap_or(0)))
        .collect())
}

fn header_patches(rec: &RawRecord<'_>, wide: bool) -> Result<Vec<HeaderPatch>, IndexError> {
    let p = rec.payload;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < p.len() {
        let (offset, size, data_at) = if wide {
            (u32_at(p, pos), u32_at(p, pos + 4).map(|s| s as usize), pos + 8)
        } else {
            (u16_at(p, pos).map(u32::from), u16_at(p, pos + 2).map(usize::from), pos + 4)
        };
        let (Some(offset), Some(size)) = (offset, size) else { return Err(bad(rec, "header")) };
        let Some(data) = p.get(data_at..data_at.saturating_add(size)) else {
            return Err(bad(rec, "header"));
        };
        if size == 0 {
            return Err(bad(rec, "header"));
        }
        out.push(HeaderPatch { offset, data: data.to_vec() });
        pos = pad4(data_at + size);
    }
    Ok(out)
}

fn ext_intro(rec: &RawRecord<'_>) -> Result<ExtIntro, IndexError> {
    let p = rec.payload;
    let get = |o| u32_at(p, o).ok_or_else(|| bad(rec, "ext-intro"));
    let get16 = |o| u16_at(p, o).ok_or_else(|| bad(rec, "ext-intro"));
    let name_size = usize::from(get16(18)?);
    let name = p.get(20..20 + name_size).ok_or_else(|| bad(rec, "ext-intro"))?;
    Ok(ExtIntro {
        ext_id: get(0)?,
        reset_id: get(4)?,
        hdr_size: get(8)?,
        record_size: get16(12)?,
        record_align: get16(14)?,
        flags: get16(16)?,
        name: String::from_utf8_lossy(name).into_owned(),
    })
}

fn keyword_update(rec: &RawRecord<'_>) -> Result<LogRecord, IndexError> {
    let p = rec.payload;
    let name_size = usize::from(u16_at(p, 2).ok_or_else(|| bad(rec, "keyword"))?);
    let name = p.get(4..4 + name_size).ok_or_else(|| bad(rec, "keyword"))?;
    let rest = p.get(pad4(4 + name_size)..).ok_or_else(|| bad(rec, "keyword"))?;
    let sub = RawRecord { payload: rest, ..*rec };
    Ok(LogRecord::KeywordUpdate {
        remove: p[0] != 0,
        name: String::from_utf8_lossy(name).into_owned(),
        uids: u32_pairs(&sub, "keyword")?,
    })
}

impl LogRecord {
    /// Decodes a framed record; unknown kinds are [`IndexError::Unsupported`].
    pub fn decode(rec: &RawRecord<'_>) -> Result<LogRecord, IndexError> {
        let p = rec.payload;
        Ok(match rec.kind() {
            kind::EXPUNGE => LogRecord::Expunge(u32_pairs(rec, "expunge")?),
            kind::APPEND => {
                if !p.len().is_multiple_of(8) {
                    return Err(bad(rec, "append"));
                }
                LogRecord::Append(
                    p.chunks_exact(8).map(|c| (u32_at(c, 0).unwrap_or(0), c[4])).collect(),
                )
            }
            kind::FLAG_UPDATE => {
                if !p.len().is_multiple_of(12) {
                    return Err(bad(rec, "flag-update"));
                }
                LogRecord::FlagUpdate(
                    p.chunks_exact(12)
                        .map(|c| {
                            (
                                u32_at(c, 0).unwrap_or(0),
                                u32_at(c, 4).unwrap_or(0),
                                c[8],
                                c[9],
                                c[10],
                            )
                        })
                        .collect(),
                )
            }
            kind::HEADER_UPDATE => LogRecord::HeaderUpdate(header_patches(rec, false)?),
            kind::EXT_INTRO => LogRecord::ExtIntro(ext_intro(rec)?),
            kind::EXT_RESET => LogRecord::ExtReset(
                u32_at(p, 0).ok_or_else(|| bad(rec, "ext-reset"))?,
                p.get(4).copied().unwrap_or(0),
            ),
            kind::EXT_HDR_UPDATE => LogRecord::ExtHdrUpdate(header_patches(rec, false)?),
            kind::EXT_HDR_UPDATE32 => LogRecord::ExtHdrUpdate(header_patches(rec, true)?),
            kind::EXT_REC_UPDATE => LogRecord::ExtRecUpdate(p.to_vec()),
            kind::KEYWORD_UPDATE => keyword_update(rec)?,
            kind::KEYWORD_RESET => LogRecord::KeywordReset(u32_pairs(rec, "keyword-reset")?),
            kind::EXT_ATOMIC_INC => LogRecord::ExtAtomicInc(p.to_vec()),
            kind::EXPUNGE_GUID => {
                if !p.len().is_multiple_of(20) {
                    return Err(bad(rec, "expunge-guid"));
                }
                LogRecord::ExpungeGuid(
                    p.chunks_exact(20)
                        .map(|c| {
                            let mut g = [0u8; 16];
                            g.copy_from_slice(&c[4..20]);
                            (u32_at(c, 0).unwrap_or(0), g)
                        })
                        .collect(),
                )
            }
            kind::MODSEQ_UPDATE => {
                if !p.len().is_multiple_of(12) {
                    return Err(bad(rec, "modseq-update"));
                }
                LogRecord::ModseqUpdate(
                    p.chunks_exact(12)
                        .map(|c| {
                            let low = u64::from(u32_at(c, 4).unwrap_or(0));
                            let high = u64::from(u32_at(c, 8).unwrap_or(0));
                            (u32_at(c, 0).unwrap_or(0), high << 32 | low)
                        })
                        .collect(),
                )
            }
            kind::INDEX_DELETED => LogRecord::IndexDeleted,
            kind::INDEX_UNDELETED => LogRecord::IndexUndeleted,
            kind::BOUNDARY => {
                LogRecord::Boundary(u32_at(p, 0).ok_or_else(|| bad(rec, "boundary"))?)
            }
            kind::ATTRIBUTE_UPDATE => LogRecord::AttributeUpdate(p.to_vec()),
            other => {
                return Err(IndexError::unsupported(format!(
                    "unknown log record type {other:#x} at offset {}",
                    rec.offset
                )));
            }
        })
    }
}

/// Builds one transaction: records are `(kind, payload)`, all written with the EXTERNAL
/// flag; more than one record gets a leading BOUNDARY carrying the total size, as
/// Dovecot's LDA writes them.
pub fn build_transaction(records: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let body_len: usize = records.iter().map(|(_, p)| 8 + pad4(p.len())).sum();
    let mut out = Vec::with_capacity(body_len + 12);
    if records.len() > 1 {
        push_record(&mut out, kind::BOUNDARY, &((body_len + 12) as u32).to_le_bytes());
    }
    for (k, payload) in records {
        push_record(&mut out, *k, payload);
    }
    out
}

fn push_record(out: &mut Vec<u8>, k: u32, payload: &[u8]) {
    let size = 8 + pad4(payload.len());
    out.extend_from_slice(&encode_offset(size as u32));
    out.extend_from_slice(&(k | kind::EXTERNAL).to_le_bytes());
    out.extend_from_slice(payload);
    pad_to4(out);
}

/// Payload of an APPEND of one message.
pub fn append_payload(uid: u32, flags: u8) -> Vec<u8> {
    let mut p = uid.to_le_bytes().to_vec();
    p.extend_from_slice(&[flags, 0, 0, 0]);
    p
}

/// Payload of an EXT_INTRO.
pub fn ext_intro_payload(intro: &ExtIntro) -> Vec<u8> {
    let mut p = Vec::with_capacity(20 + intro.name.len());
    p.extend_from_slice(&intro.ext_id.to_le_bytes());
    p.extend_from_slice(&intro.reset_id.to_le_bytes());
    p.extend_from_slice(&intro.hdr_size.to_le_bytes());
    p.extend_from_slice(&intro.record_size.to_le_bytes());
    p.extend_from_slice(&intro.record_align.to_le_bytes());
    p.extend_from_slice(&intro.flags.to_le_bytes());
    p.extend_from_slice(&(intro.name.len() as u16).to_le_bytes());
    p.extend_from_slice(intro.name.as_bytes());
    pad_to4(&mut p);
    p
}

/// Payload of a HEADER_UPDATE or EXT_HDR_UPDATE (16-bit form) with the given patches.
pub fn header_update_payload(patches: &[HeaderPatch]) -> Vec<u8> {
    let mut p = Vec::new();
    for patch in patches {
        p.extend_from_slice(&(patch.offset as u16).to_le_bytes());
        p.extend_from_slice(&(patch.data.len() as u16).to_le_bytes());
        p.extend_from_slice(&patch.data);
        pad_to4(&mut p);
    }
    p
}

/// Payload of an EXT_RESET.
pub fn ext_reset_payload(new_reset_id: u32) -> Vec<u8> {
    let mut p = new_reset_id.to_le_bytes().to_vec();
    p.extend_from_slice(&[0, 0, 0, 0]);
    p
}

/// Payload of a one-message EXT_REC_UPDATE.
pub fn ext_rec_payload(uid: u32, data: &[u8]) -> Vec<u8> {
    let mut p = uid.to_le_bytes().to_vec();
    p.extend_from_slice(data);
    pad_to4(&mut p);
    p
}

/// Payload of a KEYWORD_UPDATE adding `name` to UIDs `uid1..=uid2`.
pub fn keyword_add_payload(name: &str, uid1: u32, uid2: u32) -> Vec<u8> {
    let mut p = vec![0u8, 0];
    p.extend_from_slice(&(name.len() as u16).to_le_bytes());
    p.extend_from_slice(name.as_bytes());
    pad_to4(&mut p);
    p.extend_from_slice(&uid1.to_le_bytes());
    p.extend_from_slice(&uid2.to_le_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_encoding_matches_observed_bytes() {
        assert_eq!(encode_offset(12), [0x80, 0x80, 0x80, 0x83]);
        assert_eq!(encode_offset(36), [0x80, 0x80, 0x80, 0x89]);
        assert_eq!(encode_offset(1000), [0x80, 0x80, 0x81, 0xfa]);
        for v in (0..1 << 20).step_by(4 * 97) {
            assert_eq!(decode_offset(encode_offset(v)), v);
        }
        assert_eq!(decode_offset([0x80, 0x80, 0x00, 0x83]), 0);
    }

    #[test]
    fn transaction_round_trips_through_the_splitter() {
        let t = build_transaction(&[
            (kind::APPEND, append_payload(7, 0x0a)),
            (kind::KEYWORD_UPDATE, keyword_add_payload("$Label1", 7, 7)),
        ]);
        let recs = split_records(&t, 500).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(LogRecord::decode(&recs[0]).unwrap(), LogRecord::Boundary(t.len() as u32));
        assert_eq!(LogRecord::decode(&recs[1]).unwrap(), LogRecord::Append(vec![(7, 0x0a)]));
        assert_eq!(recs[2].offset, 500 + 12 + 16);
        assert!(recs.iter().all(RawRecord::is_external));
        match LogRecord::decode(&recs[2]).unwrap() {
            LogRecord::KeywordUpdate { remove, name, uids } => {
                assert!(!remove);
                assert_eq!(name, "$Label1");
                assert_eq!(uids, vec![(7, 7)]);
            }
            other => panic!("unexpected {other:?}"),
        }
        for cut in 0..t.len() {
            assert!(split_records(&t[..cut], 0).is_err() || cut == 0);
        }
    }

    #[test]
    fn header_round_trips_and_rejects_bad_versions() {
        let h = LogHeader::fresh(0x6b07_0a7a, 0x6b07_0a7a);
        assert_eq!(LogHeader::parse(&h.to_bytes()).unwrap(), h);
        let mut b = h.to_bytes();
        b[1] = 2;
        assert!(matches!(LogHeader::parse(&b), Err(IndexError::Unsupported(_))));
        let mut b = h.to_bytes();
        b[4..8].fill(0);
        assert!(matches!(LogHeader::parse(&b), Err(IndexError::Corrupt { .. })));
        assert!(LogHeader::parse(&h.to_bytes()[..20]).is_err());
    }
}
