//! UID assignment: contention (threads, processes, foreign locks), files written by Dovecot,
//! damaged uidlists, and SIGKILL at random moments.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use dovecot_index::Uidlist;
use mail_storage::{
    MailLocation, MailUser, MessageSource, OpenOptions, SaveOptions, StorageSettings,
};

fn uidlist(dir: &Path) -> Uidlist {
    Uidlist::parse(&fs::read(dir.join("dovecot-uidlist")).unwrap()).unwrap()
}

fn files_in(dir: &Path) -> usize {
    fs::read_dir(dir).unwrap().count()
}

#[test]
fn fifty_threads_get_fifty_distinct_uids() {
    let home = tempfile::tempdir().unwrap();
    let user = Arc::new(user_at("maildir:~/Maildir", home.path()));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let user = Arc::clone(&user);
            std::thread::spawn(move || save(&user, "INBOX", &OpenOptions::default()).uid.unwrap())
        })
        .collect();
    let uids: HashSet<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(uids, (1..=50).collect());
    let root = home.path().join("Maildir");
    let list = uidlist(&root);
    assert_eq!(list.records.len(), 50);
    assert_eq!(files_in(&root.join("new")), 50);
    for record in &list.records {
        assert!(root.join("new").join(&record.filename).is_file());
    }
}

/// Child mode of the multi-process tests: saves `LB_SAVES` messages into `LB_ROOT`.
#[test]
fn child_worker() {
    let (Ok(root), Ok(count)) = (std::env::var("LB_ROOT"), std::env::var("LB_SAVES")) else {
        return;
    };
    let loc = MailLocation::parse(&format!("maildir:{root}"), None).unwrap();
    let user = MailUser::new(loc, Vec::new(), settings()).unwrap();
    for _ in 0..count.parse::<usize>().unwrap() {
        save(&user, "INBOX", &OpenOptions::default());
    }
}

fn spawn_worker(root: &Path, saves: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_worker", "--nocapture", "--test-threads=1"])
        .env("LB_ROOT", root)
        .env("LB_SAVES", saves.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn ten_processes_get_distinct_uids() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    let children: Vec<_> = (0..10).map(|_| spawn_worker(&root, 5)).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let list = uidlist(&root);
    let uids: Vec<u32> = list.records.iter().map(|r| r.uid).collect();
    assert_eq!(uids, (1..=50).collect::<Vec<_>>());
    assert_eq!(files_in(&root.join("new")), 50);
    assert!(!root.join("dovecot-uidlist.lock").exists());
}

#[test]
fn sigkill_at_random_moments_leaves_complete_messages_and_a_parseable_uidlist() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    for trial in 0..20u64 {
        let mut child = spawn_worker(&root, 1000);
        std::thread::sleep(Duration::from_millis(20 + (trial * 7) % 40));
        child.kill().unwrap();
        child.wait().unwrap();
        // Every visible message is complete, and the uidlist parses. (A child killed before
        // it created the Maildir leaves no new/ at all.)
        for entry in fs::read_dir(root.join("new")).into_iter().flatten() {
            let path = entry.unwrap().path();
            assert_eq!(fs::read(&path).unwrap(), MSG, "{}", path.display());
        }
        if root.join("dovecot-uidlist").exists() {
            let list = uidlist(&root);
            let distinct: HashSet<u32> = list.records.iter().map(|r| r.uid).collect();
            assert_eq!(distinct.len(), list.records.len());
        }
    }
    // A stale lock from a killed process does not block the next delivery.
    // A stale lock from a killed process does not block the next delivery.
    let lock = root.join("dovecot-uidlist.lock");
    if let Ok(content) = fs::read_to_string(&lock) {
        assert!(content.ends_with(":testhost"), "a lock always carries its owner: {content:?}");
    }
    let user = user_at("maildir:~/Maildir", home.path());
    let started = std::time::Instant::now();
    assert!(save(&user, "INBOX", &OpenOptions::default()).uid.is_some());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn busy_foreign_lock_falls_back_to_no_uid_after_the_bound() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    save(&user, "INBOX", &OpenOptions::default());
    let root = home.path().join("Maildir");
    let before = fs::read(root.join("dovecot-uidlist")).unwrap();
    // pid 1 on our host name is alive: the lock is not stale.
    fs::write(root.join("dovecot-uidlist.lock"), "1:testhost").unwrap();
    let quick = StorageSettings { dotlock_timeout: Duration::from_millis(200), ..settings() };
    let loc = MailLocation::parse("maildir:~/Maildir", Some(home.path())).unwrap();
    let impatient = MailUser::new(loc, Vec::new(), quick).unwrap();
    let inbox = impatient.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let saved = inbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    assert_eq!(saved.uid, None);
    assert!(saved.uid_missing_reason.unwrap().contains("Timeout"));
    assert!(saved.path.is_file());
    assert_eq!(fs::read(root.join("dovecot-uidlist")).unwrap(), before);
    assert!(root.join("dovecot-uidlist.lock").exists(), "a foreign lock is never removed");
    fs::remove_file(root.join("dovecot-uidlist.lock")).unwrap();
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(2));
}

