//! The compiled-script cache (`NAME.lbsvbin`): written after a compile, used while the script
//! and its includes are unchanged, rebuilt when they change or the cache is damaged, and never
//! a reason for a delivery to fail. `mail_debug` lines show which path a delivery took.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::sieve_delivery::sieve_home;
use crate::support::*;

const LOADED: &str = "sieve: Loaded compiled script from ";
const COMPILED: &str = "sieve: Compiled script ";

/// A Sieve home with `mail_debug = yes` and `script` as `~/.dovecot.sieve`.
fn debug_home(script: &str, extra: &str) -> TestHome {
    let t = sieve_home(script, extra);
    let conf = fs::read_to_string(&t.conf).unwrap();
    write_file(&t.conf, &format!("{conf}mail_debug = yes\n"));
    t
}

/// Delivers one message and returns the log lines this delivery added.
fn deliver_logged(t: &TestHome, id: &str) -> String {
    let before = t.log_text().len();
    assert_code(&t.deliver(&[], &sample_message(id)), 0);
    t.log_text()[before..].to_owned()
}

fn count_in(t: &TestHome, mailbox: &str) -> usize {
    t.messages_in(&t.maildir().join(format!(".{mailbox}"))).len()
}

fn cache_of(t: &TestHome) -> std::path::PathBuf {
    t.home.join(".dovecot.lbsvbin")
}

/// Sets a file's modification time.
fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options().write(true).open(path).unwrap().set_modified(time).unwrap();
}

#[test]
fn first_delivery_writes_the_cache_and_the_second_uses_it() {
    let t = debug_home("require \"fileinto\";\nfileinto \"Cached\";\n", "");
    let log = deliver_logged(&t, "c1");
    assert!(log.contains(COMPILED) && log.contains("and cached it in"), "{log}");
    let cache = cache_of(&t);
    let bytes = fs::read(&cache).unwrap();
    assert!(bytes.starts_with(b"LBSVBIN\0"));
    assert!(!t.home.join(".dovecot.svbin").exists(), "never Pigeonhole's name");
    let script_mode = fs::metadata(t.home.join(".dovecot.sieve")).unwrap().permissions().mode();
    let cache_mode = fs::metadata(&cache).unwrap().permissions().mode();
    assert_eq!(cache_mode & 0o777, (script_mode & 0o666) | 0o600, "script's permission bits");
    let log = deliver_logged(&t, "c2");
    assert!(log.contains(&format!("{LOADED}{}", cache.display())), "{log}");
    assert!(!log.contains(COMPILED), "{log}");
    assert_eq!(count_in(&t, "Cached"), 2);
    assert!(t.inbox().is_empty());
}

#[test]
fn an_edited_script_is_compiled_again_even_with_the_same_size() {
    let t = debug_home("require \"fileinto\";\nfileinto \"AAA\";\n", "");
    deliver_logged(&t, "e1");
    let script = t.home.join(".dovecot.sieve");
    let old = fs::metadata(&script).unwrap().modified().unwrap();
    write_file(&script, "require \"fileinto\";\nfileinto \"BBB\";\n");
    // Same size, and a modification time only one nanosecond away from the old one.
    set_mtime(&script, old + Duration::from_nanos(1));
    let log = deliver_logged(&t, "e2");
    assert!(log.contains("is stale"), "{log}");
    assert!(log.contains(COMPILED), "{log}");
    assert_eq!((count_in(&t, "AAA"), count_in(&t, "BBB")), (1, 1));
    assert!(deliver_logged(&t, "e3").contains(LOADED));
    assert_eq!(count_in(&t, "BBB"), 2);
}

#[test]
fn an_edited_include_is_compiled_again() {
    let t = debug_home("require [\"include\", \"fileinto\"];\ninclude :personal \"rules\";\n", "");
    fs::create_dir(t.home.join("sieve")).unwrap();
    let rules = t.home.join("sieve/rules.sieve");
    write_file(&rules, "require \"fileinto\";\nfileinto \"One\";\n");
    assert!(deliver_logged(&t, "i1").contains(COMPILED));
    assert!(deliver_logged(&t, "i2").contains(LOADED));
    let old = fs::metadata(&rules).unwrap().modified().unwrap();
    write_file(&rules, "require \"fileinto\";\nfileinto \"Two\";\n");
    set_mtime(&rules, old + Duration::from_secs(1));
    let log = deliver_logged(&t, "i3");
    assert!(log.contains("Personal include 'rules' changed"), "{log}");
    assert_eq!((count_in(&t, "One"), count_in(&t, "Two")), (2, 1));
}

