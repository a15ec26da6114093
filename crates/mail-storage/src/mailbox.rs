//! An opened mailbox and the types of one save: what to store, with which flags, and what
//! came out (path, storage id, UID).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::driver::Store;
use crate::error::StorageError;

/// How to open a mailbox for saving (the LDA's `lda_mailbox_autocreate`/`-autosubscribe`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create the mailbox when it does not exist (INBOX is always created).
    pub autocreate: bool,
    /// Subscribe to the mailbox when this open created it.
    pub autosubscribe: bool,
}

/// System flags of a saved message (`\Recent` is never stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailFlags {
    /// `\Seen` (`S`).
    pub seen: bool,
    /// `\Answered` (`R`).
    pub answered: bool,
    /// `\Flagged` (`F`).
    pub flagged: bool,
    /// `\Deleted` (`T`).
    pub deleted: bool,
    /// `\Draft` (`D`).
    pub draft: bool,
}

/// Options of one save.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// System flags.
    pub flags: MailFlags,
    /// IMAP keywords (at most 26 reach the file name; longer than `max_keyword_length` or
    /// not valid IMAP atoms are dropped).
    pub keywords: Vec<String>,
    /// Received date; when given it becomes the file's mtime (Maildir) or the date of the
    /// From_ line (mbox); `None` = now.
    pub received: Option<SystemTime>,
    /// The envelope sender (`-f`, or the input's From_ line), written into the mbox From_
    /// line; `None` or empty (the null sender) is written as `MAILER-DAEMON`. Maildir
    /// does not store it.
    pub envelope_sender: Option<String>,
    /// A forced message GUID (lda-cli.md §6.1): stored as the uidlist record's `G` field.
    pub guid: Option<String>,
}

/// Message content, already normalised by the caller (LF line endings, From_ line removed).
#[derive(Debug, Clone, Copy)]
pub enum MessageSource<'a> {
    /// The message in memory.
    Bytes(&'a [u8]),
    /// A file: `may_link` = it may be hard-linked into the Maildir (same fs) instead of
    /// copied; sizes precomputed (`vsize` = size with CRLF line ends).
    File {
        /// The staged file.
        path: &'a Path,
        /// Its size in bytes.
        size: u64,
        /// Its RFC 822 size.
        vsize: u64,
        /// Whether it may be hard-linked (it must not be modified afterwards).
        may_link: bool,
    },
}

/// The result of a successful save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMail {
    /// The UID, or `None` when the uidlist could not be updated (lock timeout, broken or
    /// missing uidlist next to an index): Dovecot assigns one at its next sync.
    pub uid: Option<u32>,
    /// Final path of the message file.
    pub path: PathBuf,
    /// `<base>,S=<size>,W=<vsize>`, the name recorded in the uidlist.
    pub storage_id: String,
    /// Physical size.
    pub size: u64,
    /// Virtual (CRLF) size.
    pub vsize: u64,
    /// Why `uid` is `None`, for the log.
    pub uid_missing_reason: Option<String>,
    /// Keywords that could not be stored in the file name (all 26 letters in use, invalid
    /// or too long), for the log.
    pub dropped_keywords: Vec<String>,
    /// Why the Maildir index files (`dovecot.index.log`, `dovecot.index.cache`) were left
    /// untouched for this message (lock timeout, an index state we do not fully understand,
    /// an I/O error…), for the log. `None` when they were updated, when the location says
    /// `INDEX=MEMORY`, and for mbox (whose index is left to Dovecot).
    pub index_skipped_reason: Option<String>,
}

/// Where a Maildir mailbox keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaildirPaths {
    /// The mailbox directory (with cur/new/tmp).
    pub dir: PathBuf,
    /// Its control directory (dovecot-uidlist, dovecot-keywords).
    pub control: PathBuf,
    /// Its index directory (dovecot.index*).
    pub index: PathBuf,
    /// `INDEX=MEMORY`: write no index files.
    pub index_in_memory: bool,
    /// The root control directory (dovecot-uidvalidity).
    pub control_root: PathBuf,
}

/// A mailbox opened for saving (Maildir or mbox, see `crate::driver`).
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub(crate) vname: String,
    pub(crate) created: bool,
    pub(crate) store: Store,
}

impl Mailbox {
    /// The virtual name it was opened with.
    pub fn vname(&self) -> &str {
        &self.vname
    }

    /// True when this open created the mailbox (for logging/subscription).
    pub fn created(&self) -> bool {
        self.created
    }

    /// The mailbox directory (Maildir: holding cur/, new/, tmp/) or file (mbox).
    pub fn dir(&self) -> &Path {
        self.store.path()
    }

    /// Where `dovecot-uidlist` and `dovecot-keywords` live (mbox: its index directory).
    pub fn control_dir(&self) -> &Path {
        self.store.control_dir()
    }

    /// Where `dovecot.index*` live (for the index-log writer).
    pub fn index_dir(&self) -> &Path {
        self.store.index_dir()
    }

    /// Store one message; returns only after it is durable (per FsyncMode). Maildir: renamed
    /// into place and listed in the uidlist (unless the lock wait hit its bound). mbox:
    /// appended under the write locks, or the file is cut back to its old size.
    pub fn save(
        &self,
        source: MessageSource<'_>,
        opts: &SaveOptions,
    ) -> Result<SavedMail, StorageError> {
        self.store.save(source, opts).map_err(|e| e.with_mailbox(&self.vname))
    }
}
