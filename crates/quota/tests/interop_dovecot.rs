//! Interop with real Dovecot 2.3: `doveadm quota get`/`quota recalc` must agree with the
//! `maildirsize` letterbox writes, a `maildirsize` written by `dovecot-lda` must parse to the
//! usage Dovecot reports, alternating writers must stay consistent, and the over-quota
//! decision must match `dovecot-lda -e`.
//!
//! Without Dovecot these tests print why and pass; with the `CI` variable set they fail.
//! Run as root, Dovecot runs as `nobody` (setpriv) and the test tree is handed to it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use quota::{Quota, QuotaVerdict};

const DOVEADM: &str = "/usr/bin/doveadm";
const LDA: &str = "/usr/lib/dovecot/dovecot-lda";

/// `true` when Dovecot 2.3 is usable; otherwise skips (or fails under CI).
fn dovecot_available() -> bool {
    let reason = if !Path::new(DOVEADM).exists() || !Path::new(LDA).exists() {
        Some(format!("{DOVEADM} or {LDA} missing"))
    } else {
        match Command::new("dovecot").arg("--version").output() {
            Ok(o) if String::from_utf8_lossy(&o.stdout).starts_with("2.3.") => None,
            Ok(o) => {
                Some(format!("dovecot --version: {}", String::from_utf8_lossy(&o.stdout).trim()))
            }
            Err(e) => Some(format!("dovecot --version: {e}")),
        }
    };
    match reason {
        None => true,
        Some(r) if std::env::var_os("CI").is_some() => panic!("Dovecot 2.3 required under CI: {r}"),
        Some(r) => {
            eprintln!("skipping Dovecot interop test: {r}");
            false
        }
    }
}

struct Env {
    _dir: tempfile::TempDir,
    home: PathBuf,
    conf: PathBuf,
    root_mode: bool,
    uid: u32,
    gid: u32,
}

