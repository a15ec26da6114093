//! Readers and writers for the small control files Dovecot 2.3 keeps next to a Maildir:
//! `dovecot-uidlist` (version 3, with version 1 read), `dovecot-keywords`,
//! `dovecot-uidvalidity` (+ its marker file), the `subscriptions` file, and the generic
//! dotlock protocol (`<file>.lock`) that guards them.
//!
//! Everything here is byte-exact with what dovecot/core@2.3.19.1 writes
//! (src/lib-storage/index/maildir/maildir-uidlist.c, maildir-keywords.c,
//! src/lib-storage/mailbox-uidvalidity.c, src/lib-storage/list/subscription-file.c,
//! src/lib/file-dotlock.c), but no code is taken from there. This crate holds no
//! policy: it never decides *when* a file is written or which mailbox it belongs to;
//! `mail-storage` does. It never prints and never exits.

pub mod dotlock;
pub mod keywords;
pub mod subscriptions;
pub mod uidlist;
pub mod uidvalidity;

pub use dotlock::{Dotlock, DotlockError, DotlockSettings};
pub use keywords::{Keywords, MAX_KEYWORDS};
pub use subscriptions::Subscriptions;
pub use uidlist::{AppendState, Uidlist, UidlistError, UidlistHeader, UidlistRecord};
pub mod index;
