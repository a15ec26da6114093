//! Applying `dovecot.index.log` records to a whole [`IndexMap`], the way Dovecot's sync
//! updates its in-memory index before writing `dovecot.index` (index-files.md §3.2, §4.5),
//! and the rules for *when* Dovecot's LDA rewrites the snapshot and rotates the log.
//!
//! Supported: every record a delivery-only history holds plus the simple ones Dovecot's
//! IMAP writes — APPEND, FLAG_UPDATE, KEYWORD_UPDATE, KEYWORD_RESET, EXPUNGE and
//! EXPUNGE_GUID (external ones remove records; others are only requests), EXT_INTRO,
//! EXT_RESET, EXT_HDR_UPDATE(32), EXT_REC_UPDATE, HEADER_UPDATE and BOUNDARY. Anything
//! else (MODSEQ_UPDATE, EXT_ATOMIC_INC, ATTRIBUTE_UPDATE, mailbox deletion, dirty flags,
//! the `modseq` extension, a record-size change of an extension that already has records)
//! is [`IndexError::Unsupported`], so the caller writes nothing.
//!
//! Dovecot facts mirrored (dovecot/core@2.3.19.1 src/lib-index/mail-index-sync-*.c, as
//! observed): a HEADER_UPDATE never moves `log_file_tail_offset` (the tail is set when
//! the snapshot is written) and never lowers `next_uid`; an intro whose reset id differs
//! from the extension's makes the following updates of that extension ignored until an
//! EXT_RESET; flags are updated as `(old & !remove) | add`, keeping the seen/deleted
//! counters and the unseen/deleted low-water marks.

use super::index_log::{ExtIntro, LogHeader, LogRecord, RawRecord, split_records};
use super::index_main::field;
use super::index_map::{IndexMap, KEYWORDS_EXT, MapExt, keywords_ext_sizes, keywords_header};
use super::{IndexError, IndexFile, ReadAt, pad4, read_exact, u32_at};

/// Flag bits (index-files.md §2).
const SEEN: u8 = 0x08;
const DELETED: u8 = 0x04;
const DIRTY: u8 = 0x80;
/// Largest extension header accepted from a log intro.
const MAX_EXT_HDR: u32 = 64 << 10;
/// Largest per-message extension data accepted from a log intro, and most extensions: keeps
/// every record offset far inside 16 bits (Dovecot's own files have a handful of small ones).
const MAX_EXT_RECORD: u16 = 512;
const MAX_EXTENSIONS: usize = 32;
/// `dovecot.index` base header `flags` bit: some records have dirty flags.
const HDR_HAVE_DIRTY: u32 = 2;

/// The extension the next EXT_* records of a transaction refer to.
#[derive(Debug, Clone, Copy)]
struct Cur {
    id: usize,
    ignore: bool,
    record_size: u16,
}

fn corrupt(rec: &RawRecord<'_>, reason: impl Into<String>) -> IndexError {
    IndexError::corrupt(IndexFile::Log, rec.offset, reason)
}

fn unsupported(rec: &RawRecord<'_>, what: &str) -> IndexError {
    IndexError::unsupported(format!("{what} at log offset {}", rec.offset))
}

impl IndexMap {
    /// Applies the log records in `bytes` (which start at log offset `start` and must end
    /// at a transaction boundary). On error the map is left half-updated: discard it.
    pub fn apply_log(&mut self, bytes: &[u8], start: u64) -> Result<(), IndexError> {
        if self.get(field::FLAGS) & HDR_HAVE_DIRTY != 0 {
            return Err(IndexError::unsupported("dovecot.index has dirty flags"));
        }
        if self.ext_id("modseq").is_some() {
            return Err(IndexError::unsupported("dovecot.index has the modseq extension"));
        }
        let mut cur = None;
        for rec in split_records(bytes, start)? {
            self.apply_record(&rec, &mut cur)?;
        }
        Ok(())
    }

