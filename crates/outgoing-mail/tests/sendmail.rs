//! Integration tests of the sendmail transport with fake `sendmail` scripts in a temp dir.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use outgoing_mail::{SendError, Sendmail};

/// Writes an executable shell script `name` with `body` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn capture_argv_stdin_and_environment() {
    let dir = tmp();
    let d = dir.path().display();
    let prog = script(
        dir.path(),
        "sendmail",
        &format!(
            "for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done > {d}/argv\nenv > {d}/env\n\
             cat > {d}/stdin\necho ignored stdout\nexit 0"
        ),
    );
    let mut s = Sendmail::new(format!("{} -oi", prog.display()));
    s.env = vec![("TZ".into(), "UTC".into()), ("USER".into(), "nobody".into())];
    let msg = b"Subject: x\r\n\r\nbody\r\n".repeat(5000);
    let rcpt = vec!["erin@example.com".to_owned(), "second@example.com".to_owned()];
    s.send(None, &rcpt, &msg).unwrap_or_else(|e| panic!("{e}"));
    let argv = read(&dir.path().join("argv"));
    assert_eq!(
        argv,
        format!("{}\n-oi\n-i\n-f\n<>\n--\nerin@example.com\nsecond@example.com\n", prog.display())
    );
    assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap_or_default(), msg);
    let env = read(&dir.path().join("env"));
    assert!(env.contains("TZ=UTC\n") && env.contains("USER=nobody\n"), "{env}");
    assert!(!env.contains("HOME=") && !env.contains("CARGO"), "environment not scrubbed: {env}");
    s.send(Some("alice@example.org"), &rcpt[..1], b"x").unwrap_or_else(|e| panic!("{e}"));
    assert!(read(&dir.path().join("argv")).contains("-f\nalice@example.org\n--\n"));
}

#[test]
fn non_zero_exit_is_temporary_with_stderr() {
    let dir = tmp();
    for code in [1, 64, 69, 75] {
        let prog = script(
            dir.path(),
            "fail",
            &format!("cat >/dev/null\necho \"no way $1\" >&2\nexit {code}"),
        );
        let err = Sendmail::new(prog.display().to_string()).send(None, &["a@b".into()], b"m").err();
        match err {
            Some(e @ SendError::NonZeroExit { .. }) => {
                assert!(e.is_temporary());
                assert_eq!(e.dovecot_reason(), "Sendmail program returned error");
                let SendError::NonZeroExit { code: c, stderr, .. } = e else { unreachable!() };
                assert_eq!((c, stderr.as_str()), (code, "no way -i"));
            }
            other => panic!("exit {code}: {other:?}"),
        }
    }
}

#[test]
fn killed_by_signal() {
    let dir = tmp();
    let prog = script(dir.path(), "die", "cat >/dev/null\nkill -9 $$");
    let err = Sendmail::new(prog.display().to_string()).send(None, &["a@b".into()], b"m").err();
    assert!(matches!(err, Some(SendError::Signaled { signal: 9, .. })), "{err:?}");
    assert_eq!(err.map(|e| e.dovecot_reason()), Some("Failed to execute sendmail"));
}

#[test]
fn timeout_terminates_the_child_within_bounds() {
    let dir = tmp();
    let marker = dir.path().join("terminated");
    let prog = script(
        dir.path(),
        "slow",
        &format!("trap 'kill $!; touch {}; exit 1' TERM\nsleep 30 &\nwait", marker.display()),
    );
    let mut s = Sendmail::new(prog.display().to_string());
    s.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = s.send(None, &["a@b".into()], b"m").err();
    assert!(matches!(err, Some(SendError::Timeout { .. })), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
    assert!(marker.exists(), "child did not get SIGTERM");
}

#[test]
fn child_not_reading_a_large_message_is_an_error() {
    let dir = tmp();
    let prog = script(dir.path(), "deaf", "exit 0");
    let msg = vec![b'x'; 1 << 20];
    let err = Sendmail::new(prog.display().to_string()).send(None, &["a@b".into()], &msg).err();
    assert!(matches!(err, Some(SendError::Io { .. })), "{err:?}");
}

#[test]
fn missing_and_non_executable_programs() {
    let dir = tmp();
    let missing = dir.path().join("nope");
    let err = Sendmail::new(missing.display().to_string()).send(None, &["a@b".into()], b"m").err();
    assert!(matches!(err, Some(SendError::Spawn { .. })), "{err:?}");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "not a program").unwrap_or_else(|e| panic!("{e}"));
    let err = Sendmail::new(plain.display().to_string()).send(None, &["a@b".into()], b"m").err();
    assert!(matches!(err, Some(SendError::Spawn { .. })), "{err:?}");
}
