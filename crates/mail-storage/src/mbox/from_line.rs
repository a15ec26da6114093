//! The `From ` separator line that starts every message of an mbox (mbox.md §3.2,
//! src/lib-mail/mbox-from.c): `From <envelope sender>  <Www Mmm DD HH:MM:SS YYYY>` in the
//! server's local time zone, with two spaces before the date and the day always two digits.
//!
//! Body lines are *not* escaped: Dovecot 2.3 writes `From ` lines inside bodies unchanged
//! (observed) and relies on `Content-Length`; we do the same, so there is no escaping here.

use std::time::SystemTime;

use chrono::{DateTime, Local};

/// The sender written when the envelope has none (no `-f`, or the null sender `<>`).
pub const DEFAULT_SENDER: &str = "MAILER-DAEMON";

/// The separator line, including its final `\n`.
pub fn from_line(envelope_sender: Option<&str>, received: SystemTime) -> Vec<u8> {
    let date: DateTime<Local> = received.into();
    let sender = sanitize_sender(envelope_sender);
    format!("From {sender}  {}\n", date.format("%a %b %d %H:%M:%S %Y")).into_bytes()
}

/// The sender as it can appear in a From_ line: empty or missing → `MAILER-DAEMON`; a
/// leading `<`/trailing `>` pair removed; whitespace and control characters (which would
/// make the line unparsable or split it) replaced by `_`.
fn sanitize_sender(sender: Option<&str>) -> String {
    let sender = sender.map(str::trim).unwrap_or_default();
    let sender = sender.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(sender);
    if sender.is_empty() {
        return DEFAULT_SENDER.to_owned();
    }
    sender.chars().map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn format_matches_dovecot() {
        let t = Local.with_ymd_and_hms(2026, 11, 5, 16, 15, 3).unwrap();
        let line = from_line(Some("someone@example.com"), t.into());
        assert_eq!(line, b"From someone@example.com  Thu Nov 05 16:15:03 2026\n");
    }

    #[test]
    fn null_and_missing_sender() {
        let t = Local.with_ymd_and_hms(2025, 1, 31, 0, 0, 0).unwrap().into();
        assert!(from_line(None, t).starts_with(b"From MAILER-DAEMON  Fri Jan 31 00:00:00 2025"));
        assert!(from_line(Some(""), t).starts_with(b"From MAILER-DAEMON  "));
        assert!(from_line(Some("<>"), t).starts_with(b"From MAILER-DAEMON  "));
        assert!(from_line(Some("<a@b>"), t).starts_with(b"From a@b  "));
    }

    #[test]
    fn sender_cannot_break_the_line() {
        let t = SystemTime::UNIX_EPOCH;
        let line = from_line(Some("a b\nFrom x@y"), t);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(line.starts_with(b"From a_b_From_x@y  "));
    }
}
