//! The Sieve part of a recipient's delivery: find the user's scripts, set up sending, run them,
//! and tell the caller whether the message was handled.
//!
//! Sieve runs only when `mail_plugins` names `sieve` (as with Dovecot, usually in
//! `protocol lda { mail_plugins = $mail_plugins sieve }`).

use dovecot_config::Config;
use duplicate_db::DuplicateDb;
use mail_storage::MailUser;
use outgoing_mail::redirect::RedirectEnvelopeFrom;
use outgoing_mail::vacation_reply::VacationSettings;

use super::{Failure, SieveEnvelope};
use crate::address::parse_path;
use crate::deliver::{DeliveryLog, DeliveryRequest};
use crate::failure::FailureClass;
use crate::log_line::first_header;
use crate::message::IncomingMessage;
use crate::sieve_delivery::{MailOutgoing, SieveRequest};
use crate::user_storage::UserIdentity;

/// The duplicate database file in the user's home.
pub const DUPLICATE_DB_NAME: &str = ".letterbox.dupes";

/// Resolve Sieve's sender (sieve-behaviour.md §1).
pub fn sieve_sender(explicit: Option<Option<String>>, message: &IncomingMessage) -> Option<String> {
    if let Some(given) = explicit {
        return given;
    }
    if let Some(from_line) = message.from_line_sender() {
        return Some(from_line.to_string()).filter(|s| !s.is_empty() && s != "MAILER-DAEMON");
    }
    first_header(message.header(), "return-path")
        .and_then(|v| parse_path(v.trim()).ok().flatten())
        .map(|a| a.to_string())
}

/// Run Sieve when configured. `Ok(true)` when Sieve handled the message (nothing more to do),
/// `Ok(false)` when the LDA must do its own default delivery.
#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename these.
pub fn try_sieve(
    config: &Config,
    identity: &UserIdentity,
    user: &MailUser,
    request: &DeliveryRequest<'_>,
    envelope: &SieveEnvelope,
    reject_to_stderr: bool,
    log: &mut dyn DeliveryLog,
) -> Result<bool, Failure> {
    if !config.settings().mail.mail_plugins.iter().any(|p| p == "sieve") {
        return Ok(false);
    }
    let plugin = config.plugin();
    let sequence = match sieve_scripts::script_sequence(plugin, identity.home.as_deref()) {
        Ok(Some(seq)) if !seq.is_empty() => seq,
        Ok(_) => return Ok(false),
        Err(e) => {
            let _ = log.error(&format!("sieve: Invalid script location: {e}"));
            return Ok(false);
        }
    };
    let dupes = identity.home.as_ref().map(|h| DuplicateDb::new(&h.join(DUPLICATE_DB_NAME)));
    let mut outgoing = outgoing_for(config, identity, envelope, dupes.as_ref())?;
    let lda = &config.settings().lda;
    let mut sreq = SieveRequest {
        sequence: &sequence,
        plugin,
        envelope: sieve::Envelope {
            from: envelope.sender.clone(),
            to: envelope.final_recipient.clone(),
            orig_to: Some(envelope.original_recipient.clone()),
            auth: Some(identity.username.clone()),
        },
        hostname: &identity.hostname,
        delimiter: &lda.recipient_delimiter,
        dupes: dupes.as_ref(),
        outgoing: &mut outgoing,
        reject_to_stderr,
    };
    let outcome = crate::sieve_delivery::deliver_with_sieve(user, request, &mut sreq, log)
        .map_err(|e| Failure::temp(e.to_string()))?;
    if let Some(reason) = outcome.rejected.clone().filter(|_| reject_to_stderr) {
        return Err(Failure {
            class: FailureClass::Rejected,
            message: format!("msgid={}: rejected: {reason}", request.facts.msgid),
            public: Some(reason),
        });
    }
    Ok(outcome.handled())
}

fn outgoing_for<'a>(
    config: &Config,
    identity: &UserIdentity,
    envelope: &SieveEnvelope,
    dupes: Option<&'a DuplicateDb>,
) -> Result<MailOutgoing<'a>, Failure> {
    let lda = &config.settings().lda;
    let plugin = config.plugin();
    let flag = |key: &str| plugin.get(key).is_some_and(|v| v == "yes");
    let sendmail = super::sendmail_from(lda)?;
    let mut out = MailOutgoing::new(sendmail, envelope.final_recipient.clone());
    out.dupes = dupes;
    out.sender = envelope.sender.clone();
    out.original_recipient = Some(envelope.original_recipient.clone());
    out.user_email = plugin.get("sieve_user_email").filter(|v| !v.is_empty()).cloned();
    out.postmaster_address = identity.expand(&lda.postmaster_address);
    out.hostname = identity.hostname.clone();
    out.rejection_subject = lda.rejection_subject.clone();
    out.rejection_reason = lda.rejection_reason.clone();
    out.vacation = VacationSettings {
        use_original_recipient: flag("sieve_vacation_use_original_recipient"),
        dont_check_recipient: flag("sieve_vacation_dont_check_recipient"),
        send_from_recipient: flag("sieve_vacation_send_from_recipient"),
        to_header_ignore_envelope: flag("sieve_vacation_to_header_ignore_envelope"),
        default_subject: plugin.get("sieve_vacation_default_subject").cloned(),
        default_subject_template: plugin.get("sieve_vacation_default_subject_template").cloned(),
        ..VacationSettings::default()
    };
    if let Some(value) = plugin.get("sieve_redirect_envelope_from") {
        out.redirect_from =
            RedirectEnvelopeFrom::parse(value).map_err(|e| Failure::temp(e.to_string()))?;
    }
    Ok(out)
}
