//! Keeping Dovecot's index files current at delivery (index-files.md §3.6, §3.8, §5.4): after
//! the uidlist record was appended, and while `dovecot-uidlist.lock` is still held, the
//! transactions Dovecot's LDA appends are written to `dovecot.index.log` and the message's
//! record to `dovecot.index.cache`, so Dovecot's IMAP finds the message already indexed.
//!
//! The bytes come from the `dovecot-index` planner; this module does the I/O around it, in
//! Dovecot's order: fcntl write lock on the log (bounded wait, inode re-checked after
//! locking), then the cache's fcntl lock, then the plan (computed under both locks, so the
//! sizes it expects are current), then one `pwrite` of the cache record plus its header,
//! then one `pwrite` of all log transactions. A brand-new index is written to
//! `dovecot.index.cache.tmp` / `dovecot.index.log.newlock` and hard-linked into place, so an
//! index another process created meanwhile is never replaced.
//!
//! After the append, `dovecot.index` is rewritten and the log rotated exactly when
//! Dovecot's LDA would (`mail_index_rewrite_*`, `mail_index_log_rotate_*`; see the
//! `rewrite` submodule), so the log tail every reader replays stays small.
//!
//! Deliberately not done: `dotlock`/`flock` lock methods (Dovecot's default
//! `lock_method = fcntl` only), deleting an aged `dovecot.index.log.2`. Whenever anything is
//! unexpected the index files are left exactly as they were (appended bytes are cut back)
//! and the reason is returned for the log: the message is delivered regardless, and Dovecot
//! imports it from the uidlist at its next sync.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dovecot_index::index::plan::PlanOptions;
use dovecot_index::index::{
    CacheWrite, IndexError, IndexState, IndexUpdate, LogWrite, MaildirHeader, ReadAt, plan_append,
    plan_append_to_state,
};
use nix::errno::Errno;

use crate::mailbox::MailFlags;
use crate::maildir::MaildirMailbox;
use crate::ofd_lock::set_ofd_lock;
use crate::settings::FsyncMode;

mod rewrite;

/// `dovecot.index.log`.
pub const LOG_FILE: &str = "dovecot.index.log";
/// `dovecot.index`.
pub const INDEX_FILE: &str = "dovecot.index";
/// `dovecot.index.cache`.
pub const CACHE_FILE: &str = "dovecot.index.cache";
/// Dovecot's dotlock while it creates a log: present = Dovecot is creating one right now.
const LOG_NEWLOCK: &str = "dovecot.index.log.newlock";
/// Dovecot's temporary name for a cache being created.
const CACHE_TMP: &str = "dovecot.index.cache.tmp";
/// Suffix of our own temporary files. They never take Dovecot's names above: a `.newlock`
/// left by a killed delivery would make Dovecot wait 3 minutes for it to go stale
/// (observed) before recreating the index.
const OWN_TMP_SUFFIX: &str = ".lbtmp";
/// Messages larger than this are not read back for the cache; the index is left alone and
/// Dovecot indexes the message at its next sync. Reading a 50 MB message back would cost its
/// size in memory and time, and a delivery must stream (issue #2: peak RSS no higher than
/// dovecot-lda's).
pub(crate) const MAX_INDEXED_MESSAGE: u64 = 1 << 20;
/// A `.newlock`/`.tmp` left older than this by a crashed writer is removed (live ones exist
/// for milliseconds).
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// Most log bytes after the position `dovecot.index` records (the whole log when there is
/// none) that a delivery replays and appends to. Deliveries rewrite `dovecot.index` when
/// Dovecot's LDA would (after ~8 KiB of tail with the default settings, index-files.md
/// §4.5), so the tail stays small; this hard cap only guards against logs written by others
/// (e.g. a Dovecot with huge rewrite thresholds): past it the index is left to Dovecot.
pub const MAX_LOG_TAIL: u64 = 1 << 20;
/// Longest unterminated line tail accepted between the uidlist size the index recorded and
/// the real one (a uidlist record line is far shorter).
const MAX_UIDLIST_LAG: u32 = 4096;
/// How often a log replaced under us (rotation) is reopened before giving up.
const REOPEN_ATTEMPTS: usize = 3;
/// First and longest pause between attempts at a busy lock.
const FIRST_DELAY: Duration = Duration::from_millis(2);
const MAX_DELAY: Duration = Duration::from_millis(50);

