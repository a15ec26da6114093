//! One save into one mailbox, with what every save needs: the quota check before and the usage
//! update after (Dovecot's quota plugin hooks the same place), and the envelope sender that an
//! mbox `From ` line records.

use std::path::PathBuf;

use mail_storage::{ErrorKind, Mailbox, MessageSource, SaveOptions, SavedMail, StorageError};
use quota::{Quota, QuotaVerdict};

/// The user's quota, when `mail_plugins` has `quota` and a quota root is configured.
#[derive(Debug)]
pub struct QuotaContext {
    /// Roots and rules.
    pub quota: Quota,
    /// `base_dir`, where `quota_warning` script sockets live.
    pub base_dir: PathBuf,
}

/// What [`save_message`] noticed that the caller should log.
#[derive(Debug, Default)]
pub struct SaveNotes {
    /// Problems that did not stop the save (quota bookkeeping errors, warning scripts).
    pub warnings: Vec<String>,
    /// Things worth a debug line (index files left for Dovecot to update).
    pub debug: Vec<String>,
}

/// Size the quota sees: the physical size, as with `quota_vsizes = no`.
fn source_size(source: &MessageSource<'_>) -> u64 {
    match source {
        MessageSource::Bytes(bytes) => bytes.len() as u64,
        MessageSource::File { size, .. } => *size,
    }
}

/// Save with quota enforcement. Over quota is a `NoQuota` error carrying
/// `quota_exceeded_message`; a message over `quota_max_mail_size` is a non-temporary failure
/// whose final class is a tempfail (lda-cli.md §6). A quota that cannot be read does not stop
/// the save (Dovecot logs and saves).
pub fn save_message(
    mailbox: &Mailbox,
    source: MessageSource<'_>,
    opts: SaveOptions,
    envelope_sender: Option<&str>,
    quota: Option<&QuotaContext>,
    notes: &mut SaveNotes,
) -> Result<SavedMail, StorageError> {
    let size = source_size(&source);
    if let Some(q) = quota {
        match q.quota.check_before_save(mailbox.vname(), size) {
            Ok(QuotaVerdict::Ok) => {}
            Ok(QuotaVerdict::OverQuota { message, .. }) => {
                return Err(
                    StorageError::new(ErrorKind::NoQuota, message).with_mailbox(mailbox.vname())
                );
            }
            Ok(QuotaVerdict::TooLarge { .. }) => {
                return Err(StorageError::new(
                    ErrorKind::NotPossible,
                    QuotaVerdict::TOO_LARGE_TEXT,
                )
                .with_mailbox(mailbox.vname()));
            }
            Err(e) => notes.warnings.push(format!("quota: {e}")),
        }
    }
    let opts = SaveOptions { envelope_sender: envelope_sender.map(str::to_string), ..opts };
    let saved = mailbox.save(source, &opts)?;
    if let Some(reason) = &saved.index_skipped_reason {
        notes.debug.push(format!("{}: index files not updated: {reason}", mailbox.vname()));
    }
    if let Some(q) = quota {
        match q.quota.record_saved(mailbox.vname(), size, 1) {
            Ok(commands) => {
                for command in commands {
                    if let Err(e) = command.send(&q.base_dir) {
                        notes.warnings.push(format!("quota warning: {e}"));
                    }
                }
            }
            Err(e) => notes.warnings.push(format!("quota: {e}")),
        }
    }
    Ok(saved)
}
