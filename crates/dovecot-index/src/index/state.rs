//! The index state a log writer needs, rebuilt the way Dovecot does it: start from
//! `dovecot.index` (or from nothing for a fresh log) and replay the log records after
//! the position the index records. Only the tail is read, so the cost does not grow with
//! the mailbox (index-files.md §4.4: readers replay from `log_file_head_offset`).

use super::index_log::{ExtIntro, LogHeader, LogRecord, RawRecord, split_records};
use super::index_main::{BASE_HEADER_SIZE, IndexHeader, field};
use super::{IndexError, IndexFile, ReadAt, read_exact, u32_at};

/// Largest `dovecot.index` header we read (extension headers included).
const MAX_INDEX_HEADER: usize = 1 << 20;
/// Largest extension header we accept from an EXT_INTRO.
const MAX_EXT_HDR_SIZE: u32 = 64 << 10;

/// One registered extension, with its current header data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtState {
    /// Extension name.
    pub name: String,
    /// Current reset id.
    pub reset_id: u32,
    /// Per-message data size.
    pub record_size: u16,
    /// Per-message alignment.
    pub record_align: u16,
    /// Header data (its length is the extension's `hdr_size`).
    pub hdr: Vec<u8>,
}

/// The state after the last complete record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexState {
    /// Header of the current log.
    pub log_header: LogHeader,
    /// Log size, i.e. where the next transaction will start.
    pub log_size: u64,
    /// Offset the replay started from.
    pub replay_start: u64,
    /// Base index header with all replayed HEADER_UPDATEs and APPENDs applied.
    pub base: [u8; BASE_HEADER_SIZE],
    /// Extensions in id order.
    pub exts: Vec<ExtState>,
    /// Highest modseq; known only when the whole log was replayed.
    pub highest_modseq: Option<u64>,
    /// End of the last non-EXTERNAL record that Dovecot's sync must apply to the mailbox
    /// files (expunges, flag and keyword changes, mailbox deletion; see
    /// [`needs_backend_sync`]) unless `log_file_tail_offset` is past it. Internal cache and
    /// extension updates do not count: Dovecot's LDA moves the tail past them too.
    pub last_internal_end: u64,
    cur_ext: Option<(usize, bool)>,
}

impl IndexState {
    /// Loads the state: `dovecot.index` header (if the file exists) plus the log records
    /// after its `log_file_head_offset`, or the whole log when there is no index. Fails
    /// with [`IndexError::Unsupported`] when more than `max_replay` bytes would be needed.
    pub fn load(
        index: Option<&dyn ReadAt>,
        log: &dyn ReadAt,
        max_replay: u64,
    ) -> Result<IndexState, IndexError> {
        let log_size = log.size().map_err(|source| IndexError::Io {
            file: IndexFile::Log,
            offset: 0,
            len: 0,
            source,
        })?;
        let first = read_exact(log, IndexFile::Log, 0, 24, "log header")?;
        let hdr_len = usize::from(super::u16_at(&first, 2).unwrap_or(0)).max(24);
        let log_header =
            LogHeader::parse(&read_exact(log, IndexFile::Log, 0, hdr_len, "log header")?)?;
        let mut state = match index {
            Some(index) => Self::from_index(read_index_header(index)?, &log_header, log_size)?,
            None => Self::fresh(&log_header)?,
        };
        state.log_size = log_size;
        if log_size - state.replay_start > max_replay {
            return Err(IndexError::unsupported(format!(
                "{} bytes of dovecot.index.log to replay (limit {max_replay})",
                log_size - state.replay_start
            )));
        }
        let len = (log_size - state.replay_start) as usize;
        let tail = read_exact(log, IndexFile::Log, state.replay_start, len, "log tail")?;
        for rec in split_records(&tail, state.replay_start)? {
            state.apply(&rec)?;
        }
        state.cur_ext = None;
        Ok(state)
    }

    /// State for a log with no `dovecot.index`: only valid for a log that was never rotated.
    fn fresh(log_header: &LogHeader) -> Result<IndexState, IndexError> {
        if log_header.prev_file_seq != 0 {
            return Err(IndexError::unsupported("no dovecot.index but the log was rotated"));
        }
        let mut base = [0u8; BASE_HEADER_SIZE];
        put(&mut base, field::INDEXID, log_header.indexid);
        put(&mut base, field::NEXT_UID, 1);
        put(&mut base, field::FIRST_RECENT_UID, 1);
        put(&mut base, field::LOG_FILE_SEQ, log_header.file_seq);
        Ok(IndexState {
            log_header: log_header.clone(),
            log_size: 0,
            replay_start: u64::from(log_header.hdr_size),
            base,
            exts: Vec::new(),
            highest_modseq: Some(log_header.initial_modseq),
            last_internal_end: 0,
            cur_ext: None,
        })
    }

