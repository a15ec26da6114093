//! Executing a result for real against the test mail store and the SMTP capture
//! (`test_result_execute`, `test_multiscript`; spec sieve-testsuite.md §4.2, §5, §9.3). Outgoing
//! messages are built by the `outgoing-mail` crate, as the delivery agent builds them.

use chrono::Local;
use outgoing_mail::message_id::{MessageIdTime, lda_message_id, sieve_message_id};
use outgoing_mail::redirect::{self, RedirectEnvelope, RedirectEnvelopeFrom};
use outgoing_mail::rejection::{self, RejectionDecision};
use outgoing_mail::report::{DEFAULT_REJECTION_REASON, DEFAULT_REJECTION_SUBJECT, RejectionMail};
use outgoing_mail::vacation_reply::{self as vr, VacationContext, VacationReply, VacationSettings};
use sieve::{Action, Envelope, Machine, MessageView, NotifyAction, RuntimeError, SieveResult};

use crate::handler::host;
use crate::host::{Host, SmtpEntry};
use crate::store::{StoredMessage, invalid_name};

/// Host name used in generated Message-IDs and reports.
const HOSTNAME: &str = "testsuite.example.com";

/// What one execution works on.
pub struct Delivery<'a> {
    /// The message as the actions see it (header edits applied).
    pub raw: &'a [u8],
    /// The envelope.
    pub envelope: &'a Envelope,
}

/// The message bytes with editheader's changes applied.
fn edited_message(m: &Machine<'_>) -> Vec<u8> {
    rebuild(m.message(), m.headers())
}

