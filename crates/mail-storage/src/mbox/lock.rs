//! Write locks on an mbox (mbox.md §2, mbox-lock.c): every method of `mbox_write_locks` is
//! taken in the configured order within one `mbox_lock_timeout`, and released in reverse
//! order. Reaching the timeout is a temporary error (the LDA exits 75).
//!
//! `fcntl` (and `lockf`, the same kernel lock on Linux) is taken as an open-file-description
//! lock (`F_OFD_SETLK`): it conflicts with the classic `F_SETLKW` lock Dovecot and MUAs take,
//! and unlike a classic POSIX lock it also excludes other threads of this process and is not
//! dropped when some unrelated descriptor of the file is closed. Waiting is done by polling
//! with a growing delay instead of Dovecot's `alarm()`-interrupted `F_SETLKW`.
//!
//! Not done: `mail_privileged_group` (switching the effective gid around dotlock creation in
//! a group-`mail` spool directory needs a setgid-capable process; we report Dovecot's hint
//! instead, see [`dotlock_error`]).

use std::fs::{File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use dovecot_index::{Dotlock, DotlockError, DotlockSettings};
use nix::errno::Errno;

use crate::error::StorageError;
use crate::maildir::create::Permissions;
use crate::ofd_lock::set_ofd_lock;
use crate::settings::{MboxLockMethod, StorageSettings};

/// First and longest pause between two attempts at a busy fcntl/flock lock.
const FIRST_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_millis(100);

/// One lock that is held.
#[derive(Debug)]
enum Held {
    Dotlock(Dotlock),
    Fcntl,
    Flock,
}

/// All write locks on one mbox; dropping it releases them in reverse order.
#[derive(Debug)]
pub(crate) struct MboxLocks<'f> {
    file: &'f File,
    held: Vec<Held>,
}

impl<'f> MboxLocks<'f> {
    /// Takes every method of `settings.mbox_write_locks` on `file` (opened from `path`) in
    /// order; all of them together may take at most `settings.mbox_lock_timeout`.
    pub(crate) fn acquire(
        file: &'f File,
        path: &Path,
        settings: &StorageSettings,
    ) -> Result<MboxLocks<'f>, StorageError> {
        let deadline = Instant::now() + settings.mbox_lock_timeout;
        let mut locks = MboxLocks { file, held: Vec::new() };
        for &method in &settings.mbox_write_locks {
            let held = match method {
                MboxLockMethod::Dotlock | MboxLockMethod::DotlockTry => {
                    take_dotlock(path, settings, deadline, method == MboxLockMethod::DotlockTry)?
                        .map(Held::Dotlock)
                }
                MboxLockMethod::Fcntl | MboxLockMethod::Lockf => {
                    if locks.held.iter().any(|h| matches!(h, Held::Fcntl)) {
                        None // `fcntl lockf`: the second one is the same lock.
                    } else {
                        poll_until(deadline, path, method, || try_fcntl(file, path))?;
                        Some(Held::Fcntl)
                    }
                }
                MboxLockMethod::Flock => {
                    poll_until(deadline, path, method, || try_flock(file, path))?;
                    Some(Held::Flock)
                }
            };
            locks.held.extend(held);
        }
        Ok(locks)
    }

    /// Releases every lock in reverse order. A dotlock that was overridden by someone else is
    /// reported, since the append may have raced with another writer.
    pub(crate) fn release(mut self) -> Result<(), StorageError> {
        let mut first_error = None;
        while let Some(held) = self.held.pop() {
            if let Err(e) = release_one(self.file, held) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for MboxLocks<'_> {
    fn drop(&mut self) {
        while let Some(held) = self.held.pop() {
            // Errors can only be reported through an explicit `release()`.
            let _ = release_one(self.file, held);
        }
    }
}

fn release_one(file: &File, held: Held) -> Result<(), StorageError> {
    match held {
        Held::Dotlock(lock) => lock.release().map_err(StorageError::from),
        Held::Fcntl => set_ofd_lock(file, nix::libc::F_UNLCK)
            .map(|_| ())
            .map_err(|e| StorageError::temp(format!("fcntl(F_UNLCK) failed: {e}"))),
        Held::Flock => {
            file.unlock().map_err(|e| StorageError::temp(format!("flock(LOCK_UN): {e}")))
        }
    }
}

/// Retries `attempt` (Ok(true) = taken) with a growing pause until `deadline`.
fn poll_until(
    deadline: Instant,
    path: &Path,
    method: MboxLockMethod,
    mut attempt: impl FnMut() -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    let mut delay = FIRST_DELAY;
    loop {
        if attempt()? {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout_error(path, method));
        }
        std::thread::sleep(delay.min(deadline - now));
        delay = (delay * 2).min(MAX_DELAY);
    }
}

