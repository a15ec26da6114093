//! The loaded configuration: effective values for one protocol, their origins, the typed
//! [`Settings`], sections, and the later override layers (`-k` environment, userdb fields).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::error::{ConfigError, ErrorSource};
use crate::origin::{DEFAULT_ORIGIN, Origin, OriginKind};
use crate::parser::{self, EnvLookup};
use crate::schema;
use crate::sections::{self, DbSettings, NamespaceSettings};
use crate::settings::{SettingSource, Settings};
use crate::tree::{Entry, Section, Tree};

/// What to load and how (mirrors `dovecot-lda -c FILE` / `-O` / `-o key=value`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Config file; None means `-O` (no file, only built-in defaults + overrides).
    pub path: Option<PathBuf>,
    /// Protocol filter to apply: "lda" or "lmtp" (`protocol lda { }` blocks override globals).
    pub protocol: String,
    /// `-o key=value` overrides, in order; they win over everything, including later userdb fields.
    pub overrides: Vec<(String, String)>,
}

/// Loads the configuration. `$ENV:NAME` references in the file read the process
/// environment (the one place this crate reads it; use [`load_with_env`] to supply it).
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    load_with_env(opts, &|name| std::env::var(name).ok())
}

/// Like [`load`], with `$ENV:NAME` resolved through `env` instead of the process environment.
pub fn load_with_env(opts: &LoadOptions, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let tree = match &opts.path {
        Some(path) => parser::parse(path, env)?,
        None => Tree::default(),
    };
    let protocol = opts.protocol.as_str();
    let mut values = BTreeMap::new();
    for key in tree.effective_keys(protocol) {
        if let Some(entry) = tree.effective(&key, protocol) {
            values.insert(key, (entry.value.clone(), entry.origin.clone()));
        }
    }
    let sections = tree.effective_sections(protocol);
    let mut plugin = BTreeMap::new();
    for s in sections.iter().filter(|s| s.kind == "plugin") {
        for e in &s.entries {
            plugin.insert(e.key.clone(), (e.value.clone(), e.origin.clone()));
        }
    }
    let mut config = Config {
        protocol: opts.protocol.clone(),
        values,
        plugin,
        plugin_view: BTreeMap::new(),
        sections,
        namespaces: Vec::new(),
        userdbs: Vec::new(),
        passdbs: Vec::new(),
        settings: Settings::build(&NoValues)
            .map_err(|e| ConfigError::collect(e).unwrap_or_else(builtin_error))?,
        overridden: BTreeSet::new(),
        warnings: tree.warnings,
    };
    for (key, value) in &opts.overrides {
        config.set_layer(key, value, OriginKind::Override);
    }
    config.rebuild()?;
    Ok(config)
}

fn builtin_error() -> ConfigError {
    ConfigError::new(ErrorSource::Builtin, "invalid built-in defaults")
}

/// A loaded configuration for one protocol. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Config {
    protocol: String,
    /// Explicitly set top-level values (file, env, -o, userdb) with their origin.
    values: BTreeMap<String, (String, Origin)>,
    /// `plugin { }` entries and plugin-bound fields, with origin.
    plugin: BTreeMap<String, (String, Origin)>,
    plugin_view: BTreeMap<String, String>,
    sections: Vec<Section>,
    namespaces: Vec<NamespaceSettings>,
    userdbs: Vec<DbSettings>,
    passdbs: Vec<DbSettings>,
    settings: Settings,
    /// Keys set with `-o` (top-level names and `plugin/NAME`); later layers skip them.
    overridden: BTreeSet<String>,
    warnings: Vec<String>,
}

/// Userdb fields the LDA handles itself rather than as settings (`spec/config.md` §7).
const USERDB_ONLY_FIELDS: &[&str] =
    &["uid", "gid", "home", "chroot", "system_groups_user", "nice", "chdir", "admin", "anonymous"];

