//! The `maildir` and `count` backends through the public API, on real Maildirs in temp dirs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use quota::{Limits, Quota, QuotaResource, QuotaVerdict};

fn plugin(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn quota(root: &Path, pairs: &[(&str, &str)]) -> Quota {
    Quota::from_plugin_settings(&plugin(pairs), root).unwrap().expect("quota configured")
}

fn maildir(dir: &Path) -> PathBuf {
    let root = dir.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    root
}

/// Puts a message of `size` bytes into `new/` of `mailbox_dir` like a Maildir save would.
fn put(mailbox_dir: &Path, size: usize) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    fs::create_dir_all(mailbox_dir.join("new")).unwrap();
    let path =
        mailbox_dir.join("new").join(format!("1700000000.M{n}P1.test,S={size},W={}", size + 2));
    fs::write(&path, vec![b'x'; size]).unwrap();
    path
}

fn maildirsize(root: &Path) -> String {
    fs::read_to_string(root.join("maildirsize")).unwrap()
}

/// Saves like the delivery core: check, write, record. Returns the verdict.
fn deliver(q: &Quota, mailbox_dir: &Path, vname: &str, size: usize) -> QuotaVerdict {
    let v = q.check_before_save(vname, size as u64).unwrap();
    if v == QuotaVerdict::Ok {
        put(mailbox_dir, size);
        q.record_saved(vname, size as u64, 1).unwrap();
    }
    v
}

#[test]
fn fresh_maildir_reproduces_dovecots_observed_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    let q = quota(
        &root,
        &[
            ("quota", "maildir:User quota"),
            ("quota_rule", "*:storage=300B:messages=10"),
            ("quota_exceeded_message", "Sorry, mailbox full (specuser)"),
        ],
    );
    assert_eq!(deliver(&q, &root, "INBOX", 112), QuotaVerdict::Ok);
    assert_eq!(deliver(&q, &root, "INBOX", 177), QuotaVerdict::Ok);
    match deliver(&q, &root, "INBOX", 177) {
        QuotaVerdict::OverQuota { message, resource, .. } => {
            assert_eq!(message, "Sorry, mailbox full (specuser)");
            assert_eq!(resource, QuotaResource::Storage);
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(maildirsize(&root), "300S,10C\n0 0\n112 1\n177 1\n");
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes, u[0].count), (289, 2));
}

#[test]
fn recalculates_missing_corrupt_negative_and_too_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root, 100);
    put(&root.join(".Trash"), 50);
    fs::write(root.join("cur/1.x.h:2,S"), b"12345").unwrap(); // no S=: stat size
    let q = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=1M:messages=100")]);
    let expect = "1048576S,100C\n155 3\n";
    for broken in [
        None,
        Some(&b"1048576S,100C\n1 1\nxx\n"[..]),
        Some(b"1048576S,100C\n-5 0\n"),
        Some(b"\0\n"),
    ] {
        match broken {
            None => {
                let _ = fs::remove_file(root.join("maildirsize"));
            }
            Some(b) => fs::write(root.join("maildirsize"), b).unwrap(),
        }
        let u = q.usage().unwrap();
        assert_eq!((u[0].bytes, u[0].count), (155, 3));
        assert_eq!(maildirsize(&root), expect);
    }
    let mut big = b"1048576S,100C\n".to_vec();
    while big.len() <= 5120 {
        big.extend_from_slice(b"0 0\n");
    }
    fs::write(root.join("maildirsize"), &big).unwrap();
    assert_eq!(q.usage().unwrap()[0].bytes, 155);
    assert_eq!(maildirsize(&root), expect);
    let leftovers: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with("maildirsize")
                && e.file_name() != "maildirsize"
        })
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn trusted_file_is_not_recalculated() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root, 100);
    let q = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=1M")]);
    // Wrong but plausible (under the limit): trusted as Dovecot trusts it.
    fs::write(root.join("maildirsize"), "1048576S\n7 1\n8 1\n").unwrap();
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes, u[0].count), (15, 2));
    assert_eq!(maildirsize(&root), "1048576S\n7 1\n8 1\n");
}

