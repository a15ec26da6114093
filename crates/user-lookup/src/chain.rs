//! Combining userdbs the way Dovecot's auth server does: several userdbs in order, the
//! user-name normalisation done before any userdb is asked, `default_fields` /
//! `override_fields`, the `static` driver, and the driver registry [`userdb_from_driver`].

use crate::expand::{ExpandVars, expand};
use crate::passwd_file::apply_extra_field;
use crate::{
    ErrorLocation, ExpandPath, LookupError, LookupErrorKind, LookupWarning, NssUserdb, PasswdFile,
    UserDatabase, UserRecord,
};

/// Dovecot's default `auth_username_chars`.
pub const DEFAULT_USERNAME_CHARS: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@";

/// Several userdbs tried in order: the first that knows the user wins. A failing userdb does
/// not stop the search (Dovecot's default `result_internalfail = continue`), but if no later
/// userdb knows the user the first failure is returned instead of "unknown user".
pub struct UserdbChain(pub Vec<Box<dyn UserDatabase>>);

impl UserDatabase for UserdbChain {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let mut first_error = None;
        for db in &self.0 {
            match db.lookup_reporting(user, warnings) {
                Ok(Some(rec)) => return Ok(Some(rec)),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(None), Err)
    }
}

/// The user-name rules the auth server applies before consulting its userdbs:
/// `auth_default_realm`, `auth_username_translation`, `auth_username_chars` (a name with
/// any other character is unknown) and `auth_username_format` (default `%Lu`). Wrap
/// embedded userdbs in this so they answer as the auth-master socket would; the
/// [`AuthMaster`](crate::AuthMaster) client needs no wrapping (the server does it).
pub struct AuthUsername {
    inner: Box<dyn UserDatabase>,
    format: String,
    chars: String,
    translation: Vec<(char, char)>,
    default_realm: String,
}

impl AuthUsername {
    /// Wraps `inner` with Dovecot's defaults: format `%Lu`, the default character set, no
    /// translation, no default realm.
    pub fn new(inner: Box<dyn UserDatabase>) -> Self {
        Self {
            inner,
            format: "%Lu".to_owned(),
            chars: DEFAULT_USERNAME_CHARS.to_owned(),
            translation: Vec::new(),
            default_realm: String::new(),
        }
    }

    /// Sets `auth_username_format` (empty = leave the name as is).
    #[must_use]
    pub fn with_format(mut self, format: &str) -> Self {
        self.format = format.to_owned();
        self
    }

    /// Sets `auth_username_chars` (empty = allow every character).
    #[must_use]
    pub fn with_chars(mut self, chars: &str) -> Self {
        self.chars = chars.to_owned();
        self
    }

    /// Sets `auth_username_translation`: pairs of characters, the first of each pair is
    /// replaced by the second (e.g. `%@` turns `user%domain` into `user@domain`).
    #[must_use]
    pub fn with_translation(mut self, pairs: &str) -> Self {
        let chars: Vec<char> = pairs.chars().collect();
        self.translation = chars.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        self
    }

    /// Sets `auth_default_realm`, appended as `@realm` to names without `@`.
    #[must_use]
    pub fn with_default_realm(mut self, realm: &str) -> Self {
        self.default_realm = realm.to_owned();
        self
    }

    /// The name the userdbs are asked for, or `None` if it has a disallowed character.
    pub fn normalize(&self, user: &str) -> Option<String> {
        let mut name = user.to_owned();
        if !self.default_realm.is_empty() && !name.contains('@') {
            name = format!("{name}@{}", self.default_realm);
        }
        let mut fixed = String::with_capacity(name.len());
        for c in name.chars() {
            let c = self.translation.iter().find(|(from, _)| *from == c).map_or(c, |p| p.1);
            if !self.chars.is_empty() && !self.chars.contains(c) {
                return None;
            }
            fixed.push(c);
        }
        if self.format.is_empty() {
            return Some(fixed);
        }
        Some(expand(&self.format, &ExpandVars { user: &fixed, service: "", home: "" }))
    }
}

impl UserDatabase for AuthUsername {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        match self.normalize(user) {
            Some(name) if !name.is_empty() => self.inner.lookup_reporting(&name, warnings),
            _ => Ok(None),
        }
    }
}