    fn apply_record(
        &mut self,
        rec: &RawRecord<'_>,
        cur: &mut Option<Cur>,
    ) -> Result<(), IndexError> {
        match LogRecord::decode(rec)? {
            LogRecord::Boundary(_) => *cur = None,
            LogRecord::Append(entries) => {
                for (uid, flags) in entries {
                    self.append(rec, uid, flags)?;
                }
            }
            LogRecord::FlagUpdate(entries) => {
                for (uid1, uid2, add, remove, _) in entries {
                    if (add | remove) & DIRTY != 0 {
                        return Err(unsupported(rec, "dirty flag update"));
                    }
                    for i in self.range(uid1, uid2) {
                        let old = self.flags(i);
                        let new = (old & !remove) | add;
                        self.record_mut(i)[4] = new;
                        self.update_counts(rec, self.uid(i), (old, new), true)?;
                    }
                }
            }
            LogRecord::HeaderUpdate(patches) => self.header_update(rec, &patches)?,
            LogRecord::ExtIntro(intro) => *cur = Some(self.ext_intro(rec, &intro)?),
            LogRecord::ExtReset(reset_id, preserve) => {
                let c = cur.as_mut().ok_or_else(|| corrupt(rec, "ext-reset without intro"))?;
                self.ext_reset(c.id, reset_id, preserve != 0);
                c.ignore = false;
            }
            LogRecord::ExtHdrUpdate(patches) => {
                let c = cur.ok_or_else(|| corrupt(rec, "ext-hdr without intro"))?;
                for p in patches.iter().filter(|_| !c.ignore) {
                    let start = p.offset as usize;
                    let hdr = &mut self.exts[c.id].hdr;
                    let Some(dst) = hdr.get_mut(start..start + p.data.len()) else {
                        return Err(corrupt(rec, "ext-hdr update past the extension header"));
                    };
                    dst.copy_from_slice(&p.data);
                }
            }
            LogRecord::ExtRecUpdate(raw) => {
                let c = cur.ok_or_else(|| corrupt(rec, "ext-rec without intro"))?;
                if !c.ignore {
                    self.ext_rec_update(rec, c, &raw)?;
                }
            }
            LogRecord::KeywordUpdate { remove, name, uids } => {
                self.keyword_update(rec, remove, &name, &uids)?
            }
            LogRecord::KeywordReset(ranges) => self.keyword_reset(&ranges),
            LogRecord::Expunge(ranges) => {
                if rec.is_external() {
                    for (uid1, uid2) in ranges {
                        self.expunge(rec, uid1, uid2)?;
                    }
                }
            }
            LogRecord::ExpungeGuid(entries) => {
                if rec.is_external() {
                    for (uid, _) in entries {
                        self.expunge(rec, uid, uid)?;
                    }
                }
            }
            LogRecord::ModseqUpdate(_) => return Err(unsupported(rec, "modseq update")),
            LogRecord::ExtAtomicInc(_) => return Err(unsupported(rec, "ext atomic inc")),
            LogRecord::AttributeUpdate(_) => return Err(unsupported(rec, "attribute update")),
            LogRecord::IndexDeleted | LogRecord::IndexUndeleted => {
                return Err(unsupported(rec, "mailbox (un)deletion"));
            }
        }
        Ok(())
    }

    fn append(&mut self, rec: &RawRecord<'_>, uid: u32, flags: u8) -> Result<(), IndexError> {
        if flags & DIRTY != 0 {
            return Err(unsupported(rec, "append with dirty flags"));
        }
        let next = self.get(field::NEXT_UID);
        if uid < next || uid == 0 {
            return Err(corrupt(rec, format!("append with UID {uid}, but next_uid = {next}")));
        }
        self.push_record(uid, flags);
        self.set(field::NEXT_UID, uid.saturating_add(1));
        self.set(field::MESSAGES_COUNT, self.messages() as u32);
        self.update_counts(rec, uid, (0, flags), true)
    }

    fn expunge(&mut self, rec: &RawRecord<'_>, uid1: u32, uid2: u32) -> Result<(), IndexError> {
        let range = self.range(uid1, uid2);
        for i in range.clone() {
            self.update_counts(rec, self.uid(i), (self.flags(i), 0), false)?;
        }
        self.remove_records(range);
        self.set(field::MESSAGES_COUNT, self.messages() as u32);
        Ok(())
    }