#[test]
fn stale_over_quota_heals_but_fresh_single_line_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root, 100);
    let q = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=1K")]);
    // Over the limit with two lines: recalculated at once.
    fs::write(root.join("maildirsize"), "1024S\n0 0\n5000 1\n").unwrap();
    assert_eq!(q.usage().unwrap()[0].bytes, 100);
    // Over the limit with one line and fresh: trusted.
    fs::write(root.join("maildirsize"), "1024S\n5000 1\n").unwrap();
    assert_eq!(q.usage().unwrap()[0].bytes, 5000);
    assert!(matches!(q.check_before_save("INBOX", 1).unwrap(), QuotaVerdict::OverQuota { .. }));
    // The same file 16 minutes old: recalculated.
    let f = fs::File::options().write(true).open(root.join("maildirsize")).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(16 * 60)).unwrap();
    drop(f);
    assert_eq!(q.usage().unwrap()[0].bytes, 100);
    assert_eq!(maildirsize(&root), "1024S\n100 1\n");
}

#[test]
fn forced_rule_rewrites_changed_limits_and_question_mark_takes_file_limits() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root, 100);
    fs::write(root.join("maildirsize"), "500S\n100 1\n").unwrap();
    let forced = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=2K")]);
    assert_eq!(forced.usage().unwrap()[0].backend_limits, Some(Limits { bytes: 2048, count: 0 }));
    assert_eq!(maildirsize(&root), "2048S\n100 1\n");

    fs::write(root.join("maildirsize"), "150S\n100 1\n").unwrap();
    let soft =
        quota(&root, &[("quota", "maildir"), ("quota_rule", "?:storage=2K"), ("quota_grace", "0")]);
    assert!(matches!(soft.check_before_save("INBOX", 51).unwrap(), QuotaVerdict::OverQuota { .. }));
    assert_eq!(soft.check_before_save("INBOX", 50).unwrap(), QuotaVerdict::Ok);
    assert_eq!(maildirsize(&root), "150S\n100 1\n", "file limits kept");
    // A recalculation under `?` keeps line 1 of the old file.
    fs::write(root.join("maildirsize"), "150S\n-1 0\n").unwrap();
    soft.usage().unwrap();
    assert_eq!(maildirsize(&root), "150S\n100 1\n");
}

#[test]
fn forced_zero_removes_file_and_no_limit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    fs::write(root.join("maildirsize"), "500S\n0 0\n5000 1\n").unwrap();
    let zero = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=0")]);
    assert_eq!(zero.check_before_save("INBOX", 1 << 30).unwrap(), QuotaVerdict::Ok);
    assert!(!root.join("maildirsize").exists());
    let none = quota(&root, &[("quota", "maildir")]);
    assert_eq!(none.check_before_save("INBOX", 10).unwrap(), QuotaVerdict::Ok);
    put(&root, 10);
    assert!(none.record_saved("INBOX", 10, 1).unwrap().is_empty());
    assert!(!root.join("maildirsize").exists());
}

#[test]
fn ignored_mailboxes_are_neither_counted_nor_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root.join(".Spam"), 900);
    put(&root.join(".Work.Sub"), 10);
    let q = quota(
        &root,
        &[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1K"),
            ("quota_rule2", "Spam:ignore"),
            ("quota_grace", "0"),
        ],
    );
    assert_eq!(q.check_before_save("INBOX", 1014).unwrap(), QuotaVerdict::Ok);
    assert_eq!(maildirsize(&root), "1024S\n10 1\n");
    assert_eq!(q.check_before_save("Spam", 1 << 20).unwrap(), QuotaVerdict::Ok);
    put(&root.join(".Spam"), 1 << 20);
    q.record_saved("Spam", 1 << 20, 1).unwrap();
    assert_eq!(maildirsize(&root), "1024S\n10 1\n");
}

#[test]
fn record_saved_recalculates_when_file_vanished_without_double_counting() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    let q = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=1M")]);
    assert_eq!(q.check_before_save("INBOX", 40).unwrap(), QuotaVerdict::Ok);
    put(&root, 40);
    fs::remove_file(root.join("maildirsize")).unwrap();
    q.record_saved("INBOX", 40, 1).unwrap();
    assert_eq!(maildirsize(&root), "1048576S\n40 1\n");
}

