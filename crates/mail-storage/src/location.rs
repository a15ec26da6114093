//! `mail_location` parsing (`maildir:~/Maildir:INBOX=…:LAYOUT=fs:UTF-8`), as
//! src/lib-storage/mailbox-list.c `mailbox_list_settings_parse` reads it: `driver:path`,
//! then `:`-separated options, `::` standing for a literal `:`.

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, StorageError};

/// The mail storage format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Maildir (with the Maildir++ or fs layout).
    Maildir,
    /// mbox: one file per mailbox, INBOX usually in `/var/mail` (see `mbox`).
    Mbox,
}

/// How mailbox names map to directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `.Work.Sub` directories directly under the root (default for Maildir).
    #[default]
    MaildirPlusPlus,
    /// `Work/Sub` nested directories (`LAYOUT=fs`).
    Fs,
}

impl Layout {
    /// The on-disk hierarchy separator of this layout.
    pub fn separator(self) -> char {
        match self {
            Layout::MaildirPlusPlus => '.',
            Layout::Fs => '/',
        }
    }
}

/// A parsed `mail_location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLocation {
    /// Storage format.
    pub driver: Driver,
    /// Root directory (Maildir: the INBOX unless `INBOX=`).
    pub root: PathBuf,
    /// `INBOX=`: where INBOX lives instead of the root.
    pub inbox: Option<PathBuf>,
    /// `CONTROL=`: where uidlist, keywords, uidvalidity and subscriptions live.
    pub control: Option<PathBuf>,
    /// `INDEX=`: where `dovecot.index*` live.
    pub index: Option<PathBuf>,
    /// `INDEX=MEMORY`: Dovecot keeps the index in memory only, so no `dovecot.index*` file
    /// is written at delivery.
    pub index_in_memory: bool,
    /// `LAYOUT=`.
    pub layout: Layout,
    /// `:UTF-8`: names are stored as UTF-8 instead of modified UTF-7.
    pub utf8: bool,
    /// `SUBSCRIPTIONS=`: the subscriptions file name (default `subscriptions`).
    pub subscriptions_file: String,
}

/// The subscriptions file name of mbox storage (observed with 2.3.19).
const MBOX_SUBSCRIPTIONS_FILE: &str = ".subscriptions";

/// Options Dovecot accepts that do not change how this crate writes mail.
const IGNORED_OPTIONS: &[&str] = &[
    "INDEXPVT",
    "INDEXCACHE",
    "ALT",
    "DIRNAME",
    "MAILBOXDIR",
    "VOLATILEDIR",
    "LISTINDEX",
    "FULLDIRNAME",
    "NO-NOSELECT",
    "ITERINDEX",
    "BROKENCHARS",
    "NO-ACCESS",
    "NOSELECT",
];

impl MailLocation {
    /// Parses a location (%-variables already expanded; `~` expanded here with `home`).
    /// An empty location is autodetected as Dovecot does: `~/Maildir` when it has `cur/`,
    /// else `~/mail` or `~/Mail` as mbox; otherwise an error.
    pub fn parse(location: &str, home: Option<&Path>) -> Result<MailLocation, StorageError> {
        if location.is_empty() {
            return autodetect(home);
        }
        let (driver_name, rest) = match location.split_once(':') {
            Some((word, rest))
                if !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_alphanumeric())
                    && !rest.starts_with(':') =>
            {
                (Some(word), rest)
            }
            _ => (None, location),
        };
        let parts = split_unescaped(rest);
        let path = parts[0].clone();
        let driver = match driver_name {
            Some(name) => driver_by_name(name)?,
            None => detect_driver(&expand_home(&path, home)?)?,
        };
        let mut loc = MailLocation {
            driver,
            root: expand_home(&path, home)?,
            inbox: None,
            control: None,
            index: None,
            index_in_memory: false,
            // mbox-storage.c: mbox defaults to LAYOUT=fs and `.subscriptions`.
            layout: if driver == Driver::Mbox { Layout::Fs } else { Layout::MaildirPlusPlus },
            utf8: false,
            subscriptions_file: match driver {
                Driver::Mbox => MBOX_SUBSCRIPTIONS_FILE.to_owned(),
                Driver::Maildir => dovecot_index::subscriptions::SUBSCRIPTIONS_FILE.to_owned(),
            },
        };
        for option in &parts[1..] {
            loc.apply_option(option, home)?;
        }
        Ok(loc)
    }

    fn apply_option(&mut self, option: &str, home: Option<&Path>) -> Result<(), StorageError> {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        match key.to_ascii_uppercase().as_str() {
            "INBOX" => self.inbox = Some(expand_home(value, home)?),
            "CONTROL" => self.control = Some(expand_home(value, home)?),
            "INDEX" if value.eq_ignore_ascii_case("MEMORY") => {
                self.index = None;
                self.index_in_memory = true;
            }
            "INDEX" => {
                self.index = Some(expand_home(value, home)?);
                self.index_in_memory = false;
            }
            "SUBSCRIPTIONS" if !value.is_empty() && !value.contains('/') => {
                self.subscriptions_file = value.to_owned()
            }
            "LAYOUT" => {
                self.layout = match value.to_ascii_lowercase().as_str() {
                    "maildir++" => Layout::MaildirPlusPlus,
                    "fs" => Layout::Fs,
                    other => return Err(config_error(format!("Unknown layout: {other}"))),
                }
            }
            "UTF-8" => self.utf8 = true,
            "" => {}
            k if IGNORED_OPTIONS.contains(&k) => {}
            _ => return Err(config_error(format!("Unknown setting: {key}"))),
        }
        Ok(())
    }

    /// Where INBOX lives (Maildir: a directory; mbox: a file).
    pub fn inbox_dir(&self) -> &Path {
        self.inbox.as_deref().unwrap_or(&self.root)
    }

    /// The root control directory (uidvalidity, subscriptions).
    pub fn control_root(&self) -> &Path {
        self.control.as_deref().unwrap_or(&self.root)
    }
}

