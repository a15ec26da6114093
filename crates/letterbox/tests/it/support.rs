//! Test homes: a temp dir with a config, a passwd-file userdb, a log file and a home per user,
//! and helpers to run the real `letterbox` binary (and, for interop, real Dovecot) in it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the binary under test.
pub fn letterbox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_letterbox"))
}

/// True when the tests run as root (as CI does).
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// uid/gid the test user gets: `nobody` when we are root (so the privilege switch is real),
/// else ourselves (the switch is then a no-op).
pub fn test_ids() -> (u32, u32) {
    if running_as_root() {
        (65534, 65534)
    } else {
        (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    }
}

/// A temporary world for one test.
pub struct TestHome {
    _dir: tempfile::TempDir,
    /// Root of the temp dir.
    pub root: PathBuf,
    /// Home of user `alice`.
    pub home: PathBuf,
    /// The config file.
    pub conf: PathBuf,
    /// The log file (`log_path`).
    pub log: PathBuf,
    /// uid/gid of alice.
    pub ids: (u32, u32),
}

impl TestHome {
    /// A home with the default test config.
    pub fn new() -> TestHome {
        TestHome::with_config("")
    }

    /// A home whose config has `extra` appended.
    pub fn with_config(extra: &str) -> TestHome {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o1777)).unwrap();
        let ids = test_ids();
        let home = root.join("alice");
        make_user_dir(&home, ids);
        let log = root.join("lda.log");
        let conf = root.join("dovecot.conf");
        let passwd = root.join("passwd");
        write_file(&passwd, &format!("alice::{}:{}::{}::\n", ids.0, ids.1, home.display()));
        let text = format!(
            "mail_location = maildir:~/Maildir\nlog_path = {}\nuserdb {{\n  driver = passwd-file\n  args = {}\n}}\n{extra}\n",
            log.display(),
            passwd.display()
        );
        write_file(&conf, &text);
        TestHome { _dir: dir, root, home, conf, log, ids }
    }

    /// Append a passwd-file line.
    pub fn add_passwd_line(&self, line: &str) {
        let path = self.root.join("passwd");
        let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
        writeln!(f, "{line}").unwrap();
    }

    /// Replace the config's extra part.
    pub fn rewrite_config(&self, text: &str) {
        write_file(&self.conf, text);
    }

    /// `letterbox deliver -c CONF -d alice ARGS` with `message` on stdin.
    pub fn deliver(&self, args: &[&str], message: &[u8]) -> Output {
        let mut full = vec!["-c", self.conf.to_str().unwrap(), "-d", "alice"];
        full.extend_from_slice(args);
        self.run_raw(&full, message)
    }

    /// `letterbox deliver -c CONF -d USER` with a sample message.
    pub fn deliver_named(&self, user: &str, args: &[&str]) -> Output {
        let mut full = vec!["-c", self.conf.to_str().unwrap(), "-d", user];
        full.extend_from_slice(args);
        self.run_raw(&full, &sample_message(user))
    }

    /// `letterbox deliver ARGS` exactly as given.
    pub fn run_raw(&self, args: &[&str], message: &[u8]) -> Output {
        let mut cmd = Command::new(letterbox_bin());
        cmd.arg("deliver").args(args);
        run_with_stdin(cmd, message)
    }

    /// Run letterbox as alice herself (no `-d`): HOME mode, through `setpriv` when we are root.
    pub fn deliver_as_user(&self, args: &[&str], message: &[u8], env: &[(&str, &str)]) -> Output {
        let mut cmd = as_user_command(self.ids, &letterbox_bin());
        cmd.arg("deliver").arg("-c").arg(&self.conf).args(args);
        cmd.env("HOME", &self.home).env("USER", "alice");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_stdin(cmd, message)
    }

    /// A Dovecot program run as the test user in HOME mode, with the test config and its log
    /// in `<root>/LOG_NAME`; arguments and stdin are the caller's.
    pub fn dovecot_command(&self, program: &Path, log_name: &str) -> Command {
        let mut cmd = as_user_command(self.ids, program);
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("USER", "alice")
            .env("PATH", "/usr/bin:/bin")
            .arg("-c")
            .arg(&self.conf)
            .arg("-o")
            .arg(format!("log_path={}", self.root.join(log_name).display()));
        cmd
    }

    /// `letterbox deliver -c CONF -d alice`, stdin piped, output discarded: for tests that
    /// kill deliveries.
    pub fn delivery_child_command(&self) -> Command {
        let mut cmd = Command::new(letterbox_bin());
        cmd.args(["deliver", "-c", self.conf.to_str().unwrap(), "-d", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// The Maildir root.
    pub fn maildir(&self) -> PathBuf {
        self.home.join("Maildir")
    }

    /// Messages of one Maildir directory (`new/` and `cur/`), sorted by file name.
    pub fn messages_in(&self, dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(dir.join(sub)) else { continue };
            for entry in entries {
                let entry = entry.unwrap();
                let name = format!("{sub}/{}", entry.file_name().to_string_lossy());
                out.push((name, fs::read(entry.path()).unwrap()));
            }
        }
        out.sort();
        out
    }

    /// Messages of INBOX.
    pub fn inbox(&self) -> Vec<(String, Vec<u8>)> {
        self.messages_in(&self.maildir())
    }

    /// Files left in a Maildir's tmp/.
    pub fn tmp_files(&self, dir: &Path) -> Vec<String> {
        fs::read_dir(dir.join("tmp"))
            .map(|it| it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// The log file's text.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `dovecot-uidlist` of a Maildir directory.
    pub fn uidlist(&self, dir: &Path) -> String {
        fs::read_to_string(dir.join("dovecot-uidlist")).unwrap_or_default()
    }
}

/// Parse uidlist records: (uid, base file name).
pub fn uidlist_records(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (uid, rest) = line.split_once(' ')?;
            let name = rest.rsplit_once(':').map_or(rest, |(_, n)| n);
            Some((uid.parse().ok()?, name.to_string()))
        })
        .collect()
}

/// A command that runs `program` as the test user (through setpriv when we are root).
pub fn as_user_command(ids: (u32, u32), program: &Path) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", ids.0))
            .arg(format!("--regid={}", ids.1))
            .arg("--clear-groups")
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// `n` deterministic pseudo-random delays below `max_micros` (xorshift from `seed`; no RNG
/// crate needed), for killing deliveries at varied moments.
pub fn pseudo_random_delays(
    seed: u64,
    n: usize,
    max_micros: u64,
) -> impl Iterator<Item = std::time::Duration> {
    let mut state = seed;
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::time::Duration::from_micros(state % max_micros)
    })
}

