//! The Maildir driver: opening (and lazily creating) a mailbox directory as
//! maildir-storage.c does, and saving into it (see [`save`]).

pub mod create;
pub mod filename;
pub(crate) mod group_commit;
pub(crate) mod index_update;
pub mod keywords;
pub(crate) mod save;
pub(crate) mod uidlist_sync;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StorageError;
use crate::location::{Layout, MailLocation};
use crate::mailbox::MaildirPaths;
use crate::settings::StorageSettings;
use create::{Permissions, create_empty_file, ensure_subdirs, mkdir, mkdir_parents};

/// A Maildir mailbox opened for saving.
#[derive(Debug, Clone)]
pub(crate) struct MaildirMailbox {
    pub paths: MaildirPaths,
    pub perms: Permissions,
    pub settings: Arc<StorageSettings>,
}

/// Which mailbox of a location to open (for every driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The user's INBOX (always created when missing).
    Inbox,
    /// Another mailbox: its directory relative to the root, and the relative directories of
    /// its parent mailboxes, nearest first (their modes are inherited).
    Folder { rel: String, parents: Vec<String> },
}

/// The result of opening.
#[derive(Debug)]
pub(crate) struct Opened {
    pub paths: MaildirPaths,
    pub perms: Permissions,
    pub created: bool,
}

/// Where `target`'s files live under `location`.
pub(crate) fn paths_for(location: &MailLocation, target: &Target) -> MaildirPaths {
    let control_root = location.control_root().to_path_buf();
    match target {
        Target::Inbox => {
            let dir = location.inbox_dir().to_path_buf();
            MaildirPaths {
                control: location.control.clone().unwrap_or_else(|| dir.clone()),
                index: location.index.clone().unwrap_or_else(|| dir.clone()),
                index_in_memory: location.index_in_memory,
                dir,
                control_root,
            }
        }
        Target::Folder { rel, .. } => {
            let dir = location.root.join(rel);
            MaildirPaths {
                control: location.control.as_ref().map_or_else(|| dir.clone(), |c| c.join(rel)),
                index: location.index.as_ref().map_or_else(|| dir.clone(), |i| i.join(rel)),
                index_in_memory: location.index_in_memory,
                dir,
                control_root,
            }
        }
    }
}

/// Opens `target`, creating it when it is INBOX or `autocreate` is set. Missing `cur/new/tmp`
/// of an existing Maildir++ (or INBOX) directory are added silently.
pub(crate) fn open(
    location: &MailLocation,
    target: &Target,
    autocreate: bool,
    vname: &str,
) -> Result<Opened, StorageError> {
    let paths = paths_for(location, target);
    let is_inbox = *target == Target::Inbox;
    let mut created = false;
    if !exists(&paths.dir.join("tmp"))? {
        match fs::metadata(&paths.dir) {
            Ok(meta)
                if meta.is_dir() && (is_inbox || location.layout == Layout::MaildirPlusPlus) =>
            {
                ensure_subdirs(&paths.dir, &Permissions::from_dir(&meta))?;
            }
            _ if is_inbox || autocreate => created = create(location, target, &paths.dir)?,
            _ => return Err(StorageError::not_found(vname)),
        }
    }
    let perms = match fs::metadata(&paths.dir) {
        Ok(meta) => Permissions::from_dir(&meta),
        Err(e) => return Err(StorageError::io("stat", &paths.dir, e, false)),
    };
    for extra in [&paths.control, &paths.index] {
        if *extra != paths.dir {
            mkdir_parents(extra, &perms)?;
        }
    }
    Ok(Opened { paths, perms, created })
}

fn exists(path: &Path) -> Result<bool, StorageError> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io("stat", path, e, false)),
    }
}

/// Creates the mailbox directory and its subdirectories; returns true when this call made
/// the mailbox (false when a concurrent creator won).
fn create(location: &MailLocation, target: &Target, dir: &Path) -> Result<bool, StorageError> {
    let root_perms = Permissions::of_dir(&location.root)?;
    let made_dir = match target {
        Target::Inbox => {
            let perms = root_perms.unwrap_or_default();
            let made = mkdir_parents(dir, &perms)?;
            finish(location, dir, made, &perms)?;
            return Ok(true);
        }
        Target::Folder { parents, .. } => {
            let perms =
                inherited_perms(&location.root, parents)?.or(root_perms).unwrap_or_default();
            if root_perms.is_none() {
                mkdir_parents(&location.root, &perms)?;
            }
            if let Some(parent) = dir.parent().filter(|_| location.layout == Layout::Fs) {
                mkdir_parents(parent, &perms)?;
            }
            (mkdir(dir, &perms)?, perms)
        }
    };
    let (made, perms) = made_dir;
    finish(location, dir, made, &perms)?;
    copy_shared_marker(&location.root, dir, made)?;
    Ok(made || location.layout == Layout::Fs)
}

/// cur/new/tmp, and `maildirfolder` when the Maildir++ directory was made by us.
fn finish(
    location: &MailLocation,
    dir: &Path,
    made_dir: bool,
    perms: &Permissions,
) -> Result<(), StorageError> {
    ensure_subdirs(dir, perms)?;
    if made_dir && location.layout == Layout::MaildirPlusPlus {
        create_empty_file(&dir.join("maildirfolder"), perms)?;
    }
    Ok(())
}

/// A root with `dovecot-shared` marks shared mailboxes: new mailboxes get a copy of it.
fn copy_shared_marker(root: &Path, dir: &Path, made_dir: bool) -> Result<(), StorageError> {
    let marker = root.join("dovecot-shared");
    if made_dir && marker.is_file() {
        fs::copy(&marker, dir.join("dovecot-shared"))
            .map_err(|e| StorageError::io("copy", &dir.join("dovecot-shared"), e, false))?;
    }
    Ok(())
}

fn inherited_perms(root: &Path, parents: &[String]) -> Result<Option<Permissions>, StorageError> {
    for rel in parents {
        if let Some(perms) = Permissions::of_dir(&root.join(rel))? {
            return Ok(Some(perms));
        }
    }
    Ok(None)
}

/// The INBOX's `tmp/` (for staging), after opening INBOX.
pub(crate) fn tmp_dir(paths: &MaildirPaths) -> PathBuf {
    paths.dir.join("tmp")
}
