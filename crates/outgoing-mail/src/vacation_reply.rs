//! The Sieve `vacation` reply: RFC 5230 / RFC 3834 "should we reply" checks and the reply
//! message, as pigeonhole@0.5.19 `src/lib-sieve/plugins/vacation/cmd-vacation.c` does them.
//!
//! Everything here was compared with Pigeonhole 0.5.19 under dovecot-lda 2.3.19 (log texts and
//! captured replies; see `testdata/golden/vacation-*.eml`). The duplicate ("already replied")
//! lookup is the caller's: [`check_vacation`] calls it at Pigeonhole's point in the order.

use chrono::{DateTime, FixedOffset};

use crate::address::{Mailbox, parse_address_list};
use crate::encode::{fold_header, header_encode, rfc5322_date, sanitize_utf8_codepoints};
use crate::header::{HeaderBlock, parse_msg_id};
use crate::rejection::is_auto_submitted;

/// Headers whose presence marks a mailing list message (RFC 2369 / 2919).
const LIST_HEADERS: [&str; 7] = [
    "List-Id",
    "List-Owner",
    "List-Subscribe",
    "List-Post",
    "List-Unsubscribe",
    "List-Help",
    "List-Archive",
];
/// Headers searched for the user's own address, in Pigeonhole's order.
const MY_ADDRESS_HEADERS: [&str; 6] = ["To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"];

/// Vacation settings from the `plugin { }` block that the checks and the reply depend on.
#[derive(Debug, Clone)]
pub struct VacationSettings {
    /// `sieve_vacation_use_original_recipient`.
    pub use_original_recipient: bool,
    /// `sieve_vacation_dont_check_recipient`.
    pub dont_check_recipient: bool,
    /// `sieve_vacation_send_from_recipient`.
    pub send_from_recipient: bool,
    /// `sieve_vacation_to_header_ignore_envelope`.
    pub to_header_ignore_envelope: bool,
    /// `sieve_vacation_default_subject` (unset → `Automated reply`).
    pub default_subject: Option<String>,
    /// `sieve_vacation_default_subject_template` (unset → `Auto: %{subject}`).
    pub default_subject_template: Option<String>,
    /// `sieve_vacation_max_subject_codepoints` (default 256).
    pub max_subject_codepoints: usize,
}

impl Default for VacationSettings {
    fn default() -> Self {
        VacationSettings {
            use_original_recipient: false,
            dont_check_recipient: false,
            send_from_recipient: false,
            to_header_ignore_envelope: false,
            default_subject: None,
            default_subject_template: None,
            max_subject_codepoints: 256,
        }
    }
}

/// What the checks look at: the message, its envelope and the action's `:addresses`.
#[derive(Debug, Clone, Copy)]
pub struct VacationContext<'a> {
    /// The original message.
    pub original: &'a [u8],
    /// The envelope sender as Sieve sees it (`None` = null path).
    pub sender: Option<&'a str>,
    /// The final envelope recipient (`None` = null).
    pub final_recipient: Option<&'a str>,
    /// The original recipient (`-a`), if known.
    pub original_recipient: Option<&'a str>,
    /// `sieve_user_email`, if set.
    pub user_email: Option<&'a str>,
    /// The `:addresses` list.
    pub addresses: &'a [String],
    /// The settings.
    pub settings: &'a VacationSettings,
}

