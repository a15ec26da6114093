//! Typed settings. Each block (one file each, like Dovecot's `*-settings.c`) declares its
//! settings exactly once in a `settings_block!` table: name, Rust type, Dovecot 2.3.19 default
//! (as the config-file text, parsed by the same code as the file) and a one-line doc.
//! The macro is crate-private; each block exposes its table as `DEFS`.

mod auth;
mod lda;
mod lmtp;
mod log;
mod mail;
mod types;

pub use auth::AuthSettings;
pub use lda::LdaSettings;
pub use lmtp::LmtpSettings;
pub use log::LogSettings;
pub use mail::MailSettings;
pub use types::{FsyncMode, LockMethod, MboxLockMethod, SettingValue, Size};

use std::path::Path;

use crate::error::ConfigError;

/// The declaration of one typed setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDef {
    /// Setting name as written in dovecot.conf.
    pub name: &'static str,
    /// The Rust type of the typed field.
    pub type_name: &'static str,
    /// Built-in default in config-file syntax.
    pub default: &'static str,
    /// One-line description.
    pub doc: &'static str,
}

/// Where typed blocks get raw values from: the effective string of a setting and a function
/// turning a parse failure into an error located where the value was set.
pub(crate) trait SettingSource {
    /// Effective raw value of a declared setting (never `None` for declared settings).
    fn raw(&self, key: &str) -> Option<&str>;
    /// An error for a bad value of `key`, pointing at the value's origin.
    fn error_for(&self, key: &str, message: String) -> ConfigError;
}

/// Parses one setting for a block, recording the error and falling back to the default.
pub(crate) fn typed<T: SettingValue + Default>(
    src: &dyn SettingSource,
    key: &str,
    default: &str,
    errors: &mut Vec<ConfigError>,
) -> T {
    let raw = src.raw(key).unwrap_or(default);
    match T::parse_setting(raw) {
        Ok(v) => v,
        Err(message) => {
            errors.push(src.error_for(key, message));
            T::parse_setting(default).unwrap_or_default()
        }
    }
}

/// Declares a typed settings block: a struct with one pub field per setting and a `DEFS`
/// table generated from the same lines, so a setting is declared in one place only.
macro_rules! settings_block {
    (
        $(#[doc = $sdoc:literal])*
        $name:ident {
            $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty = $default:literal, )*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
        }

        impl $name {
            /// Declarations of this block's settings, in declaration order.
            pub const DEFS: &'static [$crate::settings::SettingDef] = &[
                $( $crate::settings::SettingDef {
                    name: stringify!($field),
                    type_name: stringify!($ty),
                    default: $default,
                    doc: concat!($($doc),+),
                }, )*
            ];

            /// Builds the block from raw values, collecting every invalid value.
            pub(crate) fn build(
                src: &dyn $crate::settings::SettingSource,
            ) -> Result<Self, Vec<$crate::error::ConfigError>> {
                let mut errors = Vec::new();
                let built = Self {
                    $( $field: $crate::settings::typed(src, stringify!($field), $default, &mut errors), )*
                };
                if errors.is_empty() { Ok(built) } else { Err(errors) }
            }
        }
    };
}
pub(crate) use settings_block;

/// All typed settings the LDA and LMTP use, built once per [`crate::Config`].
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Storage and mail-process settings (mail-storage-settings.c).
    pub mail: MailSettings,
    /// Delivery settings (lda-settings.c, smtp-submit-settings.c).
    pub lda: LdaSettings,
    /// Logging and process settings (master-service-settings.c).
    pub log: LogSettings,
    /// Settings about the auth server the LDA talks to.
    pub auth: AuthSettings,
    /// LMTP server settings (lmtp-settings.c).
    pub lmtp: LmtpSettings,
}

impl Settings {
    /// Every typed setting's declaration, over all blocks.
    pub fn all_defs() -> impl Iterator<Item = &'static SettingDef> {
        MailSettings::DEFS
            .iter()
            .chain(LdaSettings::DEFS)
            .chain(LogSettings::DEFS)
            .chain(AuthSettings::DEFS)
            .chain(LmtpSettings::DEFS)
    }

    /// Looks up a typed setting's declaration by name.
    pub fn def(name: &str) -> Option<&'static SettingDef> {
        Self::all_defs().find(|d| d.name == name)
    }

    /// The auth-userdb socket: a relative `auth_socket_path` is taken under `base_dir`
    /// (`spec/config.md` §1).
    pub fn auth_socket_path(&self) -> std::path::PathBuf {
        let path = Path::new(&self.auth.auth_socket_path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            Path::new(&self.log.base_dir).join(path)
        }
    }

    pub(crate) fn build(src: &dyn SettingSource) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mail = MailSettings::build(src).map_err(|e| errors.extend(e)).ok();
        let lda = LdaSettings::build(src).map_err(|e| errors.extend(e)).ok();
        let log = LogSettings::build(src).map_err(|e| errors.extend(e)).ok();
        let auth = AuthSettings::build(src).map_err(|e| errors.extend(e)).ok();
        let lmtp = LmtpSettings::build(src).map_err(|e| errors.extend(e)).ok();
        match (mail, lda, log, auth, lmtp) {
            (Some(mail), Some(lda), Some(log), Some(auth), Some(lmtp)) if errors.is_empty() => {
                Ok(Self { mail, lda, log, auth, lmtp })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    struct Defaults;
    impl SettingSource for Defaults {
        fn raw(&self, _key: &str) -> Option<&str> {
            None
        }
        fn error_for(&self, key: &str, message: String) -> ConfigError {
            ConfigError::new(crate::error::ErrorSource::Builtin, format!("{key}: {message}"))
        }
    }

    #[test]
    fn every_default_parses() {
        let s = Settings::build(&Defaults).expect("all defaults must parse");
        assert!(s.lda.lda_mailbox_autocreate, "seed wins: autocreate defaults to yes");
        assert_eq!(s.mail.first_valid_uid, 500);
        assert_eq!(s.mail.mail_fsync, FsyncMode::Optimized);
        assert_eq!(s.auth_socket_path(), Path::new("/run/dovecot/auth-userdb"));
    }

    #[test]
    fn names_are_unique_and_known_to_dovecot() {
        let mut seen = BTreeSet::new();
        for def in Settings::all_defs() {
            assert!(seen.insert(def.name), "{} declared twice", def.name);
            assert!(crate::schema::is_global_setting(def.name), "{} unknown", def.name);
            assert!(!def.doc.trim().is_empty(), "{} has no doc", def.name);
        }
    }
}
