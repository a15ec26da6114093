//! `letterbox lmtp` with real clients: Python's `smtplib.LMTP`, `swaks --protocol LMTP`, raw
//! sockets and stdin/stdout. Per-recipient replies, limits, the detail mailbox, the privilege
//! models, SIGKILL mid-DATA and SIGTERM. Runs as root in CI (then the server either spawns
//! `letterbox deliver` per recipient or drops to `mail_uid`), and unprivileged locally.

use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::Signal;

use crate::support::*;

fn socket(t: &TestHome) -> PathBuf {
    t.root.join("lmtp.sock")
}

/// Deliver with Python's smtplib.LMTP; prints `RCPT codes | DATA reply codes`.
fn python_lmtp(socket: &Path, rcpts: &[&str], message: &str) -> String {
    let script = r#"
import smtplib, sys
path, rcpts, msg = sys.argv[1], sys.argv[2].split(','), sys.argv[3]
s = smtplib.LMTP(path)
s.ehlo()
s.mail('sender@example.com')
codes = [s.rcpt(r)[0] for r in rcpts]
accepted = sum(1 for c in codes if c == 250)
data = []
if accepted:
    data.append(s.data(msg.encode())[0])
    data += [s.getreply()[0] for _ in range(accepted - 1)]
s.quit()
print(' '.join(map(str, codes)) + ' | ' + ' '.join(map(str, data)))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(socket)
        .arg(rcpts.join(","))
        .arg(message)
        .output()
        .expect("python3");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Server options for the one-vmail-uid model: as root, drop to the test user's ids.
pub(crate) fn vmail_uid_args(t: &TestHome) -> Vec<String> {
    if !running_as_root() {
        return Vec::new();
    }
    vec!["-o".into(), format!("mail_uid={}", t.ids.0), "-o".into(), format!("mail_gid={}", t.ids.1)]
}

fn with_bob(t: &TestHome) -> PathBuf {
    let bob = t.root.join("bob");
    make_user_dir(&bob, t.ids);
    t.add_passwd_line(&format!("bob::{}:{}::{}::", t.ids.0, t.ids.1, bob.display()));
    bob
}

#[test]
fn python_smtplib_multi_recipient_replies() {
    let t = TestHome::new();
    let bob = with_bob(&t);
    let _server = LmtpServer::start(&t.conf, &socket(&t), &[]);
    let msg = "Subject: multi\r\nMessage-ID: <multi@x>\r\n\r\n.leading dot\r\nbody\r\n";
    let result = python_lmtp(&socket(&t), &["alice", "nosuch@example.com", "bob"], msg);
    assert_eq!(result, "250 550 250 | 250 250");
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let text = String::from_utf8(inbox[0].1.clone()).unwrap();
    assert!(text.starts_with("Return-Path: <sender@example.com>\nReceived: from "), "{text}");
    assert!(!text.contains("Delivered-To:"), "several recipients: no Delivered-To\n{text}");
    assert!(
        text.ends_with("\nSubject: multi\nMessage-ID: <multi@x>\n\n.leading dot\nbody\n"),
        "{text}"
    );
    assert_eq!(t.messages_in(&bob.join("Maildir")).len(), 1);
    assert!(t.log_text().contains("msgid=<multi@x>: saved mail to INBOX"), "{}", t.log_text());
}

#[test]
fn swaks_delivers_with_single_recipient_headers() {
    let t = TestHome::new();
    let _server = LmtpServer::start(&t.conf, &socket(&t), &[]);
    let out = Command::new("swaks")
        .args(["--protocol", "LMTP", "--socket"])
        .arg(socket(&t))
        .args(["--to", "alice", "--from", "s@example.org", "--helo", "swaks.test"])
        .args(["--header", "Subject: via swaks"])
        .output();
    let Ok(out) = out else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but swaks is missing");
        eprintln!("SKIPPED: swaks not installed");
        return;
    };
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(transcript.contains("<-  250 2.0.0 <alice> "), "{transcript}");
    let text = String::from_utf8(t.inbox()[0].1.clone()).unwrap();
    assert!(
        text.starts_with(
            "Return-Path: <s@example.org>\nDelivered-To: alice\nReceived: from swaks.test\n\tby "
        ),
        "{text}"
    );
    assert!(text.contains("\tfor <alice>; ") && text.contains("Subject: via swaks"), "{text}");
}

#[test]
fn stdin_stdout_session() {
    let t = TestHome::new();
    let mut cmd = Command::new(letterbox_bin());
    cmd.arg("lmtp").arg("-c").arg(&t.conf);
    let input = b"LHLO me\r\nMAIL FROM:<>\r\nRCPT TO:<ghost>\r\nRCPT TO:<alice>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nVRFY alice\r\nQUIT\r\n";
    let out = run_with_stdin(cmd, input);
    assert_code(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("220 ") && text.contains("250-PIPELINING\r\n"), "{text}");
    assert!(text.contains("550 5.1.1 <ghost> User doesn't exist: ghost\r\n"), "{text}");
    assert!(text.contains("354 OK\r\n250 2.0.0 <alice> "), "{text}");
    assert!(text.ends_with("252 2.3.3 Try RCPT instead\r\n221 2.0.0 Bye\r\n"), "{text}");
    let stored = String::from_utf8(t.inbox()[0].1.clone()).unwrap();
    assert!(stored.starts_with("Return-Path: <>\nDelivered-To: alice\n"), "{stored}");
}

