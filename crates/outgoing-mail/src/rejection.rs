//! Whether a rejection mail (quota DSN or Sieve reject MDN) is sent, and the expansion of
//! `rejection_subject` / `rejection_reason`.
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lib-lda/mail-send.c` (`mail_send_rejection()`), as
//! observed with Dovecot 2.3.19: an `Auto-Submitted` header whose raw value is not exactly `no`
//! (case-insensitive; `no; x` and `no ` with a trailing blank suppress too) → nothing sent; the
//! return address is the envelope sender, else the first `Return-Path` header; nothing usable →
//! nothing sent; `postmaster_address` must be exactly one address with a domain.

use crate::address::{Mailbox, parse_address_list, parse_path};
use crate::encode::str_sanitize;
use crate::header::HeaderBlock;

/// Why a rejection mail was deliberately not sent; the caller logs [`NotSent::log_line`] at
/// Info level and treats the rejection as done (exit 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// The original carries `Auto-Submitted` with a value other than `no`.
    AutoSubmitted {
        /// Sanitised first Message-ID of the original (empty when absent).
        msgid: String,
        /// The rejection reason.
        reason: String,
    },
    /// Null envelope sender and no usable `Return-Path` header.
    ReturnPathMissing {
        /// Sanitised first Message-ID of the original (empty when absent).
        msgid: String,
        /// The rejection reason.
        reason: String,
        /// A `Return-Path` header existed but was not a valid path: Dovecot logs the Warning
        /// [`RETURN_PATH_WARNING`] first (see [`NotSent::warning`]).
        unparsable_header: bool,
    },
}

impl NotSent {
    /// The Warning Dovecot logs before [`NotSent::log_line`], if any.
    pub fn warning(&self) -> Option<&'static str> {
        match self {
            NotSent::ReturnPathMissing { unparsable_header: true, .. } => Some(RETURN_PATH_WARNING),
            _ => None,
        }
    }

    /// The exact Dovecot log text, e.g. `msgid=<a@b>: Auto-submitted message discarded: Go
    /// away` (an absent Message-ID gives `msgid=: ...`, observed).
    pub fn log_line(&self) -> String {
        match self {
            NotSent::AutoSubmitted { msgid, reason } => {
                format!("msgid={msgid}: Auto-submitted message discarded: {reason}")
            }
            NotSent::ReturnPathMissing { msgid, reason, .. } => {
                format!("msgid={msgid}: Return-Path missing, rejection reason: {reason}")
            }
        }
    }
}

/// Log line (Error) when the rejection mail could not be submitted; `send_error` is
/// [`crate::SendError::dovecot_reason`]. Observed outcome: a quota rejection then exits 75; for
/// a Sieve `reject` the script fails and the message is kept in INBOX (exit 0).
pub fn log_temporarily_failed(msgid: &str, send_error: &str) -> String {
    format!("msgid={msgid}: Temporarily failed to send rejection: {send_error}")
}

/// Log line (Error) for [`RejectionError::InvalidPostmaster`] on the LDA (quota) path, which
/// then exits 75. (Under Sieve the same setting error makes script initialisation fail instead:
/// `sieve: Failed to initialize script execution: Invalid postmaster_address: <text>`, and the
/// message is kept in INBOX — observed.)
pub fn log_invalid_postmaster(msgid: &str, error: &RejectionError) -> String {
    format!("msgid={msgid}: Invalid postmaster_address - can't send rejection: {error}")
}

/// What to do with a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectionDecision {
    /// Build the report and submit it with a null sender to `return_address`.
    Send {
        /// The recipient of the rejection mail (`To:` and envelope recipient).
        return_address: String,
        /// The parsed postmaster address for `From:`.
        postmaster: Mailbox,
    },
    /// Nothing is sent.
    NotSent(NotSent),
}

/// A rejection that cannot be handled; the delivery must tempfail (exit 75).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectionError {
    /// `postmaster_address` is not exactly one address with a domain. Dovecot's log line is
    /// `msgid=<id>: Invalid postmaster_address - can't send rejection: <this text>`.
    #[error("{0}")]
    InvalidPostmaster(String),
}

