//! Builds a [`Tree`] from a configuration file: follows `!include`/`!include_try`, tracks
//! sections and filter blocks, resolves `<file` and `$variable` values and validates keys,
//! collecting every error with its `file:line` (behaviour of dovecot/core@2.3.19.1
//! src/config/config-parser.c as observed with `doveconf -x`, see `spec/config.md` §2–3).

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::include;
use crate::lexer::{self, LineKind, RawValue};
use crate::origin::Origin;
use crate::schema::{self, FILTERS, FREE_FORM};
use crate::settings::Settings;
use crate::tree::{Entry, Scope, Section, Tree};

/// Looks up an environment variable for `$ENV:NAME`.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Safety net against include chains that escape the recursion check (e.g. via /proc).
const MAX_INCLUDE_DEPTH: usize = 32;

/// A block opened with `{` and not yet closed.
enum Open {
    /// A filter block; `prev` is the scope to return to.
    Filter { prev: usize, origin: Origin },
    /// A section; `index` is its position in the parent's list.
    Section { kind: String, index: usize, origin: Origin },
    /// A block that is skipped (after an error, or accepted and ignored).
    Ignored { origin: Origin },
}

impl Open {
    fn origin(&self) -> &Origin {
        match self {
            Open::Filter { origin, .. }
            | Open::Section { origin, .. }
            | Open::Ignored { origin } => origin,
        }
    }
}

/// Where the line being parsed sits.
enum Context {
    /// Top level or directly inside a filter block.
    Top,
    /// Inside `plugin { }` or `dict { }`.
    FreeForm,
    /// Inside a validated section, with its kind path (`namespace/mailbox`).
    Section(String),
    /// Inside an ignored block.
    Ignored,
}

/// Parses `path` and everything it includes.
pub(crate) fn parse(path: &Path, env: EnvLookup<'_>) -> Result<Tree, ConfigError> {
    let mut p = Parser {
        env,
        tree: Tree::default(),
        errors: Vec::new(),
        stack: Vec::new(),
        open: Vec::new(),
        scope: 0,
    };
    match std::fs::read(path) {
        Ok(content) => p.parse_content(path, &content),
        Err(e) => {
            let msg = format!("open({}) failed: {}", path.display(), include::io_reason(&e));
            p.errors.push(ConfigError::in_file(path, None, msg));
        }
    }
    if let Some(open) = p.open.first() {
        let msg = format!("Missing '}}' (section started at {})", open.origin());
        p.errors.push(ConfigError::in_file(path, None, msg));
    }
    match ConfigError::collect(p.errors) {
        Some(err) => Err(err),
        None => Ok(p.tree),
    }
}

struct Parser<'e> {
    env: EnvLookup<'e>,
    tree: Tree,
    errors: Vec<ConfigError>,
    /// Files being parsed (for recursive include detection).
    stack: Vec<PathBuf>,
    open: Vec<Open>,
    scope: usize,
}

