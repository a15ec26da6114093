//! Finds the user a delivery is for: Dovecot's *userdb* as seen by `dovecot-lda -d USER`.
//!
//! Backends implement one trait, [`UserDatabase`], whose answer is a [`UserRecord`] (the
//! userdb reply: canonical name, uid, gid, home and the other fields in reply order),
//! `Ok(None)` for "user unknown" (EX_NOUSER / 550) or a [`LookupError`] for a temporary
//! failure (EX_TEMPFAIL / 451). Backends: [`NssUserdb`] (Dovecot's `passwd` driver),
//! [`PasswdFile`] (an embedded `passwd-file` userdb, mirroring Dovecot 2.3's
//! `db-passwd-file.c` semantics as observed against the 2.3.19 auth server), [`StaticUserdb`]
//! and [`AuthMaster`] (a client of the auth server's master socket, `lib-auth/auth-master.c`
//! protocol). [`UserdbChain`] tries several in order as the auth server does;
//! [`AuthUsername`] applies `auth_username_format`/`auth_username_chars` the way the auth
//! server does before an embedded userdb is consulted; [`FieldTemplates`] applies a userdb's
//! `default_fields`/`override_fields`.
//!
//! Deliberately not done here: applying the reply (privilege drop, uid range checks, relative
//! home rejection, settings overrides) belongs to the caller, as does full `%`-expansion of
//! configuration values; this crate only has the small expander in [`expand`]. There is no
//! passdb and no SQL/LDAP driver: use the auth-master socket for those. Nothing here prints
//! or exits; problems Dovecot would only log come back as [`LookupWarning`]s.

pub mod auth_master;
mod chain;
mod error;
pub mod expand;
mod nss;
mod passwd_file;
mod record;

use std::path::PathBuf;

pub use auth_master::AuthMaster;
pub use chain::{AuthUsername, FieldTemplates, StaticUserdb, UserdbChain, userdb_from_driver};
pub use error::{ErrorLocation, LookupError, LookupErrorKind, LookupWarning};
pub use nss::{NssUserdb, group_by_name, resolve_gid, resolve_uid, user_by_uid, user_groups};
pub use passwd_file::PasswdFile;
pub use record::UserRecord;

/// Turns (path template, user name) into the real path of a per-user/per-domain
/// passwd-file such as `/etc/dovecot/passwd.%d`. The caller owns `%`-expansion.
pub type ExpandPath = Box<dyn Fn(&str, &str) -> PathBuf + Send + Sync>;

/// A user database: answers "who is this user" for one delivery.
pub trait UserDatabase: Send + Sync {
    /// Looks `user` up, also collecting problems Dovecot would log without failing the
    /// lookup (invalid passwd-file entries, a missing file). `Ok(None)` = the user does not
    /// exist (EX_NOUSER); `Err` = temporary failure (EX_TEMPFAIL).
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError>;

    /// Like [`lookup_reporting`](Self::lookup_reporting), for callers that do not log the
    /// warnings.
    fn lookup(&self, user: &str) -> Result<Option<UserRecord>, LookupError> {
        self.lookup_reporting(user, &mut Vec::new())
    }
}

impl<T: UserDatabase + ?Sized> UserDatabase for Box<T> {
    fn lookup_reporting(
        &self,
        user: &str,
        warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        (**self).lookup_reporting(user, warnings)
    }
}
