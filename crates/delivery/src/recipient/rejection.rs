//! The rejection mail for an over-quota message (bounces.md): a delivery-status report sent
//! with a null sender through `sendmail_path`, as dovecot-lda's `mail_send_rejection()` does.
//! Sieve's reject MDN is sent by the Sieve executor; this is the LDA's own quota path.

use chrono::Local;
use dovecot_config::Config;
use outgoing_mail::message_id::{MessageIdTime, lda_message_id, rejection_boundary};
use outgoing_mail::rejection::{self, RejectionDecision};
use outgoing_mail::report::RejectionMail;

use super::Failure;
use crate::message::IncomingMessage;
use crate::user_storage::UserIdentity;

/// Send (or deliberately not send) the quota rejection. `Ok(line)` is the log line to write;
/// an error is a temporary failure (exit 75), as in Dovecot.
pub fn send_quota_rejection(
    config: &Config,
    identity: &UserIdentity,
    message: &IncomingMessage,
    envelope_sender: Option<&str>,
    final_recipient: &str,
    reason: &str,
) -> Result<String, Failure> {
    let bytes = message.bytes().map_err(|e| Failure::temp(e.to_string()))?;
    let lda = &config.settings().lda;
    let postmaster = identity.expand(&lda.postmaster_address);
    let decision =
        rejection::decide(&bytes, envelope_sender, &postmaster, reason).map_err(|e| {
            Failure::temp(rejection::log_invalid_postmaster(&rejection::log_msgid(&bytes), &e))
        })?;
    let (return_address, postmaster) = match decision {
        RejectionDecision::Send { return_address, postmaster } => (return_address, postmaster),
        RejectionDecision::NotSent(not_sent) => return Ok(not_sent.log_line()),
    };
    let host = mail_storage::system_hostname();
    let message_id = lda_message_id(MessageIdTime::now(), 1, &host);
    let boundary = rejection_boundary(std::process::id(), &host);
    let mail = RejectionMail {
        original: &bytes,
        return_address: &return_address,
        postmaster: &postmaster,
        final_recipient,
        reason,
        rejection_subject: &lda.rejection_subject,
        rejection_reason: &lda.rejection_reason,
        hostname: &identity.hostname,
        message_id: &message_id,
        boundary: &boundary,
        now: Local::now().fixed_offset(),
    };
    let built = outgoing_mail::dsn::build_dsn(&mail);
    let sendmail = super::sendmail_from(lda)?;
    sendmail.send(None, std::slice::from_ref(&return_address), &built.message).map_err(|e| {
        Failure::temp(rejection::log_temporarily_failed(
            &rejection::log_msgid(&bytes),
            &e.to_string(),
        ))
    })?;
    Ok(format!("msgid={}: rejected: {reason}", rejection::log_msgid(&bytes)))
}