#[test]
fn warnings_are_returned_when_a_delivery_crosses_a_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    let q = quota(
        &root,
        &[
            ("quota", "maildir:User quota"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_warning", "storage=90%% quota-warning 90 bob"),
            ("quota_warning2", "storage=50%% quota-warning 50 bob"),
        ],
    );
    let mut fired = Vec::new();
    for size in [400, 200, 200, 200] {
        assert_eq!(q.check_before_save("INBOX", size).unwrap(), QuotaVerdict::Ok);
        put(&root, size as usize);
        let w = q.record_saved("INBOX", size, 1).unwrap();
        fired.push(w.iter().map(|c| c.command.join(" ")).collect::<Vec<_>>().join(";"));
    }
    assert_eq!(fired, ["", "quota-warning 50 bob", "", "quota-warning 90 bob"]);
}

#[test]
fn twenty_concurrent_recorders_keep_usage_exact() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    let q = quota(&root, &[("quota", "maildir"), ("quota_rule", "*:storage=1G:messages=100000")]);
    assert_eq!(q.check_before_save("INBOX", 1).unwrap(), QuotaVerdict::Ok);
    let per_thread = 25;
    std::thread::scope(|s| {
        for t in 0..20usize {
            let (q, root) = (&q, &root);
            s.spawn(move || {
                for i in 0..per_thread {
                    let size = 1000 + t * 100 + i;
                    assert_eq!(
                        q.check_before_save("INBOX", size as u64).unwrap(),
                        QuotaVerdict::Ok
                    );
                    put(root, size);
                    q.record_saved("INBOX", size as u64, 1).unwrap();
                }
            });
        }
    });
    let expected: u64 =
        (0..20u64).flat_map(|t| (0..per_thread as u64).map(move |i| 1000 + t * 100 + i)).sum();
    let text = maildirsize(&root);
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes as u64, u[0].count), (expected, 500), "{text}");
    // Every line intact: limits line + initial `0 0` + 500 deltas (3.5 KB, under 5120).
    assert_eq!(text.lines().count(), 502, "{text}");
    assert!(text.lines().skip(1).all(|l| l.split(' ').count() == 2), "{text}");
    let scanned = quota::scan::scan_maildir(
        &root,
        &Default::default(),
        quota::scan::SizeKind::Physical,
        &|_| false,
    )
    .unwrap();
    assert_eq!((scanned.bytes, scanned.count), (expected, 500));
}

#[test]
fn count_backend_uses_virtual_sizes_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = maildir(dir.path());
    put(&root, 100); // W=102
    fs::create_dir_all(root.join(".Trash/cur")).unwrap();
    fs::write(root.join(".Trash/cur/2.x.h:2,S"), b"a\nb\r\n").unwrap(); // vsize 6
    let q = quota(
        &root,
        &[
            ("quota", "count:User quota"),
            ("quota_vsizes", "yes"),
            ("quota_rule", "*:bytes=200:messages=3"),
            ("quota_grace", "0"),
            ("quota_warning", "messages=3 quota-warning full"),
        ],
    );
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes, u[0].count), (108, 2));
    assert_eq!(q.check_before_save("INBOX", 92).unwrap(), QuotaVerdict::Ok);
    assert!(matches!(q.check_before_save("INBOX", 93).unwrap(), QuotaVerdict::OverQuota { .. }));
    put(&root, 10); // W=12
    let w = q.record_saved("INBOX", 12, 1).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].command, ["quota-warning", "full"]);
    match q.check_before_save("INBOX", 1).unwrap() {
        QuotaVerdict::OverQuota { resource, .. } => assert_eq!(resource, QuotaResource::Messages),
        v => panic!("{v:?}"),
    }
    assert!(!root.join("maildirsize").exists());
}

#[test]
fn max_mail_size_without_roots() {
    let dir = tempfile::tempdir().unwrap();
    let q = quota(dir.path(), &[("quota_max_mail_size", "1M")]);
    assert_eq!(q.check_before_save("INBOX", 1 << 20).unwrap(), QuotaVerdict::Ok);
    assert_eq!(
        q.check_before_save("INBOX", (1 << 20) + 1).unwrap(),
        QuotaVerdict::TooLarge { size: (1 << 20) + 1, max: 1 << 20 }
    );
    assert!(q.record_saved("INBOX", 5, 1).unwrap().is_empty());
}
