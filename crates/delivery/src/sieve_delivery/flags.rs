//! imap4flags flag lists → Maildir system flags and keywords.

use mail_storage::{MailFlags, SaveOptions};

/// Split Sieve flags (`\Seen`, `$work`, …) into system flags and keywords. System flags are
/// case-insensitive; keywords that are not IMAP atoms are dropped (Pigeonhole warns and skips
/// them), and `\Recent` cannot be set.
pub fn save_options(flags: &[String]) -> SaveOptions {
    let mut out = SaveOptions::default();
    let mut mail_flags = MailFlags::default();
    for flag in flags {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => mail_flags.seen = true,
            "\\answered" => mail_flags.answered = true,
            "\\flagged" => mail_flags.flagged = true,
            "\\deleted" => mail_flags.deleted = true,
            "\\draft" => mail_flags.draft = true,
            _ if is_keyword(flag) && !out.keywords.contains(flag) => {
                out.keywords.push(flag.clone())
            }
            _ => {}
        }
    }
    out.flags = mail_flags;
    out
}

/// An IMAP atom that is not a system flag (RFC 3501 `flag-keyword`).
fn is_keyword(flag: &str) -> bool {
    !flag.is_empty()
        && !flag.starts_with('\\')
        && flag.bytes().all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_flags_and_keywords() {
        let flags: Vec<String> = ["\\SEEN", "\\Flagged", "$work", "bad word", "\\Recent", "$work"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = save_options(&flags);
        assert!(opts.flags.seen && opts.flags.flagged && !opts.flags.answered);
        assert_eq!(opts.keywords, vec!["$work".to_string()]);
    }
}
