//! Which keys and sections Dovecot 2.3.19 accepts where (the names come from
//! `known_keys.rs`, generated from doveconf, and from the typed settings tables).

use crate::known_keys::{SECTION_KEYS, UNTYPED_GLOBALS};
use crate::settings::Settings;

/// Section types allowed at the top level (or inside a filter block).
const TOP_SECTIONS: &[&str] =
    &["dict", "event_exporter", "metric", "namespace", "passdb", "plugin", "service", "userdb"];

/// Filter block types (not settings: they select where their content applies).
pub(crate) const FILTERS: &[&str] = &["local", "local_name", "protocol", "remote"];

/// Sections whose content is free-form `key = value` (no validation, no nesting).
pub(crate) const FREE_FORM: &[&str] = &["dict", "plugin"];

/// Key aliases at the top level (`mail = …` sets `mail_location`).
pub(crate) fn canonical_global(key: &str) -> &str {
    if key == "mail" { "mail_location" } else { key }
}

/// Key aliases inside a section (`namespace { mail = … }` sets `location`).
pub(crate) fn canonical_in_section<'a>(path: &str, key: &'a str) -> &'a str {
    match (path, key) {
        ("namespace", "mail" | "mail_location") => "location",
        _ => key,
    }
}

/// True when `key` is a top-level Dovecot setting (typed or not; aliases resolved).
pub fn is_global_setting(key: &str) -> bool {
    let key = canonical_global(key);
    Settings::def(key).is_some() || untyped_default(key).is_some()
}

/// The 2.3.19 default of a top-level setting letterbox does not type.
pub(crate) fn untyped_default(key: &str) -> Option<&'static str> {
    UNTYPED_GLOBALS.binary_search_by(|(k, _)| (*k).cmp(key)).ok().map(|i| UNTYPED_GLOBALS[i].1)
}

/// The keys allowed in a section at `path` (`namespace`, `namespace/mailbox`, …).
pub(crate) fn section_keys(path: &str) -> Option<&'static [&'static str]> {
    SECTION_KEYS.iter().find(|(p, _)| *p == path).map(|(_, keys)| *keys)
}

/// True when a section of type `kind` may start inside the section at `parent`
/// (`""` = top level or a filter block).
pub(crate) fn section_allowed(parent: &str, kind: &str) -> bool {
    if parent.is_empty() {
        return TOP_SECTIONS.contains(&kind);
    }
    section_keys(&format!("{parent}/{kind}")).is_some()
}

/// True when `name` is a section type anywhere in the schema (`namespace`, `mailbox`, …);
/// `$namespace` is then an "Invalid variable" rather than an unknown one.
pub(crate) fn is_section_kind(name: &str) -> bool {
    TOP_SECTIONS.contains(&name)
        || SECTION_KEYS.iter().any(|(path, _)| path.rsplit('/').next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_table_is_sorted_and_disjoint_from_typed_settings() {
        for pair in UNTYPED_GLOBALS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} / {}", pair[0].0, pair[1].0);
        }
        for (key, _) in UNTYPED_GLOBALS {
            assert!(Settings::def(key).is_none(), "{key} is both typed and untyped");
        }
    }

    #[test]
    fn known_names() {
        assert!(is_global_setting("mail_location"));
        assert!(is_global_setting("mail"));
        assert!(is_global_setting("ssl_cert"));
        assert!(is_global_setting("imap_capability"));
        assert!(!is_global_setting("foo"));
        assert!(!is_global_setting("namespace"));
        assert!(section_allowed("", "namespace"));
        assert!(section_allowed("namespace", "mailbox"));
        assert!(section_allowed("service", "inet_listener"));
        assert!(!section_allowed("", "mailbox"));
        assert_eq!(section_keys("namespace/mailbox").map(|k| k.contains(&"auto")), Some(true));
    }
}
