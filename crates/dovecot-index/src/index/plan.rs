//! Planning the index writes of one Maildir delivery: the exact bytes Dovecot 2.3's LDA
//! appends to `dovecot.index.log` and `dovecot.index.cache` (index-files.md §3.6, §5.4), or
//! whole new files when the mailbox has no index yet. The caller performs the writes under
//! its locks; this module only computes them.

use super::index_cache::{
    CACHE_HEADER_SIZE, CacheFieldHeader, CacheHeader, CacheRecordField, build_record, decision,
    field_type, read_cache,
};
use super::index_log::{
    ExtIntro, HeaderPatch, LogHeader, append_payload, build_transaction, ext_intro_payload,
    ext_rec_payload, ext_reset_payload, header_update_payload, keyword_add_payload, kind,
};
use super::index_main::field;
use super::message::MessageSummary;
use super::state::IndexState;
use super::{IndexError, ReadAt, u32_at};

/// The nine fields of the `maildir` extension header (index-files.md §3.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaildirHeader {
    /// When `new/` was last scanned.
    pub new_check_time: u32,
    /// `new/` mtime at that scan.
    pub new_mtime: u32,
    /// Nanoseconds of `new_mtime`.
    pub new_mtime_nsecs: u32,
    /// When `cur/` was last scanned.
    pub cur_check_time: u32,
    /// `cur/` mtime at that scan.
    pub cur_mtime: u32,
    /// Nanoseconds of `cur_mtime`.
    pub cur_mtime_nsecs: u32,
    /// `dovecot-uidlist` mtime when last read or written.
    pub uidlist_mtime: u32,
    /// Nanoseconds of `uidlist_mtime`.
    pub uidlist_mtime_nsecs: u32,
    /// `dovecot-uidlist` size then.
    pub uidlist_size: u32,
}

impl MaildirHeader {
    /// Size of the extension header.
    pub const SIZE: usize = 36;

    /// Parses the 36 header bytes.
    pub fn from_bytes(b: &[u8]) -> Option<MaildirHeader> {
        if b.len() != Self::SIZE {
            return None;
        }
        let g = |i: usize| u32_at(b, 4 * i).unwrap_or(0);
        Some(MaildirHeader {
            new_check_time: g(0),
            new_mtime: g(1),
            new_mtime_nsecs: g(2),
            cur_check_time: g(3),
            cur_mtime: g(4),
            cur_mtime_nsecs: g(5),
            uidlist_mtime: g(6),
            uidlist_mtime_nsecs: g(7),
            uidlist_size: g(8),
        })
    }

    /// The 36 header bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.new_check_time,
            self.new_mtime,
            self.new_mtime_nsecs,
            self.cur_check_time,
            self.cur_mtime,
            self.cur_mtime_nsecs,
            self.uidlist_mtime,
            self.uidlist_mtime_nsecs,
            self.uidlist_size,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }

    /// The header Dovecot's LDA records after a delivery (observed): `new_*` kept from the
    /// previous header (all 0 in a new index), `cur_check_time` = `now` and `cur_mtime` =
    /// the stat of `cur/` when `cur` is given (pass `None` to keep the previous values
    /// when `cur/` may hold changes not yet in the index), and the uidlist's stat after
    /// the delivery's uidlist append: `(mtime, nsecs, size)`.
    pub fn after_delivery(
        prev: Option<&MaildirHeader>,
        now: u32,
        cur: Option<(u32, u32)>,
        uidlist: (u32, u32, u32),
    ) -> MaildirHeader {
        let mut h = prev.copied().unwrap_or_default();
        if let Some((mtime, nsecs)) = cur {
            h.cur_check_time = now;
            h.cur_mtime = mtime;
            h.cur_mtime_nsecs = nsecs;
        }
        (h.uidlist_mtime, h.uidlist_mtime_nsecs, h.uidlist_size) = uidlist;
        h
    }
}

