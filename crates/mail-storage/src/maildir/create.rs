//! Creating Maildir directories the way Dovecot does (maildir.md §1, §8; maildir-storage.c):
//! modes and group derived from the containing directory, `cur/new/tmp`, and the empty
//! `maildirfolder` marker in every Maildir++ mailbox directory this crate creates.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt, chown};
use std::path::Path;

use crate::error::StorageError;

/// Modes and group for new files and directories, derived from a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// Mode of new files: (dir mode & 0666) | 0600.
    pub file_mode: u32,
    /// Mode of new directories: (dir mode & 0777) | 0700.
    pub dir_mode: u32,
    /// Group to `chown` new files to, when the kernel will not do it.
    pub gid: Option<u32>,
}

impl Default for Permissions {
    /// Dovecot's defaults when the root does not exist yet: 0600 / 0700.
    fn default() -> Permissions {
        Permissions { file_mode: 0o600, dir_mode: 0o700, gid: None }
    }
}

impl Permissions {
    /// Derives permissions from a directory's metadata.
    pub fn from_dir(meta: &fs::Metadata) -> Permissions {
        let mode = meta.mode();
        let group_bits = (mode >> 3) & 7;
        let other_bits = mode & 7;
        let gid = if mode & 0o2000 != 0
            || group_bits == other_bits
            || meta.gid() == nix::unistd::getegid().as_raw()
        {
            None
        } else {
            Some(meta.gid())
        };
        Permissions { file_mode: (mode & 0o666) | 0o600, dir_mode: (mode & 0o777) | 0o700, gid }
    }

    /// Permissions of `dir`, or `None` when it does not exist.
    pub fn of_dir(dir: &Path) -> Result<Option<Permissions>, StorageError> {
        match fs::metadata(dir) {
            Ok(meta) => Ok(Some(Permissions::from_dir(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io("stat", dir, e, false)),
        }
    }
}

/// `mkdir` with the exact mode (umask undone) and group. Ok(false) when it already existed.
pub fn mkdir(path: &Path, perms: &Permissions) -> Result<bool, StorageError> {
    match DirBuilder::new().mode(perms.dir_mode).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(StorageError::io("mkdir", path, e, false)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(perms.dir_mode))
        .map_err(|e| StorageError::io("chmod", path, e, false))?;
    if let Some(gid) = perms.gid {
        chown(path, None, Some(gid)).map_err(|e| StorageError::io("chown", path, e, false))?;
    }
    Ok(true)
}

/// `mkdir -p`: creates missing ancestors and `path` with `perms`. Ok(false) when `path`
/// already existed.
pub fn mkdir_parents(path: &Path, perms: &Permissions) -> Result<bool, StorageError> {
    match mkdir(path, perms) {
        Ok(created) => Ok(created),
        Err(e) if is_enoent(&e) => {
            if let Some(parent) = path.parent() {
                mkdir_parents(parent, perms)?;
            }
            mkdir(path, perms)
        }
        Err(e) => Err(e),
    }
}

fn is_enoent(err: &StorageError) -> bool {
    err.io_error().is_some_and(|e| e.kind() == io::ErrorKind::NotFound)
}

/// Creates whichever of `cur/`, `new/`, `tmp/` is missing.
pub fn ensure_subdirs(dir: &Path, perms: &Permissions) -> Result<(), StorageError> {
    for sub in ["cur", "new", "tmp"] {
        mkdir(&dir.join(sub), perms)?;
    }
    Ok(())
}

/// Creates an empty file with the exact mode (the `maildirfolder` marker).
pub fn create_empty_file(path: &Path, perms: &Permissions) -> Result<(), StorageError> {
    let file =
        match OpenOptions::new().write(true).create_new(true).mode(perms.file_mode).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(StorageError::io("open", path, e, false)),
        };
    file.set_permissions(fs::Permissions::from_mode(perms.file_mode))
        .map_err(|e| StorageError::io("fchmod", path, e, false))?;
    if let Some(gid) = perms.gid {
        std::os::unix::fs::fchown(&file, None, Some(gid))
            .map_err(|e| StorageError::io("fchown", path, e, false))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_derive_from_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let perms = Permissions::of_dir(dir.path()).unwrap().unwrap();
        assert_eq!((perms.file_mode, perms.dir_mode), (0o640, 0o750));
        let sub = dir.path().join("a/b");
        assert!(mkdir_parents(&sub, &perms).unwrap());
        assert!(!mkdir_parents(&sub, &perms).unwrap());
        assert_eq!(fs::metadata(&sub).unwrap().mode() & 0o7777, 0o750);
        ensure_subdirs(&sub, &perms).unwrap();
        create_empty_file(&sub.join("maildirfolder"), &perms).unwrap();
        assert_eq!(fs::metadata(sub.join("maildirfolder")).unwrap().mode() & 0o777, 0o640);
        assert!(sub.join("tmp").is_dir());
        assert_eq!(Permissions::of_dir(&dir.path().join("missing")).unwrap(), None);
    }
}