fn timeout_error(path: &Path, method: MboxLockMethod) -> StorageError {
    let mut err = StorageError::temp(format!(
        "Timeout while waiting for lock ({} lock on {})",
        method.name(),
        path.display()
    ));
    err.path = Some(path.to_path_buf());
    err
}

fn try_fcntl(file: &File, path: &Path) -> Result<bool, StorageError> {
    match set_ofd_lock(file, nix::libc::F_WRLCK) {
        Ok(_) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES | Errno::EINTR) => Ok(false),
        Err(e) => Err(StorageError::io("fcntl(F_WRLCK)", path, io::Error::from(e), false)),
    }
}

fn try_flock(file: &File, path: &Path) -> Result<bool, StorageError> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(StorageError::io("flock(LOCK_EX)", path, e, false)),
    }
}

/// `<mbox>.lock`; `None` when `try_only` and the lock cannot be created for lack of
/// permission or space (`dotlock_try`).
fn take_dotlock(
    path: &Path,
    settings: &StorageSettings,
    deadline: Instant,
    try_only: bool,
) -> Result<Option<Dotlock>, StorageError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let perms = Permissions::of_dir(dir)?.unwrap_or_default();
    let lock_settings = DotlockSettings {
        timeout: deadline.saturating_duration_since(Instant::now()),
        stale_timeout: settings.mbox_dotlock_change_timeout,
        hostname: settings.hostname.clone(),
        file_mode: perms.file_mode,
        gid: None,
    };
    match Dotlock::acquire(path, &lock_settings) {
        Ok(lock) => Ok(Some(lock)),
        Err(DotlockError::Timeout { .. }) => Err(timeout_error(path, MboxLockMethod::Dotlock)),
        Err(e) => {
            let errno = e.io_error().and_then(io::Error::raw_os_error).map(Errno::from_raw);
            let skippable = matches!(
                errno,
                Some(Errno::EACCES | Errno::EPERM | Errno::EROFS | Errno::ENOSPC | Errno::EDQUOT)
            );
            if try_only && skippable { Ok(None) } else { Err(dotlock_error(path, dir, e)) }
        }
    }
}

/// A failed dotlock creation, worded as Dovecot's `file_dotlock_create()` error; when the
/// directory belongs to a group we are not in, Dovecot's hint to set
/// `mail_privileged_group` is added.
fn dotlock_error(path: &Path, dir: &Path, err: DotlockError) -> StorageError {
    let mut detail = format!("file_dotlock_create({}) failed: {err}", path.display());
    let denied = err.io_error().and_then(io::Error::raw_os_error) == Some(Errno::EACCES as i32);
    if denied && let Ok(meta) = std::fs::metadata(dir) {
        let group = meta.gid();
        let in_group = nix::unistd::getegid().as_raw() == group
            || nix::unistd::getgroups().is_ok_and(|g| g.iter().any(|g| g.as_raw() == group));
        if !in_group {
            let name = nix::unistd::Group::from_gid(group.into())
                .ok()
                .flatten()
                .map_or_else(|| group.to_string(), |g| g.name);
            detail.push_str(&format!(" (set mail_privileged_group={name})"));
        }
    }
    let mut out = StorageError::from(err);
    out.set_detail(detail);
    out
}