    /// Seen/deleted counters on a flag change, and the low-water marks for `new` flags
    /// (only lowered; an expunge leaves them alone).
    fn update_counts(
        &mut self,
        rec: &RawRecord<'_>,
        uid: u32,
        (old, new): (u8, u8),
        lowwater: bool,
    ) -> Result<(), IndexError> {
        let (seen_low, deleted_low) = (52, 56);
        let next_uid = self.get(field::NEXT_UID);
        for (bit, counter, low) in [(SEEN, 40, seen_low), (DELETED, 44, deleted_low)] {
            let count = self.get(counter);
            if old & bit != 0 && new & bit == 0 {
                let Some(n) = count.checked_sub(1) else {
                    return Err(corrupt(rec, "seen/deleted counter below zero"));
                };
                self.set(counter, n);
                // No \Deleted message left: every UID below next_uid is known undeleted.
                if bit == DELETED && n == 0 {
                    self.set(low, next_uid);
                }
            } else if old & bit == 0 && new & bit != 0 {
                if count as usize >= self.messages() {
                    return Err(corrupt(rec, "seen/deleted counter above messages_count"));
                }
                self.set(counter, count + 1);
                // Every message \Seen: no unseen UID below next_uid.
                if bit == SEEN && count as usize + 1 == self.messages() {
                    self.set(low, next_uid);
                }
            }
        }
        if !lowwater {
            return Ok(());
        }
        if new & SEEN == 0 && uid < self.get(seen_low) {
            self.set(seen_low, uid);
        }
        if new & DELETED != 0 && uid < self.get(deleted_low) {
            self.set(deleted_low, uid);
        }
        Ok(())
    }

    fn header_update(
        &mut self,
        rec: &RawRecord<'_>,
        patches: &[super::index_log::HeaderPatch],
    ) -> Result<(), IndexError> {
        let tail = self.get(field::LOG_FILE_TAIL_OFFSET);
        let next_uid = self.get(field::NEXT_UID);
        for p in patches {
            let (start, end) = (p.offset as usize, p.offset as usize + p.data.len());
            // header_size, record_size, compat flags, indexid, messages_count are the
            // file's own structure: nobody patches them.
            if start < field::FLAGS || (start < 36 && end > field::MESSAGES_COUNT) {
                return Err(unsupported(rec, "header update of a structural field"));
            }
            let Some(dst) = self.base.get_mut(start..end) else {
                return Err(unsupported(rec, "header update past the base header"));
            };
            dst.copy_from_slice(&p.data);
        }
        self.set(field::LOG_FILE_TAIL_OFFSET, tail);
        if self.get(field::NEXT_UID) < next_uid {
            self.set(field::NEXT_UID, next_uid);
        }
        if self.get(field::FLAGS) & HDR_HAVE_DIRTY != 0 {
            return Err(unsupported(rec, "header flags with dirty records"));
        }
        Ok(())
    }

