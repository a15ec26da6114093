//! Mail storage for letterbox: delivers messages into Maildir and mbox exactly as Dovecot
//! 2.3's `dovecot-lda` leaves them on disk, so Dovecot's IMAP sees no difference.
//!
//! It parses `mail_location` ([`MailLocation`]), resolves namespaces and mailbox names
//! (Maildir++ `.a.b` and `LAYOUT=fs`, modified UTF-7, Dovecot's validation texts), creates
//! mailboxes lazily with modes derived from their parent directory, and saves through
//! `tmp/` → fsync → rename into `new/` or `cur/` → directory fsync → `dovecot-uidlist`
//! append under its dotlock (with a fresh UIDVALIDITY when the uidlist is missing),
//! `dovecot-keywords` letters, and the `subscriptions` file. It mirrors
//! dovecot/core@2.3.19.1 src/lib-storage/index/maildir/ (maildir-save.c, maildir-uidlist.c,
//! maildir-storage.c, maildir-filename.c), src/lib-storage/mail-storage.c
//! (`mailbox_verify_name`) and src/lib-storage/list/, using file formats from the
//! `dovecot-index` crate; no code is taken from Dovecot.
//!
//! mbox ([`mbox`], mirroring src/lib-storage/index/mbox/mbox-save.c, mbox-lock.c and
//! src/lib-mail/mbox-from.c) appends under the `mbox_write_locks` (dotlock, fcntl, flock)
//! with Dovecot's From_ line and status headers, and cuts the file back on any error; it
//! reads only the file's first and last bytes, so its cost is independent of the mbox size.
//! The drivers are chosen in one place, the `driver` module.
//!
//! Maildir saves also keep Dovecot's index current ([`maildir`]'s `index_update`): under the
//! uidlist lock and an fcntl lock on `dovecot.index.log`, the transactions and cache record
//! Dovecot's LDA would write are appended (planned by `dovecot-index`), or nothing at all is
//! written when the index holds anything unexpected ([`SavedMail::index_skipped_reason`]).
//!
//! Deliberately not done here: rewriting `dovecot.index` or rotating its log, mbox index
//! files, mbox `X-UID`/`X-IMAPbase` headers (Dovecot assigns UIDs at its next sync), quota, the
//! `mailboxes.lock`/`dovecot.list.index*`/`dovecot.mailbox.log` side files (Dovecot rebuilds
//! or ignores them), and tmp/ cleanup. Where letterbox is better than Dovecot: a save waits
//! (bounded) for the uidlist lock instead of leaving the message without a UID, and finding
//! the next UID reads only the uidlist's header and tail. The library never prints or exits.

mod driver;
mod error;
mod location;
mod mailbox;
pub mod mailbox_name;
pub mod maildir;
pub mod mbox;
mod namespace;
mod ofd_lock;
mod settings;
mod user;

pub use error::{ErrorKind, StorageError};

/// For long-lived delivering processes (the LMTP server): threads saving into the same
/// Maildir at the same moment share one commit (`maildir::group_commit`), and the file each
/// `dovecot-uidlist.lock` is hard-linked from stays in the mailbox's `tmp/` between
/// deliveries, so a delivery allocates and frees one inode less. Call
/// [`end_long_lived_process`] on shutdown.
pub fn begin_long_lived_process() {
    maildir::group_commit::share_commits(true);
    dovecot_index::dotlock::keep_link_sources(true);
}

/// Removes what [`begin_long_lived_process`] kept.
pub fn end_long_lived_process() {
    maildir::group_commit::share_commits(false);
    dovecot_index::dotlock::keep_link_sources(false);
    dovecot_index::dotlock::remove_kept_link_sources();
}
pub use location::{Driver, Layout, MailLocation};
pub use mailbox::{MailFlags, Mailbox, MessageSource, OpenOptions, SaveOptions, SavedMail};
pub use namespace::{AutoMailbox, AutoMode, NamespaceSpec};
pub use settings::{FsyncMode, MboxLockMethod, StorageSettings, system_hostname};
pub use user::MailUser;
