//! Saving into Maildirs: what a delivery leaves on disk, compared with what Dovecot 2.3.19
//! was observed to leave (maildir.md §1–§4).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::*;
use dovecot_index::{Keywords, Subscriptions, Uidlist};
use mail_storage::{
    AutoMailbox, AutoMode, ErrorKind, MailFlags, MessageSource, NamespaceSpec, OpenOptions,
    SaveOptions,
};

#[test]
fn fresh_inbox_delivery_creates_what_dovecot_creates() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let saved = save(&user, "INBOX", &OpenOptions::default());
    let root = home.path().join("Maildir");
    assert_eq!(mode(&root), 0o700);
    for sub in ["cur", "new", "tmp"] {
        assert_eq!(mode(&root.join(sub)), 0o700);
    }
    assert_eq!(fs::metadata(root.join("maildirfolder")).unwrap().len(), 0);
    assert_eq!(mode(&root.join("maildirfolder")), 0o600);
    // Message file: new/<base>,S=17,W=20 with the exact bytes.
    assert_eq!(saved.uid, Some(1));
    assert_eq!((saved.size, saved.vsize), (17, 20));
    assert!(saved.storage_id.ends_with(".testhost,S=17,W=20"));
    assert_eq!(saved.path, root.join("new").join(&saved.storage_id));
    assert_eq!(fs::read(&saved.path).unwrap(), MSG);
    assert_eq!(mode(&saved.path), 0o600);
    // UIDVALIDITY files and the uidlist.
    let hex = fs::read_to_string(root.join("dovecot-uidvalidity")).unwrap();
    let marker = root.join(format!("dovecot-uidvalidity.{hex}"));
    assert_eq!(mode(&marker), 0o444);
    let list = Uidlist::parse(&fs::read(root.join("dovecot-uidlist")).unwrap()).unwrap();
    assert_eq!(list.header.uid_validity, u32::from_str_radix(&hex, 16).unwrap());
    assert_eq!(list.header.next_uid, 1);
    let text = fs::read_to_string(root.join("dovecot-uidlist")).unwrap();
    let first_line = text.lines().next().unwrap();
    assert!(first_line.starts_with(&format!("3 V{} N1 G", list.header.uid_validity)));
    assert_eq!(text.lines().nth(1).unwrap(), format!("1 :{}", saved.storage_id));
    assert!(tree(&root.join("tmp")).is_empty());
    assert!(!root.join("dovecot-uidlist.lock").exists());
}

#[test]
fn later_saves_append_and_keep_header() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let first = save(&user, "INBOX", &OpenOptions::default());
    let header_before = fs::read_to_string(home.path().join("Maildir/dovecot-uidlist")).unwrap();
    let second = save(&user, "inbox", &OpenOptions::default());
    assert_eq!((first.uid, second.uid), (Some(1), Some(2)));
    let after = fs::read_to_string(home.path().join("Maildir/dovecot-uidlist")).unwrap();
    assert!(after.starts_with(&header_before));
    assert_eq!(after.lines().last().unwrap(), format!("2 :{}", second.storage_id));
}

#[test]
fn existing_root_without_subdirs_gets_no_maildirfolder() {
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join("Maildir")).unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let mailbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    assert!(!mailbox.created());
    assert!(home.path().join("Maildir/tmp").is_dir());
    assert!(!home.path().join("Maildir/maildirfolder").exists());
}

#[test]
fn missing_folder_without_autocreate_is_not_found() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let err = user.open_mailbox("Nope", &OpenOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.public_message(), "Mailbox doesn't exist: Nope");
    assert!(!err.is_temporary());
    assert!(!home.path().join("Maildir/.Nope").exists());
}

#[test]
fn autocreated_folder_is_maildirplusplus_and_subscribed() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let opts = OpenOptions { autocreate: true, autosubscribe: true };
    let mailbox = user.open_mailbox("Work.Sub", &opts).unwrap();
    assert!(mailbox.created());
    let root = home.path().join("Maildir");
    let dir = root.join(".Work.Sub");
    assert!(dir.join("maildirfolder").is_file());
    assert!(!root.join(".Work").exists(), "parents are not created");
    assert!(!root.join("cur").exists(), "the root gets no cur/new/tmp");
    assert!(!root.join("maildirfolder").exists());
    let saved = mailbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    assert_eq!(saved.uid, Some(1));
    assert!(dir.join("dovecot-uidlist").is_file());
    assert!(root.join("dovecot-uidvalidity").is_file(), "uidvalidity lives in the root");
    user.open_mailbox("Entwürfe.Sub dir", &opts).unwrap();
    assert!(root.join(".Entw&APw-rfe.Sub dir/cur").is_dir());
    assert_eq!(
        fs::read(root.join("subscriptions")).unwrap(),
        b"V\t2\n\nWork\tSub\nEntw&APw-rfe\tSub dir\n"
    );
    assert_eq!(user.subscriptions().unwrap(), vec!["Work.Sub", "Entwürfe.Sub dir"]);
    // Opening again neither creates nor subscribes twice.
    assert!(!user.open_mailbox("Work.Sub", &opts).unwrap().created());
    assert_eq!(
        Subscriptions::parse(&fs::read(root.join("subscriptions")).unwrap()).entries.len(),
        2
    );
    // INBOX is created later without maildirfolder: the root existed already.
    save(&user, "INBOX", &OpenOptions::default());
    assert!(!root.join("maildirfolder").exists());
}

