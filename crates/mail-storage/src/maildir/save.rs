//! Saving one message (maildir.md §2, maildir-save.c): write `tmp/<base>` (or hard-link the
//! staged file there), fsync, then under the uidlist lock rename into `new/` or `cur/`,
//! fsync the directory and record the UID — the last steps through the group commit
//! ([`super::group_commit`]), which shares one lock hold and one pair of fsyncs among the
//! messages that threads of this process save into the same mailbox at the same moment. A
//! failure at any step removes what was written, so a message is either completely delivered
//! or absent from `new/` and `cur/`.

use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StorageError;
use crate::mailbox::{MailFlags, MessageSource, SaveOptions, SavedMail};
use crate::maildir::MaildirMailbox;
use crate::maildir::create::{Permissions, ensure_subdirs};
use crate::maildir::filename::{info_suffix, unique_base, virtual_size, with_sizes};
use crate::maildir::group_commit;
use crate::maildir::index_update::MAX_INDEXED_MESSAGE;
use crate::maildir::uidlist_sync::PendingSave;

/// How often a fresh unique name is tried when `tmp/<base>` already exists.
const NAME_ATTEMPTS: usize = 10;

/// Unlinks the tmp file on drop unless it was renamed into place.
struct TmpGuard {
    path: PathBuf,
    armed: Cell<bool>,
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if self.armed.get() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A message written to `tmp/`.
struct Written {
    base: String,
    guard: TmpGuard,
    size: u64,
    vsize: u64,
}

pub(crate) fn save(
    mb: &MaildirMailbox,
    source: MessageSource<'_>,
    opts: &SaveOptions,
) -> Result<SavedMail, StorageError> {
    let written = write_tmp(mb, source, opts)?;
    let storage_id = with_sizes(&written.base, written.size, written.vsize);
    let content = match source {
        MessageSource::Bytes(data) if data.len() as u64 <= MAX_INDEXED_MESSAGE => {
            Some(Arc::from(data))
        }
        _ => None,
    };
    let pending = PendingSave {
        storage_id: storage_id.clone(),
        tmp: written.guard.path.clone(),
        opts: opts.clone(),
        content,
    };
    let committed = group_commit::submit(mb, pending)?;
    written.guard.armed.set(false);
    Ok(SavedMail {
        uid: committed.uid,
        path: committed.path,
        storage_id,
        size: written.size,
        vsize: written.vsize,
        uid_missing_reason: committed.uid_missing_reason,
        dropped_keywords: committed.dropped_keywords,
        index_skipped_reason: committed.index_skipped_reason,
    })
}

fn write_tmp(
    mb: &MaildirMailbox,
    source: MessageSource<'_>,
    opts: &SaveOptions,
) -> Result<Written, StorageError> {
    let tmp_dir = mb.paths.dir.join("tmp");
    let mut created_dirs = false;
    for _ in 0..NAME_ATTEMPTS {
        let base = unique_base(&mb.settings.hostname);
        let guard = TmpGuard { path: tmp_dir.join(&base), armed: Cell::new(false) };
        let attempt = match source {
            MessageSource::File { path, size, vsize, may_link }
                if may_link && mb.settings.copy_with_hardlinks =>
            {
                link_in(path, &guard).map(|linked| linked.then_some((None, size, vsize)))
            }
            _ => Ok(None),
        };
        let written = match attempt {
            Ok(Some(done)) => Ok(done),
            Ok(None) => {
                write_copy(mb, source, &guard).map(|(file, size, vsize)| (Some(file), size, vsize))
            }
            Err(e) => Err(e),
        };
        match written {
            Ok((file, size, vsize)) => {
                finish_file(mb, file, &guard.path, opts)?;
                return Ok(Written { base, guard, size, vsize });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !created_dirs && !tmp_dir.is_dir() => {
                ensure_subdirs(&mb.paths.dir, &mb.perms)?;
                created_dirs = true;
            }
            Err(e) => return Err(classify_write(&guard.path, e)),
        }
    }
    Err(StorageError::temp(format!("could not find a unique file name in {}", tmp_dir.display())))
}

/// EACCES while creating the tmp file is a permission problem (MAIL_ERROR_PERM in Dovecot);
/// EDQUOT is over quota; everything else is temporary.
fn classify_write(path: &Path, err: io::Error) -> StorageError {
    StorageError::io("open/write", path, err, true)
}

/// Hard-links the staged file to `tmp/<base>`. Ok(false) when linking is not possible
/// (another filesystem, no permission…), so the caller copies instead. The linked inode
/// keeps its mode: it may be the user's own `-p` file.
fn link_in(source: &Path, guard: &TmpGuard) -> io::Result<bool> {
    match fs::hard_link(source, &guard.path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                && !guard.path.parent().is_some_and(Path::is_dir) =>
        {
            return Err(e);
        }
        Err(_) => return Ok(false),
    }
    guard.armed.set(true);
    Ok(true)
}

/// Writes the content into a new `tmp/<base>` (O_EXCL, exact mode); returns the sizes.
fn write_copy(
    mb: &MaildirMailbox,
    source: MessageSource<'_>,
    guard: &TmpGuard,
) -> io::Result<(File, u64, u64)> {
    let mut file = create_exclusive(&guard.path, &mb.perms)?;
    guard.armed.set(true);
    match source {
        MessageSource::Bytes(data) => {
            file.write_all(data)?;
            Ok((file, data.len() as u64, virtual_size(data)))
        }
        MessageSource::File { path, size, vsize, .. } => {
            let mut input = File::open(path)?;
            let copied = io::copy(&mut input, &mut file)?;
            if copied != size {
                return Err(io::Error::other(format!(
                    "{}: size changed while copying ({copied} != {size})",
                    path.display()
                )));
            }
            Ok((file, size, vsize))
        }
    }
}

fn create_exclusive(path: &Path, perms: &Permissions) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create_new(true).mode(perms.file_mode).open(path)?;
    file.set_permissions(fs::Permissions::from_mode(perms.file_mode))?;
    if let Some(gid) = perms.gid {
        fchown(&file, None, Some(gid))?;
    }
    Ok(file)
}

/// Sets the received date and makes the file durable (`file` is the open tmp file, or
/// `None` for a hard link, which is opened here).
fn finish_file(
    mb: &MaildirMailbox,
    file: Option<File>,
    path: &Path,
    opts: &SaveOptions,
) -> Result<(), StorageError> {
    if opts.received.is_none() && !mb.settings.fsync.enabled() {
        return Ok(());
    }
    let file = match file {
        Some(file) => file,
        None => File::open(path).map_err(|e| StorageError::io("open", path, e, true))?,
    };
    if let Some(received) = opts.received {
        file.set_modified(received).map_err(|e| StorageError::io("futimes", path, e, false))?;
    }
    if mb.settings.fsync.enabled() {
        file.sync_all().map_err(|e| StorageError::io("fsync", path, e, false))?;
    }
    Ok(())
}

/// Renames the tmp file to `new/<id>` or `cur/<id>:2,<flags>` (creating missing
/// subdirectories); the caller fsyncs the directory.
pub(crate) fn rename_into_place(
    mb: &MaildirMailbox,
    tmp: &Path,
    storage_id: &str,
    flags: &MailFlags,
    letters: &[char],
) -> Result<PathBuf, StorageError> {
    let suffix = info_suffix(flags, letters);
    let sub = if suffix.is_some() { "cur" } else { "new" };
    let dest_dir = mb.paths.dir.join(sub);
    let dest = dest_dir.join(format!("{storage_id}{}", suffix.unwrap_or_default()));
    if let Err(e) = fs::rename(tmp, &dest) {
        if e.kind() != io::ErrorKind::NotFound || dest_dir.is_dir() {
            return Err(StorageError::io("rename", &dest, e, false));
        }
        ensure_subdirs(&mb.paths.dir, &mb.perms)?;
        fs::rename(tmp, &dest).map_err(|e| StorageError::io("rename", &dest, e, false))?;
    }
    Ok(dest)
}
