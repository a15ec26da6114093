//! Dovecot's `passwd-file` userdb, read directly instead of through the auth server.
//!
//! Format and semantics follow `auth-master.md` §6 and were checked against Dovecot 2.3.19's
//! auth server (same file, same users, replies compared): entries are
//! `user:password:uid:gid:gecos:home:shell:extra_fields`; an entry needs at least the uid and
//! gid fields to be a userdb entry ("missing userdb info" → user unknown); an empty uid, gid
//! or home is simply not provided; uid/gid may be names; a uid or gid that does not resolve
//! or resolves to 0 makes Dovecot drop the entry (a later entry for the same name is then
//! used); extra fields are space-separated `userdb_key=value` items, `%`-expanded, and a
//! shell followed by an empty field gives the legacy `mail=<rest>` form.
//!
//! The file is streamed and the scan stops at the first usable entry, so (unlike Dovecot,
//! which loads the whole file) "user exists more than once" is not reported.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::expand::{ExpandVars, expand};
use crate::nss::{resolve_gid, resolve_uid};
use crate::{
    ErrorLocation, ExpandPath, LookupError, LookupErrorKind, LookupWarning, UserDatabase,
    UserRecord,
};

/// A Dovecot `passwd-file` userdb (`userdb { driver = passwd-file args = ... }`).
pub struct PasswdFile {
    path_template: String,
    username_format: String,
    expand_path: Option<ExpandPath>,
    service: String,
}

impl std::fmt::Debug for PasswdFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswdFile")
            .field("path_template", &self.path_template)
            .field("username_format", &self.username_format)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// One parsed entry, or why Dovecot would not use it.
enum Entry {
    /// A usable userdb entry.
    User(Box<UserRecord>),
    /// The entry exists but is passdb-only: the user is unknown to the userdb.
    NoUserdbInfo,
    /// The entry is invalid and was dropped; the scan continues.
    Dropped(String),
}

impl PasswdFile {
    /// Parses driver `args` as in `userdb { driver = passwd-file  args = [username_format=%n]
    /// PATH }`. PATH may contain %-variables: `expand_path` turns (path template, user name)
    /// into the real path (the caller owns full %-expansion). Without it, a PATH with `%` is
    /// expanded with this crate's small expander (`%u %n %d %s`, modifiers `L U`).
    pub fn from_args(args: &str, expand_path: Option<ExpandPath>) -> Result<Self, LookupError> {
        let mut username_format = "%u".to_owned();
        let mut rest = args.trim_start();
        loop {
            let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if let Some(fmt) = word.strip_prefix("username_format=") {
                username_format = fmt.to_owned();
            } else if !word.starts_with("scheme=") {
                break;
            }
            rest = tail.trim_start();
        }
        let path_template = rest.trim_end().to_owned();
        if path_template.is_empty() {
            let detail = format!("passwd-file: missing path in args {args:?}");
            return Err(LookupError::new(
                LookupErrorKind::InvalidConfig,
                "",
                ErrorLocation::Config,
                detail,
            ));
        }
        Ok(Self { path_template, username_format, expand_path, service: "lda".to_owned() })
    }

    /// Sets the service name used for `%s` (default `lda`; LMTP uses `lmtp`).
    #[must_use]
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = service.to_owned();
        self
    }

    /// The file that would be read for `user`.
    pub fn path_for(&self, user: &str) -> PathBuf {
        if !self.path_template.contains('%') {
            return PathBuf::from(&self.path_template);
        }
        match &self.expand_path {
            Some(f) => f(&self.path_template, user),
            None => {
                let vars = ExpandVars { user, service: &self.service, home: "" };
                PathBuf::from(expand(&self.path_template, &vars))
            }
        }
    }

    fn open(
        &self,
        user: &str,
        path: &Path,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<File>, LookupError> {
        match File::open(path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Dovecot answers NOTFOUND; it logs an error only for a literal path.
                if !self.path_template.contains('%') {
                    warnings.push(LookupWarning {
                        location: ErrorLocation::File { path: path.to_path_buf(), line: None },
                        user: user.to_owned(),
                        message: format!("open({}) failed: {e}", path.display()),
                    });
                }
                Ok(None)
            }
            Err(e) => Err(io_error(user, path, None, "open", e)),
        }
    }

    fn scan(
        &self,
        user: &str,
        path: &Path,
        file: File,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let vars = ExpandVars { user, service: &self.service, home: "" };
        let key = expand(&self.username_format, &vars);
        let mut prefix = key.clone().into_bytes();
        prefix.push(b':');
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        let mut line_no = 0usize;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| io_error(user, path, Some(line_no + 1), "read", e))?;
            if n == 0 {
                return Ok(None);
            }
            line_no += 1;
            if !buf.starts_with(&prefix) || key.is_empty() {
                continue;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            let location = ErrorLocation::File { path: path.to_path_buf(), line: Some(line_no) };
            match parse_entry(line, &vars, &location, warnings)? {
                Entry::User(rec) => return Ok(Some(*rec)),
                Entry::NoUserdbInfo => {
                    let message = format!("User {key} is missing userdb info");
                    warnings.push(LookupWarning { location, user: user.to_owned(), message });
                    return Ok(None);
                }
                Entry::Dropped(message) => {
                    warnings.push(LookupWarning { location, user: user.to_owned(), message });
                }
            }
        }
    }
}

