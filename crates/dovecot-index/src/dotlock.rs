//! Dovecot's dotlock protocol (maildir.md §6): `<file>.lock` holding `<pid>:<hostname>`,
//! created atomically with its content (temp file + `link()`, Dovecot's
//! `dotlock_use_excl=no` method, so a killed process never leaves an anonymous empty lock),
//! stale detection (dead pid on our host at once; otherwise nothing changed for
//! `stale_timeout`), bounded waiting, release only if the lock is still ours, and "replace
//! mode" (the new content is written into the lock file, which is then renamed over the
//! protected file).
//!
//! Because several threads of one process share a pid (Dovecot is single-threaded, we are
//! not), the lock is first taken in a process-wide registry, so that the "lock has our own
//! pid, so it is a leftover" rule can never break a lock held by a sibling thread.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// How to take a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotlockSettings {
    /// Give up waiting after this long (0 = a single attempt).
    pub timeout: Duration,
    /// A lock whose file and protected file have not changed for this long is broken.
    pub stale_timeout: Duration,
    /// Host name written into the lock and compared when judging the owner's pid.
    pub hostname: String,
    /// Exact mode of the lock file (umask is not applied).
    pub file_mode: u32,
    /// Group to give the lock file, when the directory's group must be applied.
    pub gid: Option<u32>,
}

/// Why a lock could not be taken or released.
#[derive(Debug, thiserror::Error)]
pub enum DotlockError {
    /// Still locked by someone else when `timeout` ran out.
    #[error("Timeout ({timeout:?}) while waiting for lock for {}", path.display())]
    Timeout {
        /// The protected file.
        path: PathBuf,
        /// The bound that was reached.
        timeout: Duration,
    },
    /// A system call failed.
    #[error("{op}({}) failed: {source}", path.display())]
    Io {
        /// The failing operation (`open`, `write`, `rename`, …).
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// At release, the lock file was no longer the one we created.
    #[error("Our dotlock file {} was overridden or deleted", path.display())]
    Overridden {
        /// The lock file.
        path: PathBuf,
    },
}

impl DotlockError {
    /// The underlying I/O error, for classification (ENOSPC, EDQUOT, EACCES…).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            DotlockError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DotlockError + 'a {
    move |source| DotlockError::Io { op, path: path.to_path_buf(), source }
}

/// A held dotlock; dropping it releases the lock (best effort).
#[derive(Debug)]
pub struct Dotlock {
    target: PathBuf,
    lock_path: PathBuf,
    /// The lock file, open (`None` for a lock linked from a kept source: no replace mode).
    file: Option<File>,
    dev: u64,
    ino: u64,
    _local: LocalSlot,
}

impl Dotlock {
    /// Takes the lock for `target`, waiting up to `settings.timeout`.
    pub fn acquire(target: &Path, settings: &DotlockSettings) -> Result<Dotlock, DotlockError> {
        Self::acquire_inner(target, settings, false)
    }

    /// Like [`Dotlock::acquire`], for a lock that will only be released, never used in
    /// replace mode. In a process that enabled [`keep_link_sources`], the temporary file the
    /// lock is linked from is kept for the next acquisition, so taking and releasing the lock
    /// allocates and frees no inode (on ext4 without a journal, every freed inode slows the
    /// next file creations in the directory for a while).
    pub fn acquire_release_only(
        target: &Path,
        settings: &DotlockSettings,
    ) -> Result<Dotlock, DotlockError> {
        Self::acquire_inner(target, settings, KEEP_SOURCES.load(Ordering::Relaxed))
    }

    fn acquire_inner(
        target: &Path,
        settings: &DotlockSettings,
        keep_source: bool,
    ) -> Result<Dotlock, DotlockError> {
        let lock_path = lock_path_of(target);
        let deadline = Instant::now() + settings.timeout;
        let timeout_err =
            || DotlockError::Timeout { path: target.to_path_buf(), timeout: settings.timeout };
        let local = LocalSlot::acquire(&lock_path, deadline).ok_or_else(timeout_err)?;
        let mut delay = Duration::from_millis(5);
        loop {
            let attempt = if keep_source {
                try_link_kept(&lock_path, settings)?
            } else {
                try_create(&lock_path, settings)?
            };
            if let Some((file, dev, ino)) = attempt {
                held_inodes().insert((dev, ino));
                let target = target.to_path_buf();
                return Ok(Dotlock { target, lock_path, file, dev, ino, _local: local });
            }
            if remove_if_stale(&lock_path, target, settings)? {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(timeout_err());
            }
            std::thread::sleep(jitter(delay).min(deadline - now));
            delay = (delay * 3 / 2).min(Duration::from_millis(200));
        }
    }

