//! Helpers shared by the integration tests.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mail_storage::{
    MailLocation, MailUser, MessageSource, NamespaceSpec, OpenOptions, SaveOptions, SavedMail,
    StorageSettings,
};

pub const MSG: &[u8] = b"Subject: t\n\nbody\n";

pub fn settings() -> StorageSettings {
    StorageSettings {
        hostname: "testhost".into(),
        dotlock_timeout: Duration::from_secs(30),
        ..StorageSettings::default()
    }
}

pub fn user_at(location: &str, home: &Path) -> MailUser {
    user_with(location, home, Vec::new())
}

pub fn user_with(location: &str, home: &Path, namespaces: Vec<NamespaceSpec>) -> MailUser {
    let loc = MailLocation::parse(location, Some(home)).unwrap();
    MailUser::new(loc, namespaces, settings()).unwrap()
}

pub fn create() -> OpenOptions {
    OpenOptions { autocreate: true, autosubscribe: false }
}

pub fn save(user: &MailUser, vname: &str, opts: &OpenOptions) -> SavedMail {
    let mailbox = user.open_mailbox(vname, opts).unwrap();
    mailbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap()
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every path under `root`, relative, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(root).unwrap().display().to_string());
        if path.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// Copies the Dovecot-written fixture Maildir (git keeps no empty dirs: cur/new/tmp are
/// recreated).
pub fn dovecot_fixture(dest: &Path) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/dovecot-maildir");
    copy_dir(&src, dest);
    for mailbox in [dest.to_path_buf(), dest.join(".Work.Sub"), dest.join(".Entw&APw-rfe.Sub dir")]
    {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(mailbox.join(sub)).unwrap();
        }
    }
    dest.to_path_buf()
}

fn copy_dir(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Holds a write lock of another open file description (so even this process conflicts).
pub fn hold_ofd_lock(path: &Path) -> fs::File {
    let file = fs::File::options().read(true).write(true).open(path).unwrap();
    let whole = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_OFD_SETLK(&whole)).unwrap();
    file
}