/// Why the index files were left untouched.
#[derive(Debug, thiserror::Error)]
pub enum IndexSkip {
    /// The planner refused (unknown layout, pending changes, corrupt file…).
    #[error("index in {dir}: {source}")]
    Plan {
        /// The index directory.
        dir: PathBuf,
        /// What the planner found.
        source: IndexError,
    },
    /// A lock was not obtained within `index_lock_timeout`.
    #[error("timeout ({secs}s) while waiting for the fcntl lock on {path}")]
    LockTimeout {
        /// The file to lock.
        path: PathBuf,
        /// The bound that was reached, in seconds.
        secs: u64,
    },
    /// A file system call failed.
    #[error("{op}({path}) failed: {source}")]
    Io {
        /// The call.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The files changed in a way that makes the plan stale or unsafe.
    #[error("{path}: {reason}")]
    Changed {
        /// The file.
        path: PathBuf,
        /// What changed.
        reason: String,
    },
}

impl IndexSkip {
    fn io(op: &'static str, path: &Path, source: io::Error) -> IndexSkip {
        IndexSkip::Io { op, path: path.to_path_buf(), source }
    }
    fn changed(path: &Path, reason: impl Into<String>) -> IndexSkip {
        IndexSkip::Changed { path: path.to_path_buf(), reason: reason.into() }
    }
}

/// What the save path knows about the message it just recorded in the uidlist.
#[derive(Debug)]
pub(crate) struct Delivered<'a> {
    /// The UID written to the uidlist.
    pub uid: u32,
    /// The uidlist's UIDVALIDITY.
    pub uid_validity: u32,
    /// System flags of the message.
    pub flags: MailFlags,
    /// Keywords that reached the file name, in `dovecot-keywords` index order.
    pub keywords: Vec<String>,
    /// The message file in `new/` or `cur/`.
    pub path: &'a Path,
    /// `dovecot-uidlist`.
    pub uidlist: &'a Path,
    /// The uidlist's `(mtime, nsecs, size)` before the record was appended (`None` when
    /// this delivery created it).
    pub uidlist_before: Option<(u32, u32, u32)>,
    /// False for all but the last message of a group commit: the uidlist already holds the
    /// records of the messages after it, which the index does not have yet, so only the last
    /// transaction may record the uidlist's new stat in the `maildir` header. (Claiming it
    /// earlier would let Dovecot skip reading the uidlist if a later update were skipped.)
    pub claim_uidlist: bool,
    /// The message as stored, when the save had it in memory (spares reading the file back).
    pub content: Option<&'a [u8]>,
}

/// Updates the index files for one delivered message. Returns `None` when they were
/// updated (or `INDEX=MEMORY` wants none), else why they were left untouched.
pub(crate) fn update_index(mb: &MaildirMailbox, d: &Delivered<'_>) -> Option<String> {
    if mb.paths.index_in_memory {
        return None;
    }
    try_update(mb, d).err().map(|e| e.to_string())
}

/// `(mtime, nsecs, size)` of a file as the `maildir` extension header records it.
pub(crate) fn stat_triple(path: &Path) -> io::Result<(u32, u32, u32)> {
    let meta = fs::metadata(path)?;
    Ok((meta.mtime() as u32, meta.mtime_nsec() as u32, meta.size() as u32))
}

/// The flag byte of APPEND records (index-files.md §2).
pub(crate) fn flag_byte(flags: &MailFlags) -> u8 {
    u8::from(flags.answered)
        | u8::from(flags.flagged) << 1
        | u8::from(flags.deleted) << 2
        | u8::from(flags.seen) << 3
        | u8::from(flags.draft) << 4
}

/// Start of the local day containing `now` (Unix seconds), for `day_stamp`.
pub(crate) fn local_day_start(now: i64) -> u32 {
    use chrono::{Local, TimeZone};
    let Some(utc) = chrono::DateTime::from_timestamp(now, 0) else { return 0 };
    let midnight = utc.with_timezone(&Local).date_naive().and_hms_opt(0, 0, 0);
    midnight
        .and_then(|m| Local.from_local_datetime(&m).earliest())
        .map_or(0, |t| t.timestamp().clamp(0, i64::from(u32::MAX)) as u32)
}

