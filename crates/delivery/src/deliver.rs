//! Saving one message for one user: the default mailbox, then the INBOX fallback.
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/mail-deliver.c` (`mail_deliver_save`,
//! `mail_deliver`) as lda-cli.md §6 describes it: try the default mailbox (`-m`, else INBOX);
//! a temporary storage error ends the delivery with a tempfail; any other failure falls back to
//! INBOX. One log line per attempt. Sieve plugs in before the default save (issue: Deliver runs
//! Sieve).

use std::time::{Instant, SystemTime};

use mail_storage::{ErrorKind, MailUser, OpenOptions, SaveOptions, SavedMail, StorageError};

use crate::failure::{Classify, FailureClass};
use crate::log_line::{LogEvent, MessageFacts, format_log_line, sanitize};
use crate::message::IncomingMessage;
use crate::save::{QuotaContext, SaveNotes, save_message};

/// Receives the delivery's log lines; the binary writes them where `info_log_path` says.
pub trait DeliveryLog {
    /// Write one Info line. An error here is fatal for the delivery (Dovecot exits 75).
    fn info(&mut self, line: &str) -> std::io::Result<()>;
    /// Write one Error line (script failures, send failures).
    fn error(&mut self, line: &str) -> std::io::Result<()> {
        self.info(line)
    }
    /// Write one Debug line (shown with `mail_debug = yes`).
    fn debug(&mut self, _line: &str) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the delivery core needs besides the storage.
#[derive(Debug)]
pub struct DeliveryRequest<'a> {
    /// The message, normalised.
    pub message: &'a IncomingMessage,
    /// Facts for the log line (msgid, sizes, envelope).
    pub facts: &'a MessageFacts,
    /// `-m` (non-empty) or `INBOX`.
    pub default_mailbox: &'a str,
    /// `lda_mailbox_autocreate` (letterbox default yes; `-n` turns it off).
    pub autocreate: bool,
    /// `lda_mailbox_autosubscribe` (or `-s`).
    pub autosubscribe: bool,
    /// `deliver_log_format`.
    pub log_format: &'a str,
    /// When the delivery started.
    pub started: Instant,
    /// Envelope sender for mbox `From ` lines (`None` = `MAILER-DAEMON`).
    pub envelope_sender: Option<&'a str>,
    /// The user's quota, if enforced.
    pub quota: Option<&'a QuotaContext>,
}

/// A successful delivery.
#[derive(Debug)]
pub struct DeliveryOutcome {
    /// Mailbox name (as given) and what was stored, per save.
    pub saved: Vec<(String, SavedMail)>,
}

/// A delivery that stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The last storage attempt failed.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// A log line could not be written (or the message could not be read back).
    #[error("Failed to write log: {0}")]
    Log(#[from] std::io::Error),
    /// A temporary failure outside storage (Sieve, sending): retry later.
    #[error("{0}")]
    Temporary(String),
}

impl Classify for DeliveryError {
    fn failure_class(&self) -> FailureClass {
        match self {
            DeliveryError::Storage(e) if e.kind == ErrorKind::NoQuota => FailureClass::OverQuota,
            _ => FailureClass::Temporary,
        }
    }

    fn public_reason(&self) -> String {
        match self {
            DeliveryError::Storage(e) => e.public_message(),
            DeliveryError::Log(_) | DeliveryError::Temporary(_) => {
                "Internal error occurred. Refer to server log for more information.".into()
            }
        }
    }
}

/// Deliver without Sieve: default mailbox, then INBOX.
pub fn deliver(
    user: &MailUser,
    req: &DeliveryRequest<'_>,
    log: &mut dyn DeliveryLog,
) -> Result<DeliveryOutcome, DeliveryError> {
    let first = save_to(user, req, req.default_mailbox, log)?;
    let err = match first {
        Ok(saved) => {
            return Ok(DeliveryOutcome { saved: vec![(req.default_mailbox.into(), saved)] });
        }
        Err(err) if err.is_temporary() => return Err(err.into()),
        Err(err) => err,
    };
    if req.default_mailbox.eq_ignore_ascii_case("INBOX") {
        return Err(err.into());
    }
    match save_to(user, req, "INBOX", log)? {
        Ok(saved) => Ok(DeliveryOutcome { saved: vec![("INBOX".into(), saved)] }),
        Err(err) => Err(err.into()),
    }
}

/// One save attempt with its log line. The outer `Result` is a logging failure.
fn save_to(
    user: &MailUser,
    req: &DeliveryRequest<'_>,
    mailbox: &str,
    log: &mut dyn DeliveryLog,
) -> Result<Result<SavedMail, StorageError>, std::io::Error> {
    let shown = sanitize(mailbox, 80);
    let opts = OpenOptions { autocreate: req.autocreate, autosubscribe: req.autosubscribe };
    let mailbox = match user.open_mailbox(mailbox, &opts) {
        Ok(mailbox) => mailbox,
        Err(err) => {
            let text = format!("save failed to open mailbox {shown}: {}", err.public_message());
            write_line(req, log, &text, "")?;
            return Ok(Err(err));
        }
    };
    let received = if req.message.is_borrowed_file() { None } else { Some(SystemTime::now()) };
    let save_opts = SaveOptions { received, ..SaveOptions::default() };
    let mut notes = SaveNotes::default();
    let result = save_message(
        &mailbox,
        req.message.source(),
        save_opts,
        req.envelope_sender,
        req.quota,
        &mut notes,
    );
    for warning in &notes.warnings {
        log.error(warning)?;
    }
    for line in &notes.debug {
        log.debug(line)?;
    }
    match result {
        Ok(saved) => {
            write_line(req, log, &format!("saved mail to {shown}"), &saved.storage_id)?;
            Ok(Ok(saved))
        }
        Err(err) => {
            write_line(req, log, &format!("save failed to {shown}: {}", err.public_message()), "")?;
            Ok(Err(err))
        }
    }
}

fn write_line(
    req: &DeliveryRequest<'_>,
    log: &mut dyn DeliveryLog,
    text: &str,
    storage_id: &str,
) -> std::io::Result<()> {
    let event = LogEvent { text, storage_id, started: req.started };
    match format_log_line(req.log_format, req.facts, &event) {
        Some(line) => log.info(&line),
        None => Ok(()),
    }
}
