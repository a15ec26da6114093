//! The auth-master client and the embedded passwd-file userdb against a real Dovecot 2.3
//! auth server (Debian's `dovecot-core`) using the same passwd-file: both must answer the same.
//! Skips with a printed reason when Dovecot is absent; fails then if `CI` is set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Group, Pid, Uid, User};
use user_lookup::{AuthMaster, AuthUsername, LookupErrorKind, PasswdFile, UserDatabase};

const USERS: &str = "\
alice:{PLAIN}x:1001:1001::/home/alice::userdb_mail=maildir:~/Maildir userdb_quota_rule=*:storage=2G userdb_flag
bob:x:::::
carol:x
eve:x:0:0::/root
frank:x:1003:1003::/home/frank:/bin/sh::maildir:/var/%u:INDEX=/x
dup:x:1006:1006::/a
dup:x:1007:1007::/b
bad:x:nosuchuser-lb:1::/x
bad:x:1008:1008::/second
ext:x:1009:1009::/home/ext::userdb_uid=2000 userdb_user=renamed userdb_x=%u/%n/%d
gina:x:1005:1005::/home/gina::userdb_t=a\tb
";

/// A running `dovecot -F`, stopped (SIGTERM, then SIGKILL) when dropped.
struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(log) = std::fs::read_to_string(self.dir.path().join("dovecot.log")) {
            eprintln!("dovecot log:\n{log}");
        }
    }
}

fn dovecot_binary() -> Option<PathBuf> {
    let path =
        std::env::var_os("LETTERBOX_DOVECOT").map_or("/usr/sbin/dovecot".into(), PathBuf::from);
    path.exists().then_some(path)
}

fn start_dovecot(bin: &Path) -> Dovecot {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let me = User::from_uid(Uid::effective()).unwrap().expect("current user has a passwd entry");
    let group = Group::from_gid(Gid::effective()).unwrap().expect("current group exists");
    std::fs::write(root.join("passwd"), USERS).unwrap();
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
    std::fs::write(root.join("dovecot.conf"), conf).unwrap();
    let child = Command::new(bin)
        .arg("-F")
        .arg("-c")
        .arg(root.join("dovecot.conf"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let dovecot = Dovecot { child, dir };
    let socket = dovecot.dir.path().join("run/auth-userdb");
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "dovecot did not create {socket:?}");
        thread::sleep(Duration::from_millis(50));
    }
    dovecot
}

#[test]
fn real_dovecot_and_embedded_passwd_file_agree() {
    let Some(bin) = dovecot_binary() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but /usr/sbin/dovecot is missing");
        eprintln!("SKIPPED: /usr/sbin/dovecot not found (install dovecot-core)");
        return;
    };
    let dovecot = start_dovecot(&bin);
    let root = dovecot.dir.path();
    let socket = AuthMaster::new(root.join("run/auth-userdb"), "lda", Duration::from_secs(20));
    let file = PasswdFile::from_args(&root.join("passwd").display().to_string(), None).unwrap();
    let embedded = AuthUsername::new(Box::new(file));
    let users = [
        "alice", "ALICE", "bob", "carol", "eve", "frank", "dup", "bad", "ext", "gina", "nobody",
        "a b", "x%y", "Frank",
    ];
    let mut found = 0;
    for user in users {
        let remote = socket.lookup(user).unwrap_or_else(|e| panic!("{user}: {e}"));
        let local = embedded.lookup(user).unwrap();
        assert_eq!(remote, local, "user {user:?}");
        found += usize::from(remote.is_some());
    }
    assert_eq!(found, 9, "expected 9 known users among {users:?}");
    let alice = socket.lookup("Alice").unwrap().unwrap();
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.field("mail"), Some("maildir:~/Maildir"));
    assert_eq!(socket.lookup("ext").unwrap().unwrap().username, "renamed");
    assert_eq!(socket.lookup("gina").unwrap().unwrap().field("t"), Some("a\tb"));
}

#[test]
fn real_dovecot_client_socket_is_refused() {
    let Some(bin) = dovecot_binary() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but /usr/sbin/dovecot is missing");
        eprintln!("SKIPPED: /usr/sbin/dovecot not found (install dovecot-core)");
        return;
    };
    let dovecot = start_dovecot(&bin);
    let client_socket = dovecot.dir.path().join("run/auth-client");
    let wrong = AuthMaster::new(client_socket, "lda", Duration::from_secs(10));
    let err = wrong.lookup("alice").unwrap_err();
    assert!(matches!(err.kind, LookupErrorKind::Protocol | LookupErrorKind::Connect), "{err}");
}
