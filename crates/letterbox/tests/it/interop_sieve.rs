//! Sieve differential tests: the same script, message and envelope delivered by real
//! dovecot-lda + Pigeonhole and by letterbox give the same stored messages (folders, flags,
//! keywords, bytes) and the same sent mails (volatile headers masked).

use std::collections::BTreeMap;
use std::path::Path;

use crate::interop::Dovecot;
use crate::sieve_delivery::{sent, sieve_home};
use crate::support::*;

/// (folder, flags part of the file name, bytes) of every stored message, sorted.
fn stored(t: &TestHome) -> Vec<(String, String, Vec<u8>)> {
    let root = t.maildir();
    let mut out = Vec::new();
    let mut dirs = vec![("INBOX".to_string(), root.clone())];
    if let Ok(rd) = std::fs::read_dir(&root) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && entry.path().is_dir() {
                dirs.push((name[1..].to_string(), entry.path()));
            }
        }
    }
    for (folder, dir) in dirs {
        for (name, bytes) in t.messages_in(&dir) {
            let flags = name.rsplit_once(":2,").map(|(_, f)| f.to_string()).unwrap_or_default();
            out.push((folder.clone(), flags, bytes));
        }
    }
    out.sort();
    out
}

/// Keywords as `dovecot-keywords` of each folder lists them.
fn keywords(t: &TestHome) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for dir in std::fs::read_dir(t.maildir()).into_iter().flatten().flatten() {
        let path = dir.path().join("dovecot-keywords");
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.insert(dir.file_name().to_string_lossy().into_owned(), text);
        }
    }
    if let Ok(text) = std::fs::read_to_string(t.maildir().join("dovecot-keywords")) {
        out.insert("INBOX".into(), text);
    }
    out
}

/// Mask the values that differ between any two runs: Message-ID, Date, MIME boundaries.
fn normalize_mail(mail: &str) -> String {
    let mut boundaries = Vec::new();
    for part in mail.split("boundary=\"").skip(1) {
        if let Some(end) = part.find('"') {
            boundaries.push(part[..end].to_string());
        }
    }
    let mut text = mail.to_string();
    for b in boundaries {
        text = text.replace(&b, "BOUNDARY");
    }
    text.lines()
        .map(|l| {
            for name in ["Message-ID:", "Date:", "Arrival-Date:"] {
                if l.starts_with(name) {
                    return format!("{name} MASKED");
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn same_script_same_result(script: &str, extra: &str, args: &[&str], message: &[u8]) {
    let Some(dovecot) = Dovecot::find() else { return };
    let ours = sieve_home(script, extra);
    let theirs = sieve_home(script, extra);
    let a = ours.deliver(args, message);
    let b = dovecot.deliver(&theirs, args, message);
    assert_eq!(
        code(&a),
        code(&b),
        "exit codes differ; theirs: {}",
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(stored(&ours), stored(&theirs), "stored messages differ for {script:?}");
    assert_eq!(keywords(&ours), keywords(&theirs), "keywords differ for {script:?}");
    let norm = |t: &TestHome| -> Vec<(Vec<String>, String)> {
        sent(t).into_iter().map(|(argv, eml)| (argv, normalize_mail(&eml))).collect()
    };
    assert_eq!(norm(&ours), norm(&theirs), "sent mails differ for {script:?}");
    let _ = Path::new("");
}

const ARGS: &[&str] = &["-f", "bob@example.com", "-a", "alice@example.org"];

fn message() -> Vec<u8> {
    b"From: Bob <bob@example.com>\nTo: Alice <alice@example.org>\nSubject: Lunch?\nMessage-ID: <diff-1@example.com>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n\nShall we?\n".to_vec()
}

#[test]
fn fileinto_with_flags_and_keywords_matches_pigeonhole() {
    same_script_same_result(
        "require [\"fileinto\", \"imap4flags\", \"mailbox\"];\nfileinto :create :flags [\"\\\\Seen\", \"$label1\"] \"Work\";\naddflag \"\\\\Flagged\";\n",
        "",
        ARGS,
        &message(),
    );
}

#[test]
fn implicit_keep_with_flags_matches_pigeonhole() {
    same_script_same_result(
        "require \"imap4flags\";\naddflag [\"\\\\Answered\", \"Junk\"];\n",
        "",
        ARGS,
        &message(),
    );
}

#[test]
fn discard_matches_pigeonhole() {
    same_script_same_result("discard;\n", "", ARGS, &message());
}

#[test]
fn redirect_matches_pigeonhole() {
    same_script_same_result("redirect \"carol@example.net\";\n", "", ARGS, &message());
}

#[test]
fn redirect_copy_matches_pigeonhole() {
    same_script_same_result(
        "require \"copy\";\nredirect :copy \"carol@example.net\";\n",
        "",
        ARGS,
        &message(),
    );
}

#[test]
fn vacation_matches_pigeonhole() {
    same_script_same_result(
        "require \"vacation\";\nvacation :days 3 :subject \"Out of office\" \"I am away until Monday.\";\n",
        "",
        ARGS,
        &message(),
    );
}

#[test]
fn reject_matches_pigeonhole() {
    same_script_same_result(
        "require \"reject\";\nreject \"No lunch for you.\";\n",
        "",
        ARGS,
        &message(),
    );
}

#[test]
fn editheader_matches_pigeonhole() {
    same_script_same_result(
        "require \"editheader\";\naddheader \"X-Spam-Checked\" \"yes\";\ndeleteheader \"Date\";\n",
        "  sieve_extensions = +editheader\n",
        ARGS,
        &message(),
    );
}

#[test]
fn runtime_failure_keeps_like_pigeonhole() {
    same_script_same_result(
        "require \"fileinto\";\nfileinto \"Nope\";\n",
        "",
        &["-f", "bob@example.com", "-a", "alice@example.org", "-o", "lda_mailbox_autocreate=no"],
        &message(),
    );
}