/// `msg` with its header replaced by `headers` (unchanged bytes when they are the same).
fn rebuild(msg: &MessageView, headers: &[sieve::message::HeaderField]) -> Vec<u8> {
    if headers == msg.headers.as_slice() {
        return msg.raw().to_vec();
    }
    let crlf = msg.raw().windows(2).any(|w| w == b"\r\n");
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::with_capacity(msg.raw().len() + 256);
    for h in headers {
        out.extend_from_slice(h.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&h.value);
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
    out.extend_from_slice(msg.body());
    out
}

/// `test_result_execute`: executes the not yet executed actions of the current result, then
/// the implicit keep if still in effect (or if an action failed).
pub fn execute_current(m: &mut Machine<'_>) -> Result<bool, RuntimeError> {
    let raw = edited_message(m);
    let envelope = m.envelope().clone();
    let result = m.result().clone();
    let flags = m.flags().to_vec();
    let h = host(m)?;
    h.clear_log();
    let start = h.executed.min(result.actions.len());
    let d = Delivery { raw: &raw, envelope: &envelope };
    let mut ok = true;
    for a in &result.actions[start..] {
        if let Err(e) = execute_action(h, a, &d) {
            h.errors.push(e);
            ok = false;
        }
    }
    h.executed = result.actions.len();
    let keep = !result.actions.iter().any(Action::cancels_implicit_keep);
    if (keep || !ok) && !h.kept {
        let kflags = if result.implicit_keep_flags.is_empty() {
            flags
        } else {
            result.implicit_keep_flags.clone()
        };
        let msg = StoredMessage { raw: raw.clone(), flags: kflags };
        if let Err(e) = h.store.append("INBOX", msg) {
            h.errors.push(format!("failed to store into mailbox 'INBOX': {e}"));
            ok = false;
        }
        h.kept = true;
    }
    Ok(ok)
}

/// Executes one action; `Err` carries the logged error.
fn execute_action(h: &mut Host, a: &Action, d: &Delivery<'_>) -> Result<(), String> {
    match a {
        Action::Keep { flags } => store(h, "INBOX", false, flags, d.raw),
        Action::FileInto { mailbox, flags, create, .. } => store(h, mailbox, *create, flags, d.raw),
        Action::Discard => Ok(()),
        Action::Redirect { address, .. } => redirect(h, address, d),
        Action::Reject { reason, .. } => reject(h, reason, d),
        Action::Vacation(v) => vacation(h, v, d),
        Action::Notify(n) => notify(h, n, d),
        Action::Report(r) => report(h, r, d),
    }
}

fn store(
    h: &mut Host,
    mailbox: &str,
    create: bool,
    flags: &[String],
    raw: &[u8],
) -> Result<(), String> {
    let fail = |e: String| format!("failed to store into mailbox '{mailbox}': {e}");
    if let Some(why) = invalid_name(mailbox) {
        return Err(fail(format!("Invalid mailbox name: {why}")));
    }
    if create && !h.store.exists(mailbox) {
        h.store.create(mailbox).map_err(fail)?;
    }
    let msg = StoredMessage { raw: raw.to_vec(), flags: flags.to_vec() };
    h.store.append(mailbox, msg).map_err(fail)
}

fn yes(h: &Host, key: &str) -> bool {
    h.setting(key).is_some_and(|v| {
        matches!(v.trim().to_ascii_lowercase().as_str(), "yes" | "y" | "1" | "true")
    })
}

/// `sieve_user_email`, bare address.
fn user_email(h: &Host) -> Option<String> {
    h.setting("sieve_user_email")
        .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
}

fn send(h: &mut Host, from: Option<String>, to: &str, message: Vec<u8>) {
    h.smtp.push(SmtpEntry { from, to: to.to_owned(), message });
}

fn redirect(h: &mut Host, address: &str, d: &Delivery<'_>) -> Result<(), String> {
    let address = &crate::address::normalize_target(address);
    let user = user_email(h);
    let mut own = vec![d.envelope.to.as_str()];
    own.extend(user.as_deref());
    if redirect::is_redirect_loop(d.raw, &own) {
        return Ok(());
    }
    let n = h.next_counter();
    let new_id = sieve_message_id(MessageIdTime::now(), n, HOSTNAME);
    let from_hdr = user.clone().unwrap_or_else(|| d.envelope.to.clone());
    let out = redirect::redirected_message(d.raw, redirect::PIGEONHOLE_X_SIEVE, &from_hdr, &new_id);
    let setting = h.setting("sieve_redirect_envelope_from").unwrap_or_default();
    let mode = RedirectEnvelopeFrom::parse(&setting).unwrap_or(RedirectEnvelopeFrom::Sender);
    let env = RedirectEnvelope {
        sender: d.envelope.from.as_deref(),
        final_recipient: Some(&d.envelope.to),
        orig_recipient: d.envelope.orig_to.as_deref(),
        user_email: user.as_deref(),
        postmaster: Some("postmaster@example.com"),
    };
    let sender = redirect::redirect_envelope_sender(&mode, &env);
    send(h, sender, address, out);
    Ok(())
}

fn reject(h: &mut Host, reason: &str, d: &Delivery<'_>) -> Result<(), String> {
    let postmaster = h.setting("postmaster_address").unwrap_or_default();
    let decision = rejection::decide(d.raw, d.envelope.from.as_deref(), &postmaster, reason)
        .map_err(|e| format!("Invalid postmaster_address: {e}"))?;
    let (return_address, postmaster) = match decision {
        RejectionDecision::Send { return_address, postmaster } => (return_address, postmaster),
        RejectionDecision::NotSent(_) => return Ok(()),
    };
    let n = h.next_counter();
    let message_id = lda_message_id(MessageIdTime::now(), n, HOSTNAME);
    let mail = RejectionMail {
        original: d.raw,
        return_address: &return_address,
        postmaster: &postmaster,
        final_recipient: &d.envelope.to,
        reason,
        rejection_subject: DEFAULT_REJECTION_SUBJECT,
        rejection_reason: DEFAULT_REJECTION_REASON,
        hostname: HOSTNAME,
        message_id: &message_id,
        boundary: &format!("{}/{HOSTNAME}", std::process::id()),
        now: Local::now().fixed_offset(),
    };
    let built = outgoing_mail::mdn::build_mdn(&mail);
    send(h, None, &return_address, built.message);
    Ok(())
}

fn vacation_settings(h: &Host) -> VacationSettings {
    VacationSettings {
        use_original_recipient: yes(h, "sieve_vacation_use_original_recipient"),
        dont_check_recipient: yes(h, "sieve_vacation_dont_check_recipient"),
        send_from_recipient: yes(h, "sieve_vacation_send_from_recipient"),
        to_header_ignore_envelope: yes(h, "sieve_vacation_to_header_ignore_envelope"),
        default_subject: h.setting("sieve_vacation_default_subject").filter(|v| !v.is_empty()),
        default_subject_template: h
            .setting("sieve_vacation_default_subject_template")
            .filter(|v| !v.is_empty()),
        max_subject_codepoints: h
            .setting("sieve_vacation_max_subject_codepoints")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(256),
    }
}

fn vacation(h: &mut Host, v: &sieve::VacationAction, d: &Delivery<'_>) -> Result<(), String> {
    let settings = vacation_settings(h);
    let user = user_email(h);
    let ctx = VacationContext {
        original: d.raw,
        sender: d.envelope.from.as_deref(),
        final_recipient: Some(&d.envelope.to),
        original_recipient: d.envelope.orig_to.as_deref(),
        user_email: user.as_deref(),
        addresses: &v.addresses,
        settings: &settings,
    };
    let Ok(allowed) = vr::check_vacation(&ctx, || false) else { return Ok(()) };
    let n = h.next_counter();
    let message_id = sieve_message_id(MessageIdTime::now(), n, HOSTNAME);
    let reply = VacationReply {
        original: d.raw,
        x_sieve: redirect::PIGEONHOLE_X_SIEVE,
        message_id: &message_id,
        now: Local::now().fixed_offset(),
        from: &vr::reply_from_header(v.from.as_deref(), &allowed, &d.envelope.to),
        to: &vr::reply_to_header(d.raw, &allowed.to, settings.to_header_ignore_envelope),
        subject: &vr::reply_subject(v.subject.as_deref(), d.raw, &settings),
        reason: &v.reason,
        mime: v.mime,
    };
    let bytes = vr::build_vacation_reply(&reply);
    let env_from = vr::reply_envelope_sender(&ctx, &allowed);
    send(h, env_from, &allowed.to, bytes);
    Ok(())
}

/// Bare address of `Name <addr>` / `addr`.
fn bare(item: &str) -> String {
    let t = item.trim();
    match (t.rfind('<'), t.ends_with('>')) {
        (Some(i), true) => t[i + 1..t.len() - 1].trim().to_owned(),
        _ => t.to_owned(),
    }
}

/// Splits a comma-separated recipient list (commas inside quotes or angle brackets kept).
fn split_recipients(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted, mut angle) = (String::new(), false, false);
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect()
}

