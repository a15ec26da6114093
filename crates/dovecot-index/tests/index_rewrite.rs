//! Golden tests of the `dovecot.index` writer against files the real Dovecot 2.3 writes at
//! test time (no binary fixtures): dovecot-lda and doveadm run with
//! `mail_index_rewrite_max_log_bytes=1`, so every sync rewrites the snapshot, while the
//! mailbox gets deliveries, keywords, flag changes and expunges. Every snapshot Dovecot
//! writes must (1) parse and serialize back to the same bytes, and (2) be reproduced byte
//! for byte from the previous snapshot plus the log. Skipped with a message when Dovecot is
//! not installed, but failing when `CI` is set.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dovecot_index::index::index_main::field;
use dovecot_index::index::{IndexMap, ReadAt, highest_modseq, rebuild_index};

const LDA: &str = "/usr/lib/dovecot/dovecot-lda";
const DOVEADM: &str = "/usr/bin/doveadm";

fn dovecot_present() -> bool {
    let found = Path::new(LDA).exists() && Path::new(DOVEADM).exists();
    assert!(found || std::env::var_os("CI").is_none(), "CI is set but Dovecot is missing");
    if !found {
        eprintln!("skipped: Dovecot 2.3 ({LDA}, {DOVEADM}) is not installed");
    }
    found
}

struct Box_ {
    _dir: tempfile::TempDir,
    home: PathBuf,
    conf: PathBuf,
}

impl Box_ {
    fn new() -> Box_ {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o777)).unwrap();
        let conf = dir.path().join("dovecot.conf");
        let log = dir.path().join("dovecot.log");
        fs::write(
            &conf,
            format!("mail_location = maildir:~/Maildir\nlog_path = {}\n", log.display()),
        )
        .unwrap();
        fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
        Box_ { _dir: dir, home, conf }
    }

    fn maildir(&self) -> PathBuf {
        self.home.join("Maildir")
    }

    fn run(&self, program: &str, args: &[&str], input: &[u8]) {
        let mut cmd = if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("USER", "nobody")
            .arg("-c")
            .arg(&self.conf)
            .args(["-o", "mail_index_rewrite_max_log_bytes=1"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{program} {args:?}: {status}");
    }

    fn deliver(&self, n: u32) {
        let msg = format!("From: a@example.com\nSubject: m{n}\nMessage-ID: <{n}@x>\n\nbody {n}\n");
        self.run(LDA, &[], msg.as_bytes());
    }

    fn doveadm(&self, args: &[&str]) {
        self.run(DOVEADM, args, b"");
    }
}

/// Checks the newest snapshot against our reader and writer; returns it.
fn check_snapshot(mb: &Box_, prev: Option<&[u8]>, step: &str) -> Option<Vec<u8>> {
    let index = fs::read(mb.maildir().join("dovecot.index")).ok()?;
    if prev == Some(&index[..]) {
        return Some(index);
    }
    let map = IndexMap::parse(&index).unwrap_or_else(|e| panic!("{step}: parse: {e}"));
    assert_eq!(map.serialize(), index, "{step}: round trip");
    let log = fs::read(mb.maildir().join("dovecot.index.log")).unwrap();
    let head = u64::from(map.get(field::LOG_FILE_HEAD_OFFSET));
    let prev_vec = prev.map(<[u8]>::to_vec);
    let prev_ref = prev_vec.as_ref().map(|p| p as &dyn ReadAt);
    let rebuilt = rebuild_index(prev_ref, &log, head).unwrap_or_else(|e| panic!("{step}: {e}"));
    if rebuilt.serialize() != index {
        panic!("{step}: rebuilt snapshot differs:\nours   {:?}\ntheirs {:?}", rebuilt, map);
    }
    Some(index)
}

#[test]
fn snapshots_written_by_dovecot_are_reproduced_byte_for_byte() {
    if !dovecot_present() {
        return;
    }
    let mb = Box_::new();
    let mut prev: Option<Vec<u8>> = None;
    let mut checked = 0;
    let mut step = |mb: &Box_, what: &str, prev: &mut Option<Vec<u8>>| {
        let next = check_snapshot(mb, prev.as_deref(), what);
        if next.is_some() && next != *prev {
            checked += 1;
        }
        *prev = next;
    };
    for n in 1..=4 {
        mb.deliver(n);
        step(&mb, &format!("delivery {n}"), &mut prev);
    }
    let actions: &[&[&str]] = &[
        &["flags", "add", "kwone", "mailbox", "INBOX", "1"],
        &["flags", "add", "\\Seen kwtwo", "mailbox", "INBOX", "2:3"],
        &[
            "flags",
            "add",
            "ka kb kc kd ke kf kg kh ki kj kk kl km kn ko kp",
            "mailbox",
            "INBOX",
            "4",
        ],
        &["flags", "remove", "kwone \\Seen", "mailbox", "INBOX", "1:3"],
        &["flags", "add", "\\Deleted \\Flagged", "mailbox", "INBOX", "2"],
        &["expunge", "mailbox", "INBOX", "uid", "2"],
        &["flags", "replace", "\\Answered", "mailbox", "INBOX", "3"],
    ];
    for (i, args) in actions.iter().enumerate() {
        mb.doveadm(args);
        step(&mb, &format!("doveadm {args:?}"), &mut prev);
        mb.deliver(10 + i as u32);
        step(&mb, &format!("delivery after {args:?}"), &mut prev);
    }
    assert!(checked >= 10, "only {checked} snapshots checked");
    let map = IndexMap::parse(prev.as_deref().unwrap()).unwrap();
    assert!(map.keywords().unwrap().len() > 16, "{:?}", map.keywords());
}

#[test]
fn rotated_log_starts_at_the_highest_modseq() {
    if !dovecot_present() {
        return;
    }
    let mb = Box_::new();
    for n in 1..=3 {
        mb.deliver(n);
    }
    mb.doveadm(&["flags", "add", "kwone \\Seen", "mailbox", "INBOX", "1:2"]);
    let before = fs::read(mb.maildir().join("dovecot.index.log")).unwrap();
    let ours = highest_modseq(&before, before.len() as u64).unwrap();
    mb.run(LDA, &["-o", "mail_index_log_rotate_max_size=1"], b"Subject: x\n\nx\n");
    let log2 = fs::read(mb.maildir().join("dovecot.index.log.2")).unwrap();
    let log = fs::read(mb.maildir().join("dovecot.index.log")).unwrap();
    let hdr = dovecot_index::index::LogHeader::parse(&log).unwrap();
    assert_eq!(hdr.prev_file_offset as usize, log2.len());
    assert_eq!(hdr.initial_modseq, highest_modseq(&log2, log2.len() as u64).unwrap());
    assert!(hdr.initial_modseq >= ours);
}
