//! Deliveries that run Sieve: actions, flags, fallbacks, sending (with a capturing sendmail).

use std::path::{Path, PathBuf};

use crate::support::*;

/// A home with Sieve enabled, a capturing sendmail and `script` as the user's active script.
pub(crate) fn sieve_home(script: &str, extra: &str) -> TestHome {
    let probe = TestHome::new();
    let sendmail = probe.root.join("sendmail.sh");
    drop(probe);
    let t = TestHome::with_config(&format!(
        "mail_plugins = sieve\nsendmail_path = {}\npostmaster_address = postmaster@example.com\nplugin {{\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n{extra}}}\n",
        sendmail.display()
    ));
    let sendmail = t.root.join("sendmail.sh");
    let outbox = t.root.join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    std::fs::set_permissions(&outbox, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
        .unwrap();
    write_file(
        &sendmail,
        &format!(
            "#!/bin/sh\nn=$(/bin/date +%s%N)\nprintf '%s\\n' \"$@\" > {0}/$n.argv\n/bin/cat > {0}/$n.eml\n",
            outbox.display()
        ),
    );
    std::fs::set_permissions(&sendmail, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    // The config above was written with a path from another temp dir: rewrite it with ours.
    let conf = std::fs::read_to_string(&t.conf).unwrap();
    let fixed: String = conf
        .lines()
        .map(|l| {
            if l.starts_with("sendmail_path") {
                format!("sendmail_path = {}", sendmail.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    write_file(&t.conf, &(fixed + "\n"));
    write_file(&t.home.join(".dovecot.sieve"), script);
    t
}

/// Mails the capturing sendmail received: (argv lines, message).
pub(crate) fn sent(t: &TestHome) -> Vec<(Vec<String>, String)> {
    let outbox = t.root.join("outbox");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "argv"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|argv| {
            let args = std::fs::read_to_string(argv).unwrap().lines().map(String::from).collect();
            let eml = std::fs::read_to_string(argv.with_extension("eml")).unwrap_or_default();
            (args, eml)
        })
        .collect()
}

fn user_log(t: &TestHome) -> String {
    std::fs::read_to_string(t.home.join(".dovecot.sieve.log")).unwrap_or_default()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            out.extend(rd.map(|e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy())));
        }
    }
    out
}

#[test]
fn fileinto_with_flags_and_keywords() {
    let t = sieve_home(
        "require [\"fileinto\", \"imap4flags\"];\nfileinto :flags [\"\\\\Seen\", \"\\\\Flagged\", \"$work\"] \"Work\";\n",
        "",
    );
    assert_code(&t.deliver(&[], &sample_message("fi")), 0);
    let work = t.maildir().join(".Work");
    let names = names_in(&work);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("cur/") && names[0].ends_with(":2,FSa"), "{names:?}");
    let keywords = std::fs::read_to_string(work.join("dovecot-keywords")).unwrap();
    assert!(keywords.contains("0 $work"), "{keywords}");
    assert!(t.inbox().is_empty(), "fileinto cancels the implicit keep");
    assert!(
        t.log_text().contains(
            "sieve: msgid=<fi@example.com>: fileinto action: stored mail into mailbox 'Work'"
        ),
        "{}",
        t.log_text()
    );
}

#[test]
fn fileinto_missing_mailbox_with_dash_n_falls_back_to_inbox() {
    let t = sieve_home("require \"fileinto\";\nfileinto \"Missing\";\n", "");
    assert_code(&t.deliver(&["-n"], &sample_message("miss")), 0);
    assert_eq!(t.inbox().len(), 1);
    assert!(!t.maildir().join(".Missing").exists());
    let ulog = user_log(&t);
    assert!(ulog.contains("failed to store into mailbox 'Missing'"), "{ulog}");
    assert!(ulog.starts_with("sieve: info: started log at "), "{ulog}");
}

#[test]
fn fileinto_creates_missing_mailboxes_by_default() {
    let t = sieve_home("require \"fileinto\";\nfileinto \"Lists.Rust\";\n", "");
    assert_code(&t.deliver(&[], &sample_message("create")), 0);
    assert_eq!(t.messages_in(&t.maildir().join(".Lists.Rust")).len(), 1);
}

#[test]
fn discard_stores_nothing() {
    let t = sieve_home("discard;\n", "");
    assert_code(&t.deliver(&[], &sample_message("disc")), 0);
    assert!(t.inbox().is_empty());
    assert!(
        t.log_text().contains("discard action: Marked message to be discarded"),
        "{}",
        t.log_text()
    );
}

#[test]
fn compile_error_keeps_into_inbox_and_writes_the_user_log() {
    let t = sieve_home("require \"fileinto\";\nfileinto \"X\"\n", "");
    assert_code(&t.deliver(&[], &sample_message("broken")), 0);
    assert_eq!(t.inbox().len(), 1);
    assert!(user_log(&t).contains(".dovecot: line 3: error:"), "{}", user_log(&t));
    assert!(t.log_text().contains("Failed to compile script"), "{}", t.log_text());
}

#[test]
fn redirect_forwards_once_then_keeps_the_duplicate() {
    let t = sieve_home("redirect \"carol@example.net\";\n", "");
    assert_code(
        &t.deliver(&["-f", "alice@example.com", "-a", "alice@example.org"], &sample_message("red")),
        0,
    );
    assert!(t.inbox().is_empty());
    let mails = sent(&t);
    assert_eq!(mails.len(), 1);
    let (argv, eml) = &mails[0];
    assert_eq!(argv, &["-i", "-f", "alice@example.com", "--", "carol@example.net"]);
    assert!(eml.starts_with("X-Sieve: Pigeonhole Sieve 0.5.19"), "{eml}");
    assert!(eml.contains("X-Sieve-Redirected-From: alice@example.org"), "{eml}");
    assert!(t.log_text().contains("redirect action: forwarded to <carol@example.net>"));
    // The same message again: suppressed as a duplicate, so the implicit keep stores it.
    assert_code(
        &t.deliver(&["-f", "alice@example.com", "-a", "alice@example.org"], &sample_message("red")),
        0,
    );
    assert_eq!(sent(&t).len(), 1);
    assert_eq!(t.inbox().len(), 1);
    assert!(
        t.log_text().contains("discarded duplicate forward to <carol@example.net>"),
        "{}",
        t.log_text()
    );
}

#[test]
fn vacation_replies_once_per_sender() {
    let t = sieve_home(
        "require \"vacation\";\nvacation :days 1 :subject \"Away\" \"I am away.\";\n",
        "",
    );
    let msg = b"From: Bob <bob@example.com>\nTo: alice@example.org\nSubject: hi\nMessage-ID: <v1@example.com>\n\nhello\n";
    assert_code(&t.deliver(&["-f", "bob@example.com", "-a", "alice@example.org"], msg), 0);
    assert_eq!(t.inbox().len(), 1, "vacation keeps the message");
    let mails = sent(&t);
    assert_eq!(mails.len(), 1);
    let (argv, eml) = &mails[0];
    assert_eq!(argv, &["-i", "-f", "<>", "--", "bob@example.com"]);
    assert!(eml.contains("Subject: Away"), "{eml}");
    assert!(eml.contains("Auto-Submitted: auto-replied"), "{eml}");
    assert!(eml.contains("In-Reply-To: <v1@example.com>"), "{eml}");
    assert_code(&t.deliver(&["-f", "bob@example.com", "-a", "alice@example.org"], msg), 0);
    assert_eq!(sent(&t).len(), 1, "no second reply within the period");
    assert_eq!(t.inbox().len(), 2);
}

#[test]
fn vacation_is_not_sent_to_lists_or_when_not_addressed() {
    let t = sieve_home("require \"vacation\";\nvacation \"away\";\n", "");
    let list = b"From: bob@example.com\nTo: alice@example.org\nList-Id: <l.example.com>\nSubject: x\n\nb\n";
    assert_code(&t.deliver(&["-f", "bob@example.com", "-a", "alice@example.org"], list), 0);
    let other = b"From: bob@example.com\nTo: someone@example.org\nSubject: x\n\nb\n";
    assert_code(&t.deliver(&["-f", "bob@example.com", "-a", "alice@example.org"], other), 0);
    assert!(sent(&t).is_empty());
    assert_eq!(t.inbox().len(), 2);
}

#[test]
fn reject_sends_an_mdn_and_stores_nothing() {
    let t = sieve_home("require \"reject\";\nreject \"Go away\";\n", "");
    assert_code(
        &t.deliver(&["-f", "alice@example.com", "-a", "bob@example.com"], &sample_message("rej")),
        0,
    );
    assert!(t.inbox().is_empty());
    let mails = sent(&t);
    assert_eq!(mails.len(), 1);
    let (argv, eml) = &mails[0];
    assert_eq!(argv, &["-i", "-f", "<>", "--", "alice@example.com"]);
    assert!(eml.contains("multipart/report; report-type=disposition-notification"), "{eml}");
    assert!(eml.contains("Go away"), "{eml}");
    assert!(eml.contains("From: Postmaster <postmaster@example.com>"), "{eml}");
    assert!(eml.contains("Final-Recipient: rfc822; bob@example.com"), "{eml}");
}

#[test]
fn reject_with_dash_e_is_77_with_the_reason_on_stderr() {
    let t = sieve_home("require \"reject\";\nreject \"Go away\";\n", "");
    let out = t.deliver(&["-e", "-f", "alice@example.com"], &sample_message("rej-e"));
    assert_code(&out, 77);
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().next(), Some("Go away"));
    assert!(t.inbox().is_empty());
    assert!(sent(&t).is_empty(), "no MDN with -e");
}

