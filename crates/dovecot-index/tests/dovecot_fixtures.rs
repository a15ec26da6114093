//! Files written by real Dovecot 2.3.19 (testdata/dovecot-2.3.19/README.md) are read and
//! written back byte for byte.

use std::fs;
use std::path::PathBuf;

use dovecot_index::uidlist::read_append_state;
use dovecot_index::{Keywords, Subscriptions, Uidlist};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/dovecot-2.3.19").join(name)
}

#[test]
fn uidlists_round_trip_and_tail_agrees() {
    let mut checked = 0;
    for name in ["inbox.dovecot-uidlist", "work-sub.dovecot-uidlist"] {
        let data = fs::read(fixture(name)).unwrap();
        let list = Uidlist::parse(&data).unwrap();
        assert_eq!(list.to_bytes(), data, "{name}");
        let state = read_append_state(&mut fs::File::open(fixture(name)).unwrap()).unwrap();
        assert_eq!(state.next_uid(), list.next_uid(), "{name}");
        assert_eq!(state.header, list.header);
        assert!(list.header.guid.as_ref().is_some_and(|g| g.len() == 32));
        checked += 1;
    }
    assert_eq!(checked, 2);
    let inbox = Uidlist::parse(&fs::read(fixture("inbox.dovecot-uidlist")).unwrap()).unwrap();
    assert_eq!(inbox.records.iter().map(|r| r.uid).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(inbox.next_uid(), 4);
}

#[test]
fn keywords_round_trip() {
    let data = fs::read(fixture("dovecot-keywords")).unwrap();
    let keywords = Keywords::parse(&data);
    assert_eq!(keywords.index_of("$Label1"), Some(0));
    assert_eq!(keywords.index_of("Work"), Some(1));
    assert_eq!(keywords.to_bytes(), data);
}

#[test]
fn subscriptions_round_trip() {
    let data = fs::read(fixture("subscriptions")).unwrap();
    let subs = Subscriptions::parse(&data);
    assert_eq!(subs.entries.len(), 2);
    assert_eq!(subs.entries[1], vec![b"Entw&APw-rfe".to_vec(), b"Sub dir".to_vec()]);
    assert_eq!(subs.to_bytes(), data);
}

#[test]
fn uidvalidity_file_is_eight_hex_digits() {
    let text = fs::read_to_string(fixture("dovecot-uidvalidity")).unwrap();
    assert_eq!(text.len(), 8);
    let value = u32::from_str_radix(&text, 16).unwrap();
    let work = Uidlist::parse(&fs::read(fixture("work-sub.dovecot-uidlist")).unwrap()).unwrap();
    // Work.Sub was the second mailbox created after INBOX; Entwürfe.Sub dir the third.
    assert_eq!(work.header.uid_validity + 1, value);
}