/// What the storage layer knows about one delivered message.
#[derive(Debug, Clone)]
pub struct IndexUpdate<'a> {
    /// UID given to the message in `dovecot-uidlist`.
    pub uid: u32,
    /// The uidlist's UIDVALIDITY.
    pub uid_validity: u32,
    /// System flags (index-files.md §2 flag byte; `\Recent` never).
    pub flags: u8,
    /// Keyword names, in `dovecot-keywords` index order.
    pub keywords: Vec<String>,
    /// The message as stored in the Maildir file.
    pub message: &'a [u8],
    /// The `maildir` extension header to record (see [`MaildirHeader::after_delivery`]).
    pub maildir: MaildirHeader,
    /// The uidlist's `(mtime, nsecs, size)` before this delivery appended to it. When
    /// given, it must match what the index recorded, proving the index was in sync with
    /// the uidlist; otherwise the update is refused.
    pub uidlist_before: Option<(u32, u32, u32)>,
    /// Current time (Unix seconds).
    pub now: u32,
    /// Start of the current local day (Unix seconds), for `day_stamp`.
    pub day_start: u32,
    /// Received date (cached only if the cache decides so).
    pub received_date: u32,
    /// Save date (cached only if the cache decides so).
    pub save_date: u32,
}

/// Limits of the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Most log bytes replayed after the offset `dovecot.index` records; beyond it the
    /// update is refused (Dovecot rewrites the index long before that).
    pub max_replay_bytes: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { max_replay_bytes: 4 << 20 }
    }
}

/// What to do with `dovecot.index.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogWrite {
    /// No log exists: write these bytes to `dovecot.index.log.newlock` (`O_EXCL`) and
    /// rename it to `dovecot.index.log`.
    Create {
        /// The complete file.
        bytes: Vec<u8>,
    },
    /// Under the log lock, check the file still has `expected_size` bytes (same inode),
    /// append `bytes` with one `write()`, and truncate back to `expected_size` on failure.
    Append {
        /// Size the plan was computed for.
        expected_size: u64,
        /// All transactions of this delivery.
        bytes: Vec<u8>,
    },
}

/// What to do with `dovecot.index.cache`; done before the log write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheWrite {
    /// No cache exists: write to `dovecot.index.cache.tmp` (`O_EXCL`) and rename.
    Create {
        /// The complete file.
        bytes: Vec<u8>,
    },
    /// Under the cache lock, check the size, `pwrite` `record` at `expected_size`, then
    /// `pwrite` `header` at offset 0. On any failure truncate back to `expected_size` and
    /// skip the log write.
    Append {
        /// Size the plan was computed for (where the record goes).
        expected_size: u64,
        /// The new record.
        record: Vec<u8>,
        /// The updated 32-byte header.
        header: [u8; CACHE_HEADER_SIZE],
    },
}

/// Everything one delivery writes to the index files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    /// The log write.
    pub log: LogWrite,
    /// The cache write, if any.
    pub cache: Option<CacheWrite>,
    /// Why no cache data is written (for the caller's debug log).
    pub cache_skipped: Option<String>,
    /// How many leading bytes of an append are the Maildir sync transactions (sync and
    /// `log_file_tail_offset` update): the point where Dovecot's LDA commits its sync and
    /// may rewrite `dovecot.index` or rotate the log, before the cache and save
    /// transactions (0 for a new log).
    pub sync_len: usize,
}

/// Dovecot's log rotation thresholds (`mail_index_log_rotate_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateSettings {
    /// Always rotate above this size (1 MiB).
    pub max_size: u64,
    /// Rotate old logs at or above this size (32 KiB).
    pub min_size: u64,
    /// …when created longer ago than this (5 minutes).
    pub min_age_secs: u32,
}

impl Default for RotateSettings {
    fn default() -> Self {
        RotateSettings { max_size: 1 << 20, min_size: 32 << 10, min_age_secs: 300 }
    }
}

