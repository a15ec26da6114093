//! Who the process runs as: the setuid-root guard, uid/gid validity, and the switch to the user.
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lda/main.c` (setuid check) and
//! `src/lib-storage/mail-storage-service.c` (uid/gid checks, `setgid` + supplementary groups +
//! `setuid`), as lda-cli.md §2 and §3.4 describe. Everything goes through `nix`: no unsafe here.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;

use nix::unistd::{Gid, Uid, getegid, geteuid, getuid, initgroups, setgid, setgroups, setuid};

/// A privilege problem: always a temporary failure (75), with Dovecot's wording.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PrivilegeError(pub String);

/// Refuse to run setuid-root when the binary is world-executable (exit 75, lda-cli.md §2.1).
pub fn check_setuid_root(argv0: &str) -> Result<(), PrivilegeError> {
    if getuid() == geteuid() || !geteuid().is_root() {
        return Ok(());
    }
    let meta = std::fs::metadata(argv0)
        .map_err(|e| PrivilegeError(format!("stat({argv0}) failed: {e}")))?;
    let mode = meta.permissions().mode();
    if mode & 0o4000 != 0 && mode & 0o001 != 0 {
        return Err(PrivilegeError(format!(
            "{argv0} is setuid-root and world-executable. This allows any user to gain root \
             privileges: chmod o-x {argv0}"
        )));
    }
    Ok(())
}

/// The uid/gid limits from the settings.
#[derive(Debug, Clone, Copy)]
pub struct ValidIds {
    /// `first_valid_uid`.
    pub first_uid: u32,
    /// `last_valid_uid` (0 = no limit).
    pub last_uid: u32,
    /// `first_valid_gid`.
    pub first_gid: u32,
    /// `last_valid_gid` (0 = no limit).
    pub last_gid: u32,
}

/// Check a target uid/gid against the limits, with Dovecot's messages.
pub fn check_ids(uid: u32, gid: u32, limits: &ValidIds) -> Result<(), PrivilegeError> {
    if uid == 0 {
        return Err(PrivilegeError("Invalid settings in userdb: userdb returned 0 as uid".into()));
    }
    if uid < limits.first_uid || (limits.last_uid != 0 && uid > limits.last_uid) {
        return Err(PrivilegeError(format!(
            "Mail access for users with UID {uid} not permitted (see first_valid_uid in config \
             file, uid from userdb lookup)."
        )));
    }
    if gid < limits.first_gid || (limits.last_gid != 0 && gid > limits.last_gid) {
        return Err(PrivilegeError(format!(
            "Mail access for users with GID {gid} not permitted (see first_valid_gid in config \
             file, gid from userdb lookup)."
        )));
    }
    Ok(())
}

/// Become `uid`/`gid` with the supplementary groups of `groups_user` (userdb
/// `system_groups_user`) plus `extra_groups` (`mail_access_groups`). A no-op when we already are
/// that user; a non-root process asked to become someone else fails as Dovecot does.
pub fn switch_to_user(
    uid: u32,
    gid: u32,
    groups_user: Option<&str>,
    extra_groups: &[u32],
) -> Result<(), PrivilegeError> {
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    if !geteuid().is_root() {
        if geteuid() == uid && (getegid() == gid) {
            return Ok(());
        }
        return Err(PrivilegeError(format!(
            "Couldn't drop privileges: setuid({uid}) failed with euid={}: Operation not permitted",
            geteuid()
        )));
    }
    let fail = |what: &str, e: nix::Error| PrivilegeError(format!("{what} failed: {e}"));
    match groups_user {
        Some(name) => {
            let cname = CString::new(name)
                .map_err(|_| PrivilegeError(format!("Invalid user name {name:?}")))?;
            initgroups(&cname, gid).map_err(|e| fail(&format!("initgroups({name}, {gid})"), e))?;
            if !extra_groups.is_empty() {
                let mut groups = nix::unistd::getgroups().map_err(|e| fail("getgroups()", e))?;
                groups.extend(extra_groups.iter().map(|&g| Gid::from_raw(g)));
                setgroups(&groups).map_err(|e| fail("setgroups()", e))?;
            }
        }
        None => {
            let mut groups = vec![gid];
            groups.extend(extra_groups.iter().map(|&g| Gid::from_raw(g)));
            setgroups(&groups).map_err(|e| fail("setgroups()", e))?;
        }
    }
    setgid(gid).map_err(|e| fail(&format!("setgid({gid})"), e))?;
    setuid(uid).map_err(|e| fail(&format!("setuid({uid})"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ValidIds = ValidIds { first_uid: 500, last_uid: 0, first_gid: 1, last_gid: 0 };

    #[test]
    fn id_limits() {
        assert!(check_ids(1000, 1000, &LIMITS).is_ok());
        assert!(check_ids(0, 1000, &LIMITS).unwrap_err().0.contains("returned 0 as uid"));
        assert!(check_ids(499, 1000, &LIMITS).unwrap_err().0.contains("UID 499"));
        assert!(check_ids(1000, 0, &LIMITS).unwrap_err().0.contains("GID 0"));
        let capped = ValidIds { last_uid: 2000, ..LIMITS };
        assert!(check_ids(2001, 1, &capped).is_err());
    }
}
