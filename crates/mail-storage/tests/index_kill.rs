//! A Maildir save SIGKILLed at random moments never leaves index files the `dovecot-index`
//! readers reject: the log always ends on a complete transaction and the cache header stays
//! valid. The saving process is this test binary itself, re-run with `INDEX_KILL_HOME` set
//! so that only `child_saves_one_message` does anything.

mod common;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{MSG, create, settings};
use dovecot_index::Uidlist;
use dovecot_index::index::index_cache::read_cache;
use dovecot_index::index::{IndexState, ReadAt};
use mail_storage::{MailFlags, MailLocation, MailUser, MessageSource, SaveOptions};

const CHILD_ENV: &str = "INDEX_KILL_HOME";

/// The child side: one save with flags and keywords (index writes included).
#[test]
fn child_saves_one_message() {
    let Some(home) = std::env::var_os(CHILD_ENV) else { return };
    let loc = MailLocation::parse("maildir:~/Maildir", Some(home.as_ref())).unwrap();
    let user = MailUser::new(loc, Vec::new(), settings()).unwrap();
    let mailbox = user.open_mailbox("INBOX", &create()).unwrap();
    let opts = SaveOptions {
        flags: MailFlags { seen: true, ..MailFlags::default() },
        keywords: vec!["Work".into()],
        ..SaveOptions::default()
    };
    mailbox.save(MessageSource::Bytes(MSG), &opts).unwrap();
}

fn spawn_child(home: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_saves_one_message", "--test-threads=1", "--quiet"])
        .env(CHILD_ENV, home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Deterministic pseudo-random delays up to `max`.
fn delays(n: usize, max: Duration) -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let max = max.as_micros().max(1) as u64;
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_micros(state % max)
    })
}

/// The index files as the readers see them; panics on anything they reject.
fn check_index(dir: &std::path::Path) -> Option<u32> {
    let log = fs::read(dir.join("dovecot.index.log")).ok()?;
    let state = IndexState::load(None, &log, 1 << 20)
        .unwrap_or_else(|e| panic!("log rejected ({} bytes): {e}", log.size().unwrap_or(0)));
    if let Ok(cache) = fs::read(dir.join("dovecot.index.cache")) {
        read_cache(&cache).unwrap_or_else(|e| panic!("cache rejected: {e}"));
    }
    Some(state.next_uid())
}

#[test]
fn sigkill_at_random_moments_leaves_index_files_the_readers_accept() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let timing = tempfile::tempdir().unwrap();
    let start = Instant::now();
    assert!(spawn_child(timing.path()).wait().unwrap().success());
    let span = start.elapsed() * 3 / 2;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("Maildir");
    let (mut completed, mut indexed_max, mut reached) = (0, 0, false);
    for delay in delays(200, span) {
        let mut child = spawn_child(home.path());
        std::thread::sleep(delay);
        let _ = child.kill();
        if child.wait().unwrap().success() {
            completed += 1;
        }
        let next_uid = check_index(&dir);
        if let Some(next_uid) = next_uid {
            assert!(next_uid >= indexed_max, "the index went backwards");
            reached |= next_uid > 1;
            indexed_max = next_uid;
        }
        if next_uid.unwrap_or(1) < uidlist_next_uid(&dir) {
            // A kill between the uidlist append and the index append leaves the index behind
            // the uidlist; by design later saves leave it alone until Dovecot re-syncs. No
            // Dovecot runs here, so start over, or every later trial would test nothing.
            fs::remove_dir_all(&dir).unwrap();
            indexed_max = 0;
        }
    }
    assert!(completed > 0 && completed < 200, "{completed} of 200 saves completed");
    assert!(reached, "no kill-free save ever reached the index");
}

/// The UID the uidlist gives next (1 when there is none; a torn file counts as ahead).
fn uidlist_next_uid(dir: &std::path::Path) -> u32 {
    match fs::read(dir.join("dovecot-uidlist")) {
        Ok(data) => Uidlist::parse(&data).map_or(u32::MAX, |list| list.next_uid()),
        Err(_) => 1,
    }
}
