//! The `multipart/report` layout shared by the LDA's rejection mails (bounces.md §3).
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/mail-send.c`; byte-for-byte equal to mails
//! captured from Dovecot 2.3.19 (see `testdata/golden/`): CRLF everywhere the LDA writes,
//! except the quoted original header fields, which keep their bytes with the CR of each line
//! ending removed and every `Content-Type` field dropped; the original body is never included.

use chrono::{DateTime, FixedOffset};

use crate::address::Mailbox;
use crate::encode::{rfc5322_date, str_sanitize};
use crate::header::HeaderBlock;
use crate::rejection::{TemplateVars, expand_template};

/// Everything a rejection mail is built from. All volatile values are passed in, so the output
/// is deterministic.
#[derive(Debug, Clone)]
pub struct RejectionMail<'a> {
    /// The rejected message, as received.
    pub original: &'a [u8],
    /// Recipient of the rejection (from [`crate::rejection::decide`]).
    pub return_address: &'a str,
    /// Parsed `postmaster_address` (from [`crate::rejection::decide`]).
    pub postmaster: &'a Mailbox,
    /// The final recipient (`%t`, `Final-Recipient`).
    pub final_recipient: &'a str,
    /// The rejection reason (`%r`): the Sieve reject text or `quota_exceeded_message`.
    pub reason: &'a str,
    /// The `rejection_subject` setting (default `Rejected: %s`).
    pub rejection_subject: &'a str,
    /// The `rejection_reason` setting (default `Your message to <%t> was automatically
    /// rejected:%n%r`).
    pub rejection_reason: &'a str,
    /// The `hostname` setting (`Reporting-UA` / `Reporting-MTA`).
    pub hostname: &'a str,
    /// The full `Message-ID` value, see [`crate::message_id::lda_message_id`].
    pub message_id: &'a str,
    /// The MIME boundary, see [`crate::message_id::rejection_boundary`].
    pub boundary: &'a str,
    /// Current time in the server's local zone.
    pub now: DateTime<FixedOffset>,
}

/// Default of the `rejection_subject` setting.
pub const DEFAULT_REJECTION_SUBJECT: &str = "Rejected: %s";
/// Default of the `rejection_reason` setting.
pub const DEFAULT_REJECTION_REASON: &str = "Your message to <%t> was automatically rejected:%n%r";

/// A composed rejection mail plus the errors Dovecot would log while composing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltRejection {
    /// The complete message to submit (null sender, to the return address).
    pub message: Vec<u8>,
    /// Error log lines, e.g. `Failed to expand rejection_subject=%x: Unknown variable '%x'`.
    pub errors: Vec<String>,
}

/// Which report a rejection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportType {
    /// `delivery-status` (quota, LDA rejections).
    DeliveryStatus,
    /// `disposition-notification` (Sieve reject).
    DispositionNotification,
}

impl ReportType {
    fn name(self) -> &'static str {
        match self {
            ReportType::DeliveryStatus => "delivery-status",
            ReportType::DispositionNotification => "disposition-notification",
        }
    }
}

/// Builds the whole rejection mail around `report_fields` (the report part's lines, without
/// line endings).
pub(crate) fn build(
    mail: &RejectionMail<'_>,
    kind: ReportType,
    report_fields: &[String],
) -> BuiltRejection {
    let headers = HeaderBlock::parse(mail.original);
    let subject = headers.first_value("Subject").map(|s| str_sanitize(&s, 80)).unwrap_or_default();
    let vars = TemplateVars { subject: &subject, to: mail.final_recipient, reason: mail.reason };
    let mut errors = Vec::new();
    let mut expand = |setting: &str, template: &str| {
        let e = expand_template(template, &vars);
        if let Some(name) = e.unknown_variable {
            errors
                .push(format!("Failed to expand {setting}={template}: Unknown variable '%{name}'"));
        }
        e.text
    };
    let subject_line = expand("rejection_subject", mail.rejection_subject);
    let reason_text = expand("rejection_reason", mail.rejection_reason);
    let b = mail.boundary;
    let mut out = String::with_capacity(1024 + mail.original.len().min(65536));
    out.push_str(&format!("Message-ID: {}\r\n", mail.message_id));
    out.push_str(&format!("Date: {}\r\n", rfc5322_date(&mail.now)));
    out.push_str(&format!("From: {}\r\n", mail.postmaster.to_header_value()));
    out.push_str(&format!("To: <{}>\r\n", mail.return_address));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str(&format!("Content-Type: multipart/report; report-type={};\r\n", kind.name()));
    out.push_str(&format!("\tboundary=\"{b}\"\r\n"));
    out.push_str(&format!("Subject: {subject_line}\r\n"));
    out.push_str("Auto-Submitted: auto-replied (rejected)\r\nPrecedence: bulk\r\n\r\n");
    out.push_str("This is a MIME-encapsulated message\r\n\r\n");
    out.push_str(&format!("--{b}\r\n"));
    out.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\n");
    out.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    out.push_str(&format!("{reason_text}\r\n"));
    out.push_str(&format!("--{b}\r\nContent-Type: message/{}\r\n\r\n", kind.name()));
    for field in report_fields {
        out.push_str(field);
        out.push_str("\r\n");
    }
    out.push_str(&format!("\r\n--{b}\r\nContent-Type: message/rfc822\r\n\r\n"));
    let mut message = out.into_bytes();
    message.extend_from_slice(&quoted_header(&headers));
    message.extend_from_slice(format!("\r\n\r\n--{b}--\r\n").as_bytes());
    BuiltRejection { message, errors }
}

/// The original header without `Content-Type` fields, CR of line endings removed, followed by
/// the original's empty separator line (LF) when it had one.
fn quoted_header(headers: &HeaderBlock<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for field in headers.fields.iter().filter(|f| !f.is("Content-Type")) {
        let raw = field.raw;
        for (i, &byte) in raw.iter().enumerate() {
            if byte == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                continue;
            }
            out.push(byte);
        }
    }
    if !headers.separator.is_empty() {
        out.push(b'\n');
    }
    out
}

/// The original's first header value named `name`, as Dovecot writes it into a report field:
/// raw, folds kept (with LF only).
pub(crate) fn raw_header_text(original: &[u8], name: &str) -> Option<String> {
    HeaderBlock::parse(original).first_value(name).map(|v| String::from_utf8_lossy(&v).into_owned())
}
