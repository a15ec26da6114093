//! Differential test against the real `doveconf` 2.3 (Debian's dovecot-core): every
//! top-level setting of `doveconf -x -a -f protocol=P` must equal our effective value.
//! Skips with a reason when doveconf is not installed, fails instead when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use dovecot_config::value::{parse_size, parse_time_msecs};
use dovecot_config::{LoadOptions, load};

fn doveconf_all(conf: &Path, protocol: &str) -> Option<Vec<(String, String)>> {
    let out = Command::new("doveconf")
        .args(["-x", "-a", "-f", &format!("protocol={protocol}"), "-c"])
        .arg(conf)
        .env("LETTERBOX_TEST_TMP", "/var/tmp/letterbox")
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => panic!("doveconf failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "doveconf required on CI: {e}");
            eprintln!("skipped: doveconf not available ({e})");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut pairs = Vec::new();
    let mut depth = 0usize;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim_end().ends_with('{') {
            depth += 1;
        } else if line.trim() == "}" {
            depth -= 1;
        } else if depth == 0
            && let Some((k, v)) = line.split_once(" = ")
        {
            pairs.push((k.to_owned(), unquote(v)));
        }
    }
    Some(pairs)
}

fn unquote(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        v.to_owned()
    }
}

fn same(ours: &str, theirs: &str) -> bool {
    ours == theirs
        || matches!((parse_size(ours), parse_size(theirs)), (Ok(a), Ok(b)) if a == b)
        || matches!((parse_time_msecs(ours), parse_time_msecs(theirs)), (Ok(a), Ok(b)) if a == b)
        // doveconf prints booleans normalised.
        || (ours.eq_ignore_ascii_case("y") && theirs == "yes")
}

fn compare(conf: &Path, protocol: &str) {
    let Some(expected) = doveconf_all(conf, protocol) else {
        return;
    };
    // The fixture reads $ENV:LETTERBOX_TEST_TMP; both sides get the same value.
    let opts =
        LoadOptions { path: Some(conf.into()), protocol: protocol.into(), overrides: vec![] };
    let env = |name: &str| (name == "LETTERBOX_TEST_TMP").then(|| "/var/tmp/letterbox".to_owned());
    let config = dovecot_config::load_with_env(&opts, &env).expect("loads");
    let mut diffs = Vec::new();
    for (key, theirs) in &expected {
        // Seed wins (docs/compatibility.md): letterbox defaults this to yes.
        if key == "lda_mailbox_autocreate"
            && config.origin(key).is_some_and(|o| o.to_string() == "default")
        {
            continue;
        }
        // doveconf hides secrets and prints only the first line of multi-line values;
        // never print such values in test output either.
        if theirs.starts_with("# hidden") {
            assert!(config.get(key).is_some(), "{key} unknown to us");
            continue;
        }
        match config.get(key) {
            Some(ours) if same(ours.lines().next().unwrap_or(""), theirs) => {}
            Some(_) if key.starts_with("ssl_") => diffs.push(format!("{key}: values differ")),
            ours => diffs.push(format!("{key}: ours={ours:?} doveconf={theirs:?}")),
        }
    }
    assert!(expected.len() > 300, "doveconf listed only {} settings", expected.len());
    assert!(diffs.is_empty(), "{protocol} {}:\n{}", conf.display(), diffs.join("\n"));
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/full/dovecot.conf")
}

#[test]
fn fixture_matches_doveconf_for_lda_and_lmtp() {
    compare(&fixture(), "lda");
    compare(&fixture(), "lmtp");
    compare(&fixture(), "imap");
}

#[test]
fn debian_stock_config_matches_doveconf() {
    let path = Path::new("/etc/dovecot/dovecot.conf");
    if !path.exists()
        || load(&LoadOptions { path: Some(path.into()), protocol: "lda".into(), overrides: vec![] })
            .is_err()
    {
        eprintln!("skipped: {} not installed or not readable", path.display());
        return;
    }
    compare(path, "lda");
    compare(path, "lmtp");
}
