//! What Pigeonhole does to a message it redirects, as pure functions.
//!
//! Observed with Pigeonhole 0.5.19 under dovecot-lda 2.3.19 (`sendmail_path` capture): the
//! submitted message starts with `X-Sieve: <implementation>` and `X-Sieve-Redirected-From:
//! <user email>` (LF line ends), then `Message-ID: <dovecot-sieve-...>` (CRLF) only when the
//! original had none, then the original header fields except every `Return-Path`, with the CR
//! of their line ends removed, the empty line as LF, and the body byte-for-byte. Loop detection
//! compares each `X-Sieve-Redirected-From` value (surrounding blanks ignored) *exactly* with the
//! user's addresses: `SpecUser@…`, `<…>` or `Name <…>` forms do not count (observed).

use crate::header::HeaderBlock;

/// The `X-Sieve` value Pigeonhole 0.5.19 from Debian writes; mails we build carry it so that
/// they are byte-identical to Dovecot's.
pub const PIGEONHOLE_X_SIEVE: &str = "Pigeonhole Sieve 0.5.19 (4eae2f79)";

/// Builds the message handed to sendmail for a `redirect`.
///
/// `redirected_from` is the user email (`sieve_user_email`, else the final recipient);
/// `new_message_id` is used only when the original has no `Message-ID` (see
/// [`crate::message_id::sieve_message_id`]).
pub fn redirected_message(
    original: &[u8],
    x_sieve: &str,
    redirected_from: &str,
    new_message_id: &str,
) -> Vec<u8> {
    let headers = HeaderBlock::parse(original);
    let mut out = Vec::with_capacity(original.len() + 160);
    out.extend_from_slice(format!("X-Sieve: {x_sieve}\n").as_bytes());
    out.extend_from_slice(format!("X-Sieve-Redirected-From: {redirected_from}\n").as_bytes());
    if headers.first("Message-ID").is_none() {
        out.extend_from_slice(format!("Message-ID: {new_message_id}\r\n").as_bytes());
    }
    for field in headers.fields.iter().filter(|f| !f.is("Return-Path")) {
        for (i, &b) in field.raw.iter().enumerate() {
            if !(b == b'\r' && field.raw.get(i + 1) == Some(&b'\n')) {
                out.push(b);
            }
        }
    }
    if !headers.separator.is_empty() {
        out.push(b'\n');
    }
    out.extend_from_slice(&original[headers.body_offset..]);
    out
}

/// Whether the message already went through this user's redirect: some
/// `X-Sieve-Redirected-From` value, blanks trimmed, equals one of `own_addresses` exactly.
pub fn is_redirect_loop(original: &[u8], own_addresses: &[&str]) -> bool {
    let headers = HeaderBlock::parse(original);
    headers.all("X-Sieve-Redirected-From").any(|f| {
        let v = f.unfolded();
        let v = String::from_utf8_lossy(&v);
        let v = v.trim_matches([' ', '\t']);
        own_addresses.contains(&v)
    })
}

/// The id Pigeonhole records in the duplicate database after a redirect (plain text, not a
/// digest; read back from `.dovecot.lda-dupes`):
/// `<msgid>-<original recipient>-<target>-<Resent-Message-ID, else Resent-From>-<List-Id>`.
/// `msgid` is the parsed first Message-ID, or the one generated for the redirected copy when
/// the message has none; header values are raw; absent ones are empty.
pub fn redirect_duplicate_id(
    original: &[u8],
    generated_message_id: &str,
    original_recipient: &str,
    target: &str,
) -> String {
    let headers = HeaderBlock::parse(original);
    let raw =
        |name: &str| headers.first_value(name).map(|v| String::from_utf8_lossy(&v).into_owned());
    let msgid = headers
        .first_value("Message-ID")
        .and_then(|v| crate::header::parse_msg_id(&v))
        .unwrap_or_else(|| generated_message_id.to_owned());
    let resent = raw("Resent-Message-ID").or_else(|| raw("Resent-From")).unwrap_or_default();
    let list_id = raw("List-Id").unwrap_or_default();
    format!("{msgid}-{original_recipient}-{target}-{resent}-{list_id}")
}

/// The `sieve_redirect_envelope_from` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectEnvelopeFrom {
    /// `sender` (default): the original envelope sender.
    Sender,
    /// `recipient`: the final recipient.
    Recipient,
    /// `orig_recipient`: the original recipient.
    OrigRecipient,
    /// `user_email`: `sieve_user_email`, else the final recipient.
    UserEmail,
    /// `postmaster`: `postmaster_address`.
    Postmaster,
    /// `<addr>` or `<>` (`None`).
    Explicit(Option<String>),
}

