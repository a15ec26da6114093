//! Summing message sizes over a Maildir++ tree: the recalculation step of the `maildir`
//! backend and the whole of the `count` backend.
//!
//! Mirrors the directory walk of dovecot/core@2.3.19.1
//! src/plugins/quota/quota-maildir.c (`spec/quota.md` §4.5): for every mailbox not
//! `ignore`d, every entry of `new/` and `cur/` counts as one message, its size taken from
//! the `,S=<n>` (or `,W=<n>`) field of the file name, else from the file itself; vanished
//! files are skipped. Only the Maildir++ layout (`.Folder.Sub` under the root) is walked.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::QuotaError;

/// Where the scanned mailboxes live in the user's namespace, to turn directory names into
/// the mailbox names quota rules are matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceLayout {
    /// Namespace prefix (`""` or `INBOX.`).
    pub prefix: String,
    /// Hierarchy separator shown to users (`.` or `/`); on disk Maildir++ always uses `.`.
    pub separator: char,
}

impl Default for NamespaceLayout {
    fn default() -> Self {
        NamespaceLayout { prefix: String::new(), separator: '.' }
    }
}

impl NamespaceLayout {
    /// The mailbox name (vname) of a Maildir++ directory name: `.Work.Sub` → `Work.Sub`
    /// (`INBOX.Work.Sub` with prefix `INBOX.`). Modified UTF-7 is not decoded.
    pub fn vname_of_dir(&self, dir_name: &str) -> String {
        let storage = dir_name.strip_prefix('.').unwrap_or(dir_name);
        let shown: String =
            storage.chars().map(|c| if c == '.' { self.separator } else { c }).collect();
        format!("{}{}", self.prefix, shown)
    }
}

/// Which size a scan adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeKind {
    /// Physical size (`S=`, else the file's length).
    Physical,
    /// Virtual size with CRLF line ends (`W=`, else computed from the file).
    Virtual,
}

/// The totals of one scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanTotals {
    /// Sum of sizes.
    pub bytes: u64,
    /// Number of messages.
    pub count: u64,
    /// The `new/` and `cur/` directories walked, with their mtimes before the walk.
    pub dirs: Vec<(PathBuf, Option<SystemTime>)>,
}

impl ScanTotals {
    /// True when any walked directory changed after the walk began (a concurrent save or
    /// expunge), so the totals must not be stored.
    pub fn changed_since_scan(&self) -> bool {
        self.dirs.iter().any(|(dir, before)| mtime(dir) != *before)
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The numeric value of the `,<key>=<n>` field of a Maildir file name, if well formed.
pub fn filename_field(name: &str, key: char) -> Option<u64> {
    let base = name.split(':').next().unwrap_or(name);
    base.split(',').skip(1).find_map(|field| {
        let v = field.strip_prefix(key)?.strip_prefix('=')?;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse().ok()
    })
}

/// Virtual size of a message file: its bytes plus one per LF not preceded by CR.
pub fn file_vsize(path: &Path) -> io::Result<u64> {
    let mut file = fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut prev) = (0u64, 0u8);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        for &b in &buf[..n] {
            total += if b == b'\n' && prev != b'\r' { 2 } else { 1 };
            prev = b;
        }
    }
}

/// Lists the mailboxes of a Maildir++ root: `(vname, directory)`, INBOX first.
/// A missing root has no mailboxes.
pub fn list_mailboxes(
    root: &Path,
    layout: &NamespaceLayout,
) -> Result<Vec<(String, PathBuf)>, QuotaError> {
    // INBOX keeps its name even in a namespace with an `INBOX.` prefix.
    let mut out = vec![("INBOX".to_owned(), root.to_path_buf())];
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(QuotaError::io("readdir", root, e)),
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| QuotaError::io("readdir", root, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with('.') || name == "." || name == ".." {
            continue;
        }
        if entry.path().is_dir() {
            folders.push((layout.vname_of_dir(name), entry.path()));
        }
    }
    folders.sort();
    out.extend(folders);
    Ok(out)
}

