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

use common::{MSG, create, hold_ofd_lock, settings};
use dovecot_index::index::index_log::{LogRecord, split_records};
use dovecot_index::index::index_main::field;
use dovecot_index::index::{
    IndexMap, IndexState, LogHeader, ReadAt, highest_modseq, rebuild_index,
};
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
    let holder = hold_ofd_lock(&dir.join("dovecot.index.log"));
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

/// A user whose deliveries rewrite and rotate with the given thresholds.
fn user_rewriting(home: &Path, tweak: impl FnOnce(&mut mail_storage::StorageSettings)) -> MailUser {
    let loc = MailLocation::parse("maildir:~/Maildir", Some(home)).unwrap();
    let mut s = settings();
    tweak(&mut s);
    MailUser::new(loc, Vec::new(), s).unwrap()
}

/// The snapshot plus the log tail it points to, as a reader rebuilds them.
fn snapshot_uids(dir: &Path) -> Vec<u32> {
    let index = fs::read(dir.join("dovecot.index")).unwrap();
    let log = fs::read(dir.join("dovecot.index.log")).unwrap();
    let map = rebuild_index(Some(&index as &dyn ReadAt), &log, log.len() as u64).unwrap();
    (0..map.messages()).map(|i| map.uid(i)).collect()
}

#[test]
fn deliveries_rewrite_the_snapshot_when_dovecot_would_and_the_tail_stays_small() {
    let home = tempfile::tempdir().unwrap();
    let u = user_rewriting(home.path(), |_| {});
    let dir = home.path().join("Maildir");
    let mut rewrites = 0;
    let mut last_index: Option<Vec<u8>> = None;
    for i in 1..=300u32 {
        let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
        assert_eq!(saved.index_skipped_reason, None, "delivery {i}");
        let index = fs::read(dir.join("dovecot.index")).ok();
        if index.is_some() && index != last_index {
            rewrites += 1;
            let map = IndexMap::parse(index.as_deref().unwrap()).unwrap();
            assert_eq!(map.serialize(), index.clone().unwrap());
            // Written at the end of this delivery's sync: every earlier message is in it.
            assert_eq!(map.messages() as u32, i - 1, "delivery {i}");
        }
        last_index = index;
        let log_len = fs::metadata(dir.join("dovecot.index.log")).unwrap().len();
        if let Some(index) = &last_index {
            let head = u32::from_le_bytes(index[68..72].try_into().unwrap());
            assert!(log_len - u64::from(head) < (8 << 10) + 512, "tail at {i}: {log_len}-{head}");
        }
    }
    assert!(rewrites >= 5, "{rewrites} rewrites");
    assert_eq!(snapshot_uids(&dir), (1..=300).collect::<Vec<_>>());
}

#[test]
fn deliveries_rotate_the_log_when_dovecot_would() {
    let home = tempfile::tempdir().unwrap();
    let u = user_rewriting(home.path(), |s| s.index_log_rotate_max_size = 2048);
    let dir = home.path().join("Maildir");
    let mut seqs = Vec::new();
    for i in 1..=60u32 {
        let opts = SaveOptions {
            keywords: if i % 7 == 0 { vec![format!("kw{}", i % 3)] } else { Vec::new() },
            ..SaveOptions::default()
        };
        let saved = save_with(&u, "INBOX", &opts, MSG);
        assert_eq!(saved.index_skipped_reason, None, "delivery {i}");
        let log = fs::read(dir.join("dovecot.index.log")).unwrap();
        let hdr = LogHeader::parse(&log).unwrap();
        assert!(log.len() <= 2048 + 1024, "log of {} bytes at {i}", log.len());
        if seqs.last() != Some(&hdr.file_seq) {
            seqs.push(hdr.file_seq);
            if hdr.file_seq > 2 {
                let old = fs::read(dir.join("dovecot.index.log.2")).unwrap();
                assert_eq!(hdr.prev_file_offset as usize, old.len());
                assert_eq!(hdr.initial_modseq, highest_modseq(&old, old.len() as u64).unwrap());
                let index = fs::read(dir.join("dovecot.index")).unwrap();
                let map = IndexMap::parse(&index).unwrap();
                assert_eq!(map.get(field::LOG_FILE_SEQ), hdr.file_seq);
                assert_eq!(map.get(field::LOG_FILE_HEAD_OFFSET), 40);
                assert_eq!(map.messages() as u32, i - 1);
            }
        }
    }
    assert!(seqs.len() >= 4, "rotations: {seqs:?}");
    assert_eq!(snapshot_uids(&dir), (1..=60).collect::<Vec<_>>());
    let index = fs::read(dir.join("dovecot.index")).unwrap();
    let log = fs::read(dir.join("dovecot.index.log")).unwrap();
    let map = rebuild_index(Some(&index as &dyn ReadAt), &log, log.len() as u64).unwrap();
    let pos = (0..map.messages()).find(|&p| map.uid(p) == 14).unwrap();
    assert_eq!(map.message_keywords(pos).unwrap(), vec!["kw2".to_string()]);
}

#[test]
fn a_record_the_rewriter_does_not_know_keeps_the_old_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let u = user_rewriting(home.path(), |s| s.index_rewrite_max_log_bytes = 1);
    let dir = home.path().join("Maildir");
    for _ in 0..3 {
        assert_eq!(save_with(&u, "INBOX", &SaveOptions::default(), MSG).index_skipped_reason, None);
    }
    let before = fs::read(dir.join("dovecot.index")).unwrap();
    // Someone else's MODSEQ_UPDATE (uid 1 -> modseq 100), external, as one transaction.
    let mut rec = vec![0x80, 0x80, 0x80, 0x85];
    rec.extend_from_slice(&(0x8000u32 | 0x1000_0000).to_le_bytes());
    for v in [1u32, 100, 0] {
        rec.extend_from_slice(&v.to_le_bytes());
    }
    FsOpen::new()
        .append(true)
        .open(dir.join("dovecot.index.log"))
        .unwrap()
        .write_all(&rec)
        .unwrap();
    let saved = save_with(&u, "INBOX", &SaveOptions::default(), MSG);
    let reason = saved.index_skipped_reason.unwrap();
    assert!(reason.contains("modseq update"), "{reason}");
    // The delivery's own transactions are in the log; the snapshot is the old one.
    assert_eq!(fs::read(dir.join("dovecot.index")).unwrap(), before);
    let log = fs::read(dir.join("dovecot.index.log")).unwrap();
    assert_eq!(log_contents(&log).0.last(), Some(&(4, 0)));
    assert!(!dir.join("dovecot.index.tmp").exists());
}
