//! Every exit status and the error paths that lead to it (lda-cli.md §10).

use crate::support::*;

#[test]
fn unknown_user_is_67() {
    let t = TestHome::new();
    let out =
        t.run_raw(&["-c", t.conf.to_str().unwrap(), "-d", "nosuchuser"], &sample_message("u"));
    assert_code(&out, 67);
}

#[test]
fn root_without_dash_d_is_64() {
    if !running_as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TestHome::new();
    let out = t.run_raw(&["-c", t.conf.to_str().unwrap()], &sample_message("r"));
    assert_code(&out, 64);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("destination user parameter (-d user) not given")
    );
}

#[test]
fn invalid_envelope_addresses_are_64() {
    let t = TestHome::new();
    for (opt, value) in [
        ("-a", "bad\naddr"),
        ("-r", "<unbalanced"),
        ("-f", "<x@y"),
        ("-a", "sp ace@x"),
        ("-f", "a\tb"),
    ] {
        let out = t.deliver(&[opt, value], &sample_message("inv"));
        assert_code(&out, 64);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("Invalid {opt} parameter")), "{stderr}");
    }
    assert!(t.inbox().is_empty());
}

#[test]
fn broken_but_harmless_sender_is_treated_as_null() {
    let t = TestHome::with_config("deliver_log_format = env=[%e] %$\n");
    assert_code(&t.deliver(&["-f", "bad addr@@"], &sample_message("b")), 0);
    assert!(t.log_text().contains("env=[] saved mail to INBOX"), "{}", t.log_text());
}

#[test]
fn config_syntax_error_is_75_and_names_file_and_line() {
    let t = TestHome::new();
    t.rewrite_config("mail_location = maildir:~/Maildir\nnamespace inbox {\n");
    let out = t.deliver(&[], &sample_message("c"));
    assert_code(&out, 75);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(t.conf.to_str().unwrap()), "{stderr}");
}

#[test]
fn unknown_setting_is_75() {
    let t = TestHome::with_config("no_such_setting_anywhere = 1\n");
    let out = t.deliver(&[], &sample_message("c"));
    assert_code(&out, 75);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_setting_anywhere"));
}

#[test]
fn missing_config_file_is_75() {
    let t = TestHome::new();
    let out = t.run_raw(&["-c", "/nonexistent/dovecot.conf", "-d", "alice"], &sample_message("c"));
    assert_code(&out, 75);
}

#[test]
fn unwritable_log_is_75_and_nothing_is_stored() {
    let t = TestHome::with_config("log_path = /nonexistent-dir/lda.log\n");
    let out = t.deliver(&[], &sample_message("l"));
    assert_code(&out, 75);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/lda.log"));
    assert!(t.inbox().is_empty());
}

#[test]
fn uid_below_first_valid_uid_is_75() {
    let t = TestHome::with_config("first_valid_uid = 70000\n");
    let out = t.deliver(&[], &sample_message("v"));
    assert_code(&out, 75);
    assert!(t.log_text().contains("not permitted"), "{}", t.log_text());
    assert!(!t.maildir().exists());
}

#[test]
fn relative_home_is_75() {
    let t = TestHome::new();
    t.add_passwd_line(&format!("rel::{}:{}::relative/home::", t.ids.0, t.ids.1));
    let out = t.run_raw(&["-c", t.conf.to_str().unwrap(), "-d", "rel"], &sample_message("h"));
    assert_code(&out, 75);
}

#[test]
fn passwd_file_entry_with_uid_zero_is_dropped_as_dovecot_does() {
    // Dovecot's passwd-file drops entries whose uid resolves to 0: the user is unknown (67).
    let t = TestHome::new();
    t.add_passwd_line(&format!("rootish::0:0::{}::", t.home.display()));
    let out = t.run_raw(&["-c", t.conf.to_str().unwrap(), "-d", "rootish"], &sample_message("z"));
    assert_code(&out, 67);
    assert!(t.inbox().is_empty());
}

