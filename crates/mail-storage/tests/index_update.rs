//! Index files written at Maildir delivery (index-files.md §3.6): the log and cache appear,
//! parse with the `dovecot-index` readers and carry the saved UIDs, flags and keywords; and
//! whenever something is unexpected (lock busy, foreign garbage, uidlist changed behind the
//! index's back) the index files stay byte-for-byte untouched while the message is still
//! delivered.

mod common;

use std::fs::{self, OpenOptions as FsOpen};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use common::{MSG, create, settings};
use dovecot_index::index::index_log::{LogRecord, split_records};
use dovecot_index::index::{IndexState, ReadAt};
use mail_storage::{MailFlags, MailLocation, MailUser, MessageSource, SaveOptions, SavedMail};

const INDEX_FILES: [&str; 3] = ["dovecot.index.log", "dovecot.index.cache", "dovecot.index"];

fn user(location: &str, home: &Path, lock_timeout: Duration) -> MailUser {
    let loc = MailLocation::parse(location, Some(home)).unwrap();
    let s = mail_storage::StorageSettings { index_lock_timeout: lock_timeout, ..settings() };
    MailUser::new(loc, Vec::new(), s).unwrap()
}

fn save_with(user: &MailUser, vname: &str, opts: &SaveOptions, msg: &[u8]) -> SavedMail {
    let mailbox = user.open_mailbox(vname, &create()).unwrap();
    mailbox.save(MessageSource::Bytes(msg), opts).unwrap()
}

/// (uid, flags) of every APPEND and (name, uid) of every keyword update in the log.
type LogContents = (Vec<(u32, u8)>, Vec<(String, u32)>);

fn log_contents(log: &[u8]) -> LogContents {
    let mut appends = Vec::new();
    let mut keywords = Vec::new();
    for rec in split_records(&log[40..], 40).unwrap() {
        match LogRecord::decode(&rec).unwrap() {
            LogRecord::Append(a) => appends.extend(a),
            LogRecord::KeywordUpdate { name, uids, .. } => keywords.push((name, uids[0].0)),
            _ => {}
        }
    }
    (appends, keywords)
}

fn snapshot(dir: &Path) -> Vec<Option<Vec<u8>>> {
    INDEX_FILES.iter().map(|f| fs::read(dir.join(f)).ok()).collect()
}

#[test]
fn deliveries_write_a_log_and_cache_the_readers_accept() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir", home.path(), Duration::from_secs(5));
    let first = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!(first.index_skipped_reason, None);
    let flagged = SaveOptions {
        flags: MailFlags { seen: true, flagged: true, ..MailFlags::default() },
        keywords: vec!["Work".into(), "$Label1".into(), "Work".into()],
        ..SaveOptions::default()
    };
    let second = save_with(&u, "INBOX", &flagged, b"Subject: two\n\nsecond body\n");
    assert_eq!(second.index_skipped_reason, None);
    let third = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!((first.uid, second.uid, third.uid), (Some(1), Some(2), Some(3)));

    let dir = home.path().join("Maildir");
    let log = fs::read(dir.join("dovecot.index.log")).unwrap();
    let (appends, keywords) = log_contents(&log);
    assert_eq!(appends, vec![(1, 0), (2, 0x0a), (3, 0)]);
    assert_eq!(keywords, vec![("Work".to_string(), 2), ("$Label1".to_string(), 2)]);
    let state = IndexState::load(None, &log, 1 << 20).unwrap();
    assert_eq!(state.next_uid(), 4);
    let names: Vec<&str> = state.exts.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["maildir", "cache", "keywords"]);
    // The maildir header records the uidlist as it is now.
    let md = state.ext("maildir").unwrap();
    let uidlist = fs::metadata(dir.join("dovecot-uidlist")).unwrap();
    assert_eq!(u32::from_le_bytes(md.hdr[32..36].try_into().unwrap()), uidlist.size() as u32);
    let cache = fs::read(dir.join("dovecot.index.cache")).unwrap();
    let (hdr, fields) = dovecot_index::index::index_cache::read_cache(&cache).unwrap();
    assert_eq!(hdr.record_count, 3);
    assert_eq!(hdr.file_seq, state.ext("cache").unwrap().reset_id);
    assert!(fields.index_of("hdr.Subject").is_some());
    for f in ["dovecot.index.log", "dovecot.index.cache"] {
        assert_eq!(fs::metadata(dir.join(f)).unwrap().mode() & 0o777, 0o600, "{f}");
    }
    assert!(!dir.join("dovecot.index").exists());
    assert!(!dir.join("dovecot.index.log.newlock").exists());
    assert!(!dir.join("dovecot.index.cache.tmp").exists());
}

