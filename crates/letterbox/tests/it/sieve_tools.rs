//! `letterbox sievec` and `letterbox sieve-test`, the latter compared with Pigeonhole's own
//! `sieve-test` (Debian's dovecot-sieve) on the same scripts and message.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn tool(args: &[&str]) -> std::process::Output {
    Command::new(letterbox_bin()).args(args).output().unwrap()
}

#[test]
fn sievec_accepts_good_scripts_and_reports_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sieve");
    std::fs::write(&good, "require \"fileinto\";\nfileinto \"A\";\n").unwrap();
    let bad = dir.path().join("bad.sieve");
    std::fs::write(&bad, "require \"fileinto\";\n\nfileinto \"A\"\n").unwrap();
    assert_code(&tool(&["sievec", good.to_str().unwrap()]), 0);
    let out = tool(&["sievec", bad.to_str().unwrap()]);
    assert_code(&out, 89);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:", bad.display())), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
}

/// Run Pigeonhole's sieve-test as the test user; `None` when it is not installed.
fn pigeonhole_sieve_test(dir: &Path, script: &Path, message: &Path) -> Option<String> {
    let bin = Path::new("/usr/bin/sieve-test");
    if !bin.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must install dovecot-sieve");
        eprintln!("skipped: sieve-test not installed");
        return None;
    }
    let conf = dir.join("st.conf");
    write_file(
        &conf,
        &format!(
            "mail_location = maildir:{}/Maildir\npostmaster_address = postmaster@example.com\nhostname = mx.example.com\nlog_path = {}/st.log\n",
            dir.display(),
            dir.display()
        ),
    );
    let mut cmd = as_user_command(test_ids(), bin);
    cmd.env_clear().env("HOME", dir).env("USER", "alice").env("PATH", "/usr/bin:/bin");
    cmd.arg("-c").arg(&conf).arg("-f").arg("bob@example.com").arg("-r").arg("alice@example.org");
    cmd.arg(script).arg(message);
    let out = cmd.output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn sieve_test_output_matches_pigeonhole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777))
        .unwrap();
    let message = dir.path().join("msg.eml");
    write_file(
        &message,
        "From: Bob <bob@example.com>\nTo: alice@example.org\nSubject: Lists report\nMessage-ID: <t1@example.com>\n\nbody\n",
    );
    let scripts = [
        "require [\"fileinto\", \"imap4flags\", \"copy\"];\nif header :contains \"subject\" \"report\" { fileinto :copy :flags \"$label1\" \"Archive\"; }\naddflag \"\\\\Seen\";\n",
        "require \"fileinto\";\nfileinto \"Lists.Foo\";\nredirect \"carol@example.net\";\n",
        "discard;\n",
        "require \"vacation\";\nvacation :days 1 :subject \"Away\" :handle \"h1\" \"I am away\";\n",
        "require \"reject\";\nreject \"Not wanted here\";\n",
        "keep;\n",
    ];
    for (i, text) in scripts.iter().enumerate() {
        let script = dir.path().join(format!("s{i}.sieve"));
        write_file(&script, text);
        let ours = tool(&[
            "sieve-test",
            "-f",
            "bob@example.com",
            "-r",
            "alice@example.org",
            script.to_str().unwrap(),
            message.to_str().unwrap(),
        ]);
        assert_code(&ours, 0);
        let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
        assert!(ours.contains("Performed actions:"), "{ours}");
        let Some(theirs) = pigeonhole_sieve_test(dir.path(), &script, &message) else { return };
        assert_eq!(ours, theirs, "sieve-test output differs for script {i}:\n{text}");
    }
}
