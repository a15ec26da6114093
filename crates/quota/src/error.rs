//! The quota crate's error type: what went wrong, with the setting, file or mailbox involved.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading quota settings or quota state.
///
/// Setting errors name the `plugin { }` key and its value, because a broken quota
/// configuration makes every delivery tempfail and the admin must find the line quickly.
/// I/O errors carry the path and the operation. Dovecot logs backend errors during the
/// quota check and saves the mail anyway; the caller decides that (see
/// [`crate::Quota::check_before_save`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaError {
    /// A `plugin { }` value could not be parsed.
    #[error("quota: invalid setting {setting} = {value:?}: {reason}")]
    InvalidSetting {
        /// The key, e.g. `quota_rule2` or `quota2_grace`.
        setting: String,
        /// The raw value as configured.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A quota root names a backend letterbox does not implement (`dict`, `fs`, …).
    #[error(
        "quota: setting {setting}: unsupported quota backend {backend:?} (only maildir and count)"
    )]
    UnsupportedBackend {
        /// The key, e.g. `quota` or `quota2`.
        setting: String,
        /// The backend name found in the value.
        backend: String,
    },
    /// A filesystem operation on quota state failed.
    #[error("quota: {op} {path} failed: {source}")]
    Io {
        /// What was being done (`open`, `read`, `write`, `rename`, `readdir`, `stat`, …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl QuotaError {
    /// Builds an [`QuotaError::InvalidSetting`].
    pub(crate) fn setting(setting: &str, value: &str, reason: impl Into<String>) -> Self {
        QuotaError::InvalidSetting {
            setting: setting.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// Builds an [`QuotaError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        QuotaError::Io { op, path: path.into(), source }
    }
}
