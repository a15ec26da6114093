//! Concurrency and crash safety: 50 parallel deliveries, SIGKILL at random moments.

use std::collections::HashSet;
use std::process::Command;

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

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_message() {
    let t = TestHome::new();
    let mut msg = sample_message("kill");
    msg.extend(std::iter::repeat_n(b'x', 200_000));
    msg.push(b'\n');
    let mut delivered = 0;
    for delay in pseudo_random_delays(0x9e37_79b9_7f4a_7c15, 200, 4000) {
        let mut child = t.delivery_child_command().spawn().unwrap();
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

/// Run `n` deliveries of distinct messages at once; every one must exit 0.
fn deliver_concurrently(t: &TestHome, n: usize, size: usize) -> Vec<Vec<u8>> {
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut m = sample_message(&format!("cc{i}"));
            m.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, size));
            m.push(b'\n');
            m
        })
        .collect();
    let children: Vec<_> = messages
        .iter()
        .cloned()
        .map(|msg| {
            let mut cmd = Command::new(letterbox_bin());
            cmd.args([
                "deliver",
                "-c",
                t.conf.to_str().unwrap(),
                "-d",
                "alice",
                "-f",
                "s@example.com",
            ]);
            std::thread::spawn(move || run_with_stdin(cmd, &msg))
        })
        .collect();
    for child in children {
        assert_code(&child.join().unwrap(), 0);
    }
    messages
}

#[test]
fn twenty_concurrent_mbox_deliveries_are_intact_and_not_interleaved() {
    let t = TestHome::with_config("mail_location = mbox:~/mail:INBOX=~/mail/inbox\n");
    let messages = deliver_concurrently(&t, 20, 20_000);
    let mbox = std::fs::read(t.home.join("mail/inbox")).unwrap();
    for msg in &messages {
        // The body (a run of one letter) must appear whole: nothing interleaved into it.
        let body = &msg[msg.len() - 20_001..];
        assert!(mbox.windows(body.len()).any(|w| w == body), "message body missing or interleaved");
    }
    let separators =
        mbox.split(|&b| b == b'\n').filter(|l| l.starts_with(b"From s@example.com ")).count();
    assert_eq!(separators, 20);
}

#[test]
fn twenty_concurrent_deliveries_into_a_quota_maildir_count_exactly() {
    let t = TestHome::with_config(
        "mail_plugins = quota\nplugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=100M\n}\n",
    );
    // The first delivery creates maildirsize by a recalculation (scan + rename). Appends that
    // race with such a rewrite can be lost, in Dovecot too (Maildir++ appends take no lock;
    // docs/compatibility.md): the exactness checked here is that of concurrent appends.
    let first = b"Subject: first\n\nfirst\n".to_vec();
    assert_code(&t.deliver(&["-f", "s@example.com"], &first), 0);
    let messages = deliver_concurrently(&t, 20, 5_000);
    assert_eq!(t.inbox().len(), 21);
    let size = std::fs::read_to_string(t.maildir().join("maildirsize")).unwrap();
    let (bytes, count) = size.lines().skip(1).fold((0i64, 0i64), |(b, c), line| {
        let mut it = line.split_whitespace().map(|v| v.parse::<i64>().unwrap());
        (b + it.next().unwrap(), c + it.next().unwrap())
    });
    let expected: usize = messages.iter().map(Vec::len).sum::<usize>() + first.len();
    assert_eq!((bytes as usize, count), (expected, 21), "{size}");
}

/// `letterbox deliver -c CONF -d alice -f bob@example.com ARGS` started with stdout and
/// stderr closed (a careless wrapper), `message` on stdin.
fn deliver_with_stdio_closed(t: &TestHome, args: &str, message: &[u8]) -> std::process::Output {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("exec \"$0\" deliver -c \"$1\" -d alice -f bob@example.com {args} 1>&- 2>&-"))
        .arg(letterbox_bin())
        .arg(&t.conf);
    run_with_stdin(cmd, message)
}

/// With descriptors 1 and 2 closed, letterbox reopens them on `/dev/null` before opening
/// anything, so no file it opens (the log, the message) becomes "stderr": a delivery stores
/// the message intact, and what `-e` writes to stderr does not land in the log file.
#[test]
fn closed_standard_descriptors_are_reopened_on_dev_null() {
    let t = crate::sieve_delivery::sieve_home("keep;\n", "");
    let message = b"Subject: fds\nMessage-ID: <fds@example.com>\n\nbody\n";
    let out = deliver_with_stdio_closed(&t, "", message);
    assert_eq!(code(&out), 0, "{}", t.log_text());
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 1, "{}", t.log_text());
    assert_eq!(inbox[0].1, message);

    let t = crate::sieve_delivery::sieve_home("require \"reject\";\nreject \"no thanks\";\n", "");
    let out = deliver_with_stdio_closed(&t, "-e", message);
    assert_eq!(code(&out), 77, "{}", t.log_text());
    let log = t.log_text();
    assert!(log.contains("lda(alice)"), "{log}");
    // Every line is a log line (date, `lda(alice)`), none is raw stderr text.
    assert!(log.lines().all(|l| l.contains(" lda(alice)")), "{log}");
    assert!(t.inbox().is_empty());
}
