//! Loads real configuration trees from disk (the fixture under `testdata/full`, temporary
//! files for error cases, and Debian's stock config when installed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use dovecot_config::{Config, FsyncMode, LoadOptions, OriginKind, load, load_with_env};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/full/dovecot.conf")
}

fn env(name: &str) -> Option<String> {
    (name == "LETTERBOX_TEST_TMP").then(|| "/var/tmp/letterbox".to_owned())
}

fn load_fixture(protocol: &str, overrides: &[(&str, &str)]) -> Config {
    let opts = LoadOptions {
        path: Some(fixture()),
        protocol: protocol.into(),
        overrides: overrides.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
    };
    load_with_env(&opts, &env).expect("fixture loads")
}

#[test]
fn fixture_global_values_and_types() {
    let c = load_fixture("lda", &[]);
    let s = c.settings();
    assert_eq!(c.get("mail_location"), Some("maildir:~/Maildir:LAYOUT=fs"));
    assert_eq!(c.get("mail"), Some("maildir:~/Maildir:LAYOUT=fs"));
    assert_eq!(s.mail.first_valid_uid, 1000);
    assert_eq!(s.mail.mail_fsync, FsyncMode::Always);
    assert_eq!(s.mail.mbox_min_index_size.bytes(), 10 * 1024);
    assert_eq!(s.lda.submission_timeout, Duration::from_secs(120));
    assert_eq!(s.lda.rejection_subject, "Undeliverable: %s");
    assert_eq!(s.lda.rejection_reason, "Your message to <%t> was rejected: %n%r");
    assert_eq!(s.lda.postmaster_address, "Post Master <pm@example.org>");
    assert_eq!(s.lda.recipient_delimiter, "+-");
    assert!(s.lda.quota_full_tempfail);
    assert_eq!(s.mail.mail_temp_dir, "/var/tmp/letterbox", "$ENV: expanded");
    assert_eq!(s.log.protocols, vec!["imap", "lmtp"]);
    let origin = c.origin("first_valid_uid").unwrap();
    assert_eq!(origin.kind(), OriginKind::File);
    assert_eq!(origin.line(), 7);
    assert_eq!(
        c.origin("mail_privileged_group").unwrap().to_string().rsplit_once(':').unwrap().1,
        "27"
    );
    assert!(
        c.origin("mail_privileged_group").unwrap().path().unwrap().ends_with("conf.d/10-mail.conf")
    );
}

#[test]
fn protocol_lda_beats_global_and_lmtp_block_is_ignored() {
    let lda = load_fixture("lda", &[]);
    assert_eq!(lda.get("hostname"), Some("lda.example.org"));
    assert_eq!(lda.settings().mail.mail_plugins, vec!["quota", "sieve"]);
    assert!(lda.settings().lda.lda_mailbox_autosubscribe, "protocol !imap applies to lda");
    assert!(!lda.settings().mail.mail_debug, "local {{ }} blocks never apply");
    assert_eq!(lda.plugin().get("sieve_extensions").map(String::as_str), Some("+vacation-seconds"));

    let lmtp = load_fixture("lmtp", &[]);
    assert_eq!(lmtp.get("hostname"), Some("lmtp.example.org"));
    assert_eq!(lmtp.settings().mail.mail_plugins, vec!["quota", "lmtp_only"]);
    assert!(!lmtp.plugin().contains_key("sieve_extensions"));

    let imap = load_fixture("imap", &[]);
    assert_eq!(imap.get("hostname"), Some("mx.example.org"));
    assert!(!imap.settings().lda.lda_mailbox_autosubscribe);
}

#[test]
fn overrides_beat_protocol_blocks() {
    let c = load_fixture("lda", &[("hostname", "cli.example.org"), ("plugin/sieve", "file:/x")]);
    assert_eq!(c.get("hostname"), Some("cli.example.org"));
    assert_eq!(c.origin("hostname").unwrap().to_string(), "-o");
    assert_eq!(c.plugin()["sieve"], "file:/x");
    let c = load_fixture("lda", &[("no_such_setting", "x")]);
    assert_eq!(c.get("no_such_setting"), None, "unknown -o keys are ignored like dovecot-lda");
}

