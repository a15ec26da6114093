//! The Maildir++ `maildirsize` file: parsing, the trust rules, appending a usage line, and
//! rewriting it after a recalculation.
//!
//! Mirrors dovecot/core@2.3.19.1 src/plugins/quota/quota-maildir.c as `spec/quota.md` §4
//! describes it. Format: line 1 holds the limits (`300S,10C`), every further line a
//! `<bytes> <count>` delta; usage is the sum. Readers look at no more than 5120 bytes,
//! ignore a trailing partial line, and recalculate on NUL bytes, unparsable lines or a
//! negative total; an over-limit total is trusted only from a single-line file younger
//! than 15 minutes. Updates are one `O_APPEND` write without locking (the Maildir++
//! convention); rewrites go through a temporary file and `rename()`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::QuotaError;
use crate::rule::Limits;

/// The file name, in the control root of the user's Maildir (normally the Maildir root).
pub const MAILDIRSIZE_FILENAME: &str = "maildirsize";
/// Readers look at no more than this many bytes; a longer file is recalculated.
pub const MAILDIRSIZE_MAX_READ: usize = 5120;
/// An over-limit total older than this is not trusted.
pub const OVER_QUOTA_TRUST: Duration = Duration::from_secs(15 * 60);

/// The parsed content of a `maildirsize` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaildirSize {
    /// Line 1.
    pub limits: Limits,
    /// Sum of the byte column.
    pub bytes: i64,
    /// Sum of the count column.
    pub count: i64,
    /// Number of complete usage lines.
    pub lines: usize,
}

/// Why the file cannot be used as it is and must be recalculated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecalcReason {
    /// The file does not exist.
    Missing,
    /// Longer than [`MAILDIRSIZE_MAX_READ`].
    TooLarge,
    /// A NUL byte, no limits line, an invalid limits line or an unparsable usage line.
    Corrupt(String),
    /// The totals are negative.
    Negative,
    /// Over the limit, with more than one usage line or older than 15 minutes.
    StaleOverQuota,
    /// A forced (`*`) default rule differs from line 1.
    LimitsChanged,
}

/// Parses the bytes of a `maildirsize` file (already known to be at most 5120 bytes).
pub fn parse(buf: &[u8]) -> Result<MaildirSize, RecalcReason> {
    if buf.contains(&0) {
        return Err(RecalcReason::Corrupt("NUL byte".to_owned()));
    }
    // A trailing line without LF is being written by someone else: ignore it.
    let complete = match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => &buf[..i],
        None => return Err(RecalcReason::Corrupt("no complete limits line".to_owned())),
    };
    let text =
        std::str::from_utf8(complete).map_err(|_| RecalcReason::Corrupt("not ASCII".to_owned()))?;
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let limits = Limits::parse_maildirpp(first)
        .ok_or_else(|| RecalcReason::Corrupt(format!("invalid limits line {first:?}")))?;
    let mut size = MaildirSize { limits, bytes: 0, count: 0, lines: 0 };
    for line in lines {
        let (b, c) = parse_usage_line(line)
            .ok_or_else(|| RecalcReason::Corrupt(format!("invalid usage line {line:?}")))?;
        size.bytes = size.bytes.saturating_add(b);
        size.count = size.count.saturating_add(c);
        size.lines += 1;
    }
    if size.lines == 0 {
        return Err(RecalcReason::Corrupt("no usage lines".to_owned()));
    }
    if size.bytes < 0 || size.count < 0 {
        return Err(RecalcReason::Negative);
    }
    Ok(size)
}

fn parse_usage_line(line: &str) -> Option<(i64, i64)> {
    let mut it = line.split_ascii_whitespace();
    let b = it.next()?.parse().ok()?;
    let c = it.next()?.parse().ok()?;
    it.next().is_none().then_some((b, c))
}

/// Applies the trust rules to a parsed file: `forced` is the configured default rule when
/// it is `*` (forced), `age` the file's age. Returns the limits in force on success.
pub fn judge(
    size: &MaildirSize,
    forced: Option<Limits>,
    age: Duration,
) -> Result<Limits, RecalcReason> {
    let limits = match forced {
        Some(f) if f != size.limits => return Err(RecalcReason::LimitsChanged),
        Some(f) => f,
        None => size.limits,
    };
    let over = |used: i64, limit: u64| limit != 0 && i128::from(used) > i128::from(limit);
    if (over(size.bytes, limits.bytes) || over(size.count, limits.count))
        && (size.lines != 1 || age >= OVER_QUOTA_TRUST)
    {
        return Err(RecalcReason::StaleOverQuota);
    }
    Ok(limits)
}

