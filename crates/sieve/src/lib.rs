//! Sieve mail filtering (RFC 5228 and extensions) for letterbox.
//!
//! This crate compiles Sieve scripts and evaluates them against one message and envelope,
//! producing the list of actions (keep, fileinto, redirect, reject, vacation, ...) with
//! RFC 5228's implicit-keep rule and Pigeonhole's duplicate/conflict rules applied. It performs
//! **no I/O**: everything the script may ask about the outside world (mailbox existence,
//! duplicate tracking, environment items, the current time, included scripts) is answered by
//! the host through [`ScriptEnvironment`] or [`IncludeResolver`], and the host executes the
//! resulting actions. It deliberately does not read script files, store mail, or send messages.
//! Behaviour, error wording and limits mirror Pigeonhole 0.5.19 (`src/lib-sieve/`), the Sieve
//! plugin of Dovecot 2.3.19; no code was taken from it.

pub mod diag;
pub mod syntax;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