#[test]
fn detail_mailbox_and_size_limit() {
    let t = TestHome::with_config("protocol lmtp {\n  lmtp_save_to_detail_mailbox = yes\n}\n");
    let _server = LmtpServer::start(&t.conf, &socket(&t), &["--max-message-size", "200"]);
    let mut c = RawLmtp::connect(&socket(&t));
    assert!(c.cmd("LHLO t").contains("250 SIZE 200\r\n"));
    assert!(c.cmd("MAIL FROM:<a@b> SIZE=201").starts_with("552 5.3.4 "));
    assert!(c.cmd("MAIL FROM:<a@b>").starts_with("250 "));
    assert!(c.cmd("RCPT TO:<alice+Work>").starts_with("250 "));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: small\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250 2.0.0 <alice+Work> "));
    assert_eq!(t.messages_in(&t.maildir().join(".Work")).len(), 1);
    assert!(c.cmd("MAIL FROM:<a@b>").starts_with("250 "));
    assert!(c.cmd("RCPT TO:<alice>").starts_with("250 "));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(format!("Subject: big\r\n\r\n{}\r\n.\r\n", "x".repeat(300)).as_bytes());
    assert!(c.reply().starts_with("552 5.3.4 Message size exceeds administrative limit"));
    assert!(c.cmd("QUIT").starts_with("221 "));
    assert!(t.inbox().is_empty());
}

#[test]
fn one_vmail_uid_refuses_other_uids() {
    let t = TestHome::new();
    let other = t.ids.0 + 1;
    t.add_passwd_line(&format!("carol::{other}:{other}::{}::", t.root.join("carol").display()));
    let args = vmail_uid_args(&t);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = LmtpServer::start(&t.conf, &socket(&t), &args);
    let result = python_lmtp(&socket(&t), &["carol", "alice"], "Subject: uid\r\n\r\nx\r\n");
    assert_eq!(result, "451 250 | 250");
    assert_eq!(t.inbox().len(), 1);
    assert!(t.log_text().contains(&format!("user carol has uid {other}")), "{}", t.log_text());
}

#[test]
fn sigkill_mid_data_stores_nothing_and_reports_no_success() {
    let t = TestHome::new();
    let server = LmtpServer::start(&t.conf, &socket(&t), &[]);
    let mut c = RawLmtp::connect(&socket(&t));
    c.cmd("LHLO t");
    c.cmd("MAIL FROM:<a@b>");
    assert!(c.cmd("RCPT TO:<alice>").starts_with("250 "));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: cut\r\n\r\nhalf a message\r\n");
    std::thread::sleep(std::time::Duration::from_millis(200));
    server.signal(Signal::SIGKILL);
    let rest = c.reply();
    assert!(!rest.starts_with('2'), "no success after SIGKILL: {rest:?}");
    drop(server);
    assert!(t.inbox().is_empty());
    assert!(t.tmp_files(&t.maildir()).is_empty());
}

#[test]
fn sigterm_finishes_the_transaction_then_stops() {
    let t = TestHome::new();
    let mut server = LmtpServer::start(&t.conf, &socket(&t), &[]);
    let mut idle = RawLmtp::connect(&socket(&t));
    let mut busy = RawLmtp::connect(&socket(&t));
    busy.cmd("LHLO t");
    busy.cmd("MAIL FROM:<a@b>");
    assert!(busy.cmd("RCPT TO:<alice>").starts_with("250 "));
    assert!(busy.cmd("DATA").starts_with("354"));
    busy.send(b"Subject: in flight\r\n\r\n");
    server.signal(Signal::SIGTERM);
    assert!(idle.reply().starts_with("421 4.3.2 Server shutting down"));
    busy.send(b"rest of it\r\n.\r\n");
    assert!(busy.reply().starts_with("250 2.0.0 <alice> "), "in-flight delivery completes");
    assert!(busy.reply().starts_with("421 4.3.2 "));
    assert_eq!(server.wait_exit(), Some(0));
    assert_eq!(t.inbox().len(), 1);
    assert!(!server.socket.exists(), "socket file removed");
    // The kept dotlock link source (one vmail uid model) is removed at a clean stop.
    let tmp: Vec<_> = std::fs::read_dir(t.maildir().join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "left in tmp/: {tmp:?}");
}

#[test]
fn in_process_recipients_get_sieve_and_quota() {
    let t = TestHome::with_config(
        "mail_plugins = sieve quota\nplugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n  quota = maildir:User quota\n  quota_rule = *:storage=1K\n}\n",
    );
    write_file(&t.home.join(".dovecot.sieve"), "require \"fileinto\";\nfileinto \"Filed\";\n");
    let bob = with_bob(&t);
    write_file(&bob.join(".dovecot.sieve"), "keep;\n");
    // bob's mailbox is already over its 1K quota.
    let mut cmd = Command::new(letterbox_bin());
    cmd.args([
        "deliver",
        "-c",
        t.conf.to_str().unwrap(),
        "-d",
        "bob",
        "-e",
        "-o",
        "plugin/quota_rule=*:storage=10M",
    ]);
    let filler = format!("Subject: filler\n\n{}\n", "y".repeat(1500));
    assert_code(&run_with_stdin(cmd, filler.as_bytes()), 0);
    let args = vmail_uid_args(&t);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = LmtpServer::start(&t.conf, &socket(&t), &args);
    let result = python_lmtp(
        &socket(&t),
        &["alice", "bob"],
        "Subject: sieve\r\nMessage-ID: <lmtp-sieve@x>\r\n\r\nhello\r\n",
    );
    assert_eq!(result, "250 250 | 250 552");
    assert_eq!(t.messages_in(&t.maildir().join(".Filed")).len(), 1, "alice's Sieve script ran");
    assert!(t.inbox().is_empty());
    assert_eq!(t.messages_in(&bob.join("Maildir")).len(), 1, "bob got nothing new");
}