impl Parser<'_> {
    fn parse_content(&mut self, path: &Path, content: &[u8]) {
        self.stack.push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        let lexed = lexer::lex(content);
        for (line, msg) in lexed.warnings {
            self.tree
                .warnings
                .push(format!("Configuration file {} line {line}: {msg}", path.display()));
        }
        for line in lexed.lines {
            let origin = Origin::file(path, line.number);
            match line.kind {
                LineKind::KeyValue { key, value } => self.key_value(&key, value, origin),
                LineKind::SectionBegin { kind, name } => self.begin(&kind, name, origin),
                LineKind::SectionEnd => self.end(&origin),
                LineKind::Include { pattern, optional } => {
                    self.include(&pattern, optional, &origin)
                }
                LineKind::Invalid(msg) => self.error(&origin, msg),
            }
        }
        self.stack.pop();
    }

    fn error(&mut self, origin: &Origin, message: impl Into<String>) {
        let path = origin.path().unwrap_or(Path::new(""));
        self.errors.push(ConfigError::in_file(path, Some(origin.line()), message));
    }

    fn include(&mut self, pattern: &str, optional: bool, origin: &Origin) {
        let base = origin.path().and_then(Path::parent).unwrap_or(Path::new("."));
        let matches = include::expand(base, pattern);
        if matches.is_empty() && !optional {
            self.error(origin, "No matches");
        }
        for file in matches {
            let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if self.stack.contains(&canonical) || self.stack.len() >= MAX_INCLUDE_DEPTH {
                self.error(origin, format!("Recursive include file: {}", file.display()));
                continue;
            }
            match std::fs::read(&file) {
                Ok(content) => self.parse_content(&file, &content),
                Err(_) if optional => {}
                Err(e) => {
                    let msg =
                        format!("open({}) failed: {}", file.display(), include::io_reason(&e));
                    self.error(origin, msg);
                }
            }
        }
    }

    fn context(&self) -> Context {
        let mut path: Vec<&str> = Vec::new();
        for open in self.open.iter().rev() {
            match open {
                Open::Filter { .. } => break,
                Open::Ignored { .. } => return Context::Ignored,
                Open::Section { kind, .. } => path.push(kind),
            }
        }
        path.reverse();
        match path.first() {
            None => Context::Top,
            Some(k) if FREE_FORM.contains(k) => Context::FreeForm,
            Some(_) => Context::Section(path.join("/")),
        }
    }

    /// The innermost open section (after the last filter), if any.
    fn current_section(&mut self) -> Option<&mut Section> {
        let start = self.open.iter().rposition(|o| matches!(o, Open::Filter { .. }));
        let start = start.map_or(0, |i| i + 1);
        let indices: Vec<usize> = self.open[start..]
            .iter()
            .filter_map(|o| match o {
                Open::Section { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        let (first, rest) = indices.split_first()?;
        let mut section = self.tree.scopes[self.scope].sections.get_mut(*first)?;
        for i in rest {
            section = section.children.get_mut(*i)?;
        }
        Some(section)
    }

    fn key_value(&mut self, key: &str, raw: RawValue, origin: Origin) {
        let context = self.context();
        if matches!(context, Context::Ignored) {
            return;
        }
        let value = match self.resolve(key, raw, &origin) {
            Ok(v) => v,
            Err(msg) => return self.error(&origin, msg),
        };
        match context {
            Context::Ignored => {}
            Context::Top => self.set_global(key, value, origin),
            Context::FreeForm => {
                let entry = Entry { key: key.to_owned(), value, origin };
                if let Some(section) = self.current_section() {
                    section.entries.push(entry);
                }
            }
            Context::Section(path) => {
                let canonical = schema::canonical_in_section(&path, key);
                if !schema::section_keys(&path).is_some_and(|keys| keys.contains(&canonical)) {
                    let prefix = path.replace('/', " { ");
                    return self.error(&origin, format!("Unknown setting: {prefix} {{ {key}"));
                }
                let entry = Entry { key: canonical.to_owned(), value, origin };
                if let Some(section) = self.current_section() {
                    section.entries.push(entry);
                }
            }
        }
    }

    fn set_global(&mut self, key: &str, value: String, origin: Origin) {
        let key = schema::canonical_global(key);
        if !schema::is_global_setting(key) {
            return self.error(&origin, format!("Unknown setting: {key}"));
        }
        if self.scope == 0 {
            let earlier = self.tree.scopes.iter().skip(1).find_map(|s| s.settings.get(key));
            if let Some(earlier) = earlier {
                let at = earlier.origin.to_string().replacen(':', " line ", 1);
                let here = origin.to_string().replacen(':', " line ", 1);
                self.tree.warnings.push(format!(
                    "{here}: Global setting {key} won't change the setting inside an earlier \
                     filter at {at} (if this is intentional, avoid this warning by moving the \
                     global setting before {at})"
                ));
            }
        }
        let entry = Entry { key: key.to_owned(), value, origin };
        self.tree.scopes[self.scope].settings.insert(key.to_owned(), entry);
    }

    fn resolve(&self, key: &str, raw: RawValue, origin: &Origin) -> Result<String, String> {
        match raw {
            RawValue::Plain(v) | RawValue::Quoted(v) => Ok(v),
            RawValue::File(name) => {
                let base = origin.path().and_then(Path::parent).unwrap_or(Path::new("."));
                let path = base.join(&name);
                std::fs::read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(
                    |e| {
                        format!(
                            "{key}: Can't open file {}: {}",
                            path.display(),
                            include::io_reason(&e)
                        )
                    },
                )
            }
            RawValue::Variable(v) => self.expand_variables(&v),
        }
    }

    /// `$NAME` / `$ENV:NAME` words are replaced; words are re-joined with single spaces.
    fn expand_variables(&self, value: &str) -> Result<String, String> {
        let mut words = Vec::new();
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let Some(name) = word.strip_prefix('$') else {
                words.push(word.to_owned());
                continue;
            };
            if let Some(var) = name.strip_prefix("ENV:") {
                words.push((self.env)(var).unwrap_or_default());
            } else if let Some(current) = self.current_global(name) {
                words.push(current);
            } else if schema::is_section_kind(name) || FILTERS.contains(&name) {
                return Err(format!("Invalid variable: {word}"));
            } else {
                return Err(format!("Unknown variable: {word}"));
            }
        }
        Ok(words.join(" "))
    }

    /// Current value of a top-level setting in the current scope (filter, then global,
    /// then default).
    fn current_global(&self, key: &str) -> Option<String> {
        let key = schema::canonical_global(key);
        let scopes = [self.scope, 0];
        if let Some(e) = scopes.iter().find_map(|&i| self.tree.scopes[i].settings.get(key)) {
            return Some(e.value.clone());
        }
        Settings::def(key)
            .map(|d| d.default)
            .or_else(|| schema::untyped_default(key))
            .map(str::to_owned)
    }

    fn begin(&mut self, kind: &str, name: Option<String>, origin: Origin) {
        match self.context() {
            Context::Ignored => self.open.push(Open::Ignored { origin }),
            Context::FreeForm => {
                self.error(&origin, "Section not allowed here");
                self.open.push(Open::Ignored { origin });
            }
            Context::Section(path) => {
                if FILTERS.contains(&kind) {
                    // Accepted and ignored by doveconf 2.3.19 (observed).
                    self.open.push(Open::Ignored { origin });
                } else {
                    self.begin_section(&path, kind, name, origin);
                }
            }
            Context::Top if FILTERS.contains(&kind) => self.begin_filter(kind, name, origin),
            Context::Top => self.begin_section("", kind, name, origin),
        }
    }

    fn begin_filter(&mut self, kind: &str, name: Option<String>, origin: Origin) {
        let current = self.tree.scopes[self.scope].filter.clone();
        let problem = match (kind, &current.protocol, &name) {
            (_, _, None) => Some(format!("{kind} filter requires a parameter")),
            ("protocol", Some(_), _) => {
                Some("Nested protocol { protocol { .. } } block not allowed".to_owned())
            }
            (_, Some(_), _) if kind != "protocol" => Some(format!(
                "protocol {{ {kind} {{ .. }} }} not allowed (use {kind} {{ protocol {{ .. }} }} instead)"
            )),
            _ => None,
        };
        if let Some(msg) = problem {
            self.error(&origin, msg);
            return self.open.push(Open::Ignored { origin });
        }
        let name = name.unwrap_or_default();
        let mut filter = current;
        if kind == "protocol" {
            filter.protocol = Some(name);
        } else {
            filter.net.push(format!("{kind} {name}"));
        }
        let index = match self.tree.scopes.iter().position(|s| s.filter == filter) {
            Some(i) => i,
            None => {
                self.tree.scopes.push(Scope { filter, ..Scope::default() });
                self.tree.scopes.len() - 1
            }
        };
        self.open.push(Open::Filter { prev: self.scope, origin });
        self.scope = index;
    }

    fn begin_section(&mut self, parent: &str, kind: &str, name: Option<String>, origin: Origin) {
        if !schema::section_allowed(parent, kind) {
            let prefix = if parent.is_empty() {
                String::new()
            } else {
                format!("{} {{ ", parent.replace('/', " { "))
            };
            self.error(&origin, format!("Unknown setting: {prefix}{kind} {{ {kind}"));
            return self.open.push(Open::Ignored { origin });
        }
        let section = Section {
            kind: kind.to_owned(),
            name,
            origin: origin.clone(),
            entries: Vec::new(),
            children: Vec::new(),
        };
        let list = match self.current_section() {
            Some(parent) => &mut parent.children,
            None => &mut self.tree.scopes[self.scope].sections,
        };
        let mergeable = section.name.is_some() || FREE_FORM.contains(&kind);
        let index =
            match list.iter().position(|s| mergeable && s.kind == kind && s.name == section.name) {
                Some(i) => i,
                None => {
                    list.push(section);
                    list.len() - 1
                }
            };
        self.open.push(Open::Section { kind: kind.to_owned(), index, origin });
    }

    fn end(&mut self, origin: &Origin) {
        match self.open.pop() {
            None => self.error(origin, "Unexpected '}'"),
            Some(Open::Filter { prev, .. }) => self.scope = prev,
            Some(_) => {}
        }
    }
}