#[test]
fn sections_namespaces_and_dbs() {
    let c = load_fixture("lda", &[]);
    let ns = c.namespaces();
    assert_eq!(ns.len(), 2, "disabled namespace left out");
    assert_eq!(ns[0].name, "inbox");
    assert!(ns[0].inbox);
    assert_eq!(ns[0].separator, "/");
    assert_eq!(ns[0].mailboxes.len(), 2);
    assert_eq!(ns[0].mailboxes[1].name, "Sent Messages");
    assert_eq!(ns[0].mailboxes[1].auto, "subscribe");
    assert_eq!(ns[0].mailboxes[0].special_use, "\\Drafts");
    assert_eq!(ns[1].ns_type, "shared");
    assert_eq!(ns[1].list, "children");
    assert!(ns[1].hidden && !ns[1].subscriptions);
    assert_eq!(c.userdbs().len(), 2);
    assert_eq!(c.userdbs()[0].driver, "passwd-file");
    assert_eq!(c.userdbs()[0].override_fields, "mail=maildir:/var/vmail/%d/%n");
    assert_eq!(c.userdbs()[1].driver, "static");
    assert_eq!(c.passdbs().len(), 1);
    assert_eq!(c.plugin()["quota_rule"], "*:storage=1G");
    assert_eq!(c.plugin()["quota_exceeded_message"], "Over quota.\nTry later.\n", "<file");
}

#[test]
fn userdb_fields_override_settings_but_not_dash_o() {
    let base = load_fixture("lda", &[("mail_plugins", "quota")]);
    let fields: Vec<(String, String)> = [
        ("mail", "maildir:~/MaildirB"),
        ("quota_rule", "*:storage=2G"),
        ("plugin/sieve", "file:~/other"),
        ("uid", "1234"),
        ("home", "/home/x"),
        ("mail_plugins", "acl"),
        ("quota_full_tempfail", "no"),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), (*v).into()))
    .collect();
    let c = base.with_userdb_fields(&fields).unwrap();
    assert_eq!(c.get("mail_location"), Some("maildir:~/MaildirB"));
    assert_eq!(c.origin("mail_location").unwrap().to_string(), "userdb");
    assert_eq!(c.plugin()["quota_rule"], "*:storage=2G");
    assert_eq!(c.plugin()["sieve"], "file:~/other");
    assert_eq!(c.settings().mail.mail_plugins, vec!["quota"], "-o wins over userdb");
    assert!(!c.settings().lda.quota_full_tempfail);
    assert_eq!(c.get("uid"), None);
    assert!(!c.plugin().contains_key("uid"));

    let appended = load_fixture("lda", &[])
        .with_userdb_fields(&[("mail_plugins+".into(), "acl".into())])
        .unwrap();
    assert_eq!(appended.settings().mail.mail_plugins, vec!["quota", "sieve", "acl"]);

    let bad = base.with_userdb_fields(&[("mail_debug".into(), "maybe".into())]).unwrap_err();
    assert!(bad.to_string().contains("Invalid boolean value: maybe"), "{bad}");
}

#[test]
fn environment_overrides_for_dash_k() {
    let base = load_fixture("lda", &[("hostname", "cli")]);
    let env: Vec<(String, String)> =
        [("MAIL", "mbox:~/mail"), ("HOSTNAME", "env-host"), ("PATH", "/usr/bin")]
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
    let c = base.with_env_overrides(&env).unwrap();
    assert_eq!(c.settings().mail.mail_location, "mbox:~/mail");
    assert_eq!(c.origin("mail_location").unwrap().to_string(), "environment");
    assert_eq!(c.get("hostname"), Some("cli"));
    assert_eq!(c.get("path"), None);
}

