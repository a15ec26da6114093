//! The extension registry: one ordered list of every extension this crate implements
//! ([`ALL_EXTENSIONS`]), the [`Extension`] trait, and the [`Registry`] the validator consults.
//!
//! An extension registers commands, tests, tags on other commands, match types, comparators and
//! address parts through a [`Registrar`]. Extensions from outside this crate (for example the
//! `vnd.dovecot.testsuite` runner) implement the same trait and are passed in
//! [`crate::CompileOptions::extra_extensions`]; their commands use
//! [`crate::validate::signature::Build::CustomCommand`] / `CustomTest`.

pub mod config;

mod body;
mod copy;
mod date;
mod debug;
mod duplicate;
mod editheader;
mod encoded_character;
mod enotify;
mod envelope;
mod environment;
mod fileinto;
mod ihave;
mod imap4flags;
mod include;
mod index;
mod mailbox;
mod metadata;
pub(crate) mod mime;
mod regex;
mod reject;
mod relational;
mod report;
mod spamtest;
mod special_use;
mod subaddress;
#[cfg(feature = "testsuite")]
pub mod testsuite;
mod vacation;
mod variables;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::program::{AddressPart, Comparator, MatchType};
use crate::validate::signature::{CommandDef, MatchKind, TagDef};

pub use config::ExtensionConfig;
pub(crate) use include::compile_includes;
pub(crate) use mime::{MAX_LOOP_NESTING, loop_name, mime_opts};
pub(crate) use special_use::specialuse_tag;

/// One Sieve extension (a capability string usable in `require`).
pub trait Extension: Send + Sync {
    /// Capability name, e.g. `fileinto`.
    fn name(&self) -> &'static str;
    /// Capabilities this one cannot work without; requiring it loads them too.
    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether Pigeonhole 0.5 enables it without configuration.
    fn enabled_by_default(&self) -> bool {
        true
    }
    /// Adds its definitions.
    fn register(&self, r: &mut Registrar<'_>);
}

/// Every extension implemented here, in Pigeonhole's groups. The table of contents.
pub const ALL_EXTENSIONS: &[&dyn Extension] = &[
    // RFC 5228 optional capabilities.
    &fileinto::Fileinto,
    &reject::Reject,
    &envelope::Envelope,
    &encoded_character::EncodedCharacter,
    // Enabled by default.
    &vacation::Vacation,
    &subaddress::Subaddress,
    &relational::AsciiNumeric,
    &relational::Relational,
    &regex::Regex,
    &imap4flags::Imap4flags,
    &copy::Copy,
    &include::Include,
    &body::Body,
    &variables::Variables,
    &enotify::Enotify,
    &environment::Environment,
    &mailbox::Mailbox,
    &date::Date,
    &index::Index,
    &ihave::Ihave,
    &duplicate::Duplicate,
    &mime::Mime,
    &mime::Foreverypart,
    &mime::Extracttext,
    // Need configuration (`sieve_extensions = +name`).
    &vacation::VacationSeconds,
    &spamtest::Spamtest,
    &spamtest::Spamtestplus,
    &spamtest::Virustest,
    &editheader::Editheader,
    &reject::Ereject,
    &environment::VndEnvironment,
    &debug::VndDebug,
    &metadata::MboxMetadata,
    &metadata::ServerMetadata,
    &special_use::SpecialUse,
    &report::VndReport,
    // Deprecated.
    &duplicate::VndDuplicate,
];

/// Deprecated extensions and the standard ones they may not be combined with.
pub(crate) const DEPRECATED_CONFLICTS: &[(&str, &str)] =
    &[("vnd.dovecot.duplicate", "duplicate"), ("imapflags", "imap4flags"), ("notify", "enotify")];

/// Validator's view of the enabled definitions.
#[derive(Default)]
pub struct Registry {
    commands: HashMap<&'static str, CommandDef>,
    tests: HashMap<&'static str, CommandDef>,
    extra_tags: Vec<(&'static str, TagDef)>,
    match_types: Vec<(&'static str, &'static str, MatchKind)>,
    address_parts: Vec<(&'static str, &'static str, AddressPart)>,
    comparators: Vec<(&'static str, &'static str, Comparator)>,
    capabilities: HashMap<&'static str, &'static [&'static str]>,
    namespaces: Vec<(&'static str, &'static str)>,
}

/// Handle an extension uses to add its definitions.
pub struct Registrar<'a> {
    registry: &'a mut Registry,
    ext: &'static str,
}

impl Registrar<'_> {
    /// Adds a command or test (by `def.test`).
    pub fn command(&mut self, mut def: CommandDef) {
        def.ext = self.ext;
        if def.test {
            self.registry.tests.insert(def.name, def);
        } else {
            self.registry.commands.insert(def.name, def);
        }
    }

    /// Attaches a tag to another command or test (e.g. `:copy` on `redirect`).
    pub fn tag(&mut self, command: &'static str, mut tag: TagDef) {
        tag.ext = self.ext;
        self.registry.extra_tags.push((command, tag));
    }

    /// Adds a match type.
    pub fn match_type(&mut self, name: &'static str, kind: MatchKind) {
        self.registry.match_types.push((name, self.ext, kind));
    }

    /// Adds an address part.
    pub fn address_part(&mut self, name: &'static str, part: AddressPart) {
        self.registry.address_parts.push((name, self.ext, part));
    }

    /// Adds a variable namespace answered by the host (`${name.x}` → `VarRef::Host`).
    pub fn namespace(&mut self, name: &'static str) {
        self.registry.namespaces.push((name, self.ext));
    }