/// An invalid `sieve_redirect_envelope_from` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sieve_redirect_envelope_from value `{0}'")]
pub struct InvalidEnvelopeFrom(pub String);

impl RedirectEnvelopeFrom {
    /// Parses the setting (trimmed, keywords case-insensitive; an explicit address needs angle
    /// brackets).
    pub fn parse(value: &str) -> Result<Self, InvalidEnvelopeFrom> {
        let v = value.trim();
        let invalid = || InvalidEnvelopeFrom(value.to_owned());
        Ok(match v.to_ascii_lowercase().as_str() {
            "" | "sender" => RedirectEnvelopeFrom::Sender,
            "recipient" => RedirectEnvelopeFrom::Recipient,
            "orig_recipient" => RedirectEnvelopeFrom::OrigRecipient,
            "user_email" => RedirectEnvelopeFrom::UserEmail,
            "postmaster" => RedirectEnvelopeFrom::Postmaster,
            _ => {
                let inner =
                    v.strip_prefix('<').and_then(|s| s.strip_suffix('>')).ok_or_else(invalid)?;
                let inner = inner.trim();
                if inner.is_empty() {
                    RedirectEnvelopeFrom::Explicit(None)
                } else if inner.contains('@') && !inner.contains(['<', '>', ' ']) {
                    RedirectEnvelopeFrom::Explicit(Some(inner.to_owned()))
                } else {
                    return Err(invalid());
                }
            }
        })
    }
}

/// The addresses the envelope sender of a redirect can be taken from.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedirectEnvelope<'a> {
    /// The original envelope sender as Sieve sees it (`None` = null path).
    pub sender: Option<&'a str>,
    /// The final recipient.
    pub final_recipient: Option<&'a str>,
    /// The original recipient (`-a`), if known.
    pub orig_recipient: Option<&'a str>,
    /// `sieve_user_email`, if set.
    pub user_email: Option<&'a str>,
    /// The postmaster address (`postmaster_address`, bare address).
    pub postmaster: Option<&'a str>,
}

/// The envelope sender of a redirect. A null original sender always gives a null sender
/// (RFC 5228 loop protection), whatever the setting.
pub fn redirect_envelope_sender(
    setting: &RedirectEnvelopeFrom,
    env: &RedirectEnvelope<'_>,
) -> Option<String> {
    env.sender?;
    let chosen = match setting {
        RedirectEnvelopeFrom::Sender => env.sender,
        RedirectEnvelopeFrom::Recipient => env.final_recipient,
        RedirectEnvelopeFrom::OrigRecipient => env.orig_recipient.or(env.final_recipient),
        RedirectEnvelopeFrom::UserEmail => env.user_email.or(env.final_recipient),
        RedirectEnvelopeFrom::Postmaster => env.postmaster,
        RedirectEnvelopeFrom::Explicit(addr) => return addr.clone(),
    };
    chosen.map(str::to_owned)
}

/// Log text of a successful redirect: `redirect action: forwarded to <addr>`.
pub fn log_forwarded(target: &str) -> String {
    format!("redirect action: forwarded to <{target}>")
}

/// Log text of a redirect suppressed by the duplicate database.
pub fn log_duplicate(target: &str) -> String {
    format!("redirect action: discarded duplicate forward to <{target}>")
}

/// Log text of a redirect suppressed by loop detection.
pub fn log_loop(target: &str) -> String {
    format!(
        "redirect action: not forwarding message to <{target}>: the `x-sieve-redirected-from' \
         header indicates a mail loop"
    )
}