    fn ext_intro(&mut self, rec: &RawRecord<'_>, intro: &ExtIntro) -> Result<Cur, IndexError> {
        if intro.name == KEYWORDS_EXT {
            return Err(corrupt(rec, "ext-intro for keywords"));
        }
        if intro.name == "modseq" {
            return Err(unsupported(rec, "modseq extension"));
        }
        if intro.hdr_size > MAX_EXT_HDR {
            return Err(unsupported(rec, "huge extension header"));
        }
        if intro.record_size > 0 && !intro.record_align.is_power_of_two() {
            return Err(unsupported(rec, "extension record alignment"));
        }
        if intro.record_size > MAX_EXT_RECORD || intro.record_align > MAX_EXT_RECORD {
            return Err(unsupported(rec, "huge extension record"));
        }
        let by_name = intro.ext_id == u32::MAX || !intro.name.is_empty();
        let existing = if by_name {
            self.ext_id(&intro.name)
        } else {
            Some(intro.ext_id as usize).filter(|&i| i < self.exts.len())
        };
        let Some(id) = existing else {
            if intro.name.is_empty() {
                return Err(corrupt(rec, "ext-intro for unknown id"));
            }
            if self.exts.len() >= MAX_EXTENSIONS {
                return Err(unsupported(rec, "too many extensions"));
            }
            return Ok(self.register(intro));
        };
        if self.exts[id].name == KEYWORDS_EXT {
            return Err(corrupt(rec, "ext-intro for keywords"));
        }
        let ext = &self.exts[id];
        let no_shrink = intro.flags & 1 != 0;
        let hdr_size =
            if no_shrink { intro.hdr_size.max(ext.hdr.len() as u32) } else { intro.hdr_size };
        let (size, align) = if no_shrink && intro.record_size < ext.record_size {
            (ext.record_size, ext.record_align)
        } else {
            (intro.record_size, intro.record_align)
        };
        if (hdr_size as usize) < ext.hdr.len() {
            return Err(unsupported(rec, "extension header shrink"));
        }
        let ignore = intro.reset_id != ext.reset_id;
        self.exts[id].hdr.resize(hdr_size as usize, 0);
        if (size, align) != (self.exts[id].record_size, self.exts[id].record_align) {
            if self.messages() > 0 && self.exts[id].record_size > 0 {
                return Err(unsupported(rec, "record size change of an extension with records"));
            }
            self.resize_records(id, size, align);
        }
        Ok(Cur { id, ignore, record_size: intro.record_size })
    }

    fn register(&mut self, intro: &ExtIntro) -> Cur {
        self.exts.push(MapExt {
            name: intro.name.clone(),
            reset_id: intro.reset_id,
            hdr: vec![0; intro.hdr_size as usize],
            record_offset: 0,
            record_size: 0,
            record_align: 0,
        });
        let id = self.exts.len() - 1;
        // Registering any extension lays the records out again (its alignment counts
        // even without per-message data: observed 12 -> 16-byte records for `hdr-vsize`).
        self.resize_records(id, intro.record_size, intro.record_align);
        Cur { id, ignore: false, record_size: intro.record_size }
    }

    fn ext_reset(&mut self, id: usize, reset_id: u32, preserve: bool) {
        self.exts[id].reset_id = reset_id;
        if preserve {
            return;
        }
        self.exts[id].hdr.fill(0);
        let (off, size) =
            (usize::from(self.exts[id].record_offset), usize::from(self.exts[id].record_size));
        for i in 0..self.messages() {
            self.record_mut(i)[off..off + size].fill(0);
        }
    }

    fn ext_rec_update(
        &mut self,
        rec: &RawRecord<'_>,
        c: Cur,
        raw: &[u8],
    ) -> Result<(), IndexError> {
        let ext = &self.exts[c.id];
        if c.record_size != ext.record_size || ext.record_size == 0 {
            return Err(unsupported(rec, "ext-rec update with another record size"));
        }
        let (off, size) = (usize::from(ext.record_offset), usize::from(ext.record_size));
        let step = pad4(4 + size);
        if !raw.len().is_multiple_of(step) {
            return Err(corrupt(rec, "malformed ext-rec update"));
        }
        for entry in raw.chunks_exact(step) {
            let uid = u32_at(entry, 0).unwrap_or(0);
            if let Some(i) = self.range(uid, uid).next() {
                self.record_mut(i)[off..off + size].copy_from_slice(&entry[4..4 + size]);
            }
        }
        Ok(())
    }