fn try_update(mb: &MaildirMailbox, d: &Delivered<'_>) -> Result<(), IndexSkip> {
    let dir = &mb.paths.index;
    let read;
    let message: &[u8] = match d.content {
        Some(bytes) => indexable(bytes.len() as u64, d.path).map(|()| bytes)?,
        None => {
            read = read_message(d.path)?;
            &read
        }
    };
    let deadline = Instant::now() + mb.settings.index_lock_timeout;
    let log_path = dir.join(LOG_FILE);
    let Some(log) = open_locked(&log_path, deadline, mb.settings.index_lock_timeout)? else {
        return create_fresh(mb, d, message);
    };
    let index = open_optional(&dir.join(INDEX_FILE), false)?;
    let cache_path = dir.join(CACHE_FILE);
    let cache = match open_optional(&cache_path, true)? {
        Some(file) => {
            lock_until(&file, &cache_path, deadline, mb.settings.index_lock_timeout)?;
            check_same_file(&file, &cache_path)?;
            Some(file)
        }
        None => None,
    };
    let plan_err = |source| IndexSkip::Plan { dir: dir.clone(), source };
    let index_ref = index.as_ref().map(|f| f as &dyn ReadAt);
    let state = IndexState::load(index_ref, &log, MAX_LOG_TAIL).map_err(plan_err)?;
    let prev = state.ext("maildir").and_then(|e| MaildirHeader::from_bytes(&e.hdr));
    check_uidlist_seen(prev.as_ref(), d)?;
    // cur/ is never claimed as scanned: Dovecot keeps comparing it with what it saw itself.
    let update = build_update(d, message, prev.as_ref(), None)?;
    let cache_ref = cache.as_ref().map(|f| f as &dyn ReadAt);
    let plan = plan_append_to_state(&state, cache_ref, &update).map_err(plan_err)?;
    let LogWrite::Append { expected_size, bytes } = plan.log else {
        return Err(IndexSkip::changed(&log_path, "planner wants to create an existing log"));
    };
    let sync_end = expected_size + plan.sync_len as u64;
    let fsync = mb.settings.fsync == FsyncMode::Always;
    // A cache created by this delivery adds its own transaction to the new tail: keep
    // rotation (rare) to the plain case.
    let creates_cache = matches!(plan.cache, Some(CacheWrite::Create { .. }));
    let undo = match plan.cache {
        Some(CacheWrite::Append { expected_size, record, header }) => {
            let file = cache.as_ref().ok_or_else(|| IndexSkip::changed(&cache_path, "vanished"))?;
            append_cache(file, &cache_path, expected_size, &record, &header, fsync)?
        }
        Some(CacheWrite::Create { bytes }) => {
            Undo::Created(create_file(mb, &cache_path, &dir.join(CACHE_TMP), &bytes)?)
        }
        None => Undo::Nothing,
    };
    let log_files = LogFiles { log: &log, path: &log_path, index: index.as_ref(), fsync };
    if !creates_cache && rewrite::wants_rotation(&mb.settings, &state.log_header, sync_end) {
        return rotate_then_save(
            mb,
            &log_files,
            (expected_size, plan.sync_len),
            &bytes,
            undo,
            cache.as_ref(),
        );
    }
    if let Err(e) = append_log(&log, &log_path, expected_size, &bytes, fsync) {
        undo.run(cache.as_ref());
        return Err(e);
    }
    let replayed = state.log_size - state.replay_start;
    if rewrite::wants_rewrite(&mb.settings, index.as_ref(), replayed, sync_end) {
        // The delivery is complete: a failed rewrite only leaves the old snapshot.
        rewrite::rewrite_index(mb, index.as_ref(), &log, sync_end)?;
    }
    Ok(())
}

/// The locked log and the snapshot it belongs to.
struct LogFiles<'a> {
    log: &'a File,
    path: &'a Path,
    index: Option<&'a File>,
    fsync: bool,
}

