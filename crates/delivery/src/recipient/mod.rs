//! One recipient's whole delivery, shared by `deliver` and LMTP: Sieve when configured, else
//! the default mailbox with the INBOX fallback, and the quota rejection when over quota.
//!
//! The front ends look the user up, switch privileges and read the message; then they call
//! [`deliver_to_recipient`] and map the [`Failure`] class to an exit status or a reply.

mod rejection;
mod sieve;

use std::path::PathBuf;

use dovecot_config::Config;
use mail_storage::MailUser;
use outgoing_mail::sendmail::Sendmail;

pub use rejection::send_quota_rejection;
pub use sieve::{DUPLICATE_DB_NAME, sieve_sender, try_sieve};

use crate::deliver::{DeliveryLog, DeliveryRequest};
use crate::failure::{Classify, FailureClass};
use crate::save::QuotaContext;
use crate::user_storage::{UserIdentity, default_location};

/// A failure that ends a recipient's delivery, classified.
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure (decides the exit status or reply).
    pub class: FailureClass,
    /// Log text (may name files, users, settings).
    pub message: String,
    /// Text for the sender, stderr with `-e` or an LMTP reply, when it differs from `message`.
    pub public: Option<String>,
}

impl Failure {
    /// A failure of the given class.
    pub fn new(class: FailureClass, message: String) -> Failure {
        Failure { class, message, public: None }
    }

    /// A temporary failure.
    pub fn temp(message: impl Into<String>) -> Failure {
        Failure { class: FailureClass::Temporary, message: message.into(), public: None }
    }
}

/// The envelope as Sieve and rejections see it.
#[derive(Debug, Clone)]
pub struct SieveEnvelope {
    /// `-f`, else the From_ line, else `Return-Path:`; `None` = null sender.
    pub sender: Option<String>,
    /// `-r`, else the original recipient.
    pub final_recipient: String,
    /// The original recipient.
    pub original_recipient: String,
}

/// A recipient ready for delivery.
pub struct Recipient<'a> {
    /// Settings with the userdb fields applied.
    pub config: &'a Config,
    /// Who and where.
    pub identity: &'a UserIdentity,
    /// The opened mail store.
    pub user: &'a MailUser,
    /// The envelope.
    pub envelope: &'a SieveEnvelope,
    /// `-e`: rejections are reported, not mailed.
    pub reject_to_stderr: bool,
}

/// The `sendmail_path` (or `submission_host`) transport of rejection mails, redirects and
/// vacation replies. The child gets an empty environment, as Dovecot's does (observed).
fn sendmail_from(lda: &dovecot_config::LdaSettings) -> Result<Sendmail, Failure> {
    Sendmail::from_settings(
        &lda.sendmail_path,
        &lda.submission_host,
        Vec::new(),
        lda.submission_timeout,
    )
    .map_err(|e| Failure::temp(e.to_string()))
}

/// The quota plugin, when `mail_plugins` names `quota` and a root is configured.
pub fn open_quota(
    config: &Config,
    identity: &UserIdentity,
) -> Result<Option<QuotaContext>, Failure> {
    if !config.settings().mail.mail_plugins.iter().any(|p| p == "quota") {
        return Ok(None);
    }
    let location = default_location(config, identity)
        .map_err(|e| Failure::temp(format!("Namespace initialization failed: {e}")))?;
    let quota = quota::Quota::from_plugin_settings(config.plugin(), location.inbox_dir())
        .map_err(|e| Failure::temp(format!("Failed to initialize quota: {e}")))?;
    let base_dir = PathBuf::from(&config.settings().log.base_dir);
    Ok(quota.map(|quota| QuotaContext { quota, base_dir }))
}

/// Deliver `request` for `rcpt`: Sieve if configured, else the default save chain; an
/// over-quota result becomes a rejection mail (or a `Rejected`/`OverQuota` failure for `-e`,
/// or a temporary failure with `quota_full_tempfail`).
pub fn deliver_to_recipient(
    rcpt: &Recipient<'_>,
    request: &DeliveryRequest<'_>,
    log: &mut dyn DeliveryLog,
) -> Result<(), Failure> {
    let handled = try_sieve(
        rcpt.config,
        rcpt.identity,
        rcpt.user,
        request,
        rcpt.envelope,
        rcpt.reject_to_stderr,
        log,
    )?;
    if handled {
        return Ok(());
    }
    let err = match crate::deliver(rcpt.user, request, log) {
        Ok(_) => return Ok(()),
        Err(err) => err,
    };
    let class = err.failure_class();
    let reason = err.public_reason();
    if class == FailureClass::OverQuota && rcpt.config.settings().lda.quota_full_tempfail {
        return Err(Failure {
            class: FailureClass::Temporary,
            message: err.to_string(),
            public: Some(reason),
        });
    }
    if class == FailureClass::OverQuota && !rcpt.reject_to_stderr {
        let line = send_quota_rejection(
            rcpt.config,
            rcpt.identity,
            request.message,
            rcpt.envelope.sender.as_deref(),
            &rcpt.envelope.final_recipient,
            &reason,
        )?;
        return log.info(&line).map_err(|e| Failure::temp(e.to_string()));
    }
    let message = if class == FailureClass::OverQuota {
        format!("msgid={}: rejected: {reason}", request.facts.msgid)
    } else {
        err.to_string()
    };
    Err(Failure { class, message, public: Some(reason) })
}
