//! Rewriting `dovecot.index` and rotating `dovecot.index.log` at the points Dovecot's LDA
//! does (index-files.md §3.9, §4.5), while the caller still holds the log, cache and uidlist
//! locks. The bytes come from `dovecot_index::index::rebuild_index`; this module does the
//! file operations in Dovecot's order (observed with strace on dovecot-lda 2.3.19):
//!
//! * rewrite: unlink a stale `dovecot.index.tmp`, create it `O_EXCL` with the index file
//!   mode, write, `fdatasync` (unless `mail_fsync = never`), rename over `dovecot.index`;
//! * rotation: new log (header with `file_seq` + 1, `prev_file_seq`/`prev_file_offset` of the
//!   old log, `initial_modseq` = its highest modseq) created and write-locked under a
//!   temporary name, old `dovecot.index.log.2` unlinked, old log hard-linked to `.log.2`,
//!   new log renamed over `dovecot.index.log`, then `dovecot.index` rewritten to point at
//!   the new log (`log2_rotate_time` = now).
//!
//! The new log is created under a private temporary name instead of Dovecot's
//! `dovecot.index.log.newlock`: a `.newlock` left by a killed delivery makes Dovecot wait
//! for it to turn stale (observed: 3 minutes). Holding the old log's lock already excludes
//! every other rotator. Unlike Dovecot, the save transaction is written into the new log
//! before it is renamed into place, so no reader ever sees the new log without it.
//!
//! Failure before the rename leaves the old log current (the caller then appends the save
//! transaction there); failure after it leaves a valid new log and the old `dovecot.index`,
//! which Dovecot reads together with `.log.2`, as after a crash of its own rotation.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, fchown};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use dovecot_index::index::index_main::field;
use dovecot_index::index::plan::{RotateSettings, should_rotate};
use dovecot_index::index::{
    IndexError, IndexMap, LogHeader, ReadAt, RewriteSettings, highest_modseq, rebuild_index,
    should_rewrite,
};

use super::{
    INDEX_FILE, IndexSkip, LOG_FILE, OWN_TMP_SUFFIX, remove_stale_own_temps, single_write, sync_if,
};
use crate::maildir::MaildirMailbox;
use crate::ofd_lock::set_ofd_lock;
use crate::settings::{FsyncMode, StorageSettings};

/// Dovecot's temporary name for a snapshot being written.
const INDEX_TMP: &str = "dovecot.index.tmp";
/// The previous log generation.
const LOG2_FILE: &str = "dovecot.index.log.2";

fn rewrite_settings(s: &StorageSettings) -> RewriteSettings {
    RewriteSettings {
        min_log_bytes: s.index_rewrite_min_log_bytes,
        max_log_bytes: s.index_rewrite_max_log_bytes,
    }
}

fn rotate_settings(s: &StorageSettings) -> RotateSettings {
    RotateSettings {
        max_size: s.index_log_rotate_max_size,
        min_size: s.index_log_rotate_min_size,
        min_age_secs: u32::try_from(s.index_log_rotate_min_age.as_secs()).unwrap_or(u32::MAX),
    }
}

/// Whether Dovecot's LDA would rewrite `dovecot.index` after a sync ending at `sync_end`,
/// given the snapshot on disk (its tail offset) and the log bytes replayed after it.
pub(super) fn wants_rewrite(
    s: &StorageSettings,
    index: Option<&File>,
    replayed: u64,
    sync_end: u64,
) -> bool {
    let tail = index.map(|f| {
        let b = ReadAt::read_at(f, field::LOG_FILE_TAIL_OFFSET as u64, 4).unwrap_or_default();
        b.try_into().map_or(0, u32::from_le_bytes)
    });
    should_rewrite(tail, replayed, sync_end, &rewrite_settings(s))
}

/// Whether Dovecot would rotate this log at the end of a sync ending at `sync_end`.
pub(super) fn wants_rotation(s: &StorageSettings, hdr: &LogHeader, sync_end: u64) -> bool {
    should_rotate(hdr, sync_end, now(), &rotate_settings(s))
}

fn now() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

fn plan_err(mb: &MaildirMailbox, source: IndexError) -> IndexSkip {
    IndexSkip::Plan { dir: mb.paths.index.clone(), source }
}

/// Rewrites `dovecot.index` with the log synced up to `sync_end` of the current log.
pub(super) fn rewrite_index(
    mb: &MaildirMailbox,
    index: Option<&File>,
    log: &File,
    sync_end: u64,
) -> Result<(), IndexSkip> {
    let index_ref = index.map(|f| f as &dyn ReadAt);
    let map = rebuild_index(index_ref, log, sync_end).map_err(|e| plan_err(mb, e))?;
    write_snapshot(mb, &map)
}

