//! LMTP server settings (mirrors dovecot/core@2.3.19.1 src/lmtp/lmtp-settings.c;
//! defaults from doveconf 2.3.19).

use super::settings_block;

settings_block! {
    /// Settings of the LMTP delivery server.
    LmtpSettings {
        /// Deliver `user+detail` to mailbox `detail` instead of INBOX.
        lmtp_save_to_detail_mailbox: bool = "no",
        /// Check quota already at RCPT TO.
        lmtp_rcpt_check_quota: bool = "no",
        /// Parallel deliveries per user (0 = unlimited).
        lmtp_user_concurrency_limit: u32 = "0",
        /// Proxy to other backends (passdb `proxy` field).
        lmtp_proxy: bool = "no",
        /// Delivered-To address: `final`, `original` or `none`.
        lmtp_hdr_delivery_address: String = "final",
        /// Add a Received: header.
        lmtp_add_received_header: bool = "yes",
        /// Detailed error text in replies.
        lmtp_verbose_replies: bool = "no",
        /// Client bug workarounds.
        lmtp_client_workarounds: Vec<String> = "",
    }
}
