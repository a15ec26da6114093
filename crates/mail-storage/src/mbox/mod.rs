//! The mbox driver (mbox.md, mbox-storage.c, mbox-save.c): one file per mailbox, INBOX at
//! `INBOX=` (typically `/var/mail/%u`) or `<root>/inbox`, other mailboxes as files under
//! the root with `LAYOUT=fs` (`Work/Sub` is the file `<root>/Work/Sub`).
//!
//! Opening creates INBOX when it is missing (mode 0600, missing parent directories with the
//! root's modes) and other mailboxes only when asked to (autocreate), with modes derived
//! from their directory. Saving ([`save`]) appends one message under the configured write
//! locks ([`lock`]). Dovecot's mbox index (`<root>/.imap/…`) is neither read nor written:
//! Dovecot notices the changed size and mtime and re-parses the new tail.

pub mod from_line;
pub(crate) mod headers;
pub(crate) mod lock;
pub(crate) mod save;

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ErrorKind, StorageError};
use crate::location::MailLocation;
use crate::maildir::Target;
use crate::maildir::create::{Permissions, mkdir_parents};
use crate::settings::StorageSettings;

/// The INBOX file name under the root when `INBOX=` is not given (observed: lowercase).
const DEFAULT_INBOX_FILE: &str = "inbox";

/// Dovecot's per-mailbox index directory name for mbox (observed: `<root>/.imap/INBOX`,
/// `<root>/Work/.imap/Sub`).
const INDEX_DIR_NAME: &str = ".imap";

/// Mode of a newly created INBOX file (observed 0600, also in a 1777/2775 spool directory).
const INBOX_MODE: u32 = 0o600;

/// An mbox opened for saving.
#[derive(Debug, Clone)]
pub(crate) struct MboxMailbox {
    /// The mbox file.
    pub path: PathBuf,
    /// Where Dovecot keeps this mailbox's index files (informational: we write none).
    pub index: PathBuf,
    /// Settings (locks, timeouts, fsync).
    pub settings: Arc<StorageSettings>,
}

/// The file that holds `target`.
pub(crate) fn path_for(location: &MailLocation, target: &Target) -> PathBuf {
    match target {
        Target::Inbox => {
            location.inbox.clone().unwrap_or_else(|| location.root.join(DEFAULT_INBOX_FILE))
        }
        Target::Folder { rel, .. } => location.root.join(rel),
    }
}

fn index_dir_for(location: &MailLocation, target: &Target, path: &Path) -> PathBuf {
    let (parent, name) = match target {
        Target::Inbox => (location.root.clone(), "INBOX".to_owned()),
        Target::Folder { rel, .. } => match &location.index {
            Some(index) => return index.join(rel),
            None => (
                path.parent().map_or_else(|| location.root.clone(), Path::to_path_buf),
                path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            ),
        },
    };
    let base = location.index.clone().unwrap_or(parent);
    if location.index.is_some() { base.join(name) } else { base.join(INDEX_DIR_NAME).join(name) }
}

/// Opens `target` (creating it when it is INBOX or `autocreate` is set). Returns the
/// mailbox and whether this call created the file.
pub(crate) fn open(
    location: &MailLocation,
    target: &Target,
    autocreate: bool,
    vname: &str,
    settings: &Arc<StorageSettings>,
) -> Result<(MboxMailbox, bool), StorageError> {
    let path = path_for(location, target);
    let created = match fs::metadata(&path) {
        Ok(meta) if meta.is_file() => false,
        Ok(_) => {
            return Err(StorageError::new(ErrorKind::NotPossible, "Mailbox isn't selectable"));
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(StorageError::io("stat", &path, e, true));
        }
        Err(_) if *target == Target::Inbox => create_file(location, &path, Some(INBOX_MODE))?,
        Err(_) if autocreate => create_file(location, &path, None)?,
        Err(_) => return Err(StorageError::not_found(vname)),
    };
    let index = index_dir_for(location, target, &path);
    Ok((MboxMailbox { path, index, settings: Arc::clone(settings) }, created))
}

/// Whether the mailbox file exists (for the create-time name checks).
pub(crate) fn exists(location: &MailLocation, target: &Target) -> bool {
    path_for(location, target).exists()
}

/// Creates an empty mbox file (and missing directories above it, with the root's modes, or
/// Dovecot's 0700 when the root does not exist yet). The file's mode is `mode` or derived
/// from its directory. Ok(false) when another process created it first.
fn create_file(
    location: &MailLocation,
    path: &Path,
    mode: Option<u32>,
) -> Result<bool, StorageError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let dir_perms = match Permissions::of_dir(dir)? {
        Some(perms) => perms,
        None => {
            let perms = Permissions::of_dir(&location.root)?.unwrap_or_default();
            mkdir_parents(dir, &perms)?;
            Permissions::of_dir(dir)?.unwrap_or(perms)
        }
    };
    let file_mode = mode.unwrap_or(dir_perms.file_mode);
    let file = match OpenOptions::new().write(true).create_new(true).mode(file_mode).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(StorageError::io("open", path, e, false)),
    };
    file.set_permissions(fs::Permissions::from_mode(file_mode))
        .map_err(|e| StorageError::io("fchmod", path, e, false))?;
    if let Some(gid) = dir_perms.gid.filter(|_| mode.is_none()) {
        fchown(&file, None, Some(gid)).map_err(|e| StorageError::io("fchown", path, e, false))?;
    }
    Ok(true)
}