/// Log text (Error) of a failed redirect submission; a temporary failure aborts the script and
/// the LDA exits 75 with nothing stored (observed).
pub fn log_send_failed(target: &str, send_error: &str) -> String {
    format!(
        "redirect action: failed to redirect message to <{target}>: {send_error} (temporary failure)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_added_return_path_removed_body_kept() {
        let msg = b"Return-Path: <a@x>\r\nReceived: r1\r\nReturn-Path: <b@x>\r\nSubject: s\r\n\r\nbody\r\n";
        let out = redirected_message(msg, PIGEONHOLE_X_SIEVE, "u@h", "<dovecot-sieve-1-2-0@vm>");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "X-Sieve: Pigeonhole Sieve 0.5.19 (4eae2f79)\nX-Sieve-Redirected-From: u@h\n\
             Message-ID: <dovecot-sieve-1-2-0@vm>\r\nReceived: r1\nSubject: s\n\nbody\r\n"
        );
        let with_id = b"Message-ID: <m@x>\n\nb";
        let out = redirected_message(with_id, "X", "u@h", "<new@vm>");
        assert_eq!(out, b"X-Sieve: X\nX-Sieve-Redirected-From: u@h\nMessage-ID: <m@x>\n\nb");
    }

    #[test]
    fn loop_detection_is_exact() {
        let own = ["specuser@example.org"];
        let mk =
            |v: &str| format!("X-Sieve-Redirected-From: o@x\nX-Sieve-Redirected-From: {v}\n\n");
        assert!(is_redirect_loop(mk("specuser@example.org").as_bytes(), &own));
        assert!(is_redirect_loop(mk("specuser@example.org  ").as_bytes(), &own));
        for v in [
            "SpecUser@Example.org",
            "specuser@EXAMPLE.org",
            "<specuser@example.org>",
            "Spec <specuser@example.org>",
            "specuser@example.org (c)",
        ] {
            assert!(!is_redirect_loop(mk(v).as_bytes(), &own), "{v}");
        }
    }

    #[test]
    fn envelope_sender_rules() {
        let env = RedirectEnvelope {
            sender: Some("alice@x"),
            final_recipient: Some("bob@y"),
            orig_recipient: Some("orig@y"),
            user_email: None,
            postmaster: Some("pm@y"),
        };
        let p = |s: &str| RedirectEnvelopeFrom::parse(s).unwrap_or(RedirectEnvelopeFrom::Sender);
        assert_eq!(redirect_envelope_sender(&p("sender"), &env).as_deref(), Some("alice@x"));
        assert_eq!(redirect_envelope_sender(&p(" Recipient "), &env).as_deref(), Some("bob@y"));
        assert_eq!(redirect_envelope_sender(&p("orig_recipient"), &env).as_deref(), Some("orig@y"));
        assert_eq!(redirect_envelope_sender(&p("user_email"), &env).as_deref(), Some("bob@y"));
        assert_eq!(redirect_envelope_sender(&p("postmaster"), &env).as_deref(), Some("pm@y"));
        assert_eq!(redirect_envelope_sender(&p("<f@z>"), &env).as_deref(), Some("f@z"));
        assert_eq!(redirect_envelope_sender(&p("<>"), &env), None);
        let null = RedirectEnvelope { sender: None, ..env };
        assert_eq!(redirect_envelope_sender(&p("<f@z>"), &null), None);
        assert!(RedirectEnvelopeFrom::parse("f@z").is_err());
    }

    #[test]
    fn duplicate_ids_as_read_back_from_the_database() {
        let t = "carol@example.net";
        let m1 = b"Message-ID: <r3@x>\nResent-Message-ID: <rs@x>\nResent-From: Res <rf@x>\nList-Id: Some list <l.x>\n\n";
        assert_eq!(
            redirect_duplicate_id(m1, "<g@vm>", "orig@example.org", t),
            "<r3@x>-orig@example.org-carol@example.net-<rs@x>-Some list <l.x>"
        );
        let m2 = b"Message-ID:  <r4@x> (c)\nResent-From: Res <rf@x>\n\n";
        assert_eq!(
            redirect_duplicate_id(m2, "<g@vm>", "orig@example.org", t),
            "<r4@x>-orig@example.org-carol@example.net-Res <rf@x>-"
        );
        assert_eq!(
            redirect_duplicate_id(b"Subject: s\n\n", "<dovecot-sieve-1-2-0@vm>", "nobody@mx", t),
            "<dovecot-sieve-1-2-0@vm>-nobody@mx-carol@example.net--"
        );
    }

    #[test]
    fn log_texts() {
        assert_eq!(log_forwarded("c@n"), "redirect action: forwarded to <c@n>");
        assert_eq!(log_duplicate("c@n"), "redirect action: discarded duplicate forward to <c@n>");
        assert!(log_loop("c@n").ends_with("header indicates a mail loop"));
        assert_eq!(
            log_send_failed("c@n", "Sendmail program returned error"),
            "redirect action: failed to redirect message to <c@n>: Sendmail program returned error \
             (temporary failure)"
        );
    }
}
