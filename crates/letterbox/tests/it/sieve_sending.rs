//! Every vacation rule, every rejection path and every sending failure, through the binary with
//! a capturing (or failing) sendmail (issue #4's acceptance list).

use crate::sieve_delivery::{sent, sieve_home};
use crate::support::*;

const VACATION: &str = "require \"vacation\";\nvacation :days 1 \"I am away.\";\n";

fn msg(headers: &str) -> Vec<u8> {
    format!("{headers}Subject: hello\nMessage-ID: <vac@example.com>\n\nbody\n").into_bytes()
}

/// (description, envelope sender, extra headers, expected replies, log text when not sent)
const VACATION_RULES: &[(&str, &str, &str, usize, &str)] = &[
    ("addressed in To", "bob@example.com", "From: bob@example.com\nTo: alice@example.org\n", 1, ""),
    (
        "addressed in Cc",
        "bob@example.com",
        "From: bob@example.com\nTo: x@example.net\nCc: Alice <alice@example.org>\n",
        1,
        "",
    ),
    (
        "null sender",
        "",
        "From: bob@example.com\nTo: alice@example.org\n",
        0,
        "discarded vacation reply to <>",
    ),
    (
        "mailing list",
        "bob@example.com",
        "From: bob@example.com\nTo: alice@example.org\nList-Id: <x.example.com>\n",
        0,
        "to mailinglist recipient",
    ),
    (
        "auto-submitted",
        "bob@example.com",
        "From: bob@example.com\nTo: alice@example.org\nAuto-Submitted: auto-replied\n",
        0,
        "to auto-submitted message",
    ),
    (
        "precedence bulk",
        "bob@example.com",
        "From: bob@example.com\nTo: alice@example.org\nPrecedence: bulk\n",
        0,
        "precedence=bulk",
    ),
    (
        "mailer-daemon",
        "MAILER-DAEMON@example.com",
        "From: MAILER-DAEMON@example.com\nTo: alice@example.org\n",
        0,
        "not sending vacation response to system address",
    ),
    (
        "owner- sender",
        "owner-list@example.com",
        "From: owner-list@example.com\nTo: alice@example.org\n",
        0,
        "system address",
    ),
    (
        "-request sender",
        "list-request@example.com",
        "From: list-request@example.com\nTo: alice@example.org\n",
        0,
        "system address",
    ),
    (
        "not addressed",
        "bob@example.com",
        "From: bob@example.com\nTo: other@example.org\n",
        0,
        "no known (envelope) recipient address",
    ),
    (
        "sender is recipient",
        "alice@example.org",
        "From: alice@example.org\nTo: alice@example.org\n",
        0,
        "to own address",
    ),
];

#[test]
fn every_vacation_rule() {
    for (what, sender, headers, replies, log) in VACATION_RULES {
        let t = sieve_home(VACATION, "");
        let out = t.deliver(&["-f", sender, "-a", "alice@example.org"], &msg(headers));
        assert_code(&out, 0);
        assert_eq!(sent(&t).len(), *replies, "{what}: {}", t.log_text());
        assert_eq!(t.inbox().len(), 1, "{what}: vacation never cancels the keep");
        if !log.is_empty() {
            let text = t.log_text().to_lowercase();
            assert!(text.contains(log), "{what}: expected {log:?} in the log:\n{text}");
        }
    }
}

#[test]
fn vacation_addresses_and_from_and_subject_and_mime() {
    let script = "require \"vacation\";\nvacation :addresses [\"alias@example.org\"] :from \"Alice <alice@example.org>\" :subject \"Gone\" :mime \"Content-Type: text/plain; charset=utf-8\n\nBack soon.\n\";\n";
    let t = sieve_home(script, "");
    let out = t.deliver(
        &["-f", "bob@example.com", "-a", "alice@example.org"],
        &msg("From: bob@example.com\nTo: alias@example.org\n"),
    );
    assert_code(&out, 0);
    let mails = sent(&t);
    assert_eq!(mails.len(), 1, "{}", t.log_text());
    let eml = &mails[0].1;
    assert!(eml.contains("From: Alice <alice@example.org>"), "{eml}");
    assert!(eml.contains("Subject: Gone"), "{eml}");
    assert!(eml.contains("Content-Type: text/plain; charset=utf-8"), "{eml}");
    assert!(eml.contains("Back soon."), "{eml}");
}