impl Config {
    /// Effective value of a setting after defaults, globals, the protocol filter and overrides.
    /// None only for keys that are not settings at all. `plugin/NAME` reads the plugin map.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let Some(name) = key.strip_prefix("plugin/") {
            return self.plugin.get(name).map(|(v, _)| v.as_str());
        }
        let key = schema::canonical_global(key);
        if let Some((value, _)) = self.values.get(key) {
            return Some(value);
        }
        Settings::def(key).map(|d| d.default).or_else(|| schema::untyped_default(key))
    }

    /// Where a setting's value came from ("file:line", "-o", "default", "userdb").
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        if let Some(name) = key.strip_prefix("plugin/") {
            return self.plugin.get(name).map(|(_, o)| o);
        }
        let key = schema::canonical_global(key);
        match self.values.get(key) {
            Some((_, origin)) => Some(origin),
            None if schema::is_global_setting(key) => Some(&DEFAULT_ORIGIN),
            None => None,
        }
    }

    /// Typed view of the settings the LDA uses (built once, no stringly settings past this crate).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Free-form `plugin { }` map (after protocol filter, overrides and userdb fields).
    pub fn plugin(&self) -> &BTreeMap<String, String> {
        &self.plugin_view
    }

    /// Enabled `namespace { }` blocks that apply to the protocol, in file order. Empty when
    /// none is configured (the storage then uses Dovecot's implicit private INBOX namespace).
    pub fn namespaces(&self) -> &[NamespaceSettings] {
        &self.namespaces
    }

    /// `userdb { }` blocks in file order.
    pub fn userdbs(&self) -> &[DbSettings] {
        &self.userdbs
    }

    /// `passdb { }` blocks in file order.
    pub fn passdbs(&self) -> &[DbSettings] {
        &self.passdbs
    }

    /// The protocol this configuration was loaded for (`lda`, `lmtp`).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Warnings doveconf would log (ambiguous `#`, global setting after a filter).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Apply userdb extra fields as Dovecot does: a field naming a known setting overrides it
    /// (`mail` is an alias of `mail_location`), `plugin/KEY` or an unknown key goes into the
    /// plugin map, a key ending in `+` appends to the current value, fields that are
    /// userdb-only (uid, gid, home, chroot, system_groups_user, nice, chdir, admin, anonymous,
    /// auth_*) are ignored here; keys set by `-o` are NOT overridden. Callers pass `"yes"` as
    /// the value of a field that had no `=`. Returns a new Config.
    pub fn with_userdb_fields(&self, fields: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut next = self.clone();
        for (key, value) in fields {
            if USERDB_ONLY_FIELDS.contains(&key.as_str()) || key.starts_with("auth_") {
                continue;
            }
            next.set_layer(key, value, OriginKind::Userdb);
        }
        next.rebuild()?;
        Ok(next)
    }

    /// Like `with_userdb_fields` for `-k`: every env var whose lowercased name is a known
    /// setting overrides it (observed pitfall: `MAIL` overrides `mail_location`); other
    /// variables are ignored. Keys set by `-o` are not overridden.
    pub fn with_env_overrides(&self, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut next = self.clone();
        for (name, value) in env {
            let key = name.to_ascii_lowercase();
            if schema::is_global_setting(&key) {
                next.set_layer(&key, value, OriginKind::Environment);
            }
        }
        next.rebuild()?;
        Ok(next)
    }

    /// doveconf -n-like dump (non-default settings), for tests and `letterbox config` later.
    pub fn dump_non_default(&self) -> String {
        let changed: Vec<(&str, &str)> = self
            .values
            .iter()
            .filter(|(k, (v, _))| self.default_of(k) != Some(v.as_str()))
            .map(|(k, (v, _))| (k.as_str(), v.as_str()))
            .collect();
        crate::dump::render(&changed, &self.sections_for_dump())
    }

    fn default_of(&self, key: &str) -> Option<&'static str> {
        Settings::def(key).map(|d| d.default).or_else(|| schema::untyped_default(key))
    }

    fn sections_for_dump(&self) -> Vec<Section> {
        let mut sections = self.sections.clone();
        if let Some(p) = sections.iter_mut().find(|s| s.kind == "plugin") {
            p.entries = self
                .plugin
                .iter()
                .map(|(k, (v, o))| Entry { key: k.clone(), value: v.clone(), origin: o.clone() })
                .collect();
        } else if !self.plugin.is_empty() {
            let entries = self
                .plugin
                .iter()
                .map(|(k, (v, o))| Entry { key: k.clone(), value: v.clone(), origin: o.clone() })
                .collect();
            sections.push(Section {
                kind: "plugin".into(),
                name: None,
                origin: DEFAULT_ORIGIN.clone(),
                entries,
                children: Vec::new(),
            });
        }
        sections
    }

    /// Sets one value from a later layer (env, -o, userdb), honouring `-o` precedence.
    fn set_layer(&mut self, raw_key: &str, value: &str, kind: OriginKind) {
        let (key, append) = match raw_key.strip_suffix('+') {
            Some(k) => (k, true),
            None => (raw_key, false),
        };
        let slot = match Slot::of(key) {
            Some(slot) => slot,
            // Unknown -o keys are silently ignored by dovecot-lda (observed).
            None if kind == OriginKind::Override => return,
            None => Slot::Plugin(key.to_owned()),
        };
        let slot_name = slot.name();
        if kind == OriginKind::Override {
            self.overridden.insert(slot_name);
        } else if self.overridden.contains(&slot_name) {
            return;
        }
        let current = match &slot {
            Slot::Global(k) => self.get(k).map(str::to_owned),
            Slot::Plugin(k) => self.plugin.get(k).map(|(v, _)| v.clone()),
            Slot::Namespace(ns, k) => {
                self.namespace_section(ns).and_then(|s| s.get(k)).map(|e| e.value.clone())
            }
        };
        let new_value = match current {
            Some(old) if append && !old.is_empty() => format!("{old} {}", value.trim_start()),
            _ => value.to_owned(),
        };
        let origin = Origin::of_kind(kind);
        match slot {
            Slot::Global(k) => {
                self.values.insert(k, (new_value, origin));
            }
            Slot::Plugin(k) => {
                self.plugin.insert(k, (new_value, origin));
            }
            Slot::Namespace(ns, k) => {
                if self.namespace_section(&ns).is_none() {
                    self.sections.push(Section {
                        kind: "namespace".into(),
                        name: Some(ns.clone()),
                        origin: origin.clone(),
                        entries: Vec::new(),
                        children: Vec::new(),
                    });
                }
                if let Some(section) = self.namespace_section_mut(&ns) {
                    section.entries.push(Entry { key: k, value: new_value, origin });
                }
            }
        }
    }

    fn namespace_section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == "namespace" && s.name.as_deref() == Some(name))
    }

    fn namespace_section_mut(&mut self, name: &str) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.kind == "namespace" && s.name.as_deref() == Some(name))
    }

    /// Recomputes everything derived from the raw values, collecting all errors.
    fn rebuild(&mut self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        self.plugin_view = self.plugin.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();
        self.namespaces = sections::namespaces(&self.sections, &mut errors);
        self.userdbs = sections::dbs(&self.sections, "userdb");
        self.passdbs = sections::dbs(&self.sections, "passdb");
        match Settings::build(&ValueSource(&self.values)) {
            Ok(settings) => self.settings = settings,
            Err(e) => errors.extend(e),
        }
        match ConfigError::collect(errors) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// What a layered key (`-o`, `-k`, userdb field) sets.
enum Slot {
    /// A top-level setting (canonical name).
    Global(String),
    /// A `plugin { }` entry.
    Plugin(String),
    /// `namespace/NAME/KEY`: a key of a namespace block (created if missing).
    Namespace(String, String),
}

impl Slot {
    fn of(key: &str) -> Option<Slot> {
        if let Some(name) = key.strip_prefix("plugin/") {
            return Some(Slot::Plugin(name.to_owned()));
        }
        if let Some((ns, k)) = key.strip_prefix("namespace/").and_then(|r| r.split_once('/')) {
            let k = schema::canonical_in_section("namespace", k);
            let known = schema::section_keys("namespace").is_some_and(|keys| keys.contains(&k));
            return known.then(|| Slot::Namespace(ns.to_owned(), k.to_owned()));
        }
        schema::is_global_setting(key)
            .then(|| Slot::Global(schema::canonical_global(key).to_owned()))
    }

    /// The name used to remember `-o` keys.
    fn name(&self) -> String {
        match self {
            Slot::Global(k) => k.clone(),
            Slot::Plugin(k) => format!("plugin/{k}"),
            Slot::Namespace(ns, k) => format!("namespace/{ns}/{k}"),
        }
    }
}

/// Raw values for building [`Settings`], with errors located at each value's origin.
struct ValueSource<'a>(&'a BTreeMap<String, (String, Origin)>);

impl SettingSource for ValueSource<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|(v, _)| v.as_str())
    }

    fn error_for(&self, key: &str, message: String) -> ConfigError {
        let Some((value, origin)) = self.0.get(key) else {
            return ConfigError::new(ErrorSource::Builtin, message);
        };
        let source = match origin.kind() {
            OriginKind::File => ErrorSource::File {
                path: origin.path().map(PathBuf::from).unwrap_or_default(),
                line: Some(origin.line()),
            },
            OriginKind::Override => {
                ErrorSource::Override { key: key.to_owned(), value: value.clone() }
            }
            OriginKind::Userdb | OriginKind::Environment => {
                ErrorSource::UserField { key: key.to_owned() }
            }
            OriginKind::Default => ErrorSource::Builtin,
        };
        ConfigError::new(source, message)
    }
}

/// Only defaults (used to give a fresh `Config` a valid `Settings` before the real build).
struct NoValues;

impl SettingSource for NoValues {
    fn raw(&self, _key: &str) -> Option<&str> {
        None
    }

    fn error_for(&self, _key: &str, message: String) -> ConfigError {
        ConfigError::new(ErrorSource::Builtin, message)
    }
}
