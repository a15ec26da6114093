//! The quota rejection DSN the LDA sends (`report-type=delivery-status`, `Status: 5.2.2`).
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/mail-send.c` (bounces.md §3.2): in 2.3 every
//! LDA rejection is treated as "mailbox full", so the status is always 5.2.2.

use crate::report::{BuiltRejection, RejectionMail, ReportType, build, raw_header_text};

/// The status of an LDA rejection (mailbox full).
pub const QUOTA_STATUS: &str = "5.2.2";

/// The lines of the `message/delivery-status` part.
pub fn delivery_status_fields(mail: &RejectionMail<'_>) -> Vec<String> {
    let mut fields = vec![format!("Reporting-MTA: dns; {}", mail.hostname)];
    if let Some(orig) = raw_header_text(mail.original, "Original-Recipient") {
        fields.push(format!("Original-Recipient: rfc822; {orig}"));
    }
    fields.push(format!("Final-Recipient: rfc822; {}", mail.final_recipient));
    fields.push("Action: failed".to_owned());
    fields.push(format!("Status: {QUOTA_STATUS}"));
    fields
}

/// Builds the complete DSN for a quota rejection (`reason` = expanded `quota_exceeded_message`).
pub fn build_dsn(mail: &RejectionMail<'_>) -> BuiltRejection {
    build(mail, ReportType::DeliveryStatus, &delivery_status_fields(mail))
}
