//! Storage settings that come from `dovecot.conf` (resolved by the caller).

use std::path::PathBuf;
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
    /// `mbox_write_locks`: every method is taken, in this order, before appending to an mbox
    /// (upstream default `dotlock fcntl`; Debian's package ships `fcntl dotlock`).
    pub mbox_write_locks: Vec<MboxLockMethod>,
    /// `mbox_lock_timeout` (default 5 min): bound on taking all mbox write locks; reaching it
    /// is a temporary error.
    pub mbox_lock_timeout: Duration,
    /// `mbox_dotlock_change_timeout` (default 2 min): an mbox dotlock is broken as stale when
    /// neither it nor the mbox changed for this long.
    pub mbox_dotlock_change_timeout: Duration,
    /// `mail_temp_dir` (default `/tmp`): where incoming mail may be staged when the INBOX is
    /// an mbox (there is no Maildir `tmp/` to stage into).
    pub temp_dir: PathBuf,
    /// How long a Maildir save waits for the fcntl locks on `dovecot.index.log` and
    /// `dovecot.index.cache` (index-files.md §3.8) before leaving the index files alone; the
    /// message is delivered either way and Dovecot catches up from the uidlist.
    pub index_lock_timeout: Duration,
    /// `mail_index_rewrite_min_log_bytes` (8k): a delivery that had to replay more log than
    /// this rewrites `dovecot.index` once the log bytes past it exceed this too, as Dovecot's
    /// LDA does (index-files.md §4.5).
    pub index_rewrite_min_log_bytes: u64,
    /// `mail_index_rewrite_max_log_bytes` (128k): `dovecot.index` is always rewritten once
    /// the log bytes past it exceed this.
    pub index_rewrite_max_log_bytes: u64,
    /// `mail_index_log_rotate_min_size` (32k): a log at least this large is rotated once it
    /// is older than `index_log_rotate_min_age` (index-files.md §3.9).
    pub index_log_rotate_min_size: u64,
    /// `mail_index_log_rotate_max_size` (1M): a larger log is always rotated.
    pub index_log_rotate_max_size: u64,
    /// `mail_index_log_rotate_min_age` (5 min).
    pub index_log_rotate_min_age: Duration,
    /// `mail_index_log2_max_age` (2 days): read for completeness; letterbox never deletes an
    /// aged `dovecot.index.log.2` itself (a rotation replaces it, Dovecot's sync deletes it).
    pub index_log2_max_age: Duration,
}

/// One entry of `mbox_write_locks` (mbox.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MboxLockMethod {
    /// `dotlock`: `<mbox>.lock` created with the dotlock protocol.
    Dotlock,
    /// `dotlock_try`: as `dotlock`, but skipped when the lock file cannot be created because
    /// of missing permission or a full disk.
    DotlockTry,
    /// `fcntl`: a POSIX write lock on the whole file (taken as an open-file-description lock
    /// on Linux, which conflicts with Dovecot's `F_SETLKW` and also separates our threads).
    Fcntl,
    /// `flock`: `flock(LOCK_EX)`.
    Flock,
    /// `lockf`: on Linux the same kernel lock as `fcntl`, so it is taken like `fcntl`.
    Lockf,
}

impl MboxLockMethod {
    /// Dovecot's upstream `mbox_write_locks` default: `dotlock fcntl`.
    pub const DEFAULT_WRITE_LOCKS: [MboxLockMethod; 2] =
        [MboxLockMethod::Dotlock, MboxLockMethod::Fcntl];

    /// The setting word (`dotlock`, `dotlock_try`, `fcntl`, `flock`, `lockf`).
    pub fn name(self) -> &'static str {
        match self {
            MboxLockMethod::Dotlock => "dotlock",
            MboxLockMethod::DotlockTry => "dotlock_try",
            MboxLockMethod::Fcntl => "fcntl",
            MboxLockMethod::Flock => "flock",
            MboxLockMethod::Lockf => "lockf",
        }
    }
}

impl Default for StorageSettings {
    fn default() -> StorageSettings {
        StorageSettings {
            fsync: FsyncMode::Optimized,
            hostname: system_hostname(),
            dotlock_timeout: Duration::from_secs(122),
            copy_with_hardlinks: true,
            max_keyword_length: 50,
            mbox_write_locks: MboxLockMethod::DEFAULT_WRITE_LOCKS.to_vec(),
            mbox_lock_timeout: Duration::from_secs(300),
            mbox_dotlock_change_timeout: Duration::from_secs(120),
            temp_dir: PathBuf::from("/tmp"),
            index_lock_timeout: Duration::from_secs(10),
            index_rewrite_min_log_bytes: 8 << 10,
            index_rewrite_max_log_bytes: 128 << 10,
            index_log_rotate_min_size: 32 << 10,
            index_log_rotate_max_size: 1 << 20,
            index_log_rotate_min_age: Duration::from_secs(300),
            index_log2_max_age: Duration::from_secs(2 * 86_400),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_is_always_given() {
        assert!(!system_hostname().is_empty());
    }
}