/// Parses `postmaster_address` as Dovecot does: exactly one mailbox with a domain. A missing
/// display name becomes `Postmaster` (observed).
pub fn parse_postmaster_address(value: &str) -> Result<Mailbox, RejectionError> {
    let invalid = || {
        RejectionError::InvalidPostmaster(format!(
            "invalid address `{value}' specified for the postmaster_address setting"
        ))
    };
    let list = parse_address_list(value).map_err(|_| invalid())?;
    match list.as_slice() {
        [] => Err(invalid()),
        [one] if one.domain.is_empty() => Err(invalid()),
        [one] => {
            let mut m = one.clone();
            if m.name.as_deref().is_none_or(str::is_empty) {
                m.name = Some("Postmaster".to_owned());
            }
            Ok(m)
        }
        _ => Err(RejectionError::InvalidPostmaster(
            "more than one address specified for the postmaster_address setting".to_owned(),
        )),
    }
}

/// The original's first Message-ID as Dovecot logs it in rejection lines (raw value,
/// sanitised to 80 bytes; empty when absent).
pub fn log_msgid(original: &[u8]) -> String {
    HeaderBlock::parse(original)
        .first_value("Message-ID")
        .map(|v| str_sanitize(&v, 80))
        .unwrap_or_default()
}

/// Whether an `Auto-Submitted` header suppresses automatic replies: present with a raw value
/// other than `no` (ASCII case-insensitive, no trimming of trailing blanks).
pub fn is_auto_submitted(headers: &HeaderBlock<'_>) -> bool {
    headers.first_value("Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case(b"no"))
}

/// Dovecot's warning (observed) when the `Return-Path` header is not a valid path.
pub const RETURN_PATH_WARNING: &str = "Failed to parse return-path header";

/// Parses a `Return-Path` header value as an SMTP path: `<addr>`, a bare `addr`, or `<>`
/// (`Ok(None)`). Anything else (empty, trailing text after `>`, several addresses) is an error,
/// as observed with Dovecot (`<a@b> junk` and an empty value are rejected, `plain@x` accepted).
pub fn parse_return_path(value: &str) -> Result<Option<String>, InvalidReturnPath> {
    let invalid = || InvalidReturnPath(value.to_owned());
    let v = value.trim_matches([' ', '\t']);
    let inner = match v.strip_prefix('<') {
        Some(rest) => rest.strip_suffix('>').ok_or_else(invalid)?,
        None => v,
    };
    if v.starts_with('<') && inner.is_empty() {
        return Ok(None);
    }
    let simple = !inner.is_empty()
        && !inner.contains(['<', '>', ',', ' ', '\t', '(', ')'])
        && inner.rsplit_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
    if !simple {
        return Err(invalid());
    }
    parse_path(inner).map_err(|_| invalid())
}

/// A `Return-Path` header value that is not a valid SMTP path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid return path `{0}'")]
pub struct InvalidReturnPath(pub String);

/// Decides whether and where a rejection mail goes (bounces.md §1). `envelope_sender` is the
/// LDA's envelope sender (`None` = null path); `reason` is the rejection reason to log.
pub fn decide(
    original: &[u8],
    envelope_sender: Option<&str>,
    postmaster_address: &str,
    reason: &str,
) -> Result<RejectionDecision, RejectionError> {
    let headers = HeaderBlock::parse(original);
    let msgid = log_msgid(original);
    if is_auto_submitted(&headers) {
        let reason = reason.to_owned();
        return Ok(RejectionDecision::NotSent(NotSent::AutoSubmitted { msgid, reason }));
    }
    let mut unparsable_header = false;
    let return_address = match envelope_sender.filter(|s| !s.is_empty()) {
        Some(sender) => Some(sender.to_owned()),
        None => match headers.first("Return-Path").map(|f| f.unfolded()) {
            Some(raw) => parse_return_path(&String::from_utf8_lossy(&raw)).unwrap_or_else(|_| {
                unparsable_header = true;
                None
            }),
            None => None,
        },
    };
    let Some(return_address) = return_address else {
        let reason = reason.to_owned();
        let missing = NotSent::ReturnPathMissing { msgid, reason, unparsable_header };
        return Ok(RejectionDecision::NotSent(missing));
    };
    let postmaster = parse_postmaster_address(postmaster_address)?;
    Ok(RejectionDecision::Send { return_address, postmaster })
}

/// Values for `rejection_subject` / `rejection_reason`.
#[derive(Debug, Clone, Copy)]
pub struct TemplateVars<'a> {
    /// `%s` / `%{subject}`: sanitised original subject.
    pub subject: &'a str,
    /// `%t` / `%{to}`: the final recipient.
    pub to: &'a str,
    /// `%r` / `%{reason}`: the rejection reason.
    pub reason: &'a str,
}

