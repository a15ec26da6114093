//! Concurrency and crash safety: 50 parallel deliveries, SIGKILL at random moments.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

#[test]
fn fifty_concurrent_deliveries_get_fifty_distinct_uids() {
    let t = TestHome::new();
    let children: Vec<_> = (0..50)
        .map(|i| {
            let mut cmd = Command::new(letterbox_bin());
            cmd.args(["deliver", "-c", t.conf.to_str().unwrap(), "-d", "alice"]);
            std::thread::spawn(move || run_with_stdin(cmd, &sample_message(&format!("c{i}"))))
        })
        .collect();
    for child in children {
        assert_code(&child.join().unwrap(), 0);
    }
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 50);
    let records = uidlist_records(&t.uidlist(&t.maildir()));
    let uids: HashSet<u32> = records.iter().map(|r| r.0).collect();
    assert_eq!(records.len(), 50, "every delivery is listed with its UID");
    assert_eq!(uids.len(), 50);
    let names: HashSet<String> = inbox.iter().map(|(n, _)| n[4..].to_string()).collect();
    for (_, name) in &records {
        assert!(names.contains(name));
    }
}

/// Deterministic pseudo-random delays (no external RNG crate needed).
fn delays(n: usize) -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_micros(state % 4000)
    })
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_message() {
    let t = TestHome::new();
    let mut msg = sample_message("kill");
    msg.extend(std::iter::repeat_n(b'x', 200_000));
    msg.push(b'\n');
    let mut delivered = 0;
    for delay in delays(200) {
        let mut child = Command::new(letterbox_bin())
            .args(["deliver", "-c", t.conf.to_str().unwrap(), "-d", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let body = msg.clone();
        let writer = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &body);
        });
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        writer.join().unwrap();
        if status.success() {
            delivered += 1;
        }
        for (name, bytes) in t.inbox() {
            assert_eq!(bytes, msg, "partial message visible: {name}");
        }
        let text = t.uidlist(&t.maildir());
        if !text.is_empty() {
            assert!(text.starts_with("3 V"), "uidlist header broken: {text:?}");
            for line in text.lines().skip(1) {
                assert!(
                    line.split_once(' ').is_some_and(|(u, _)| u.parse::<u32>().is_ok()),
                    "bad line {line:?}"
                );
            }
        }
    }
    assert!(t.inbox().len() >= delivered, "every reported success is stored");
}