    /// The lock file's path.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Releases the lock: unlinks the lock file if it is still the one we created.
    pub fn release(mut self) -> Result<(), DotlockError> {
        self.release_inner()
    }

    /// Replace mode: writes `data` into the lock file, fsyncs it when `fsync`, makes its mtime
    /// newer than the old target's and renames it over the protected file.
    pub fn replace(mut self, data: &[u8], fsync: bool) -> Result<(), DotlockError> {
        let path = self.lock_path.clone();
        let mut file =
            self.file.take().ok_or_else(|| DotlockError::Overridden { path: path.clone() })?;
        file.set_len(0).map_err(io_err("ftruncate", &path))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err("lseek", &path))?;
        file.write_all(data).map_err(io_err("write", &path))?;
        if let Ok(old) = fs::metadata(&self.target).and_then(|m| m.modified()) {
            let mine =
                file.metadata().and_then(|m| m.modified()).map_err(io_err("fstat", &path))?;
            if mine <= old {
                let bumped = old + Duration::from_secs(1);
                file.set_modified(bumped).map_err(io_err("futimes", &path))?;
            }
        }
        if fsync {
            file.sync_all().map_err(io_err("fsync", &path))?;
        }
        fs::rename(&path, &self.target).map_err(io_err("rename", &path))?;
        held_inodes().remove(&(self.dev, self.ino));
        self.dev = 0;
        self.ino = 0;
        Ok(())
    }

    fn release_inner(&mut self) -> Result<(), DotlockError> {
        if self.ino == 0 {
            return Ok(());
        }
        let (dev, ino) = (self.dev, self.ino);
        self.ino = 0;
        held_inodes().remove(&(dev, ino));
        self.file = None;
        match fs::symlink_metadata(&self.lock_path) {
            Ok(meta) if meta.dev() == dev && meta.ino() == ino => {
                fs::remove_file(&self.lock_path).map_err(io_err("unlink", &self.lock_path))
            }
            Ok(_) | Err(_) => Err(DotlockError::Overridden { path: self.lock_path.clone() }),
        }
    }
}

impl Drop for Dotlock {
    fn drop(&mut self) {
        // Errors here can only be reported by an explicit `release()`.
        let _ = self.release_inner();
    }
}

