//! Typed lookup errors and non-fatal warnings, each naming where (file:line, socket, NSS)
//! and for which user the problem happened.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a lookup problem was found: the thing an administrator must look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorLocation {
    /// A passwd-file, optionally with the 1-based line number of the offending entry.
    File {
        /// Path of the passwd-file (after %-expansion).
        path: PathBuf,
        /// 1-based line number, when the problem is tied to one line.
        line: Option<usize>,
    },
    /// The auth-master UNIX socket.
    Socket(PathBuf),
    /// The system user/group database (getpwnam, getpwuid, getgrnam, getgrouplist).
    Nss,
    /// A userdb declaration (`driver`/`args`) in the configuration.
    Config,
}

impl fmt::Display for ErrorLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line: Some(line) } => {
                write!(f, "passwd-file {}:{line}", path.display())
            }
            Self::File { path, line: None } => write!(f, "passwd-file {}", path.display()),
            Self::Socket(path) => write!(f, "auth-master socket {}", path.display()),
            Self::Nss => f.write_str("NSS"),
            Self::Config => f.write_str("userdb configuration"),
        }
    }
}

/// What kind of failure a [`LookupError`] is. Every kind is a *temporary* failure for the
/// delivery (EX_TEMPFAIL / LMTP 451): "user unknown" is never an error but `Ok(None)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupErrorKind {
    /// Reading a file or socket failed (other than "file does not exist").
    Io,
    /// The auth-master socket could not be connected to.
    Connect,
    /// The auth server did not answer within the timeout.
    Timeout,
    /// The auth server sent something the protocol does not allow.
    Protocol,
    /// The auth server answered `FAIL` (its userdb backend failed).
    Failed,
    /// A system database call (getpwnam, getgrouplist, ...) failed.
    Nss,
    /// The userdb declaration is invalid (unknown driver, bad `args`).
    InvalidConfig,
}

impl fmt::Display for LookupErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Io => "I/O error",
            Self::Connect => "connect failed",
            Self::Timeout => "timed out",
            Self::Protocol => "protocol error",
            Self::Failed => "userdb lookup failed",
            Self::Nss => "system user database error",
            Self::InvalidConfig => "invalid userdb configuration",
        })
    }
}

/// A userdb lookup that could not be completed: the delivery must be retried later.
///
/// `Display` gives the full detail for logs, for example
/// `passwd-file /etc/dovecot/users: user "alice": I/O error: read failed: Permission denied`.
/// Paths and user names appear here, so never use it as public (SMTP/bounce) text.
#[derive(Debug, thiserror::Error)]
#[error("{location}: user {user:?}: {kind}: {detail}")]
#[non_exhaustive]
pub struct LookupError {
    /// What went wrong.
    pub kind: LookupErrorKind,
    /// The user being looked up (as given by the caller; may be empty for non-user lookups).
    pub user: String,
    /// Which file, socket or database the problem is in.
    pub location: ErrorLocation,
    /// Human-readable detail (Dovecot's wording where it has one, e.g. the `FAIL` reason).
    pub detail: String,
    /// The underlying OS error, if any.
    #[source]
    pub cause: Option<io::Error>,
}

impl LookupError {
    /// Builds an error without an OS cause.
    pub fn new(
        kind: LookupErrorKind,
        user: &str,
        location: ErrorLocation,
        detail: impl Into<String>,
    ) -> Self {
        Self { kind, user: user.to_owned(), location, detail: detail.into(), cause: None }
    }

    /// Attaches the OS error that caused this one (kept as `source()`).
    #[must_use]
    pub fn with_cause(mut self, cause: io::Error) -> Self {
        self.cause = Some(cause);
        self
    }
}

/// A problem that did not stop the lookup but that Dovecot would log as an error, such as a
/// passwd-file entry with an invalid UID (the entry is skipped) or a user listed twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupWarning {
    /// Where the problem is.
    pub location: ErrorLocation,
    /// The user being looked up.
    pub user: String,
    /// What is wrong, in Dovecot's wording where it has one.
    pub message: String,
}

impl fmt::Display for LookupWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: user {:?}: {}", self.location, self.user, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_names_file_line_and_user() {
        let loc = ErrorLocation::File { path: PathBuf::from("/etc/users"), line: Some(7) };
        let err = LookupError::new(LookupErrorKind::Io, "alice", loc, "read failed")
            .with_cause(io::Error::from(io::ErrorKind::PermissionDenied));
        let text = err.to_string();
        assert!(text.starts_with("passwd-file /etc/users:7: user \"alice\": I/O error"), "{text}");
        assert!(err.source().is_some());
    }

    #[test]
    fn display_names_socket() {
        let err = LookupError::new(
            LookupErrorKind::Failed,
            "bob",
            ErrorLocation::Socket(PathBuf::from("/run/dovecot/auth-userdb")),
            "backend down",
        );
        assert_eq!(
            err.to_string(),
            "auth-master socket /run/dovecot/auth-userdb: user \"bob\": userdb lookup failed: \
             backend down"
        );
        assert!(err.source().is_none());
    }
}