/// Writes `map` as the new `dovecot.index` (see the module documentation).
fn write_snapshot(mb: &MaildirMailbox, map: &IndexMap) -> Result<(), IndexSkip> {
    let dir = &mb.paths.index;
    let tmp = dir.join(INDEX_TMP);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(IndexSkip::io("unlink", &tmp, e)),
    }
    let file = create_private(mb, &tmp)?;
    let result = single_write(&file, &tmp, &map.serialize(), 0)
        .and_then(|()| sync_if(&file, &tmp, mb.settings.fsync != FsyncMode::Never))
        .and_then(|()| {
            fs::rename(&tmp, dir.join(INDEX_FILE)).map_err(|e| IndexSkip::io("rename", &tmp, e))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` with `O_EXCL`, the mailbox's file mode and group.
fn create_private(mb: &MaildirMailbox, path: &Path) -> Result<File, IndexSkip> {
    let perms = &mb.perms;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(perms.file_mode)
        .open(path)
        .map_err(|e| IndexSkip::io("open", path, e))?;
    let setup = file
        .set_permissions(fs::Permissions::from_mode(perms.file_mode))
        .map_err(|e| IndexSkip::io("fchmod", path, e))
        .and_then(|()| match perms.gid {
            Some(gid) => {
                fchown(&file, None, Some(gid)).map_err(|e| IndexSkip::io("fchown", path, e))
            }
            None => Ok(()),
        });
    if let Err(e) = setup {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

/// How a rotation attempt ended.
pub(super) enum Rotation {
    /// The new log (holding `save`) is current; the result is that of the index rewrite.
    Done(Result<(), IndexSkip>),
    /// Nothing was replaced: the old log is still current and lacks `save`.
    NotDone(IndexSkip),
}

/// Rotates the log after the sync transactions (ending at `sync_end`) were appended to it;
/// `save` (the cache and save transactions) becomes the new log's first content.
pub(super) fn rotate(
    mb: &MaildirMailbox,
    log: &File,
    index: Option<&File>,
    hdr: &LogHeader,
    sync_end: u64,
    save: &[u8],
) -> Rotation {
    let dir = &mb.paths.index;
    // A new log left under our temporary name by a killed rotation (rare, like rotations).
    remove_stale_own_temps(dir);
    let now = now();
    let index_ref = index.map(|f| f as &dyn ReadAt);
    let prepared = rebuild_index(index_ref, log, sync_end)
        .and_then(|map| Ok((map, highest_modseq(log, sync_end)?)));
    let (mut map, modseq) = match prepared {
        Ok(found) => found,
        Err(e) => return Rotation::NotDone(plan_err(mb, e)),
    };
    let new_hdr = LogHeader {
        file_seq: hdr.file_seq.wrapping_add(1),
        prev_file_seq: hdr.file_seq,
        prev_file_offset: sync_end as u32,
        create_stamp: now,
        initial_modseq: modseq,
        ..LogHeader::fresh(hdr.indexid, now)
    };
    let mut bytes = new_hdr.to_bytes().to_vec();
    bytes.extend_from_slice(save);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
    let tmp = dir.join(format!("{LOG_FILE}.{}.{nanos}{OWN_TMP_SUFFIX}", std::process::id()));
    let new_log = match create_private(mb, &tmp) {
        Ok(file) => file,
        Err(e) => return Rotation::NotDone(e),
    };
    if let Err(e) = install_new_log(mb, &new_log, &tmp, &bytes) {
        let _ = fs::remove_file(&tmp);
        return Rotation::NotDone(e);
    }
    map.set_log_position(new_hdr.file_seq, new_hdr.hdr_size.into());
    map.set(field::LOG2_ROTATE_TIME, now);
    let result = write_snapshot(mb, &map);
    drop(new_log); // releases the new log's lock only after dovecot.index points at it
    Rotation::Done(result)
}

/// Locks and fills the new log, moves the old one to `.log.2` and renames the new one
/// into place.
fn install_new_log(
    mb: &MaildirMailbox,
    new_log: &File,
    tmp: &Path,
    bytes: &[u8],
) -> Result<(), IndexSkip> {
    let dir = &mb.paths.index;
    set_ofd_lock(new_log, nix::libc::F_WRLCK)
        .map_err(|e| IndexSkip::io("fcntl(F_WRLCK)", tmp, io::Error::from(e)))?;
    single_write(new_log, tmp, bytes, 0)?;
    sync_if(new_log, tmp, mb.settings.fsync == FsyncMode::Always)?;
    let (log_path, log2) = (dir.join(LOG_FILE), dir.join(LOG2_FILE));
    match fs::remove_file(&log2) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(IndexSkip::io("unlink", &log2, e)),
    }
    fs::hard_link(&log_path, &log2).map_err(|e| IndexSkip::io("link", &log2, e))?;
    fs::rename(tmp, &log_path).map_err(|e| IndexSkip::io("rename", tmp, e))
}
