//! mbox delivery: file layout, the exact bytes appended, folders and namespaces, and the
//! error classes of a read-only or non-mbox file.

mod mbox_common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime};

use mail_storage::mbox::from_line::from_line;
use mail_storage::{
    ErrorKind, MailFlags, MailLocation, MailUser, MessageSource, NamespaceSpec, OpenOptions,
    SaveOptions,
};
use mbox_common::*;

#[test]
fn inbox_is_created_and_messages_are_appended_as_dovecot_writes_them() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail:INBOX=~/spool/u", home.path());
    let inbox_path = home.path().join("spool/u");
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    assert!(inbox.created());
    assert_eq!(inbox.dir(), inbox_path);
    assert_eq!(fs::metadata(&inbox_path).unwrap().mode() & 0o7777, 0o600);
    assert_eq!(fs::metadata(&inbox_path).unwrap().len(), 0);

    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let opts = SaveOptions {
        envelope_sender: Some("someone@example.com".into()),
        received: Some(when),
        ..SaveOptions::default()
    };
    let first = b"Subject: one\nStatus: RO\nX-UID: 5\n\nFrom here\nbody";
    let saved = inbox.save(MessageSource::Bytes(first), &opts).unwrap();
    assert_eq!((saved.uid, saved.path.as_path()), (None, inbox_path.as_path()));
    let second = b"Subject: two\n\nhi\n";
    inbox
        .save(MessageSource::Bytes(second), &SaveOptions { received: Some(when), ..opts.clone() })
        .unwrap();
    let null = SaveOptions { envelope_sender: Some(String::new()), received: Some(when), ..opts };
    inbox.save(MessageSource::Bytes(b""), &null).unwrap();

    let line = |sender| String::from_utf8(from_line(Some(sender), when)).unwrap();
    let pad = |n| " ".repeat(n);
    let want = format!(
        "{}Subject: one\nStatus: \nX-Keywords:{}\nContent-Length: 15\n\nFrom here\nbody\n\n\
         {}Subject: two\nStatus: \nX-Keywords:{}\nContent-Length: 3\n\nhi\n\n\
         {}Status: \nX-Keywords:{}\nContent-Length: 0\n\n\n",
        line("someone@example.com"),
        pad(72),
        line("someone@example.com"),
        pad(73),
        line(""),
        pad(73),
    );
    assert_eq!(String::from_utf8(fs::read(&inbox_path).unwrap()).unwrap(), want);
    assert!(want.contains("From MAILER-DAEMON  "));
    assert!(!home.path().join("spool/u.lock").exists());
}

#[test]
fn inbox_defaults_to_root_inbox_and_folders_are_files() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail", home.path());
    save_msg(&user, "INBOX", b"S: 1\n\nx\n", Some("a@b")).unwrap();
    assert!(home.path().join("mail/inbox").is_file());

    let err = user.open_mailbox("Work/Sub", &OpenOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.public_message(), "Mailbox doesn't exist: Work/Sub");
    let opts = OpenOptions { autocreate: true, autosubscribe: true };
    let folder = user.open_mailbox("Work/Sub", &opts).unwrap();
    assert!(folder.created());
    assert_eq!(folder.dir(), home.path().join("mail/Work/Sub"));
    assert_eq!(fs::metadata(home.path().join("mail/Work")).unwrap().mode() & 0o777, 0o700);
    assert_eq!(fs::metadata(home.path().join("mail/Work/Sub")).unwrap().mode() & 0o777, 0o600);
    folder.save(MessageSource::Bytes(b"S: 2\n\nx\n"), &SaveOptions::default()).unwrap();
    assert_eq!(parse_mbox(&fs::read(home.path().join("mail/Work/Sub")).unwrap()).len(), 1);
    // mbox keeps subscriptions in `.subscriptions`.
    let subs = fs::read_to_string(home.path().join("mail/.subscriptions")).unwrap();
    assert_eq!(subs, "V\t2\n\nWork\tSub\n");
    assert_eq!(user.subscriptions().unwrap(), vec!["Work/Sub".to_owned()]);
    // A directory (a mailbox with children only) cannot take mail.
    let err = user.open_mailbox("Work", &OpenOptions::default()).unwrap_err();
    assert_eq!(err.public_message(), "Mailbox isn't selectable");
    assert!(!err.is_temporary());
    // Names are validated as for Maildir.
    assert_eq!(user.open_mailbox("a//b", &opts).unwrap_err().kind, ErrorKind::InvalidName);
}

