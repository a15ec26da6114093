//! Real Dovecot 2.3 and this crate delivering alternately into one Maildir: UIDs stay
//! unique and increasing, and both store the same bytes. Needs `/usr/lib/dovecot/dovecot-lda`
//! (or `LB_DOVECOT_LDA`); without it the test is skipped with a message, unless `CI` is set.
//! As root, both sides run as `nobody` through `runuser`.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use dovecot_index::Uidlist;
use mail_storage::{MailFlags, MailLocation, MailUser, MessageSource, OpenOptions, SaveOptions};

fn dovecot_lda() -> Option<PathBuf> {
    let path = std::env::var_os("LB_DOVECOT_LDA")
        .map_or_else(|| PathBuf::from("/usr/lib/dovecot/dovecot-lda"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "dovecot-lda not found at {} (required on CI)",
        path.display()
    );
    eprintln!("SKIPPED: dovecot-lda not found at {}", path.display());
    None
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A command, run as `nobody` when we are root.
fn command(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Child mode: one save into `LB_INTEROP_ROOT` (run as the same user as Dovecot); with
/// `LB_INTEROP_FLAGS` set, into an auto-created, auto-subscribed `Work.Sub` with flags
/// and keywords.
#[test]
fn interop_child() {
    let Ok(root) = std::env::var("LB_INTEROP_ROOT") else { return };
    let loc = MailLocation::parse(&format!("maildir:{root}"), None).unwrap();
    let user = MailUser::new(loc, Vec::new(), settings()).unwrap();
    if std::env::var_os("LB_INTEROP_FLAGS").is_none() {
        save(&user, "INBOX", &OpenOptions::default());
        return;
    }
    let mailbox = user
        .open_mailbox("Work.Sub", &OpenOptions { autocreate: true, autosubscribe: true })
        .unwrap();
    let opts = SaveOptions {
        flags: MailFlags { seen: true, flagged: true, ..MailFlags::default() },
        keywords: vec!["$Label1".into(), "Work".into()],
        ..SaveOptions::default()
    };
    mailbox.save(MessageSource::Bytes(MSG), &opts).unwrap();
}

fn deliver_with_dovecot(lda: &Path, dir: &Path) {
    let user = if is_root() { "nobody" } else { "user" };
    let mut child = command(Path::new("env"))
        .arg("-i")
        .arg(format!("HOME={}", dir.display()))
        .arg(format!("USER={user}"))
        .arg(lda)
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(MSG).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "dovecot-lda failed: {status}; log: {:?}",
        fs::read_to_string(dir.join("log"))
    );
}

fn deliver_with_letterbox(dir: &Path, flags: bool) {
    let mut cmd = command(&std::env::current_exe().unwrap());
    if flags {
        cmd.env("LB_INTEROP_FLAGS", "1");
    }
    let status = cmd
        .args(["--exact", "interop_child", "--test-threads=1"])
        .env("LB_INTEROP_ROOT", dir.join("Maildir"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn alternating_deliveries_keep_uids_unique_and_increasing() {
    let Some(lda) = dovecot_lda() else { return };
    let base = tempfile::Builder::new().prefix("lb-interop").tempdir_in("/tmp").unwrap();
    let dir = base.path();
    fs::write(
        dir.join("dovecot.conf"),
        format!(
            "mail_location = maildir:{0}/Maildir\nlog_path = {0}/log\nssl = no\n",
            dir.display()
        ),
    )
    .unwrap();
    if is_root() {
        let status = Command::new("chown").args(["-R", "nobody"]).arg(dir).status().unwrap();
        assert!(status.success());
    }
    for round in 0..6 {
        if round % 2 == 0 {
            deliver_with_dovecot(&lda, dir);
        } else {
            deliver_with_letterbox(dir, false);
        }
    }
    let root = dir.join("Maildir");
    let list = Uidlist::parse(&fs::read(root.join("dovecot-uidlist")).unwrap()).unwrap();
    let uids: Vec<u32> = list.records.iter().map(|r| r.uid).collect();
    assert_eq!(uids, (1..=6).collect::<Vec<_>>(), "{list:?}");
    let mut files = 0;
    for record in &list.records {
        assert_eq!(
            fs::read(root.join("new").join(&record.filename)).unwrap(),
            MSG,
            "{}",
            record.filename
        );
        files += 1;
    }
    assert_eq!(files, 6);
    // Dovecot's and our names share one shape: <sec>.M<usec>P<pid>.<host>,S=17,W=20.
    assert!(list.records.iter().all(|r| r.filename.ends_with(",S=17,W=20")));
}

fn doveadm(dir: &Path, args: &[&str]) -> String {
    let output = command(Path::new("env"))
        .arg("-i")
        .arg("PATH=/usr/bin:/bin")
        .arg(format!("HOME={}", dir.display()))
        .arg(format!("USER={}", if is_root() { "nobody" } else { "user" }))
        .arg("doveadm")
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "doveadm {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn doveadm_sees_our_flags_keywords_and_subscriptions() {
    let Some(_lda) = dovecot_lda() else { return };
    if !Path::new("/usr/bin/doveadm").exists() {
        assert!(std::env::var_os("CI").is_none(), "doveadm missing (required on CI)");
        eprintln!("SKIPPED: /usr/bin/doveadm not found");
        return;
    }
    let base = tempfile::Builder::new().prefix("lb-interop").tempdir_in("/tmp").unwrap();
    let dir = base.path();
    fs::write(
        dir.join("dovecot.conf"),
        format!(
            "mail_location = maildir:{0}/Maildir\nlog_path = {0}/log\nssl = no\n",
            dir.display()
        ),
    )
    .unwrap();
    if is_root() {
        assert!(Command::new("chown").args(["-R", "nobody"]).arg(dir).status().unwrap().success());
    }
    deliver_with_letterbox(dir, false);
    deliver_with_letterbox(dir, true);
    let fetched = doveadm(dir, &["fetch", "uid flags", "mailbox", "Work.Sub", "all"]);
    assert!(fetched.contains("uid: 1"), "{fetched}");
    assert!(fetched.contains("\\Seen") && fetched.contains("\\Flagged"), "{fetched}");
    assert!(fetched.contains("$Label1") && fetched.contains("Work"), "{fetched}");
    let subscribed = doveadm(dir, &["mailbox", "list", "-s"]);
    assert_eq!(subscribed.lines().collect::<Vec<_>>(), vec!["Work.Sub"], "{subscribed}");
    let status = doveadm(dir, &["mailbox", "status", "messages uidnext", "INBOX"]);
    assert_eq!(status.trim(), "INBOX messages=1 uidnext=2");
    // A forced resync finds nothing to change.
    let before = fs::read(dir.join("Maildir/.Work.Sub/dovecot-uidlist")).unwrap();
    doveadm(dir, &["force-resync", "*"]);
    let after = fs::read(dir.join("Maildir/.Work.Sub/dovecot-uidlist")).unwrap();
    assert_eq!(before, after);
}
