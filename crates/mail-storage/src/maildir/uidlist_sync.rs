//! Giving a saved message its UID (maildir.md §2, §4, maildir-uidlist.c): under
//! `dovecot-uidlist.lock` the next UID is read from the uidlist's header and tail only,
//! the message is renamed into place, and one record line is appended in a single write.
//!
//! Better than Dovecot (seed-wins.md): the lock is waited for, up to
//! `StorageSettings::dotlock_timeout`; only at that bound is the message left in `new/`
//! without a UID, as Dovecot does at once. The file is never rewritten in place: creation,
//! version upgrades and torn tails go through `dovecot-uidlist.tmp` + `rename()`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dovecot_index::uidlist::{UIDLIST_FILE, generate_guid, read_append_state};
use dovecot_index::uidvalidity::next_uidvalidity;
use dovecot_index::{
    Dotlock, DotlockError, DotlockSettings, Uidlist, UidlistError, UidlistHeader, UidlistRecord,
};

use crate::error::StorageError;
use crate::mailbox::SaveOptions;
use crate::maildir::MaildirMailbox;
use crate::maildir::index_update::{Delivered, stat_triple, update_index};
use crate::maildir::keywords::letters_for;
use crate::maildir::save::rename_into_place;

/// Outcome of a commit.
#[derive(Debug)]
pub(crate) struct Committed {
    pub path: PathBuf,
    pub uid: Option<u32>,
    pub uid_missing_reason: Option<String>,
    pub dropped_keywords: Vec<String>,
    pub index_skipped_reason: Option<String>,
}

/// One message written (and made durable) in `tmp/`, waiting to be placed and given a UID.
#[derive(Debug, Clone)]
pub(crate) struct PendingSave {
    /// The base name with `,S=` and `,W=`.
    pub storage_id: String,
    /// The file in `tmp/`.
    pub tmp: PathBuf,
    /// Flags, keywords and forced GUID.
    pub opts: SaveOptions,
    /// The stored bytes when the save had them in memory (up to the size the index caches),
    /// so that the index update need not read the file back.
    pub content: Option<Arc<[u8]>>,
}

/// A message renamed into `new/` or `cur/`, not yet recorded.
struct Placed {
    index: usize,
    path: PathBuf,
    dropped_keywords: Vec<String>,
    keywords: Vec<String>,
}

/// How the record will be written.
enum Plan {
    Append { file: File, offset: u64, uid: u32, uid_validity: u32 },
    Create,
    Rewrite(Uidlist),
    Skip(String),
}

/// Places and records a group of messages under ONE hold of the uidlist lock (group
/// commit), then makes them durable: see [`commit_batch_unsynced`] and [`Unsynced::finish`].
/// The result for each message is at its position.
pub(crate) fn commit_batch(
    mb: &MaildirMailbox,
    saves: &[PendingSave],
) -> Vec<Result<Committed, StorageError>> {
    commit_batch_unsynced(mb, saves).finish()
}

/// A commit done under the lock, the lock released, the waits for the disk still to come:
/// the `new/`/`cur/` fsync and the uidlist fdatasync. Nobody may be told "saved" before
/// [`Unsynced::finish`] returned.
struct Unsynced {
    results: Vec<Result<Committed, StorageError>>,
    /// (position in `results`, file) of every message placed.
    placed: Vec<(usize, PathBuf)>,
    /// Directories that received messages, each once.
    dirs: Vec<PathBuf>,
    /// The appended uidlist, when the append still needs its fdatasync.
    uidlist: Option<(File, PathBuf)>,
    fsync: bool,
}

impl Unsynced {
    fn done(results: Vec<Result<Committed, StorageError>>) -> Unsynced {
        Unsynced { results, placed: Vec::new(), dirs: Vec::new(), uidlist: None, fsync: false }
    }

    /// fsyncs the directories and fdatasyncs the uidlist; if either fails, every placed
    /// message is unlinked again and fails (its uidlist and index records then name a missing
    /// file, which Dovecot drops at its next sync).
    fn finish(mut self) -> Vec<Result<Committed, StorageError>> {
        if let Err(e) = self.sync() {
            for (index, path) in &self.placed {
                let _ = fs::remove_file(path);
                self.results[*index] = Err(e.duplicate());
            }
        }
        self.results
    }

    fn sync(&self) -> Result<(), StorageError> {
        if !self.fsync {
            return Ok(());
        }
        sync_dirs(&self.dirs)?;
        if let Some((file, path)) = &self.uidlist {
            file.sync_data().map_err(|e| StorageError::io("fdatasync", path, e, false))?;
        }
        Ok(())
    }
}

