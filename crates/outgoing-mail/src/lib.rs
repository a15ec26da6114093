//! The mails a delivery sends by itself, built byte-for-byte as Dovecot 2.3.19 / Pigeonhole
//! 0.5.19 build them, and the `sendmail_path` transport that submits them.
//!
//! * [`rejection`]: whether a rejection mail is sent at all (`Auto-Submitted`, return path,
//!   `postmaster_address`) and the `rejection_subject` / `rejection_reason` templates;
//! * [`mdn`] (Sieve `reject`) and [`dsn`] (quota) on the shared [`report`] layout, mirroring
//!   dovecot/core@2.3.19.1 `src/lib-lda/mail-send.c`;
//! * [`vacation_reply`]: RFC 5230/3834 "should we reply" checks and the reply itself, mirroring
//!   pigeonhole@0.5.19 `src/lib-sieve/plugins/vacation/ext-vacation-common.c` and
//!   `cmd-vacation.c`;
//! * [`redirect`]: what Pigeonhole changes on a redirected message (`X-Sieve`,
//!   `X-Sieve-Redirected-From`, `Return-Path` removal), its envelope sender and loop check;
//! * [`sendmail`]: `sendmail -i -f <sender> -- <rcpt>` with timeout, as
//!   dovecot/core@2.3.19.1 `src/lib-smtp/smtp-submit.c` runs it.
//!
//! The ids Pigeonhole records in the duplicate database for a vacation reply or a redirect are
//! computed here too ([`vacation_reply::vacation_duplicate_id`],
//! [`redirect::redirect_duplicate_id`]); the database itself is not.
//!
//! Deliberately *not* here: the duplicate database file (`.dovecot.lda-dupes`), deciding which
//! Sieve actions run, logging, and the SMTP client for `submission_host` (returns
//! [`sendmail::SendError::SubmissionHostNotSupported`]). Every builder is a pure function of its
//! inputs (time, Message-ID, boundary and host names are passed in), so golden tests can compare
//! them with mails captured from the real Dovecot. This crate never prints and never exits.

pub mod address;
pub mod dsn;
pub mod encode;
pub mod header;
pub mod md5;
pub mod mdn;
pub mod message_id;
pub mod redirect;
pub mod rejection;
pub mod report;
pub mod sendmail;
pub mod vacation_reply;

pub use address::Mailbox;
pub use dsn::build_dsn;
pub use mdn::build_mdn;
pub use message_id::{MessageIdTime, lda_message_id, rejection_boundary, sieve_message_id};
pub use rejection::{NotSent, RejectionDecision, RejectionError, decide};
pub use report::{BuiltRejection, RejectionMail};
pub use sendmail::{SendError, Sendmail};