impl Env {
    fn new(plugin: &[(&str, &str)]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let root_mode = nix::unistd::geteuid().is_root();
        let (uid, gid) = if root_mode {
            (65534, 65534)
        } else {
            (nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw())
        };
        let home = dir.path().join("home");
        let run = dir.path().join("run");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&run).unwrap();
        let plugin_lines: String = plugin.iter().map(|(k, v)| format!("  {k} = {v}\n")).collect();
        let conf = dir.path().join("dovecot.conf");
        fs::write(
            &conf,
            format!(
                "protocols =\nbase_dir = {run}\nlog_path = /dev/stderr\nssl = no\n\
                 mail_location = maildir:~/Maildir\nmail_plugins = quota\n\
                 passdb {{\n  driver = static\n  args = nopassword=y\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={home}\n}}\n\
                 plugin {{\n{plugin_lines}}}\n",
                run = run.display(),
                home = home.display(),
            ),
        )
        .unwrap();
        let env = Env { _dir: dir, home, conf, root_mode, uid, gid };
        env.hand_over(&run);
        env.hand_over(&env.home.clone());
        env
    }

    fn maildir(&self) -> PathBuf {
        self.home.join("Maildir")
    }

    fn plugin_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Gives a tree written by this (root) process to the Dovecot user.
    fn hand_over(&self, path: &Path) {
        if !self.root_mode {
            return;
        }
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).unwrap();
        if path.is_dir() {
            for e in fs::read_dir(path).unwrap() {
                self.hand_over(&e.unwrap().path());
            }
        }
    }

    fn command(&self, program: &str) -> Command {
        let user = if self.root_mode {
            "nobody".to_owned()
        } else {
            std::env::var("USER").unwrap_or_default()
        };
        let mut c = if self.root_mode {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i"]);
            c
        } else {
            let mut c = Command::new("env");
            c.arg("-i");
            c
        };
        c.arg(format!("HOME={}", self.home.display()))
            .arg(format!("USER={user}"))
            .arg("PATH=/usr/bin:/bin")
            .arg(program)
            .arg("-c")
            .arg(&self.conf);
        c
    }

    /// `doveadm quota get`: (STORAGE in KiB, MESSAGE count) of the first root.
    fn quota_get(&self) -> (u64, u64) {
        let out = self.command(DOVEADM).args(["-f", "tab", "quota", "get"]).output().unwrap();
        assert!(
            out.status.success(),
            "doveadm quota get: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |kind: &str| -> u64 {
            text.lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|f| f.get(1) == Some(&kind))
                .and_then(|f| f[2].parse().ok())
                .unwrap_or_else(|| panic!("no {kind} in {text}"))
        };
        (value("STORAGE"), value("MESSAGE"))
    }

    fn quota_recalc(&self) {
        let out = self.command(DOVEADM).args(["quota", "recalc"]).output().unwrap();
        assert!(
            out.status.success(),
            "doveadm quota recalc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Delivers with the real `dovecot-lda -e`; returns (exit code, stderr lines that are not
    /// log lines).
    fn lda(&self, message: &[u8]) -> (i32, String) {
        let mut child = self
            .command(LDA)
            .args(["-e", "-f", "sender@example.com"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(message).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let plain: String =
            stderr.lines().filter(|l| !l.contains(" lda(")).map(|l| format!("{l}\n")).collect();
        (out.status.code().unwrap_or(-1), plain)
    }

    /// Delivers like letterbox's delivery core: check, write into `new/`, record.
    fn ours(&self, q: &Quota, mailbox_dir: &Path, vname: &str, message: &[u8]) -> QuotaVerdict {
        static N: AtomicU32 = AtomicU32::new(0);
        let v = q.check_before_save(vname, message.len() as u64).unwrap();
        if v == QuotaVerdict::Ok {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(mailbox_dir.join(sub)).unwrap();
            }
            let vsize = message.len() + message.iter().filter(|&&b| b == b'\n').count();
            let n = N.fetch_add(1, Ordering::Relaxed);
            let name = format!("1700000000.M{n}P99.letterbox,S={},W={vsize}", message.len());
            fs::write(mailbox_dir.join("new").join(name), message).unwrap();
            q.record_saved(vname, message.len() as u64, 1).unwrap();
        }
        self.hand_over(&self.maildir());
        v
    }

    fn file_usage(&self) -> (i64, i64) {
        let r = quota::maildirsize::read(&self.maildir().join("maildirsize")).unwrap();
        let s = r.parsed.unwrap_or_else(|e| panic!("maildirsize unusable: {e:?}"));
        (s.bytes, s.count)
    }
}

/// A message of exactly `size` bytes with LF line ends.
fn message(size: usize, tag: &str) -> Vec<u8> {
    let mut m = format!("From: a@example.com\nSubject: {tag}\n\n").into_bytes();
    assert!(size > m.len() + 1);
    while m.len() < size - 1 {
        m.push(if m.len() % 60 == 59 { b'\n' } else { b'x' });
    }
    m.push(b'\n');
    m
}

fn kib_ceil(bytes: i64) -> u64 {
    (bytes as u64).div_ceil(1024)
}

const PLUGIN: &[(&str, &str)] = &[("quota", "maildir:User quota"), ("quota_rule", "*:storage=1M")];

#[test]
fn doveadm_reports_the_usage_we_recorded() {
    if !dovecot_available() {
        return;
    }
    let env = Env::new(PLUGIN);
    let root = env.maildir();
    let q = Quota::from_plugin_settings(&Env::plugin_map(PLUGIN), &root).unwrap().unwrap();
    for (i, size) in [1500, 2048, 700].into_iter().enumerate() {
        assert_eq!(
            env.ours(&q, &root, "INBOX", &message(size, &format!("m{i}"))),
            QuotaVerdict::Ok
        );
    }
    assert_eq!(env.ours(&q, &root.join(".Trash"), "Trash", &message(333, "t")), QuotaVerdict::Ok);
    let (bytes, count) = env.file_usage();
    assert_eq!((bytes, count), (1500 + 2048 + 700 + 333, 4));
    assert_eq!(env.quota_get(), (kib_ceil(bytes), 4));
    // Dovecot's own recalculation over our Maildir gives the same exact totals.
    env.quota_recalc();
    assert_eq!(env.file_usage(), (bytes, count));
    assert!(fs::read_to_string(root.join("maildirsize")).unwrap().starts_with("1048576S\n"));
}

#[test]
fn maildirsize_from_dovecot_lda_parses_to_dovecots_usage() {
    if !dovecot_available() {
        return;
    }
    let env = Env::new(PLUGIN);
    for (i, size) in [112, 177, 4000].into_iter().enumerate() {
        assert_eq!(env.lda(&message(size, &format!("d{i}"))).0, 0);
    }
    let (bytes, count) = env.file_usage();
    assert_eq!((bytes, count), (112 + 177 + 4000, 3));
    assert_eq!(env.quota_get(), (kib_ceil(bytes), 3));
    let q = Quota::from_plugin_settings(&Env::plugin_map(PLUGIN), &env.maildir()).unwrap().unwrap();
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes, u[0].count), (bytes, count));
    let scanned = quota::scan::scan_maildir(
        &env.maildir(),
        &Default::default(),
        quota::scan::SizeKind::Physical,
        &|_| false,
    )
    .unwrap();
    assert_eq!((scanned.bytes as i64, scanned.count as i64), (bytes, count));
}