/// The result of reading the file from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Parsed content, or why it must be recalculated.
    pub parsed: Result<MaildirSize, RecalcReason>,
    /// Line 1 when it is valid, even if the rest is not (kept across a recalculation when
    /// the default rule is not forced).
    pub file_limits: Option<Limits>,
    /// The file's age (zero when missing or from the future).
    pub age: Duration,
}

/// Reads and parses `path` (at most 5120 bytes).
pub fn read(path: &Path) -> Result<ReadOutcome, QuotaError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parsed = Err(RecalcReason::Missing);
            return Ok(ReadOutcome { parsed, file_limits: None, age: Duration::ZERO });
        }
        Err(e) => return Err(QuotaError::io("open", path, e)),
    };
    let meta = file.metadata().map_err(|e| QuotaError::io("fstat", path, e))?;
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::ZERO);
    let mut buf = Vec::with_capacity(MAILDIRSIZE_MAX_READ + 1);
    (&mut file)
        .take(MAILDIRSIZE_MAX_READ as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| QuotaError::io("read", path, e))?;
    let file_limits = buf
        .split(|&b| b == b'\n')
        .next()
        .filter(|_| buf.contains(&b'\n'))
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(Limits::parse_maildirpp);
    let parsed =
        if buf.len() > MAILDIRSIZE_MAX_READ { Err(RecalcReason::TooLarge) } else { parse(&buf) };
    Ok(ReadOutcome { parsed, file_limits, age })
}

/// Appends `<bytes> <count>\n` with one `O_APPEND` write. Returns `false` (and writes
/// nothing) when the file does not exist, so the caller can recalculate instead.
pub fn append(path: &Path, bytes: i64, count: i64) -> Result<bool, QuotaError> {
    let mut file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(QuotaError::io("open", path, e)),
    };
    let line = format!("{bytes} {count}\n");
    // One write(2) for the whole line: O_APPEND makes concurrent appenders not interleave.
    let n = file.write(line.as_bytes()).map_err(|e| QuotaError::io("write", path, e))?;
    if n != line.len() {
        return Err(QuotaError::io(
            "write",
            path,
            io::Error::new(io::ErrorKind::WriteZero, "short write"),
        ));
    }
    Ok(true)
}

