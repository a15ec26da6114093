//! What lands on disk: bytes, file names, uidlist, layouts and namespaces (maildir.md).

use crate::support::*;

#[test]
fn message_is_stored_byte_for_byte_with_sizes_in_the_name() {
    let t = TestHome::new();
    let msg = sample_message("bytes");
    assert_code(&t.deliver(&[], &msg), 0);
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 1);
    let (name, bytes) = &inbox[0];
    assert_eq!(bytes, &msg);
    let lines = msg.iter().filter(|&&b| b == b'\n').count();
    assert!(name.starts_with("new/"), "{name}");
    assert!(name.ends_with(&format!(",S={},W={}", msg.len(), msg.len() + lines)), "{name}");
    assert!(t.tmp_files(&t.maildir()).is_empty());
}

#[test]
fn crlf_becomes_lf_and_from_line_is_dropped() {
    let t = TestHome::new();
    let input =
        b"From sender@example.com Tue Nov 25 10:00:00 2025\r\nSubject: x\r\n\r\nbody\r\nlast\r";
    assert_code(&t.deliver(&[], input), 0);
    assert_eq!(t.inbox()[0].1, b"Subject: x\n\nbody\nlast");
}

#[test]
fn from_line_sender_is_the_envelope_sender_without_dash_f() {
    let t = TestHome::with_config("deliver_log_format = env=%e %$\n");
    assert_code(
        &t.deliver(&[], b"From someone@example.com Tue Nov 25 10:00:00 2025\nSubject: x\n\nb\n"),
        0,
    );
    assert!(t.log_text().contains("env=someone@example.com saved"), "{}", t.log_text());
    assert_code(
        &t.deliver(
            &["-f", "given@example.com"],
            b"From someone@example.com Tue\nSubject: x\n\nb\n",
        ),
        0,
    );
    assert!(t.log_text().contains("env=given@example.com saved"), "{}", t.log_text());
    assert_code(&t.deliver(&[], b"Subject: x\n\nb\n"), 0);
    assert!(t.log_text().contains("env=MAILER-DAEMON saved"), "{}", t.log_text());
}

#[test]
fn empty_header_only_and_nul_messages_are_kept() {
    let t = TestHome::new();
    let inputs: [&[u8]; 3] = [b"", b"Subject: only header\n", b"Subject: nul\n\na\0b\n"];
    for input in inputs {
        assert_code(&t.deliver(&[], input), 0);
    }
    let mut stored: Vec<Vec<u8>> = t.inbox().into_iter().map(|(_, b)| b).collect();
    stored.sort();
    let mut expected: Vec<Vec<u8>> = inputs.iter().map(|i| i.to_vec()).collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert!(t.log_text().contains("msgid=unspecified: saved mail to INBOX"));
}

#[test]
fn uids_are_assigned_at_delivery_and_increase() {
    let t = TestHome::new();
    for i in 0..5 {
        assert_code(&t.deliver(&[], &sample_message(&format!("uid{i}"))), 0);
    }
    let text = t.uidlist(&t.maildir());
    assert!(text.starts_with("3 V"), "{text}");
    let records = uidlist_records(&text);
    let uids: Vec<u32> = records.iter().map(|r| r.0).collect();
    assert_eq!(uids, vec![1, 2, 3, 4, 5]);
    let names: Vec<String> = t.inbox().iter().map(|(n, _)| n[4..].to_string()).collect();
    for (_, name) in &records {
        assert!(names.contains(name), "{name} listed but not on disk");
    }
}

#[test]
fn large_message_is_streamed_and_stored_exactly() {
    let t = TestHome::new();
    let mut msg = b"Subject: big\nMessage-ID: <big@x>\n\n".to_vec();
    while msg.len() < 3 * 1024 * 1024 {
        msg.extend_from_slice(
            b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n",
        );
    }
    assert_code(&t.deliver(&[], &msg), 0);
    let stored = &t.inbox()[0].1;
    assert_eq!(stored.len(), msg.len() - msg.iter().filter(|&&b| b == b'\r').count());
    assert!(!stored.contains(&b'\r'));
    assert!(t.tmp_files(&t.maildir()).is_empty(), "staging file removed");
    assert!(t.log_text().contains("msgid=<big@x>: saved mail to INBOX"));
}

#[test]
fn layout_fs_and_namespace_prefix() {
    let t = TestHome::with_config(
        "mail_location = maildir:~/Maildir:LAYOUT=fs\nnamespace inbox {\n  inbox = yes\n  separator = /\n  prefix = INBOX/\n}\n",
    );
    assert_code(&t.deliver(&["-m", "INBOX/Work/Sub"], &sample_message("fs")), 0);
    assert_eq!(t.messages_in(&t.maildir().join("Work/Sub")).len(), 1);
    assert!(!t.maildir().join("Work/cur").exists(), "intermediate dirs are plain");
    assert_code(&t.deliver(&["-m", "INBOX/"], &sample_message("prefix")), 0);
    assert_eq!(t.inbox().len(), 1, "delivery to the bare prefix goes to INBOX");
    assert_code(&t.deliver(&["-m", "Work"], &sample_message("outside")), 0);
    assert_eq!(t.inbox().len(), 2, "a name outside every prefix falls back to INBOX");
}

#[test]
fn hostile_mailbox_names_fall_back_to_inbox_and_create_nothing_outside() {
    let t = TestHome::new();
    let names = ["../escape", "/abs", "~x", "a..b", "a\u{1}b", &"x".repeat(300)];
    for name in names {
        assert_code(&t.deliver(&["-m", name], &sample_message("h")), 0);
    }
    assert_eq!(t.inbox().len(), names.len());
    assert!(!t.home.join("escape").exists() && !std::path::Path::new("/abs").exists());
    let dirs: Vec<_> = std::fs::read_dir(t.maildir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(dirs.is_empty(), "created {dirs:?}");
}

#[test]
fn maildir_plus_plus_rejects_slash_with_default_separator() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-m", "Work/Sub"], &sample_message("slash")), 0);
    assert_eq!(t.inbox().len(), 1);
    assert!(t.log_text().contains("Name must not have '/' characters"), "{}", t.log_text());
}

#[test]
fn utf8_names_are_stored_in_modified_utf7() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-m", "Entwürfe"], &sample_message("u7")), 0);
    assert_eq!(t.messages_in(&t.maildir().join(".Entw&APw-rfe")).len(), 1);
}
