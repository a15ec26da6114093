//! Storage settings that come from `dovecot.conf` (resolved by the caller).

use std::time::Duration;

/// `mail_fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncMode {
    /// `optimized` (default): fsync message files, directories and the uidlist.
    #[default]
    Optimized,
    /// `always`: as optimized (delivery fsyncs everything it writes either way).
    Always,
    /// `never`: no fsync at all.
    Never,
}

impl FsyncMode {
    /// True when data must be made durable.
    pub fn enabled(self) -> bool {
        self != FsyncMode::Never
    }
}

/// Settings that shape how mail is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// `mail_fsync`.
    pub fsync: FsyncMode,
    /// Host name used in Maildir unique names and lock files (default: `gethostname()`).
    pub hostname: String,
    /// How long a save waits for `dovecot-uidlist.lock` before leaving the message in `new/`
    /// without a UID (Dovecot's own uidlist dotlock timeout is 120 s + 2 s).
    pub dotlock_timeout: Duration,
    /// When true, `MessageSource::File { may_link: true }` is hard-linked instead of copied.
    pub copy_with_hardlinks: bool,
    /// `mail_max_keyword_length` (default 50): longer keywords are not stored.
    pub max_keyword_length: usize,
}

impl Default for StorageSettings {
    fn default() -> StorageSettings {
        StorageSettings {
            fsync: FsyncMode::Optimized,
            hostname: system_hostname(),
            dotlock_timeout: Duration::from_secs(122),
            copy_with_hardlinks: true,
            max_keyword_length: 50,
        }
    }
}

/// `gethostname()`, or "localhost" when it fails or is not valid UTF-8.
pub fn system_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
