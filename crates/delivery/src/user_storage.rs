//! From settings and a known user to an opened mail store (design.md §6.5 step 3).
//!
//! Expands `%u %n %d %h …` in `mail_location` and namespace locations, turns `namespace { }`
//! blocks into storage namespaces, and carries the storage-related settings across, so that
//! neither `mail-storage` nor `dovecot-config` knows about the other.

use std::path::{Path, PathBuf};

use dovecot_config::Config;
use dovecot_config::var_expand::expand_with;
use mail_storage::{
    AutoMailbox, AutoMode, FsyncMode, MailLocation, MailUser, NamespaceSpec, StorageError,
    StorageSettings,
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

/// Open the user's mail store as the settings describe it.
pub fn open_mail_user(config: &Config, user: &UserIdentity) -> Result<MailUser, StorageError> {
    let settings = &config.settings().mail;
    let home = user.home.as_deref();
    let location = MailLocation::parse(&user.expand(&settings.mail_location), home)?;
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
        ..StorageSettings::default()
    };
    MailUser::new(location, namespaces, storage)
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