#[test]
fn prefixed_namespace_maps_to_files_under_the_root() {
    let home = tempfile::tempdir().unwrap();
    let loc = MailLocation::parse("mbox:~/mail:INBOX=~/inbox", Some(home.path())).unwrap();
    let ns = NamespaceSpec {
        prefix: "INBOX/".into(),
        separator: Some('/'),
        ..NamespaceSpec::implicit_inbox()
    };
    let user = MailUser::new(loc, vec![ns], settings(&[], secs(1))).unwrap();
    let create = OpenOptions { autocreate: true, autosubscribe: false };
    assert_eq!(user.open_mailbox("INBOX/", &create).unwrap().dir(), home.path().join("inbox"));
    let sub = user.open_mailbox("INBOX/Work/Sub", &create).unwrap();
    assert_eq!(sub.dir(), home.path().join("mail/Work/Sub"));
    assert_eq!(user.open_mailbox("Work", &create).unwrap_err().kind, ErrorKind::NotPossible);
}

#[test]
fn flags_and_keywords_become_status_headers() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail", home.path());
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let opts = SaveOptions {
        flags: MailFlags {
            seen: true,
            answered: true,
            flagged: false,
            deleted: true,
            draft: false,
        },
        keywords: vec!["$Label1".into(), "Work".into(), "not valid".into(), "Work".into()],
        ..SaveOptions::default()
    };
    let saved = inbox.save(MessageSource::Bytes(b"Subject: a\n\nx\n"), &opts).unwrap();
    assert_eq!(saved.dropped_keywords, vec!["not valid".to_owned()]);
    let parsed = parse_mbox(&fs::read(home.path().join("mail/inbox")).unwrap());
    let header = &parsed[0].header;
    assert!(header.starts_with("Subject: a\nStatus: R\nX-Status: AD\nX-Keywords: $Label1 Work "));
    assert!(header.ends_with(&format!("{}\nContent-Length: 2\n", " ".repeat(73))), "{header}");
}

#[test]
fn missing_final_newline_is_added_before_appending() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("inbox");
    fs::write(&path, "From x  Wed Nov 25 18:44:27 2026\nS: a\nContent-Length: 1\n\nb").unwrap();
    let user = user("mbox:~/mail:INBOX=~/inbox", home.path());
    save_msg(&user, "INBOX", b"S: x\n\nb\n", None).unwrap();
    let data = fs::read_to_string(&path).unwrap();
    assert!(
        data.starts_with("From x  Wed Nov 25 18:44:27 2026\nS: a\nContent-Length: 1\n\nb\nFrom ")
    );
    assert!(data.ends_with("Content-Length: 2\n\nb\n\n"));
}

#[test]
fn a_file_that_is_not_an_mbox_is_left_alone() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("inbox");
    fs::write(&path, "garbage\n").unwrap();
    let user = user("mbox:~/mail:INBOX=~/inbox", home.path());
    let err = save_msg(&user, "INBOX", b"S: x\n\nb\n", None).unwrap_err();
    assert!(err.is_temporary());
    assert!(err.public_message().contains("Mailbox isn't a valid mbox file"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"garbage\n");
}

#[test]
fn atime_is_kept_and_mtime_advances() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail", home.path());
    save_msg(&user, "INBOX", b"S: 1\n\nx\n", None).unwrap();
    let path = home.path().join("mail/inbox");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let file = fs::File::options().write(true).open(&path).unwrap();
    file.set_times(fs::FileTimes::new().set_accessed(old).set_modified(old)).unwrap();
    drop(file);
    save_msg(&user, "INBOX", b"S: 2\n\nx\n", None).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.atime(), 1_000_000_000);
    assert!(meta.mtime() > 1_000_000_000);
}

