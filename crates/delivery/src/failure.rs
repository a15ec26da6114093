//! How a delivery failed, in mail terms: the one classification both front ends map from.
//!
//! Mirrors dovecot/core@2.3.19.1 `mail_deliver_error` plus the command-line-only cases
//! (design.md §6.2). The CLI maps a class to an exit status, LMTP to a reply code: each in exactly
//! one function of its own crate.

/// The kind of outcome a failure leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Try again later: storage I/O, lock timeouts, lookups that failed, configuration errors.
    Temporary,
    /// The message was refused for good (Sieve reject).
    Rejected,
    /// The user is over quota (and `quota_full_tempfail = no`).
    OverQuota,
    /// No such user.
    UnknownUser,
    /// Bad command line.
    Usage,
    /// A bug or an impossible state: treated as temporary so mail is never lost.
    Internal,
}

/// Every error that can end a delivery says which class it belongs to.
pub trait Classify {
    /// The class of this failure.
    fn failure_class(&self) -> FailureClass;
    /// Text safe to show the sender or the MTA: no paths, uids or settings.
    fn public_reason(&self) -> String;
}
