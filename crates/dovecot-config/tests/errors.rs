//! Configuration errors: each one names the file and line the way doveconf does.

use std::path::Path;

use dovecot_config::{ConfigError, LoadOptions, load};

fn load_text(dir: &Path, text: &str) -> Result<dovecot_config::Config, ConfigError> {
    let path = dir.join("dovecot.conf");
    std::fs::write(&path, text).unwrap();
    load(&LoadOptions { path: Some(path), protocol: "lda".into(), overrides: vec![] })
}

fn error_of(text: &str) -> (String, ConfigError) {
    let dir = tempfile::tempdir().unwrap();
    let err = load_text(dir.path(), text).expect_err("must fail");
    let shown = err.to_string().replace(&dir.path().display().to_string(), "DIR");
    (shown, err)
}

#[test]
fn unknown_setting_names_file_and_line() {
    let (shown, err) = error_of("mail_debug = yes\n\nfoo = bar\n");
    assert_eq!(shown, "Error in configuration file DIR/dovecot.conf line 3: Unknown setting: foo");
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.message(), "Unknown setting: foo");
}

#[test]
fn unknown_keys_and_sections_inside_sections() {
    let (shown, _) = error_of("namespace x {\n  foo = bar\n}\n");
    assert!(shown.ends_with("line 2: Unknown setting: namespace { foo"), "{shown}");
    let (shown, _) = error_of("namespace x {\n  mailbox y {\n    foo = 1\n  }\n}\n");
    assert!(shown.ends_with("line 3: Unknown setting: namespace { mailbox { foo"), "{shown}");
    let (shown, _) = error_of("foo bar {\n}\n");
    assert!(shown.ends_with("line 1: Unknown setting: foo { foo"), "{shown}");
    let (shown, _) = error_of("protocol lda {\n  foo = bar\n}\n");
    assert!(shown.ends_with("line 2: Unknown setting: foo"), "{shown}");
    let (shown, _) = error_of("plugin {\n  a {\n  }\n}\n");
    assert!(shown.ends_with("line 2: Section not allowed here"), "{shown}");
}

#[test]
fn brace_errors() {
    let (shown, err) = error_of("namespace x {\n  inbox = yes\n");
    assert_eq!(
        shown,
        "Error in configuration file DIR/dovecot.conf: Missing '}' (section started at DIR/dovecot.conf:1)"
    );
    assert_eq!(err.line(), None);
    let (shown, _) = error_of("mail_debug = yes\n}\n");
    assert!(shown.ends_with("line 2: Unexpected '}'"), "{shown}");
    let (shown, _) = error_of("namespace x { inbox = yes }\n");
    assert!(shown.ends_with("line 1: Garbage after '{'"), "{shown}");
    let (shown, _) = error_of("mail_location\n");
    assert!(shown.ends_with("line 1: Expecting '{'"), "{shown}");
}

#[test]
fn filter_nesting_errors() {
    let (shown, _) = error_of("protocol lda {\n  protocol imap {\n  }\n}\n");
    assert!(
        shown.ends_with("line 2: Nested protocol { protocol { .. } } block not allowed"),
        "{shown}"
    );
    let (shown, _) = error_of("protocol imap {\n  local 1.2.3.4 {\n  }\n}\n");
    assert!(
        shown.ends_with(
            "line 2: protocol { local { .. } } not allowed (use local { protocol { .. } } instead)"
        ),
        "{shown}"
    );
}

#[test]
fn includes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.conf"), "mail_debug = yes\n").unwrap();
    let ok = load_text(
        dir.path(),
        "!include sub/*.conf\n!include_try nope/*.conf\n!include_try /nonexistent/x.conf\n",
    )
    .unwrap();
    assert!(ok.settings().mail.mail_debug);

    let err = load_text(dir.path(), "\n!include nope.conf\n").unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert_eq!(err.message(), "No matches");

    std::fs::write(dir.path().join("sub/loop.conf"), "!include ../dovecot.conf\n").unwrap();
    let err = load_text(dir.path(), "!include sub/loop.conf\n").unwrap_err();
    assert!(err.message().starts_with("Recursive include file: "), "{err}");
    assert!(err.file().unwrap().ends_with("sub/loop.conf"));
}

#[test]
fn values_errors() {
    let (shown, _) = error_of("\nmail_debug = maybe\n");
    assert!(shown.ends_with("line 2: Invalid boolean value: maybe (use yes or no)"), "{shown}");
    let (shown, _) = error_of("mbox_lock_timeout = 5\n");
    assert!(
        shown.ends_with("line 1: Time interval '5' is missing units (add e.g. 's' for seconds)"),
        "{shown}"
    );
    let (shown, _) = error_of("ssl_cert = </nonexistent/cert.pem\n");
    assert!(
        shown.ends_with(
            "line 1: ssl_cert: Can't open file /nonexistent/cert.pem: No such file or directory"
        ),
        "{shown}"
    );
    let (shown, _) = error_of("mail_plugins = $mail_plugins $nope\n");
    assert!(shown.ends_with("line 1: Unknown variable: $nope"), "{shown}");
    let (shown, _) = error_of("mail_plugins = $namespace\n");
    assert!(shown.ends_with("line 1: Invalid variable: $namespace"), "{shown}");
    let (shown, _) = error_of("namespace x {\n  inbox = perhaps\n}\n");
    assert!(shown.ends_with("line 2: Invalid boolean value: perhaps (use yes or no)"), "{shown}");
}

#[test]
fn all_errors_are_collected_in_order() {
    let (_, err) = error_of("foo = 1\nmail_debug = yes\nbar = 2\n}\n");
    let lines: Vec<_> = std::iter::once(&err).chain(err.others()).map(|e| e.line()).collect();
    assert_eq!(lines, vec![Some(1), Some(3), Some(4)]);
}

#[test]
fn override_value_errors_are_worded_like_dovecot_lda() {
    let err = load(&LoadOptions {
        path: None,
        protocol: "lda".into(),
        overrides: vec![("mail_debug".into(), "maybe".into())],
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error reading configuration: Invalid -o parameter mail_debug=maybe: \
         Invalid boolean value: maybe (use yes or no)"
    );
}

#[test]
fn missing_main_file() {
    let err = load(&LoadOptions {
        path: Some("/nonexistent/letterbox/dovecot.conf".into()),
        protocol: "lda".into(),
        overrides: vec![],
    })
    .unwrap_err();
    assert_eq!(err.line(), None);
    assert!(err.message().contains("No such file or directory"), "{err}");
}

#[test]
fn variables_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let c = load_text(
        dir.path(),
        "mail_plugins = quota\nmail_plugins = $mail_plugins  zlib\nmail_location = x $mail_plugins\n\
         protocol lda {\n  hostname = a\n}\nhostname = b\npostmaster_address = pm@x#y\n",
    )
    .unwrap();
    assert_eq!(c.get("mail_plugins"), Some("quota zlib"));
    assert_eq!(c.get("mail_location"), Some("x quota zlib"));
    assert_eq!(c.get("hostname"), Some("a"));
    assert_eq!(c.get("postmaster_address"), Some("pm@x"));
    assert_eq!(c.warnings().len(), 2, "{:?}", c.warnings());
    assert!(c.warnings()[0].contains("Ambiguous '#'") || c.warnings()[1].contains("Ambiguous '#'"));
    assert!(c.warnings().iter().any(|w| {
        w.contains("Global setting hostname won't change the setting inside an earlier filter")
    }));
}
