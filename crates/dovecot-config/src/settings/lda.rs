//! Delivery settings (mirrors dovecot/core@2.3.19.1 src/lib-lda/lda-settings.c and
//! src/lib-smtp/smtp-submit-settings.c; defaults from doveconf 2.3.19).

use std::time::Duration;

use super::settings_block;

settings_block! {
    /// Settings used when delivering, rejecting and sending mail.
    LdaSettings {
        /// From: address of bounces; the default uses the user's domain or `hostname`.
        postmaster_address: String = "postmaster@%{if;%d;ne;;%d;%{hostname}}",
        /// Host name for recipients without a domain and in DSNs (empty = system FQDN).
        hostname: String = "",
        /// Sendmail command used when `submission_host` is empty (extra words = arguments).
        sendmail_path: String = "/usr/sbin/sendmail",
        /// `host[:port]` of an SMTP server to send through instead of sendmail.
        submission_host: String = "",
        /// Timeout of sendmail or SMTP submission.
        submission_timeout: Duration = "30 secs",
        /// TLS for submission_host: `no`, `smtps`/`submissions` or `starttls`.
        submission_ssl: String = "no",
        /// Subject of rejection mails (`%s` = original subject).
        rejection_subject: String = "Rejected: %s",
        /// Human-readable text of rejection mails (`%t` recipient, `%r` reason, `%n` newline).
        rejection_reason: String = "Your message to <%t> was automatically rejected:%n%r",
        /// Format of the per-save log line (empty = no line).
        deliver_log_format: String = "msgid=%m: %$",
        /// Subaddress delimiter characters (each one is a delimiter).
        recipient_delimiter: String = "+",
        /// Header to take the original recipient from when `-a` is missing.
        lda_original_recipient_header: String = "",
        /// Over quota: tempfail (75) instead of rejecting.
        quota_full_tempfail: bool = "no",
        /// Create the destination mailbox if it is missing. Seed wins: letterbox defaults to
        /// `yes` (the seed LDA always created it; Dovecot 2.3 defaults to `no`); an explicit
        /// `no` is honoured and then behaves as 2.3.
        lda_mailbox_autocreate: bool = "yes",
        /// Subscribe mailboxes created by the LDA.
        lda_mailbox_autosubscribe: bool = "no",
    }
}
