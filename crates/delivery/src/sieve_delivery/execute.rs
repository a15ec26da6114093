//! Executing one script's result: start every action, then commit stores before anything is
//! sent (sieve-behaviour.md §9.2), and the implicit keep at the end of the sequence.

use std::time::{Duration, SystemTime};

use duplicate_db::DuplicateDb;
use mail_storage::{MailUser, Mailbox, MessageSource, OpenOptions, SaveOptions, SavedMail};
use sieve::{Action, MessageView, SieveResult};

use super::outgoing::{SendFailure, SendOutcome};
use super::{SieveOutcome, SieveRequest, save_options};
use crate::deliver::{DeliveryError, DeliveryLog, DeliveryRequest};
use crate::log_line::{LogEvent, format_log_line, sanitize};
use crate::save::{SaveNotes, save_message};

/// State carried across the scripts of one sequence.
pub(super) struct Executor<'a> {
    pub user: &'a MailUser,
    pub req: &'a DeliveryRequest<'a>,
    /// The message as the next script sees it.
    pub view: MessageView,
    /// Bytes of the edited message, once editheader changed it.
    edited: Option<Vec<u8>>,
    /// Whether the implicit keep is still in effect.
    pub keep_in_effect: bool,
    keep_flags: Vec<String>,
    /// Mailboxes already stored into (merging across scripts).
    stored: Vec<String>,
    pub outcome: SieveOutcome,
    duplicate_marks: Vec<(String, u64)>,
}

/// An action that failed for this script (the sequence ends with the failure keep).
type ScriptFailure = String;

impl<'a> Executor<'a> {
    pub fn new(user: &'a MailUser, req: &'a DeliveryRequest<'a>, view: MessageView) -> Self {
        Self {
            user,
            req,
            view,
            edited: None,
            keep_in_effect: true,
            keep_flags: Vec::new(),
            stored: Vec::new(),
            outcome: SieveOutcome::default(),
            duplicate_marks: Vec::new(),
        }
    }