#[test]
fn alternating_writers_keep_maildirsize_consistent() {
    if !dovecot_available() {
        return;
    }
    let env = Env::new(PLUGIN);
    let root = env.maildir();
    let q = Quota::from_plugin_settings(&Env::plugin_map(PLUGIN), &root).unwrap().unwrap();
    let mut expected = 0i64;
    for i in 0..4 {
        let a = message(500 + i * 37, &format!("lda{i}"));
        assert_eq!(env.lda(&a).0, 0);
        let b = message(900 + i * 53, &format!("ours{i}"));
        assert_eq!(env.ours(&q, &root, "INBOX", &b), QuotaVerdict::Ok);
        expected += (a.len() + b.len()) as i64;
        assert_eq!(env.file_usage(), (expected, 2 * (i as i64 + 1)));
        assert_eq!(env.quota_get(), (kib_ceil(expected), 2 * (i as u64 + 1)));
    }
    // One line per delivery after Dovecot's initial recalculation: nobody rewrote the file.
    let text = fs::read_to_string(root.join("maildirsize")).unwrap();
    assert_eq!(text.lines().count(), 2 + 8, "{text}");
    env.quota_recalc();
    assert_eq!(env.file_usage(), (expected, 8));
}

#[test]
fn over_quota_decision_matches_dovecot_lda() {
    if !dovecot_available() {
        return;
    }
    let plugin = [
        ("quota", "maildir:User quota"),
        ("quota_rule", "*:storage=300B:messages=10"),
        ("quota_exceeded_message", "Sorry, mailbox full (specuser)"),
    ];
    let env = Env::new(&plugin);
    let q =
        Quota::from_plugin_settings(&Env::plugin_map(&plugin), &env.maildir()).unwrap().unwrap();
    let mut codes = Vec::new();
    for (i, size) in [112usize, 177, 177, 42, 41, 40].into_iter().enumerate() {
        let m = message(size, &format!("q{i}"));
        let ours = q.check_before_save("INBOX", m.len() as u64).unwrap();
        env.hand_over(&env.home);
        let (code, stderr) = env.lda(&m);
        codes.push(code);
        match ours {
            QuotaVerdict::Ok => {
                assert_eq!(code, 0, "size {size}: we accept, Dovecot said {code} {stderr}")
            }
            QuotaVerdict::OverQuota { message, .. } => {
                assert_eq!(code, 77, "size {size}: we refuse, Dovecot accepted");
                assert_eq!(stderr, format!("{message}\n"));
            }
            v => panic!("{v:?}"),
        }
    }
    // 289 used: 41 bytes of room (limit 300 + grace 30); at 330 nothing fits any more.
    assert_eq!(codes, [0, 0, 77, 77, 0, 77]);
    let u = q.usage().unwrap();
    assert_eq!(env.file_usage(), (u[0].bytes, u[0].count));
}

#[test]
fn max_mail_size_text_matches_dovecot_lda() {
    if !dovecot_available() {
        return;
    }
    let plugin = [("quota", "maildir:User quota"), ("quota_max_mail_size", "1k")];
    let env = Env::new(&plugin);
    let q =
        Quota::from_plugin_settings(&Env::plugin_map(&plugin), &env.maildir()).unwrap().unwrap();
    let m = message(2000, "big");
    let v = q.check_before_save("INBOX", m.len() as u64).unwrap();
    assert_eq!(v, QuotaVerdict::TooLarge { size: 2000, max: 1024 });
    let (code, stderr) = env.lda(&m);
    assert_eq!(code, 75);
    assert_eq!(stderr, format!("{}\n", v.public_reason().unwrap()));
}

#[test]
fn count_backend_matches_doveadm() {
    if !dovecot_available() {
        return;
    }
    let plugin =
        [("quota", "count:User quota"), ("quota_vsizes", "yes"), ("quota_rule", "*:storage=1M")];
    let env = Env::new(&plugin);
    let q =
        Quota::from_plugin_settings(&Env::plugin_map(&plugin), &env.maildir()).unwrap().unwrap();
    let mut vsize = 0i64;
    for (i, size) in [600usize, 1500, 90].into_iter().enumerate() {
        let m = message(size, &format!("c{i}"));
        vsize += (m.len() + m.iter().filter(|&&b| b == b'\n').count()) as i64;
        assert_eq!(env.lda(&m).0, 0);
    }
    assert_eq!(env.ours(&q, &env.maildir(), "INBOX", &message(2100, "ours")), QuotaVerdict::Ok);
    let m = message(2100, "ours");
    vsize += (m.len() + m.iter().filter(|&&b| b == b'\n').count()) as i64;
    let u = q.usage().unwrap();
    assert_eq!((u[0].bytes, u[0].count), (vsize, 4));
    assert_eq!(env.quota_get(), (kib_ceil(vsize), 4));
    assert!(!env.maildir().join("maildirsize").exists());
}