#[test]
fn vacation_handle_separates_replies_and_seconds_need_the_extension() {
    let script = "require [\"vacation\", \"vacation-seconds\"];\nvacation :seconds 1 :handle \"a\" \"Away A\";\n";
    let t = sieve_home(script, "  sieve_extensions = +vacation-seconds\n");
    let args = ["-f", "bob@example.com", "-a", "alice@example.org"];
    assert_code(&t.deliver(&args, &msg("From: bob@example.com\nTo: alice@example.org\n")), 0);
    assert_eq!(sent(&t).len(), 1, "{}", t.log_text());
    write_file(
        &t.home.join(".dovecot.sieve"),
        "require \"vacation\";\nvacation :handle \"b\" \"Away B\";\n",
    );
    assert_code(&t.deliver(&args, &msg("From: bob@example.com\nTo: alice@example.org\n")), 0);
    assert_eq!(sent(&t).len(), 2, "another handle replies again");
}

#[test]
fn reject_is_not_mailed_to_auto_submitted_or_null_senders() {
    let t = sieve_home("require \"reject\";\nreject \"no\";\n", "");
    let auto = msg("From: bob@example.com\nAuto-Submitted: auto-generated\n");
    assert_code(&t.deliver(&["-f", "bob@example.com"], &auto), 0);
    assert_code(&t.deliver(&["-f", ""], &msg("From: bob@example.com\n")), 0);
    assert!(sent(&t).is_empty());
    assert!(t.inbox().is_empty(), "rejected messages are not stored");
    let log = t.log_text();
    assert!(log.contains("Auto-submitted message discarded"), "{log}");
    assert!(log.contains("Return-Path missing"), "{log}");
}

#[test]
fn reject_uses_return_path_when_the_sender_is_null() {
    let t = sieve_home("require \"reject\";\nreject \"no\";\n", "");
    assert_code(
        &t.deliver(&["-f", "<>"], &msg("Return-Path: <rp@example.com>\nFrom: bob@example.com\n")),
        0,
    );
    let mails = sent(&t);
    assert_eq!(mails.len(), 1, "{}", t.log_text());
    assert_eq!(mails[0].0.last().map(String::as_str), Some("rp@example.com"));
}

/// A home whose sendmail is `script`.
fn failing_sendmail(script_body: &str, sieve: &str) -> TestHome {
    let t = sieve_home(sieve, "");
    let sendmail = t.root.join("sendmail.sh");
    write_file(&sendmail, &format!("#!/bin/sh\n{script_body}\n"));
    std::fs::set_permissions(&sendmail, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    t
}

#[test]
fn redirect_send_failure_is_a_tempfail_with_nothing_stored() {
    let t = failing_sendmail("/bin/cat >/dev/null; exit 75", "redirect \"carol@example.net\";\n");
    assert_code(&t.deliver(&["-f", "bob@example.com"], &sample_message("rf")), 75);
    assert!(t.inbox().is_empty());
}

#[test]
fn missing_sendmail_for_redirect_is_a_tempfail() {
    let t = sieve_home("redirect \"carol@example.net\";\n", "");
    std::fs::remove_file(t.root.join("sendmail.sh")).unwrap();
    assert_code(&t.deliver(&["-f", "bob@example.com"], &sample_message("ms")), 75);
    assert!(t.inbox().is_empty());
}

#[test]
fn vacation_send_failure_is_logged_and_the_message_kept() {
    let t = failing_sendmail("/bin/cat >/dev/null; exit 1", VACATION);
    let out = t.deliver(
        &["-f", "bob@example.com", "-a", "alice@example.org"],
        &msg("From: bob@example.com\nTo: alice@example.org\n"),
    );
    assert_code(&out, 0);
    assert_eq!(t.inbox().len(), 1);
    assert!(t.log_text().contains("failed to send vacation response"), "{}", t.log_text());
}

#[test]
fn reject_mdn_send_failure_keeps_the_message() {
    let t =
        failing_sendmail("/bin/cat >/dev/null; exit 1", "require \"reject\";\nreject \"no\";\n");
    assert_code(&t.deliver(&["-f", "bob@example.com"], &sample_message("mf")), 0);
    assert_eq!(t.inbox().len(), 1, "observed Dovecot: the script fails and the message is kept");
}

#[test]
fn a_hanging_sendmail_is_bounded_by_submission_timeout() {
    let t = failing_sendmail("/bin/sleep 600", "redirect \"carol@example.net\";\n");
    let start = std::time::Instant::now();
    let out = t.deliver(
        &["-f", "bob@example.com", "-o", "submission_timeout=2s"],
        &sample_message("hang"),
    );
    assert_code(&out, 75);
    assert!(start.elapsed().as_secs() < 30, "sendmail timeout must bound the delivery");
}