/// Whether Dovecot would rotate this log at the end of a sync (index-files.md §3.9).
/// `size` is the log size at the end of the sync (after its own transactions). Rotation
/// also rewrites `dovecot.index` ([`super::rebuild_index`]).
pub fn should_rotate(hdr: &LogHeader, size: u64, now: u32, s: &RotateSettings) -> bool {
    if hdr.minor_version < 3 || size > s.max_size {
        return true;
    }
    size >= s.min_size && hdr.create_stamp < now.saturating_sub(s.min_age_secs)
}

/// The `day_stamp`/`day_first_uid` update for the first save of a new local day, or
/// `None` when the header's day is current (index-files.md §3.6).
pub fn day_update(stamp: u32, first_uids: [u32; 8], today: u32, uid: u32) -> Option<Vec<u8>> {
    if stamp >= today {
        return None;
    }
    let days = (((today - stamp) / 86_400) as usize).min(8);
    let mut uids = first_uids;
    if days > 0 {
        uids.copy_within(0..8 - days, days);
        for slot in uids.iter_mut().take(days).skip(1) {
            *slot = first_uids[0];
        }
    }
    uids[0] = uid;
    let mut data = today.to_le_bytes().to_vec();
    data.extend(uids.iter().flat_map(|u| u.to_le_bytes()));
    Some(data)
}

fn intro(ext_id: u32, reset_id: u32, hdr_size: u32, rec: u16, name: &str) -> (u32, Vec<u8>) {
    let intro = ExtIntro {
        ext_id,
        reset_id,
        hdr_size,
        record_size: rec,
        record_align: rec,
        flags: 1,
        name: name.to_owned(),
    };
    (kind::EXT_INTRO, ext_intro_payload(&intro))
}

fn patch(offset: usize, data: Vec<u8>) -> HeaderPatch {
    HeaderPatch { offset: offset as u32, data }
}

/// The cache record fields Dovecot's LDA writes, in its order, for the fields the field
/// header has with a decision other than "no". `created`: first record of a new file.
fn cache_fields(
    fh: &CacheFieldHeader,
    u: &IndexUpdate<'_>,
    created: bool,
) -> Vec<CacheRecordField> {
    let msg = MessageSummary::new(u.message);
    let order: &[&str] = if created {
        &["flags", "mime.parts", "hdr.Message-ID", "hdr.Subject", "hdr.From"]
    } else {
        &["hdr.From", "hdr.Message-ID", "hdr.Subject", "flags", "mime.parts"]
    };
    let extra = ["size.virtual", "size.physical", "date.received", "date.save"];
    let mut out = Vec::new();
    for name in order.iter().chain(extra.iter()) {
        let Some(idx) = fh.index_of(name) else { continue };
        let f = &fh.fields[idx];
        if f.decision & !decision::FORCED == decision::NO {
            continue;
        }
        let (want_type, data) = match *name {
            "flags" => (field_type::BITMASK, Some(msg.cache_flags().to_le_bytes().to_vec())),
            "mime.parts" => (field_type::VARIABLE, msg.mime_parts()),
            "size.virtual" => (
                field_type::FIXED,
                Some((msg.header_size.1 + msg.body_size.1).to_le_bytes().to_vec()),
            ),
            "size.physical" => {
                (field_type::FIXED, Some((u.message.len() as u64).to_le_bytes().to_vec()))
            }
            "date.received" => (field_type::FIXED, Some(u.received_date.to_le_bytes().to_vec())),
            "date.save" => (field_type::FIXED, Some(u.save_date.to_le_bytes().to_vec())),
            hdr => (field_type::HEADER, msg.header_cache_value(&hdr[4..])),
        };
        let Some(data) = data else { continue };
        let size_ok = f.size == super::index_cache::VARIABLE_SIZE || f.size as usize == data.len();
        if f.field_type == want_type && size_ok {
            out.push(CacheRecordField { field: idx as u32, data });
        }
    }
    out
}

