//! Truncated and corrupted index files never panic the readers or the planner, a planned
//! update reads back as what was planned, and inconsistent states are refused.

use dovecot_index::index::index_cache::read_cache;
use dovecot_index::index::index_log::{LogHeader, split_records};
use dovecot_index::index::{
    CacheWrite, IndexError, IndexHeader, IndexState, IndexUpdate, LogWrite, MaildirHeader, ReadAt,
    plan::PlanOptions, plan_append,
};
use std::path::Path;

fn golden(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/index").join(name).join(file),
    )
    .expect("golden file")
}

fn update(uid: u32, msg: &[u8]) -> IndexUpdate<'_> {
    IndexUpdate {
        uid,
        uid_validity: 1_795_631_310,
        flags: 0,
        keywords: vec!["Work".to_owned()],
        message: msg,
        maildir: MaildirHeader::after_delivery(
            None,
            1_795_700_000,
            Some((1_795_700_000, 5)),
            (1, 2, 3),
        ),
        uidlist_before: None,
        now: 1_795_700_000,
        day_start: 1_795_651_200,
        received_date: 0,
        save_date: 0,
    }
}

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn try_everything(index: Option<&[u8]>, log: &[u8], cache: &[u8]) {
    let _ = LogHeader::parse(log);
    let _ = split_records(log.get(40..).unwrap_or(&[]), 40);
    let _ = read_cache(&cache);
    if let Some(index) = index {
        let _ = IndexHeader::parse(index);
    }
    let msg = b"Subject: x\n\nbody\n";
    let index_src = index.map(|i| Box::new(i) as Box<dyn ReadAt + '_>);
    let _ = plan_append(
        index_src.as_deref(),
        Some(&log as &dyn ReadAt),
        Some(&cache as &dyn ReadAt),
        &update(6, msg),
        &PlanOptions::default(),
    );
}

#[test]
fn truncations_never_panic() {
    let log = golden("lda-after-imap", "dovecot.index.log");
    let cache = golden("lda-after-imap", "dovecot.index.cache");
    let index = golden("lda-after-imap", "dovecot.index");
    for cut in 0..log.len() {
        try_everything(Some(&index), &log[..cut], &cache);
    }
    for cut in 0..cache.len() {
        try_everything(Some(&index), &log, &cache[..cut]);
    }
    for cut in 0..index.len() {
        try_everything(Some(&index[..cut]), &log, &cache);
    }
}

#[test]
fn random_corruption_never_panics() {
    let log = golden("lda-after-imap", "dovecot.index.log");
    let cache = golden("lda-after-imap", "dovecot.index.cache");
    let index = golden("lda-after-imap", "dovecot.index");
    let mut rng = Lcg(7);
    for _ in 0..3000 {
        let (mut l, mut c, mut i) = (log.clone(), cache.clone(), index.clone());
        for _ in 0..1 + rng.next() % 4 {
            let target = rng.next() % 3;
            let buf = match target {
                0 => &mut l,
                1 => &mut c,
                _ => &mut i,
            };
            let pos = (rng.next() as usize) % buf.len();
            buf[pos] = rng.next() as u8;
        }
        try_everything(Some(&i), &l, &c);
        try_everything(None, &l, &c);
    }
}

#[test]
fn planned_updates_read_back() {
    let msg = b"From: a@example.org\nSubject: round trip\n\nhello\n";
    let first = plan_append(None, None, None, &update(1, msg), &PlanOptions::default()).unwrap();
    let (LogWrite::Create { bytes: mut log }, Some(CacheWrite::Create { bytes: mut cache })) =
        (first.log, first.cache)
    else {
        panic!("a fresh index is created");
    };
    for uid in 2..40u32 {
        let mut u = update(uid, msg);
        u.flags = (uid % 16) as u8;
        u.day_start += (uid / 10) * 86_400;
        let plan = plan_append(
            None,
            Some(&log as &dyn ReadAt),
            Some(&cache as &dyn ReadAt),
            &u,
            &PlanOptions::default(),
        )
        .unwrap();
        let LogWrite::Append { expected_size, bytes } = plan.log else { panic!("append") };
        assert_eq!(expected_size, log.len() as u64);
        log.extend(bytes);
        let Some(CacheWrite::Append { expected_size, record, header }) = plan.cache else {
            panic!("cache")
        };
        assert_eq!(expected_size, cache.len() as u64);
        cache.extend(record);
        cache[..32].copy_from_slice(&header);
        let state = IndexState::load(None, &log, 1 << 20).unwrap();
        assert_eq!(state.next_uid(), uid + 1);
        assert_eq!(state.u32(84), u.day_start);
        let md = MaildirHeader::from_bytes(&state.ext("maildir").unwrap().hdr).unwrap();
        assert_eq!(md, u.maildir);
        let (hdr, _) = read_cache(&cache).unwrap();
        assert_eq!(hdr.record_count, uid);
    }
}

#[test]
fn inconsistent_states_are_refused() {
    let log = golden("lda-inbox", "dovecot.index.log");
    let cache = golden("lda-inbox", "dovecot.index.cache");
    let msg = b"Subject: x\n\n";
    let plan = |u: &IndexUpdate<'_>, log: &[u8]| {
        plan_append(
            None,
            Some(&log as &dyn ReadAt),
            Some(&cache as &dyn ReadAt),
            u,
            &PlanOptions::default(),
        )
    };
    assert!(plan(&update(6, msg), &log).is_ok());
    // UID not next in the index, and a different UIDVALIDITY.
    assert!(matches!(plan(&update(7, msg), &log), Err(IndexError::Unsupported(_))));
    let mut u = update(6, msg);
    u.uid_validity += 1;
    assert!(matches!(plan(&u, &log), Err(IndexError::Unsupported(_))));
    // The uidlist changed behind the index's back.
    let mut u = update(6, msg);
    u.uidlist_before = Some((1, 1, 1));
    assert!(matches!(plan(&u, &log), Err(IndexError::Unsupported(_))));
    // A transaction still being written (or a crashed writer's leftovers).
    assert!(plan(&update(6, msg), &log[..log.len() - 4]).is_err());
    // Marked corrupted by Dovecot.
    let mut marked = log.clone();
    marked[4..8].fill(0);
    assert!(matches!(plan(&update(6, msg), &marked), Err(IndexError::Corrupt { .. })));
    // No index, and the mailbox already had mail: leave the rebuild to Dovecot.
    assert!(plan_append(None, None, None, &update(3, msg), &PlanOptions::default()).is_err());
    // A log too long to replay.
    let small = PlanOptions { max_replay_bytes: 100 };
    let r = plan_append(None, Some(&log as &dyn ReadAt), None, &update(6, msg), &small);
    assert!(matches!(r, Err(IndexError::Unsupported(_))));
}
