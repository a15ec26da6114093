//! The configuration error type, worded like doveconf's fatal messages.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorSource {
    /// A configuration file, with the line when the error belongs to one line.
    File {
        /// The file as named in the include chain (not canonicalised).
        path: PathBuf,
        /// 1-based line number; `None` for whole-file errors such as a missing `}`.
        line: Option<u32>,
    },
    /// A `-o key=value` command-line override.
    Override {
        /// The override key.
        key: String,
        /// The override value.
        value: String,
    },
    /// A userdb reply field (or a `-k` environment variable) applied as a setting.
    UserField {
        /// The field name as it appeared in the reply.
        key: String,
    },
    /// No file at all (`-O` with an invalid built-in value; should not happen).
    Builtin,
}

/// A configuration error. `Display` renders the first error exactly as doveconf does
/// (`Error in configuration file FILE line N: MESSAGE`); later errors found in the same
/// run are kept in [`ConfigError::others`] so callers can log all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    source_loc: ErrorSource,
    message: String,
    others: Vec<ConfigError>,
}

impl ConfigError {
    /// An error at `path:line` (or the whole file when `line` is `None`).
    pub fn in_file(path: &Path, line: Option<u32>, message: impl Into<String>) -> Self {
        Self::new(ErrorSource::File { path: path.to_path_buf(), line }, message)
    }

    /// An error at an arbitrary source.
    pub fn new(source_loc: ErrorSource, message: impl Into<String>) -> Self {
        Self { source_loc, message: message.into(), others: Vec::new() }
    }

    /// Combines several errors: the first becomes the displayed one, the rest go to `others`.
    /// Returns `None` for an empty list.
    pub fn collect(mut errors: Vec<ConfigError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        first.others.extend(errors);
        Some(first)
    }

    /// The bare message, e.g. `Unknown setting: foo`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the error was found.
    pub fn source_location(&self) -> &ErrorSource {
        &self.source_loc
    }

    /// The file the error is in, if it came from a file.
    pub fn file(&self) -> Option<&Path> {
        match &self.source_loc {
            ErrorSource::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The 1-based line the error is on, if it belongs to a line of a file.
    pub fn line(&self) -> Option<u32> {
        match &self.source_loc {
            ErrorSource::File { line, .. } => *line,
            _ => None,
        }
    }

    /// Further errors found in the same run, in file order (the first one is `self`).
    pub fn others(&self) -> &[ConfigError] {
        &self.others
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let _ = fmt::Write::write_fmt(&mut out, format_args!("{}", Rendered(self)));
        out
    }
}

struct Rendered<'a>(&'a ConfigError);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        match &e.source_loc {
            ErrorSource::File { path, line: Some(n) } => {
                write!(f, "Error in configuration file {} line {n}: {}", path.display(), e.message)
            }
            ErrorSource::File { path, line: None } => {
                write!(f, "Error in configuration file {}: {}", path.display(), e.message)
            }
            ErrorSource::Override { key, value } => {
                write!(
                    f,
                    "Error reading configuration: Invalid -o parameter {key}={value}: {}",
                    e.message
                )
            }
            ErrorSource::UserField { key } => {
                write!(f, "Invalid userdb input {key}: {}", e.message)
            }
            ErrorSource::Builtin => write!(f, "Error in built-in configuration: {}", e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_doveconf_wording() {
        let e = ConfigError::in_file(Path::new("p.conf"), Some(3), "Unknown setting: foo");
        assert_eq!(
            e.to_string(),
            "Error in configuration file p.conf line 3: Unknown setting: foo"
        );
        let e = ConfigError::in_file(Path::new("p.conf"), None, "Missing '}'");
        assert_eq!(e.to_string(), "Error in configuration file p.conf: Missing '}'");
    }

    #[test]
    fn collect_keeps_all_errors() {
        let a = ConfigError::in_file(Path::new("a"), Some(1), "x");
        let b = ConfigError::in_file(Path::new("a"), Some(2), "y");
        let all = ConfigError::collect(vec![a, b.clone()]).unwrap();
        assert_eq!(all.line(), Some(1));
        assert_eq!(all.others(), &[b]);
        assert!(ConfigError::collect(Vec::new()).is_none());
    }
}
