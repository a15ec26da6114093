//! Which user database answers a lookup, as the settings describe it (shared by `deliver -d`
//! and LMTP).
//!
//! The config's `userdb { }` blocks are run in-process when every one of them is a driver
//! `user-lookup` implements (`passwd-file`, `passwd`); anything else (sql, ldap, …) goes to
//! Dovecot's auth-master socket (`auth_socket_path`), exactly as dovecot-lda and Dovecot's LMTP
//! do. In-process lookups normalise the name as the auth server would (`%Lu`) first.

use std::path::PathBuf;
use std::time::Duration;

use dovecot_config::Config;
use dovecot_config::var_expand::expand_with;
use user_lookup::{AuthMaster, AuthUsername, LookupError, UserDatabase, UserdbChain};

/// Userdb drivers that run inside letterbox without an auth server.
pub const IN_PROCESS_DRIVERS: &[&str] = &["passwd-file", "passwd"];

/// How long an auth-master lookup may take (Dovecot's own client timeout).
pub const AUTH_MASTER_TIMEOUT: Duration = Duration::from_secs(155);

/// The user database for `service` (`lda` or `lmtp`).
pub fn userdb_for(config: &Config, service: &str) -> Result<Box<dyn UserDatabase>, LookupError> {
    let dbs = config.userdbs();
    if !dbs.is_empty() && dbs.iter().all(|db| IN_PROCESS_DRIVERS.contains(&db.driver.as_str())) {
        let chain = dbs
            .iter()
            .map(|db| user_lookup::userdb_from_driver(&db.driver, &db.args, Some(path_expander())))
            .collect::<Result<Vec<_>, LookupError>>()?;
        return Ok(Box::new(AuthUsername::new(Box::new(UserdbChain(chain)))));
    }
    let socket = config.settings().auth_socket_path();
    Ok(Box::new(AuthMaster::new(socket, service, AUTH_MASTER_TIMEOUT)))
}

/// %-expansion of per-user passwd-file paths (`/etc/dovecot/passwd.%d`).
fn path_expander() -> user_lookup::ExpandPath {
    Box::new(|template: &str, user: &str| {
        let (local, domain) = user.rsplit_once('@').unwrap_or((user, ""));
        PathBuf::from(expand_with(template, &|var| {
            Some(match var {
                "u" | "user" => user.to_string(),
                "n" | "username" => local.to_string(),
                "d" | "domain" => domain.to_string(),
                _ => return None,
            })
        }))
    })
}
