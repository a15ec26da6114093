//! The [`Outgoing`] that really sends: redirects, vacation replies and reject MDNs built by the
//! `outgoing-mail` crate and submitted through `sendmail_path`, with the duplicate database
//! suppressing repeats (sieve-behaviour.md §7.4–§7.6, bounces.md).

use std::time::{Duration, SystemTime};

use chrono::Local;
use duplicate_db::DuplicateDb;
use outgoing_mail::message_id::{
    MessageIdTime, lda_message_id, rejection_boundary, sieve_message_id,
};
use outgoing_mail::redirect::{self, RedirectEnvelope, RedirectEnvelopeFrom};
use outgoing_mail::rejection::{self, RejectionDecision};
use outgoing_mail::report::RejectionMail;
use outgoing_mail::sendmail::Sendmail;
use outgoing_mail::vacation_reply::{self as vr, VacationContext, VacationReply, VacationSettings};
use sieve::{MessageView, VacationAction};

use super::outgoing::{Outgoing, SendFailure, SendOutcome};

/// How long a forward is remembered (`sieve_redirect_duplicate_period`, default 12 h).
pub const REDIRECT_DUPLICATE_PERIOD: Duration = Duration::from_secs(12 * 3600);

/// Everything sending needs to know about this delivery.
pub struct MailOutgoing<'a> {
    /// The submission program.
    pub sendmail: Sendmail,
    /// The duplicate database, when it could be opened.
    pub dupes: Option<&'a DuplicateDb>,
    /// Envelope sender as Sieve sees it (`None` = null).
    pub sender: Option<String>,
    /// Final recipient.
    pub final_recipient: String,
    /// Original recipient.
    pub original_recipient: Option<String>,
    /// `sieve_user_email`.
    pub user_email: Option<String>,
    /// `postmaster_address` (expanded).
    pub postmaster_address: String,
    /// `hostname` setting.
    pub hostname: String,
    /// `rejection_subject`.
    pub rejection_subject: String,
    /// `rejection_reason`.
    pub rejection_reason: String,
    /// `sieve_vacation_*` settings.
    pub vacation: VacationSettings,
    /// `sieve_redirect_envelope_from`.
    pub redirect_from: RedirectEnvelopeFrom,
    counter: u32,
}

impl<'a> MailOutgoing<'a> {
    /// A sender for one delivery (`counter` numbers the Message-IDs it generates).
    pub fn new(sendmail: Sendmail, final_recipient: String) -> Self {
        Self {
            sendmail,
            dupes: None,
            sender: None,
            final_recipient,
            original_recipient: None,
            user_email: None,
            postmaster_address: String::new(),
            hostname: mail_storage::system_hostname(),
            rejection_subject: outgoing_mail::report::DEFAULT_REJECTION_SUBJECT.into(),
            rejection_reason: outgoing_mail::report::DEFAULT_REJECTION_REASON.into(),
            vacation: VacationSettings::default(),
            redirect_from: RedirectEnvelopeFrom::Sender,
            counter: 0,
        }
    }

    fn next_counter(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    fn seen(&self, key: &[u8]) -> bool {
        self.dupes.is_some_and(|db| db.is_seen(key, SystemTime::now()).unwrap_or(false))
    }

    fn remember(&self, key: &[u8], period: Duration) {
        if let Some(db) = self.dupes {
            let _ = db.mark(key, period, SystemTime::now());
        }
    }

    fn own_addresses(&self) -> Vec<&str> {
        let mut own = vec![self.final_recipient.as_str()];
        own.extend(self.user_email.as_deref());
        own
    }
}

impl Outgoing for MailOutgoing<'_> {
    fn redirect(&mut self, message: &[u8], address: &str) -> Result<SendOutcome, SendFailure> {
        if redirect::is_redirect_loop(message, &self.own_addresses()) {
            return Ok(SendOutcome::Skipped(redirect::log_loop(address)));
        }
        let new_id = sieve_message_id(
            MessageIdTime::now(),
            self.next_counter(),
            &mail_storage::system_hostname(),
        );
        let orig = self.original_recipient.clone().unwrap_or_else(|| self.final_recipient.clone());
        let dup_key = redirect::redirect_duplicate_id(message, &new_id, &orig, address);
        let dup_key = format!("redirect\0{dup_key}");
        if self.seen(dup_key.as_bytes()) {
            return Ok(SendOutcome::Skipped(redirect::log_duplicate(address)));
        }
        let from = self.user_email.clone().unwrap_or_else(|| self.final_recipient.clone());
        let out =
            redirect::redirected_message(message, redirect::PIGEONHOLE_X_SIEVE, &from, &new_id);
        let env = RedirectEnvelope {
            sender: self.sender.as_deref(),
            final_recipient: Some(&self.final_recipient),
            orig_recipient: self.original_recipient.as_deref(),
            user_email: self.user_email.as_deref(),
            postmaster: None,
        };
        let sender = redirect::redirect_envelope_sender(&self.redirect_from, &env);
        self.sendmail.send(sender.as_deref(), &[address.to_string()], &out).map_err(|e| {
            SendFailure {
                temporary: true,
                message: redirect::log_send_failed(address, &e.to_string()),
            }
        })?;
        self.remember(dup_key.as_bytes(), REDIRECT_DUPLICATE_PERIOD);
        Ok(SendOutcome::Sent(redirect::log_forwarded(address)))
    }

