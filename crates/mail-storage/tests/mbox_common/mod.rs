//! Helpers for the mbox integration tests: users over mbox locations, a strict mbox reader
//! that splits by `Content-Length` and checks every separator, and child processes.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mail_storage::{
    MailLocation, MailUser, MboxLockMethod, MessageSource, OpenOptions, SaveOptions, SavedMail,
    StorageError, StorageSettings,
};

/// Settings with short timeouts so lock tests finish quickly.
pub fn settings(locks: &[MboxLockMethod], lock_timeout: Duration) -> StorageSettings {
    StorageSettings {
        hostname: "testhost".into(),
        mbox_write_locks: locks.to_vec(),
        mbox_lock_timeout: lock_timeout,
        ..StorageSettings::default()
    }
}

/// A user of `location` (`~` = `home`) with default lock methods and a 30 s lock timeout.
pub fn user(location: &str, home: &Path) -> MailUser {
    user_with(location, home, settings(&MboxLockMethod::DEFAULT_WRITE_LOCKS, secs(30)))
}

/// A user of `location` with `settings`.
pub fn user_with(location: &str, home: &Path, settings: StorageSettings) -> MailUser {
    let loc = MailLocation::parse(location, Some(home)).unwrap();
    MailUser::new(loc, Vec::new(), settings).unwrap()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Saves `msg` into `vname` with `sender`.
pub fn save_msg(
    user: &MailUser,
    vname: &str,
    msg: &[u8],
    sender: Option<&str>,
) -> Result<SavedMail, StorageError> {
    let mailbox = user.open_mailbox(vname, &OpenOptions::default())?;
    let opts = SaveOptions { envelope_sender: sender.map(str::to_owned), ..SaveOptions::default() };
    mailbox.save(MessageSource::Bytes(msg), &opts)
}

/// One message as read back from an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub from_line: String,
    pub header: String,
    pub body: Vec<u8>,
}

/// Splits an mbox written by Dovecot's rules: each message is a From_ line, a header with
/// a `Content-Length`, a blank line, exactly that many body bytes, and one `\n`. Panics
/// on anything else, so interleaved or torn writes are caught.
pub fn parse_mbox(data: &[u8]) -> Vec<Parsed> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let line_end = pos + data[pos..].iter().position(|&b| b == b'\n').expect("From_ line");
        let from_line = String::from_utf8(data[pos..line_end].to_vec()).unwrap();
        assert!(from_line.starts_with("From "), "no From_ line at {pos}: {from_line:?}");
        let header_start = line_end + 1;
        let header_end =
            header_start + find(&data[header_start..], b"\n\n").expect("end of header") + 1;
        let header = String::from_utf8(data[header_start..header_end].to_vec()).unwrap();
        let length: usize = header
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("Content-Length")
            .parse()
            .unwrap();
        let body_start = header_end + 1;
        let body = data[body_start..body_start + length].to_vec();
        assert_eq!(data[body_start + length], b'\n', "separator after message at {pos}");
        pos = body_start + length + 1;
        out.push(Parsed { from_line, header, body });
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// This test binary run again with `--exact <test>`, as `nobody` when we are root and
/// `as_nobody` is set.
pub fn child(test: &str, as_nobody: bool) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if as_nobody && is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(exe);
        cmd
    } else {
        Command::new(exe)
    };
    cmd.args(["--exact", test, "--test-threads=1", "--nocapture"]);
    cmd
}

/// Makes `path` (and everything under it) owned by nobody when we are root.
pub fn give_to_nobody(path: &Path) {
    if is_root() {
        let status = Command::new("chown").args(["-R", "65534:65534"]).arg(path).status().unwrap();
        assert!(status.success());
    }
}

/// A temp dir under /tmp that `nobody` can enter.
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("lb-mbox").tempdir_in("/tmp").unwrap();
    let mut perms = fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(dir.path(), perms).unwrap();
    dir
}

pub fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

pub fn pathbuf(s: &str) -> PathBuf {
    PathBuf::from(s)
}
