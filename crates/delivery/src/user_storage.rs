//! From settings and a known user to an opened mail store (design.md §6.5 step 3).
//!
//! Expands `%u %n %d %h …` in `mail_location` and namespace locations, turns `namespace { }`
//! blocks into storage namespaces, and carries the storage-related settings across, so that
//! neither `mail-storage` nor `dovecot-config` knows about the other.

use std::path::{Path, PathBuf};

use dovecot_config::Config;
use dovecot_config::var_expand::expand_with;
use mail_storage::{
    AutoMailbox, AutoMode, FsyncMode, MailLocation, MailUser, MboxLockMethod, NamespaceSpec,
    StorageError, StorageSettings,
};

/// The user a delivery is for, once looked up.
#[derive(Debug, Clone)]
pub struct UserIdentity {
    /// Username (`%u`).
    pub username: String,
    /// Home directory (`%h`, `~`), when known.
    pub home: Option<PathBuf>,
    /// Numeric uid (`%i`).
    pub uid: u32,
    /// Numeric gid (`%{gid}`).
    pub gid: u32,
    /// Value of the `hostname` setting (`%{hostname}`).
    pub hostname: String,
    /// Session id (`%{session}`).
    pub session: String,
    /// Service name (`%s`): `lda` or `lmtp`.
    pub service: &'static str,
}

impl UserIdentity {
    /// Value of one %-variable for this user, as Dovecot's mail-user variable table gives it.
    pub fn var(&self, name: &str) -> Option<String> {
        let (local, domain) = match self.username.rsplit_once('@') {
            Some((l, d)) => (l, d),
            None => (self.username.as_str(), ""),
        };
        let home = || self.home.as_deref().map(|h| h.display().to_string()).unwrap_or_default();
        Some(match name {
            "u" | "user" => self.username.clone(),
            "n" | "username" => local.to_string(),
            "d" | "domain" => domain.to_string(),
            "h" | "home" => home(),
            "s" | "service" => self.service.to_string(),
            "p" | "pid" => std::process::id().to_string(),
            "i" | "uid" => self.uid.to_string(),
            "gid" => self.gid.to_string(),
            "hostname" => self.hostname.clone(),
            "session" => self.session.clone(),
            _ => return None,
        })
    }

    /// Expand a template with this user's variables.
    pub fn expand(&self, template: &str) -> String {
        expand_with(template, &|name| self.var(name))
    }
}

/// `mail_uid`/`mail_gid` and the like: a number or a user/group name; empty = none.
pub fn resolve_id(value: &str, is_user: bool) -> Result<Option<u32>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let found =
        if is_user { user_lookup::resolve_uid(value) } else { user_lookup::resolve_gid(value) };
    match found {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => {
            Err(format!("Unknown {} name: {value}", if is_user { "user" } else { "group" }))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The `hostname` setting, or the system's name when it is empty (Dovecot's default).
pub fn hostname(config: &Config) -> String {
    let set = &config.settings().lda.hostname;
    if !set.is_empty() {
        return set.clone();
    }
    mail_storage::system_hostname()
}

/// Dovecot's session id: base64 of 128 random bits without the `==` padding (22 characters).
pub fn session_id() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    base64_nopad(&bytes)
}

fn base64_nopad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The user's `mail_location`, expanded and parsed.
pub fn default_location(
    config: &Config,
    user: &UserIdentity,
) -> Result<MailLocation, StorageError> {
    let template = &config.settings().mail.mail_location;
    MailLocation::parse(&user.expand(template), user.home.as_deref())
}

/// Open the user's mail store as the settings describe it.
pub fn open_mail_user(config: &Config, user: &UserIdentity) -> Result<MailUser, StorageError> {
    let settings = &config.settings().mail;
    let home = user.home.as_deref();
    let location = default_location(config, user)?;
    let namespaces = config
        .namespaces()
        .iter()
        .map(|ns| namespace_spec(ns, user, home))
        .collect::<Result<Vec<_>, _>>()?;
    let storage = StorageSettings {
        fsync: match settings.mail_fsync {
            dovecot_config::FsyncMode::Optimized => FsyncMode::Optimized,
            dovecot_config::FsyncMode::Always => FsyncMode::Always,
            dovecot_config::FsyncMode::Never => FsyncMode::Never,
        },
        copy_with_hardlinks: settings.maildir_copy_with_hardlinks,
        max_keyword_length: settings.mail_max_keyword_length as usize,
        mbox_write_locks: settings.mbox_write_locks.iter().map(|&m| mbox_lock(m)).collect(),
        mbox_lock_timeout: settings.mbox_lock_timeout,
        mbox_dotlock_change_timeout: settings.mbox_dotlock_change_timeout,
        temp_dir: PathBuf::from(user.expand(&settings.mail_temp_dir)),
        index_rewrite_min_log_bytes: settings.mail_index_rewrite_min_log_bytes.bytes(),
        index_rewrite_max_log_bytes: settings.mail_index_rewrite_max_log_bytes.bytes(),
        index_log_rotate_min_size: settings.mail_index_log_rotate_min_size.bytes(),
        index_log_rotate_max_size: settings.mail_index_log_rotate_max_size.bytes(),
        index_log_rotate_min_age: settings.mail_index_log_rotate_min_age,
        index_log2_max_age: settings.mail_index_log2_max_age,
        ..StorageSettings::default()
    };
    MailUser::new(location, namespaces, storage)
}

/// The config's lock method names mapped onto the storage's (the crates stay independent).
fn mbox_lock(method: dovecot_config::MboxLockMethod) -> MboxLockMethod {
    use dovecot_config::MboxLockMethod as C;
    match method {
        C::Dotlock => MboxLockMethod::Dotlock,
        C::DotlockTry => MboxLockMethod::DotlockTry,
        C::Fcntl => MboxLockMethod::Fcntl,
        C::Flock => MboxLockMethod::Flock,
        C::Lockf => MboxLockMethod::Lockf,
    }
}

fn namespace_spec(
    ns: &dovecot_config::NamespaceSettings,
    user: &UserIdentity,
    home: Option<&Path>,
) -> Result<NamespaceSpec, StorageError> {
    let location = match ns.location.as_str() {
        "" => None,
        loc => Some(MailLocation::parse(&user.expand(loc), home)?),
    };
    Ok(NamespaceSpec {
        name: ns.name.clone(),
        prefix: user.expand(&ns.prefix),
        separator: ns.separator.chars().next(),
        inbox: ns.inbox,
        location,
        subscriptions: ns.subscriptions,
        hidden: ns.hidden,
        list: ns.list != "no",
        auto_mailboxes: ns
            .mailboxes
            .iter()
            .map(|mb| AutoMailbox {
                name: mb.name.clone(),
                auto: match mb.auto.as_str() {
                    "create" => AutoMode::Create,
                    "subscribe" => AutoMode::Subscribe,
                    _ => AutoMode::No,
                },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_22_base64_chars() {
        assert_eq!(base64_nopad(&[0u8; 16]).len(), 22);
        assert_eq!(base64_nopad(b"Man"), "TWFu");
        assert_eq!(base64_nopad(b"Ma"), "TWE");
        assert_ne!(session_id(), session_id());
    }

    #[test]
    fn ids_resolve_numbers_and_names() {
        assert_eq!(resolve_id("", true), Ok(None));
        assert_eq!(resolve_id("1234", true), Ok(Some(1234)));
        assert_eq!(resolve_id("root", true), Ok(Some(0)));
        assert!(resolve_id("no-such-user-xyz", true).is_err());
    }
}