/// Why no vacation reply is sent; [`NoReply::log_text`] is Pigeonhole's log line (Info, except
/// [`NoReply::EnvelopeRecipientNull`], a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReply {
    /// 1. The envelope recipient is null.
    EnvelopeRecipientNull,
    /// 2. The envelope sender is null.
    NullSender,
    /// 3. The sender is the recipient.
    OwnAddress(String),
    /// 4. The sender is one of `:addresses`.
    OwnAddressByAddresses(String),
    /// 5. Already replied to this sender with this handle within the period.
    Duplicate(String),
    /// 6. A mailing list message.
    MailingList(String),
    /// 7. `Auto-Submitted` other than `no`.
    AutoSubmitted(String),
    /// 8. `Precedence: junk|bulk|list` (sender, header value as written).
    Precedence(String, String),
    /// 9. `X-Auto-Response-Suppress` has `OOF` or `All` (sender, flag as written).
    AutoResponseSuppress(String, String),
    /// 10. MAILER-DAEMON, LISTSERV, majordomo, `*-request*`, `owner-*` senders.
    SystemAddress(String),
    /// 11. None of the user's addresses is in To/Cc/Bcc/Resent-*.
    NoKnownRecipient {
        /// The final recipient.
        recipient: String,
        /// Whether `:addresses` was given.
        addresses_given: bool,
    },
}

impl NoReply {
    /// The log text after `sieve: msgid=<id>: `, exactly as Pigeonhole 0.5.19 writes it.
    pub fn log_text(&self) -> String {
        let p = "vacation action: ";
        match self {
            NoReply::EnvelopeRecipientNull => {
                "vacation action aborted: envelope recipient is <>".to_owned()
            }
            NoReply::NullSender => format!("{p}discarded vacation reply to <>"),
            NoReply::OwnAddress(s) => format!("{p}discarded vacation reply to own address <{s}>"),
            NoReply::OwnAddressByAddresses(s) => format!(
                "{p}discarded vacation reply to own address <{s}> (as specified using :addresses argument)"
            ),
            NoReply::Duplicate(s) => format!("{p}discarded duplicate vacation response to <{s}>"),
            NoReply::MailingList(s) => {
                format!("{p}discarding vacation response to mailinglist recipient <{s}>")
            }
            NoReply::AutoSubmitted(s) => {
                format!("{p}discarding vacation response to auto-submitted message from <{s}>")
            }
            NoReply::Precedence(s, v) => {
                format!("{p}discarding vacation response to precedence={v} message from <{s}>")
            }
            NoReply::AutoResponseSuppress(s, f) => format!(
                "{p}discarding vacation response to message from <{s}> (`{f}' flag found in \
                 x-auto-response-suppress header)"
            ),
            NoReply::SystemAddress(s) => {
                format!("{p}not sending vacation response to system address <{s}>")
            }
            NoReply::NoKnownRecipient { recipient, addresses_given } => format!(
                "{p}discarding vacation response for implicitly delivered message; no known \
                 (envelope) recipient address found in message headers (recipient=<{recipient}>, \
                 and {} `:addresses' are specified)",
                if *addresses_given { "additional" } else { "no additional" }
            ),
        }
    }
}

/// Log text of a sent reply: `vacation action: sent vacation response to <sender>`.
pub fn log_sent(sender: &str) -> String {
    format!("vacation action: sent vacation response to <{sender}>")
}

/// Log text (Error) of a failed reply submission. Observed: the failure is only logged, the
/// message is still stored and the LDA exits 0, even for a temporary error.
pub fn log_send_failed(sender: &str, send_error: &str) -> String {
    format!(
        "vacation action: failed to send vacation response to {sender}: <{send_error}> (temporary error)"
    )
}

/// The vacation handle: `:handle` if given, else reason + (`:subject` or `<default-subject>`) +
/// (`:from` or `<default-from>`) + `<MIME>`/`<NO-MIME>` (observed).
pub fn vacation_handle(
    handle_tag: Option<&str>,
    reason: &str,
    subject_tag: Option<&str>,
    from_tag: Option<&str>,
    mime: bool,
) -> String {
    if let Some(h) = handle_tag {
        return h.to_owned();
    }
    format!(
        "{reason}{}{}{}",
        subject_tag.unwrap_or("<default-subject>"),
        from_tag.unwrap_or("<default-from>"),
        if mime { "<MIME>" } else { "<NO-MIME>" }
    )
}

/// The 16-byte id of the "already replied" record in the duplicate database:
/// MD5(lower-cased envelope sender + handle), verified against `.dovecot.lda-dupes` written by
/// Pigeonhole 0.5.19.
pub fn vacation_duplicate_id(sender: &str, handle: &str) -> [u8; 16] {
    crate::md5::md5(format!("{}{handle}", sender.to_lowercase()).as_bytes())
}