/// Dovecot's order when a sync makes the log due for rotation: the sync transactions go to
/// the old log, the log is rotated, the save transaction goes to the new one. If the
/// rotation cannot be done, the save transaction is appended to the old log instead.
fn rotate_then_save(
    mb: &MaildirMailbox,
    f: &LogFiles<'_>,
    (expected_size, sync_len): (u64, usize),
    bytes: &[u8],
    undo: Undo,
    cache: Option<&File>,
) -> Result<(), IndexSkip> {
    if let Err(e) = append_log(f.log, f.path, expected_size, &bytes[..sync_len], f.fsync) {
        undo.run(cache);
        return Err(e);
    }
    let sync_end = expected_size + sync_len as u64;
    let hdr_bytes = ReadAt::read_at(f.log, 0, 40).map_err(|e| IndexSkip::io("pread", f.path, e))?;
    let hdr = dovecot_index::index::LogHeader::parse(&hdr_bytes)
        .map_err(|source| IndexSkip::Plan { dir: mb.paths.index.clone(), source })?;
    match rewrite::rotate(mb, f.log, f.index, &hdr, sync_end, &bytes[sync_len..]) {
        rewrite::Rotation::Done(result) => result,
        rewrite::Rotation::NotDone(reason) => {
            if let Err(e) = append_log(f.log, f.path, sync_end, &bytes[sync_len..], f.fsync) {
                undo.run(cache);
                return Err(e);
            }
            Err(reason)
        }
    }
}

/// A brand-new index (no `dovecot.index.log`): cache, then log, both created under
/// temporary names and linked into place.
fn create_fresh(mb: &MaildirMailbox, d: &Delivered<'_>, message: &[u8]) -> Result<(), IndexSkip> {
    let dir = &mb.paths.index;
    let index = open_optional(&dir.join(INDEX_FILE), false)?;
    let cur_dir = mb.paths.dir.join("cur");
    // Only an empty cur/ may be recorded as scanned: files there are not in this index.
    let cur = match fs::read_dir(&cur_dir).map(|mut it| it.next().is_none()) {
        Ok(true) => stat_triple(&cur_dir).ok().map(|(m, n, _)| (m, n)),
        _ => None,
    };
    let update = build_update(d, message, None, cur)?;
    let index_ref = index.as_ref().map(|f| f as &dyn ReadAt);
    let plan = plan_append(index_ref, None, None, &update, &PlanOptions::default())
        .map_err(|source| IndexSkip::Plan { dir: dir.clone(), source })?;
    let LogWrite::Create { bytes: log_bytes } = plan.log else {
        return Err(IndexSkip::changed(&dir.join(LOG_FILE), "planner wants to append"));
    };
    let created_cache = match plan.cache {
        Some(CacheWrite::Create { bytes }) => {
            Some(create_file(mb, &dir.join(CACHE_FILE), &dir.join(CACHE_TMP), &bytes)?)
        }
        _ => None,
    };
    if let Err(e) = create_file(mb, &dir.join(LOG_FILE), &dir.join(LOG_NEWLOCK), &log_bytes) {
        if let Some(created) = created_cache {
            created.remove();
        }
        return Err(e);
    }
    Ok(())
}

/// The index must have seen the uidlist as it was before our append, or it may lack UIDs
/// the uidlist has. dovecot-lda records the uidlist's stat in the middle of its own append
/// (observed: the size without the final newline, or the mtime a few ms older than the
/// file's), so the recorded size may be behind by the unterminated rest of the last line:
/// accepted when those bytes hold no newline but the last one, i.e. no record the index did
/// not see. UIDs missing from the index are also caught by the planner's `next_uid` check.
fn check_uidlist_seen(prev: Option<&MaildirHeader>, d: &Delivered<'_>) -> Result<(), IndexSkip> {
    let (Some(seen), Some((_, _, size))) = (prev, d.uidlist_before) else { return Ok(()) };
    let seen_size = seen.uidlist_size;
    if seen_size == size {
        return Ok(());
    }
    let refuse = || {
        IndexSkip::changed(
            d.uidlist,
            format!(
                "size {size} before this delivery, but the index saw {seen_size}: leaving \
                 the index to Dovecot's next sync"
            ),
        )
    };
    if seen_size == 0 || seen_size > size || size - seen_size > MAX_UIDLIST_LAG {
        return Err(refuse());
    }
    // From the last byte the index saw: it must not end a line (else the gap is a whole
    // new record), and the gap may only end one.
    let file = File::open(d.uidlist).map_err(|e| IndexSkip::io("open", d.uidlist, e))?;
    let from = u64::from(seen_size - 1);
    let bytes = ReadAt::read_at(&file, from, (size - seen_size + 1) as usize)
        .map_err(|e| IndexSkip::io("pread", d.uidlist, e))?;
    let newlines: Vec<usize> =
        bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect();
    if newlines.is_empty() || newlines == [bytes.len() - 1] { Ok(()) } else { Err(refuse()) }
}

