//! Compile-time diagnostics: errors and warnings with their script position.
//!
//! Pigeonhole reports every problem it finds and ends a failed compile with one summary error
//! (`parse failed.` / `validation failed.`); the `vnd.dovecot.testsuite` checks count them, so we
//! collect them all instead of stopping at the first.

use std::fmt;

/// Severity of one diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The script cannot be used.
    Error,
    /// The script compiles, but something is suspicious (e.g. a clamped vacation period).
    Warning,
}

/// One problem found while compiling a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Name of the script (file name without `.sieve`), used as the log prefix.
    pub script: String,
    /// 1-based line; 0 for messages about the whole script (the summary line).
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
    /// Error or warning.
    pub severity: Severity,
    /// The message, without the final period Pigeonhole adds when printing.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// Formats like Pigeonhole's log: `NAME: line L: error: MESSAGE.`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(f, "{}: line {}: {}: {}.", self.script, self.line, sev, self.message)
        } else {
            write!(f, "{}: {}: {}.", self.script, sev, self.message)
        }
    }
}

/// All diagnostics of one compile, errors and warnings in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Errors, the summary line (`validation failed`) included when compilation failed.
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records an error at `pos` for script `script`.
    pub fn error(&mut self, script: &str, pos: Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            script: script.to_owned(),
            line: pos.line,
            column: pos.column,
            severity: Severity::Error,
            message: message.into(),
        });
    }

    /// Records a warning at `pos` for script `script`.
    pub fn warning(&mut self, script: &str, pos: Pos, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            script: script.to_owned(),
            line: pos.line,
            column: pos.column,
            severity: Severity::Warning,
            message: message.into(),
        });
    }

    /// True when at least one error was recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Appends all diagnostics of `other` (e.g. those of an included script).
    pub fn extend(&mut self, other: Diagnostics) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }
}

impl fmt::Display for Diagnostics {
    /// One diagnostic per line, errors first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.errors.iter().chain(self.warnings.iter()) {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A position in the script source (1-based line and column, counted in characters).
#[derive(
    serde::Serialize,
    serde::Deserialize,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_pigeonhole_log_format() {
        let mut d = Diagnostics::default();
        d.error("t", Pos { line: 2, column: 5 }, "unknown command 'foo'");
        d.error("t", Pos::default(), "validation failed");
        let text = d.to_string();
        assert_eq!(
            text,
            "t: line 2: error: unknown command 'foo'.\nt: error: validation failed.\n"
        );
        assert!(d.has_errors());
    }
}
