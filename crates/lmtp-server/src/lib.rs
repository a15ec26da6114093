//! letterbox's LMTP server (RFC 2033): many recipients per transaction, one reply per recipient,
//! every copy through the same delivery core as `letterbox deliver`.
//!
//! Layers: [`protocol`] is a sans-I/O state machine (bytes in, [`protocol::Event`]s and reply
//! bytes out; trickle-tested byte by byte); [`reply`] holds the one mapping from a delivery
//! outcome to a reply code; [`trace`] builds the `Return-Path`/`Delivered-To`/`Received`
//! headers; [`session`] runs one connection against a [`session::Backend`]; [`local`] is the
//! backend that looks recipients up and delivers locally; [`server`] owns listeners, threads and
//! the SIGTERM stop. Mirrors dovecot/core@2.3.19.1 `src/lmtp/` (`lmtp-commands.c`,
//! `lmtp-local.c`) as observed against Debian's dovecot-lmtpd 2.3.19.1.
//!
//! **Privilege model.** (a) *One vmail uid* (the common virtual-user setup): the server runs as
//! one uid — started as that user, or as root with `mail_uid`/`mail_gid` set, in which case the
//! binary drops to them once at start — and delivers in-process; a recipient whose userdb uid
//! differs gets `451 4.3.0` and a log line saying why. (b) *Root without `mail_uid`*: each
//! recipient is delivered by a `letterbox deliver -e -d USER -a RCPT -f SENDER` child (the same
//! binary) that switches to the user's uid itself; its exit status becomes the reply (0 → 250,
//! 67 → 550 5.1.1, 77 → 552, anything else → 451). Slower, but it never runs user code paths as
//! root and needs no `fork()` of a threaded process.
//!
//! Deliberately not here: CHUNKING/BDAT, STARTTLS, AUTH, XCLIENT, proxying (`lmtp_proxy`),
//! `lmtp_rcpt_check_quota` and `lmtp_user_concurrency_limit`. Libraries never print: log lines
//! go to a [`session::ServerLog`] the binary provides.

pub mod local;
pub mod protocol;
pub mod reply;
pub mod server;
pub mod session;
pub mod trace;

pub use local::{LocalBackend, PrivilegeModel};
pub use protocol::{Limits, Protocol};
pub use reply::Reply;
pub use server::{Listen, Listeners, ServerError, ServerOptions, serve, serve_stdio};
pub use session::{Backend, LogLevel, ServerLog, SessionConfig, SessionInfo, run_session};
pub use trace::{DeliveryAddress, TraceSettings};
