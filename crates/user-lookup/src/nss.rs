//! System users and groups through NSS (`getpwnam`, `getpwuid`, `getgrnam`, `getgrouplist`),
//! wrapped by nix so no `unsafe` is needed here.
//!
//! [`NssUserdb`] mirrors Dovecot's `passwd` userdb driver, whose reply is
//! `system_groups_user=<name> uid=<uid> gid=<gid> home=<dir>` (observed with 2.3.19).

use std::ffi::CString;
use std::io;

use nix::unistd::{Gid, Group, Uid, User, getgrouplist};

use crate::{ErrorLocation, LookupError, LookupErrorKind, LookupWarning, UserDatabase, UserRecord};

/// The system passwd database as a userdb (Dovecot's `driver = passwd`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NssUserdb;

impl UserDatabase for NssUserdb {
    fn lookup_reporting(
        &self,
        user: &str,
        _warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        if user.contains('\0') {
            return Ok(None);
        }
        let pw = User::from_name(user).map_err(|e| nss_error(user, "getpwnam", e))?;
        Ok(pw.map(record_from_passwd))
    }
}

fn record_from_passwd(pw: User) -> UserRecord {
    let mut rec = UserRecord::new(&pw.name);
    rec.fields.push(("system_groups_user".to_owned(), pw.name.clone()));
    rec.uid = Some(pw.uid.as_raw());
    rec.gid = Some(pw.gid.as_raw());
    if !pw.dir.as_os_str().is_empty() {
        rec.home = Some(pw.dir);
    }
    rec
}

fn nss_error(user: &str, call: &str, errno: nix::errno::Errno) -> LookupError {
    LookupError::new(LookupErrorKind::Nss, user, ErrorLocation::Nss, format!("{call}() failed"))
        .with_cause(io::Error::from(errno))
}

/// Looks up the passwd entry of `uid` (`getpwuid`), as dovecot-lda does in HOME mode
/// (no `-d`): `Ok(None)` when no entry exists, `Err` on an NSS failure.
pub fn user_by_uid(uid: u32) -> Result<Option<UserRecord>, LookupError> {
    let pw = User::from_uid(Uid::from_raw(uid))
        .map_err(|e| nss_error(&format!("uid={uid}"), "getpwuid", e))?;
    Ok(pw.map(record_from_passwd))
}

/// Finds the gid of group `name` (`getgrnam`); `Ok(None)` when no such group exists.
pub fn group_by_name(name: &str) -> Result<Option<u32>, LookupError> {
    if name.contains('\0') {
        return Ok(None);
    }
    let gr = Group::from_name(name).map_err(|e| nss_error(name, "getgrnam", e))?;
    Ok(gr.map(|g| g.gid.as_raw()))
}

/// Resolves a uid given as a number or a user name (as `mail_uid` and passwd-file allow);
/// `Ok(None)` when it is neither a number nor a known user.
pub fn resolve_uid(value: &str) -> Result<Option<u32>, LookupError> {
    if let Ok(uid) = value.parse::<u32>() {
        return Ok(Some(uid));
    }
    if value.is_empty() || value.contains('\0') {
        return Ok(None);
    }
    let pw = User::from_name(value).map_err(|e| nss_error(value, "getpwnam", e))?;
    Ok(pw.map(|p| p.uid.as_raw()))
}

/// Resolves a gid given as a number or a group name (as `mail_gid` and passwd-file allow);
/// `Ok(None)` when it is neither a number nor a known group.
pub fn resolve_gid(value: &str) -> Result<Option<u32>, LookupError> {
    if let Ok(gid) = value.parse::<u32>() {
        return Ok(Some(gid));
    }
    if value.is_empty() {
        return Ok(None);
    }
    group_by_name(value)
}

/// The supplementary groups of user `name` plus `gid` (`getgrouplist`), i.e. what
/// `initgroups(name, gid)` would install; used for the `system_groups_user` userdb field.
pub fn user_groups(name: &str, gid: u32) -> Result<Vec<u32>, LookupError> {
    let cname = CString::new(name).map_err(|_| {
        LookupError::new(LookupErrorKind::Nss, name, ErrorLocation::Nss, "user name contains NUL")
    })?;
    let groups =
        getgrouplist(&cname, Gid::from_raw(gid)).map_err(|e| nss_error(name, "getgrouplist", e))?;
    Ok(groups.into_iter().map(Gid::as_raw).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_user_round_trips_by_uid_and_name() {
        let uid = nix::unistd::getuid().as_raw();
        let Some(me) = user_by_uid(uid).unwrap() else {
            return; // no passwd entry for this uid (some containers): nothing to compare
        };
        assert_eq!(me.uid, Some(uid));
        let by_name = NssUserdb.lookup(&me.username).unwrap().expect("entry just seen by uid");
        assert_eq!(by_name, me);
        assert_eq!(by_name.field("system_groups_user"), Some(me.username.as_str()));
        let gid = me.gid.expect("passwd entries always have a gid");
        let groups = user_groups(&me.username, gid).unwrap();
        assert!(groups.contains(&gid), "{groups:?} lacks primary gid {gid}");
        assert_eq!(resolve_uid(&me.username).unwrap(), Some(uid));
    }

    #[test]
    fn unknown_names_are_none() {
        assert_eq!(NssUserdb.lookup("no-such-user-letterbox-test").unwrap(), None);
        assert_eq!(NssUserdb.lookup("bad\0name").unwrap(), None);
        assert_eq!(group_by_name("no-such-group-letterbox-test").unwrap(), None);
        assert_eq!(resolve_gid("no-such-group-letterbox-test").unwrap(), None);
        assert_eq!(resolve_uid("").unwrap(), None);
        assert_eq!(resolve_uid("1234").unwrap(), Some(1234));
        assert_eq!(resolve_gid("0").unwrap(), Some(0));
    }

    #[test]
    fn root_group_resolves() {
        let root = Group::from_gid(Gid::from_raw(0)).unwrap().expect("gid 0 exists");
        assert_eq!(group_by_name(&root.name).unwrap(), Some(0));
        assert_eq!(resolve_gid(&root.name).unwrap(), Some(0));
    }

    #[test]
    fn nul_in_name_is_an_error_for_groups_list() {
        let err = user_groups("a\0b", 0).unwrap_err();
        assert_eq!(err.kind, LookupErrorKind::Nss);
    }
}
