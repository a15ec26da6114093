//! The quota plugin at delivery: usage recorded, over quota → rejection DSN, `-e` → 77,
//! `quota_full_tempfail` → 75 (quota.md, bounces.md).

use crate::sieve_delivery::{sent, sieve_home};
use crate::support::*;

/// A home with a 1 KiB storage quota (so the second sample message no longer fits) and a
/// capturing sendmail (sieve_home sets that up; no script is active without a sieve plugin).
fn quota_home(extra_settings: &str) -> TestHome {
    let t = sieve_home("keep;\n", "  quota = maildir:User quota\n  quota_rule = *:storage=1K\n");
    let conf = std::fs::read_to_string(&t.conf)
        .unwrap()
        .replace("mail_plugins = sieve", "mail_plugins = quota");
    write_file(&t.conf, &format!("{conf}{extra_settings}\n"));
    t
}

fn big_message(id: &str) -> Vec<u8> {
    let mut m = sample_message(id);
    m.extend(std::iter::repeat_n(b'x', 700));
    m.push(b'\n');
    m
}

#[test]
fn usage_is_recorded_in_maildirsize() {
    let t = quota_home("");
    assert_code(&t.deliver(&[], &sample_message("q1")), 0);
    let size = std::fs::read_to_string(t.maildir().join("maildirsize")).unwrap();
    let total: i64 =
        size.lines().skip(1).filter_map(|l| l.split_whitespace().next()?.parse::<i64>().ok()).sum();
    assert_eq!(total as usize, sample_message("q1").len(), "{size}");
    assert!(size.starts_with("1024S"), "{size}");
}

#[test]
fn over_quota_sends_a_rejection_and_stores_nothing() {
    let t = quota_home("");
    assert_code(&t.deliver(&["-f", "alice@example.com"], &big_message("q2")), 0);
    assert_code(&t.deliver(&["-f", "alice@example.com"], &big_message("q3")), 0);
    assert_eq!(t.inbox().len(), 1, "the second message did not fit");
    let mails = sent(&t);
    assert_eq!(mails.len(), 1);
    let (argv, eml) = &mails[0];
    assert_eq!(argv, &["-i", "-f", "<>", "--", "alice@example.com"]);
    assert!(eml.contains("report-type=delivery-status"), "{eml}");
    assert!(eml.contains("Status: 5.2.2"), "{eml}");
    assert!(
        t.log_text().contains("rejected: Quota exceeded (mailbox for user is full)"),
        "{}",
        t.log_text()
    );
}

#[test]
fn over_quota_with_dash_e_is_77() {
    let t = quota_home("");
    assert_code(&t.deliver(&["-e"], &big_message("q4")), 0);
    let out = t.deliver(&["-e"], &big_message("q5"));
    assert_code(&out, 77);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next(),
        Some("Quota exceeded (mailbox for user is full)")
    );
    assert!(sent(&t).is_empty());
}

#[test]
fn quota_full_tempfail_is_75() {
    let t = quota_home("quota_full_tempfail = yes");
    assert_code(&t.deliver(&[], &big_message("q6")), 0);
    assert_code(&t.deliver(&[], &big_message("q7")), 75);
    assert_eq!(t.inbox().len(), 1);
    assert!(sent(&t).is_empty());
}

#[test]
fn max_mail_size_is_a_temporary_failure() {
    let t = quota_home("plugin {\n  quota_max_mail_size = 100\n}");
    let out = t.deliver(&["-e"], &big_message("q8"));
    assert_code(&out, 75);
    assert!(t.inbox().is_empty());
}
