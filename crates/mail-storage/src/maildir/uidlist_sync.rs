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

/// Outcome of a commit.
#[derive(Debug)]
pub(crate) struct Committed {
    pub path: PathBuf,
    pub uid: Option<u32>,
    pub uid_missing_reason: Option<String>,
    pub dropped_keywords: Vec<String>,
    pub index_skipped_reason: Option<String>,
}

/// How the record will be written.
enum Plan {
    Append { file: File, offset: u64, uid: u32, uid_validity: u32 },
    Create,
    Rewrite(Uidlist),
    Skip(String),
}

/// Takes the uidlist lock, assigns keyword letters, lets `place` rename the message into
/// `new/` or `cur/` (it receives the keyword letters), then records the UID. If recording
/// fails the placed file is unlinked again while the lock is still held.
pub(crate) fn commit(
    mb: &MaildirMailbox,
    storage_id: &str,
    opts: &SaveOptions,
    place: impl FnOnce(&[char]) -> Result<PathBuf, StorageError>,
) -> Result<Committed, StorageError> {
    let keywords = &opts.keywords;
    let control = &mb.paths.control;
    let uidlist_path = control.join(UIDLIST_FILE);
    let lock_settings = DotlockSettings {
        timeout: mb.settings.dotlock_timeout,
        stale_timeout: std::time::Duration::from_secs(120),
        hostname: mb.settings.hostname.clone(),
        file_mode: mb.perms.file_mode,
        gid: mb.perms.gid,
    };
    let lock = match Dotlock::acquire(&uidlist_path, &lock_settings) {
        Ok(lock) => lock,
        Err(timeout @ DotlockError::Timeout { .. }) => {
            let (letters, dropped_keywords) =
                letters_for(control, keywords, false, &mb.perms, &mb.settings)?;
            let path = place(&letters)?;
            let reason = Some(timeout.to_string());
            return Ok(Committed {
                path,
                uid: None,
                uid_missing_reason: reason,
                dropped_keywords,
                index_skipped_reason: no_uid_index_reason(mb),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let (letters, dropped_keywords) =
        letters_for(control, keywords, true, &mb.perms, &mb.settings)?;
    let plan = plan(mb, &uidlist_path)?;
    let uidlist_before = match plan {
        Plan::Append { .. } | Plan::Rewrite(_) => stat_triple(&uidlist_path).ok(),
        Plan::Create | Plan::Skip(_) => None,
    };
    let path = place(&letters)?;
    let mut new_record = UidlistRecord::new(0, storage_id);
    if let Some(guid) =
        opts.guid.as_ref().filter(|g| !g.is_empty() && !g.contains(char::is_whitespace))
    {
        new_record.extensions.push((b'G', guid.clone()));
    }
    let (uid, uid_missing_reason, index_skipped_reason) =
        match record(mb, &uidlist_path, plan, new_record) {
            Ok(Ok((uid, uid_validity))) => {
                // Still under the uidlist lock, after the uidlist append (maildir.md §2).
                let delivered = Delivered {
                    uid,
                    uid_validity,
                    flags: opts.flags,
                    keywords: indexed_keywords(keywords, &letters, &dropped_keywords),
                    path: &path,
                    uidlist: &uidlist_path,
                    uidlist_before,
                };
                (Some(uid), None, update_index(mb, &delivered))
            }
            Ok(Err(reason)) => (
                None,
                Some(format!("{reason}; Dovecot assigns the UID at its next sync")),
                no_uid_index_reason(mb),
            ),
            Err(e) => {
                let _ = fs::remove_file(&path);
                return Err(e);
            }
        };
    // An overridden lock cannot be undone any more; the record is already durable.
    let _ = lock.release();
    Ok(Committed { path, uid, uid_missing_reason, dropped_keywords, index_skipped_reason })
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

/// Writes the record; returns its UID and the UIDVALIDITY, or (inner error) the reason
/// when the plan was to skip.
fn record(
    mb: &MaildirMailbox,
    path: &Path,
    plan: Plan,
    mut new: UidlistRecord,
) -> Result<Result<(u32, u32), String>, StorageError> {
    let fsync = mb.settings.fsync.enabled();
    match plan {
        Plan::Append { file, offset, uid, uid_validity } => {
            new.uid = uid;
            let line = new.to_line();
            file.write_all_at(line.as_bytes(), offset)
                .map_err(|e| StorageError::io("write", path, e, false))?;
            if fsync {
                file.sync_data().map_err(|e| StorageError::io("fdatasync", path, e, false))?;
            }
            Ok(Ok((uid, uid_validity)))
        }
        Plan::Create => {
            let uid_validity = next_uidvalidity(&mb.paths.control_root, mb.perms.file_mode);
            let header = UidlistHeader::new(uid_validity, 1, generate_guid(&mb.settings.hostname));
            new.uid = 1;
            let list = Uidlist { header, records: vec![new] };
            write_atomic(mb, path, &list.to_bytes())?;
            Ok(Ok((1, uid_validity)))
        }
        Plan::Rewrite(mut list) => {
            let uid = list.next_uid();
            if list.header.guid.is_none() {
                list.header.guid = Some(generate_guid(&mb.settings.hostname));
            }
            new.uid = uid;
            list.records.push(new);
            let uid_validity = list.header.uid_validity;
            write_atomic(mb, path, &list.to_bytes())?;
            Ok(Ok((uid, uid_validity)))
        }
        Plan::Skip(reason) => Ok(Err(reason)),
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