/// The parts of a `mailto:` URI (RFC 6068) that make the notification.
#[derive(Default)]
struct Mailto {
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: Option<String>,
    headers: Vec<(String, String)>,
}

fn parse_mailto(uri: &str) -> Option<Mailto> {
    let rest = uri.strip_prefix("mailto:")?;
    let (to_part, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut m = Mailto { to: split_recipients(&percent_decode(to_part)), ..Mailto::default() };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k.to_ascii_lowercase().as_str() {
            "to" => m.to.extend(split_recipients(&v)),
            "cc" => m.cc.extend(split_recipients(&v)),
            "bcc" => m.bcc.extend(split_recipients(&v)),
            "subject" => m.subject = Some(v),
            "body" => m.body = Some(v),
            "from"
            | "date"
            | "message-id"
            | "received"
            | "auto-submitted"
            | "sender"
            | "reply-to"
            | "mime-version"
            | "content-type"
            | "content-transfer-encoding"
            | "x-sieve"
            | "precedence"
            | "importance"
            | "x-priority" => {}
            other => m.headers.push((other.to_owned(), v)),
        }
    }
    // A recipient appears once: To wins over Cc, Cc over Bcc.
    let mut seen: Vec<String> = Vec::new();
    for list in [&mut m.to, &mut m.cc, &mut m.bcc] {
        list.retain(|r| {
            let b = bare(r).to_ascii_lowercase();
            if seen.contains(&b) {
                false
            } else {
                seen.push(b);
                true
            }
        });
    }
    Some(m)
}