#[test]
fn no_file_means_builtin_defaults() {
    let c = load(&LoadOptions { path: None, protocol: "lda".into(), overrides: vec![] }).unwrap();
    assert_eq!(c.get("lda_mailbox_autocreate"), Some("yes"), "seed wins");
    assert!(c.settings().lda.lda_mailbox_autocreate);
    assert_eq!(c.get("sendmail_path"), Some("/usr/sbin/sendmail"));
    assert_eq!(c.get("ssl_min_protocol"), Some("TLSv1.2"), "untyped settings have defaults too");
    assert_eq!(c.origin("log_path").unwrap().to_string(), "default");
    assert_eq!(c.get("foo"), None);
    assert!(c.origin("foo").is_none());
    assert_eq!(c.settings().mail.mbox_lock_timeout, Duration::from_secs(300));
    assert_eq!(c.dump_non_default(), "");
    assert!(c.namespaces().is_empty());
}

#[test]
fn explicit_autocreate_no_is_honoured() {
    let c = load(&LoadOptions {
        path: None,
        protocol: "lda".into(),
        overrides: vec![("lda_mailbox_autocreate".into(), "no".into())],
    })
    .unwrap();
    assert!(!c.settings().lda.lda_mailbox_autocreate);
}

#[test]
fn dump_lists_changed_settings_and_sections() {
    let dump = load_fixture("lda", &[]).dump_non_default();
    assert!(dump.contains("hostname = lda.example.org\n"), "{dump}");
    assert!(dump.contains("mail_plugins = quota sieve\n"));
    assert!(dump.contains("namespace inbox {\n  inbox = yes\n"), "{dump}");
    assert!(dump.contains("  mailbox \"Sent Messages\" {\n"), "{dump}");
    assert!(dump.contains("plugin {\n"));
    assert!(!dump.contains("sendmail_path"), "defaults are not dumped");
    let ns = dump.find("namespace inbox").unwrap();
    assert!(dump.find("mail_plugins").unwrap() < ns && ns < dump.find("protocols").unwrap());
}

#[test]
fn debian_stock_config_loads_when_installed() {
    let path = Path::new("/etc/dovecot/dovecot.conf");
    if !path.exists() {
        eprintln!("skipped: {} not installed", path.display());
        return;
    }
    for protocol in ["lda", "lmtp", "imap"] {
        let opts =
            LoadOptions { path: Some(path.into()), protocol: protocol.into(), overrides: vec![] };
        match load(&opts) {
            Ok(c) => assert!(!c.settings().log.base_dir.is_empty()),
            // Unreadable files (e.g. private keys when not root) are the only acceptable failure.
            Err(e) => assert!(e.message().contains("Can't open file"), "{protocol}: {e}"),
        }
    }
}

/// Golden file: the fixture's dump for `lda`. `UPDATE_EXPECT=1` rewrites it; on mismatch the
/// actual output is written next to it as `.actual`.
#[test]
fn golden_dump_for_lda() {
    let expected_path = fixture().with_file_name("dump-lda.expected");
    let actual = load_fixture("lda", &[]).dump_non_default();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        std::fs::write(expected_path.with_extension("actual"), &actual).unwrap();
    }
    assert_eq!(expected, actual, "see {}", expected_path.with_extension("actual").display());
}

#[test]
fn namespace_keys_from_overrides_and_userdb() {
    let c = load_fixture("lda", &[("namespace/inbox/separator", ".")]);
    assert_eq!(c.namespaces()[0].separator, ".");
    let c = c
        .with_userdb_fields(&[
            ("namespace/inbox/separator".into(), "|".into()),
            ("namespace/inbox/mail".into(), "maildir:/srv/%u".into()),
            ("namespace/extra/prefix".into(), "Extra/".into()),
        ])
        .unwrap();
    assert_eq!(c.namespaces()[0].separator, ".", "-o wins");
    assert_eq!(c.namespaces()[0].location, "maildir:/srv/%u");
    let extra = c.namespaces().iter().find(|n| n.name == "extra").unwrap();
    assert_eq!(extra.prefix, "Extra/");
}
