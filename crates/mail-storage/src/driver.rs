//! The registry of storage drivers: the one place where a location's [`Driver`] chooses the
//! code that opens and saves (design.md §6.4). Adding a driver means adding a [`Driver`]
//! variant and a [`Store`] variant; the compiler then points at every match below.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StorageError;
use crate::location::{Driver, MailLocation};
use crate::mailbox::{MessageSource, SaveOptions, SavedMail};
use crate::maildir::{self, MaildirMailbox, Target};
use crate::mbox::{self, MboxMailbox};
use crate::settings::StorageSettings;

/// An opened mailbox of one of the drivers.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    /// A Maildir directory.
    Maildir(MaildirMailbox),
    /// An mbox file.
    Mbox(MboxMailbox),
}

/// Whether `target` already exists in `location`.
pub(crate) fn exists(location: &MailLocation, target: &Target) -> bool {
    match location.driver {
        Driver::Maildir => maildir::paths_for(location, target).dir.exists(),
        Driver::Mbox => mbox::exists(location, target),
    }
}

/// Opens (creating when INBOX or `autocreate`) `target`; true when this call created it.
pub(crate) fn open(
    location: &MailLocation,
    target: &Target,
    autocreate: bool,
    vname: &str,
    settings: &Arc<StorageSettings>,
) -> Result<(Store, bool), StorageError> {
    match location.driver {
        Driver::Maildir => {
            let opened = maildir::open(location, target, autocreate, vname)?;
            let mailbox = MaildirMailbox {
                paths: opened.paths,
                perms: opened.perms,
                settings: Arc::clone(settings),
            };
            Ok((Store::Maildir(mailbox), opened.created))
        }
        Driver::Mbox => {
            let (mailbox, created) = mbox::open(location, target, autocreate, vname, settings)?;
            Ok((Store::Mbox(mailbox), created))
        }
    }
}

impl Store {
    /// Saves one message.
    pub(crate) fn save(
        &self,
        source: MessageSource<'_>,
        opts: &SaveOptions,
    ) -> Result<SavedMail, StorageError> {
        match self {
            Store::Maildir(mb) => maildir::save::save(mb, source, opts),
            Store::Mbox(mb) => mbox::save::save(mb, source, opts),
        }
    }

    /// Where incoming mail may be staged for this (INBOX) mailbox: Maildir's `tmp/` (so a
    /// save can hard-link), for mbox `mail_temp_dir`.
    pub(crate) fn staging_dir(&self) -> PathBuf {
        match self {
            Store::Maildir(mb) => maildir::tmp_dir(&mb.paths),
            Store::Mbox(mb) => mb.settings.temp_dir.clone(),
        }
    }

    /// The Maildir directory, or the mbox file.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Store::Maildir(mb) => &mb.paths.dir,
            Store::Mbox(mb) => &mb.path,
        }
    }

    /// Maildir: where uidlist and keywords live; mbox has no control files, so its index
    /// directory is given.
    pub(crate) fn control_dir(&self) -> &Path {
        match self {
            Store::Maildir(mb) => &mb.paths.control,
            Store::Mbox(mb) => &mb.index,
        }
    }

    /// Where Dovecot keeps the mailbox's `dovecot.index*` files.
    pub(crate) fn index_dir(&self) -> &Path {
        match self {
            Store::Maildir(mb) => &mb.paths.index,
            Store::Mbox(mb) => &mb.index,
        }
    }
}