/// Writes `<limits>\n<bytes> <count>\n` into a temporary file next to `path` and renames
/// it over `path`. The mode is the directory's minus execute bits (0600 under a 0700 dir).
pub fn rewrite(path: &Path, limits: Limits, bytes: u64, count: u64) -> Result<(), QuotaError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir_mode =
        fs::metadata(dir).map_err(|e| QuotaError::io("stat", dir, e))?.permissions().mode();
    let mode = dir_mode & 0o666;
    let tmp = temp_path(path);
    let content = format!("{}\n{bytes} {count}\n", limits.to_maildirpp());
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if mode == 0 { 0o600 } else { mode })
            .open(&tmp)
            .map_err(|e| QuotaError::io("create", &tmp, e))?;
        // The umask must not narrow the mode Dovecot would give the file.
        f.set_permissions(fs::Permissions::from_mode(if mode == 0 { 0o600 } else { mode }))
            .map_err(|e| QuotaError::io("fchmod", &tmp, e))?;
        f.write_all(content.as_bytes()).map_err(|e| QuotaError::io("write", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| QuotaError::io("rename", &tmp, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `maildirsize<hostname>.<pid>.<unique>` in the same directory.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let host =
        nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_default();
    let host: String = host.chars().map(|c| if c == '/' { '_' } else { c }).collect();
    let nanos =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("{MAILDIRSIZE_FILENAME}{host}.{}.{nanos:x}{n:x}", std::process::id());
    path.with_file_name(name)
}

/// Removes the file (a forced zero limit, or a recalculation that raced with a save);
/// a missing file is fine.
pub fn remove(path: &Path) -> Result<(), QuotaError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(QuotaError::io("unlink", path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn parses_dovecot_example() {
        let s = parse(b"300S,10C\n0 0\n112 1\n177 1\n").unwrap();
        assert_eq!(
            s,
            MaildirSize {
                limits: Limits { bytes: 300, count: 10 },
                bytes: 289,
                count: 2,
                lines: 3
            }
        );
    }

    #[test]
    fn negative_deltas_and_partial_lines() {
        let s = parse(b"0S\n1000 10\n-200 -2\n50 1\n7").unwrap();
        assert_eq!((s.bytes, s.count, s.lines), (850, 9, 3), "trailing partial line ignored");
        assert_eq!(parse(b"0S\n10 1\n-20 -1\n"), Err(RecalcReason::Negative));
        assert_eq!(parse(b"0S\n10 1\n5 -2\n"), Err(RecalcReason::Negative));
    }

    #[test]
    fn corrupt_files() {
        for bad in [
            &b""[..],
            b"0S",
            b"0S\n",
            b"0S\n1 1\nx 1\n",
            b"0S\n1\n",
            b"0S\n1 1 1\n",
            b"0S\n1 \x001\n",
            b"junk\n1 1\n",
            b"0S\n\n",
        ] {
            assert!(
                matches!(parse(bad), Err(RecalcReason::Corrupt(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn trust_rules() {
        let lim = Limits { bytes: 300, count: 10 };
        let under = MaildirSize { limits: lim, bytes: 289, count: 2, lines: 3 };
        assert_eq!(judge(&under, None, 60 * MIN), Ok(lim), "under the limit: always trusted");
        let over_many = MaildirSize { bytes: 301, ..under };
        assert_eq!(judge(&over_many, None, Duration::ZERO), Err(RecalcReason::StaleOverQuota));
        let over_one = MaildirSize { lines: 1, ..over_many };
        assert_eq!(judge(&over_one, None, MIN), Ok(lim), "single fresh line trusted");
        assert_eq!(judge(&over_one, None, 15 * MIN), Err(RecalcReason::StaleOverQuota));
        let count_over = MaildirSize { bytes: 0, count: 11, lines: 2, ..under };
        assert_eq!(judge(&count_over, None, MIN), Err(RecalcReason::StaleOverQuota));
        // A forced rule must equal line 1; a non-forced one takes line 1.
        assert_eq!(judge(&under, Some(lim), MIN), Ok(lim));
        assert_eq!(
            judge(&under, Some(Limits { bytes: 301, count: 10 }), MIN),
            Err(RecalcReason::LimitsChanged)
        );
        let unlimited =
            MaildirSize { limits: Limits::default(), bytes: 1 << 40, count: 1 << 30, lines: 9 };
        assert_eq!(judge(&unlimited, None, 60 * MIN), Ok(Limits::default()));
    }

    #[test]
    fn file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MAILDIRSIZE_FILENAME);
        assert_eq!(read(&path).unwrap().parsed, Err(RecalcReason::Missing));
        assert!(!append(&path, 1, 1).unwrap(), "append never creates the file");
        assert!(!path.exists());
        rewrite(&path, Limits { bytes: 300, count: 10 }, 0, 0).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"300S,10C\n0 0\n");
        assert!(append(&path, 112, 1).unwrap());
        assert!(append(&path, 177, 1).unwrap());
        assert!(append(&path, -112, -1).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"300S,10C\n0 0\n112 1\n177 1\n-112 -1\n");
        let r = read(&path).unwrap();
        assert_eq!(r.parsed.unwrap().bytes, 177);
        assert_eq!(r.file_limits, Some(Limits { bytes: 300, count: 10 }));
        assert!(r.age < MIN);
        // No temp files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn too_large_file_keeps_its_limits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MAILDIRSIZE_FILENAME);
        let mut content = b"1000S\n".to_vec();
        while content.len() <= MAILDIRSIZE_MAX_READ {
            content.extend_from_slice(b"1 1\n");
        }
        fs::write(&path, &content).unwrap();
        let r = read(&path).unwrap();
        assert_eq!(r.parsed, Err(RecalcReason::TooLarge));
        assert_eq!(r.file_limits, Some(Limits { bytes: 1000, count: 0 }));
        content.truncate(MAILDIRSIZE_MAX_READ);
        fs::write(&path, &content).unwrap();
        assert!(read(&path).unwrap().parsed.is_ok(), "exactly 5120 bytes is fine");
    }

    #[test]
    fn rewrite_mode_follows_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let path = dir.path().join(MAILDIRSIZE_FILENAME);
        rewrite(&path, Limits::default(), 5, 1).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read(&path).unwrap(), b"0S\n5 1\n");
        remove(&path).unwrap();
        remove(&path).unwrap();
    }
}
