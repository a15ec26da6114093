//! The Sieve `reject` MDN as the LDA sends it (`report-type=disposition-notification`).
//!
//! Under dovecot-lda, Pigeonhole hands `reject` to the LDA's own rejection code
//! (dovecot/core@2.3.19.1 `src/lib-lda/mail-send.c`), so the MDN has the same layout as the
//! quota DSN with a `message/disposition-notification` part (bounces.md §3.2).

use crate::report::{BuiltRejection, RejectionMail, ReportType, build, raw_header_text};

/// The product named in `Reporting-UA` after the host name.
pub const REPORTING_UA_PRODUCT: &str = "Dovecot Mail Delivery Agent";

/// The lines of the `message/disposition-notification` part.
pub fn disposition_fields(mail: &RejectionMail<'_>) -> Vec<String> {
    let mut fields = vec![format!("Reporting-UA: {}; {REPORTING_UA_PRODUCT}", mail.hostname)];
    if let Some(orig) = raw_header_text(mail.original, "Original-Recipient") {
        fields.push(format!("Original-Recipient: rfc822; {orig}"));
    }
    fields.push(format!("Final-Recipient: rfc822; {}", mail.final_recipient));
    if let Some(msgid) = raw_header_text(mail.original, "Message-ID") {
        fields.push(format!("Original-Message-ID: {msgid}"));
    }
    fields.push("Disposition: automatic-action/MDN-sent-automatically; deleted".to_owned());
    fields
}

/// Builds the complete MDN for a Sieve `reject`.
pub fn build_mdn(mail: &RejectionMail<'_>) -> BuiltRejection {
    build(mail, ReportType::DispositionNotification, &disposition_fields(mail))
}

/// Pigeonhole's log text for an executed `reject` (after `sieve: msgid=<id>: `).
pub fn log_rejected(sender: &str) -> String {
    format!("reject action: rejected message from <{sender}> (reject)")
}

/// Pigeonhole's log text when the sender is null and no MDN is sent.
pub const LOG_NOT_SENDING_TO_NULL: &str = "reject action: not sending reject message to <>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_texts() {
        assert_eq!(
            log_rejected("erin@example.com"),
            "reject action: rejected message from <erin@example.com> (reject)"
        );
        assert!(LOG_NOT_SENDING_TO_NULL.ends_with("to <>"));
    }
}