/// fdatasyncs each directory (the caller decides whether `mail_fsync` wants it).
fn sync_dirs(dirs: &[PathBuf]) -> Result<(), StorageError> {
    for dir in dirs {
        File::open(dir)
            .and_then(|d| d.sync_data())
            .map_err(|e| StorageError::io("fdatasync", dir, e, false))?;
    }
    Ok(())
}

/// The part of a group commit that needs the uidlist lock: each message is renamed into
/// `new/` or `cur/` with its keyword letters, all records are appended in one write, and the
/// index gets one transaction per message. The fsyncs wait until the lock is released, so
/// other processes (dovecot-lda, `letterbox deliver`) can take it meanwhile. If recording
/// fails, every placed file is unlinked again while the lock is still held.
fn commit_batch_unsynced(mb: &MaildirMailbox, saves: &[PendingSave]) -> Unsynced {
    let uidlist_path = mb.paths.control.join(UIDLIST_FILE);
    let lock_settings = DotlockSettings {
        timeout: mb.settings.dotlock_timeout,
        stale_timeout: std::time::Duration::from_secs(120),
        hostname: mb.settings.hostname.clone(),
        file_mode: mb.perms.file_mode,
        gid: mb.perms.gid,
    };
    match Dotlock::acquire_release_only(&uidlist_path, &lock_settings) {
        Ok(lock) => {
            let unsynced = commit_locked(mb, &uidlist_path, saves);
            // An overridden lock cannot be undone any more; the records are already written.
            let _ = lock.release();
            unsynced
        }
        Err(timeout @ DotlockError::Timeout { .. }) => {
            Unsynced::done(place_without_uids(mb, saves, &timeout))
        }
        Err(e) => {
            let err = StorageError::from(e);
            Unsynced::done(saves.iter().map(|_| Err(err.duplicate())).collect())
        }
    }
}

/// At the lock timeout the messages are still delivered, without UIDs (Dovecot assigns
/// them at its next sync); keywords get letters only if already known.
fn place_without_uids(
    mb: &MaildirMailbox,
    saves: &[PendingSave],
    timeout: &DotlockError,
) -> Vec<Result<Committed, StorageError>> {
    let (mut results, placed) = place_all(mb, saves, false);
    let synced =
        if mb.settings.fsync.enabled() { sync_dirs(&placed_dirs(&placed)) } else { Ok(()) };
    if let Err(e) = synced {
        undo(&placed, &mut results, &e);
        return results;
    }
    for p in placed {
        results[p.index] = Ok(Committed {
            path: p.path,
            uid: None,
            uid_missing_reason: Some(timeout.to_string()),
            dropped_keywords: p.dropped_keywords,
            index_skipped_reason: no_uid_index_reason(mb),
        });
    }
    results
}

/// The group commit with the uidlist lock held.
fn commit_locked(mb: &MaildirMailbox, uidlist_path: &Path, saves: &[PendingSave]) -> Unsynced {
    let fail_all = |e: StorageError| saves.iter().map(|_| Err(e.duplicate())).collect();
    let plan = match plan(mb, uidlist_path) {
        Ok(plan) => plan,
        Err(e) => return Unsynced::done(fail_all(e)),
    };
    let uidlist_before = match plan {
        Plan::Append { .. } | Plan::Rewrite(_) => stat_triple(uidlist_path).ok(),
        Plan::Create | Plan::Skip(_) => None,
    };
    let (mut results, placed) = place_all(mb, saves, true);
    let records = placed.iter().map(|p| new_record(&saves[p.index])).collect();
    let (recorded, uidlist) = match record(mb, uidlist_path, plan, records) {
        Ok(recorded) => recorded,
        Err(e) => {
            undo(&placed, &mut results, &e);
            return Unsynced::done(results);
        }
    };
    let dirs = placed_dirs(&placed);
    let placed_paths = placed.iter().map(|p| (p.index, p.path.clone())).collect();
    let last = placed.len().saturating_sub(1);
    for (n, p) in placed.into_iter().enumerate() {
        let (uid, uid_missing_reason, index_skipped_reason) = match &recorded {
            Ok((first_uid, uid_validity)) => {
                let uid = first_uid + n as u32;
                // Still under the uidlist lock, after the uidlist append (maildir.md §2).
                let delivered = Delivered {
                    uid,
                    uid_validity: *uid_validity,
                    flags: saves[p.index].opts.flags,
                    keywords: p.keywords.clone(),
                    path: &p.path,
                    uidlist: uidlist_path,
                    uidlist_before,
                    claim_uidlist: n == last,
                    content: saves[p.index].content.as_deref(),
                };
                (Some(uid), None, update_index(mb, &delivered))
            }
            Err(reason) => (
                None,
                Some(format!("{reason}; Dovecot assigns the UID at its next sync")),
                no_uid_index_reason(mb),
            ),
        };
        results[p.index] = Ok(Committed {
            path: p.path,
            uid,
            uid_missing_reason,
            dropped_keywords: p.dropped_keywords,
            index_skipped_reason,
        });
    }
    Unsynced {
        results,
        placed: placed_paths,
        dirs,
        uidlist: uidlist.map(|file| (file, uidlist_path.to_path_buf())),
        fsync: mb.settings.fsync.enabled(),
    }
}