fn io_error(user: &str, path: &Path, line: Option<usize>, op: &str, e: io::Error) -> LookupError {
    let location = ErrorLocation::File { path: path.to_path_buf(), line };
    let detail = format!("{op}({}) failed: {e}", path.display());
    LookupError::new(LookupErrorKind::Io, user, location, detail).with_cause(e)
}

/// Parses one passwd-file line whose first field matched the lookup key.
fn parse_entry(
    line: &str,
    vars: &ExpandVars<'_>,
    location: &ErrorLocation,
    warnings: &mut Vec<LookupWarning>,
) -> Result<Entry, LookupError> {
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 4 {
        return Ok(Entry::NoUserdbInfo);
    }
    let name = fields[0];
    let mut rec = UserRecord::new(vars.user);
    let with_loc = |mut e: LookupError| {
        e.location = location.clone();
        e
    };
    if !fields[2].is_empty() {
        match resolve_uid(fields[2]).map_err(with_loc)? {
            Some(uid) if uid != 0 => rec.uid = Some(uid),
            _ => return Ok(Entry::Dropped(format!("User {name} has invalid UID '{}'", fields[2]))),
        }
    }
    if !fields[3].is_empty() {
        match resolve_gid(fields[3]).map_err(with_loc)? {
            Some(gid) if gid != 0 => rec.gid = Some(gid),
            _ => return Ok(Entry::Dropped(format!("User {name} has invalid GID '{}'", fields[3]))),
        }
    }
    if let Some(home) = fields.get(5).filter(|h| !h.is_empty()) {
        rec.home = Some(PathBuf::from(home));
    }
    if fields.len() > 8 && fields[7].is_empty() {
        rec.set_field("mail", &expand(&fields[8..].join(":"), vars));
    } else if fields.len() > 7 {
        let extra = fields[7..].join(":");
        for item in extra.split(' ').filter(|i| !i.is_empty()) {
            let Some(item) = item.strip_prefix("userdb_") else { continue };
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let value = expand(value, vars);
            apply_extra_field(&mut rec, key, &value, location, warnings)?;
        }
    }
    Ok(Entry::User(Box::new(rec)))
}

/// Applies one userdb field (passwd-file `userdb_` item, static or default/override field);
/// `uid`/`gid` names are resolved as Dovecot does, an unresolvable one is a warning.
pub(crate) fn apply_extra_field(
    rec: &mut UserRecord,
    key: &str,
    value: &str,
    location: &ErrorLocation,
    warnings: &mut Vec<LookupWarning>,
) -> Result<(), LookupError> {
    let resolved = match key {
        "uid" => resolve_uid(value),
        "gid" => resolve_gid(value),
        _ => {
            rec.set_field(key, value);
            return Ok(());
        }
    };
    let resolved = resolved.map_err(|mut e| {
        e.location = location.clone();
        e
    })?;
    match resolved {
        Some(id) => rec.set_field(key, &id.to_string()),
        None => warnings.push(LookupWarning {
            location: location.clone(),
            user: rec.username.clone(),
            message: format!("Invalid {key} in userdb: {value}"),
        }),
    }
    Ok(())
}

impl UserDatabase for PasswdFile {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let path = self.path_for(user);
        match self.open(user, &path, warnings)? {
            Some(file) => self.scan(user, &path, file, warnings),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