    fn keyword_update(
        &mut self,
        rec: &RawRecord<'_>,
        remove: bool,
        name: &str,
        uids: &[(u32, u32)],
    ) -> Result<(), IndexError> {
        if name.is_empty() {
            return Err(corrupt(rec, "empty keyword"));
        }
        let names = self.keywords()?;
        if names.iter().any(|n| n != name && n.eq_ignore_ascii_case(name)) {
            return Err(unsupported(rec, "keyword differing only in case"));
        }
        let idx = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None if remove => return Ok(()),
            None => self.add_keyword(rec, names, name)?,
        };
        let id = self.ext_id(KEYWORDS_EXT).ok_or_else(|| corrupt(rec, "keywords vanished"))?;
        let byte = usize::from(self.exts[id].record_offset) + idx / 8;
        let bit = 1u8 << (idx % 8);
        for &(uid1, uid2) in uids {
            for i in self.range(uid1, uid2) {
                let b = &mut self.record_mut(i)[byte];
                *b = if remove { *b & !bit } else { *b | bit };
            }
        }
        Ok(())
    }

    /// Adds `name` to the keywords header, growing the extension as Dovecot does.
    fn add_keyword(
        &mut self,
        rec: &RawRecord<'_>,
        mut names: Vec<String>,
        name: &str,
    ) -> Result<usize, IndexError> {
        names.push(name.to_owned());
        if names.len() > 1024 {
            return Err(unsupported(rec, "more than 1024 keywords"));
        }
        let used = keywords_header(&names);
        let (hdr_size, rec_size) = keywords_ext_sizes(&names);
        let id = match self.ext_id(KEYWORDS_EXT) {
            Some(id) => id,
            None => {
                let intro = ExtIntro {
                    ext_id: u32::MAX,
                    reset_id: 0,
                    hdr_size: 0,
                    record_size: 0,
                    record_align: 0,
                    flags: 0,
                    name: KEYWORDS_EXT.into(),
                };
                self.register(&intro).id
            }
        };
        let ext = &self.exts[id];
        let fits = ext.hdr.len() >= used.len() && usize::from(ext.record_size) * 8 >= names.len();
        if !fits {
            if hdr_size < ext.hdr.len() || rec_size < ext.record_size {
                return Err(unsupported(rec, "keywords extension would shrink"));
            }
            let old_rec_size = ext.record_size;
            self.exts[id].hdr.resize(hdr_size, 0);
            if rec_size != old_rec_size {
                self.resize_records(id, rec_size, 1);
            }
        }
        let hdr = &mut self.exts[id].hdr;
        hdr[..used.len()].copy_from_slice(&used);
        hdr[used.len()..].fill(0);
        Ok(names.len() - 1)
    }

    fn keyword_reset(&mut self, ranges: &[(u32, u32)]) {
        let Some(id) = self.ext_id(KEYWORDS_EXT) else { return };
        let (off, size) =
            (usize::from(self.exts[id].record_offset), usize::from(self.exts[id].record_size));
        for &(uid1, uid2) in ranges {
            for i in self.range(uid1, uid2) {
                self.record_mut(i)[off..off + size].fill(0);
            }
        }
    }
}

/// Largest `dovecot.index` read for a rewrite (a million messages is ~12 MB).
pub const MAX_INDEX_FILE: u64 = 64 << 20;

/// The snapshot Dovecot would write after syncing the log up to `upto`: the existing
/// `dovecot.index` (or an empty map when there is none and the log was never rotated)
/// with the log records from its head offset to `upto` applied, pointing at `upto` of the
/// current log. Refuses (typed error) whatever it cannot reproduce exactly.
pub fn rebuild_index(
    index: Option<&dyn ReadAt>,
    log: &dyn ReadAt,
    upto: u64,
) -> Result<IndexMap, IndexError> {
    let first = read_exact(log, IndexFile::Log, 0, 24, "log header")?;
    let hdr_len = usize::from(super::u16_at(&first, 2).unwrap_or(0)).max(24);
    let log_hdr = LogHeader::parse(&read_exact(log, IndexFile::Log, 0, hdr_len, "log header")?)?;
    let mut map = match index {
        Some(index) => {
            let size = index.size().map_err(|source| IndexError::Io {
                file: IndexFile::Index,
                offset: 0,
                len: 0,
                source,
            })?;
            if size > MAX_INDEX_FILE {
                return Err(IndexError::unsupported(format!("dovecot.index of {size} bytes")));
            }
            IndexMap::parse(&read_exact(index, IndexFile::Index, 0, size as usize, "index")?)?
        }
        None if log_hdr.prev_file_seq == 0 => IndexMap::empty(&log_hdr),
        None => return Err(IndexError::unsupported("no dovecot.index but the log was rotated")),
    };
    if map.get(field::INDEXID) != log_hdr.indexid {
        return Err(IndexError::unsupported("dovecot.index and log have different indexids"));
    }
    if map.get(field::LOG_FILE_SEQ) != log_hdr.file_seq {
        return Err(IndexError::unsupported("dovecot.index points to another log file"));
    }
    let start = if index.is_some() {
        u64::from(map.get(field::LOG_FILE_HEAD_OFFSET))
    } else {
        u64::from(log_hdr.hdr_size)
    };
    if start < u64::from(log_hdr.hdr_size) || start > upto || upto > u64::from(u32::MAX) {
        return Err(IndexError::unsupported("dovecot.index head offset outside the log"));
    }
    let tail = read_exact(log, IndexFile::Log, start, (upto - start) as usize, "log tail")?;
    map.apply_log(&tail, start)?;
    map.set_log_position(log_hdr.file_seq, upto as u32);
    Ok(map)
}

