//! letterbox's lib-lda: one incoming message, one user, saved where Dovecot's LDA would save it.
//!
//! This crate reads and normalises the message ([`message`]), parses envelope paths
//! ([`address`]), runs the save-and-fallback chain ([`deliver`]) and formats the delivery log
//! line ([`log_line`]). It never prints and never exits: outcomes are values, failures classify
//! themselves ([`failure`]) and the front ends (the `letterbox` binary, later LMTP) map them.
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/` and `src/lda/main.c`'s input handling.

pub mod address;
pub mod deliver;
pub mod failure;
pub mod log_line;
pub mod message;
pub mod normalize;
pub mod recipient;
pub mod save;
pub mod sieve_delivery;
pub mod user_storage;
pub mod userdb;

pub use deliver::{DeliveryError, DeliveryLog, DeliveryOutcome, DeliveryRequest, deliver};
pub use failure::{Classify, FailureClass};
pub use message::IncomingMessage;
