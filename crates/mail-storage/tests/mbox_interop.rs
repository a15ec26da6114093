//! Real Dovecot 2.3 and letterbox writing mbox: the same messages delivered by
//! `dovecot-lda` into one home and by this crate into another give the same bytes (modulo
//! the From_ line date and the `X-IMAPbase`/`X-UID` headers Dovecot adds at its sync), and
//! `doveadm fetch` reads both the same; deliveries alternating between the two into one mbox
//! keep UIDs unique and increasing. Needs `/usr/lib/dovecot/dovecot-lda` and `doveadm`;
//! without them the test is skipped with a message, unless `CI` is set. As root, both sides
//! run as `nobody`.

mod mbox_common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mbox_common::*;

const MESSAGES: &[(&str, &[u8])] = &[
    ("someone@example.com", b"Subject: one\nStatus: RO\nX-UID: 77\n\nFrom here\nbody"),
    ("", b"Subject: two\nX-Keywords: junk\n  cont\nContent-Length: 5\n\nhi\n"),
    ("b@example.com", b"Subject: three\n\n>From x\n\n"),
];

fn dovecot_tools() -> Option<PathBuf> {
    let lda = std::env::var_os("LB_DOVECOT_LDA")
        .map_or_else(|| PathBuf::from("/usr/lib/dovecot/dovecot-lda"), PathBuf::from);
    if lda.exists() && Path::new("/usr/bin/doveadm").exists() {
        return Some(lda);
    }
    assert!(std::env::var_os("CI").is_none(), "dovecot-lda/doveadm missing (required on CI)");
    eprintln!("SKIPPED: dovecot-lda or doveadm not installed");
    None
}

/// `env -i HOME=… USER=… PATH=…` program, as nobody when we are root.
fn as_user(home: &Path, program: &Path) -> Command {
    let mut cmd = if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"]);
        cmd
    } else {
        Command::new("env")
    };
    let user =
        if is_root() { "nobody".to_owned() } else { std::env::var("USER").unwrap_or_default() };
    cmd.arg("-i")
        .arg(format!("HOME={}", home.display()))
        .arg(format!("USER={user}"))
        .arg("PATH=/usr/bin:/bin")
        .arg(program);
    cmd
}

fn setup_home() -> tempfile::TempDir {
    let home = open_tempdir();
    fs::write(
        home.path().join("dovecot.conf"),
        format!(
            "mail_location = mbox:{0}/mail:INBOX={0}/inbox\nlog_path = {0}/log\nssl = no\n",
            home.path().display()
        ),
    )
    .unwrap();
    give_to_nobody(home.path());
    home
}

fn deliver_with_dovecot(lda: &Path, home: &Path, sender: &str, msg: &[u8]) {
    let sender = if sender.is_empty() { "<>" } else { sender };
    let mut child = as_user(home, lda)
        .arg("-c")
        .arg(home.join("dovecot.conf"))
        .args(["-f", sender])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(msg).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "dovecot-lda: {status}; log: {:?}",
        fs::read_to_string(home.join("log"))
    );
}

/// Child: one save of `LB_IOP_MSG` (a file) with sender `LB_IOP_SENDER` into the INBOX of
/// `LB_IOP_HOME`.
#[test]
fn child_interop_save() {
    let Ok(home) = std::env::var("LB_IOP_HOME") else { return };
    let location = format!("mbox:{home}/mail:INBOX={home}/inbox");
    let user = user(&location, Path::new(&home));
    let msg = fs::read(std::env::var("LB_IOP_MSG").unwrap()).unwrap();
    let sender = std::env::var("LB_IOP_SENDER").unwrap();
    save_msg(&user, "INBOX", &msg, Some(&sender)).unwrap();
}

fn deliver_with_letterbox(home: &Path, sender: &str, msg: &[u8]) {
    let msg_path = home.join("msg.eml");
    fs::write(&msg_path, msg).unwrap();
    give_to_nobody(&msg_path);
    let status = child("child_interop_save", true)
        .env("LB_IOP_HOME", home)
        .env("LB_IOP_MSG", &msg_path)
        .env("LB_IOP_SENDER", sender)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

fn doveadm(home: &Path, args: &[&str]) -> String {
    let out = as_user(home, Path::new("/usr/bin/doveadm"))
        .arg("-c")
        .arg(home.join("dovecot.conf"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The mbox with From_ dates masked and Dovecot's UID headers removed.
fn normalized(path: &Path) -> String {
    let text = String::from_utf8(fs::read(path).unwrap()).unwrap();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("X-IMAPbase: ") || line.starts_with("X-UID: ") {
            continue;
        }
        match line.strip_prefix("From ").and_then(|rest| rest.split_once("  ")) {
            Some((sender, _date)) => out.push_str(&format!("From {sender}  <date>\n")),
            None => out.push_str(line),
        }
    }
    out
}

#[test]
fn dovecot_reads_our_mbox_like_its_own() {
    let Some(lda) = dovecot_tools() else { return };
    let theirs = setup_home();
    let ours = setup_home();
    for (sender, msg) in MESSAGES {
        deliver_with_dovecot(&lda, theirs.path(), sender, msg);
        deliver_with_letterbox(ours.path(), sender, msg);
    }
    let ours_before_sync = normalized(&ours.path().join("inbox"));
    assert_eq!(ours_before_sync, normalized(&theirs.path().join("inbox")));
    let fetch = ["fetch", "uid flags body", "mailbox", "INBOX", "all"];
    let ours_fetched = doveadm(ours.path(), &fetch);
    assert_eq!(ours_fetched, doveadm(theirs.path(), &fetch));
    assert!(ours_fetched.contains("uid: 3"), "{ours_fetched}");
    // Dovecot's sync only filled X-IMAPbase/X-UID into the reserved padding.
    assert_eq!(
        normalized(&ours.path().join("inbox")).replace(' ', ""),
        ours_before_sync.replace(' ', "")
    );
}

#[test]
fn alternating_deliveries_keep_uids_unique_and_increasing() {
    let Some(lda) = dovecot_tools() else { return };
    let home = setup_home();
    for round in 0..6 {
        let msg = format!("Subject: round {round}\n\nbody {round}\n");
        if round % 2 == 0 {
            deliver_with_dovecot(&lda, home.path(), "d@x", msg.as_bytes());
        } else {
            deliver_with_letterbox(home.path(), "l@x", msg.as_bytes());
        }
    }
    let fetched = doveadm(home.path(), &["fetch", "uid hdr.subject", "mailbox", "INBOX", "all"]);
    let uids: Vec<&str> = fetched.lines().filter_map(|l| l.strip_prefix("uid: ")).collect();
    assert_eq!(uids, ["1", "2", "3", "4", "5", "6"], "{fetched}");
    for round in 0..6 {
        assert!(fetched.contains(&format!("round {round}")), "{fetched}");
    }
    let parsed = parse_mbox(&fs::read(home.path().join("inbox")).unwrap());
    assert_eq!(parsed.len(), 6);
    let log = fs::read_to_string(home.path().join("log")).unwrap_or_default();
    assert!(!log.contains("Error"), "{log}");
}