#[test]
fn waiting_for_a_released_lock_gets_a_uid() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    save(&user, "INBOX", &OpenOptions::default());
    let lock = home.path().join("Maildir/dovecot-uidlist.lock");
    fs::write(&lock, "1:testhost").unwrap();
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        fs::remove_file(lock).unwrap();
    });
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(2));
    remover.join().unwrap();
}

#[test]
fn delivering_into_a_dovecot_maildir_continues_its_uids_and_keywords() {
    let home = tempfile::tempdir().unwrap();
    let root = dovecot_fixture(&home.path().join("Maildir"));
    let user = user_at("maildir:~/Maildir", home.path());
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(4));
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let opts =
        SaveOptions { keywords: vec!["Work".into(), "New".into()], ..SaveOptions::default() };
    let saved = inbox.save(MessageSource::Bytes(MSG), &opts).unwrap();
    assert_eq!(saved.uid, Some(5));
    assert!(saved.path.to_str().unwrap().ends_with(":2,bc"));
    assert_eq!(fs::read(root.join("dovecot-keywords")).unwrap(), b"0 $Label1\n1 Work\n2 New\n");
    let sub = user.open_mailbox("Work.Sub", &OpenOptions::default()).unwrap();
    assert_eq!(sub.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap().uid, Some(2));
    let opts = OpenOptions { autocreate: true, autosubscribe: true };
    let created = user.open_mailbox("Fresh", &opts).unwrap();
    assert!(created.created());
    assert_eq!(
        fs::read(root.join("subscriptions")).unwrap(),
        b"V\t2\n\nWork\tSub\nEntw&APw-rfe\tSub dir\nFresh\n"
    );
    // The new mailbox continues the root's UIDVALIDITY sequence.
    created.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    assert_eq!(uidlist(&root.join(".Fresh")).header.uid_validity, 0x6b07_29bd);
    assert!(root.join("dovecot-uidvalidity.6b0729bd").exists());
    // Headers written by Dovecot are untouched by appends.
    let text = fs::read_to_string(root.join("dovecot-uidlist")).unwrap();
    assert!(text.starts_with("3 V1795631546 N3 G74c7410cba29076bbe6d000083ecc375\n1 :"));
}

fn prepared(content: &str) -> (tempfile::TempDir, MailUser) {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    fs::write(root.join("dovecot-uidlist"), content).unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    (home, user)
}

#[test]
fn header_next_uid_ahead_of_records_wins() {
    let (home, user) = prepared("3 V7 N10 Gabc\n3 :old,S=1,W=1\n");
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(10));
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(11));
    assert_eq!(uidlist(&home.path().join("Maildir")).header.next_uid, 10);
}

#[test]
fn extension_fields_and_spaces_in_dovecot_records() {
    let (_home, user) = prepared("3 V7 N1 Gabc\n1 G0123 :a b,S=1,W=1\n5 W9 S8 :c\n");
    assert_eq!(save(&user, "INBOX", &OpenOptions::default()).uid, Some(6));
}

#[test]
fn version_1_uidlist_is_rewritten_as_version_3() {
    let (home, user) = prepared("1 1234 7\n3 oldname\n");
    let saved = save(&user, "INBOX", &OpenOptions::default());
    assert_eq!(saved.uid, Some(7));
    let list = uidlist(&home.path().join("Maildir"));
    assert_eq!(list.header.version, 3);
    assert_eq!(list.header.uid_validity, 1234);
    assert!(list.header.guid.is_some());
    assert_eq!(list.records.iter().map(|r| r.uid).collect::<Vec<_>>(), vec![3, 7]);
}

#[test]
fn torn_tail_is_repaired_by_an_atomic_rewrite() {
    let (home, user) = prepared("3 V7 N1 Gabc\n1 :a\n2 :torn");
    let saved = save(&user, "INBOX", &OpenOptions::default());
    assert_eq!(saved.uid, Some(3), "the torn record's UID is never reused");
    let text = fs::read_to_string(home.path().join("Maildir/dovecot-uidlist")).unwrap();
    assert_eq!(text, format!("3 V7 N3 Gabc\n1 :a\n3 :{}\n", saved.storage_id));
    assert!(!home.path().join("Maildir/dovecot-uidlist.tmp").exists());
}

#[test]
fn broken_uidlist_is_left_for_dovecot() {
    let (home, user) = prepared("3 V0 N1 Gabc\n1 :a\n");
    let saved = save(&user, "INBOX", &OpenOptions::default());
    assert_eq!(saved.uid, None);
    assert!(saved.uid_missing_reason.unwrap().contains("Broken"));
    assert!(saved.path.is_file());
    assert_eq!(
        fs::read(home.path().join("Maildir/dovecot-uidlist")).unwrap(),
        b"3 V0 N1 Gabc\n1 :a\n"
    );
}

#[test]
fn missing_uidlist_next_to_an_index_is_left_for_dovecot() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    fs::create_dir_all(root.join("tmp")).unwrap();
    fs::write(root.join("dovecot.index.log"), b"").unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let saved = save(&user, "INBOX", &OpenOptions::default());
    assert_eq!(saved.uid, None);
    assert!(!root.join("dovecot-uidlist").exists());
}
