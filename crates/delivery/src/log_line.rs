//! The delivery log line: `deliver_log_format` (default `msgid=%m: %$`) and its variables.
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/mail-deliver.c` (the `mail_deliver_log` variable
//! table) as lda-cli.md §8.1 describes it: one Info line per save attempt and per rejection.

use std::time::Instant;

use mail_parser::MessageParser;

/// What the log line variables are computed from, gathered once per message.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    /// First Message-ID header, sanitised (max 200 chars), or `unspecified`.
    pub msgid: String,
    /// First Subject, RFC 2047-decoded and sanitised (max 80 chars).
    pub subject: String,
    /// `local@domain` of the first From: address, empty when unparsable.
    pub from: String,
    /// Envelope sender as logged (max 80 chars).
    pub from_envelope: String,
    /// Original recipient (`%{to_envelope}`).
    pub to_envelope: String,
    /// Physical size.
    pub size: u64,
    /// Virtual size.
    pub vsize: u64,
}

impl MessageFacts {
    /// Gather the facts from the header block of the stored message.
    pub fn from_header(header: &[u8], size: u64, vsize: u64) -> Self {
        let msgid = first_header(header, "message-id")
            .map(|v| sanitize(v.trim(), 200))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unspecified".to_string());
        let parsed = MessageParser::default().parse_headers(header);
        let subject =
            parsed.as_ref().and_then(|m| m.subject()).map(|s| sanitize(s, 80)).unwrap_or_default();
        let from = parsed
            .as_ref()
            .and_then(|m| m.from())
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .filter(|a| a.contains('@'))
            .map(|a| sanitize(a, 256))
            .unwrap_or_default();
        Self { msgid, subject, from, size, vsize, ..Self::default() }
    }
}

/// Per-event values added to the message facts.
#[derive(Debug, Clone, Copy)]
pub struct LogEvent<'a> {
    /// The event text (`%$`): `saved mail to INBOX`, `save failed to X: ERR`, ...
    pub text: &'a str,
    /// Storage id of the saved mail (`%{storage_id}`), when there is one.
    pub storage_id: &'a str,
    /// When the delivery started (`%{delivery_time}` in milliseconds).
    pub started: Instant,
}

/// Expand `deliver_log_format`. An empty format yields `None` (the line is disabled).
pub fn format_log_line(format: &str, facts: &MessageFacts, event: &LogEvent<'_>) -> Option<String> {
    if format.is_empty() {
        return None;
    }
    let lookup = |name: &str| -> Option<String> {
        Some(match name {
            "$" => event.text.to_string(),
            "m" | "msgid" => facts.msgid.clone(),
            "s" | "subject" => facts.subject.clone(),
            "f" | "from" => facts.from.clone(),
            "e" | "from_envelope" => facts.from_envelope.clone(),
            "p" | "size" => facts.size.to_string(),
            "w" | "vsize" => facts.vsize.to_string(),
            "delivery_time" => event.started.elapsed().as_millis().to_string(),
            "session_time" => "0".to_string(),
            "to_envelope" => facts.to_envelope.clone(),
            "storage_id" => event.storage_id.to_string(),
            _ => return None,
        })
    };
    Some(dovecot_config::var_expand::expand_with(format, &lookup))
}

/// Dovecot's `str_sanitize`: control characters become `?`, text longer than `max` characters is
/// cut and ends in `...`.
pub fn sanitize(text: &str, max: usize) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

/// Raw, unfolded value of the first header named `name` (case-insensitive).
pub fn first_header<'a>(header: &'a [u8], name: &str) -> Option<String> {
    let mut lines = header.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            return None;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if !line[..colon].trim_ascii_end().eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        let mut value = String::from_utf8_lossy(&line[colon + 1..]).into_owned();
        while let Some(next) = lines.peek() {
            if !next.starts_with(b" ") && !next.starts_with(b"\t") {
                break;
            }
            value.push_str(&String::from_utf8_lossy(next));
            lines.next();
        }
        let _: &'a [u8] = header;
        return Some(value.trim().to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"From: Alice <alice@example.com>\nSubject: =?UTF-8?Q?h=C3=A9llo?=\nMessage-ID:\n <m1@example.com>\n\n";

    #[test]
    fn facts_come_from_the_header() {
        let facts = MessageFacts::from_header(HEADER, 10, 12);
        assert_eq!(facts.msgid, "<m1@example.com>");
        assert_eq!(facts.subject, "héllo");
        assert_eq!(facts.from, "alice@example.com");
    }

    #[test]
    fn missing_message_id_is_unspecified() {
        assert_eq!(MessageFacts::from_header(b"Subject: x\n\n", 0, 0).msgid, "unspecified");
        assert_eq!(MessageFacts::from_header(b"", 0, 0).msgid, "unspecified");
    }

    #[test]
    fn default_format_and_custom_variables() {
        let facts = MessageFacts::from_header(HEADER, 177, 185);
        let event = LogEvent {
            text: "saved mail to INBOX",
            storage_id: "1.M2P3.h,S=177,W=185",
            started: Instant::now(),
        };
        assert_eq!(
            format_log_line("msgid=%m: %$", &facts, &event).as_deref(),
            Some("msgid=<m1@example.com>: saved mail to INBOX")
        );
        assert_eq!(
            format_log_line("%p/%w %{storage_id} %%", &facts, &event).as_deref(),
            Some("177/185 1.M2P3.h,S=177,W=185 %")
        );
        assert_eq!(format_log_line("", &facts, &event), None);
    }

    #[test]
    fn sanitize_replaces_controls_and_truncates() {
        assert_eq!(sanitize("a\tb", 10), "a?b");
        assert_eq!(sanitize("abcdefghij", 6), "abc...");
    }
}
