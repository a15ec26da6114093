//! End to end: decide, build and submit a Sieve-reject MDN and a redirect through a capturing
//! fake sendmail, and compare what it received with the mails captured from real Dovecot.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::DateTime;
use outgoing_mail::redirect::{
    PIGEONHOLE_X_SIEVE, RedirectEnvelope, RedirectEnvelopeFrom, redirect_envelope_sender,
    redirected_message,
};
use outgoing_mail::report::{DEFAULT_REJECTION_REASON, DEFAULT_REJECTION_SUBJECT};
use outgoing_mail::{RejectionDecision, RejectionMail, Sendmail, build_mdn, decide};

fn golden(case: &str, file: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden").join(case).join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

/// A fake sendmail in `dir` writing its arguments (one per line, `$0` excluded) and stdin.
fn capture_script(dir: &Path) -> String {
    let path = dir.join("sendmail");
    let body = format!(
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {d}/argv\ncat > {d}/stdin\n",
        d = dir.display()
    );
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    format!("{} -oi", path.display())
}

/// The captured argv without the program, as `expected.argv` lists it after its first line.
fn expected_args(case: &str) -> String {
    let argv = String::from_utf8_lossy(&golden(case, "expected.argv")).into_owned();
    argv.split_once('\n').map(|(_, rest)| rest.to_owned()).unwrap_or_default()
}

#[test]
fn sieve_reject_mdn_reaches_sendmail_as_dovecot_sends_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sendmail = Sendmail::new(capture_script(dir.path()));
    let original = golden("mdn-basic", "input.eml");
    let expected = golden("mdn-basic", "expected.eml");
    let reason = "I do not want this";
    let decision = decide(&original, Some("erin@example.com"), "postmaster@example.org", reason);
    let Ok(RejectionDecision::Send { return_address, postmaster }) = decision else {
        panic!("not sent: {decision:?}");
    };
    let text = String::from_utf8_lossy(&expected).into_owned();
    let value =
        |p: &str| text.lines().find_map(|l| l.strip_prefix(p)).map(|v| v.trim_end().to_owned());
    let message_id = value("Message-ID: ").unwrap_or_default();
    let now = DateTime::parse_from_rfc2822(&value("Date: ").unwrap_or_default());
    let now = now.unwrap_or_else(|e| panic!("{e}"));
    let boundary = value("\tboundary=\"").unwrap_or_default();
    let mail = RejectionMail {
        original: &original,
        return_address: &return_address,
        postmaster: &postmaster,
        final_recipient: "specuser@mx.example.org",
        reason,
        rejection_subject: DEFAULT_REJECTION_SUBJECT,
        rejection_reason: DEFAULT_REJECTION_REASON,
        hostname: "mx.example.org",
        message_id: &message_id,
        boundary: boundary.trim_end_matches('"'),
        now,
    };
    let built = build_mdn(&mail);
    assert!(built.errors.is_empty(), "{:?}", built.errors);
    sendmail.send(None, &[return_address], &built.message).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap_or_default(), expected);
    let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap_or_default();
    assert_eq!(argv, expected_args("mdn-basic"));
}

#[test]
fn redirect_reaches_sendmail_with_the_original_sender() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sendmail = Sendmail::new(capture_script(dir.path()));
    let case = "redirect-two-return-paths";
    let original = golden(case, "input.eml");
    let expected = golden(case, "expected.eml");
    let text = String::from_utf8_lossy(&expected).into_owned();
    let msgid = text.lines().find_map(|l| l.strip_prefix("Message-ID: ")).unwrap_or_default();
    let out =
        redirected_message(&original, PIGEONHOLE_X_SIEVE, "specuser@example.org", msgid.trim_end());
    let env = RedirectEnvelope { sender: Some("a@x"), ..RedirectEnvelope::default() };
    let from = redirect_envelope_sender(&RedirectEnvelopeFrom::Sender, &env);
    sendmail
        .send(from.as_deref(), &["carol@example.net".to_owned()], &out)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap_or_default(), expected);
    let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap_or_default();
    assert_eq!(argv, expected_args(case));
}
