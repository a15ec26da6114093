//! Reads Dovecot 2.3 configuration (`dovecot.conf` and its `!include`d files) the way Dovecot
//! 2.3.19 does, and exposes typed, user-independent settings for the LDA and LMTP.
//!
//! It implements the configuration language (line-based `key = value`, quoting, `#`
//! comments, `\` continuation, `<file` values, `$setting`/`$ENV:NAME` references, sections,
//! `protocol`/`local`/`remote`/`local_name` filter blocks, `!include`/`!include_try` with
//! globs), rejects unknown settings with doveconf's wording and `file:line`, applies the
//! protocol filter, `-o` overrides, `-k` environment overrides and userdb fields, and builds
//! the typed [`Settings`]. It mirrors dovecot/core@2.3.19.1 src/config/config-parser.c,
//! config-filter.c and src/lib-settings/settings-parser.c (behaviour only, checked against
//! Debian's `doveconf` 2.3.19.1). It deliberately does not look users up, does not resolve
//! `mail_location` into storage objects, does not apply `local`/`remote` filters (the LDA
//! has no connection addresses) and does not validate the types of settings letterbox
//! does not use. `%`-variables are expanded only on request, with [`var_expand`].

mod config;
mod dump;
mod error;
mod include;
mod known_keys;
mod lexer;
mod origin;
mod parser;
mod schema;
mod sections;
pub mod settings;
mod tree;
pub mod value;
pub mod var_expand;

pub use config::{Config, LoadOptions, load, load_with_env};
pub use error::{ConfigError, ErrorSource};
pub use origin::{Origin, OriginKind};
pub use parser::EnvLookup;
pub use schema::is_global_setting;
pub use sections::{DbSettings, MailboxSettings, NamespaceSettings};
pub use settings::{
    AuthSettings, FsyncMode, LdaSettings, LmtpSettings, LockMethod, LogSettings, MailSettings,
    MboxLockMethod, SettingDef, Settings, Size,
};