/// Places every save (see [`place_one`]); the results of the placed ones are filled in later.
fn place_all(
    mb: &MaildirMailbox,
    saves: &[PendingSave],
    may_assign: bool,
) -> (Vec<Result<Committed, StorageError>>, Vec<Placed>) {
    let mut results = Vec::with_capacity(saves.len());
    let mut placed = Vec::new();
    for (index, save) in saves.iter().enumerate() {
        match place_one(mb, index, save, may_assign) {
            Ok(p) => {
                placed.push(p);
                results.push(Err(StorageError::temp("not committed")));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    (results, placed)
}

/// Unlinks the placed files again; each of them fails with `e`.
fn undo(placed: &[Placed], results: &mut [Result<Committed, StorageError>], e: &StorageError) {
    for p in placed {
        let _ = fs::remove_file(&p.path);
        results[p.index] = Err(e.duplicate());
    }
}

/// Keyword letters, then the rename into place (no directory fsync yet).
fn place_one(
    mb: &MaildirMailbox,
    index: usize,
    save: &PendingSave,
    may_assign: bool,
) -> Result<Placed, StorageError> {
    let wanted = &save.opts.keywords;
    let (letters, dropped_keywords) =
        letters_for(&mb.paths.control, wanted, may_assign, &mb.perms, &mb.settings)?;
    let path = rename_into_place(mb, &save.tmp, &save.storage_id, &save.opts.flags, &letters)?;
    let keywords = indexed_keywords(wanted, &letters, &dropped_keywords);
    Ok(Placed { index, path, dropped_keywords, keywords })
}

/// The directories that received a message, each once.
fn placed_dirs(placed: &[Placed]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        placed.iter().filter_map(|p| p.path.parent()).map(Path::to_path_buf).collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The uidlist record of one save (UID filled in by `record`).
fn new_record(save: &PendingSave) -> UidlistRecord {
    let mut new = UidlistRecord::new(0, &save.storage_id);
    if let Some(guid) =
        save.opts.guid.as_ref().filter(|g| !g.is_empty() && !g.contains(char::is_whitespace))
    {
        new.extensions.push((b'G', guid.clone()));
    }
    new
}

/// Why a message without a UID is not in the index (nothing to say with `INDEX=MEMORY`).
fn no_uid_index_reason(mb: &MaildirMailbox) -> Option<String> {
    (!mb.paths.index_in_memory).then(|| "the message has no UID yet".to_owned())
}

/// The keywords that reached the file name, in `dovecot-keywords` index (letter) order,
/// each once: the ones the index records for the message.
fn indexed_keywords(wanted: &[String], letters: &[char], dropped: &[String]) -> Vec<String> {
    let mut kept: Vec<(char, &String)> =
        letters.iter().copied().zip(wanted.iter().filter(|k| !dropped.contains(k))).collect();
    kept.sort_by_key(|(letter, _)| *letter);
    kept.dedup_by_key(|(letter, _)| *letter);
    kept.into_iter().map(|(_, k)| k.clone()).collect()
}

/// Decides how to record the next UID, reading only the header and the tail.
fn plan(mb: &MaildirMailbox, path: &Path) -> Result<Plan, StorageError> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(if index_exists(&mb.paths.index) {
                Plan::Skip("dovecot-uidlist is missing but the index exists".into())
            } else {
                Plan::Create
            });
        }
        Err(e) => return Err(StorageError::io("open", path, e, false)),
    };
    match read_append_state(&mut file) {
        Ok(state) if state.header.version == 3 && state.ends_with_newline => Ok(Plan::Append {
            uid: state.next_uid(),
            uid_validity: state.header.uid_validity,
            offset: state.len,
            file,
        }),
        Ok(_) => {
            let data = fs::read(path).map_err(|e| StorageError::io("read", path, e, false))?;
            match Uidlist::parse(&data) {
                Ok(mut list) => {
                    // A torn last line may name a UID a crashed writer already used elsewhere.
                    if let Some(torn_uid) = torn_tail_uid(&data) {
                        list.header.next_uid = list.header.next_uid.max(torn_uid.saturating_add(1));
                    }
                    Ok(Plan::Rewrite(list))
                }
                Err(e) => Ok(Plan::Skip(e.to_string())),
            }
        }
        Err(UidlistError::Broken { line, reason }) => {
            Ok(Plan::Skip(format!("Broken file {} line {line}: {reason}", path.display())))
        }
        Err(UidlistError::Io(e)) => Err(StorageError::io("read", path, e, false)),
    }
}

/// The UID at the start of an unterminated last line, if any.
fn torn_tail_uid(data: &[u8]) -> Option<u32> {
    let start = data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let tail = &data[start..];
    let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&tail[..digits]).ok()?.parse().ok()
}