/// Parses a space-separated `key=value` list (`default_fields`, `override_fields`,
/// static userdb args); an item without `=` has an empty value.
fn parse_field_list(text: &str) -> Vec<(String, String)> {
    text.split_whitespace()
        .map(|item| {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Applies `fields` (values %-expanded with `vars`) to `rec` in order.
fn apply_fields(
    rec: &mut UserRecord,
    fields: &[(String, String)],
    vars: &ExpandVars<'_>,
    warnings: &mut Vec<LookupWarning>,
) -> Result<(), LookupError> {
    for (key, value) in fields {
        apply_extra_field(rec, key, &expand(value, vars), &ErrorLocation::Config, warnings)?;
    }
    Ok(())
}

/// A userdb's `default_fields` (under the reply) and `override_fields` (over it), applied
/// only when the user exists, as Dovecot's auth server does. Default fields come first in
/// the reply order; values are %-expanded (`%u %n %d %s`; `%h` is the userdb's home in
/// `override_fields` only).
pub struct FieldTemplates {
    inner: Box<dyn UserDatabase>,
    default_fields: Vec<(String, String)>,
    override_fields: Vec<(String, String)>,
    service: String,
}

impl FieldTemplates {
    /// Wraps `inner` with the given space-separated `key=value` lists.
    pub fn new(inner: Box<dyn UserDatabase>, default_fields: &str, override_fields: &str) -> Self {
        Self {
            inner,
            default_fields: parse_field_list(default_fields),
            override_fields: parse_field_list(override_fields),
            service: "lda".to_owned(),
        }
    }
}

impl UserDatabase for FieldTemplates {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let Some(found) = self.inner.lookup_reporting(user, warnings)? else {
            return Ok(None);
        };
        let mut rec = UserRecord::new(user);
        let vars = ExpandVars { user, service: &self.service, home: "" };
        apply_fields(&mut rec, &self.default_fields, &vars, warnings)?;
        for (key, value) in found.reply_fields() {
            rec.set_field(&key, &value);
        }
        rec.username = found.username;
        let home = rec.home.as_ref().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        let vars = ExpandVars { home: &home, ..vars };
        apply_fields(&mut rec, &self.override_fields, &vars, warnings)?;
        Ok(Some(rec))
    }
}

/// Dovecot's `static` userdb: `args = uid=vmail gid=vmail home=/var/vmail/%d/%n`.
///
/// Every user exists. Dovecot, unless `allow_all_users=yes`, first checks the user against
/// the passdb; there is no passdb here, so the MTA must only hand over valid recipients (or
/// use the auth-master socket instead).
#[derive(Debug, Clone)]
pub struct StaticUserdb {
    fields: Vec<(String, String)>,
}

impl StaticUserdb {
    /// Parses the driver `args` (the `allow_all_users=` option is accepted and dropped).
    pub fn from_args(args: &str) -> Self {
        let mut fields = parse_field_list(args);
        fields.retain(|(k, _)| k != "allow_all_users");
        Self { fields }
    }
}

impl UserDatabase for StaticUserdb {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let mut rec = UserRecord::new(user);
        let vars = ExpandVars { user, service: "lda", home: "" };
        apply_fields(&mut rec, &self.fields, &vars, warnings)?;
        Ok(Some(rec))
    }
}

/// Builds the userdb a `userdb { driver = ... args = ... }` block declares: `passwd-file`,
/// `passwd` (or `nss`: system users) and `static`. Other drivers (`sql`, `ldap`,
/// `prefetch`, ...) are an [`LookupErrorKind::InvalidConfig`] error: use the auth-master
/// socket for them. Wrap the result in [`FieldTemplates`] for `default_fields` /
/// `override_fields`, and the whole chain in [`AuthUsername`].
pub fn userdb_from_driver(
    driver: &str,
    args: &str,
    expand_path: Option<ExpandPath>,
) -> Result<Box<dyn UserDatabase>, LookupError> {
    match driver {
        "passwd-file" => Ok(Box::new(PasswdFile::from_args(args, expand_path)?)),
        "passwd" | "nss" => Ok(Box::new(NssUserdb)),
        "static" => Ok(Box::new(StaticUserdb::from_args(args))),
        other => Err(LookupError::new(
            LookupErrorKind::InvalidConfig,
            "",
            ErrorLocation::Config,
            format!(
                "userdb driver {other:?} is not supported without the auth server \
                 (use auth_socket_path)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