/// enotify `mailto:`: one message, sent to every recipient of the URI.
fn notify(h: &mut Host, n: &NotifyAction, d: &Delivery<'_>) -> Result<(), String> {
    let Some(uri) = parse_mailto(&n.method) else { return Ok(()) };
    let headers = outgoing_mail::header::HeaderBlock::parse(d.raw);
    if rejection::is_auto_submitted(&headers) {
        return Ok(());
    }
    let original_subject = MessageView::parse(d.raw).header_values("subject").into_iter().next();
    let subject = uri
        .subject
        .clone()
        .or_else(|| n.message.clone())
        .unwrap_or_else(|| format!("Notification: {}", original_subject.unwrap_or_default()));
    let user = user_email(h).unwrap_or_else(|| d.envelope.to.clone());
    let from = n.from.clone().unwrap_or_else(|| "Postmaster <postmaster@example.com>".into());
    let env_from = d.envelope.from.as_ref().and_then(|sender| {
        match h.setting("sieve_notify_mailto_envelope_from").as_deref().map(str::trim) {
            Some("sender") => Some(sender.clone()),
            Some("recipient") => Some(d.envelope.to.clone()),
            Some("orig_recipient") => d.envelope.orig_to.clone().or(Some(d.envelope.to.clone())),
            Some("user_email") => Some(user.clone()),
            Some(v) if v.starts_with('<') && v.ends_with('>') => {
                Some(bare(v)).filter(|a| !a.is_empty())
            }
            _ => Some(n.from.as_deref().map_or_else(|| "postmaster@example.com".into(), bare)),
        }
    });
    let (xprio, importance) = match n.importance.as_deref() {
        Some("1") => ("1 (Highest)", "high"),
        Some("3") => ("5 (Lowest)", "low"),
        _ => ("3 (Normal)", "normal"),
    };
    let count = h.next_counter();
    let mut msg = format!(
        "X-Sieve: {}\r\nMessage-ID: {}\r\nDate: {}\r\nSubject: {}\r\nFrom: {from}\r\n",
        redirect::PIGEONHOLE_X_SIEVE,
        sieve_message_id(MessageIdTime::now(), count, HOSTNAME),
        outgoing_mail::encode::rfc5322_date(&Local::now().fixed_offset()),
        outgoing_mail::encode::header_encode(&subject),
    );
    if !uri.to.is_empty() {
        msg.push_str(&format!("To: {}\r\n", uri.to.join(", ")));
    }
    if !uri.cc.is_empty() {
        msg.push_str(&format!("Cc: {}\r\n", uri.cc.join(", ")));
    }
    msg.push_str(&format!(
        "Auto-Submitted: auto-notified; owner-email=\"{user}\"\r\nPrecedence: bulk\r\nX-Priority: {xprio}\r\nImportance: {importance}\r\n"
    ));
    for (k, v) in &uri.headers {
        msg.push_str(&format!("{k}: {v}\r\n"));
    }
    msg.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    msg.push_str(&uri.body.unwrap_or_else(|| "Notification of new message.".into()));
    msg.push_str("\r\n");
    for r in uri.to.iter().chain(&uri.cc).chain(&uri.bcc) {
        send(h, env_from.clone(), &bare(r), msg.clone().into_bytes());
    }
    Ok(())
}

