//! Unit tests of the vacation checks and reply layout (expected values observed with
//! Pigeonhole 0.5.19).

use super::*;

fn ctx<'a>(
    msg: &'a [u8],
    sender: &'a str,
    settings: &'a VacationSettings,
    addresses: &'a [String],
) -> VacationContext<'a> {
    VacationContext {
        original: msg,
        sender: Some(sender),
        final_recipient: Some("specuser@example.org"),
        original_recipient: None,
        user_email: None,
        addresses,
        settings,
    }
}

fn check(msg: &str, sender: &str) -> Result<ReplyAllowed, NoReply> {
    let settings = VacationSettings::default();
    check_vacation(&ctx(msg.as_bytes(), sender, &settings, &[]), || false)
}

const TO_ME: &str = "From: alice@example.org\nTo: specuser@example.org\nSubject: x\n";

#[test]
fn suppression_rules_and_their_log_texts() {
    let cases = [
        (
            "List-Id: <l.x>\n",
            "discarding vacation response to mailinglist recipient <alice@example.org>",
        ),
        (
            "Auto-Submitted: auto-generated\n",
            "discarding vacation response to auto-submitted message from <alice@example.org>",
        ),
        (
            "Precedence: Junk\n",
            "discarding vacation response to precedence=Junk message from <alice@example.org>",
        ),
        (
            "X-Auto-Response-Suppress: DR, OOF\n",
            "discarding vacation response to message from <alice@example.org> (`OOF' flag found in x-auto-response-suppress header)",
        ),
        (
            "X-Auto-Response-Suppress: all\n",
            "discarding vacation response to message from <alice@example.org> (`all' flag found in x-auto-response-suppress header)",
        ),
    ];
    for (extra, log) in cases {
        let msg = format!("{TO_ME}{extra}\nhello\n");
        let e = check(&msg, "alice@example.org").err();
        assert_eq!(e.map(|e| e.log_text()), Some(format!("vacation action: {log}")), "{extra}");
    }
    for extra in
        ["Precedence: first-class\n", "Auto-Submitted: no\n", "X-Auto-Response-Suppress: DR\n"]
    {
        let msg = format!("{TO_ME}{extra}\nhello\n");
        assert!(check(&msg, "alice@example.org").is_ok(), "{extra}");
    }
}

#[test]
fn system_addresses() {
    for s in [
        "MAILER-DAEMON@x",
        "mailer-daemon@x",
        "owner-list@x",
        "list-request@x",
        "LISTSERV@x",
        "majordomo@x",
    ] {
        assert_eq!(
            check(&format!("{TO_ME}\n"), s),
            Err(NoReply::SystemAddress(s.to_owned())),
            "{s}"
        );
    }
    for s in ["Owner-list@x", "list-Request@x", "listserv-x@x"] {
        assert!(check(&format!("{TO_ME}\n"), s).is_ok(), "{s}");
    }
}

#[test]
fn envelope_and_own_address_checks_come_first() {
    let settings = VacationSettings::default();
    let msg = format!("{TO_ME}List-Id: x\n\n");
    let mut c = ctx(msg.as_bytes(), "SpecUser@example.org", &settings, &[]);
    let own = check_vacation(&c, || true).err().map(|e| e.log_text());
    assert_eq!(
        own.as_deref(),
        Some("vacation action: discarded vacation reply to own address <SpecUser@example.org>")
    );
    c.sender = None;
    assert_eq!(
        check_vacation(&c, || true).err().map(|e| e.log_text()).as_deref(),
        Some("vacation action: discarded vacation reply to <>")
    );
    c.final_recipient = None;
    assert_eq!(check_vacation(&c, || true), Err(NoReply::EnvelopeRecipientNull));
    let addrs = vec!["alice@example.org".to_owned()];
    let c = ctx(msg.as_bytes(), "alice@example.org", &settings, &addrs);
    assert_eq!(
        check_vacation(&c, || true).err().map(|e| e.log_text()).as_deref(),
        Some(
            "vacation action: discarded vacation reply to own address <alice@example.org> (as specified using :addresses argument)"
        )
    );
    let c = ctx(msg.as_bytes(), "bob@example.org", &settings, &[]);
    assert_eq!(check_vacation(&c, || true), Err(NoReply::Duplicate("bob@example.org".into())));
}

#[test]
fn recipient_must_be_in_headers() {
    let e = check("From: alice@example.org\nTo: x@y\n\n", "alice@example.org").err();
    assert_eq!(
        e.map(|e| e.log_text()).as_deref(),
        Some(
            "vacation action: discarding vacation response for implicitly delivered message; no known (envelope) recipient address found in message headers (recipient=<specuser@example.org>, and no additional `:addresses' are specified)"
        )
    );
    let settings = VacationSettings::default();
    let addrs = vec!["alias@example.org".to_owned()];
    let msg = b"From: a@x\nTo: x@y\nCc: Me <ALIAS@example.org>\n\n";
    let ok = check_vacation(&ctx(msg, "a@x", &settings, &addrs), || false);
    assert_eq!(
        ok.map(|a| a.matched),
        Ok(Some(MatchedAddress::Addresses("alias@example.org".into())))
    );
    let ok = check("From: a@x\nResent-To: specuser@example.org\n\n", "a@x");
    assert!(ok.is_ok());
    let ok = check("From: a@x\nBcc: Specuser <SPECUSER@example.org>\n\n", "a@x");
    assert!(ok.is_ok());
    let skip = VacationSettings { dont_check_recipient: true, ..VacationSettings::default() };
    let ok = check_vacation(&ctx(b"To: x@y\n\n", "a@x", &skip, &[]), || false);
    assert_eq!(ok.map(|a| a.matched), Ok(None));
}