#[test]
fn index_memory_writes_no_index_and_index_dir_moves_it() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir:INDEX=MEMORY", home.path(), Duration::from_secs(5));
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!((saved.uid, saved.index_skipped_reason), (Some(1), None));
    let dir = home.path().join("Maildir");
    assert_eq!(snapshot(&dir), vec![None, None, None]);

    let u = user("maildir:~/Mail2:INDEX=~/idx", home.path(), Duration::from_secs(5));
    save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    save_with(&u, "Work", &SaveOptions::default(), MSG);
    assert!(!home.path().join("Mail2/dovecot.index.log").exists());
    let log = fs::read(home.path().join("idx/dovecot.index.log")).unwrap();
    assert_eq!(log_contents(&log).0, vec![(1, 0)]);
    assert!(home.path().join("idx/.Work/dovecot.index.log").is_file());
}

#[test]
fn a_busy_log_lock_leaves_the_index_untouched_but_delivers() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir", home.path(), Duration::from_millis(300));
    save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    let dir = home.path().join("Maildir");
    let before = snapshot(&dir);
    // Another open file description holding a write lock, as a Dovecot process would.
    let holder = FsOpen::new().read(true).write(true).open(dir.join("dovecot.index.log")).unwrap();
    let lock = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(&holder, nix::fcntl::FcntlArg::F_OFD_SETLK(&lock)).unwrap();
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!(saved.uid, Some(2));
    let reason = saved.index_skipped_reason.expect("skipped");
    assert!(reason.contains("Timeout") || reason.contains("timeout"), "{reason}");
    assert_eq!(snapshot(&dir), before);
    drop(holder);
    // Once the lock is free the next delivery finds the index one UID behind the uidlist
    // and leaves it alone (Dovecot re-syncs from the uidlist).
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!(saved.uid, Some(3));
    assert!(saved.index_skipped_reason.is_some());
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn garbage_in_the_log_or_a_changed_uidlist_is_never_written_over() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir", home.path(), Duration::from_secs(5));
    save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    let dir = home.path().join("Maildir");
    let mut log = FsOpen::new().append(true).open(dir.join("dovecot.index.log")).unwrap();
    log.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    drop(log);
    let before = snapshot(&dir);
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!(saved.uid, Some(2));
    assert!(saved.index_skipped_reason.is_some());
    assert_eq!(snapshot(&dir), before);

    // A fresh mailbox whose uidlist gains a record the index never saw.
    let u = user("maildir:~/M2", home.path(), Duration::from_secs(5));
    save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    let dir = home.path().join("M2");
    let mut uidlist = FsOpen::new().append(true).open(dir.join("dovecot-uidlist")).unwrap();
    uidlist.write_all(b"2 :1.M1P1.elsewhere,S=1,W=1\n").unwrap();
    drop(uidlist);
    let before = snapshot(&dir);
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    assert_eq!(saved.uid, Some(3));
    let reason = saved.index_skipped_reason.expect("skipped");
    assert!(reason.contains("but the index saw"), "{reason}");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn the_log_grows_by_whole_transactions_only() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir", home.path(), Duration::from_secs(5));
    let dir = home.path().join("Maildir");
    let mut sizes = Vec::new();
    for i in 0..20 {
        let msg = format!("Subject: m{i}\nMessage-ID: <{i}@x>\n\n{}\n", "line\n".repeat(i));
        let saved = save_with(&u, "INBOX", &SaveOptions::default(), msg.as_bytes());
        assert_eq!(saved.index_skipped_reason, None, "delivery {i}");
        let log = fs::read(dir.join("dovecot.index.log")).unwrap();
        // Every prefix we leave behind is a complete log.
        IndexState::load(None, &log, 1 << 20).unwrap();
        sizes.push(log.size().unwrap());
    }
    assert!(sizes.windows(2).all(|w| w[0] < w[1]));
    let log = fs::read(dir.join("dovecot.index.log")).unwrap();
    let uids: Vec<u32> = log_contents(&log).0.iter().map(|a| a.0).collect();
    assert_eq!(uids, (1..=20).collect::<Vec<_>>());
}

#[test]
fn a_log_tail_past_dovecots_rewrite_threshold_is_left_to_dovecot() {
    let home = tempfile::tempdir().unwrap();
    let u = user("maildir:~/Maildir", home.path(), Duration::from_secs(5));
    let log_path = home.path().join("Maildir/dovecot.index.log");
    let mut last_size = 0;
    for i in 1..=2000u32 {
        let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
        let size = fs::metadata(&log_path).unwrap().len();
        if let Some(reason) = saved.index_skipped_reason {
            // Dovecot would have rewritten dovecot.index after 128 KiB of log tail.
            assert!(reason.contains("to replay"), "{reason}");
            assert!(last_size > 128 << 10 && last_size < (128 << 10) + 1024, "{last_size}");
            assert_eq!(size, last_size, "log written although skipped");
            assert_eq!(saved.uid, Some(i));
            return;
        }
        last_size = size;
    }
    panic!("the log grew past {last_size} bytes without the index being left alone");
}