/// The highest modseq after the log records up to `upto` (all read from the log's start):
/// what a rotated log's `initial_modseq` must be (index-files.md §3.4, §3.9).
pub fn highest_modseq(log: &dyn ReadAt, upto: u64) -> Result<u64, IndexError> {
    let bytes = read_exact(log, IndexFile::Log, 0, upto as usize, "log")?;
    let hdr = LogHeader::parse(&bytes)?;
    let mut modseq = hdr.initial_modseq;
    for rec in split_records(&bytes[usize::from(hdr.hdr_size)..], u64::from(hdr.hdr_size))? {
        match LogRecord::decode(&rec)? {
            LogRecord::Append(_)
            | LogRecord::KeywordUpdate { .. }
            | LogRecord::KeywordReset(_)
            | LogRecord::AttributeUpdate(_) => modseq += 1,
            LogRecord::Expunge(_) | LogRecord::ExpungeGuid(_) if rec.is_external() => modseq += 1,
            LogRecord::FlagUpdate(entries)
                if entries.iter().any(|e| e.4 != 0 || (e.2 | e.3) & !0xc0 != 0) =>
            {
                modseq += 1
            }
            LogRecord::ModseqUpdate(entries) => {
                modseq = entries.iter().map(|e| e.1).fold(modseq, u64::max);
            }
            _ => {}
        }
    }
    Ok(modseq)
}

/// Dovecot's `mail_index_rewrite_*` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewriteSettings {
    /// `mail_index_rewrite_min_log_bytes` (8k).
    pub min_log_bytes: u64,
    /// `mail_index_rewrite_max_log_bytes` (128k).
    pub max_log_bytes: u64,
}

impl Default for RewriteSettings {
    fn default() -> Self {
        RewriteSettings { min_log_bytes: 8 << 10, max_log_bytes: 128 << 10 }
    }
}