fn read_message(path: &Path) -> Result<Vec<u8>, IndexSkip> {
    let meta = fs::metadata(path).map_err(|e| IndexSkip::io("stat", path, e))?;
    indexable(meta.len(), path)?;
    fs::read(path).map_err(|e| IndexSkip::io("read", path, e))
}

/// Messages over [`MAX_INDEXED_MESSAGE`] are left for Dovecot to index.
fn indexable(size: u64, path: &Path) -> Result<(), IndexSkip> {
    if size > MAX_INDEXED_MESSAGE {
        return Err(IndexSkip::changed(path, "message too large to cache at delivery"));
    }
    Ok(())
}

fn build_update<'m>(
    d: &Delivered<'_>,
    message: &'m [u8],
    prev: Option<&MaildirHeader>,
    cur: Option<(u32, u32)>,
) -> Result<IndexUpdate<'m>, IndexSkip> {
    let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.as_secs());
    let now = u32::try_from(now_secs).unwrap_or(u32::MAX);
    let uidlist_after = if d.claim_uidlist {
        stat_triple(d.uidlist).map_err(|e| IndexSkip::io("stat", d.uidlist, e))?
    } else {
        prev.map_or((0, 0, 0), |h| (h.uidlist_mtime, h.uidlist_mtime_nsecs, h.uidlist_size))
    };
    let received = fs::metadata(d.path).map(|m| m.mtime() as u32).unwrap_or(now);
    Ok(IndexUpdate {
        uid: d.uid,
        uid_validity: d.uid_validity,
        flags: flag_byte(&d.flags),
        keywords: d.keywords.clone(),
        message,
        maildir: MaildirHeader::after_delivery(prev, now, cur, uidlist_after),
        // Compared by `check_uidlist_seen`, which tolerates Dovecot's stale mtime.
        uidlist_before: None,
        now,
        day_start: local_day_start(now_secs as i64),
        received_date: received,
        save_date: now,
    })
}

/// Opens `path` read-write (or read-only); `None` when it does not exist.
fn open_optional(path: &Path, write: bool) -> Result<Option<File>, IndexSkip> {
    match OpenOptions::new().read(true).write(write).open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IndexSkip::io("open", path, e)),
    }
}

/// Opens and write-locks the log; `None` when there is no log. After locking, the path must
/// still name the locked file (a rotation may have replaced it), else it is reopened.
fn open_locked(path: &Path, deadline: Instant, bound: Duration) -> Result<Option<File>, IndexSkip> {
    for _ in 0..REOPEN_ATTEMPTS {
        let Some(file) = open_optional(path, true)? else { return Ok(None) };
        lock_until(&file, path, deadline, bound)?;
        match check_same_file(&file, path) {
            Ok(()) => return Ok(Some(file)),
            Err(IndexSkip::Changed { .. }) => continue, // closing the file drops the lock
            Err(e) => return Err(e),
        }
    }
    Err(IndexSkip::changed(path, "kept being replaced while locking"))
}

fn check_same_file(file: &File, path: &Path) -> Result<(), IndexSkip> {
    let ours = file.metadata().map_err(|e| IndexSkip::io("fstat", path, e))?;
    match fs::metadata(path) {
        Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => Ok(()),
        Ok(_) => Err(IndexSkip::changed(path, "replaced while locking")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(IndexSkip::changed(path, "deleted while locking"))
        }
        Err(e) => Err(IndexSkip::io("stat", path, e)),
    }
}

