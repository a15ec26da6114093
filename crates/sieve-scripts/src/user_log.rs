//! The user's Sieve log (`~/.dovecot.sieve.log`): opened lazily, 0600, rotated to `.0` at
//! 10 KiB, a `started log at` line per delivery, at most 30 errors per delivery
//! (sieve-behaviour.md §4.1).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Size at which the log is moved to `<log>.0`.
pub const ROTATE_SIZE: u64 = 10 * 1024;
/// Lines written per delivery at most.
pub const MAX_LINES: usize = 30;

/// Lines for the user log, written when the delivery is done with Sieve.
#[derive(Debug, Default)]
pub struct UserLog {
    path: PathBuf,
    lines: Vec<String>,
}

impl UserLog {
    /// A log that will be written to `path` if anything is added.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), lines: Vec::new() }
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Add `<location>: <severity>: <text>.` (the final period is added when missing).
    pub fn add(&mut self, location: &str, severity: &str, text: &str) {
        if self.lines.len() >= MAX_LINES {
            return;
        }
        let period = if text.ends_with('.') { "" } else { "." };
        let line = if location.is_empty() {
            format!("{severity}: {text}{period}")
        } else {
            format!("{location}: {severity}: {text}{period}")
        };
        self.lines.push(line);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Append the collected lines (rotating first when the file is too big).
    pub fn flush(&mut self, now: chrono::DateTime<chrono::FixedOffset>) -> io::Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= ROTATE_SIZE) {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".0");
            std::fs::rename(&self.path, rotated)?;
        }
        let mut text =
            format!("sieve: info: started log at {}.\n", now.format("%Y-%m-%d %H:%M:%S %z"));
        for line in self.lines.drain(..) {
            text.push_str(&line);
            text.push('\n');
        }
        let mut file = OpenOptions::new().append(true).create(true).mode(0o600).open(&self.path)?;
        file.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2026-11-25T16:20:21+00:00").unwrap()
    }

    #[test]
    fn lines_and_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".dovecot.sieve.log");
        let mut log = UserLog::new(&path);
        log.flush(now()).unwrap();
        assert!(!path.exists(), "opened lazily");
        log.add(".dovecot", "error", "line 2: error: missing semicolon ';' after fileinto command");
        log.add(
            "",
            "error",
            "msgid=<m2@example.org>: fileinto action: failed to store into mailbox 'Work'",
        );
        log.flush(now()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "sieve: info: started log at 2026-11-25 16:20:21 +0000.\n\
             .dovecot: error: line 2: error: missing semicolon ';' after fileinto command.\n\
             error: msgid=<m2@example.org>: fileinto action: failed to store into mailbox 'Work'.\n"
        );
    }

    #[test]
    fn rotates_at_10k_and_caps_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, vec![b'x'; ROTATE_SIZE as usize]).unwrap();
        let mut log = UserLog::new(&path);
        for i in 0..100 {
            log.add("s", "error", &format!("e{i}"));
        }
        log.flush(now()).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("x.log.0")).unwrap().len(), ROTATE_SIZE);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1 + MAX_LINES);
    }
}