    fn from_index(
        index: IndexHeader,
        log_header: &LogHeader,
        log_size: u64,
    ) -> Result<IndexState, IndexError> {
        if index.indexid() != log_header.indexid {
            return Err(IndexError::unsupported("dovecot.index and log have different indexids"));
        }
        if index.log_file_seq() != log_header.file_seq {
            return Err(IndexError::unsupported(format!(
                "dovecot.index points to log seq {}, log is seq {}",
                index.log_file_seq(),
                log_header.file_seq
            )));
        }
        let head = u64::from(index.log_file_head_offset());
        if head < u64::from(log_header.hdr_size) || head > log_size {
            return Err(IndexError::corrupt(
                IndexFile::Index,
                68,
                "log_file_head_offset outside the log",
            ));
        }
        let exts = index
            .extensions
            .iter()
            .map(|e| ExtState {
                name: e.name.clone(),
                reset_id: e.reset_id,
                record_size: e.record_size,
                record_align: e.record_align,
                hdr: e.data.clone(),
            })
            .collect();
        Ok(IndexState {
            log_header: log_header.clone(),
            log_size,
            replay_start: head,
            base: index.base,
            exts,
            highest_modseq: None,
            last_internal_end: 0,
            cur_ext: None,
        })
    }

    /// A base header field by byte offset (see [`field`]).
    pub fn u32(&self, offset: usize) -> u32 {
        u32_at(&self.base, offset).unwrap_or(0)
    }

    /// `next_uid` after replay.
    pub fn next_uid(&self) -> u32 {
        self.u32(field::NEXT_UID)
    }

    /// Id (position) of a registered extension.
    pub fn ext_id(&self, name: &str) -> Option<u32> {
        self.exts.iter().position(|e| e.name == name).map(|i| i as u32)
    }

    /// The extension registered under `name`.
    pub fn ext(&self, name: &str) -> Option<&ExtState> {
        self.exts.iter().find(|e| e.name == name)
    }

    /// Applies one record, returning the modseq it was given (APPEND, KEYWORD_UPDATE …)
    /// when the modseq is being tracked.
    pub fn apply(&mut self, rec: &RawRecord<'_>) -> Result<Option<u64>, IndexError> {
        let end = rec.offset + rec.size();
        if !rec.is_external() && needs_backend_sync(rec.kind()) {
            self.last_internal_end = end;
        }
        let decoded = LogRecord::decode(rec)?;
        let corrupt = |reason: &str| IndexError::corrupt(IndexFile::Log, rec.offset, reason);
        let mut bumps = false;
        match decoded {
            LogRecord::Append(entries) => {
                for (uid, _) in entries {
                    if uid < self.next_uid() {
                        return Err(corrupt("append with UID below next_uid"));
                    }
                    put(&mut self.base, field::NEXT_UID, uid.saturating_add(1));
                    let count = self.u32(field::MESSAGES_COUNT);
                    put(&mut self.base, field::MESSAGES_COUNT, count.saturating_add(1));
                }
                bumps = true;
            }
            LogRecord::HeaderUpdate(patches) => {
                for p in patches {
                    let start = p.offset as usize;
                    let Some(dst) = self.base.get_mut(start..start + p.data.len()) else {
                        return Err(corrupt("header update past the base header"));
                    };
                    dst.copy_from_slice(&p.data);
                }
            }
            LogRecord::ExtIntro(intro) => self.ext_intro(&intro, rec.offset)?,
            LogRecord::ExtReset(new_reset_id, preserve) => {
                let (i, _) = self.cur_ext.ok_or_else(|| corrupt("ext-reset without ext-intro"))?;
                self.exts[i].reset_id = new_reset_id;
                if preserve == 0 {
                    self.exts[i].hdr.fill(0);
                }
                self.cur_ext = Some((i, false));
            }
            LogRecord::ExtHdrUpdate(patches) => {
                let (i, ignore) =
                    self.cur_ext.ok_or_else(|| corrupt("ext-hdr without ext-intro"))?;
                for p in patches.iter().filter(|_| !ignore) {
                    let start = p.offset as usize;
                    let Some(dst) = self.exts[i].hdr.get_mut(start..start + p.data.len()) else {
                        return Err(corrupt("ext-hdr update past the extension header"));
                    };
                    dst.copy_from_slice(&p.data);
                }
            }
            LogRecord::ExtRecUpdate(_) | LogRecord::ExtAtomicInc(_) => {
                self.cur_ext.ok_or_else(|| corrupt("ext record update without ext-intro"))?;
            }
            LogRecord::KeywordUpdate { remove, .. } => {
                if !remove && self.ext_id("keywords").is_none() {
                    self.register("keywords", 0, 0, 0, 0);
                }
                bumps = true;
            }
            LogRecord::Expunge(_) | LogRecord::ExpungeGuid(_) => bumps = rec.is_external(),
            LogRecord::FlagUpdate(entries) => {
                bumps = entries.iter().any(|e| e.4 != 0 || (e.2 | e.3) & !0xc0 != 0);
            }
            LogRecord::ModseqUpdate(entries) => {
                if let Some(m) = self.highest_modseq.as_mut() {
                    *m = entries.iter().map(|e| e.1).fold(*m, u64::max);
                }
            }
            LogRecord::KeywordReset(_) | LogRecord::AttributeUpdate(_) => bumps = true,
            LogRecord::IndexDeleted | LogRecord::IndexUndeleted | LogRecord::Boundary(_) => {}
        }
        if bumps && let Some(m) = self.highest_modseq.as_mut() {
            *m += 1;
            return Ok(Some(*m));
        }
        Ok(None)
    }

