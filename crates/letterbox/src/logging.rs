//! Logging as Dovecot's LDA logs when it runs outside the master process.
//!
//! Destinations come from `log_path` (errors), `info_log_path` and `debug_log_path` (each empty
//! = same as the previous one); each is `syslog` or a file opened `O_APPEND|O_CREAT` mode 0600
//! (lda-cli.md §8). File lines are `<log_timestamp><mail_log_prefix><Level>: <text>`; syslog
//! lines carry ident `dovecot`, the configured facility and no level word for Info (as syslog
//! lines from Dovecot look). A log file that cannot be opened or written is a temporary failure
//! (the seed: "If deliver fails to write to log files it exits with temporary failure").

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Debug lines (only with `mail_debug`).
    Debug,
    /// Delivery results.
    Info,
    /// Something odd but handled.
    Warning,
    /// A failure of this delivery.
    Error,
    /// The delivery stops.
    Fatal,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Debug => "Debug",
            Level::Info => "Info",
            Level::Warning => "Warning",
            Level::Error => "Error",
            Level::Fatal => "Fatal",
        }
    }

    fn syslog_severity(self) -> u8 {
        match self {
            Level::Debug => 7,
            Level::Info => 6,
            Level::Warning => 4,
            Level::Error => 3,
            Level::Fatal => 2,
        }
    }
}

/// Where one class of lines goes.
#[derive(Debug)]
enum Sink {
    Syslog,
    File { path: PathBuf, file: File },
}

/// What the log settings say, resolved (`~` already expanded).
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `log_path`.
    pub log_path: String,
    /// `info_log_path` (empty = `log_path`).
    pub info_log_path: String,
    /// `debug_log_path` (empty = `info_log_path`).
    pub debug_log_path: String,
    /// `log_timestamp` (strftime).
    pub log_timestamp: String,
    /// `syslog_facility`.
    pub syslog_facility: String,
    /// `mail_debug`.
    pub debug: bool,
}

/// The process's logger.
#[derive(Debug)]
pub struct Logger {
    error: Sink,
    info: Sink,
    debug: Option<Sink>,
    timestamp: String,
    facility: u8,
    prefix: String,
}

/// A log destination that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("Can't open log file {path}: {error}")]
pub struct LogOpenError {
    /// The path from the settings.
    pub path: String,
    /// Why.
    pub error: io::Error,
}

impl Logger {
    /// Open every destination now, so an unwritable log fails the delivery before anything is stored.
    pub fn open(settings: &LogSettings) -> Result<Logger, LogOpenError> {
        let info_path = non_empty_or(&settings.info_log_path, &settings.log_path);
        let debug_path = non_empty_or(&settings.debug_log_path, info_path);
        Ok(Logger {
            error: open_sink(&settings.log_path)?,
            info: open_sink(info_path)?,
            debug: if settings.debug { Some(open_sink(debug_path)?) } else { None },
            timestamp: settings.log_timestamp.clone(),
            facility: facility_code(&settings.syslog_facility),
            prefix: format!("lda({}): ", std::process::id()),
        })
    }

    /// Set the line prefix (`mail_log_prefix` expanded) once the user is known.
    pub fn set_prefix(&mut self, prefix: String) {
        self.prefix = prefix;
    }

    /// Write one line. File errors are returned (they are fatal); syslog is best effort.
    pub fn log(&mut self, level: Level, text: &str) -> io::Result<()> {
        let (timestamp, prefix, facility) = (&self.timestamp, &self.prefix, self.facility);
        let sink = match level {
            Level::Debug => match self.debug.as_mut() {
                Some(sink) => sink,
                None => return Ok(()),
            },
            Level::Info => &mut self.info,
            _ => &mut self.error,
        };
        match sink {
            Sink::File { path, file } => {
                let stamp = chrono::Local::now().format(timestamp).to_string();
                let line = format!("{stamp}{prefix}{}: {text}\n", level.word());
                file.write_all(line.as_bytes()).map_err(|e| {
                    io::Error::new(e.kind(), format!("write({}) failed: {e}", path.display()))
                })
            }
            Sink::Syslog => {
                send_syslog(facility, level, &format!("{prefix}{}", level_text(level, text)));
                Ok(())
            }
        }
    }
}

fn level_text(level: Level, text: &str) -> String {
    match level {
        Level::Info => text.to_string(),
        _ => format!("{}: {text}", level.word()),
    }
}

fn non_empty_or<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    if value.is_empty() { fallback } else { value }
}

fn open_sink(path: &str) -> Result<Sink, LogOpenError> {
    if path == "syslog" || path.is_empty() {
        return Ok(Sink::Syslog);
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map(|file| Sink::File { path: PathBuf::from(path), file })
        .map_err(|error| LogOpenError { path: path.to_string(), error })
}

/// syslog(3) semantics: a missing or full socket drops the line silently.
fn send_syslog(facility: u8, level: Level, text: &str) {
    let stamp = chrono::Local::now().format("%b %e %H:%M:%S");
    let pri = u16::from(facility) * 8 + u16::from(level.syslog_severity());
    let line = format!("<{pri}>{stamp} dovecot: {text}");
    if let Ok(sock) = UnixDatagram::unbound() {
        let _ = sock.send_to(line.as_bytes(), "/dev/log");
    }
}

/// Facility number for a `syslog_facility` name (default `mail`).
fn facility_code(name: &str) -> u8 {
    match name {
        "kern" => 0,
        "user" => 1,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        n if n.starts_with("local") => n[5..].parse::<u8>().map_or(2, |i| 16 + i.min(7)),
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(path: &str) -> LogSettings {
        LogSettings {
            log_path: path.to_string(),
            info_log_path: String::new(),
            debug_log_path: String::new(),
            log_timestamp: "%b %d %H:%M:%S ".to_string(),
            syslog_facility: "mail".to_string(),
            debug: false,
        }
    }

    #[test]
    fn file_lines_have_timestamp_prefix_and_level() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lda.log");
        let mut logger = Logger::open(&settings(path.to_str().unwrap())).unwrap();
        logger.set_prefix("lda(alice)<1><s>: ".into());
        logger.log(Level::Info, "msgid=<a@b>: saved mail to INBOX").unwrap();
        logger.log(Level::Debug, "not shown").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("lda(alice)<1><s>: Info: msgid=<a@b>: saved mail to INBOX\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn unopenable_log_is_an_error_naming_the_path() {
        let err = Logger::open(&settings("/nonexistent-dir/x.log")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x.log"));
    }

    #[test]
    fn facilities() {
        assert_eq!(facility_code("mail"), 2);
        assert_eq!(facility_code("local3"), 19);
    }
}