fn lock_until(
    file: &File,
    path: &Path,
    deadline: Instant,
    bound: Duration,
) -> Result<(), IndexSkip> {
    let mut delay = FIRST_DELAY;
    loop {
        match set_ofd_lock(file, nix::libc::F_WRLCK) {
            Ok(_) => return Ok(()),
            Err(Errno::EAGAIN | Errno::EACCES | Errno::EINTR) => {}
            Err(e) => return Err(IndexSkip::io("fcntl(F_WRLCK)", path, io::Error::from(e))),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(IndexSkip::LockTimeout { path: path.to_path_buf(), secs: bound.as_secs() });
        }
        std::thread::sleep(delay.min(deadline - now));
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// How to take back a cache write when the log write fails.
enum Undo {
    Nothing,
    /// Cut the cache back to this size and restore its old header.
    Appended {
        size: u64,
        old_header: Vec<u8>,
    },
    /// Remove the cache this delivery created.
    Created(CreatedFile),
}

impl Undo {
    fn run(self, cache: Option<&File>) {
        match self {
            Undo::Nothing => {}
            Undo::Appended { size, old_header } => {
                if let Some(file) = cache {
                    let _ = file.set_len(size);
                    let _ = file.write_all_at(&old_header, 0);
                }
            }
            Undo::Created(created) => created.remove(),
        }
    }
}

/// Appends the record at `expected_size` and rewrites the header; on failure both are
/// taken back.
fn append_cache(
    file: &File,
    path: &Path,
    expected_size: u64,
    record: &[u8],
    header: &[u8],
    fsync: bool,
) -> Result<Undo, IndexSkip> {
    let size = file.metadata().map_err(|e| IndexSkip::io("fstat", path, e))?.len();
    if size != expected_size {
        return Err(IndexSkip::changed(path, format!("size {size}, planned for {expected_size}")));
    }
    let old_header =
        ReadAt::read_at(file, 0, header.len()).map_err(|e| IndexSkip::io("pread", path, e))?;
    let undo = Undo::Appended { size, old_header };
    let result = single_write(file, path, record, expected_size)
        .and_then(|()| single_write(file, path, header, 0))
        .and_then(|()| sync_if(file, path, fsync));
    match result {
        Ok(()) => Ok(undo),
        Err(e) => {
            undo.run(Some(file));
            Err(e)
        }
    }
}

/// Appends all transactions with one `pwrite` at the size the plan was made for; a short
/// or failed write is cut back.
fn append_log(
    file: &File,
    path: &Path,
    expected_size: u64,
    bytes: &[u8],
    fsync: bool,
) -> Result<(), IndexSkip> {
    let size = file.metadata().map_err(|e| IndexSkip::io("fstat", path, e))?.len();
    if size != expected_size {
        return Err(IndexSkip::changed(path, format!("size {size}, planned for {expected_size}")));
    }
    let result =
        single_write(file, path, bytes, expected_size).and_then(|()| sync_if(file, path, fsync));
    if result.is_err() {
        let _ = file.set_len(expected_size);
    }
    result
}

fn single_write(file: &File, path: &Path, bytes: &[u8], offset: u64) -> Result<(), IndexSkip> {
    match file.write_at(bytes, offset) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(n) => Err(IndexSkip::changed(path, format!("short write ({n} of {})", bytes.len()))),
        Err(e) => Err(IndexSkip::io("pwrite", path, e)),
    }
}

fn sync_if(file: &File, path: &Path, fsync: bool) -> Result<(), IndexSkip> {
    if fsync { file.sync_data().map_err(|e| IndexSkip::io("fdatasync", path, e)) } else { Ok(()) }
}

/// A file this delivery created, identified by inode so only it is ever removed.
#[derive(Debug)]
struct CreatedFile {
    path: PathBuf,
    ino: u64,
}

impl CreatedFile {
    fn remove(self) {
        if fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.ino) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to a private temporary file next to `dest` (`O_EXCL`, the mailbox's file
/// mode and group) and hard-links it to `dest`, failing when `dest` exists or Dovecot is
/// creating it (its temporary `dovecot_tmp` exists): a concurrent creator always wins.
fn create_file(
    mb: &MaildirMailbox,
    dest: &Path,
    dovecot_tmp: &Path,
    bytes: &[u8],
) -> Result<CreatedFile, IndexSkip> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    remove_stale_own_temps(dir);
    if dovecot_tmp.exists() {
        return Err(IndexSkip::changed(dovecot_tmp, "Dovecot is creating this index file"));
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("index");
    let tmp = dir.join(format!("{name}.{}.{nanos}{OWN_TMP_SUFFIX}", std::process::id()));
    let perms = &mb.perms;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(perms.file_mode)
        .open(&tmp)
        .map_err(|e| IndexSkip::io("open", &tmp, e))?;
    let result = (|| {
        file.set_permissions(fs::Permissions::from_mode(perms.file_mode))
            .map_err(|e| IndexSkip::io("fchmod", &tmp, e))?;
        if let Some(gid) = perms.gid {
            fchown(&file, None, Some(gid)).map_err(|e| IndexSkip::io("fchown", &tmp, e))?;
        }
        single_write(&file, &tmp, bytes, 0)?;
        sync_if(&file, &tmp, mb.settings.fsync == FsyncMode::Always)?;
        let ino = file.metadata().map_err(|e| IndexSkip::io("fstat", &tmp, e))?.ino();
        fs::hard_link(&tmp, dest).map_err(|e| IndexSkip::io("link", dest, e))?;
        Ok(CreatedFile { path: dest.to_path_buf(), ino })
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Removes our temporary files that a killed delivery left behind long ago (only index
/// creation, which is rare, pays for this directory scan).
fn remove_stale_own_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old && entry.file_name().to_string_lossy().ends_with(OWN_TMP_SUFFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_byte_matches_dovecot_bits() {
        let all =
            MailFlags { seen: true, answered: true, flagged: true, deleted: true, draft: true };
        assert_eq!(flag_byte(&all), 0x1f);
        assert_eq!(flag_byte(&MailFlags::default()), 0);
        let sd = MailFlags { seen: true, draft: true, ..MailFlags::default() };
        assert_eq!(flag_byte(&sd), 0x18);
        let a = MailFlags { answered: true, flagged: true, ..MailFlags::default() };
        assert_eq!(flag_byte(&a), 0x03);
    }

    #[test]
    fn day_start_is_a_local_midnight_before_now() {
        let now = 1_795_623_216;
        let start = i64::from(local_day_start(now));
        assert!(start <= now && now - start < 86_400 + 3600);
        assert_eq!(local_day_start(start), start as u32);
    }

    #[test]
    fn create_file_never_replaces_an_existing_file_nor_races_dovecot() {
        let dir = tempfile::tempdir().unwrap();
        let mb = test_mailbox(dir.path());
        let dest = dir.path().join("dest");
        let dovecot_tmp = dir.path().join("dest.newlock");
        let created = create_file(&mb, &dest, &dovecot_tmp, b"one").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        let err = create_file(&mb, &dest, &dovecot_tmp, b"two").unwrap_err();
        assert!(matches!(err, IndexSkip::Io { op: "link", .. }), "{err}");
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        assert_eq!(fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
        created.remove();
        assert!(!dest.exists());
        fs::write(&dovecot_tmp, b"").unwrap();
        let err = create_file(&mb, &dest, &dovecot_tmp, b"three").unwrap_err();
        assert!(matches!(err, IndexSkip::Changed { .. }), "{err}");
        assert!(!dest.exists());
        // No temporary file of ours is left behind.
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dest.newlock")]);
    }

    fn test_mailbox(dir: &Path) -> MaildirMailbox {
        MaildirMailbox {
            paths: crate::mailbox::MaildirPaths {
                dir: dir.to_path_buf(),
                control: dir.to_path_buf(),
                index: dir.to_path_buf(),
                index_in_memory: false,
                control_root: dir.to_path_buf(),
            },
            perms: crate::maildir::create::Permissions::default(),
            settings: std::sync::Arc::new(crate::settings::StorageSettings::default()),
        }
    }
}