    fn ext_intro(&mut self, intro: &ExtIntro, offset: u64) -> Result<(), IndexError> {
        if intro.hdr_size > MAX_EXT_HDR_SIZE {
            return Err(IndexError::unsupported(format!(
                "extension header of {} bytes",
                intro.hdr_size
            )));
        }
        if intro.name == "keywords" {
            return Err(IndexError::corrupt(IndexFile::Log, offset, "ext-intro for keywords"));
        }
        let idx = if intro.ext_id == u32::MAX || !intro.name.is_empty() {
            match self.exts.iter().position(|e| e.name == intro.name) {
                Some(i) => i,
                None if intro.name.is_empty() => {
                    return Err(IndexError::corrupt(
                        IndexFile::Log,
                        offset,
                        "ext-intro without id or name",
                    ));
                }
                None => {
                    let (r, s, a) = (intro.reset_id, intro.record_size, intro.record_align);
                    self.register(&intro.name, r, intro.hdr_size, s, a)
                }
            }
        } else {
            let i = intro.ext_id as usize;
            if i >= self.exts.len() {
                return Err(IndexError::corrupt(
                    IndexFile::Log,
                    offset,
                    "ext-intro for unknown id",
                ));
            }
            i
        };
        let ext = &mut self.exts[idx];
        ext.hdr.resize(intro.hdr_size as usize, 0);
        ext.record_size = intro.record_size;
        ext.record_align = intro.record_align;
        self.cur_ext = Some((idx, intro.reset_id != ext.reset_id));
        Ok(())
    }

    fn register(
        &mut self,
        name: &str,
        reset_id: u32,
        hdr_size: u32,
        size: u16,
        align: u16,
    ) -> usize {
        self.exts.push(ExtState {
            name: name.to_owned(),
            reset_id,
            record_size: size,
            record_align: align,
            hdr: vec![0; hdr_size as usize],
        });
        self.exts.len() - 1
    }
}

/// Writes a u32 base header field.
pub(crate) fn put(base: &mut [u8; BASE_HEADER_SIZE], offset: usize, value: u32) {
    base[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn read_index_header(index: &dyn ReadAt) -> Result<IndexHeader, IndexError> {
    let first = read_exact(index, IndexFile::Index, 0, 8, "index header")?;
    let len = IndexHeader::needed_len(&first)?;
    if len > MAX_INDEX_HEADER {
        return Err(IndexError::unsupported(format!("dovecot.index header of {len} bytes")));
    }
    IndexHeader::parse(&read_exact(index, IndexFile::Index, 0, len.max(8), "index header")?)
}

/// Whether a non-EXTERNAL record of this kind is a change Dovecot's sync still has to
/// carry out in the mailbox itself (mail-index-sync.c): expunges, flag and keyword
/// changes, appends, mailbox (un)deletion and anything unknown. Extension intros, resets,
/// header and record updates (cache offsets, vsize, modseq) need no backend work; an LDA
/// sync only advances `log_file_tail_offset` over them.
pub fn needs_backend_sync(kind_bits: u32) -> bool {
    use super::index_log::kind;
    !matches!(
        kind_bits & kind::MASK,
        kind::EXT_INTRO
            | kind::EXT_RESET
            | kind::EXT_HDR_UPDATE
            | kind::EXT_HDR_UPDATE32
            | kind::EXT_REC_UPDATE
            | kind::EXT_ATOMIC_INC
            | kind::HEADER_UPDATE
            | kind::MODSEQ_UPDATE
            | kind::BOUNDARY
    )
}

#[cfg(test)]
mod tests {
    use super::needs_backend_sync;
    use crate::index::index_log::kind;

    #[test]
    fn only_mailbox_changes_need_a_backend_sync() {
        for k in [kind::EXT_REC_UPDATE, kind::EXT_INTRO, kind::HEADER_UPDATE, kind::EXT_ATOMIC_INC]
        {
            assert!(!needs_backend_sync(k), "{k:#x}");
        }
        for k in [kind::FLAG_UPDATE, kind::KEYWORD_UPDATE, kind::EXPUNGE, kind::INDEX_DELETED] {
            assert!(needs_backend_sync(k), "{k:#x}");
        }
        assert!(needs_backend_sync(kind::EXPUNGE | kind::EXPUNGE_PROT));
    }
}