#[test]
fn namespace_auto_create_works_without_lda_autocreate() {
    let home = tempfile::tempdir().unwrap();
    let ns = NamespaceSpec {
        auto_mailboxes: vec![
            AutoMailbox { name: "Spam".into(), auto: AutoMode::Create },
            AutoMailbox { name: "Lists".into(), auto: AutoMode::Subscribe },
        ],
        ..NamespaceSpec::implicit_inbox()
    };
    let user = user_with("maildir:~/Maildir", home.path(), vec![ns]);
    assert!(user.open_mailbox("Spam", &OpenOptions::default()).unwrap().created());
    assert!(user.open_mailbox("Other", &OpenOptions::default()).is_err());
    assert!(user.open_mailbox("Lists", &OpenOptions::default()).unwrap().created());
    assert_eq!(user.subscriptions().unwrap(), vec!["Lists"]);
}

#[test]
fn fs_layout_with_prefixed_inbox_namespace() {
    let home = tempfile::tempdir().unwrap();
    let ns = NamespaceSpec {
        prefix: "INBOX/".into(),
        separator: Some('/'),
        ..NamespaceSpec::implicit_inbox()
    };
    let user = user_with("maildir:~/Maildir:LAYOUT=fs", home.path(), vec![ns]);
    let opts = OpenOptions { autocreate: true, autosubscribe: true };
    let saved = save(&user, "INBOX/Work/Sub", &opts);
    let root = home.path().join("Maildir");
    assert!(saved.path.starts_with(root.join("Work/Sub/new")));
    assert!(root.join("Work").is_dir());
    assert!(!root.join("Work/cur").exists(), "intermediate dirs are plain");
    assert!(!root.join("Work/Sub/maildirfolder").exists());
    assert_eq!(fs::read(root.join("subscriptions")).unwrap(), b"V\t2\n\nWork\tSub\n");
    assert_eq!(user.subscriptions().unwrap(), vec!["INBOX/Work/Sub"]);
    let inbox = save(&user, "INBOX/", &OpenOptions::default());
    assert!(inbox.path.starts_with(root.join("new")));
    let err = user.open_mailbox("Work", &opts).unwrap_err();
    assert_eq!(err.public_message(), "Mailbox can't be created");
    // Plain intermediate dir: not a mailbox until created.
    assert_eq!(
        user.open_mailbox("INBOX/Work", &OpenOptions::default()).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn inbox_control_and_index_options() {
    let home = tempfile::tempdir().unwrap();
    let user =
        user_at("maildir:~/Maildir:INBOX=~/inbox:CONTROL=~/control:INDEX=~/index", home.path());
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    assert_eq!(inbox.dir(), home.path().join("inbox"));
    assert_eq!(inbox.index_dir(), home.path().join("index"));
    let saved = inbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    assert!(saved.path.starts_with(home.path().join("inbox/new")));
    assert!(home.path().join("control/dovecot-uidlist").is_file());
    assert!(home.path().join("control/dovecot-uidvalidity").is_file());
    assert!(!home.path().join("inbox/dovecot-uidlist").exists());
    let folder = save(&user, "Work", &create());
    assert!(folder.path.starts_with(home.path().join("Maildir/.Work/new")));
    assert!(home.path().join("control/.Work/dovecot-uidlist").is_file());
    assert!(home.path().join("index/.Work").is_dir());
}

#[test]
fn flags_and_keywords_go_to_cur_with_letters() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let opts = SaveOptions {
        flags: MailFlags { seen: true, flagged: true, answered: true, draft: true, deleted: false },
        keywords: vec!["$Label1".into(), "Work".into(), "not valid".into()],
        received: None,
        guid: Some("0123456789abcdef0123456789abcdef".into()),
        envelope_sender: None,
    };
    let saved = inbox.save(MessageSource::Bytes(MSG), &opts).unwrap();
    let name = saved.path.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(name, format!("{},S=17,W=20:2,DFRSab", saved.storage_id.split(',').next().unwrap()));
    assert!(saved.path.starts_with(home.path().join("Maildir/cur")));
    assert_eq!(saved.dropped_keywords, vec!["not valid".to_owned()]);
    let kw = fs::read(home.path().join("Maildir/dovecot-keywords")).unwrap();
    assert_eq!(kw, b"0 $Label1\n1 Work\n");
    // The uidlist records the name without the info part.
    let list =
        Uidlist::parse(&fs::read(home.path().join("Maildir/dovecot-uidlist")).unwrap()).unwrap();
    assert_eq!(list.records[0].filename, saved.storage_id);
    assert_eq!(
        list.records[0].extensions,
        vec![(b'G', "0123456789abcdef0123456789abcdef".to_owned())]
    );
}

#[test]
fn at_most_26_keywords_reach_the_file_name() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let keywords: Vec<String> = (0..30).map(|i| format!("kw{i}")).collect();
    let saved = inbox
        .save(MessageSource::Bytes(MSG), &SaveOptions { keywords, ..SaveOptions::default() })
        .unwrap();
    let name = saved.path.to_str().unwrap();
    assert!(name.ends_with(":2,abcdefghijklmnopqrstuvwxyz"), "{name}");
    assert_eq!(saved.dropped_keywords.len(), 4);
    let table = Keywords::parse(&fs::read(home.path().join("Maildir/dovecot-keywords")).unwrap());
    assert_eq!(table.get(25), Some("kw25"));
}