/// `<target>.lock`.
pub fn lock_path_of(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// One attempt. The content is written to a temporary file first and then hard-linked to
/// the lock name (Dovecot's `dotlock_use_excl=no` method), so a lock file never exists
/// without its `<pid>:<host>` content, even if the process is killed mid-way: a dead
/// owner is then always recognisable. `Ok(None)` when the lock exists.
fn try_create(
    path: &Path,
    settings: &DotlockSettings,
) -> Result<Option<(Option<File>, u64, u64)>, DotlockError> {
    let temp = temp_path(path, &settings.hostname);
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(settings.file_mode)
            .open(&temp)
    };
    let mut file = match open() {
        // A leftover of a killed process that had our pid.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&temp);
            open()
        }
        other => other,
    }
    .map_err(io_err("open", &temp))?;
    let result = (|| {
        file.set_permissions(fs::Permissions::from_mode(settings.file_mode))
            .map_err(io_err("fchmod", &temp))?;
        if let Some(gid) = settings.gid {
            fchown(&file, None, Some(gid)).map_err(io_err("fchown", &temp))?;
        }
        let content = format!("{}:{}", std::process::id(), settings.hostname);
        file.write_all(content.as_bytes()).map_err(io_err("write", &temp))?;
        match fs::hard_link(&temp, path) {
            Ok(()) => file.metadata().map(Some).map_err(io_err("fstat", path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(io_err("link", path)(e)),
        }
    })();
    let _ = fs::remove_file(&temp);
    match result {
        Ok(Some(meta)) => Ok(Some((Some(file), meta.dev(), meta.ino()))),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether [`Dotlock::acquire_release_only`] keeps its link sources (see [`keep_link_sources`]).
static KEEP_SOURCES: AtomicBool = AtomicBool::new(false);

/// The kept link source of each lock path, for [`remove_kept_link_sources`].
fn kept_sources() -> std::sync::MutexGuard<'static, HashMap<PathBuf, PathBuf>> {
    static KEPT: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    KEPT.get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Most kept link sources; beyond it the oldest are deleted (one file per mailbox in use).
const MAX_KEPT_SOURCES: usize = 1024;

/// For long-lived processes (the LMTP server): lets [`Dotlock::acquire_release_only`] keep
/// the temporary file a lock is hard-linked from (`tmp/temp.<host>.<pid>.lock`, holding
/// `<pid>:<host>`), instead of creating and deleting one per acquisition. A process that
/// enables it removes the files with [`remove_kept_link_sources`] when it stops; after a
/// crash they are ordinary leftovers of a dead pid in `tmp/`, which Dovecot's temp-file scan
/// deletes.
pub fn keep_link_sources(enable: bool) {
    KEEP_SOURCES.store(enable, Ordering::Relaxed);
}

/// Deletes every kept link source (see [`keep_link_sources`]).
pub fn remove_kept_link_sources() {
    for (_, source) in kept_sources().drain() {
        let _ = fs::remove_file(source);
    }
}

/// One attempt with a kept link source: `link(source, lock)`, creating the source first when
/// it does not exist (yet, or any more). `Ok(None)` when the lock exists.
fn try_link_kept(
    path: &Path,
    settings: &DotlockSettings,
) -> Result<Option<(Option<File>, u64, u64)>, DotlockError> {
    let source = kept_source_path(path, &settings.hostname);
    for _ in 0..2 {
        match fs::hard_link(&source, path) {
            Ok(()) => {
                let meta = fs::symlink_metadata(path).map_err(io_err("lstat", path))?;
                return Ok(Some((None, meta.dev(), meta.ino())));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_kept_source(path, &source, settings)?
            }
            Err(e) => return Err(io_err("link", path)(e)),
        }
    }
    Err(DotlockError::Io {
        op: "link",
        path: path.to_path_buf(),
        source: io::Error::from(io::ErrorKind::NotFound),
    })
}

/// Writes the kept source `<pid>:<host>` (replacing a leftover) and remembers it.
fn create_kept_source(
    lock: &Path,
    source: &Path,
    settings: &DotlockSettings,
) -> Result<(), DotlockError> {
    let _ = fs::remove_file(source);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(settings.file_mode)
        .open(source)
        .map_err(io_err("open", source))?;
    let written = (|| {
        file.set_permissions(fs::Permissions::from_mode(settings.file_mode))?;
        if let Some(gid) = settings.gid {
            fchown(&file, None, Some(gid))?;
        }
        file.write_all(format!("{}:{}", std::process::id(), settings.hostname).as_bytes())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(source);
        return Err(io_err("write", source)(e));
    }
    let mut kept = kept_sources();
    if kept.len() >= MAX_KEPT_SOURCES && !kept.contains_key(lock) {
        let evicted: Vec<PathBuf> = kept.keys().take(MAX_KEPT_SOURCES / 4).cloned().collect();
        for key in evicted {
            if let Some(old) = kept.remove(&key) {
                let _ = fs::remove_file(old);
            }
        }
    }
    kept.insert(lock.to_path_buf(), source.to_path_buf());
    Ok(())
}

/// `tmp/temp.<host>.<pid>.<lock name>` in a Maildir, else `.temp.<host>.<pid>.<lock name>`.
fn kept_source_path(lock: &Path, hostname: &str) -> PathBuf {
    let name = lock.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let id = format!("temp.{}.{}.{name}", hostname.replace('/', "_"), std::process::id());
    let maildir_tmp = lock.with_file_name("tmp");
    if maildir_tmp.is_dir() { maildir_tmp.join(id) } else { lock.with_file_name(format!(".{id}")) }
}

/// The temporary file for [`try_create`], in the lock's directory (so `link()` works): in
/// its `tmp/` subdirectory when it is a Maildir (`tmp/temp.<host>.<pid>.<n>`, where
/// Dovecot's own cleanup removes leftovers), else `.temp.<host>.<pid>.<n>`, Dovecot's
/// prefixes.
fn temp_path(lock: &Path, hostname: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = format!("temp.{}.{}.{n}", hostname.replace('/', "_"), std::process::id());
    let maildir_tmp = lock.with_file_name("tmp");
    if maildir_tmp.is_dir() { maildir_tmp.join(id) } else { lock.with_file_name(format!(".{id}")) }
}

/// Judges an existing lock; deletes it and returns true when it is stale.
fn remove_if_stale(
    lock: &Path,
    target: &Path,
    settings: &DotlockSettings,
) -> Result<bool, DotlockError> {
    let meta = match fs::symlink_metadata(lock) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io_err("lstat", lock)(e)),
    };
    let content = fs::read(lock).unwrap_or_default();
    let owner = std::str::from_utf8(&content)
        .ok()
        .and_then(|c| c.split_once(':'))
        .and_then(|(pid, host)| Some((pid.parse::<i32>().ok()?, host.to_owned())));
    let stale = match owner {
        Some((pid, host)) if host == settings.hostname && pid > 0 => {
            // Our own pid: a leftover unless one of our threads holds exactly this lock file
            // (reached through another spelling of the path, so LocalSlot did not exclude it).
            if pid as u32 == std::process::id() {
                !held_inodes().contains(&(meta.dev(), meta.ino()))
            } else {
                kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
            }
        }
        _ => {
            unchanged_for(&meta, settings.stale_timeout)
                && target_unchanged(target, settings.stale_timeout)
        }
    };
    if !stale {
        return Ok(false);
    }
    match fs::symlink_metadata(lock) {
        Ok(again) if again.ino() == meta.ino() && again.dev() == meta.dev() => {
            match fs::remove_file(lock) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
                Err(e) => Err(io_err("unlink", lock)(e)),
            }
        }
        _ => Ok(true),
    }
}

fn unchanged_for(meta: &fs::Metadata, period: Duration) -> bool {
    let now = SystemTime::now();
    let changed = |secs: i64| {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
        now.duration_since(t).unwrap_or_default() < period
    };
    !changed(meta.mtime()) && !changed(meta.ctime())
}

fn target_unchanged(target: &Path, period: Duration) -> bool {
    match fs::metadata(target) {
        Ok(meta) => unchanged_for(&meta, period),
        Err(_) => true,
    }
}

/// A 0.5×–1.5× random spread so that waiting processes do not retry in lockstep.
fn jitter(base: Duration) -> Duration {
    let seed =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().subsec_nanos()
            ^ std::process::id().wrapping_mul(2_654_435_761);
    let factor = 500 + (seed % 1000);
    base * factor / 1000
}

/// Lock files (dev, ino) held by this process right now.
fn held_inodes() -> std::sync::MutexGuard<'static, HashSet<(u64, u64)>> {
    static HELD: OnceLock<Mutex<HashSet<(u64, u64)>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Process-wide exclusion per lock path.
#[derive(Debug)]
struct LocalSlot(PathBuf);

struct LocalRegistry {
    held: Mutex<HashSet<PathBuf>>,
    released: Condvar,
}

fn registry() -> &'static LocalRegistry {
    static REGISTRY: OnceLock<LocalRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| LocalRegistry {
        held: Mutex::new(HashSet::new()),
        released: Condvar::new(),
    })
}