/// The result of expanding a template: the text, and the error Dovecot would log (`Failed to
/// expand <setting>=<template>: Unknown variable '%x'`) when a variable was unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The expanded text; unknown variables became `UNSUPPORTED_VARIABLE_<name>`.
    pub text: String,
    /// The unknown variable's name as Dovecot reports it (`x` for `%x`, `foo` for `%{foo}`).
    pub unknown_variable: Option<String>,
}

/// Expands Dovecot `%` variables in a rejection template: `%n %r %s %t`, `%{crlf}`,
/// `%{reason}`, `%{subject}`, `%{to}`, `%%`, an optional width (`%5s` keeps the first five
/// characters) and the `L`/`U` case modifiers. Unknown names give `UNSUPPORTED_VARIABLE_<name>`
/// (observed); `%{name:args}` is a function call Dovecot does not know here, also unsupported.
pub fn expand_template(template: &str, vars: &TemplateVars<'_>) -> Expanded {
    let mut out = String::with_capacity(template.len() + 64);
    let mut unknown: Option<(String, bool)> = None;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || **d == '-') {
            width.push(d);
            chars.next();
        }
        let mut case = None;
        while let Some(&m) = chars.peek().filter(|m| matches!(m, 'L' | 'U')) {
            case = Some(m);
            chars.next();
        }
        let Some(key) = chars.next() else { break };
        let (name, long) = if key == '{' {
            let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
            (name, true)
        } else {
            (key.to_string(), false)
        };
        let value = lookup(&name, long, vars);
        let Some(value) = value else {
            let reported = name.split(':').next().unwrap_or_default().to_owned();
            out.push_str("UNSUPPORTED_VARIABLE_");
            out.push_str(&reported);
            // Observed: an unknown long name replaces the reported error, a short one does not.
            if long || unknown.is_none() {
                unknown = Some((reported, long));
            }
            continue;
        };
        out.push_str(&apply_modifiers(&value, &width, case));
    }
    Expanded { text: out, unknown_variable: unknown.map(|(n, _)| n) }
}

fn lookup(name: &str, long: bool, vars: &TemplateVars<'_>) -> Option<String> {
    let v = match (name, long) {
        ("%", false) => "%",
        ("n", false) | ("crlf", true) => "\r\n",
        ("r", false) | ("reason", true) => vars.reason,
        ("s", false) | ("subject", true) => vars.subject,
        ("t", false) | ("to", true) => vars.to,
        _ => return None,
    };
    Some(v.to_owned())
}