/// Sums every message of every mailbox under `root` for which `ignored(vname)` is false.
pub fn scan_maildir(
    root: &Path,
    layout: &NamespaceLayout,
    kind: SizeKind,
    ignored: &dyn Fn(&str) -> bool,
) -> Result<ScanTotals, QuotaError> {
    let mut totals = ScanTotals::default();
    for (vname, dir) in list_mailboxes(root, layout)? {
        if ignored(&vname) {
            continue;
        }
        for sub in ["new", "cur"] {
            let path = dir.join(sub);
            totals.dirs.push((path.clone(), mtime(&path)));
            sum_dir(&path, kind, &mut totals)?;
        }
    }
    Ok(totals)
}

fn sum_dir(dir: &Path, kind: SizeKind, totals: &mut ScanTotals) -> Result<(), QuotaError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(QuotaError::io("readdir", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| QuotaError::io("readdir", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let key = if kind == SizeKind::Physical { 'S' } else { 'W' };
        let size = match filename_field(&name, key) {
            Some(s) => Some(s),
            None => size_from_file(&entry.path(), kind)?,
        };
        if let Some(size) = size {
            totals.bytes = totals.bytes.saturating_add(size);
            totals.count += 1;
        }
    }
    Ok(())
}

/// `None` when the file vanished meanwhile (expunged by someone else).
fn size_from_file(path: &Path, kind: SizeKind) -> Result<Option<u64>, QuotaError> {
    let res = match kind {
        SizeKind::Physical => fs::metadata(path).map(|m| m.len()),
        SizeKind::Virtual => file_vsize(path),
    };
    match res {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(QuotaError::io("stat", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filename_fields() {
        assert_eq!(filename_field("1.M2P3.h,S=177,W=181:2,S", 'S'), Some(177));
        assert_eq!(filename_field("1.M2P3.h,S=177,W=181:2,S", 'W'), Some(181));
        assert_eq!(filename_field("1.M2P3.h,S=177", 'S'), Some(177));
        assert_eq!(filename_field("1.M2P3.h,S=17x", 'S'), None);
        assert_eq!(filename_field("1.M2P3.h,S=", 'S'), None);
        assert_eq!(filename_field("1.M2P3.h:2,S=5", 'S'), None, "S= after the info separator");
        assert_eq!(filename_field("1.M2P3.h", 'S'), None);
    }

    #[test]
    fn scan_sums_names_and_stats() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["new", "cur", "tmp", ".Trash/cur", ".Spam/new", ".Work.Sub/cur"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("new/1.a.h,S=100,W=104"), b"x").unwrap();
        fs::write(root.join("cur/2.a.h:2,S"), b"a\nb\n").unwrap(); // stat: 4, vsize 6
        fs::write(root.join("tmp/3.a.h,S=999"), b"").unwrap(); // tmp is not counted
        fs::write(root.join(".Trash/cur/4.a.h,S=50,W=52:2,"), b"").unwrap();
        fs::write(root.join(".Spam/new/5.a.h,S=7"), b"").unwrap();
        fs::write(root.join(".Work.Sub/cur/6.a.h,S=3"), b"").unwrap();
        let layout = NamespaceLayout::default();
        let all = scan_maildir(root, &layout, SizeKind::Physical, &|_| false).unwrap();
        assert_eq!((all.bytes, all.count), (100 + 4 + 50 + 7 + 3, 5));
        let no_spam = scan_maildir(root, &layout, SizeKind::Physical, &|n| n == "Spam").unwrap();
        assert_eq!((no_spam.bytes, no_spam.count), (157, 4));
        assert!(!no_spam.changed_since_scan());
        let names: Vec<_> =
            list_mailboxes(root, &layout).unwrap().into_iter().map(|m| m.0).collect();
        assert_eq!(names, ["INBOX", "Spam", "Trash", "Work.Sub"]);
        // Virtual: W= when present, computed from content otherwise (S= only → content).
        let v = scan_maildir(root, &layout, SizeKind::Virtual, &|_| false).unwrap();
        assert_eq!(v.bytes, 104 + 6 + 52);
        assert!(
            scan_maildir(&root.join("nope"), &layout, SizeKind::Physical, &|_| false)
                .unwrap()
                .count
                == 0
        );
    }

    #[test]
    fn vnames_follow_the_namespace() {
        let l = NamespaceLayout { prefix: "INBOX/".into(), separator: '/' };
        assert_eq!(l.vname_of_dir(".Work.Sub"), "INBOX/Work/Sub");
    }
}
