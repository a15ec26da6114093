//! Where a setting's value came from.

use std::fmt;
use std::path::{Path, PathBuf};

/// The kind of source a value came from, in increasing precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OriginKind {
    /// Dovecot's built-in default (or letterbox's, where the seed wins).
    Default,
    /// A line of a configuration file.
    File,
    /// An environment variable applied with `-k`.
    Environment,
    /// A `-o key=value` override.
    Override,
    /// A userdb reply field.
    Userdb,
}

/// Where a setting's value came from. Displays as `FILE:LINE`, `-o`, `default`,
/// `environment` or `userdb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    kind: OriginKind,
    file: Option<PathBuf>,
    line: u32,
}

/// The origin reported for settings left at their default.
pub(crate) static DEFAULT_ORIGIN: Origin =
    Origin { kind: OriginKind::Default, file: None, line: 0 };

impl Origin {
    /// A value from `file` at 1-based `line`.
    pub fn file(file: &Path, line: u32) -> Self {
        Self { kind: OriginKind::File, file: Some(file.to_path_buf()), line }
    }

    /// A value from a non-file source.
    pub fn of_kind(kind: OriginKind) -> Self {
        Self { kind, file: None, line: 0 }
    }

    /// The kind of source.
    pub fn kind(&self) -> OriginKind {
        self.kind
    }

    /// The file, for values from a file.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The 1-based line, for values from a file (0 otherwise).
    pub fn line(&self) -> u32 {
        self.line
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.file) {
            (OriginKind::File, Some(path)) => write!(f, "{}:{}", path.display(), self.line),
            (OriginKind::File, None) => write!(f, "?:{}", self.line),
            (OriginKind::Default, _) => f.write_str("default"),
            (OriginKind::Environment, _) => f.write_str("environment"),
            (OriginKind::Override, _) => f.write_str("-o"),
            (OriginKind::Userdb, _) => f.write_str("userdb"),
        }
    }
}