    fn vacation(
        &mut self,
        action: &VacationAction,
        message: &MessageView,
    ) -> Result<SendOutcome, SendFailure> {
        let original = message.raw();
        let message_id = sieve_message_id(
            MessageIdTime::now(),
            self.next_counter(),
            &mail_storage::system_hostname(),
        );
        let ctx = VacationContext {
            original,
            sender: self.sender.as_deref(),
            final_recipient: Some(&self.final_recipient),
            original_recipient: self.original_recipient.as_deref(),
            user_email: self.user_email.as_deref(),
            addresses: &action.addresses,
            settings: &self.vacation,
        };
        let sender = self.sender.clone().unwrap_or_default();
        let dup_id = vr::vacation_duplicate_id(&sender, &action.handle);
        let allowed = match vr::check_vacation(&ctx, || self.seen(&dup_id)) {
            Ok(allowed) => allowed,
            Err(no) => return Ok(SendOutcome::Skipped(no.log_text())),
        };
        let reply = VacationReply {
            original,
            x_sieve: redirect::PIGEONHOLE_X_SIEVE,
            message_id: &message_id,
            now: Local::now().fixed_offset(),
            from: &vr::reply_from_header(action.from.as_deref(), &allowed, &self.final_recipient),
            to: &vr::reply_to_header(
                original,
                &allowed.to,
                self.vacation.to_header_ignore_envelope,
            ),
            subject: &vr::reply_subject(action.subject.as_deref(), original, &self.vacation),
            reason: &action.reason,
            mime: action.mime,
        };
        let bytes = vr::build_vacation_reply(&reply);
        let env_from = vr::reply_envelope_sender(&ctx, &allowed);
        // Observed: a failed vacation submission is only logged; the message is still stored.
        self.sendmail
            .send(env_from.as_deref(), std::slice::from_ref(&allowed.to), &bytes)
            .map_err(|e| SendFailure {
                temporary: false,
                message: vr::log_send_failed(&allowed.to, &e.to_string()),
            })?;
        self.remember(&dup_id, Duration::from_secs(action.seconds));
        Ok(SendOutcome::Sent(vr::log_sent(&allowed.to)))
    }

    fn reject(&mut self, reason: &str, message: &[u8]) -> Result<SendOutcome, SendFailure> {
        let decision =
            rejection::decide(message, self.sender.as_deref(), &self.postmaster_address, reason)
                .map_err(|e| SendFailure {
                    temporary: false,
                    message: format!("Invalid postmaster_address: {e}"),
                })?;
        let (return_address, postmaster) = match decision {
            RejectionDecision::Send { return_address, postmaster } => (return_address, postmaster),
            RejectionDecision::NotSent(not_sent) => {
                return Ok(SendOutcome::Skipped(not_sent.log_line()));
            }
        };
        let host = mail_storage::system_hostname();
        let message_id = lda_message_id(MessageIdTime::now(), self.next_counter(), &host);
        let mail = RejectionMail {
            original: message,
            return_address: &return_address,
            postmaster: &postmaster,
            final_recipient: &self.final_recipient,
            reason,
            rejection_subject: &self.rejection_subject,
            rejection_reason: &self.rejection_reason,
            hostname: &self.hostname,
            message_id: &message_id,
            boundary: &rejection_boundary(std::process::id(), &host),
            now: Local::now().fixed_offset(),
        };
        let built = outgoing_mail::mdn::build_mdn(&mail);
        // Observed: a failed MDN makes the script fail; the message is then kept (exit 0).
        self.sendmail.send(None, std::slice::from_ref(&return_address), &built.message).map_err(
            |e| SendFailure {
                temporary: false,
                message: rejection::log_temporarily_failed(
                    &rejection::log_msgid(message),
                    &e.to_string(),
                ),
            },
        )?;
        Ok(SendOutcome::Sent(outgoing_mail::mdn::log_rejected(&return_address)))
    }
}
