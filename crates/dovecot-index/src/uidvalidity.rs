//! UIDVALIDITY allocation through `dovecot-uidvalidity` and its marker file
//! `dovecot-uidvalidity.<8 hex>` (maildir.md §5), shared by all mailboxes of one root.
//! The marker's atomic `rename()` is what makes concurrent allocations distinct.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The main file's name.
pub const UIDVALIDITY_FILE: &str = "dovecot-uidvalidity";
const RETRIES: u32 = 10;

fn marker(dir: &Path, value: u32) -> std::path::PathBuf {
    dir.join(format!("{UIDVALIDITY_FILE}.{value:08x}"))
}

fn successor(value: u32) -> u32 {
    if value == u32::MAX { 1 } else { value + 1 }
}

fn now_secs() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    (secs as u32).max(1)
}

/// Hands out the next UIDVALIDITY for a mailbox under `dir` (the root control directory),
/// creating or advancing the files with `file_mode`. Never fails: when the files cannot be
/// used, the current time is returned, as Dovecot does.
pub fn next_uidvalidity(dir: &Path, file_mode: u32) -> u32 {
    if let Some(current) = read_main(dir)
        && let Some(value) = advance_from(dir, current, file_mode)
    {
        return value;
    }
    match highest_marker(dir) {
        Ok(Some(highest)) => advance_from(dir, highest, file_mode).unwrap_or_else(now_secs),
        Ok(None) => create_first(dir, file_mode).unwrap_or_else(|_| now_secs()),
        Err(_) => now_secs(),
    }
}

/// Reads the main file: exactly 8 hex digits, non-zero.
pub fn read_main(dir: &Path) -> Option<u32> {
    let data = fs::read(dir.join(UIDVALIDITY_FILE)).ok()?;
    let text = std::str::from_utf8(&data).ok()?;
    let value = u32::from_str_radix(text.trim_end(), 16).ok()?;
    (value != 0).then_some(value)
}

/// Renames marker X → X+1 (retrying with later X on ENOENT), then records X+1 in the main file.
fn advance_from(dir: &Path, start: u32, file_mode: u32) -> Option<u32> {
    let mut current = start;
    for _ in 0..RETRIES {
        let next = successor(current);
        match fs::rename(marker(dir, current), marker(dir, next)) {
            Ok(()) => {
                let _ = write_main(dir, next, file_mode);
                return Some(next);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => current = next,
            Err(_) => return None,
        }
    }
    None
}

fn write_main(dir: &Path, value: u32, file_mode: u32) -> io::Result<()> {
    let path = dir.join(UIDVALIDITY_FILE);
    let file =
        OpenOptions::new().write(true).create(true).truncate(false).mode(file_mode).open(&path)?;
    file.write_all_at(format!("{value:08x}").as_bytes(), 0)?;
    file.set_len(8)
}

/// Finds all markers; deletes all but the highest and returns it.
fn highest_marker(dir: &Path) -> io::Result<Option<u32>> {
    let prefix = format!("{UIDVALIDITY_FILE}.");
    let mut values = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(hex) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        if hex.len() == 8
            && let Ok(value) = u32::from_str_radix(hex, 16)
        {
            values.push(value);
        }
    }
    values.sort_unstable();
    let highest = values.pop();
    for old in values {
        let _ = fs::remove_file(marker(dir, old));
    }
    Ok(highest)
}

fn create_first(dir: &Path, file_mode: u32) -> io::Result<u32> {
    let value = now_secs();
    let path = marker(dir, value);
    match OpenOptions::new().write(true).create_new(true).mode(0o444).open(&path) {
        Ok(file) => file.set_permissions(fs::Permissions::from_mode(0o444))?,
        // Someone else created the same marker at the same second: advance from it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return advance_from(dir, value, file_mode).ok_or(e);
        }
        Err(e) => return Err(e),
    }
    write_main(dir, value, file_mode)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_then_advances_with_marker() {
        let dir = tempfile::tempdir().unwrap();
        let first = next_uidvalidity(dir.path(), 0o600);
        assert_eq!(
            fs::read_to_string(dir.path().join(UIDVALIDITY_FILE)).unwrap(),
            format!("{first:08x}")
        );
        let marker_path = marker(dir.path(), first);
        assert_eq!(fs::metadata(&marker_path).unwrap().permissions().mode() & 0o777, 0o444);
        assert_eq!(fs::metadata(&marker_path).unwrap().len(), 0);
        let second = next_uidvalidity(dir.path(), 0o600);
        assert_eq!(second, first + 1);
        assert!(marker(dir.path(), second).exists());
        assert!(!marker_path.exists());
        assert_eq!(read_main(dir.path()), Some(second));
    }

    #[test]
    fn continues_from_dovecot_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(UIDVALIDITY_FILE), "6b070930").unwrap();
        fs::write(marker(dir.path(), 0x6b07_0930), "").unwrap();
        assert_eq!(next_uidvalidity(dir.path(), 0o600), 0x6b07_0931);
    }

    #[test]
    fn broken_main_file_uses_highest_marker() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(UIDVALIDITY_FILE), "garbage").unwrap();
        fs::write(marker(dir.path(), 10), "").unwrap();
        fs::write(marker(dir.path(), 20), "").unwrap();
        assert_eq!(next_uidvalidity(dir.path(), 0o600), 21);
        assert!(!marker(dir.path(), 10).exists());
    }

    #[test]
    fn concurrent_allocations_are_distinct() {
        let dir = tempfile::tempdir().unwrap();
        next_uidvalidity(dir.path(), 0o600);
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || next_uidvalidity(&p, 0o600))
            })
            .collect();
        let mut values: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), 8);
    }
}
