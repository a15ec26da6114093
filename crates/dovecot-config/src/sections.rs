//! Typed views of the `namespace`, `mailbox`, `userdb` and `passdb` sections
//! (keys and defaults as listed by doveconf 2.3.19 `-a`; see `spec/config.md` §3.3–3.4).

use crate::error::ConfigError;
use crate::tree::{Entry, Section};
use crate::value;

/// One `namespace NAME { }` block (disabled namespaces are left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSettings {
    /// Namespace name (section name; the block's position number when unnamed).
    pub name: String,
    /// `private`, `shared` or `public`.
    pub ns_type: String,
    /// Mailbox name prefix (%-variables allowed), e.g. `INBOX.`.
    pub prefix: String,
    /// Hierarchy separator; empty = the mailbox list's native one.
    pub separator: String,
    /// Storage location; empty = the global `mail_location`.
    pub location: String,
    /// This namespace holds INBOX.
    pub inbox: bool,
    /// Hidden from listings.
    pub hidden: bool,
    /// `yes`, `no` or `children`.
    pub list: String,
    /// Subscriptions are stored in this namespace.
    pub subscriptions: bool,
    /// `mailbox NAME { }` blocks inside the namespace.
    pub mailboxes: Vec<MailboxSettings>,
}

impl Default for NamespaceSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            ns_type: "private".into(),
            prefix: String::new(),
            separator: String::new(),
            location: String::new(),
            inbox: false,
            hidden: false,
            list: "yes".into(),
            subscriptions: true,
            mailboxes: Vec::new(),
        }
    }
}

/// One `mailbox NAME { }` block inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSettings {
    /// Mailbox name (relative to the namespace prefix).
    pub name: String,
    /// `no`, `create` or `subscribe`: auto-create (and subscribe) the mailbox.
    pub auto: String,
    /// SPECIAL-USE flags, space separated (`\Sent`).
    pub special_use: String,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        Self { name: String::new(), auto: "no".into(), special_use: String::new() }
    }
}

/// One `userdb { }` or `passdb { }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbSettings {
    /// Driver name (`passwd-file`, `passwd`, `static`, `pam`, …).
    pub driver: String,
    /// Driver arguments (for passwd-file: `[username_format=FMT] PATH`).
    pub args: String,
    /// Space-separated `key=value` fields added under the driver's reply.
    pub default_fields: String,
    /// Space-separated `key=value` fields added over the driver's reply.
    pub override_fields: String,
}

fn text(section: &Section, key: &str, default: &str) -> String {
    section.get(key).map_or_else(|| default.to_owned(), |e| e.value.clone())
}

fn flag(section: &Section, key: &str, default: bool, errors: &mut Vec<ConfigError>) -> bool {
    let Some(entry) = section.get(key) else {
        return default;
    };
    value::parse_bool(&entry.value).unwrap_or_else(|msg| {
        errors.push(entry_error(entry, msg));
        default
    })
}

fn entry_error(entry: &Entry, msg: String) -> ConfigError {
    let path = entry.origin.path().unwrap_or(std::path::Path::new(""));
    ConfigError::in_file(path, Some(entry.origin.line()), msg)
}

/// Builds the enabled namespaces from the effective sections, in file order.
pub(crate) fn namespaces(
    sections: &[Section],
    errors: &mut Vec<ConfigError>,
) -> Vec<NamespaceSettings> {
    let mut out = Vec::new();
    for (pos, s) in sections.iter().filter(|s| s.kind == "namespace").enumerate() {
        if flag(s, "disabled", false, errors) {
            continue;
        }
        let d = NamespaceSettings::default();
        let name = s.name.clone().or_else(|| s.get("name").map(|e| e.value.clone()));
        let ns = NamespaceSettings {
            name: name.unwrap_or_else(|| pos.to_string()),
            ns_type: text(s, "type", &d.ns_type),
            prefix: text(s, "prefix", ""),
            separator: text(s, "separator", ""),
            location: text(s, "location", ""),
            inbox: flag(s, "inbox", d.inbox, errors),
            hidden: flag(s, "hidden", d.hidden, errors),
            list: text(s, "list", &d.list),
            subscriptions: flag(s, "subscriptions", d.subscriptions, errors),
            mailboxes: s.children.iter().filter(|c| c.kind == "mailbox").map(mailbox).collect(),
        };
        if !matches!(ns.ns_type.as_str(), "private" | "shared" | "public")
            && let Some(e) = s.get("type")
        {
            errors.push(entry_error(e, format!("Unknown namespace type: {}", ns.ns_type)));
        }
        out.push(ns);
    }
    out
}

fn mailbox(s: &Section) -> MailboxSettings {
    let name = s.name.clone().or_else(|| s.get("name").map(|e| e.value.clone()));
    MailboxSettings {
        name: name.unwrap_or_default(),
        auto: text(s, "auto", "no"),
        special_use: text(s, "special_use", ""),
    }
}

/// Builds the `userdb` or `passdb` blocks (`kind`) in file order.
pub(crate) fn dbs(sections: &[Section], kind: &str) -> Vec<DbSettings> {
    sections
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| DbSettings {
            driver: text(s, "driver", ""),
            args: text(s, "args", ""),
            default_fields: text(s, "default_fields", ""),
            override_fields: text(s, "override_fields", ""),
        })
        .collect()
}
