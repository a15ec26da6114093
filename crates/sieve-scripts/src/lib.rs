//! Finding and logging the Sieve scripts of one delivery, as Pigeonhole 0.5.19 does.
//!
//! [`sequence::script_sequence`] turns the `plugin { }` settings (with userdb overrides
//! applied) into the ordered list of scripts to run: `sieve_before…`, the personal script or
//! `sieve_default`, `sieve_after…`, `sieve_discard` (sieve-behaviour.md §2). [`user_log`]
//! writes the user's `.dovecot.sieve.log`. This crate reads and writes files but knows nothing
//! of the Sieve language: compiling and running is the `sieve` crate's job, executing the
//! actions the delivery core's. Only `file` storage is supported; `dict:`/`ldap:` are reported.

pub mod location;
pub mod sequence;
pub mod user_log;

pub use location::{Location, LocationError, parse_location};
pub use sequence::{Role, ScriptRef, ScriptSequence, script_sequence};
pub use user_log::UserLog;