#[test]
fn file_source_is_hard_linked_or_copied() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let staging = user.staging_dir().unwrap();
    assert_eq!(staging, home.path().join("Maildir/tmp"));
    let staged = staging.join(user.unique_name());
    fs::write(&staged, MSG).unwrap();
    let source = MessageSource::File { path: &staged, size: 17, vsize: 20, may_link: true };
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let linked = inbox.save(source, &SaveOptions::default()).unwrap();
    assert_eq!(fs::metadata(&linked.path).unwrap().ino(), fs::metadata(&staged).unwrap().ino());
    let work = user.open_mailbox("Work", &create()).unwrap();
    let copy_source = MessageSource::File { path: &staged, size: 17, vsize: 20, may_link: false };
    let copied = work.save(copy_source, &SaveOptions::default()).unwrap();
    assert_ne!(fs::metadata(&copied.path).unwrap().ino(), fs::metadata(&staged).unwrap().ino());
    assert_eq!(fs::read(&copied.path).unwrap(), MSG);
    assert_eq!((copied.size, copied.vsize), (17, 20));
}

#[test]
fn received_date_becomes_mtime() {
    let home = tempfile::tempdir().unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    let saved = inbox
        .save(
            MessageSource::Bytes(MSG),
            &SaveOptions { received: Some(when), ..SaveOptions::default() },
        )
        .unwrap();
    assert_eq!(fs::metadata(&saved.path).unwrap().modified().unwrap(), when);
}

#[test]
fn modes_follow_the_parent_directory() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    fs::create_dir(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o750)).unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    let saved = save(&user, "Shared", &create());
    assert_eq!(mode(&root.join(".Shared")), 0o750);
    assert_eq!(mode(&saved.path), 0o640);
    assert_eq!(mode(&root.join(".Shared/dovecot-uidlist")), 0o640);
}

#[test]
fn failures_leave_nothing_behind() {
    let home = tempfile::tempdir().unwrap();
    // The root's parent is a file: mkdir fails with a temporary error.
    fs::write(home.path().join("file"), "x").unwrap();
    let user = user_at("maildir:~/file/Maildir", home.path());
    let err = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(err.to_string().contains("Not a directory"), "{err}");
    // new/ is not a directory: the rename fails and tmp/ is cleaned up.
    let user = user_at("maildir:~/Maildir", home.path());
    let inbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    fs::remove_dir(home.path().join("Maildir/new")).unwrap();
    fs::write(home.path().join("Maildir/new"), "").unwrap();
    let err = inbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap_err();
    assert!(err.is_temporary());
    assert!(tree(&home.path().join("Maildir/tmp")).is_empty());
    assert!(tree(&home.path().join("Maildir/cur")).is_empty());
    assert!(!home.path().join("Maildir/dovecot-uidlist.lock").exists());
}

#[test]
fn dovecot_shared_marker_is_copied_to_new_mailboxes() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("Maildir");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("dovecot-shared"), "shared").unwrap();
    let user = user_at("maildir:~/Maildir", home.path());
    user.open_mailbox("Team", &create()).unwrap();
    assert_eq!(fs::read(root.join(".Team/dovecot-shared")).unwrap(), b"shared");
}