#[test]
fn staging_dir_of_an_mbox_inbox_is_the_temp_dir() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail", home.path());
    assert_eq!(user.staging_dir().unwrap(), pathbuf("/tmp"));
    assert!(home.path().join("mail/inbox").is_file());
}

#[test]
fn staged_file_source_is_copied_and_a_missing_one_leaves_no_trace() {
    let home = tempfile::tempdir().unwrap();
    let user = user("mbox:~/mail", home.path());
    let staged = home.path().join("staged");
    let body = "line\n".repeat(50_000);
    fs::write(&staged, format!("Subject: big\nX-UID: 3\n\n{body}")).unwrap();
    let size = fs::metadata(&staged).unwrap().len();
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let source = |path| MessageSource::File { path, size, vsize: size, may_link: true };
    inbox.save(source(&staged), &SaveOptions::default()).unwrap();
    let path = home.path().join("mail/inbox");
    let before = fs::read(&path).unwrap();
    let parsed = parse_mbox(&before);
    assert_eq!(parsed[0].body, body.as_bytes());
    assert!(!parsed[0].header.contains("X-UID"));
    let err = inbox.save(source(&home.path().join("gone")), &SaveOptions::default()).unwrap_err();
    assert!(err.is_temporary());
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// Child: a save as the (unprivileged) owner of `LB_MBOX_HOME`; prints the error kind.
#[test]
fn child_save_as_user() {
    let Ok(home) = std::env::var("LB_MBOX_HOME") else { return };
    let user = user(&std::env::var("LB_MBOX_LOCATION").unwrap(), &pathbuf(&home));
    let vname = std::env::var("LB_MBOX_MAILBOX").unwrap_or_else(|_| "INBOX".into());
    match save_msg(&user, &vname, b"S: x\n\nb\n", None) {
        Ok(_) => println!("RESULT ok"),
        Err(e) => println!("RESULT {:?} {}", e.kind, e.public_message()),
    }
}

fn run_child_as_user(home: &std::path::Path, location: &str, mailbox: &str) -> String {
    let out = child("child_save_as_user", true)
        .env("LB_MBOX_HOME", home)
        .env("LB_MBOX_LOCATION", location)
        .env("LB_MBOX_MAILBOX", mailbox)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let found = stdout.lines().find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()));
    found.unwrap_or(stdout)
}

#[test]
fn read_only_mbox_is_a_permission_error() {
    let home = open_tempdir();
    let path = home.path().join("mail/RO");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "From x  Wed Nov 25 18:44:27 2026\nS: a\n\nb\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    give_to_nobody(home.path());
    let location = format!("mbox:{}/mail", home.path().display());
    let result = run_child_as_user(home.path(), &location, "RO");
    assert_eq!(result, "NoPermission Read-only mbox");
    assert_eq!(fs::read(&path).unwrap(), b"From x  Wed Nov 25 18:44:27 2026\nS: a\n\nb\n");
}

#[test]
fn dotlock_in_a_spool_dir_we_cannot_write_is_a_temporary_error() {
    let home = open_tempdir();
    let spool = home.path().join("spool");
    fs::create_dir(&spool).unwrap();
    fs::write(spool.join("u"), "").unwrap();
    give_to_nobody(home.path());
    // Like /var/mail: the directory belongs to root, the mbox to the user.
    if is_root() {
        nix::unistd::chown(&spool, Some(0.into()), Some(0.into())).unwrap();
    }
    fs::set_permissions(&spool, fs::Permissions::from_mode(0o755)).unwrap();
    if !is_root() {
        eprintln!("SKIPPED: needs root to hand the spool directory to another owner");
        return;
    }
    let location = format!("mbox:{0}/mail:INBOX={0}/spool/u", home.path().display());
    let result = run_child_as_user(home.path(), &location, "INBOX");
    assert!(result.starts_with("Temp file_dotlock_create("), "{result}");
    assert!(result.contains("(set mail_privileged_group=root)"), "{result}");
    assert_eq!(fs::metadata(spool.join("u")).unwrap().len(), 0);
}