/// Whether Dovecot's LDA rewrites `dovecot.index` at the end of its sync (observed with
/// dovecot-lda 2.3.19 and small thresholds, index-files.md §4.5). `index_tail`: the tail
/// offset in the on-disk `dovecot.index` (`None` when there is none); `replayed`: log bytes
/// read after its head offset when the mailbox was opened; `sync_end`: the log offset after
/// the sync transactions. The log bytes not in the snapshot must exceed the max threshold,
/// or exceed the min threshold when the open had to replay more than the min threshold
/// (which always counts as true without a snapshot).
pub fn should_rewrite(
    index_tail: Option<u32>,
    replayed: u64,
    sync_end: u64,
    s: &RewriteSettings,
) -> bool {
    let diff = sync_end.saturating_sub(u64::from(index_tail.unwrap_or(0)));
    let min_write = index_tail.is_none() || replayed > s.min_log_bytes;
    diff > s.max_log_bytes || (min_write && diff > s.min_log_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::index_log::{
        HeaderPatch, append_payload, build_transaction, ext_intro_payload, ext_rec_payload,
        header_update_payload, keyword_add_payload, kind,
    };

    /// A log with appends, a cache extension, keywords, flag changes and an expunge.
    fn sample_log() -> Vec<u8> {
        let hdr = LogHeader::fresh(77, 77);
        let mut log = hdr.to_bytes().to_vec();
        let cache = ExtIntro {
            ext_id: u32::MAX,
            reset_id: 5,
            hdr_size: 0,
            record_size: 4,
            record_align: 4,
            flags: 1,
            name: "cache".into(),
        };
        let uv = HeaderPatch { offset: 24, data: 9u32.to_le_bytes().to_vec() };
        log.extend(build_transaction(&[(kind::HEADER_UPDATE, header_update_payload(&[uv]))]));
        for uid in 1..=5u32 {
            log.extend(build_transaction(&[
                (kind::APPEND, append_payload(uid, if uid % 2 == 0 { 0x08 } else { 0 })),
                (kind::EXT_INTRO, ext_intro_payload(&cache)),
                (kind::EXT_REC_UPDATE, ext_rec_payload(uid, &(100 * uid).to_le_bytes())),
                (kind::KEYWORD_UPDATE, keyword_add_payload(&format!("k{}", uid % 3), uid, uid)),
            ]));
        }
        let mut flags = 2u32.to_le_bytes().to_vec();
        flags.extend_from_slice(&4u32.to_le_bytes());
        flags.extend_from_slice(&[0x04, 0x08, 0, 0]);
        log.extend(build_transaction(&[(kind::FLAG_UPDATE, flags)]));
        let mut expunge = 3u32.to_le_bytes().to_vec();
        expunge.extend_from_slice(&3u32.to_le_bytes());
        log.extend(build_transaction(&[(kind::EXPUNGE | kind::EXPUNGE_PROT, expunge)]));
        log
    }

    #[test]
    fn a_synthetic_history_applies_and_survives_every_byte_flip() {
        let log = sample_log();
        let map = rebuild_index(None, &log, log.len() as u64).unwrap();
        assert_eq!((0..map.messages()).map(|i| map.uid(i)).collect::<Vec<_>>(), [1, 2, 4, 5]);
        assert_eq!(map.flags(1), 0x04); // uid 2: \Seen removed, \Deleted added
        assert_eq!(map.get(40), 0); // \Seen removed from uids 2 and 4
        assert_eq!(map.get(44), 2); // \Deleted on 2 and 4 (3 expunged)
        assert_eq!(map.message_keywords(3).unwrap(), vec!["k2".to_string()]);
        let bytes = map.serialize();
        assert_eq!(IndexMap::parse(&bytes).unwrap().serialize(), bytes);
        // Corruptions never panic, and whatever is accepted writes back consistently.
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            if let Ok(m) = IndexMap::parse(&bad) {
                assert_eq!(m.serialize(), bad);
            }
        }
        for i in 40..log.len() {
            let mut bad = log.clone();
            bad[i] ^= 0x5a;
            let mut m = IndexMap::empty(&LogHeader::fresh(77, 77));
            if m.apply_log(&bad[40..], 40).is_ok() {
                let out = m.serialize();
                assert_eq!(IndexMap::parse(&out).map(|p| p.serialize()).ok(), Some(out));
            }
        }
    }

    #[test]
    fn rewrite_points_match_dovecot_lda() {
        // Observed with mail_index_rewrite_min_log_bytes=600: first write when the sync
        // ends at 624 (no index), next when 776 bytes were replayed (not at 600).
        let s = RewriteSettings { min_log_bytes: 600, max_log_bytes: 128 << 10 };
        assert!(!should_rewrite(None, 344, 448, &s));
        assert!(should_rewrite(None, 520, 624, &s));
        assert!(!should_rewrite(Some(624), 600, 1328, &s));
        assert!(should_rewrite(Some(624), 776, 1504, &s));
        // max 500: rewrite once the unsnapshotted bytes exceed it, whatever was replayed.
        let s = RewriteSettings { min_log_bytes: 8 << 10, max_log_bytes: 500 };
        assert!(!should_rewrite(Some(624), 248, 976, &s));
        assert!(should_rewrite(Some(624), 424, 1152, &s));
        let d = RewriteSettings::default();
        assert!(!should_rewrite(None, 8088, 8192, &d));
        assert!(should_rewrite(None, 8264, 8368, &d));
    }
}
