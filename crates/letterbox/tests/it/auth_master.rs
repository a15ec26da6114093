//! `letterbox deliver -d` and `letterbox lmtp` resolving users through a real Dovecot 2.3 auth
//! server's auth-userdb socket (passwd-file userdb on Dovecot's side; letterbox's config names a
//! userdb driver it does not run in-process, so every lookup goes over the socket). Unknown
//! users → 67 / 550, an unreachable socket → 75 / 451. Skips with a reason when Dovecot is
//! missing; fails instead when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::{Gid, Group, Uid, User};

use crate::support::*;

/// A running `dovecot -F` with only the auth service, stopped when dropped.
struct DovecotAuth {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for DovecotAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // dovecot -F leaves its auth children to exit on their own once the master is gone.
        let _ = std::fs::read_to_string(self.dir.path().join("dovecot.log"))
            .map(|log| eprintln!("dovecot log:\n{log}"));
    }
}

impl DovecotAuth {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/auth-userdb")
    }
}

fn dovecot_binary() -> Option<PathBuf> {
    let path =
        std::env::var_os("LETTERBOX_DOVECOT").map_or("/usr/sbin/dovecot".into(), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "CI is set but {} is missing", path.display());
    eprintln!("SKIPPED: {} not found (install dovecot-core)", path.display());
    None
}

/// Start Dovecot's auth server with a passwd-file userdb holding `users`.
fn start_auth(bin: &Path, users: &str) -> DovecotAuth {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let me = User::from_uid(Uid::effective()).unwrap().expect("current user has a passwd entry");
    let group = Group::from_gid(Gid::effective()).unwrap().expect("current group exists");
    write_file(&root.join("passwd"), users);
    let conf = format!(
        "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\nprotocols =\n\
         ssl = no\ndefault_internal_user = {u}\ndefault_login_user = {u}\n\
         default_internal_group = {g}\npassdb {{\n  driver = passwd-file\n  args = {r}/passwd\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = {r}/passwd\n}}\n\
         service auth {{\n  unix_listener auth-userdb {{\n    mode = 0666\n  }}\n}}\n",
        r = root.display(),
        u = me.name,
        g = group.name,
    );
    write_file(&root.join("dovecot.conf"), &conf);
    let child = Command::new(bin)
        .arg("-F")
        .arg("-c")
        .arg(root.join("dovecot.conf"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let auth = DovecotAuth { child, dir };
    let start = Instant::now();
    while !auth.socket().exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "dovecot did not create the socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    auth
}

/// A test home whose config sends every lookup to `socket`.
fn home_using(socket: &Path) -> TestHome {
    let t = TestHome::new();
    let text = format!(
        "mail_location = maildir:~/Maildir\nlog_path = {}\nauth_socket_path = {}\n\
         userdb {{\n  driver = sql\n  args = /nonexistent/dovecot-sql.conf.ext\n}}\n",
        t.log.display(),
        socket.display()
    );
    t.rewrite_config(&text);
    t
}

fn users_for(t: &TestHome) -> String {
    format!(
        "alice:x:{}:{}::{}::userdb_quota_rule=*:storage=1G\n",
        t.ids.0,
        t.ids.1,
        t.home.display()
    )
}

#[test]
fn deliver_looks_users_up_through_dovecot_auth() {
    let Some(bin) = dovecot_binary() else { return };
    let probe = TestHome::new();
    let auth = start_auth(&bin, &users_for(&probe));
    let t = home_using(&auth.socket());
    std::fs::write(auth.dir.path().join("passwd"), users_for(&t)).unwrap();
    let out = t.deliver_named("alice", &[]);
    assert_code(&out, 0);
    assert_eq!(t.inbox().len(), 1);
    let out = t.deliver_named("nosuch", &[]);
    assert_code(&out, 67);
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn lmtp_looks_users_up_through_dovecot_auth() {
    let Some(bin) = dovecot_binary() else { return };
    let probe = TestHome::new();
    let auth = start_auth(&bin, &users_for(&probe));
    let t = home_using(&auth.socket());
    std::fs::write(auth.dir.path().join("passwd"), users_for(&t)).unwrap();
    let socket = t.root.join("lmtp.sock");
    let _server = LmtpServer::start(&t.conf, &socket, &[]);
    let mut c = RawLmtp::connect(&socket);
    c.cmd("LHLO t");
    c.cmd("MAIL FROM:<a@b>");
    assert!(c.cmd("RCPT TO:<ALICE>").starts_with("250 2.1.5"), "auth lowercases the name");
    assert_eq!(
        c.cmd("RCPT TO:<nosuch@example.com>"),
        "550 5.1.1 <nosuch@example.com> User doesn't exist: nosuch@example.com\r\n"
    );
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: via auth\r\n\r\nx\r\n.\r\n");
    assert!(c.reply().starts_with("250 2.0.0 <ALICE> "));
    assert_eq!(t.inbox().len(), 1);
}

#[test]
fn unreachable_auth_socket_is_temporary() {
    let t = home_using(Path::new("/nonexistent/auth-userdb"));
    assert_code(&t.deliver_named("alice", &[]), 75);
    let mut cmd = Command::new(letterbox_bin());
    cmd.arg("lmtp").arg("-c").arg(&t.conf);
    let out = run_with_stdin(cmd, b"LHLO t\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nQUIT\r\n");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("451 4.3.0 <alice> Temporary user lookup failure\r\n"), "{text}");
}
