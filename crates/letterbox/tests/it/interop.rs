//! Interop with real Dovecot 2.3 (Debian's dovecot-core/dovecot-imapd): Dovecot reads what
//! letterbox wrote, and the two deliver alternately into one Maildir.
//!
//! Dovecot's tools run as the test user in HOME mode (no auth server needed). When Dovecot is
//! missing these tests print why and pass locally, but fail when `CI` is set (design.md §6.6).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The real Dovecot binaries.
pub(crate) struct Dovecot {
    lda: PathBuf,
    doveadm: PathBuf,
}

impl Dovecot {
    pub(crate) fn find() -> Option<Dovecot> {
        let lda = PathBuf::from(
            std::env::var("DOVECOT_LDA").unwrap_or("/usr/lib/dovecot/dovecot-lda".into()),
        );
        let doveadm = PathBuf::from(std::env::var("DOVEADM").unwrap_or("/usr/bin/doveadm".into()));
        if lda.exists() && doveadm.exists() {
            let version = Command::new("dovecot").arg("--version").output();
            let version = version
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            assert!(version.starts_with("2.3."), "interop needs Dovecot 2.3, found {version:?}");
            return Some(Dovecot { lda, doveadm });
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Dovecot is missing ({} / {}): .ci/run must install dovecot-core",
            lda.display(),
            doveadm.display()
        );
        eprintln!("skipped: Dovecot not installed");
        None
    }

    /// A Dovecot tool run as the test user in HOME mode, with the test config and its own log.
    fn user_command(t: &TestHome, program: &Path, log_name: &str, args: &[&str]) -> Command {
        let mut cmd = t.dovecot_command(program, log_name);
        cmd.args(args);
        cmd
    }

    /// Deliver with the real dovecot-lda as the test user (HOME mode).
    pub(crate) fn deliver(
        &self,
        t: &TestHome,
        args: &[&str],
        message: &[u8],
    ) -> std::process::Output {
        run_with_stdin(Self::user_command(t, &self.lda, "dovecot-lda.log", args), message)
    }

    /// `doveadm ARGS` as the test user; stdout on success.
    fn doveadm(&self, t: &TestHome, args: &[&str]) -> String {
        let out = run_with_stdin(Self::user_command(t, &self.doveadm, "doveadm.log", args), b"");
        assert_code(&out, 0);
        String::from_utf8(out.stdout).unwrap()
    }

    /// (mailbox, uid) pairs as Dovecot sees them, sorted.
    fn uids(&self, t: &TestHome) -> Vec<(String, u32)> {
        let text = self.doveadm(t, &["-f", "tab", "fetch", "mailbox uid", "all"]);
        let mut rows: Vec<(String, u32)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (mailbox, uid) = l.split_once('\t')?;
                Some((mailbox.to_string(), uid.trim().parse().ok()?))
            })
            .collect();
        rows.sort();
        rows
    }
}

/// The interop config: a separator and a namespace Dovecot and letterbox both read.
fn interop_home() -> TestHome {
    TestHome::with_config(
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\nmail_fsync = always\n",
    )
}

#[test]
fn doveadm_sees_letterbox_deliveries_with_our_uids_and_folders() {
    let Some(dovecot) = Dovecot::find() else { return };
    let t = interop_home();
    assert_code(&t.deliver(&[], &sample_message("a1")), 0);
    assert_code(&t.deliver(&["-m", "Work"], &sample_message("a2")), 0);
    assert_code(&t.deliver(&["-s", "-m", "Work/Sub"], &sample_message("a3")), 0);
    assert_code(&t.deliver(&[], &sample_message("a4")), 0);
    let expected = vec![
        ("INBOX".to_string(), 1),
        ("INBOX".to_string(), 2),
        ("Work".to_string(), 1),
        ("Work/Sub".to_string(), 1),
    ];
    assert_eq!(dovecot.uids(&t), expected);
    let ours = uidlist_records(&t.uidlist(&t.maildir()));
    assert_eq!(ours.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2]);
    let subscribed = dovecot.doveadm(&t, &["mailbox", "list", "-s"]);
    assert_eq!(subscribed.lines().collect::<Vec<_>>(), vec!["Work/Sub"]);
    let body = dovecot.doveadm(&t, &["fetch", "text", "mailbox", "Work", "uid", "1"]);
    assert!(body.contains("Hello a2"), "{body}");
}

#[test]
fn alternating_deliveries_keep_uids_unique_and_increasing() {
    let Some(dovecot) = Dovecot::find() else { return };
    let t = interop_home();
    for i in 0..6 {
        let msg = sample_message(&format!("alt{i}"));
        if i % 2 == 0 {
            assert_code(&t.deliver(&[], &msg), 0);
        } else {
            assert_code(&dovecot.deliver(&t, &[], &msg), 0);
        }
    }
    let records = uidlist_records(&t.uidlist(&t.maildir()));
    let uids: Vec<u32> = records.iter().map(|r| r.0).collect();
    assert_eq!(uids, vec![1, 2, 3, 4, 5, 6], "uidlist: {}", t.uidlist(&t.maildir()));
    let seen: Vec<u32> = dovecot.uids(&t).into_iter().map(|(_, uid)| uid).collect();
    assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn same_message_is_stored_byte_identical_by_both() {
    let Some(dovecot) = Dovecot::find() else { return };
    let inputs: [&[u8]; 4] = [
        b"From sender@example.com Tue Nov 25 10:00:00 2025\r\nSubject: crlf\r\n\r\nbody\r\r\nend\r",
        b"",
        b"Subject: nul\n\na\0b",
        b"Return-Path: <x@y>\nDelivered-To: alice@example.com\nSubject: trailing\n\nbody\n\n",
    ];
    for input in inputs {
        let ours = interop_home();
        let theirs = interop_home();
        assert_code(&ours.deliver(&["-f", "s@example.com"], input), 0);
        assert_code(&dovecot.deliver(&theirs, &["-f", "s@example.com"], input), 0);
        let (a, b) = (ours.inbox(), theirs.inbox());
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 1);
        assert_eq!(a[0].1, b[0].1, "stored bytes differ for {input:?}");
        let suffix = |n: &str| n.split_once(',').map(|(_, s)| s.to_string()).unwrap_or_default();
        assert_eq!(suffix(&a[0].0), suffix(&b[0].0), "size fields differ");
    }
}