    /// Start and commit one script's actions. The outer error is fatal for the delivery
    /// (temporary failure, log failure); the inner one fails just this script.
    pub fn execute(
        &mut self,
        result: &SieveResult,
        sreq: &mut SieveRequest<'_>,
        log: &mut dyn DeliveryLog,
    ) -> Result<Result<(), ScriptFailure>, DeliveryError> {
        if let Some(headers) = &result.edited_headers {
            let bytes = rebuild_message(headers, self.view.body());
            self.view = MessageView::parse(&bytes);
            self.edited = Some(bytes);
        }
        let mailboxes = match self.start(result) {
            Ok(m) => m,
            Err(failure) => return Ok(Err(failure)),
        };
        for (mailbox, flags) in mailboxes {
            let name = sanitize(mailbox.vname(), 80);
            let text = format!("fileinto action: stored mail into mailbox '{name}'");
            match self.store(&mailbox, &flags, &text, log) {
                Ok(_) => {}
                Err(DeliveryError::Storage(e)) if !e.is_temporary() => {
                    return Ok(Err(format!(
                        "msgid={}: fileinto action: failed to store into mailbox '{name}': {}",
                        self.req.facts.msgid,
                        e.public_message()
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        let mut keep = result.implicit_keep;
        for action in &result.actions {
            match action {
                Action::Keep { flags } => {
                    keep = true;
                    self.keep_flags = flags.clone();
                }
                Action::Discard => self.log(
                    log,
                    "discard action: Marked message to be discarded if not explicitly delivered (discard action)",
                )?,
                other => keep |= self.send(other, sreq, log)?,
            }
        }
        if result.implicit_keep {
            self.keep_flags = result.implicit_keep_flags.clone();
        }
        self.keep_in_effect = keep;
        self.duplicate_marks.extend(result.duplicate_marks.iter().cloned());
        Ok(Ok(()))
    }

    /// Open every fileinto target (creating as allowed) before anything is stored.
    fn start(&self, result: &SieveResult) -> Result<Vec<(Mailbox, Vec<String>)>, ScriptFailure> {
        let mut out = Vec::new();
        for action in &result.actions {
            let Action::FileInto { mailbox, flags, create, .. } = action else { continue };
            if self.stored.iter().any(|m| same_mailbox(m, mailbox)) {
                continue;
            }
            let opts = OpenOptions {
                autocreate: *create || self.req.autocreate,
                autosubscribe: self.req.autosubscribe,
            };
            match self.user.open_mailbox(mailbox, &opts) {
                Ok(mb) => out.push((mb, flags.clone())),
                Err(e) => {
                    return Err(format!(
                        "msgid={}: fileinto action: failed to store into mailbox '{}': {}",
                        self.req.facts.msgid,
                        sanitize(mailbox, 80),
                        e.public_message()
                    ));
                }
            }
        }
        Ok(out)
    }

    fn source(&self) -> MessageSource<'_> {
        match &self.edited {
            Some(bytes) => MessageSource::Bytes(bytes),
            None => self.req.message.source(),
        }
    }

    fn store(
        &mut self,
        mailbox: &Mailbox,
        flags: &[String],
        text: &str,
        log: &mut dyn DeliveryLog,
    ) -> Result<SavedMail, DeliveryError> {
        let opts = SaveOptions { received: Some(SystemTime::now()), ..save_options(flags) };
        let mut notes = SaveNotes::default();
        let result = save_message(
            mailbox,
            self.source(),
            opts,
            self.req.envelope_sender,
            self.req.quota,
            &mut notes,
        );
        for warning in &notes.warnings {
            log.error(warning).map_err(DeliveryError::Log)?;
        }
        for line in &notes.debug {
            log.debug(line).map_err(DeliveryError::Log)?;
        }
        let saved = result?;
        self.stored.push(mailbox.vname().to_string());
        self.outcome.saved.push((mailbox.vname().to_string(), saved.clone()));
        self.log_with_id(log, text, &saved.storage_id)?;
        Ok(saved)
    }

    /// Commit a sending action; returns true when the implicit keep must be done after all: a
    /// suppressed or failed redirect (sieve-behaviour.md §7.4), a reject whose MDN could not be
    /// sent (observed: the script fails and the message is kept).
    fn send(
        &mut self,
        action: &Action,
        sreq: &mut SieveRequest<'_>,
        log: &mut dyn DeliveryLog,
    ) -> Result<bool, DeliveryError> {
        let message = self.view.raw().to_vec();
        // (outcome, keep when skipped, keep when failed)
        let outcome = match action {
            Action::Redirect { address, .. } => {
                (sreq.outgoing.redirect(&message, address), true, true)
            }
            Action::Vacation(vacation) => {
                (sreq.outgoing.vacation(vacation, &self.view), false, false)
            }
            Action::Reject { reason, .. } => {
                self.outcome.rejected = Some(reason.clone());
                if sreq.reject_to_stderr {
                    return Ok(false);
                }
                (sreq.outgoing.reject(reason, &message), false, true)
            }
            Action::Notify(_) => {
                self.log(log, "notify action: notification methods are not supported; not sent")?;
                return Ok(false);
            }
            _ => return Ok(false),
        };
        match outcome {
            (Ok(SendOutcome::Sent(text)), _, _) => self.log(log, &text).map(|()| false),
            (Ok(SendOutcome::Skipped(text)), keep, _) => self.log(log, &text).map(|()| keep),
            (Err(SendFailure { temporary: true, message }), _, _) => {
                Err(DeliveryError::Temporary(message))
            }
            (Err(SendFailure { message, .. }), _, keep) => {
                if matches!(action, Action::Reject { .. }) {
                    self.outcome.rejected = None;
                }
                log.error(&format!("sieve: {message}")).map_err(DeliveryError::Log)?;
                Ok(keep)
            }
        }
    }

    /// Store into the default mailbox (implicit keep, or failure keep after an error).
    pub fn implicit_keep(&mut self, log: &mut dyn DeliveryLog) -> Result<(), DeliveryError> {
        let target = self.req.default_mailbox;
        if self.stored.iter().any(|m| same_mailbox(m, target)) {
            return Ok(());
        }
        let opts =
            OpenOptions { autocreate: self.req.autocreate, autosubscribe: self.req.autosubscribe };
        let mailbox = match self.user.open_mailbox(target, &opts) {
            Ok(mb) => mb,
            Err(e) if e.is_temporary() => return Err(e.into()),
            Err(_) => {
                self.outcome.keep_failed = true;
                return Ok(());
            }
        };
        let flags = self.keep_flags.clone();
        let text = format!("stored mail into mailbox '{}'", sanitize(target, 80));
        match self.store(&mailbox, &flags, &text, log) {
            Ok(_) => Ok(()),
            Err(DeliveryError::Storage(e)) if !e.is_temporary() => {
                self.outcome.keep_failed = true;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Record the ids the `duplicate` test asked to track (best effort, as Pigeonhole).
    pub fn mark_duplicates(&self, dupes: Option<&DuplicateDb>) {
        let Some(db) = dupes else { return };
        for (id, period) in &self.duplicate_marks {
            let key = format!("sieve-duplicate\0{id}");
            let _ = db.mark(key.as_bytes(), Duration::from_secs(*period), SystemTime::now());
        }
    }

    fn log(&self, log: &mut dyn DeliveryLog, text: &str) -> Result<(), DeliveryError> {
        self.log_with_id(log, text, "")
    }

    fn log_with_id(
        &self,
        log: &mut dyn DeliveryLog,
        text: &str,
        storage_id: &str,
    ) -> Result<(), DeliveryError> {
        let event = LogEvent { text, storage_id, started: self.req.started };
        match format_log_line(self.req.log_format, self.req.facts, &event) {
            Some(line) => log.info(&format!("sieve: {line}")).map_err(DeliveryError::Log),
            None => Ok(()),
        }
    }
}

fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// Header fields as editheader left them, a blank line, then the body.
fn rebuild_message(headers: &[sieve::message::HeaderField], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1024);
    for field in headers {
        out.extend_from_slice(field.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&field.value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}
