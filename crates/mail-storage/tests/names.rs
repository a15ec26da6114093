//! Hostile mailbox names (hostile-input.md): every one is refused with Dovecot's text and a
//! non-temporary class (so the LDA falls back to INBOX), and nothing is created anywhere.

mod common;

use std::fs;

use common::*;
use mail_storage::{ErrorKind, NamespaceSpec};

const HOSTILE_DOT_SEPARATOR: &[(&str, &str)] = &[
    ("..", "Invalid mailbox name: Begins with hierarchy separator"),
    ("../../etc", "Invalid mailbox name: Begins with hierarchy separator"),
    ("a/../../b", "Invalid mailbox name: Has adjacent hierarchy separators"),
    ("a..b", "Invalid mailbox name: Has adjacent hierarchy separators"),
    (".", "Invalid mailbox name: Begins with hierarchy separator"),
    (".hidden", "Invalid mailbox name: Begins with hierarchy separator"),
    ("a.", "Invalid mailbox name: Ends with hierarchy separator"),
    ("/etc/passwd", "Invalid mailbox name: Name must not have '/' characters"),
    ("a/b", "Invalid mailbox name: Name must not have '/' characters"),
    ("~root", "Invalid mailbox name: Begins with '~'"),
    ("~/x", "Invalid mailbox name: Name must not have '/' characters"),
    ("a\u{1}b", "Control characters not allowed in new mailbox names"),
    ("a\nb", "Control characters not allowed in new mailbox names"),
    ("a\rb", "Control characters not allowed in new mailbox names"),
    ("tab\there", "Control characters not allowed in new mailbox names"),
    ("", "Invalid mailbox name: Name is empty"),
];

#[test]
fn hostile_names_are_refused_and_create_nothing() {
    let base = tempfile::tempdir().unwrap();
    let home = base.path().join("home");
    fs::create_dir(&home).unwrap();
    let user = user_at("maildir:~/Maildir", &home);
    save(&user, "INBOX", &create());
    let before = tree(base.path());
    let mut checked = 0;
    for (name, message) in HOSTILE_DOT_SEPARATOR {
        let err = user.open_mailbox(name, &create()).unwrap_err();
        assert_eq!(err.public_message(), *message, "{name:?}");
        assert!(!err.is_temporary(), "{name:?}");
        checked += 1;
    }
    assert_eq!(checked, HOSTILE_DOT_SEPARATOR.len());
    assert_eq!(tree(base.path()), before);
}

#[test]
fn long_names_behave_as_dovecot() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    // 254 bytes: ".<254>" fits in NAME_MAX.
    assert!(user.open_mailbox(&"x".repeat(254), &create()).is_ok());
    // 255: the directory name would be 256 bytes; Dovecot reports "Not found".
    let err = user.open_mailbox(&"y".repeat(255), &create()).unwrap_err();
    assert_eq!((err.kind, err.public_message().as_str()), (ErrorKind::NotFound, "Not found"));
    let err = user.open_mailbox(&"z".repeat(256), &create()).unwrap_err();
    assert_eq!(err.public_message(), "Mailbox name too long");
    let err = user.open_mailbox(&format!("a.{}", "w".repeat(254)), &create()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let names = tree(&home.path().join("Maildir"));
    assert!(!names.iter().any(|n| n.contains("yyy") || n.contains("zzz") || n.contains("www")));
}

#[test]
fn odd_but_valid_names_stay_inside_the_root() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    for (name, dir) in [
        ("del\u{7f}", ".del&AH8-"),
        ("a.~b", ".a.~b"),
        ("&", ".&-"),
        ("cur", ".cur"),
        ("a*b%c", ".a*b%c"),
        ("iNbOx.x", ".INBOX.x"),
        ("日本語", ".&ZeVnLIqe-"),
    ] {
        let mailbox = user.open_mailbox(name, &create()).unwrap();
        assert_eq!(mailbox.dir(), home.path().join("Maildir").join(dir), "{name:?}");
    }
    let top: Vec<String> = fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(top, vec!["Maildir".to_owned()]);
}

#[test]
fn slash_separator_and_fs_layout_rules() {
    let home = tempfile::tempdir().unwrap();
    let ns = NamespaceSpec { separator: Some('/'), ..NamespaceSpec::implicit_inbox() };
    let user = user_with("maildir:~/Maildir", home.path(), vec![ns.clone()]);
    for (name, message) in [
        ("a.b", "Character not allowed in mailbox name: '.'"),
        ("x/../y", "Character not allowed in mailbox name: '.'"),
        ("a//b", "Invalid mailbox name: Has adjacent hierarchy separators"),
        ("/a", "Invalid mailbox name: Begins with hierarchy separator"),
        ("a/", "Invalid mailbox name: Ends with hierarchy separator"),
    ] {
        assert_eq!(
            user.open_mailbox(name, &create()).unwrap_err().public_message(),
            message,
            "{name:?}"
        );
    }
    assert_eq!(
        user.open_mailbox("a/b", &create()).unwrap().dir(),
        home.path().join("Maildir/.a.b")
    );
    let fs_user = user_with("maildir:~/fs:LAYOUT=fs", home.path(), vec![ns]);
    for (name, message) in [
        ("x/./y", "Invalid mailbox name: Contains '.' part"),
        ("x/../y", "Invalid mailbox name: Contains '..' part"),
        ("cur", "Invalid mailbox name: Contains reserved name"),
        ("a/tmp", "Invalid mailbox name: Contains reserved name"),
        ("~x", "Invalid mailbox name: Begins with '~'"),
    ] {
        assert_eq!(
            fs_user.open_mailbox(name, &create()).unwrap_err().public_message(),
            message,
            "{name:?}"
        );
    }
    assert_eq!(fs_user.open_mailbox("a/~b", &create()).unwrap().dir(), home.path().join("fs/a/~b"));
    assert_eq!(fs_user.open_mailbox(".hid", &create()).unwrap().dir(), home.path().join("fs/.hid"));
}
