//! The parsed configuration tree: global settings, filter scopes and sections, every value
//! carrying the `file:line` it came from.

use std::collections::BTreeMap;

use crate::origin::Origin;

/// One `key = value` assignment (value already `$`-expanded and `<file`-read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Canonical key (aliases resolved).
    pub key: String,
    /// Final value.
    pub value: String,
    /// Where it was set.
    pub origin: Origin,
}

/// A `kind [name] { … }` section such as `namespace inbox { }` or `plugin { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// Section type.
    pub kind: String,
    /// Section name, if given.
    pub name: Option<String>,
    /// Where the section was (first) opened.
    pub origin: Origin,
    /// Assignments in file order; a later one with the same key wins.
    pub entries: Vec<Entry>,
    /// Nested sections (`mailbox` in `namespace`, listeners in `service`).
    pub children: Vec<Section>,
}

impl Section {
    /// The effective value of `key` (last assignment wins).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// Merges another section of the same kind and name over this one (its values win).
    pub fn overlay(&mut self, other: &Section) {
        self.entries.extend(other.entries.iter().cloned());
        for child in &other.children {
            merge_section(&mut self.children, child);
        }
    }
}

/// Adds `section` to `list`, merging into an existing one with the same kind and name.
/// Unnamed sections are merged only for free-form kinds (`plugin`, `dict`).
pub(crate) fn merge_section(list: &mut Vec<Section>, section: &Section) {
    let same = |s: &&mut Section| {
        s.kind == section.kind
            && (section.name.is_some() || crate::schema::FREE_FORM.contains(&s.kind.as_str()))
            && s.name == section.name
    };
    match list.iter_mut().find(|s| same(s)) {
        Some(existing) => existing.overlay(section),
        None => list.push(section.clone()),
    }
}

/// Which connections a filter block applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// `protocol NAME` (possibly `!NAME`), if any.
    pub protocol: Option<String>,
    /// `local …`, `remote …` and `local_name …` blocks around it, outermost first.
    pub net: Vec<String>,
}

impl Filter {
    /// True when the filter applies to a process of `protocol` with no local/remote address
    /// (the LDA; letterbox's LMTP also applies only protocol filters).
    pub fn matches(&self, protocol: &str) -> bool {
        if !self.net.is_empty() {
            return false;
        }
        match &self.protocol {
            None => true,
            Some(p) => match p.strip_prefix('!') {
                Some(neg) => neg != protocol,
                None => p == protocol,
            },
        }
    }
}

/// The settings and sections written inside one filter (or at global level).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// The filter; the first scope of a tree is the global one.
    pub filter: Filter,
    /// Top-level settings set in this scope.
    pub settings: BTreeMap<String, Entry>,
    /// Sections opened in this scope, in order (same kind+name merged).
    pub sections: Vec<Section>,
}

/// A parsed configuration: scopes in first-appearance order (scope 0 is global).
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// All scopes.
    pub scopes: Vec<Scope>,
    /// Warnings worded like doveconf's.
    pub warnings: Vec<String>,
}

impl Default for Tree {
    fn default() -> Self {
        Self { scopes: vec![Scope::default()], warnings: Vec::new() }
    }
}

impl Tree {
    /// The effective top-level entry of `key` for `protocol`: the first matching filter
    /// scope that sets it (observed: the earliest filter wins), else the global one.
    pub fn effective(&self, key: &str, protocol: &str) -> Option<&Entry> {
        self.scopes
            .iter()
            .skip(1)
            .filter(|s| s.filter.matches(protocol))
            .find_map(|s| s.settings.get(key))
            .or_else(|| self.scopes[0].settings.get(key))
    }

    /// Sections that apply to `protocol`: the global ones with matching filters' merged over.
    pub fn effective_sections(&self, protocol: &str) -> Vec<Section> {
        let mut out = self.scopes[0].sections.clone();
        for scope in self.scopes.iter().skip(1).filter(|s| s.filter.matches(protocol)) {
            for section in &scope.sections {
                merge_section(&mut out, section);
            }
        }
        out
    }

    /// Every key set at top level in any scope that applies to `protocol`.
    pub fn effective_keys(&self, protocol: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .scopes
            .iter()
            .filter(|s| s.filter.matches(protocol))
            .flat_map(|s| s.settings.keys().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_filters_match_like_dovecot() {
        let f = |p: &str| Filter { protocol: Some(p.into()), net: Vec::new() };
        assert!(f("lda").matches("lda"));
        assert!(!f("lmtp").matches("lda"));
        assert!(f("!imap").matches("lda"));
        assert!(!f("!lda").matches("lda"));
        let local = Filter { protocol: Some("lda".into()), net: vec!["local 127.0.0.1".into()] };
        assert!(!local.matches("lda"));
        assert!(Filter::default().matches("lda"));
    }
}