fn index_exists(index_dir: &Path) -> bool {
    ["dovecot.index", "dovecot.index.log"].iter().any(|name| index_dir.join(name).exists())
}

/// The first UID given and the UIDVALIDITY, or why no UID was given (the uidlist was skipped).
type Recorded = Result<(u32, u32), String>;

/// Writes the records (consecutive UIDs); returns the first UID and the UIDVALIDITY, or
/// (inner error) the reason when the plan was to skip, and the appended file, which still
/// needs its fdatasync (a created or rewritten uidlist got its own before the rename).
fn record(
    mb: &MaildirMailbox,
    path: &Path,
    plan: Plan,
    mut new: Vec<UidlistRecord>,
) -> Result<(Recorded, Option<File>), StorageError> {
    let number = |new: &mut Vec<UidlistRecord>, first: u32| {
        for (n, record) in new.iter_mut().enumerate() {
            record.uid = first + n as u32;
        }
    };
    match plan {
        Plan::Append { file, offset, uid, uid_validity } => {
            number(&mut new, uid);
            let lines: String = new.iter().map(UidlistRecord::to_line).collect();
            file.write_all_at(lines.as_bytes(), offset)
                .map_err(|e| StorageError::io("write", path, e, false))?;
            Ok((Ok((uid, uid_validity)), Some(file)))
        }
        Plan::Create => {
            let uid_validity = next_uidvalidity(&mb.paths.control_root, mb.perms.file_mode);
            let header = UidlistHeader::new(uid_validity, 1, generate_guid(&mb.settings.hostname));
            number(&mut new, 1);
            let list = Uidlist { header, records: new };
            write_atomic(mb, path, &list.to_bytes())?;
            Ok((Ok((1, uid_validity)), None))
        }
        Plan::Rewrite(mut list) => {
            let uid = list.next_uid();
            if list.header.guid.is_none() {
                list.header.guid = Some(generate_guid(&mb.settings.hostname));
            }
            number(&mut new, uid);
            list.records.extend(new);
            let uid_validity = list.header.uid_validity;
            write_atomic(mb, path, &list.to_bytes())?;
            Ok((Ok((uid, uid_validity)), None))
        }
        Plan::Skip(reason) => Ok((Err(reason), None)),
    }
}

/// `dovecot-uidlist.tmp` + fdatasync + `rename()`: readers see the old or the new file.
fn write_atomic(mb: &MaildirMailbox, path: &Path, data: &[u8]) -> Result<(), StorageError> {
    let tmp = path.with_file_name(format!("{UIDLIST_FILE}.tmp"));
    let io_err = |op: &str, e: io::Error| StorageError::io(op, &tmp, e, false);
    let result = (|| {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mb.perms.file_mode)
            .open(&tmp)
            .map_err(|e| io_err("open", e))?;
        file.set_permissions(fs::Permissions::from_mode(mb.perms.file_mode))
            .map_err(|e| io_err("fchmod", e))?;
        if let Some(gid) = mb.perms.gid {
            fchown(&file, None, Some(gid)).map_err(|e| io_err("fchown", e))?;
        }
        file.write_all(data).map_err(|e| io_err("write", e))?;
        if mb.settings.fsync.enabled() {
            file.sync_data().map_err(|e| io_err("fdatasync", e))?;
        }
        fs::rename(&tmp, path).map_err(|e| io_err("rename", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
