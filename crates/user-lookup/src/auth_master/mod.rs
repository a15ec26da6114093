//! Client of Dovecot's auth-master socket (`auth_socket_path`, default
//! `/run/dovecot/auth-userdb`), the way `dovecot-lda -d USER` asks the auth server for a user.
//!
//! [`codec`] is the pure line protocol (escaping, line framing, reply parsing and the
//! client's reply state machine); [`client`] does the socket I/O with a bounded wait.

pub mod client;
pub mod codec;

pub use client::{AuthMaster, DEFAULT_TIMEOUT};