impl LocalSlot {
    fn acquire(path: &Path, deadline: Instant) -> Option<LocalSlot> {
        let reg = registry();
        let mut held = reg.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            if held.insert(path.to_path_buf()) {
                return Some(LocalSlot(path.to_path_buf()));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            held = match reg.released.wait_timeout(held, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for LocalSlot {
    fn drop(&mut self) {
        let reg = registry();
        let mut held = reg.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.remove(&self.0);
        reg.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn settings(timeout_ms: u64) -> DotlockSettings {
        DotlockSettings {
            timeout: Duration::from_millis(timeout_ms),
            stale_timeout: Duration::from_secs(120),
            hostname: "testhost".into(),
            file_mode: 0o600,
            gid: None,
        }
    }

    #[test]
    fn kept_link_source_is_reused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tmp")).unwrap();
        let target = dir.path().join("dovecot-uidlist");
        keep_link_sources(true);
        let first = Dotlock::acquire_release_only(&target, &settings(0)).unwrap();
        let lock = dir.path().join("dovecot-uidlist.lock");
        let content = fs::read_to_string(&lock).unwrap();
        assert_eq!(content, format!("{}:testhost", std::process::id()));
        let ino = fs::metadata(&lock).unwrap().ino();
        first.release().unwrap();
        assert!(!lock.exists());
        let sources: Vec<_> = fs::read_dir(dir.path().join("tmp")).unwrap().collect();
        assert_eq!(sources.len(), 1, "the link source stays in tmp/");
        let second = Dotlock::acquire_release_only(&target, &settings(0)).unwrap();
        assert_eq!(fs::metadata(&lock).unwrap().ino(), ino, "same inode, none allocated");
        second.release().unwrap();
        // Someone cleans tmp/: the next lock recreates its source.
        fs::remove_file(sources[0].as_ref().unwrap().path()).unwrap();
        let third = Dotlock::acquire_release_only(&target, &settings(0)).unwrap();
        assert!(lock.exists());
        // Held by us: another acquisition in this process waits and times out.
        assert!(matches!(
            Dotlock::acquire_release_only(&target, &settings(50)),
            Err(DotlockError::Timeout { .. })
        ));
        third.release().unwrap();
        remove_kept_link_sources();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn lock_content_mode_and_release() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let lock = Dotlock::acquire(&target, &settings(0)).unwrap();
        let lock_file = dir.path().join("dovecot-uidlist.lock");
        let content = fs::read_to_string(&lock_file).unwrap();
        assert_eq!(content, format!("{}:testhost", std::process::id()));
        assert_eq!(fs::metadata(&lock_file).unwrap().permissions().mode() & 0o777, 0o600);
        lock.release().unwrap();
        assert!(!lock_file.exists());
    }

    #[test]
    fn foreign_live_lock_times_out_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        // pid 1 is alive on any system.
        fs::write(dir.path().join("f.lock"), "1:testhost").unwrap();
        let err = Dotlock::acquire(&target, &settings(50)).unwrap_err();
        assert!(matches!(err, DotlockError::Timeout { .. }));
        assert!(dir.path().join("f.lock").exists());
    }

    #[test]
    fn dead_pid_and_own_pid_locks_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(dir.path().join("f.lock"), format!("{dead}:testhost")).unwrap();
        Dotlock::acquire(&target, &settings(0)).unwrap().release().unwrap();
        fs::write(dir.path().join("f.lock"), format!("{}:testhost", std::process::id())).unwrap();
        Dotlock::acquire(&target, &settings(0)).unwrap().release().unwrap();
    }

    #[test]
    fn old_foreign_host_lock_is_stale_after_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        fs::write(dir.path().join("f.lock"), "1:otherhost").unwrap();
        let mut s = settings(0);
        assert!(Dotlock::acquire(&target, &s).is_err());
        s.stale_timeout = Duration::ZERO;
        Dotlock::acquire(&target, &s).unwrap().release().unwrap();
    }

    #[test]
    fn own_lock_reached_by_another_path_spelling_is_not_broken() {
        let dir = tempfile::tempdir().unwrap();
        let held = Dotlock::acquire(&dir.path().join("f"), &settings(0)).unwrap();
        let other_spelling = dir.path().join(".").join("f");
        assert!(matches!(
            Dotlock::acquire(&other_spelling, &settings(50)),
            Err(DotlockError::Timeout { .. })
        ));
        held.release().unwrap();
        Dotlock::acquire(&other_spelling, &settings(0)).unwrap().release().unwrap();
    }

    #[test]
    fn overridden_lock_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let lock = Dotlock::acquire(&target, &settings(0)).unwrap();
        fs::remove_file(dir.path().join("f.lock")).unwrap();
        fs::write(dir.path().join("f.lock"), "1:elsewhere").unwrap();
        assert!(matches!(lock.release(), Err(DotlockError::Overridden { .. })));
        assert!(dir.path().join("f.lock").exists());
    }

    #[test]
    fn replace_mode_renames_over_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("subscriptions");
        fs::write(&target, "old").unwrap();
        Dotlock::acquire(&target, &settings(0)).unwrap().replace(b"new", true).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!dir.path().join("subscriptions.lock").exists());
    }

    #[test]
    fn threads_are_mutually_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let target = Arc::new(dir.path().join("f"));
        let inside = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (target, inside) = (Arc::clone(&target), Arc::clone(&inside));
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let lock = Dotlock::acquire(&target, &settings(10_000)).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::sleep(Duration::from_millis(1));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.release().unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