    /// Adds a comparator.
    pub fn comparator(&mut self, name: &'static str, c: Comparator) {
        self.registry.comparators.push((name, self.ext, c));
    }
}

/// Whether a definition of extension `ext` is usable given the required set.
fn visible(ext: &str, required: &BTreeSet<&'static str>) -> bool {
    ext.is_empty() || required.contains(ext)
}

impl Registry {
    /// Builds the registry for the enabled set (`admin` scripts also get global-only ones).
    pub fn new(config: &ExtensionConfig, extra: &[Arc<dyn Extension>], admin: bool) -> Self {
        let mut reg = Registry::default();
        crate::language::register(&mut Registrar { registry: &mut reg, ext: "" });
        let builtin = ALL_EXTENSIONS.iter().copied();
        let extra = extra.iter().map(|e| &**e);
        for ext in builtin.chain(extra) {
            let name = ext.name();
            let is_extra = !ALL_EXTENSIONS.iter().any(|e| e.name() == name);
            if is_extra || config.allows(name, admin) {
                reg.capabilities.insert(name, ext.depends_on());
                ext.register(&mut Registrar { registry: &mut reg, ext: name });
            }
        }
        reg
    }

    /// The enabled capability named `name`, with its dependencies.
    pub fn capability(&self, name: &str) -> Option<(&'static str, &'static [&'static str])> {
        self.capabilities.get_key_value(name).map(|(k, v)| (*k, *v))
    }

    /// Command (not test) definition by lower-case name.
    pub fn command(&self, name: &str) -> Option<&CommandDef> {
        self.commands.get(name)
    }

    /// Test definition by lower-case name.
    pub fn test(&self, name: &str) -> Option<&CommandDef> {
        self.tests.get(name)
    }

    /// Whether `name` is a core command (always available, not a capability).
    pub fn is_core_command(&self, name: &str) -> bool {
        self.commands.get(name).is_some_and(|d| d.ext.is_empty())
    }

    pub(crate) fn match_type(&self, name: &str, req: &BTreeSet<&'static str>) -> Option<MatchKind> {
        self.match_types.iter().find(|(n, e, _)| *n == name && visible(e, req)).map(|m| m.2)
    }

    pub(crate) fn address_part(
        &self,
        name: &str,
        req: &BTreeSet<&'static str>,
    ) -> Option<AddressPart> {
        self.address_parts.iter().find(|(n, e, _)| *n == name && visible(e, req)).map(|m| m.2)
    }

    pub(crate) fn namespace(&self, name: &str, req: &BTreeSet<&'static str>) -> bool {
        self.namespaces.iter().any(|(n, e)| *n == name && visible(e, req))
    }

    pub(crate) fn comparator(
        &self,
        name: &str,
        req: &BTreeSet<&'static str>,
    ) -> Option<Comparator> {
        self.comparators.iter().find(|(n, e, _)| *n == name && visible(e, req)).map(|m| m.2)
    }

    pub(crate) fn tag_for(
        &self,
        def: &CommandDef,
        name: &str,
        req: &BTreeSet<&'static str>,
    ) -> Option<TagDef> {
        let own = def.tags.iter().find(|t| t.name == name).copied();
        let own = own.filter(|_| visible(def.ext, req));
        own.or_else(|| {
            self.extra_tags
                .iter()
                .find(|(c, t)| *c == def.name && t.name == name && visible(t.ext, req))
                .map(|(_, t)| *t)
        })
    }
}

/// The match types of RFC 5228 (registered by the core).
pub(crate) fn core_match_types(r: &mut Registrar<'_>) {
    r.match_type("is", MatchKind::Plain(MatchType::Is));
    r.match_type("contains", MatchKind::Plain(MatchType::Contains));
    r.match_type("matches", MatchKind::Plain(MatchType::Matches));
    r.comparator("i;octet", Comparator::Octet);
    r.comparator("i;ascii-casemap", Comparator::AsciiCasemap);
    r.address_part("all", AddressPart::All);
    r.address_part("localpart", AddressPart::LocalPart);
    r.address_part("domain", AddressPart::Domain);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_names_are_unique_and_dependencies_exist() {
        let mut names = BTreeSet::new();
        for e in ALL_EXTENSIONS {
            assert!(names.insert(e.name()), "duplicate extension {}", e.name());
        }
        for e in ALL_EXTENSIONS {
            for d in e.depends_on() {
                assert!(names.contains(d), "{} depends on unknown {d}", e.name());
            }
        }
    }

    #[test]
    fn every_command_is_registered_once() {
        let mut reg = Registry::default();
        crate::language::register(&mut Registrar { registry: &mut reg, ext: "" });
        let mut seen: BTreeSet<(bool, &str)> = reg
            .commands
            .keys()
            .map(|k| (false, *k))
            .chain(reg.tests.keys().map(|k| (true, *k)))
            .collect();
        for e in ALL_EXTENSIONS {
            let mut one = Registry::default();
            e.register(&mut Registrar { registry: &mut one, ext: e.name() });
            for k in one.commands.keys() {
                assert!(seen.insert((false, *k)), "command {k} registered twice");
            }
            for k in one.tests.keys() {
                assert!(seen.insert((true, *k)), "test {k} registered twice");
            }
        }
    }

    #[test]
    fn disabled_extensions_are_not_registered() {
        let reg = Registry::new(&ExtensionConfig::default(), &[], false);
        assert!(reg.capability("fileinto").is_some());
        assert!(reg.capability("editheader").is_none());
        assert!(reg.command("addheader").is_none());
        let reg = Registry::new(&ExtensionConfig::all(), &[], false);
        assert!(reg.command("addheader").is_some());
    }
}