#[test]
fn unwritable_maildir_is_75_and_leaves_nothing() {
    let t = TestHome::with_config("");
    std::fs::create_dir_all(t.maildir()).unwrap();
    // The Maildir exists but belongs to someone else and is read-only.
    std::fs::set_permissions(t.maildir(), std::os::unix::fs::PermissionsExt::from_mode(0o555))
        .unwrap();
    if !running_as_root() {
        eprintln!("skipped: the owner can always chmod back; needs root to make a foreign dir");
        return;
    }
    let out = t.deliver(&["-e"], &sample_message("w"));
    assert_code(&out, 75);
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty(), "-e prints tempfail reasons");
    assert!(t.inbox().is_empty());
}

#[test]
fn userdb_mail_field_overrides_mail_location() {
    let t = TestHome::new();
    t.add_passwd_line(&format!(
        "bob::{}:{}::{}::userdb_mail=maildir:~/BobMail",
        t.ids.0,
        t.ids.1,
        t.home.display()
    ));
    let out = t.run_raw(&["-c", t.conf.to_str().unwrap(), "-d", "bob"], &sample_message("bob"));
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&t.home.join("BobMail")).len(), 1);
}

#[test]
fn dash_o_wins_over_userdb_fields() {
    let t = TestHome::new();
    t.add_passwd_line(&format!(
        "carol::{}:{}::{}::userdb_mail=maildir:~/CarolMail",
        t.ids.0,
        t.ids.1,
        t.home.display()
    ));
    let out = t.run_raw(
        &["-c", t.conf.to_str().unwrap(), "-d", "carol", "-o", "mail_location=maildir:~/Forced"],
        &sample_message("carol"),
    );
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&t.home.join("Forced")).len(), 1);
    assert!(!t.home.join("CarolMail").exists());
}

#[test]
fn home_mode_uses_user_and_home() {
    let t = TestHome::new();
    let out = t.deliver_as_user(&[], &sample_message("hm"), &[]);
    assert_code(&out, 0);
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn system_users_through_the_passwd_userdb() {
    if !running_as_root() {
        eprintln!("skipped: -d nobody needs root");
        return;
    }
    let t = TestHome::new();
    let mail = t.root.join("vmail");
    make_user_dir(&mail, (65534, 65534));
    t.rewrite_config(&format!(
        "mail_location = maildir:{}/%u\nlog_path = {}\nuserdb {{\n  driver = passwd\n}}\n",
        mail.display(),
        t.log.display()
    ));
    assert_code(&t.deliver_named("nobody", &[]), 0);
    assert_eq!(t.messages_in(&mail.join("nobody")).len(), 1);
    assert_code(&t.deliver_named("no-such-system-user", &[]), 67);
}

#[test]
fn debian_stock_config_just_works() {
    let stock = std::path::Path::new("/etc/dovecot/dovecot.conf");
    if !stock.exists() || !running_as_root() {
        assert!(std::env::var_os("CI").is_none(), "CI must have Debian's dovecot.conf installed");
        eprintln!("skipped: needs root and /etc/dovecot/dovecot.conf");
        return;
    }
    let t = TestHome::new();
    let mail = t.root.join("vmail");
    make_user_dir(&mail, (65534, 65534));
    let out = t.run_raw(
        &[
            "-c",
            "/etc/dovecot/dovecot.conf",
            "-d",
            "nobody",
            "-o",
            &format!("mail_location=maildir:{}/%n", mail.display()),
            "-o",
            &format!("log_path={}", t.log.display()),
        ],
        &sample_message("stock"),
    );
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&mail.join("nobody")).len(), 1);
}

#[test]
fn info_log_path_gets_the_info_lines() {
    let t = TestHome::new();
    let info = t.root.join("info.log");
    let out =
        t.deliver(&["-o", &format!("info_log_path={}", info.display())], &sample_message("il"));
    assert_code(&out, 0);
    let text = std::fs::read_to_string(&info).unwrap();
    assert!(text.contains("Info: msgid=<il@example.com>: saved mail to INBOX"), "{text}");
    assert!(!t.log_text().contains("saved mail"));
}

#[test]
fn empty_deliver_log_format_disables_the_line() {
    let t = TestHome::with_config("deliver_log_format =\n");
    assert_code(&t.deliver(&[], &sample_message("quiet")), 0);
    assert!(!t.log_text().contains("saved mail"), "{}", t.log_text());
    assert_eq!(t.inbox().len(), 1);
}