/// Run a command with `input` on stdin; collect its output.
pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

/// Create a directory owned by the test user.
pub fn make_user_dir(path: &Path, ids: (u32, u32)) {
    fs::create_dir_all(path).unwrap();
    if running_as_root() {
        nix::unistd::chown(path, Some(ids.0.into()), Some(ids.1.into())).unwrap();
    }
}

/// Write a world-readable file.
pub fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// Exit code, with a readable panic message on signal deaths.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("killed by signal: {out:?}"))
}

/// Assert an exit code, printing stdout/stderr on mismatch.
#[track_caller]
pub fn assert_code(out: &Output, expected: i32) {
    assert_eq!(
        code(out),
        expected,
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The inode of a file (for hard-link checks).
pub fn inode(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

/// A small message with a Message-ID.
pub fn sample_message(id: &str) -> Vec<u8> {
    format!("From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: test {id}\nMessage-ID: <{id}@example.com>\n\nHello {id}\n").into_bytes()
}

/// A running `letterbox lmtp` server (killed when dropped).
pub struct LmtpServer {
    /// The server process.
    pub child: std::process::Child,
    /// Its unix socket.
    pub socket: PathBuf,
}

impl LmtpServer {
    /// Start `letterbox lmtp -c CONF --listen unix:SOCKET ARGS` and wait for the socket.
    pub fn start(conf: &Path, socket: &Path, args: &[&str]) -> LmtpServer {
        let child = Command::new(letterbox_bin())
            .arg("lmtp")
            .arg("-c")
            .arg(conf)
            .arg("--listen")
            .arg(format!("unix:{}", socket.display()))
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn letterbox lmtp");
        let server = LmtpServer { child, socket: socket.to_path_buf() };
        let start = std::time::Instant::now();
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(start.elapsed().as_secs() < 20, "letterbox lmtp did not create {socket:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    /// Send a signal to the server.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Wait (bounded) for the server to exit; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let start = std::time::Instant::now();
        while start.elapsed().as_secs() < 20 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("letterbox lmtp did not exit");
    }
}

impl Drop for LmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An LMTP client on a unix socket speaking raw lines (for exact reply checks).
pub struct RawLmtp {
    stream: std::io::BufReader<std::os::unix::net::UnixStream>,
}

impl RawLmtp {
    /// Connect and read the greeting.
    pub fn connect(socket: &Path) -> RawLmtp {
        let stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let mut c = RawLmtp { stream: std::io::BufReader::new(stream) };
        assert!(c.reply().starts_with("220 "));
        c
    }

    /// Send bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).unwrap();
    }

    /// Read one (possibly multi-line) reply; empty when the server closed the connection.
    pub fn reply(&mut self) -> String {
        use std::io::BufRead;
        let mut all = String::new();
        loop {
            let mut line = String::new();
            match self.stream.read_line(&mut line) {
                Ok(0) | Err(_) => return all,
                Ok(_) => {}
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Send one command line and read its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }
}