/// Plans the index writes for one delivery.
///
/// `log` is `None` when `dovecot.index.log` does not exist: then a new index is planned
/// (only for the first message of a mailbox, `uid` 1). `index`/`cache` are `None` when
/// those files do not exist. Any error means: write nothing to any index file.
pub fn plan_append(
    index: Option<&dyn ReadAt>,
    log: Option<&dyn ReadAt>,
    cache: Option<&dyn ReadAt>,
    update: &IndexUpdate<'_>,
    options: &PlanOptions,
) -> Result<AppendPlan, IndexError> {
    match log {
        None if index.is_none() => plan_fresh(update),
        None => Err(IndexError::unsupported("dovecot.index exists without dovecot.index.log")),
        Some(log) => {
            let state = IndexState::load(index, log, options.max_replay_bytes)?;
            plan_append_to_state(&state, cache, update)
        }
    }
}

fn plan_fresh(u: &IndexUpdate<'_>) -> Result<AppendPlan, IndexError> {
    if u.uid != 1 {
        return Err(IndexError::unsupported(format!(
            "no index yet but the message gets UID {}: leaving the rebuild to Dovecot",
            u.uid
        )));
    }
    let id = u.now;
    let mut log = LogHeader::fresh(id, u.now).to_bytes().to_vec();
    log.extend(build_transaction(&[
        intro(u32::MAX, 0, 36, 0, "maildir"),
        (kind::EXT_HDR_UPDATE, header_update_payload(&[patch(0, u.maildir.to_bytes())])),
        (
            kind::HEADER_UPDATE,
            header_update_payload(&[
                patch(field::UID_VALIDITY, u.uid_validity.to_le_bytes().to_vec()),
                patch(field::LOG2_ROTATE_TIME, u32::MAX.to_le_bytes().to_vec()),
            ]),
        ),
    ]));
    log.extend(build_transaction(&[
        intro(u32::MAX, 0, 0, 4, "cache"),
        (kind::EXT_RESET, ext_reset_payload(id)),
    ]));
    let fh = CacheFieldHeader::lda_default(u.now);
    let fh_bytes = fh.to_bytes();
    let offset = (CACHE_HEADER_SIZE + fh_bytes.len()) as u32;
    let record = build_record(&fh, &cache_fields(&fh, u, true));
    let header = CacheHeader {
        indexid: id,
        file_seq: id,
        continued_record_count: 0,
        record_count: 1,
        used_file_size: offset,
        deleted_record_count: 0,
        field_header_offset: CACHE_HEADER_SIZE as u32,
    };
    let mut cache = header.to_bytes().to_vec();
    cache.extend(fh_bytes);
    cache.extend(record);
    let day = day_update(0, [0; 8], u.day_start, u.uid);
    log.extend(save_transaction(u, Some((1, id, offset)), day));
    Ok(AppendPlan {
        log: LogWrite::Create { bytes: log },
        cache: Some(CacheWrite::Create { bytes: cache }),
        cache_skipped: None,
        sync_len: 0,
    })
}

/// APPEND, cache pointer, keyword updates, then the day header update.
fn save_transaction(
    u: &IndexUpdate<'_>,
    cache: Option<(u32, u32, u32)>,
    day: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut recs = vec![(kind::APPEND, append_payload(u.uid, u.flags))];
    if let Some((ext_id, reset_id, offset)) = cache {
        recs.push(intro(ext_id, reset_id, 0, 4, ""));
        recs.push((kind::EXT_REC_UPDATE, ext_rec_payload(u.uid, &offset.to_le_bytes())));
    }
    for k in &u.keywords {
        recs.push((kind::KEYWORD_UPDATE, keyword_add_payload(k, u.uid, u.uid)));
    }
    if let Some(data) = day {
        recs.push((kind::HEADER_UPDATE, header_update_payload(&[patch(field::DAY_STAMP, data)])));
    }
    build_transaction(&recs)
}