#[test]
fn creating_a_missing_optional_include_is_noticed() {
    let t = debug_home(
        "require [\"include\", \"fileinto\", \"copy\"];\ninclude :optional \"later\";\nfileinto :copy \"Main\";\n",
        "",
    );
    fs::create_dir(t.home.join("sieve")).unwrap();
    let log = deliver_logged(&t, "o1");
    assert!(log.contains(COMPILED), "{log}");
    let log = deliver_logged(&t, "o2");
    assert!(log.contains(LOADED), "{log}");
    write_file(&t.home.join("sieve/later.sieve"), "require \"fileinto\";\nfileinto \"Later\";\n");
    let log = deliver_logged(&t, "o3");
    assert!(log.contains(COMPILED), "{log}");
    assert_eq!((count_in(&t, "Main"), count_in(&t, "Later")), (3, 1));
}

#[test]
fn a_retargeted_active_symlink_is_compiled_again() {
    let t = debug_home("keep;\n", "");
    let dir = t.home.join("sieve");
    fs::create_dir(&dir).unwrap();
    write_file(&dir.join("a.sieve"), "require \"fileinto\";\nfileinto \"A\";\n");
    write_file(&dir.join("b.sieve"), "require \"fileinto\";\nfileinto \"B\";\n");
    let link = t.home.join(".dovecot.sieve");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("sieve/a.sieve", &link).unwrap();
    deliver_logged(&t, "s1");
    assert!(cache_of(&t).exists(), "the cache sits beside the link, as Pigeonhole's .svbin");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("sieve/b.sieve", &link).unwrap();
    let log = deliver_logged(&t, "s2");
    assert!(log.contains(COMPILED), "{log}");
    assert_eq!((count_in(&t, "A"), count_in(&t, "B")), (1, 1));
}

#[test]
fn a_corrupt_cache_is_ignored_and_rewritten() {
    let t = debug_home("require \"fileinto\";\nfileinto \"Fine\";\n", "");
    deliver_logged(&t, "k1");
    let cache = cache_of(&t);
    let mut bytes = fs::read(&cache).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    fs::write(&cache, &bytes).unwrap();
    let log = deliver_logged(&t, "k2");
    assert!(log.contains("Ignoring compiled script") && log.contains("checksum"), "{log}");
    fs::write(&cache, b"garbage").unwrap();
    let log = deliver_logged(&t, "k3");
    assert!(log.contains("bad magic") && log.contains(COMPILED), "{log}");
    assert!(deliver_logged(&t, "k4").contains(LOADED));
    assert_eq!(count_in(&t, "Fine"), 4);
}

#[test]
fn scripts_with_errors_get_no_cache() {
    let t = debug_home("require \"fileinto\";\nfileinto \"X\"\n", "");
    deliver_logged(&t, "x1");
    assert_eq!(t.inbox().len(), 1);
    assert!(!cache_of(&t).exists());
}

/// A `sieve_before` directory the delivery user may not write to, with one script.
fn read_only_before(t: &TestHome) -> std::path::PathBuf {
    let dir = t.root.join("before");
    fs::create_dir(&dir).unwrap();
    write_file(
        &dir.join("copy.sieve"),
        "require [\"fileinto\", \"copy\"];\nfileinto :copy \"Before\";\n",
    );
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    dir
}

#[test]
fn an_unwritable_script_dir_only_means_no_cache() {
    let probe = debug_home("keep;\n", "");
    let dir = read_only_before(&probe);
    let t = debug_home("keep;\n", &format!("  sieve_before = {}\n", dir.display()));
    let log = deliver_logged(&t, "ro1");
    assert!(log.contains("not cached"), "{log}");
    assert!(!dir.join("copy.lbsvbin").exists());
    assert_eq!((t.inbox().len(), count_in(&t, "Before")), (1, 1));
}

#[test]
fn sievec_writes_the_cache_that_delivery_then_uses() {
    let t = debug_home("require \"fileinto\";\nfileinto \"Pre\";\n", "");
    let script = t.home.join(".dovecot.sieve");
    let out =
        std::process::Command::new(letterbox_bin()).arg("sievec").arg(&script).output().unwrap();
    assert_code(&out, 0);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert!(cache_of(&t).exists());
    let log = deliver_logged(&t, "p1");
    assert!(log.contains(LOADED), "{log}");
    assert_eq!(count_in(&t, "Pre"), 1);

    // An administrator pre-compiles a script in a directory deliveries may not write to.
    let dir = read_only_before(&t);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join("copy.sieve");
    let out = std::process::Command::new(letterbox_bin()).arg("sievec").arg(&copy).output();
    assert_code(&out.unwrap(), 0);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let t2 = debug_home("keep;\n", &format!("  sieve_before = {}\n", dir.display()));
    let log = deliver_logged(&t2, "p2");
    assert!(log.contains(&format!("{LOADED}{}", dir.join("copy.lbsvbin").display())), "{log}");
    assert_eq!((t2.inbox().len(), count_in(&t2, "Before")), (1, 1));
}
