//! Keyword letters for file names (maildir.md §7, maildir-keywords.c): `dovecot-keywords` is
//! read, new keywords get the lowest free index, and a changed table is written back through
//! its own dotlock in replace mode. Called while the uidlist lock is held, as Dovecot does.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use dovecot_index::keywords::KEYWORDS_FILE;
use dovecot_index::{Dotlock, DotlockSettings, Keywords};

use crate::error::StorageError;
use crate::maildir::create::Permissions;
use crate::settings::StorageSettings;

/// Whether a keyword may be stored at all (IMAP atom, not empty, not too long).
pub fn is_valid_keyword(keyword: &str, max_len: usize) -> bool {
    !keyword.is_empty()
        && keyword.len() <= max_len
        && keyword.bytes().all(|b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

/// Letters for `wanted` plus the keywords that could not be given one. With `may_assign`
/// false (no uidlist lock) only keywords already in the file get letters.
pub fn letters_for(
    control_dir: &Path,
    wanted: &[String],
    may_assign: bool,
    perms: &Permissions,
    settings: &StorageSettings,
) -> Result<(Vec<char>, Vec<String>), StorageError> {
    if wanted.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let path = control_dir.join(KEYWORDS_FILE);
    let mut table = match fs::read(&path) {
        Ok(data) => Keywords::parse(&data),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Keywords::default(),
        Err(e) => return Err(StorageError::io("open", &path, e, false)),
    };
    let mut letters = Vec::new();
    let mut dropped = Vec::new();
    let mut changed = false;
    for keyword in wanted {
        if !is_valid_keyword(keyword, settings.max_keyword_length) {
            dropped.push(keyword.clone());
            continue;
        }
        let index = if may_assign {
            table.get_or_assign(keyword).map(|(index, new)| {
                changed |= new;
                index
            })
        } else {
            table.index_of(keyword)
        };
        match index.and_then(Keywords::letter) {
            Some(letter) => letters.push(letter),
            None => dropped.push(keyword.clone()),
        }
    }
    if changed && !write_table(&path, &table, perms, settings)? {
        // The keywords lock is busy: keep only the letters that were already on disk.
        return letters_for(control_dir, wanted, false, perms, settings);
    }
    Ok((letters, dropped))
}

/// Writes the table in replace mode; Ok(false) when the lock is busy (non-blocking, as
/// Dovecot takes it).
fn write_table(
    path: &Path,
    table: &Keywords,
    perms: &Permissions,
    settings: &StorageSettings,
) -> Result<bool, StorageError> {
    let lock_settings = DotlockSettings {
        timeout: Duration::ZERO,
        stale_timeout: Duration::from_secs(120),
        hostname: settings.hostname.clone(),
        file_mode: perms.file_mode,
        gid: perms.gid,
    };
    let lock = match Dotlock::acquire(path, &lock_settings) {
        Ok(lock) => lock,
        Err(dovecot_index::DotlockError::Timeout { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    lock.replace(&table.to_bytes(), settings.fsync.enabled())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid_keyword("$Label1", 50));
        assert!(is_valid_keyword("Work", 50));
        for bad in ["", "a b", "a(b", "\\Seen", "x*", "ü", "a\u{1}"] {
            assert!(!is_valid_keyword(bad, 50), "{bad:?}");
        }
        assert!(!is_valid_keyword(&"k".repeat(51), 50));
    }

    #[test]
    fn assigns_and_writes_table() {
        let dir = tempfile::tempdir().unwrap();
        let settings = StorageSettings::default();
        let perms = Permissions::default();
        let wanted = vec!["$Label1".to_owned(), "Work".to_owned(), "bad word".to_owned()];
        let (letters, dropped) = letters_for(dir.path(), &wanted, true, &perms, &settings).unwrap();
        assert_eq!(letters, vec!['a', 'b']);
        assert_eq!(dropped, vec!["bad word".to_owned()]);
        assert_eq!(fs::read(dir.path().join(KEYWORDS_FILE)).unwrap(), b"0 $Label1\n1 Work\n");
        let (letters, _) =
            letters_for(dir.path(), &["Work".into(), "New".into()], false, &perms, &settings)
                .unwrap();
        assert_eq!(letters, vec!['b']);
    }
}
