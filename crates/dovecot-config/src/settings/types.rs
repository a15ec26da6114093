//! Value types of typed settings and how each is parsed from config text.

use std::time::Duration;

use crate::value;

/// A type a setting can be parsed into. The error string is doveconf's message.
pub trait SettingValue: Sized {
    /// Parses the raw (already `$`-expanded) config text.
    fn parse_setting(raw: &str) -> Result<Self, String>;
}

impl SettingValue for String {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        Ok(raw.to_owned())
    }
}

impl SettingValue for bool {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        value::parse_bool(raw)
    }
}

impl SettingValue for u32 {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        value::parse_u32(raw)
    }
}

impl SettingValue for Duration {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        value::parse_time(raw)
    }
}

/// Space-separated word lists (`mail_plugins = quota sieve`).
impl SettingValue for Vec<String> {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        Ok(value::parse_list(raw))
    }
}

/// A size in bytes (`10M`, `1 G`, `512 kB`; 1024-based units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

impl Size {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl SettingValue for Size {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        value::parse_size(raw).map(Size)
    }
}

/// `mail_fsync`: when to fsync mail files, directories and index logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FsyncMode {
    /// fsync message files and changed directories, uidlist, subscriptions; not the index log.
    #[default]
    Optimized,
    /// Additionally fdatasync the index log after each write.
    Always,
    /// No syncing at all.
    Never,
}

impl SettingValue for FsyncMode {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        match raw {
            "optimized" => Ok(Self::Optimized),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err(format!("Invalid value: {raw}")),
        }
    }
}

/// `lock_method`: how index, log and cache files are locked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LockMethod {
    /// POSIX `fcntl()` record locks.
    #[default]
    Fcntl,
    /// BSD `flock()`.
    Flock,
    /// `.lock` files next to the locked file.
    Dotlock,
}

impl SettingValue for LockMethod {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        match raw {
            "fcntl" => Ok(Self::Fcntl),
            "flock" => Ok(Self::Flock),
            "dotlock" => Ok(Self::Dotlock),
            _ => Err(format!("Invalid value: {raw}")),
        }
    }
}

/// One entry of `mbox_read_locks` / `mbox_write_locks`, applied in the listed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MboxLockMethod {
    /// `mbox.lock` dotlock (needs write access to the mbox directory).
    Dotlock,
    /// Dotlock, silently skipped when the directory is not writable.
    DotlockTry,
    /// `fcntl()` lock on the mbox file.
    Fcntl,
    /// `flock()` lock on the mbox file.
    Flock,
    /// `lockf()` lock on the mbox file.
    Lockf,
}

/// Dovecot accepts any text here at config time and rejects unknown names when the mbox
/// storage starts (`Invalid mbox lock setting`); letterbox rejects them while loading.
impl SettingValue for Vec<MboxLockMethod> {
    fn parse_setting(raw: &str) -> Result<Self, String> {
        value::parse_list(raw)
            .iter()
            .map(|word| match word.as_str() {
                "dotlock" => Ok(MboxLockMethod::Dotlock),
                "dotlock_try" => Ok(MboxLockMethod::DotlockTry),
                "fcntl" => Ok(MboxLockMethod::Fcntl),
                "flock" => Ok(MboxLockMethod::Flock),
                "lockf" => Ok(MboxLockMethod::Lockf),
                other => Err(format!("mbox: Invalid lock setting: {other}")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_case_sensitive_like_dovecot() {
        assert_eq!(FsyncMode::parse_setting("always"), Ok(FsyncMode::Always));
        assert_eq!(FsyncMode::parse_setting("ALWAYS").unwrap_err(), "Invalid value: ALWAYS");
        assert_eq!(LockMethod::parse_setting("flock"), Ok(LockMethod::Flock));
        assert!(LockMethod::parse_setting("lockf").is_err());
    }

    #[test]
    fn mbox_lock_lists_keep_order() {
        assert_eq!(
            Vec::<MboxLockMethod>::parse_setting("fcntl dotlock"),
            Ok(vec![MboxLockMethod::Fcntl, MboxLockMethod::Dotlock])
        );
        assert!(Vec::<MboxLockMethod>::parse_setting("foo").is_err());
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(Size::parse_setting("10M"), Ok(Size(10 << 20)));
        assert_eq!(Duration::parse_setting("30 secs"), Ok(Duration::from_secs(30)));
    }
}
