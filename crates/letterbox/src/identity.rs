//! Deciding who a delivery is for (lda-cli.md §3): `-d` through the userdbs, or the caller.
//!
//! With `-d`, the user database is the one `delivery::userdb` picks from the settings (in-process
//! or Dovecot's auth-master socket). Without `-d`, the caller is the user: `$USER`/`$HOME`, else
//! the passwd entry of the effective uid; root is refused.

use std::path::PathBuf;

use delivery::FailureClass;
use delivery::userdb::userdb_for;
use dovecot_config::Config;
use user_lookup::UserRecord;

use crate::run_deliver::Fatal;

/// The user as found, before the userdb fields are applied to the settings.
#[derive(Debug)]
pub struct FoundUser {
    /// Canonical username.
    pub username: String,
    /// Home, when known.
    pub home: Option<PathBuf>,
    /// uid from the userdb (or the caller's own).
    pub uid: Option<u32>,
    /// gid from the userdb (or the caller's own).
    pub gid: Option<u32>,
    /// Remaining userdb fields (setting overrides, `system_groups_user`, …).
    pub fields: Vec<(String, String)>,
    /// True when found through `-d` (privileges may need switching).
    pub from_userdb: bool,
}

/// Look up `-d USER`: 67 when unknown, 75 when the lookup fails.
pub fn lookup_user(config: &Config, name: &str) -> Result<FoundUser, Fatal> {
    let db = userdb_for(config, "lda").map_err(|e| Fatal::temp(e.to_string()))?;
    let record = db
        .lookup(name)
        .map_err(|e| Fatal::new(FailureClass::Temporary, e.to_string()))?
        .ok_or_else(|| {
        Fatal::new(FailureClass::UnknownUser, format!("Unknown user: {name}"))
    })?;
    from_record(record)
}

fn from_record(record: UserRecord) -> Result<FoundUser, Fatal> {
    if let Some(home) = &record.home
        && home.is_relative()
        && !home.as_os_str().is_empty()
    {
        return Err(Fatal::temp("Relative home directory paths not supported"));
    }
    Ok(FoundUser {
        username: record.username,
        home: record.home.filter(|h| !h.as_os_str().is_empty()),
        uid: record.uid,
        gid: record.gid,
        fields: record.fields,
        from_userdb: true,
    })
}

/// No `-d`: the invoking user (lda-cli.md §3.2 and §3.3).
pub fn invoking_user() -> Result<FoundUser, Fatal> {
    let euid = nix::unistd::geteuid();
    if euid.is_root() {
        return Err(Fatal::new(
            FailureClass::Usage,
            "destination user parameter (-d user) not given".into(),
        ));
    }
    let env_user = std::env::var("USER").ok().filter(|u| !u.is_empty());
    let env_home =
        std::env::var_os("HOME").map(PathBuf::from).filter(|h| !h.as_os_str().is_empty());
    let gid = nix::unistd::getegid().as_raw();
    let me = |username: String, home| FoundUser {
        username,
        home,
        uid: Some(euid.as_raw()),
        gid: Some(gid),
        fields: Vec::new(),
        from_userdb: false,
    };
    if let (Some(user), Some(home)) = (&env_user, &env_home) {
        return Ok(me(user.clone(), Some(home.clone())));
    }
    match user_lookup::user_by_uid(euid.as_raw()) {
        Ok(Some(record)) => Ok(me(record.username, env_home.or(record.home))),
        Ok(None) => match env_user {
            Some(user) => Ok(me(user, env_home)),
            None => Err(Fatal::new(
                FailureClass::Usage,
                format!("Couldn't lookup our username (uid={euid})"),
            )),
        },
        Err(e) => Err(Fatal::temp(e.to_string())),
    }
}