/// The outcome of a successful check: who gets the reply and which user address matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAllowed {
    /// The envelope recipient of the reply (the original envelope sender).
    pub to: String,
    /// The user address found in the headers (check 11); `None` when the check was skipped.
    pub matched: Option<MatchedAddress>,
}

/// Which of the user's addresses matched in check 11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchedAddress {
    /// The final recipient.
    FinalRecipient(String),
    /// The original recipient (with `sieve_vacation_use_original_recipient`).
    OriginalRecipient(String),
    /// One of the `:addresses`.
    Addresses(String),
    /// `sieve_user_email`.
    UserEmail(String),
}

impl MatchedAddress {
    /// The matched address.
    pub fn address(&self) -> &str {
        match self {
            MatchedAddress::FinalRecipient(a)
            | MatchedAddress::OriginalRecipient(a)
            | MatchedAddress::Addresses(a)
            | MatchedAddress::UserEmail(a) => a,
        }
    }
}

/// Runs Pigeonhole's checks in order; `is_duplicate` is called at step 5 only.
pub fn check_vacation(
    ctx: &VacationContext<'_>,
    is_duplicate: impl FnOnce() -> bool,
) -> Result<ReplyAllowed, NoReply> {
    let recipient =
        ctx.final_recipient.filter(|r| !r.is_empty()).ok_or(NoReply::EnvelopeRecipientNull)?;
    let sender = ctx.sender.filter(|s| !s.is_empty()).ok_or(NoReply::NullSender)?;
    let s = || sender.to_owned();
    if sender.eq_ignore_ascii_case(recipient) {
        return Err(NoReply::OwnAddress(s()));
    }
    if ctx.addresses.iter().any(|a| a.eq_ignore_ascii_case(sender)) {
        return Err(NoReply::OwnAddressByAddresses(s()));
    }
    if is_duplicate() {
        return Err(NoReply::Duplicate(s()));
    }
    let headers = HeaderBlock::parse(ctx.original);
    if LIST_HEADERS.iter().any(|h| headers.first(h).is_some()) {
        return Err(NoReply::MailingList(s()));
    }
    if is_auto_submitted(&headers) {
        return Err(NoReply::AutoSubmitted(s()));
    }
    for value in headers.all("Precedence").map(|f| text(&f.unfolded())) {
        let v = value.trim_matches([' ', '\t']);
        if ["junk", "bulk", "list"].iter().any(|p| v.eq_ignore_ascii_case(p)) {
            return Err(NoReply::Precedence(s(), v.to_owned()));
        }
    }
    for value in headers.all("X-Auto-Response-Suppress").map(|f| text(&f.unfolded())) {
        let flag = value.split(',').map(|f| f.trim_matches([' ', '\t']));
        if let Some(f) = flag
            .into_iter()
            .find(|f| f.eq_ignore_ascii_case("oof") || f.eq_ignore_ascii_case("all"))
        {
            return Err(NoReply::AutoResponseSuppress(s(), f.to_owned()));
        }
    }
    if is_system_address(sender) {
        return Err(NoReply::SystemAddress(s()));
    }
    let matched = if ctx.settings.dont_check_recipient {
        None
    } else {
        Some(find_my_address(ctx, &headers, recipient).ok_or_else(|| {
            NoReply::NoKnownRecipient {
                recipient: recipient.to_owned(),
                addresses_given: !ctx.addresses.is_empty(),
            }
        })?)
    };
    Ok(ReplyAllowed { to: s(), matched })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// RFC 3834 system senders as Pigeonhole recognises them.
pub fn is_system_address(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    ["mailer-daemon", "listserv", "majordomo"].iter().any(|n| local.eq_ignore_ascii_case(n))
        || local.contains("-request")
        || local.starts_with("owner-")
}

fn find_my_address(
    ctx: &VacationContext<'_>,
    headers: &HeaderBlock<'_>,
    recipient: &str,
) -> Option<MatchedAddress> {
    let mut candidates = vec![MatchedAddress::FinalRecipient(recipient.to_owned())];
    if let Some(o) = ctx.original_recipient.filter(|_| ctx.settings.use_original_recipient) {
        candidates.push(MatchedAddress::OriginalRecipient(o.to_owned()));
    }
    candidates.extend(ctx.addresses.iter().map(|a| MatchedAddress::Addresses(a.clone())));
    if let Some(u) = ctx.user_email {
        candidates.push(MatchedAddress::UserEmail(u.to_owned()));
    }
    for name in MY_ADDRESS_HEADERS {
        let addrs: Vec<String> = headers
            .all(name)
            .filter_map(|f| parse_address_list(&text(&f.unfolded())).ok())
            .flatten()
            .map(|m| m.address())
            .collect();
        if let Some(c) =
            candidates.iter().find(|c| addrs.iter().any(|a| a.eq_ignore_ascii_case(c.address())))
        {
            return Some(c.clone());
        }
    }
    None
}

/// The envelope sender of the reply: null, unless `sieve_vacation_send_from_recipient` is set;
/// then the matched address (for an `:addresses` match the original, else final, recipient).
pub fn reply_envelope_sender(ctx: &VacationContext<'_>, allowed: &ReplyAllowed) -> Option<String> {
    if !ctx.settings.send_from_recipient {
        return None;
    }
    match &allowed.matched {
        Some(MatchedAddress::Addresses(_)) | None => {
            ctx.original_recipient.or(ctx.final_recipient).map(str::to_owned)
        }
        Some(m) => Some(m.address().to_owned()),
    }
}

/// The `From:` value: `:from` as written, else the matched address as `<addr>`, else
/// `fallback` (the user email or the postmaster address, chosen by the caller) as `<addr>`.
pub fn reply_from_header(from_tag: Option<&str>, allowed: &ReplyAllowed, fallback: &str) -> String {
    match (from_tag, &allowed.matched) {
        (Some(f), _) => f.to_owned(),
        (None, Some(m)) => format!("<{}>", m.address()),
        (None, None) => format!("<{fallback}>"),
    }
}

/// The `To:` value: the first `Sender`, `Resent-From` or `From` mailbox whose address is the
/// envelope sender (any valid one with `to_header_ignore_envelope`), written as Dovecot does;
/// else `<sender>`.
pub fn reply_to_header(original: &[u8], sender: &str, ignore_envelope: bool) -> String {
    let headers = HeaderBlock::parse(original);
    for name in ["Sender", "Resent-From", "From"] {
        for field in headers.all(name) {
            let Ok(list) = parse_address_list(&text(&field.unfolded())) else { continue };
            let found = list.iter().find(|m: &&Mailbox| {
                !m.domain.is_empty()
                    && (ignore_envelope || m.address().eq_ignore_ascii_case(sender))
            });
            if let Some(m) = found {
                return m.to_header_value();
            }
        }
    }
    format!("<{sender}>")
}

/// The reply's subject before encoding: `:subject` if non-empty, else the template applied to
/// the original's decoded subject, else the default subject; sanitised and cut.
pub fn reply_subject(
    subject_tag: Option<&str>,
    original: &[u8],
    settings: &VacationSettings,
) -> String {
    let chosen = match subject_tag.filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => match decoded_subject(original) {
            Some(orig) => {
                let template =
                    settings.default_subject_template.as_deref().unwrap_or("Auto: %{subject}");
                template.replace("%{subject}", &orig).replace("%$", &orig)
            }
            None => {
                settings.default_subject.clone().unwrap_or_else(|| "Automated reply".to_owned())
            }
        },
    };
    sanitize_utf8_codepoints(chosen.as_bytes(), settings.max_subject_codepoints)
}

