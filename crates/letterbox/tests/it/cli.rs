//! Command-line behaviour: every option, getopt rules, usage errors.

use crate::support::*;

#[test]
fn unknown_option_prints_usage_and_exits_64() {
    let t = TestHome::new();
    let out = t.deliver(&["-x"], b"");
    assert_code(&out, 64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid option -- 'x'"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage:"));
    assert!(t.inbox().is_empty());
}

#[test]
fn missing_argument_and_stray_argument_exit_64() {
    let t = TestHome::new();
    let out = t.run_raw(&["-c", t.conf.to_str().unwrap(), "-d"], b"");
    assert_code(&out, 64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("option requires an argument -- 'd'"));
    let out = t.deliver(&["stray"], b"x");
    assert_code(&out, 64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown argument: stray"));
    assert!(t.inbox().is_empty());
}

#[test]
fn attached_option_values_work() {
    let t = TestHome::new();
    let conf = format!("-c{}", t.conf.display());
    let out = t.run_raw(&[&conf, "-dalice", "-mWork", "-fs@example.com"], &sample_message("att"));
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&t.maildir().join(".Work")).len(), 1);
}

#[test]
fn dash_o_overrides_the_config_file() {
    let t = TestHome::new();
    let alt = t.home.join("Other");
    let out = t.deliver(
        &["-o", &format!("mail_location=maildir:{}", alt.display())],
        &sample_message("o"),
    );
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&alt).len(), 1);
    assert!(t.inbox().is_empty());
}

#[test]
fn dash_capital_o_reads_no_config_file() {
    let t = TestHome::new();
    let log = t.root.join("o.log");
    let location = format!("mail_location=maildir:{}/Direct", t.home.display());
    // The -c file does not exist: with -O it is never read.
    let out = t.deliver_as_user(
        &[
            "-c",
            "/nonexistent.conf",
            "-O",
            "-o",
            &location,
            "-o",
            &format!("log_path={}", log.display()),
        ],
        &sample_message("cap-o"),
        &[],
    );
    assert_code(&out, 0);
    assert_eq!(t.messages_in(&t.home.join("Direct")).len(), 1);
}

#[test]
fn dash_m_creates_the_mailbox_and_dash_n_prevents_it() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-m", "Work"], &sample_message("m1")), 0);
    let work = t.maildir().join(".Work");
    assert_eq!(t.messages_in(&work).len(), 1);
    assert!(work.join("maildirfolder").exists());
    assert_code(&t.deliver(&["-n", "-m", "Other"], &sample_message("m2")), 0);
    assert!(!t.maildir().join(".Other").exists());
    assert_eq!(t.inbox().len(), 1);
    assert!(
        t.log_text().contains("save failed to open mailbox Other: Mailbox doesn't exist: Other")
    );
    assert!(t.log_text().contains("saved mail to INBOX"));
}

#[test]
fn explicit_autocreate_no_is_honoured() {
    let t = TestHome::with_config("lda_mailbox_autocreate = no\n");
    assert_code(&t.deliver(&["-m", "Work"], &sample_message("ac")), 0);
    assert!(!t.maildir().join(".Work").exists());
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn dash_s_subscribes_created_mailboxes() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-s", "-m", "Lists"], &sample_message("s1")), 0);
    let subs = std::fs::read_to_string(t.maildir().join("subscriptions")).unwrap();
    assert!(subs.lines().any(|l| l == "Lists"), "{subs:?}");
    // Without -s nothing new is subscribed.
    assert_code(&t.deliver(&["-m", "Other"], &sample_message("s2")), 0);
    let subs = std::fs::read_to_string(t.maildir().join("subscriptions")).unwrap();
    assert!(!subs.contains("Other"));
}

#[test]
fn empty_dash_m_means_inbox() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-m", ""], &sample_message("e")), 0);
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn dash_p_reads_the_file_and_hard_links_it() {
    let t = TestHome::new();
    let path = t.root.join("msg.eml");
    write_file(&path, std::str::from_utf8(&sample_message("p")).unwrap());
    // fs.protected_hardlinks: only the owner (or a user who may write it) can link a file.
    if running_as_root() {
        nix::unistd::chown(&path, Some(t.ids.0.into()), Some(t.ids.1.into())).unwrap();
    }
    assert_code(&t.deliver(&["-p", path.to_str().unwrap()], b"ignored stdin"), 0);
    let inbox = t.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].1, sample_message("p"));
    let stored = t.maildir().join(&inbox[0].0);
    assert_eq!(inode(&stored), inode(&path), "seed: -p hard-links when it can");
}

#[test]
fn dash_p_with_crlf_is_copied_and_converted() {
    let t = TestHome::new();
    let path = t.root.join("crlf.eml");
    write_file(&path, "Subject: x\r\n\r\nbody\r\n");
    assert_code(&t.deliver(&["-p", path.to_str().unwrap()], b""), 0);
    let inbox = t.inbox();
    assert_eq!(inbox[0].1, b"Subject: x\n\nbody\n");
    assert_ne!(inode(&t.maildir().join(&inbox[0].0)), inode(&path));
}

#[test]
fn dash_p_missing_file_is_tempfail() {
    let t = TestHome::new();
    let out = t.deliver(&["-p", "/nonexistent/message"], b"");
    assert_code(&out, 75);
    assert!(t.inbox().is_empty());
}

#[test]
fn dash_f_a_r_are_used_in_the_log_line() {
    let t = TestHome::with_config("deliver_log_format = from=%e to=%{to_envelope} %$\n");
    let out = t.deliver(
        &["-f", "<s@example.com>", "-a", "orig@example.org", "-r", "final@example.org"],
        &sample_message("far"),
    );
    assert_code(&out, 0);
    assert!(
        t.log_text().contains("from=s@example.com to=orig@example.org saved mail to INBOX"),
        "{}",
        t.log_text()
    );
}

#[test]
fn default_log_line_and_prefix() {
    let t = TestHome::new();
    assert_code(&t.deliver(&[], &sample_message("log")), 0);
    let log = t.log_text();
    assert!(log.contains("lda(alice)<"), "{log}");
    assert!(log.contains(">: Info: msgid=<log@example.com>: saved mail to INBOX"), "{log}");
}

#[test]
fn dash_i_unknown_instance_is_tempfail() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-i", "nosuch"], &sample_message("i")), 75);
    assert!(t.inbox().is_empty());
}

#[test]
fn dash_e_and_dash_k_and_dash_l_are_accepted() {
    let t = TestHome::new();
    assert_code(&t.deliver(&["-e", "-k", "-L"], &sample_message("ekl")), 0);
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn multi_call_names() {
    let t = TestHome::new();
    let link = t.root.join("dovecot-lda");
    std::os::unix::fs::symlink(letterbox_bin(), &link).unwrap();
    let mut cmd = std::process::Command::new(&link);
    cmd.args(["-c", t.conf.to_str().unwrap(), "-d", "alice"]);
    assert_code(&run_with_stdin(cmd, &sample_message("mc")), 0);
    assert_eq!(t.inbox().len(), 1);
}
