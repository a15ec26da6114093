//! A per-user duplicate database: "has this key been seen before its expiry?".
//!
//! Pigeonhole keeps vacation replies, redirect duplicate suppression and the `duplicate` test
//! in Dovecot's `~/.dovecot.lda-dupes`. letterbox uses a file of its own design (default
//! `~/.letterbox.dupes`, so Dovecot never reads a format it does not expect):
//!
//! - one line per entry, `<expiry unix seconds> <hex key>\n`, appended with `O_APPEND`;
//! - every check-and-mark runs under an exclusive `flock`, so concurrent deliveries to one user
//!   never both send a vacation reply;
//! - a torn last line (crash mid-append) is ignored by readers and dropped at compaction;
//! - expired entries are dropped when the file is past [`COMPACT_AT`] bytes and at least half
//!   of its entries have expired, by writing a temp file and renaming it (never in place);
//! - the database is advisory: a caller that cannot open it should log and go on (Pigeonhole
//!   then sends the reply; losing mail for the sake of the database is never right).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

/// File size at which expired entries are compacted away.
pub const COMPACT_AT: u64 = 64 * 1024;

/// A failure of the database; callers log it and carry on.
#[derive(Debug, thiserror::Error)]
#[error("duplicate database {path}: {op} failed: {error}")]
pub struct DuplicateDbError {
    /// The database file.
    pub path: PathBuf,
    /// What was being done.
    pub op: &'static str,
    /// The cause.
    pub error: io::Error,
}

/// An open duplicate database.
#[derive(Debug)]
pub struct DuplicateDb {
    path: PathBuf,
}

impl DuplicateDb {
    /// The database at `path` (created on first mark).
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    fn err(&self, op: &'static str) -> impl FnOnce(io::Error) -> DuplicateDbError + '_ {
        move |error| DuplicateDbError { path: self.path.clone(), op, error }
    }

    fn lock(&self) -> Result<Flock<File>, DuplicateDbError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(self.err("open"))?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| DuplicateDbError {
            path: self.path.clone(),
            op: "flock",
            error: e.into(),
        })
    }

    /// True when `key` was marked and has not expired at `now`.
    pub fn is_seen(&self, key: &[u8], now: SystemTime) -> Result<bool, DuplicateDbError> {
        let mut file = self.lock()?;
        Ok(scan(&mut file, &hex(key), unix(now)).map_err(self.err("read"))?.seen)
    }

    /// Atomically: report whether `key` was already seen, and if not, mark it for `period`.
    /// Returns true when it was already seen (the caller should then not act again).
    pub fn check_and_mark(
        &self,
        key: &[u8],
        period: Duration,
        now: SystemTime,
    ) -> Result<bool, DuplicateDbError> {
        let mut file = self.lock()?;
        let key = hex(key);
        let now = unix(now);
        let found = scan(&mut file, &key, now).map_err(self.err("read"))?;
        if found.seen {
            return Ok(true);
        }
        let line = format!("{} {key}\n", now + period.as_secs());
        file.write_all(line.as_bytes()).map_err(self.err("append"))?;
        let size = file.metadata().map_err(self.err("stat"))?.len();
        if size >= COMPACT_AT && found.expired * 2 >= found.total {
            self.compact(&mut file, now).map_err(self.err("compact"))?;
        }
        Ok(false)
    }

    /// Mark `key` unconditionally (the `duplicate` test marks after a successful run).
    pub fn mark(
        &self,
        key: &[u8],
        period: Duration,
        now: SystemTime,
    ) -> Result<(), DuplicateDbError> {
        self.check_and_mark(key, period, now).map(|_| ())
    }

    /// Rewrite the file without expired or torn entries (temp file + rename, under the lock).
    fn compact(&self, file: &mut File, now: u64) -> io::Result<()> {
        file.seek(SeekFrom::Start(0))?;
        let mut keep = String::new();
        for line in BufReader::new(&*file).split(b'\n') {
            let line = line?;
            if let Some((expiry, _)) = parse_line(&line)
                && expiry > now
            {
                keep.push_str(&String::from_utf8_lossy(&line));
                keep.push('\n');
            }
        }
        let tmp = self.path.with_extension("tmp");
        let mut out =
            OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        out.write_all(keep.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// What a scan of the file found.
#[derive(Debug, Default)]
struct Scan {
    seen: bool,
    total: usize,
    expired: usize,
}

/// Look for an unexpired entry of `key`, counting entries on the way (a torn last line has no
/// newline and is skipped).
fn scan(file: &mut File, key: &str, now: u64) -> io::Result<Scan> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(&*file);
    let mut line = Vec::new();
    let mut out = Scan::default();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
            return Ok(out);
        }
        line.pop();
        let Some((expiry, k)) = parse_line(&line) else { continue };
        out.total += 1;
        if expiry <= now {
            out.expired += 1;
        } else if k == key.as_bytes() {
            out.seen = true;
            return Ok(out);
        }
    }
}

fn parse_line(line: &[u8]) -> Option<(u64, &[u8])> {
    let space = line.iter().position(|&b| b == b' ')?;
    let expiry = std::str::from_utf8(&line[..space]).ok()?.parse().ok()?;
    Some((expiry, &line[space + 1..]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn marks_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = DuplicateDb::new(&dir.path().join("d"));
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(!db.check_and_mark(b"vacation\0a@b", DAY, t0).unwrap());
        assert!(db.check_and_mark(b"vacation\0a@b", DAY, t0 + Duration::from_secs(10)).unwrap());
        assert!(db.is_seen(b"vacation\0a@b", t0).unwrap());
        assert!(!db.is_seen(b"vacation\0a@b", t0 + DAY).unwrap(), "expired");
        assert!(!db.is_seen(b"other", t0).unwrap());
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        std::fs::write(&path, format!("{} {}", 2_000_000, hex(b"k"))).unwrap();
        let db = DuplicateDb::new(&path);
        assert!(!db.is_seen(b"k", t0).unwrap());
        assert!(!db.check_and_mark(b"j", DAY, t0).unwrap());
    }

    #[test]
    fn compaction_drops_expired_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        let db = DuplicateDb::new(&path);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..3000u32 {
            db.check_and_mark(&i.to_be_bytes(), Duration::from_secs(5), t0).unwrap();
        }
        let later = t0 + Duration::from_secs(100);
        for i in 0..3000u32 {
            db.check_and_mark(&(i + 10_000).to_be_bytes(), DAY, later).unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() < 3000 * 28, "expired entries compacted");
        assert!(db.is_seen(&12_999u32.to_be_bytes(), later).unwrap());
    }

    #[test]
    fn concurrent_check_and_mark_lets_exactly_one_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    !DuplicateDb::new(&path).check_and_mark(b"same", DAY, t0).unwrap()
                })
            })
            .collect();
        let firsts = handles.into_iter().map(|h| h.join().unwrap()).filter(|&first| first).count();
        assert_eq!(firsts, 1);
    }
}