/// The original's first Subject, RFC 2047 decoded and unfolded; `None` when there is none.
fn decoded_subject(original: &[u8]) -> Option<String> {
    let headers = HeaderBlock::parse(original);
    let field = headers.first("Subject")?;
    let raw = field.unfolded();
    if !raw.windows(2).any(|w| w == b"=?") {
        return Some(text(&raw));
    }
    let probe = [b"Subject: ".as_slice(), &raw, b"\n\n"].concat();
    let parsed = mail_parser::MessageParser::default().parse_headers(&probe[..]);
    let Some(mut decoded) = parsed.as_ref().and_then(|m| m.subject()).map(str::to_owned) else {
        return Some(text(&raw));
    };
    // mail-parser trims the value; Dovecot keeps trailing blanks (observed: `?= ` at the end).
    let blanks = raw.iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
    if !decoded.ends_with([' ', '\t']) {
        decoded.push_str(&text(&raw[raw.len() - blanks..]));
    }
    Some(decoded)
}

/// Everything a vacation reply is built from.
#[derive(Debug, Clone)]
pub struct VacationReply<'a> {
    /// The original message.
    pub original: &'a [u8],
    /// The `X-Sieve` value, see [`crate::redirect::PIGEONHOLE_X_SIEVE`].
    pub x_sieve: &'a str,
    /// The reply's Message-ID, see [`crate::message_id::sieve_message_id`].
    pub message_id: &'a str,
    /// Current time in the server's local zone.
    pub now: DateTime<FixedOffset>,
    /// `From:` value, see [`reply_from_header`].
    pub from: &'a str,
    /// `To:` value, see [`reply_to_header`].
    pub to: &'a str,
    /// Subject before encoding, see [`reply_subject`].
    pub subject: &'a str,
    /// The vacation reason (the body, or with `:mime` a MIME entity).
    pub reason: &'a str,
    /// Whether `:mime` was given.
    pub mime: bool,
}

