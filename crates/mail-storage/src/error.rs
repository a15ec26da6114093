//! Storage errors, classified like Dovecot's `enum mail_error` (src/lib-storage/mail-error.h),
//! with the public text the LDA logs after "save failed to open mailbox X: " kept apart
//! from the detailed text (paths, errno) for logs.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Dovecot's error classes that matter for delivery (lda-cli.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The mailbox does not exist (and was not to be created).
    NotFound,
    /// The mailbox name is not acceptable.
    InvalidName,
    /// The operation cannot be done on this mailbox (e.g. outside every namespace).
    NotPossible,
    /// No permission to open a file (EACCES on open).
    NoPermission,
    /// Over quota (EDQUOT).
    NoQuota,
    /// Temporary failure: I/O errors, failed mkdir, lock timeouts, disk full.
    Temp,
}

/// A storage failure with its context.
#[derive(Debug)]
pub struct StorageError {
    /// The class, which decides the LDA's fallback.
    pub kind: ErrorKind,
    /// The mailbox (virtual name) involved, when known.
    pub mailbox: Option<String>,
    /// The file or directory involved, when known.
    pub path: Option<PathBuf>,
    /// The text Dovecot shows, e.g. "Invalid mailbox name: Name must not have '/' characters".
    reason: String,
    /// Full detail for logs, e.g. "mkdir(/home/u/Maildir) failed: Permission denied".
    detail: String,
    source: Option<io::Error>,
}

impl StorageError {
    /// A new error of `kind`; `reason` is the public text, also used as detail.
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> StorageError {
        let reason = reason.into();
        StorageError {
            kind,
            mailbox: None,
            path: None,
            detail: reason.clone(),
            reason,
            source: None,
        }
    }

    /// A failed system call `op` on `path`, classified from errno: EDQUOT → NoQuota,
    /// EACCES/EPERM → NoPermission when `eacces_is_permission`, else everything → Temp.
    pub fn io(op: &str, path: &Path, err: io::Error, eacces_is_permission: bool) -> StorageError {
        let errno = err.raw_os_error();
        let (kind, reason) = match errno {
            Some(e) if e == nix::errno::Errno::EDQUOT as i32 => {
                (ErrorKind::NoQuota, "Not enough disk quota".to_owned())
            }
            Some(e) if eacces_is_permission && (e == nix::errno::Errno::EACCES as i32) => {
                (ErrorKind::NoPermission, "Permission denied".to_owned())
            }
            _ => (ErrorKind::Temp, String::new()),
        };
        let detail = format!("{op}({}) failed: {err}", path.display());
        let reason = if reason.is_empty() { detail.clone() } else { reason };
        StorageError {
            kind,
            mailbox: None,
            path: Some(path.to_path_buf()),
            reason,
            detail,
            source: Some(err),
        }
    }

    /// A temporary (internal) error with a detail text.
    pub fn temp(detail: impl Into<String>) -> StorageError {
        StorageError::new(ErrorKind::Temp, detail)
    }

    /// "Invalid mailbox name: <reason>".
    pub fn invalid_name(reason: impl Into<String>) -> StorageError {
        StorageError::new(
            ErrorKind::InvalidName,
            format!("Invalid mailbox name: {}", reason.into()),
        )
    }

    /// "Mailbox doesn't exist: <vname>".
    pub fn not_found(vname: &str) -> StorageError {
        StorageError::new(ErrorKind::NotFound, format!("Mailbox doesn't exist: {vname}"))
            .with_mailbox(vname)
    }

    /// Replaces the log text; for temporary errors the public text too, since Dovecot shows
    /// the internal error text for them.
    pub(crate) fn set_detail(&mut self, detail: String) {
        if self.kind == ErrorKind::Temp {
            self.reason = detail.clone();
        }
        self.detail = detail;
    }

    /// Attaches the mailbox name.
    pub fn with_mailbox(mut self, vname: &str) -> StorageError {
        self.mailbox = Some(vname.to_owned());
        self
    }

    /// The text Dovecot logs after "save failed to open mailbox X: ". For temporary errors
    /// this is the internal error text (with paths), as dovecot-lda 2.3 logs it.
    pub fn public_message(&self) -> String {
        self.reason.clone()
    }

    /// True for Dovecot's temporary class (I/O, lock timeout, ENOSPC): no INBOX fallback.
    pub fn is_temporary(&self) -> bool {
        self.kind == ErrorKind::Temp
    }

    /// The underlying I/O error, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }

    /// The same error for another message of a group commit that failed as a whole (the
    /// I/O error is recreated from its kind, errno and text, since `io::Error` is not `Clone`).
    pub(crate) fn duplicate(&self) -> StorageError {
        let source = self.source.as_ref().map(|e| match e.raw_os_error() {
            Some(errno) => io::Error::from_raw_os_error(errno),
            None => io::Error::new(e.kind(), e.to_string()),
        });
        StorageError {
            kind: self.kind,
            mailbox: self.mailbox.clone(),
            path: self.path.clone(),
            reason: self.reason.clone(),
            detail: self.detail.clone(),
            source,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(mailbox) = &self.mailbox {
            write!(f, "mailbox {mailbox}: ")?;
        }
        f.write_str(&self.detail)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<dovecot_index::DotlockError> for StorageError {
    fn from(err: dovecot_index::DotlockError) -> StorageError {
        let detail = err.to_string();
        let mut out = match err.io_error() {
            Some(io) => {
                let path = match &err {
                    dovecot_index::DotlockError::Io { path, .. } => path.clone(),
                    _ => PathBuf::new(),
                };
                StorageError::io("dotlock", &path, io::Error::new(io.kind(), io.to_string()), false)
            }
            None => StorageError::temp(detail.clone()),
        };
        if let Some(errno) = err.io_error().and_then(io::Error::raw_os_error)
            && errno == nix::errno::Errno::EDQUOT as i32
        {
            out.kind = ErrorKind::NoQuota;
        }
        out.detail = detail;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_messages_match_dovecot() {
        let e = StorageError::not_found("Nope");
        assert_eq!(e.public_message(), "Mailbox doesn't exist: Nope");
        let e = StorageError::invalid_name("Name must not have '/' characters");
        assert_eq!(e.public_message(), "Invalid mailbox name: Name must not have '/' characters");
        let e = StorageError::new(ErrorKind::NotPossible, "Mailbox can't be created");
        assert_eq!(e.public_message(), "Mailbox can't be created");
        assert!(!e.is_temporary());
    }

    #[test]
    fn errno_classes() {
        let p = Path::new("/x");
        let quota = StorageError::io("write", p, io::Error::from_raw_os_error(libc_edquot()), true);
        assert_eq!(quota.kind, ErrorKind::NoQuota);
        let full = StorageError::io("write", p, io::Error::from_raw_os_error(28), true);
        assert!(full.is_temporary());
        assert!(full.to_string().contains("write(/x) failed"));
        let perm = StorageError::io("open", p, io::Error::from_raw_os_error(13), true);
        assert_eq!(perm.kind, ErrorKind::NoPermission);
        let mkdir = StorageError::io("mkdir", p, io::Error::from_raw_os_error(13), false);
        assert!(mkdir.is_temporary());
    }

    fn libc_edquot() -> i32 {
        nix::errno::Errno::EDQUOT as i32
    }
}