/// vnd.dovecot.report: an RFC 5965 feedback report to the given address.
fn report(h: &mut Host, r: &sieve::ReportAction, d: &Delivery<'_>) -> Result<(), String> {
    let user = user_email(h);
    let postmaster = "postmaster@example.com".to_owned();
    let setting = h.setting("sieve_report_from").unwrap_or_default();
    let from_addr = match setting.trim().to_ascii_lowercase().as_str() {
        "sender" => d.envelope.from.clone().unwrap_or(postmaster),
        "recipient" => d.envelope.to.clone(),
        "orig_recipient" => d.envelope.orig_to.clone().unwrap_or_else(|| d.envelope.to.clone()),
        "user_email" => user.clone().unwrap_or_else(|| d.envelope.to.clone()),
        v if v.starts_with('<') && v.ends_with('>') => v[1..v.len() - 1].to_owned(),
        _ => postmaster,
    };
    let from = if from_addr == "postmaster@example.com" {
        "Postmaster <postmaster@example.com>".to_owned()
    } else {
        format!("<{from_addr}>")
    };
    let reporting_user = user.unwrap_or_else(|| d.envelope.to.clone());
    let view = MessageView::parse(d.raw);
    let subject = view.header_values("subject").into_iter().next().unwrap_or_default();
    let n = h.next_counter();
    let boundary = format!("{}/{HOSTNAME}/{n}", std::process::id());
    let (ctype, attached) = if r.headers_only {
        ("text/rfc822-headers", &d.raw[..d.raw.len() - view.body().len()])
    } else {
        ("message/rfc822", d.raw)
    };
    let mut msg = format!(
        "X-Sieve: {x}\r\nMessage-ID: {id}\r\nDate: {date}\r\nFrom: {from}\r\nTo: <{to}>\r\nSubject: Report: {subject}\r\nAuto-Submitted: auto-generated (report)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report;\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is a MIME-encapsulated message\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\r\n--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\nFeedback-Type: {ftype}\r\nUser-Agent: {x}\r\nDovecot-Reporting-User: <{reporting_user}>\r\n\r\n--{boundary}\r\nContent-Type: {ctype}\r\n\r\n",
        x = redirect::PIGEONHOLE_X_SIEVE,
        id = sieve_message_id(MessageIdTime::now(), n, HOSTNAME),
        date = outgoing_mail::encode::rfc5322_date(&Local::now().fixed_offset()),
        to = r.address,
        subject = outgoing_mail::encode::header_encode(&subject),
        text = r.message,
        ftype = r.feedback_type,
    )
    .into_bytes();
    msg.extend_from_slice(attached);
    msg.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    send(h, None, &r.address, msg);
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (b[i], b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c))) {
            (b'%', Some(h1), Some(h2)) => {
                out.push(u8::try_from(h1 * 16 + h2).unwrap_or(b'?'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `test_multiscript`: compiles and runs the scripts as one delivery sequence (spec §9.3).
pub fn multiscript(m: &mut Machine<'_>, paths: &[String]) -> Result<bool, RuntimeError> {
    let message = m.message().clone();
    let envelope = m.envelope().clone();
    let h = host(m)?;
    h.clear_log();
    let mut scripts = Vec::new();
    for p in paths {
        let Some(s) = crate::compile_sub(h, p) else { return Ok(false) };
        scripts.push(s);
    }
    let limits = h.limits.clone();
    let mut message = message;
    let mut ok = true;
    let mut keep = true;
    let mut flags = Vec::new();
    for script in &scripts {
        if !keep {
            break;
        }
        let seed = SieveResult { implicit_keep_flags: flags.clone(), ..SieveResult::default() };
        let result: SieveResult =
            match sieve::run_appending(script, &message, &envelope, &mut *m.env, &limits, seed) {
                Ok(r) => r,
                Err(e) => {
                    host(m)?.errors.push(e.message);
                    ok = false;
                    break;
                }
            };
        if let Some(headers) = &result.edited_headers {
            message = MessageView::parse(&rebuild(&message, headers));
        }
        let d = Delivery { raw: message.raw(), envelope: &envelope };
        let h = host(m)?;
        for a in &result.actions {
            if let Err(e) = execute_action(h, a, &d) {
                h.errors.push(e);
                ok = false;
            }
        }
        keep = result.implicit_keep;
        flags = result.implicit_keep_flags.clone();
    }
    let h = host(m)?;
    if keep || !ok {
        let msg = StoredMessage { raw: message.raw().to_vec(), flags };
        if let Err(e) = h.store.append("INBOX", msg) {
            h.errors.push(e);
            ok = false;
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2C"), "a b,");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