fn config_error(detail: String) -> StorageError {
    StorageError::new(ErrorKind::Temp, format!("Invalid mail_location: {detail}"))
}

fn driver_by_name(name: &str) -> Result<Driver, StorageError> {
    match name.to_ascii_lowercase().as_str() {
        "maildir" => Ok(Driver::Maildir),
        "mbox" => Ok(Driver::Mbox),
        other => Err(config_error(format!("Unsupported mail storage driver: {other}"))),
    }
}

fn detect_driver(path: &Path) -> Result<Driver, StorageError> {
    if path.join("cur").is_dir() {
        Ok(Driver::Maildir)
    } else if path.exists() {
        Ok(Driver::Mbox)
    } else {
        Err(config_error(format!(
            "Ambiguous mail location setting, no driver given: {}",
            path.display()
        )))
    }
}

fn autodetect(home: Option<&Path>) -> Result<MailLocation, StorageError> {
    let home =
        home.ok_or_else(|| config_error("Mail storage autodetection failed (no home)".into()))?;
    if home.join("Maildir/cur").is_dir() {
        return MailLocation::parse(&format!("maildir:{}/Maildir", home.display()), None);
    }
    for dir in ["mail", "Mail"] {
        if home.join(dir).is_dir() {
            return MailLocation::parse(&format!("mbox:{}/{dir}", home.display()), None);
        }
    }
    Err(config_error(format!("Mail storage autodetection failed with home={}", home.display())))
}

/// Splits at single `:`, turning `::` into a literal `:`.
fn split_unescaped(location: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = location.chars().peekable();
    while let Some(c) = chars.next() {
        let Some(current) = parts.last_mut() else { break };
        if c != ':' {
            current.push(c);
        } else if chars.peek() == Some(&':') {
            chars.next();
            current.push(':');
        } else {
            parts.push(String::new());
        }
    }
    parts
}

/// Expands a leading `~` (or `~/`) with `home`.
pub fn expand_home(path: &str, home: Option<&Path>) -> Result<PathBuf, StorageError> {
    let rest = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Ok(PathBuf::from(path)),
    };
    let home = home.ok_or_else(|| config_error(format!("{path}: home directory not known")))?;
    Ok(PathBuf::from(format!("{}{rest}", home.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_location() {
        let home = Path::new("/home/u");
        let loc = MailLocation::parse(
            "maildir:~/Maildir:INBOX=~/inbox:CONTROL=/c:INDEX=~/idx:LAYOUT=fs:UTF-8",
            Some(home),
        )
        .unwrap();
        assert_eq!(loc.driver, Driver::Maildir);
        assert_eq!(loc.root, Path::new("/home/u/Maildir"));
        assert_eq!(loc.inbox.as_deref(), Some(Path::new("/home/u/inbox")));
        assert_eq!(loc.control.as_deref(), Some(Path::new("/c")));
        assert_eq!(loc.index.as_deref(), Some(Path::new("/home/u/idx")));
        assert_eq!(loc.layout, Layout::Fs);
        assert!(loc.utf8);
    }

    #[test]
    fn mbox_defaults() {
        let loc =
            MailLocation::parse("mbox:~/mail:INBOX=/var/mail/u", Some(Path::new("/h"))).unwrap();
        assert_eq!(loc.driver, Driver::Mbox);
        assert_eq!(loc.root, Path::new("/h/mail"));
        assert_eq!(loc.inbox_dir(), Path::new("/var/mail/u"));
        assert_eq!((loc.layout, loc.subscriptions_file.as_str()), (Layout::Fs, ".subscriptions"));
        let loc = MailLocation::parse("mbox:/m:LAYOUT=maildir++", None).unwrap();
        assert_eq!(loc.layout, Layout::MaildirPlusPlus);
    }

    #[test]
    fn escaped_colon_and_defaults() {
        let loc = MailLocation::parse("maildir:/m/a::b:SUBSCRIPTIONS=subs", None).unwrap();
        assert_eq!(loc.root, Path::new("/m/a:b"));
        assert_eq!(loc.layout, Layout::MaildirPlusPlus);
        assert_eq!(loc.subscriptions_file, "subs");
        assert_eq!(loc.inbox_dir(), Path::new("/m/a:b"));
    }

    #[test]
    fn errors() {
        assert!(MailLocation::parse("maildir:~/Maildir", None).is_err());
        assert!(MailLocation::parse("maildir:/m:LAYOUT=weird", None).is_err());
        assert!(MailLocation::parse("maildir:/m:BOGUS=1", None).is_err());
        assert!(MailLocation::parse("sdbox:/m", None).is_err());
        assert!(MailLocation::parse("", None).is_err());
    }

    #[test]
    fn autodetection() {
        let home = tempfile::tempdir().unwrap();
        assert!(MailLocation::parse("", Some(home.path())).is_err());
        std::fs::create_dir_all(home.path().join("Maildir/cur")).unwrap();
        let loc = MailLocation::parse("", Some(home.path())).unwrap();
        assert_eq!((loc.driver, loc.root), (Driver::Maildir, home.path().join("Maildir")));
        let loc = MailLocation::parse(&format!("{}/Maildir", home.path().display()), None).unwrap();
        assert_eq!(loc.driver, Driver::Maildir);
    }
}
