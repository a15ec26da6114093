//! Message-IDs and MIME boundaries of the mails Dovecot and Pigeonhole compose.
//!
//! Observed with Dovecot 2.3.19 / Pigeonhole 0.5.19: the LDA's rejection mails use
//! `<dovecot-SEC-USEC-N@HOST>`, Sieve's vacation replies and redirects
//! `<dovecot-sieve-SEC-USEC-N@HOST>`, where SEC/USEC are the current time, N a per-process counter starting at 0 and HOST the
//! *system* host name (not the `hostname` setting). The rejection boundary is `<pid>/<hostname
//! setting>`. Callers pass these values in so the builders stay deterministic.

/// Current time split as Dovecot's Message-IDs use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIdTime {
    /// Seconds since the Unix epoch.
    pub secs: u64,
    /// Microseconds within the second.
    pub usecs: u32,
}

impl MessageIdTime {
    /// The current system time.
    pub fn now() -> Self {
        let d =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        MessageIdTime { secs: d.as_secs(), usecs: d.subsec_micros() }
    }
}

/// `<dovecot-SEC-USEC-N@HOST>`, the Message-ID of an LDA rejection mail.
pub fn lda_message_id(time: MessageIdTime, counter: u32, host: &str) -> String {
    format!("<dovecot-{}-{}-{}@{}>", time.secs, time.usecs, counter, host)
}

/// `<dovecot-sieve-SEC-USEC-N@HOST>`, the Message-ID of a vacation reply or of a redirected
/// message that had none.
pub fn sieve_message_id(time: MessageIdTime, counter: u32, host: &str) -> String {
    format!("<dovecot-sieve-{}-{}-{}@{}>", time.secs, time.usecs, counter, host)
}

/// `<pid>/<hostname>`, the MIME boundary of an LDA rejection mail.
pub fn rejection_boundary(pid: u32, hostname: &str) -> String {
    format!("{pid}/{hostname}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_observed_ids() {
        let t = MessageIdTime { secs: 1795623408, usecs: 357072 };
        assert_eq!(lda_message_id(t, 0, "vm"), "<dovecot-1795623408-357072-0@vm>");
        assert_eq!(sieve_message_id(t, 2, "vm"), "<dovecot-sieve-1795623408-357072-2@vm>");
        assert_eq!(rejection_boundary(6255, "mx.example.org"), "6255/mx.example.org");
        assert!(MessageIdTime::now().usecs < 1_000_000);
    }
}