fn check_existing(state: &IndexState, u: &IndexUpdate<'_>) -> Result<(), IndexError> {
    let tail = u64::from(state.u32(field::LOG_FILE_TAIL_OFFSET));
    if state.last_internal_end > tail {
        return Err(IndexError::unsupported("log has changes not yet applied to the Maildir"));
    }
    let validity = state.u32(field::UID_VALIDITY);
    if validity != 0 && validity != u.uid_validity {
        return Err(IndexError::unsupported(format!(
            "index UIDVALIDITY {validity} differs from uidlist {}",
            u.uid_validity
        )));
    }
    if u.uid != state.next_uid() {
        return Err(IndexError::unsupported(format!(
            "index next_uid {} but the message gets UID {}",
            state.next_uid(),
            u.uid
        )));
    }
    if let Some(ext) = state.ext("maildir") {
        let recorded = MaildirHeader::from_bytes(&ext.hdr)
            .filter(|_| ext.record_size == 0)
            .ok_or_else(|| IndexError::unsupported("unexpected maildir extension layout"))?;
        let seen = (recorded.uidlist_mtime, recorded.uidlist_mtime_nsecs, recorded.uidlist_size);
        if u.uidlist_before.is_some_and(|before| before != seen) {
            return Err(IndexError::unsupported("dovecot-uidlist changed since the index saw it"));
        }
    }
    if let Some(ext) = state.ext("cache")
        && (ext.record_size != 4 || !ext.hdr.is_empty())
    {
        return Err(IndexError::unsupported("unexpected cache extension layout"));
    }
    if state.log_size > u64::from(u32::MAX >> 2) {
        return Err(IndexError::unsupported("log too large"));
    }
    Ok(())
}

fn sync_transaction(state: &IndexState, u: &IndexUpdate<'_>) -> Vec<u8> {
    let mut recs = match (state.ext_id("maildir"), state.ext("maildir")) {
        (Some(id), Some(ext)) => vec![intro(id, ext.reset_id, 36, 0, "")],
        _ => vec![intro(u32::MAX, 0, 36, 0, "maildir")],
    };
    recs.push((kind::EXT_HDR_UPDATE, header_update_payload(&[patch(0, u.maildir.to_bytes())])));
    if state.u32(field::UID_VALIDITY) == 0 {
        let p = patch(field::UID_VALIDITY, u.uid_validity.to_le_bytes().to_vec());
        recs.push((kind::HEADER_UPDATE, header_update_payload(&[p])));
    }
    build_transaction(&recs)
}

/// Plans against an existing log.
/// [`plan_append`] for an existing log whose state the caller already loaded (under the same
/// locks): spares reading and replaying the log a second time.
pub fn plan_append_to_state(
    state: &IndexState,
    cache: Option<&dyn ReadAt>,
    u: &IndexUpdate<'_>,
) -> Result<AppendPlan, IndexError> {
    check_existing(state, u)?;
    let mut bytes = sync_transaction(state, u);
    let tail_end = state.log_size + bytes.len() as u64 + 16;
    let p = patch(field::LOG_FILE_TAIL_OFFSET, (tail_end as u32).to_le_bytes().to_vec());
    bytes.extend(build_transaction(&[(kind::HEADER_UPDATE, header_update_payload(&[p]))]));
    let sync_len = bytes.len();
    let (cache_write, cache_ptr, skipped) = plan_cache(state, cache, u, &mut bytes)?;
    let first_uids = std::array::from_fn(|i| state.u32(field::DAY_FIRST_UID + 4 * i));
    let day = day_update(state.u32(field::DAY_STAMP), first_uids, u.day_start, u.uid);
    bytes.extend(save_transaction(u, cache_ptr, day));
    Ok(AppendPlan {
        log: LogWrite::Append { expected_size: state.log_size, bytes },
        cache: cache_write,
        cache_skipped: skipped,
        sync_len,
    })
}

type CachePlan = (Option<CacheWrite>, Option<(u32, u32, u32)>, Option<String>);

