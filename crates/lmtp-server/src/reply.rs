//! LMTP replies, and THE mapping from a delivery's outcome to the reply a recipient gets.
//!
//! The per-recipient texts mirror dovecot/core@2.3.19.1 `src/lmtp/lmtp-local.c` as observed
//! against Debian's dovecot-lmtpd 2.3.19.1: `250 2.0.0 <rcpt> <id> Saved`,
//! `550 5.1.1 <rcpt> User doesn't exist: <user>`, `451 4.3.0 <rcpt> Temporary user lookup
//! failure`, `451 4.2.0 <rcpt> <storage error>` and the quota/rejection codes of design.md §6.2.
//! [`failure_reply`] and [`exit_status_reply`] are the only places a class or an exit status
//! becomes a code (house rule 2).

use delivery::FailureClass;

/// One SMTP/LMTP reply: a code and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Three-digit reply code.
    pub code: u16,
    /// Text lines (with the enhanced status code already in front where there is one).
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: String) -> Reply {
        Reply { code, lines: vec![text] }
    }

    /// A one-line reply with an enhanced status code (RFC 3463).
    pub fn enhanced(code: u16, enhanced: &str, text: String) -> Reply {
        Reply::new(code, format!("{enhanced} {text}"))
    }

    /// A multi-line reply (LHLO's extension list).
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Append the wire form (`CODE-line` … `CODE line`, CRLF ends) to `out`. CR and LF inside a
    /// text are replaced by spaces so a reply can never break the protocol.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        if self.lines.is_empty() {
            out.extend_from_slice(format!("{}\r\n", self.code).as_bytes());
        }
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            let clean: String =
                line.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
            out.extend_from_slice(format!("{}{sep}{clean}\r\n", self.code).as_bytes());
        }
    }

    /// The wire form as a string (tests, logs).
    pub fn to_wire(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// `250 2.1.5 OK` for an accepted recipient.
pub fn rcpt_ok() -> Reply {
    Reply::enhanced(250, "2.1.5", "OK".into())
}

/// `250 2.0.0 <rcpt> <id> Saved`.
pub fn saved_reply(rcpt: &str, id: &str) -> Reply {
    Reply::enhanced(250, "2.0.0", format!("<{rcpt}> {id} Saved"))
}

/// `550 5.1.1 <rcpt> User doesn't exist: <user>` (at RCPT time).
pub fn unknown_user_reply(rcpt: &str, username: &str) -> Reply {
    Reply::enhanced(550, "5.1.1", format!("<{rcpt}> User doesn't exist: {username}"))
}

/// `451 4.3.0 <rcpt> Temporary user lookup failure` (the userdb failed, at RCPT time).
pub fn lookup_failure_reply(rcpt: &str) -> Reply {
    Reply::enhanced(451, "4.3.0", format!("<{rcpt}> Temporary user lookup failure"))
}

/// `451 4.3.0 <rcpt> Temporary internal error` (a bug, a bad setting, a uid we can't serve).
pub fn internal_error_reply(rcpt: &str) -> Reply {
    Reply::enhanced(451, "4.3.0", format!("<{rcpt}> Temporary internal error"))
}

/// The reply for a delivery that stored nothing. `public` is the failure's public reason (no
/// paths or uids); `quota_full_tempfail` turns over-quota into a temporary failure.
pub fn failure_reply(
    rcpt: &str,
    username: &str,
    class: FailureClass,
    public: &str,
    quota_full_tempfail: bool,
) -> Reply {
    let with =
        |code, enhanced, text: &str| Reply::enhanced(code, enhanced, format!("<{rcpt}> {text}"));
    match class {
        FailureClass::UnknownUser => unknown_user_reply(rcpt, username),
        FailureClass::OverQuota if quota_full_tempfail => with(452, "4.2.2", public),
        FailureClass::OverQuota => with(552, "5.2.2", public),
        FailureClass::Rejected => with(552, "5.2.0", public),
        FailureClass::Temporary => with(451, "4.2.0", public),
        FailureClass::Usage | FailureClass::Internal => internal_error_reply(rcpt),
    }
}

/// The reply for a `letterbox deliver` child's exit status (root without `mail_uid`): 0 saved,
/// 67 unknown user, 77 rejected (`-e`), anything else (75, signals, odd codes) temporary.
pub fn exit_status_reply(rcpt: &str, username: &str, status: Option<i32>, id: &str) -> Reply {
    match status {
        Some(0) => saved_reply(rcpt, id),
        Some(67) => unknown_user_reply(rcpt, username),
        Some(77) => Reply::enhanced(552, "5.2.0", format!("<{rcpt}> Message rejected")),
        _ => internal_error_reply(rcpt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(Reply::enhanced(250, "2.0.0", "OK".into()).to_wire(), "250 2.0.0 OK\r\n");
        let multi = Reply::multi(250, vec!["host".into(), "PIPELINING".into()]);
        assert_eq!(multi.to_wire(), "250-host\r\n250 PIPELINING\r\n");
        assert_eq!(Reply::new(451, "a\r\nb".into()).to_wire(), "451 a  b\r\n");
    }

    #[test]
    fn failure_table() {
        use FailureClass::*;
        let cases = [
            (UnknownUser, false, "550 5.1.1 <r@x> User doesn't exist: u"),
            (OverQuota, false, "552 5.2.2 <r@x> why"),
            (OverQuota, true, "452 4.2.2 <r@x> why"),
            (Rejected, false, "552 5.2.0 <r@x> why"),
            (Temporary, false, "451 4.2.0 <r@x> why"),
            (Temporary, true, "451 4.2.0 <r@x> why"),
            (Internal, false, "451 4.3.0 <r@x> Temporary internal error"),
            (Usage, false, "451 4.3.0 <r@x> Temporary internal error"),
        ];
        for (class, tempfail, expected) in cases {
            let got = failure_reply("r@x", "u", class, "why", tempfail).to_wire();
            assert_eq!(got, format!("{expected}\r\n"), "{class:?} tempfail={tempfail}");
        }
    }

    #[test]
    fn exit_status_table() {
        let cases = [
            (Some(0), 250),
            (Some(67), 550),
            (Some(77), 552),
            (Some(75), 451),
            (Some(64), 451),
            (Some(1), 451),
            (None, 451),
        ];
        for (status, code) in cases {
            assert_eq!(exit_status_reply("r", "u", status, "id").code, code, "{status:?}");
        }
        assert!(exit_status_reply("r", "u", Some(0), "S1").to_wire().contains("<r> S1 Saved"));
    }
}