fn apply_modifiers(value: &str, width: &str, case: Option<char>) -> String {
    let mut v = match case {
        Some('L') => value.to_lowercase(),
        Some('U') => value.to_uppercase(),
        _ => value.to_owned(),
    };
    if let Ok(w) = width.trim_start_matches('-').parse::<usize>() {
        v = v.chars().take(w).collect();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const PM: &str = "postmaster@example.org";

    fn decide_ok(msg: &[u8], sender: Option<&str>) -> RejectionDecision {
        decide(msg, sender, PM, "Go away").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn auto_submitted_values() {
        for (hdr, suppressed) in [
            ("Auto-Submitted: auto-replied", true),
            ("Auto-Submitted: No", false),
            ("Auto-Submitted: no; foo", true),
            ("Auto-Submitted:  no  ", true),
        ] {
            let msg = format!("From: a@b\n{hdr}\nMessage-ID: <am@x>\n\nbody\n");
            let d = decide_ok(msg.as_bytes(), Some("a@b"));
            assert_eq!(matches!(d, RejectionDecision::NotSent(_)), suppressed, "{hdr}");
            if let RejectionDecision::NotSent(n) = d {
                assert_eq!(n.log_line(), "msgid=<am@x>: Auto-submitted message discarded: Go away");
            }
        }
    }

    #[test]
    fn return_path_fallback_and_missing() {
        let d = decide_ok(b"Return-Path: <rp@example.com>\nSubject: x\n\n", None);
        assert!(matches!(d, RejectionDecision::Send { ref return_address, .. }
            if return_address == "rp@example.com"));
        let d = decide_ok(b"Subject: x\n\n", None);
        let RejectionDecision::NotSent(n) = d else { panic!("expected NotSent") };
        assert_eq!(n.log_line(), "msgid=: Return-Path missing, rejection reason: Go away");
        let d = decide_ok(b"Return-Path: <>\n\n", None);
        assert!(matches!(d, RejectionDecision::NotSent(ref n) if n.warning().is_none()));
        let d = decide_ok(b"Return-Path: plain@x\n\n", None);
        assert!(matches!(d, RejectionDecision::Send { ref return_address, .. }
            if return_address == "plain@x"));
        for bad in ["not an address <<", "<a@b> junk", ""] {
            let msg = format!("Return-Path: {bad}\n\n");
            let d = decide_ok(msg.as_bytes(), None);
            let RejectionDecision::NotSent(n) = d else { panic!("{bad}: sent") };
            assert_eq!(n.warning(), Some("Failed to parse return-path header"), "{bad}");
            assert_eq!(parse_return_path(bad), Err(InvalidReturnPath(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn envelope_sender_wins_over_return_path() {
        let d = decide_ok(b"Return-Path: <rp@example.com>\n\n", Some("env@example.com"));
        assert!(matches!(d, RejectionDecision::Send { ref return_address, .. }
            if return_address == "env@example.com"));
    }

    #[test]
    fn postmaster_validation() {
        let e = decide(b"\n", Some("a@b"), "nodomain", "r").err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("invalid address `nodomain' specified for the postmaster_address setting")
        );
        let e = parse_postmaster_address("a@x, b@y").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("more than one address specified for the postmaster_address setting")
        );
        let pm = parse_postmaster_address("<pm@x.org>").ok().map(|m| m.to_header_value());
        assert_eq!(pm.as_deref(), Some("Postmaster <pm@x.org>"));
    }

    #[test]
    fn failure_log_lines() {
        assert_eq!(
            log_temporarily_failed("<q1@example.com>", "Sendmail program returned error"),
            "msgid=<q1@example.com>: Temporarily failed to send rejection: Sendmail program returned error"
        );
        let e = RejectionError::InvalidPostmaster(
            "invalid address `x' specified for the postmaster_address setting".into(),
        );
        assert_eq!(
            log_invalid_postmaster("<q1@example.com>", &e),
            "msgid=<q1@example.com>: Invalid postmaster_address - can't send rejection: invalid address `x' specified for the postmaster_address setting"
        );
        assert_eq!(log_msgid(b"Message-ID: <a@b>\nMessage-ID: <c@d>\n\n"), "<a@b>");
        assert_eq!(log_msgid(b"Subject: x\n\n"), "");
    }

    #[test]
    fn template_expansion_as_observed() {
        let vars = TemplateVars { subject: "rejectme", to: "u@h", reason: "No" };
        let e = expand_template("S[%s|%{subject}|%t|%{to}|%%|%r|%x|%{foo}|%n]", &vars);
        assert_eq!(
            e.text,
            "S[rejectme|rejectme|u@h|u@h|%|No|UNSUPPORTED_VARIABLE_x|UNSUPPORTED_VARIABLE_foo|\r\n]"
        );
        assert_eq!(e.unknown_variable.as_deref(), Some("foo"));
        let e = expand_template("%u%x", &vars);
        assert_eq!(e.text, "UNSUPPORTED_VARIABLE_uUNSUPPORTED_VARIABLE_x");
        assert_eq!(e.unknown_variable.as_deref(), Some("u"));
        let e = expand_template("%5s|%{subject:3}|%Us", &vars);
        assert_eq!(e.text, "rejec|UNSUPPORTED_VARIABLE_subject|REJECTME");
        let d = expand_template("Your message to <%t> was automatically rejected:%n%r", &vars);
        assert_eq!(d.text, "Your message to <u@h> was automatically rejected:\r\nNo");
        assert_eq!(d.unknown_variable, None);
    }
}