/// The cache part: append a record to a valid cache, or create a missing one (adding the
/// cache-creation transaction to `log_bytes`), or skip with a reason.
fn plan_cache(
    state: &IndexState,
    cache: Option<&dyn ReadAt>,
    u: &IndexUpdate<'_>,
    log_bytes: &mut Vec<u8>,
) -> Result<CachePlan, IndexError> {
    let Some(cache) = cache else { return Ok(create_cache(state, u, log_bytes)) };
    let (Some(ext_id), Some(ext)) = (state.ext_id("cache"), state.ext("cache")) else {
        return Ok((
            None,
            None,
            Some("cache file exists but the index has no cache extension".into()),
        ));
    };
    let (mut header, fh) = match read_cache(cache) {
        Ok(found) => found,
        Err(e) => return Ok((None, None, Some(format!("cache unusable: {e}")))),
    };
    if header.indexid != state.log_header.indexid || header.file_seq != ext.reset_id {
        return Ok((None, None, Some("cache belongs to another index or generation".into())));
    }
    let size = cache.size().map_err(|source| IndexError::Io {
        file: super::IndexFile::Cache,
        offset: 0,
        len: 0,
        source,
    })?;
    if !size.is_multiple_of(4) || size >= u64::from(u32::MAX >> 2) {
        return Ok((None, None, Some(format!("cache size {size} unusable"))));
    }
    let fields = cache_fields(&fh, u, false);
    if fields.is_empty() {
        return Ok((None, None, Some("cache decides to store none of our fields".into())));
    }
    header.record_count = header.record_count.saturating_add(1);
    let write = CacheWrite::Append {
        expected_size: size,
        record: build_record(&fh, &fields),
        header: header.to_bytes(),
    };
    Ok((Some(write), Some((ext_id, ext.reset_id, size as u32)), None))
}

fn create_cache(state: &IndexState, u: &IndexUpdate<'_>, log_bytes: &mut Vec<u8>) -> CachePlan {
    let existing = state.ext_id("cache").zip(state.ext("cache"));
    let mut file_seq = u.now;
    let intro_rec = match existing {
        Some((id, ext)) => {
            if ext.reset_id == file_seq {
                file_seq = file_seq.wrapping_add(1);
            }
            intro(id, ext.reset_id, 0, 4, "")
        }
        None => intro(u32::MAX, 0, 0, 4, "cache"),
    };
    let ext_id = existing.map_or(state.exts.len() as u32, |(id, _)| id);
    log_bytes
        .extend(build_transaction(&[intro_rec, (kind::EXT_RESET, ext_reset_payload(file_seq))]));
    let fh = CacheFieldHeader::lda_default(u.now);
    let fh_bytes = fh.to_bytes();
    let offset = (CACHE_HEADER_SIZE + fh_bytes.len()) as u32;
    let header = CacheHeader {
        indexid: state.log_header.indexid,
        file_seq,
        continued_record_count: 0,
        record_count: 1,
        used_file_size: offset,
        deleted_record_count: 0,
        field_header_offset: CACHE_HEADER_SIZE as u32,
    };
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend(fh_bytes);
    bytes.extend(build_record(&fh, &cache_fields(&fh, u, true)));
    (Some(CacheWrite::Create { bytes }), Some((ext_id, file_seq, offset)), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_update_shifts_by_elapsed_days() {
        let today = 1_795_564_800;
        assert_eq!(day_update(today, [1; 8], today, 9), None);
        let d = day_update(today - 2 * 86_400, [5, 4, 3, 2, 1, 0, 0, 0], today, 9).unwrap();
        let uids: Vec<u32> =
            d[4..].chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(uids, vec![9, 5, 5, 4, 3, 2, 1, 0]);
        let d = day_update(0, [7; 8], today, 3).unwrap();
        assert_eq!(&d[..4], &today.to_le_bytes());
        assert_eq!(&d[4..8], &3u32.to_le_bytes());
        assert!(d[8..].chunks(4).all(|c| c == 7u32.to_le_bytes()));
    }

    #[test]
    fn rotation_thresholds() {
        let h = LogHeader::fresh(1, 1000);
        let s = RotateSettings::default();
        assert!(!should_rotate(&h, 40, 1000, &s));
        assert!(should_rotate(&h, (1 << 20) + 1, 1000, &s));
        assert!(!should_rotate(&h, 32 << 10, 1200, &s));
        assert!(should_rotate(&h, 32 << 10, 1301, &s));
        assert!(!should_rotate(&h, (32 << 10) - 1, 5000, &s));
    }
}