#[test]
fn sieve_before_and_after_scripts_run_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let before = dir.path().join("before.sieve");
    write_file(&before, "require [\"imap4flags\"];\naddflag \"\\\\Flagged\";\n");
    let after = dir.path().join("after.sieve");
    write_file(&after, "require [\"fileinto\"];\nfileinto \"After\";\n");
    let extra =
        format!("  sieve_before = {}\n  sieve_after = {}\n", before.display(), after.display());
    let t = sieve_home("keep;\n", &extra);
    assert_code(&t.deliver(&[], &sample_message("seq")), 0);
    assert!(t.inbox().is_empty(), "the after script cancelled the earlier keep");
    let names = names_in(&t.maildir().join(".After"));
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn editheader_changes_only_the_stored_copy() {
    let t = sieve_home(
        "require \"editheader\";\naddheader \"X-Filtered\" \"yes\";\n",
        "  sieve_extensions = +editheader\n",
    );
    assert_code(&t.deliver(&[], &sample_message("eh")), 0);
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert!(text.starts_with("X-Filtered: yes\n"), "{text}");
    assert!(text.ends_with("Hello eh\n"), "{text}");
}

#[test]
fn no_sieve_plugin_means_no_sieve() {
    let t = sieve_home("discard;\n", "");
    let conf = std::fs::read_to_string(&t.conf).unwrap().replace("mail_plugins = sieve", "");
    write_file(&t.conf, &conf);
    assert_code(&t.deliver(&[], &sample_message("nop")), 0);
    assert_eq!(t.inbox().len(), 1);
}