#[test]
fn to_header_selection() {
    let msg = b"From: \"Alice, A.\" <alice@example.org>\nSender: other@example.org\n\n";
    assert_eq!(
        reply_to_header(msg, "alice@example.org", false),
        "\"Alice, A.\" <alice@example.org>"
    );
    assert_eq!(reply_to_header(msg, "other@example.org", false), "<other@example.org>");
    assert_eq!(reply_to_header(msg, "third@example.org", false), "<third@example.org>");
    assert_eq!(reply_to_header(msg, "third@example.org", true), "<other@example.org>");
    let enc = b"From: =?utf-8?q?J=C3=B6rg?= <ALICE@example.org>\n\n";
    assert_eq!(
        reply_to_header(enc, "alice@example.org", false),
        "=?utf-8?q?J=C3=B6rg?= <ALICE@example.org>"
    );
}

#[test]
fn subjects() {
    let s = VacationSettings::default();
    assert_eq!(reply_subject(None, b"Subject: Lunch?\n\n", &s), "Auto: Lunch?");
    assert_eq!(reply_subject(None, b"From: a\n\n", &s), "Automated reply");
    assert_eq!(reply_subject(Some(""), b"Subject: Re: x\n\n", &s), "Auto: Re: x");
    assert_eq!(reply_subject(Some("Away"), b"Subject: x\n\n", &s), "Away");
    let msg = "Subject: =?utf-8?q?caf=C3=A9?= and Gr\u{fc}\u{df}e \x01x\n\n";
    assert_eq!(
        reply_subject(None, msg.as_bytes(), &s),
        "Auto: caf\u{e9} and Gr\u{fc}\u{df}e \u{fffd}x"
    );
    let long = format!("Subject: {}\n\n", "long subject ".repeat(30));
    let cut = reply_subject(None, long.as_bytes(), &s);
    assert_eq!(cut.chars().count(), 256);
    assert!(cut.ends_with("lo\u{2026}"));
    let custom = VacationSettings {
        default_subject: Some("Away".into()),
        default_subject_template: Some("Re(%$)".into()),
        ..VacationSettings::default()
    };
    assert_eq!(reply_subject(None, b"Subject: x\n\n", &custom), "Re(x)");
    assert_eq!(reply_subject(None, b"\n", &custom), "Away");
}

#[test]
fn from_and_envelope_sender() {
    let allowed = ReplyAllowed {
        to: "a@x".into(),
        matched: Some(MatchedAddress::FinalRecipient("me@h".into())),
    };
    assert_eq!(reply_from_header(None, &allowed, "pm@h"), "<me@h>");
    assert_eq!(
        reply_from_header(Some("Bob Builder <bob@h>"), &allowed, "pm@h"),
        "Bob Builder <bob@h>"
    );
    let none = ReplyAllowed { to: "a@x".into(), matched: None };
    assert_eq!(reply_from_header(None, &none, "user@h"), "<user@h>");
    let s = VacationSettings { send_from_recipient: true, ..VacationSettings::default() };
    let c = ctx(b"\n", "a@x", &s, &[]);
    assert_eq!(reply_envelope_sender(&c, &allowed).as_deref(), Some("me@h"));
    let by_addresses = ReplyAllowed {
        to: "a@x".into(),
        matched: Some(MatchedAddress::Addresses("alias@h".into())),
    };
    assert_eq!(reply_envelope_sender(&c, &by_addresses).as_deref(), Some("specuser@example.org"));
    let d = VacationSettings::default();
    assert_eq!(reply_envelope_sender(&ctx(b"\n", "a@x", &d, &[]), &allowed), None);
}

#[test]
fn reply_layout_with_mime_and_without_references() {
    let now = DateTime::parse_from_rfc2822("Wed, 25 Nov 2026 18:30:57 +0000");
    let Ok(now) = now else { panic!("date") };
    let r = VacationReply {
        original: b"From: a@x\nSubject: s\n\nbody\n",
        x_sieve: "X",
        message_id: "<id@vm>",
        now,
        from: "<me@h>",
        to: "<a@x>",
        subject: "Auto: s",
        reason: "Content-Type: text/html\n\n<p>away</p>\n",
        mime: true,
    };
    let out = String::from_utf8_lossy(&build_vacation_reply(&r)).into_owned();
    assert_eq!(
        out,
        "X-Sieve: X\r\nMessage-ID: <id@vm>\r\nDate: Wed, 25 Nov 2026 18:30:57 +0000\r\n\
         From: <me@h>\r\nTo: <a@x>\r\nSubject: Auto: s\r\n\
         Auto-Submitted: auto-replied (vacation)\r\nPrecedence: bulk\r\n\
         X-Auto-Response-Suppress: All\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html\r\n\r\n<p>away</p>\r\n\r\n"
    );
}

#[test]
fn sent_and_failed_log_texts() {
    assert_eq!(
        log_sent("alice@example.org"),
        "vacation action: sent vacation response to <alice@example.org>"
    );
    assert_eq!(
        log_send_failed("alice@example.org", "Sendmail program returned error"),
        "vacation action: failed to send vacation response to alice@example.org: <Sendmail program returned error> (temporary error)"
    );
}

#[test]
fn duplicate_id_matches_pigeonhole_database() {
    let handle = vacation_handle(None, "I am on holiday", None, None, false);
    assert_eq!(handle, "I am on holiday<default-subject><default-from><NO-MIME>");
    // Read back from .dovecot.lda-dupes after a reply to `Alice@Example.org` (observed).
    let id = vacation_duplicate_id("Alice@Example.org", &handle);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "f38d2b765de612f6708b889149076d47");
    assert_eq!(vacation_handle(Some("h"), "r", Some("s"), None, true), "h");
    assert_eq!(vacation_handle(None, "r", Some("s"), Some("f"), true), "rsf<MIME>");
}