/// RFC 2047-encode only text with 8-bit characters: Pigeonhole passes a 7-bit `:subject` or
/// `:from` through as written, so an already encoded word (`=?utf-8?b?…?=`) stays one
/// (Pigeonhole's testsuite, vacation/utf-8.svtest).
fn encode_8bit(text: &str) -> String {
    if text.is_ascii() { text.to_owned() } else { header_encode(text) }
}

/// Builds the reply exactly as Pigeonhole 0.5.19 writes it (CRLF line ends, headers folded).
pub fn build_vacation_reply(r: &VacationReply<'_>) -> Vec<u8> {
    let headers = HeaderBlock::parse(r.original);
    let msgid = headers.first_value("Message-ID").and_then(|v| parse_msg_id(&v));
    let references = headers.first_value("References").map(|v| text(&v));
    let mut out = String::with_capacity(1024 + r.reason.len());
    out.push_str(&fold_header("X-Sieve", r.x_sieve));
    out.push_str(&fold_header("Message-ID", r.message_id));
    out.push_str(&fold_header("Date", &rfc5322_date(&r.now)));
    // Observed: `From` (a `:from` with 8-bit text) is RFC 2047 encoded, `To` is not.
    out.push_str(&fold_header("From", &encode_8bit(r.from)));
    out.push_str(&fold_header("To", r.to));
    out.push_str(&fold_header("Subject", &encode_8bit(r.subject)));
    if let Some(id) = &msgid {
        out.push_str(&fold_header("In-Reply-To", id));
    }
    match (&references, &msgid) {
        (Some(refs), Some(id)) => out.push_str(&fold_header("References", &format!("{refs} {id}"))),
        (Some(one), None) | (None, Some(one)) => out.push_str(&fold_header("References", one)),
        (None, None) => {}
    }
    out.push_str("Auto-Submitted: auto-replied (vacation)\r\nPrecedence: bulk\r\n");
    out.push_str("X-Auto-Response-Suppress: All\r\nMIME-Version: 1.0\r\n");
    if !r.mime {
        out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        out.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    }
    out.push_str(&to_crlf(r.reason));
    out.push_str("\r\n");
    out.into_bytes()
}

fn to_crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev = '\0';
    for c in s.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests;
